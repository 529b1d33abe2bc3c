/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Frames from the cluster link, handed to the part that owns each type;
 * and the REPLICATE records the NIC merged itself, logged and acked after
 * the commit.
 */

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "persist.h"
#include "state.h"

/* REPLICATE records the NIC could not place: place them here, merge, ack after the commit. */
static void
on_replicate(struct tally_node *n, const struct tally_wire_frame *f)
{
	struct tally_offload_completion c[TALLY_WIRE_MAX_SLOTS];
	unsigned k = 0;

	for (unsigned i = 0; i < f->hdr.count && k < TALLY_WIRE_MAX_SLOTS; i++) {
		struct tally_wire_slot s;

		tally_wire_get_slot(f, i, &s);
		if (table_merge_slot(n, &s, &c[k]) == 0)
			k++; /* else unacked: the sender keeps trying, and counts us out */
	}
	if (k > 0)
		link_acks(n, &f->addr, &f->hdr, c, k);
}

static void
on_replicate_ack(struct tally_node *n, const struct tally_wire_frame *f)
{
	struct tally_wire_slot s[TALLY_WIRE_MAX_SLOTS];
	uint32_t ix[TALLY_WIRE_MAX_SLOTS];
	tally_pncounter_t st[TALLY_WIRE_MAX_SLOTS];
	unsigned k = 0;

	/* The acked keys' states in one burst, read once for handoff and
	 * origin both: on an offload NIC each read is a trip to the card. */
	for (unsigned i = 0; i < f->hdr.count && k < TALLY_WIRE_MAX_SLOTS; i++) {
		tally_wire_get_slot(f, i, &s[k]);
		if ((ix[k] = table_find(n, s[k].key)) != NIL)
			k++;
	}
	if (k == 0 || table_states(n, ix, k, st) != 0)
		return;
	for (unsigned i = 0; i < k; i++) {
		handoff_on_ack(n, f->hdr.sender, &s[i], ix[i], &st[i]);
		origin_on_ack(n, f->hdr.sender, &s[i], &st[i]);
	}
}

/* CLIENT_REPLY from a node: an answer to a write we forwarded (an op id it applied, when ok). */
static void
on_client_reply(struct tally_node *n, const struct tally_wire_frame *f)
{
	size_t off = 0;

	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_client c;

		tally_wire_next_client(f, &off, &c);
		if (c.status == TALLY_OK && c.op != TALLY_WIRE_OP_GET && c.sib_index == 0)
			opids_on_answer(n, &f->hdr, &c);
		if (c.key_len > 0)
			coord_on_answer(n, &c);
	}
}

/* NOTE from a node: op ids it applied, in its stream to us. */
static void
on_note(struct tally_node *n, const struct tally_wire_frame *f)
{
	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_note nt;

		tally_wire_get_note(f, i, &nt);
		opids_on_note(n, &f->hdr, &nt);
	}
}

static int
dot_cmp(const void *a, const void *b)
{
	const struct tally_mvreg_sibling *x = a, *y = b;

	if (x->dot.node != y->dot.node)
		return x->dot.node < y->dot.node ? -1 : 1;
	return x->dot.counter < y->dot.counter ? -1 : x->dot.counter > y->dot.counter;
}

/*
 * Read one register from an MVSTATE frame at record *i: a state's k
 * siblings come together, and anything else is not taken. @return whether
 * *reg holds a whole state (then the caller finalises it); *i moves past it.
 */
static bool
mv_take(const struct tally_wire_frame *f, unsigned *i, struct tally_wire_mvstate *m, tally_mvreg_t *reg)
{
	tally_wire_get_mvstate(f, *i, m);
	tally_mvreg_init(reg);
	reg->ctx = m->ctx;
	unsigned k = m->purpose == 0 && m->status == 0 ? m->sib_count : 0;
	if (k == 0) {
		(*i)++;
		return true;
	}
	bool whole = m->sib_index == 0 && *i + k <= f->hdr.count && (reg->sib = calloc(k, sizeof(*reg->sib))) != NULL;
	for (unsigned j = 0; whole && j < k; j++) {
		struct tally_wire_mvstate s;
		tally_wire_get_mvstate(f, *i + j, &s);
		whole = memcmp(s.key, m->key, 16) == 0 && s.sib_index == j && s.sib_count == k;
		reg->sib[j].dot.node = s.dot_node;
		reg->sib[j].dot.counter = s.dot_counter;
		reg->sib[j].len = s.value_len;
		memcpy(reg->sib[j].value, s.value, s.value_len);
	}
	if (!whole) {
		tally_mvreg_fini(reg);
		(*i)++;
		return false;
	}
	reg->cap = reg->count = k;
	qsort(reg->sib, k, sizeof(*reg->sib), dot_cmp);
	*i += k;
	return true;
}

/* MVSTATE frames: registers pushed to us, acks of ours, answers to our reads. */
static void
on_mvstate(struct tally_node *n, const struct tally_wire_frame *f)
{
	unsigned from = f->hdr.sender;

	for (unsigned i = 0; i < f->hdr.count;) {
		struct tally_wire_mvstate m;
		tally_mvreg_t reg;

		if (!mv_take(f, &i, &m, &reg))
			continue;
		bool found = m.status == 0;
		if (m.purpose == 1) {
			handoff_on_mv_ack(n, from, m.key, &reg.ctx);
			origin_on_mv_ack(n, from, m.key, &reg.ctx);
		} else if (f->hdr.ref != 0) {
			uint32_t match[16];
			uint64_t gen[16];
			unsigned nm = reads_answered(n, m.key, from, f->hdr.ref, match, gen, 16);
			for (unsigned q = 0; q < nm; q++)
				if (reads_still(n, match[q], gen[q]))
					reads_got_register(n, match[q], from, found ? &reg : NULL, m.lww);
		} else if (found) {
			regs_merge_in(n, from, m.key, &reg, m.lww);
		}
		tally_mvreg_fini(&reg);
	}
}

