/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The client socket: CLIENT_REQUEST datagrams, checked and handed to the
 * coordinator.
 */

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "state.h"

/* Records ahead whose pin probes start their cache misses (datagram()). */
#define PIN_AHEAD 4

static void
datagram(struct tally_node *n, const uint8_t *p, size_t len, const struct sockaddr_in *sa)
{
	struct tally_wire_frame f;
	enum tally_wire_verdict v;
	struct reply_to to = { .node = false, .sa = *sa };

	n->clients.stats.frames++;
	/* The credential the request names is the key it must be MAC'd with. */
	v = tally_wire_client_id(p, len, &to.cred);
	if (v == TALLY_WIRE_OK)
		v = tally_wire_decode_payload(p, len, reply_cred_key(n, to.cred), &f);
	if (v == TALLY_WIRE_OK && f.hdr.type != TALLY_WIRE_CLIENT_REQUEST)
		v = TALLY_WIRE_DROP_BAD_TYPE;
	if (v != TALLY_WIRE_OK) {
		n->clients.stats.drops[v]++;
		if (n->now - n->clients.last_warn > 1000000000u) {
			char ip[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
			if (v == TALLY_WIRE_DROP_BAD_VERSION) /* a client built before this node's wire version */
				node_note(n, "refused a client frame from %s:%u: bad_version (wire v%u; this node speaks v%u: "
					  "upgrade the client)", ip, ntohs(sa->sin_port), p[4], TALLY_WIRE_VERSION);
			else
				node_note(n, "refused a client frame from %s:%u: %s", ip, ntohs(sa->sin_port),
					  tally_wire_verdict_name(v));
			n->clients.last_warn = n->now;
		}
		/* An authenticated frame with a bad record: answer each record, whose
		 * op ids are at fixed offsets of their first beats (the walk by their
		 * beats bytes checked out: the count came before the records), that
		 * nothing in it was applied. */
		if (v == TALLY_WIRE_DROP_BAD_RECORD) {
			size_t rb = len - TALLY_WIRE_HDR_LEN - TALLY_WIRE_MAC_LEN;
			const uint8_t *recs = p + TALLY_WIRE_HDR_LEN;
			for (size_t off = 0; off < rb; off += 64 * (1 + (size_t)recs[off + 1])) {
				const uint8_t *r = recs + off;
				uint64_t client, seq;
				memcpy(&client, r + 16, 8);
				memcpy(&seq, r + 24, 8);
				unsigned op = r[0] >= 1 && r[0] <= 4 ? r[0] : TALLY_WIRE_OP_GET;
				reply_to(n, &to, op, client, seq, NULL, 0, TALLY_E_BAD_REQUEST, 0, NULL, 0);
			}
		}
		return;
	}
	/* Each write probes the pins (opids.h), a cache miss in a table of a
	 * million: decode the datagram's records first and start each probe's
	 * miss PIN_AHEAD records before its write needs it. (A datagram holds
	 * at most TALLY_WIRE_MAX_SLOTS records: each is a beat or more.) */
	static _Thread_local struct tally_wire_client recs[TALLY_WIRE_MAX_SLOTS]; /* one per lcore */
	unsigned cnt = f.hdr.count < TALLY_WIRE_MAX_SLOTS ? f.hdr.count : TALLY_WIRE_MAX_SLOTS;
	size_t off = 0;
	for (unsigned i = 0; i < cnt; i++) {
		tally_wire_next_client(&f, &off, &recs[i]);
		if (i < PIN_AHEAD)
			opids_pin_prefetch(n, recs[i].client, recs[i].seq);
	}
	for (unsigned i = 0; i < cnt; i++) {
		if (i + PIN_AHEAD < cnt)
			opids_pin_prefetch(n, recs[i + PIN_AHEAD].client, recs[i + PIN_AHEAD].seq);
		coord_request(n, &recs[i], &to, false);
	}
}

unsigned
clients_poll(struct tally_node *n)
{
	static _Thread_local uint8_t bufs[CLIENT_BURST][TALLY_WIRE_MAX_PAYLOAD + 64]; /* one per lcore */
	struct mmsghdr msgs[CLIENT_BURST];
	struct iovec iov[CLIENT_BURST];
	struct sockaddr_in sa[CLIENT_BURST];

	for (unsigned i = 0; i < CLIENT_BURST; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &sa[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(sa[i]);
	}
	int got = recvmmsg(n->reply.client_fd, msgs, CLIENT_BURST, MSG_DONTWAIT, NULL);
	if (got <= 0)
		return 0;
	for (int i = 0; i < got; i++)
		datagram(n, bufs[i], msgs[i].msg_len, &sa[i]);
	return (unsigned)got;
}
