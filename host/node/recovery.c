/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * kv679 recovery: a node that lost its data directory learns its own slot
 * of a key from every member before it raises it, and sweeps every member
 * for all it holds of its slots (docs/durability.md).
 */

#include <string.h>

#include "state.h"

void
recovery_start(struct tally_node *n, uint32_t wi)
{
	struct op *w = &n->ops.v[wi];

	/* One recovery per key: join it if it runs. */
	for (uint32_t i = op_bucket(n, w->key); i != NIL; i = n->ops.v[i].hnext) {
		struct op *o = &n->ops.v[i];
		if (o->kind == OP_READ && o->recover && o->state != ST_DONE && memcmp(o->key, w->key, 16) == 0) {
			w->state = ST_RECOVER;
			w->next_parked = o->parked;
			o->parked = wi;
			return;
		}
	}
	uint32_t ri = op_new(n, OP_READ, w->key);
	if (ri == NIL) {
		reply_op(n, w, TALLY_E_BUSY, 0);
		op_free(n, wi);
		return;
	}
	struct op *r = &n->ops.v[ri];
	r->recover = true;
	r->deadline = w->deadline;
	r->targets = members_all(n);
	r->r = (uint8_t)mask_count(r->targets);
	w->state = ST_RECOVER;
	r->parked = wi;
	reads_send(n, ri);
}

void
recovery_finish(struct tally_node *n, uint32_t ri)
{
	struct op *o = &n->ops.v[ri];
	int rc = TALLY_E_RECOVERING;
	int64_t value = 0;
	uint32_t ix;

	if (o->answered == o->targets) {
		/* Every member answered: our slot of this key is now the highest anywhere. */
		rc = table_merge_state(n, o->key, &o->merged, &ix);
		if (rc == 0) {
			log_recovered(n, o->key);
			n->table.meta[ix].recovered = true;
			n->recovery.stats.recoveries++;
		}
	} else {
		value = (int64_t)(o->targets & ~o->answered); /* whom it waited for: the error says so */
	}
	for (uint32_t w = o->parked; w != NIL;) {
		struct op *wo = &n->ops.v[w];
		uint32_t next = wo->next_parked;
		wo->next_parked = NIL;
		if (rc != 0) {
			reply_op(n, wo, (unsigned)rc, rc == TALLY_E_RECOVERING ? value : 0);
			op_free(n, w);
		} else {
			wo->state = ST_NEW;
			op_ready(n, w);
		}
		w = next;
	}
	op_free(n, ri);
}

/* ---- the sweep ---- */

static const uint8_t sweep_key[16]; /* the all-zero key id: no key's XXH3-128 */

bool
recovery_is_sweep(const struct tally_wire_frame *f)
{
	struct tally_wire_keyrec k;

	if (f->hdr.count != 1)
		return false;
	tally_wire_get_keyrec(f, 0, &k);
	return memcmp(k.key, sweep_key, 16) == 0;
}

void
recovery_tick(struct tally_node *n)
{
	if (!n->recovering_mode || n->recovery.complete)
		return;
	bool all = true;
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		struct sweep_peer *sp = &n->recovery.peer[t];
		const struct member *m = &n->members.m[t];
		if (!m->present || sp->done)
			continue;
		all = false;
		if (!m->up)
			continue;
		if (sp->epoch != m->epoch) {
			/* A new incarnation numbered its table afresh: start it again. */
			sp->epoch = m->epoch;
			sp->cursor = 0;
			sp->req_seq = 0;
		}
		if (sp->req_seq != 0 && n->now - sp->sent < SWEEP_RETRY_NS)
			continue;
		uint8_t buf[FRAME_BUF];
		struct tally_wire_writer w;
		struct tally_wire_keyrec k = { .index = sp->cursor, .kind = TALLY_WIRE_KIND_PNCOUNTER };
		link_frame_begin(n, &w, buf, t, TALLY_WIRE_READ_REQUEST, 0, &sp->req_seq);
		(void)tally_wire_add_keyrec(&w, &k);
		link_send(n, &w, buf);
		sp->sent = n->now;
	}
	if (all) {
		n->recovery.complete = true;
		n->recovery.complete_at = out_now(n);
		node_note(n, "every member answered the recovery sweep: own slots recovered once the log commits");
	}
}