/* A CLIENT_REQUEST forwarded by a coordinator: the addresses say which node. */
static void
on_forwarded(struct tally_node *n, const struct tally_wire_frame *f)
{
	unsigned peer = TALLY_MAX_NODES;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		if (n->members.m[i].present && n->link.addr[i].dst_ip == f->addr.src_ip &&
		    n->link.addr[i].dst_port == f->addr.src_port)
			peer = i;
	if (peer == TALLY_MAX_NODES)
		return;
	struct reply_to to = { .node = true, .peer = (uint16_t)peer };
	size_t off = 0;
	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_client c;
		tally_wire_next_client(f, &off, &c);
		coord_request(n, &c, &to, true);
	}
}

/*
 * A heartbeat's log positions (docs/durability.md#backup-and-restore):
 * remember the highest the sender announced (logged at most once a second
 * per member), and hear what it saw of ours. A data directory behind what
 * its node had announced was restored from an older copy, or lost its
 * log: what it shipped since is ahead of it at other replicas, so it
 * recovers like a lost disk before it raises a slot again.
 */
static void
on_positions(struct tally_node *n, const struct tally_wire_frame *f)
{
	unsigned from = f->hdr.sender;

	/* Only a heartbeat addressed to us: what it says of the receiver is for
	 * its receiver alone, and a switch floods frames for a member whose port
	 * went down to every port. */
	if (from >= TALLY_MAX_NODES || from == n->self || !n->members.m[from].present ||
	    f->addr.dst_ip != n->link.me.src_ip)
		return;
	struct member *m = &n->members.m[from];
	if (f->hdr.count == 0)
		m->confirmed = m->notes_caught = true; /* an older node's heartbeat: it knows no positions */
	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_digest d;
		tally_wire_get_digest(f, i, &d);
		if (d.partition != HEARTBEAT_PARTITION)
			continue;
		opids_on_beat(n, &f->hdr, &d.vv);
		if (d.keys > m->pos_seen)
			m->pos_seen = d.keys;
		if (m->pos_seen > m->pos_logged && n->now - m->pos_logged_at >= 1000000000u) {
			log_peer(n, from, m->pos_seen);
			m->pos_logged = m->pos_seen;
			m->pos_logged_at = n->now;
		}
		uint64_t mine = tally_wal_position(n->log.wal), seen = d.vv.slot[0];
		if (seen > mine) {
			if (!n->recovering_mode) {
				node_note(n, "node %u saw this node's log at position %" PRIu64 ", but %s is at %" PRIu64
					     ": the data directory is older than what this node shipped (restored from "
					     "a copy?); recovering this node's counts from every member, as after a lost "
					     "disk (docs/durability.md#backup-and-restore)",
					  from, seen, n->cfg.data_dir, mine);
				if (persist_recovering(n) != 0)
					continue; /* not marked: do not move the position on either */
				recovery_enter(n);
			}
			tally_wal_advance(n->log.wal, seen);
		}
		m->confirmed = true;
	}
}

void
dispatch_host_frame(void *ctx, struct tally_dp *dp, const struct tally_dp_host_frame *hf)
{
	struct tally_node *n = ctx;
	const struct tally_wire_frame *f = hf->frame;

	(void)dp;
	if (f->hdr.type == TALLY_WIRE_CLIENT_REQUEST) {
		on_forwarded(n, f);
		return;
	}
	members_heard(n, &f->addr, &f->hdr);
	switch (f->hdr.type) {
	case TALLY_WIRE_REPLICATE:
		on_replicate(n, f);
		break;
	case TALLY_WIRE_REPLICATE_ACK:
		on_replicate_ack(n, f);
		break;
	case TALLY_WIRE_READ_REQUEST:
		if (recovery_is_sweep(f))
			recovery_serve(n, f);
		else
			reads_on_request(n, f);
		break;
	case TALLY_WIRE_READ_REPLY:
		if (!recovery_on_page(n, f))
			reads_on_reply(n, f);
		break;
	case TALLY_WIRE_REPAIR:
		reads_on_repair(n, f);
		break;
	case TALLY_WIRE_CLIENT_REPLY:
		on_client_reply(n, f);
		break;
	case TALLY_WIRE_DIGEST:
		on_positions(n, f); /* a heartbeat's record */
		ae_on_digest(n, f); /* it skips that one */
		break;
	case TALLY_WIRE_CAUSAL:
		causal_on_frame(n, f);
		break;
	case TALLY_WIRE_MVSTATE:
		on_mvstate(n, f);
		break;
	case TALLY_WIRE_NOTE:
		on_note(n, f);
		break;
	default:
		break;
	}
}

void
dispatch_merged(void *ctx, struct tally_dp *dp, const struct tally_offload_rxinfo *info,
		const struct tally_offload_completion *c, unsigned cnt)
{
	struct tally_node *n = ctx;

	(void)dp;
	members_heard(n, &info->addr, &info->hdr);
	for (unsigned i = 0; i < cnt; i++) {
		log_slot(n, c[i].key, c[i].origin, c[i].p, c[i].n);
		if (c[i].index < n->table.entries)
			table_changed(n, c[i].index, c[i].origin);
	}
	link_acks(n, &info->addr, &info->hdr, c, cnt); /* sent once the log holds them */
}
