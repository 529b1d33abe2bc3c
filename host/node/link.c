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
	size_t len = tally_wire_finish(w, &n->link_key);

	out_frame(n, buf, (uint16_t)len, out_now(n));
}

void
link_txb_flush(struct tally_node *n, unsigned peer, unsigned type)
{
	struct txb *t = &n->link.tx[peer][type];

	if (!t->open)
		return;
	t->open = false;
	if (t->w.count > 0)
		out_frame(n, t->buf, (uint16_t)tally_wire_finish(&t->w, &n->link_key), t->dep);
}

void
link_flush_all(struct tally_node *n)
{
	struct node_link *l = &n->link;

	for (unsigned i = 0; i < l->nopen; i++) {
		unsigned p = l->open_list[i] / TALLY_WIRE_TYPE_END, t = l->open_list[i] % TALLY_WIRE_TYPE_END;
		l->tx[p][t].listed = false;
		link_txb_flush(n, p, t);
	}
	l->nopen = 0;
	tally_dp_flush(l->dp);
}

struct txb *
link_txb_no_state(struct tally_node *n, unsigned peer, unsigned type)
{
	struct txb *t = &n->link.tx[peer][type];

	if (t->open && tally_wire_room(&t->w) == 0)
		link_txb_flush(n, peer, type);
	if (!t->open) {
		link_frame_begin(n, &t->w, t->buf, peer, type, 0, &t->seq);
		t->open = true;
		if (type == TALLY_WIRE_REPLICATE)
			memset(t->slot_at, 0, sizeof(t->slot_at));
		t->dep = OUT_NO_STATE;
		if (!t->listed) {
			t->listed = true;
			n->link.open_list[n->link.nopen++] = (uint16_t)(peer * TALLY_WIRE_TYPE_END + type);
		}
	}
	return t;
}

struct txb *
link_txb(struct tally_node *n, unsigned peer, unsigned type)
{
	struct txb *t = link_txb_no_state(n, peer, type);

	/* The caller adds a record of state the log holds by now (every
	 * change is appended as it is made): what it depends on. */
	t->dep = out_now(n);
	return t;
}

void
link_acks(struct tally_node *n, const struct tally_wire_addr *from, const struct tally_wire_hdr *hdr,
	  const struct tally_offload_completion *c, unsigned cnt)
{
	struct tally_wire_hdr h = {
		.type = TALLY_WIRE_REPLICATE_ACK, .sender = (uint16_t)n->self, .epoch = n->epoch, .ref = hdr->seq,
	};
	struct tally_wire_addr a = n->link.me;
	uint8_t buf[FRAME_BUF];
	unsigned i = 0;

	/* Back to where the frame came from. */
	memcpy(a.dst_mac, from->src_mac, 6);
	a.dst_ip = from->src_ip;
	a.dst_port = from->src_port;
	while (i < cnt) {
		struct tally_wire_writer w;

		h.seq = tally_dp_next_seq(n->link.dp);
		(void)tally_wire_begin(&w, buf, FRAME_BUF, n->cfg.mtu, &a, &h);
		for (; i < cnt; i++) {
			struct tally_wire_slot s = {
				.index = c[i].index, .kind = TALLY_WIRE_KIND_PNCOUNTER,
				.origin = c[i].origin, .p = c[i].p, .n = c[i].n,
			};
			memcpy(s.key, c[i].key, TALLY_WIRE_KEY_ID_LEN);
			if (tally_wire_add_slot(&w, &s) != 0)
				break; /* full: the rest go in the next frame */
		}
		if (w.count == 0)
			return;
		link_send(n, &w, buf);
	}
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

	struct tally_wire_digest d = {
		.partition = HEARTBEAT_PARTITION, .kind = TALLY_WIRE_KIND_PNCOUNTER, .keys = tally_wal_position(n->log.wal),
	};

	d.vv.slot[0] = n->members.m[peer].pos_seen;
	/* The op-id notes (opids.h): what we hold of its stream to us, and where ours to it stands. */
	d.vv.slot[1] = n->opids.rx[peer].next;
	d.vv.slot[2] = n->opids.rx[peer].base;
	d.vv.slot[3] = n->opids.rx[peer].epoch;
	d.vv.slot[4] = n->opids.tx[peer].end;
	d.vv.slot[5] = n->opids.tx[peer].base;
	d.vv.slot[6] = n->opids.tx[peer].epoch;
	link_frame_begin(n, &w, buf, peer, TALLY_WIRE_DIGEST, 0, NULL);
	(void)tally_wire_add_digest(&w, &d);
	link_send(n, &w, buf);
}

void
link_mv_ack(struct tally_node *n, unsigned peer, const uint8_t key[16], const tally_vec_t *ctx)
{
	struct tally_wire_mvstate m = { .purpose = 1, .ctx = *ctx };

	memcpy(m.key, key, 16);
	(void)tally_wire_add_mvstate(&link_txb(n, peer, TALLY_WIRE_MVSTATE)->w, &m);
}

void
link_add_slot(struct tally_node *n, unsigned peer, const struct tally_wire_slot *s)
{
	struct txb *t = link_txb(n, peer, TALLY_WIRE_REPLICATE);
	unsigned h = (unsigned)(s->key[0] ^ s->key[7] ^ s->origin) & 255u, j = h;
	struct tally_wire_slot old;

	/* The key id is a hash already; a frame holds at most 138 records. */
	for (unsigned k = 0; k < 256; k++, j = (h + k) & 255u) {
		if (t->slot_at[j] == 0)
			break;
		if (tally_wire_peek_slot(&t->w, t->slot_at[j] - 1u, &old) == 0 && old.origin == s->origin &&
		    memcmp(old.key, s->key, sizeof(old.key)) == 0) {
			(void)tally_wire_raise_slot(&t->w, t->slot_at[j] - 1u, s->p, s->n);
			n->link.stats.slots_coalesced++;
			return;
		}
	}
	if (tally_wire_add_slot(&t->w, s) == 0 && t->slot_at[j] == 0)
		t->slot_at[j] = (uint8_t)t->w.count;
}