void
recovery_serve(struct tally_node *n, const struct tally_wire_frame *f)
{
	unsigned to = f->hdr.sender;
	struct tally_wire_keyrec k;
	uint8_t buf[FRAME_BUF];
	struct tally_wire_writer w;
	uint32_t ix, scanned = 0;

	if (to >= TALLY_MAX_NODES || !n->members.m[to].present)
		return;
	tally_wire_get_keyrec(f, 0, &k);
	link_frame_begin(n, &w, buf, to, TALLY_WIRE_READ_REPLY, f->hdr.seq, NULL);
	for (ix = k.index; ix < n->table.entries && scanned < SWEEP_SCAN && tally_wire_room(&w) > 1; ix++, scanned++) {
		const struct keymeta *km = &n->table.meta[ix];
		tally_pncounter_t s;
		if (!km->used || table_state(n, ix, &s) != 0 || (s.p.slot[to] | s.n.slot[to]) == 0)
			continue;
		struct tally_wire_state st = { .index = ix, .kind = TALLY_WIRE_KIND_PNCOUNTER, .p = s.p, .n = s.n };
		memcpy(st.key, km->key, 16);
		(void)tally_wire_add_state(&w, &st);
	}
	struct tally_wire_state end = { .index = ix < n->table.entries ? ix : TALLY_WIRE_INDEX_UNKNOWN,
					.kind = TALLY_WIRE_KIND_PNCOUNTER, .status = 1 };
	(void)tally_wire_add_state(&w, &end);
	link_send(n, &w, buf);
}

bool
recovery_on_page(struct tally_node *n, const struct tally_wire_frame *f)
{
	unsigned from = f->hdr.sender;
	struct sweep_peer *sp;

	if (from >= TALLY_MAX_NODES || f->hdr.count == 0)
		return false;
	sp = &n->recovery.peer[from];
	if (!n->recovering_mode || sp->done || sp->req_seq == 0 || f->hdr.ref != sp->req_seq)
		return false;
	struct tally_wire_state end;
	tally_wire_get_state(f, f->hdr.count - 1, &end);
	if (memcmp(end.key, sweep_key, 16) != 0 || end.status != 1)
		return false;
	for (unsigned i = 0; i + 1 < f->hdr.count; i++) {
		struct tally_wire_state st;
		tally_pncounter_t s;
		tally_wire_get_state(f, i, &st);
		s.p = st.p;
		s.n = st.n;
		if (table_merge_state(n, st.key, &s, NULL) != 0)
			return true; /* the same page is asked for again */
		n->recovery.stats.sweep_states++;
	}
	n->recovery.stats.sweep_pages++;
	sp->req_seq = 0;
	if (end.index == TALLY_WIRE_INDEX_UNKNOWN) {
		sp->done = true;
		node_note(n, "recovery sweep: node %u answered everything", from);
	} else {
		sp->cursor = end.index;
	}
	return true;
}

tally_nodemask_t
recovery_waiting(const struct tally_node *n)
{
	tally_nodemask_t m = 0;

	if (!n->recovering_mode)
		return 0;
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
		if (n->members.m[t].present && !n->recovery.peer[t].done)
			m |= NODE_BIT(t);
	return m;
}

void
recovery_enter(struct tally_node *n)
{
	for (uint32_t ix = 0; ix < n->table.entries; ix++)
		n->table.meta[ix].recovered = false;
	memset(n->recovery.peer, 0, sizeof(n->recovery.peer));
	n->table.new_recovered = false;
	n->recovery.complete = false;
	n->recovering_mode = true;
}

void
recovery_complete(struct tally_node *n)
{
	for (uint32_t ix = 0; ix < n->table.entries; ix++)
		if (n->table.meta[ix].used)
			n->table.meta[ix].recovered = true;
	n->table.new_recovered = true;
	n->recovering_mode = false;
	n->recovery.complete = false;
}
