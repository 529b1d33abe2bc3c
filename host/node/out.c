/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Output commit: frames and datagrams held until the log position they
 * depend on is durable, then released in the order they were made.
 */

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dp.h"
#include "state.h"

/* What a datagram that waits holds; its bytes follow. */
struct out_held {
	uint64_t dep;
	struct sockaddr_in sa;
	int fd;          /* -1: a cluster frame, through the dataplane */
	uint16_t len;
};

/* Beyond this many bytes held, a round is making far more than one commit
 * covers: drop (and count) rather than grow without end. What is dropped is
 * resent by its protocol, as any loss on the link is. */
#define OUT_HOLD_MAX (256u << 20)

void
out_fini(struct node_out *o)
{
	free(o->q);
	o->q = NULL;
	o->qlen = o->qcap = 0;
}

uint64_t
out_now(const struct tally_node *n)
{
	return n->out.appended;
}

static void
emit(struct tally_node *n, int fd, const struct sockaddr_in *sa, const uint8_t *buf, uint16_t len)
{
	n->out.stats.sent++;
	if (fd < 0)
		(void)tally_dp_send(n->out.dp, buf, len);
	else
		(void)sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)sa, sizeof(*sa));
}

static void
submit(struct tally_node *n, int fd, const struct sockaddr_in *sa, const uint8_t *buf, uint16_t len, uint64_t dep)
{
	struct node_out *o = &n->out;

	if (dep > o->durable && o->failed) {
		o->stats.dropped++;
		return;
	}
	if (o->qlen == o->qhead && (dep <= o->durable || o->interval)) {
		o->stats.direct++;
		emit(n, fd, sa, buf, len);
		return;
	}
	size_t need = o->qlen + sizeof(struct out_held) + len;
	need = (need + 7) & ~(size_t)7;
	if (need > o->qcap) {
		size_t cap = o->qcap ? o->qcap : 1u << 16;
		while (cap < need)
			cap *= 2;
		uint8_t *q = cap <= OUT_HOLD_MAX ? realloc(o->q, cap) : NULL;
		if (q == NULL) {
			o->stats.dropped++;
			return;
		}
		o->q = q;
		o->qcap = cap;
	}
	struct out_held h = { .dep = dep, .fd = fd, .len = len };
	if (sa != NULL)
		h.sa = *sa;
	memcpy(o->q + o->qlen, &h, sizeof(h));
	memcpy(o->q + o->qlen + sizeof(h), buf, len);
	o->qlen = need;
	o->stats.held++;
	if (o->qlen - o->qhead > o->stats.held_max)
		o->stats.held_max = o->qlen - o->qhead;
}

void
out_frame(struct tally_node *n, const uint8_t *buf, uint16_t len, uint64_t dep)
{
	submit(n, -1, NULL, buf, len, dep);
}

void
out_datagram(struct tally_node *n, int fd, const struct sockaddr_in *sa, const uint8_t *buf, uint16_t len,
	     uint64_t dep)
{
	submit(n, fd, sa, buf, len, dep);
}

void
out_appended(struct tally_node *n)
{
	n->out.appended++;
}

void
out_durable(struct tally_node *n, uint64_t pos)
{
	struct node_out *o = &n->out;
	size_t at = o->qhead;

	if (pos > o->appended)
		pos = o->appended;
	if (pos > o->durable)
		o->durable = pos;
	/* Positions rise along the queue: release its front up to the first
	 * datagram that depends on more. */
	while (at < o->qlen) {
		struct out_held h;
		memcpy(&h, o->q + at, sizeof(h));
		if (h.dep > o->durable)
			break;
		emit(n, h.fd, &h.sa, o->q + at + sizeof(h), h.len);
		at = (at + sizeof(h) + h.len + 7) & ~(size_t)7;
	}
	if (at == o->qlen) {
		o->qhead = o->qlen = 0;
	} else if (at > o->qcap / 2) {
		memmove(o->q, o->q + at, o->qlen - at);
		o->qlen -= at;
		o->qhead = 0;
	} else {
		o->qhead = at;
	}
}

void
out_failed(struct tally_node *n)
{
	struct node_out *o = &n->out;
	size_t at = o->qhead;

	o->failed = true;
	/* What carries no state may still go (a refusal); the rest never will. */
	while (at < o->qlen) {
		struct out_held h;
		memcpy(&h, o->q + at, sizeof(h));
		if (h.dep <= o->durable)
			emit(n, h.fd, &h.sa, o->q + at + sizeof(h), h.len);
		else
			o->stats.dropped++;
		at = (at + sizeof(h) + h.len + 7) & ~(size_t)7;
	}
	o->qhead = o->qlen = 0;
}
