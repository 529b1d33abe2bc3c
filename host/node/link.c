/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The cluster link of a node: frames to each peer, filled by type and sent
 * through the dataplane at the end of the round (or when full).
 */

#include <string.h>

#include "state.h"

void
link_frame_begin(struct tally_node *n, struct tally_wire_writer *w, uint8_t *buf, unsigned peer, unsigned type,
		 uint64_t ref, uint64_t *seq)
{
	struct tally_wire_addr a = n->link.me;
	struct tally_wire_hdr h = {
		.type = (uint8_t)type, .sender = (uint16_t)n->self, .epoch = n->epoch, .ref = ref,
	};

	/* A forwarded client request keeps the client's form: the sender of a
	 * CLIENT_REQUEST is never a node (the origin knows us by address). */
	if (type == TALLY_WIRE_CLIENT_REQUEST)
		h.sender = TALLY_WIRE_SENDER_CLIENT;
	memcpy(a.dst_mac, n->link.addr[peer].dst_mac, 6);
	a.dst_ip = n->link.addr[peer].dst_ip;
	a.dst_port = n->link.addr[peer].dst_port;
	h.seq = tally_dp_next_seq(n->link.dp);
	if (seq != NULL)
		*seq = h.seq;
	(void)tally_wire_begin(w, buf, FRAME_BUF, n->cfg.mtu, &a, &h);
}

void
link_send(struct tally_node *n, struct tally_wire_writer *w, uint8_t *buf)
{
	size_t len = tally_wire_finish(w, &n->keys);

	(void)tally_dp_send(n->link.dp, buf, (uint16_t)len);
}

void
link_txb_flush(struct tally_node *n, unsigned peer, unsigned type)
{
	struct txb *t = &n->link.tx[peer][type];

	if (!t->open)
		return;
	t->open = false;
	if (t->w.count > 0)
		link_send(n, &t->w, t->buf);
}

void
link_flush_all(struct tally_node *n)
{
	for (unsigned p = 0; p < TALLY_MAX_NODES; p++)
		for (unsigned t = 1; t < TALLY_WIRE_TYPE_END; t++)
			link_txb_flush(n, p, t);
	tally_dp_flush(n->link.dp);
}

struct txb *
link_txb(struct tally_node *n, unsigned peer, unsigned type)
{
	struct txb *t = &n->link.tx[peer][type];

	if (t->open && tally_wire_room(&t->w) == 0)
		link_txb_flush(n, peer, type);
	if (!t->open) {
		link_frame_begin(n, &t->w, t->buf, peer, type, 0, &t->seq);
		t->open = true;
	}
	return t;
}

void
link_learn_mac(struct tally_node *n, unsigned peer, const uint8_t mac[6])
{
	if (n->link.mac_known[peer])
		return;
	memcpy(n->link.addr[peer].dst_mac, mac, 6);
	n->link.mac_known[peer] = true;
}

void
link_heartbeat(struct tally_node *n, unsigned peer)
{
	uint8_t buf[FRAME_BUF];
	struct tally_wire_writer w;

	link_frame_begin(n, &w, buf, peer, TALLY_WIRE_DIGEST, 0, NULL);
	link_send(n, &w, buf);
}

void
link_mv_ack(struct tally_node *n, unsigned peer, const uint8_t key[16], const tally_vec_t *ctx)
{
	struct tally_wire_mvstate m = { .purpose = 1, .ctx = *ctx };

	memcpy(m.key, key, 16);
	(void)tally_wire_add_mvstate(&link_txb(n, peer, TALLY_WIRE_MVSTATE)->w, &m);
}
