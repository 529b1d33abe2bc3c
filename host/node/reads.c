/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Reads: gathering R replicas' states, honouring the session's token, read
 * repair; serving other coordinators' READ_REQUESTs and REPAIRs.
 */

#include <stdlib.h>
#include <string.h>

#include "state.h"

/* Whether what read @o gathered includes what its session has seen. */
static bool
read_satisfied(const struct op *o)
{
	if (!o->has_need)
		return true;
	if (o->mvr != NULL && o->mvr->count > 0)
		return vec_covers(&o->mvr->ctx, &o->need.p);
	return dominates(&o->merged, &o->need);
}

/* An internal read is over: its owner (recovery, causal) concludes it from the ready queue. */
static void
internal_done(struct tally_node *n, uint32_t oi)
{
	n->ops.v[oi].state = ST_DONE;
	op_ready(n, oi);
}

/* Read repair of a register: every replica that answered gets the merge (idempotent). */
static void
repair_register(struct tally_node *n, struct op *o)
{
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		if (!(o->answered & NODE_BIT(t)))
			continue;
		if (t != n->self) {
			regs_ship(n, t, o->key, o->mvr, 0);
			n->reads.repairs_sent++;
			continue;
		}
		struct mventry *e = regs_find(n, o->key, true);
		if (e != NULL && tally_mvreg_merge(&e->reg, o->mvr) == 0) {
			e->lww = e->lww || o->mv_lww;
			if (e->lww)
				regs_lww_prune(&e->reg);
			regs_log(n, e);
			n->reads.repairs_applied++;
		}
	}
}

/* A client read is over (every asked replica answered, or the deadline passed): answer if it
 * has not, repair whoever answered with less than the merge, free it. */
static void
read_finish(struct tally_node *n, uint32_t oi)
{
	struct op *o = &n->ops.v[oi];

	if (o->fetch || o->recover) {
		internal_done(n, oi);
		return;
	}
	if (!o->replied && o->has_need && !read_satisfied(o)) {
		n->reads.not_yet++;
		reply_op(n, o, TALLY_E_NOT_YET, 0);
	} else if (!o->replied) {
		reply_op(n, o, TALLY_E_INDETERMINATE, 0);
	}
	if (o->mvr != NULL && o->mvr->count > 0 && o->mv_differ)
		repair_register(n, o);
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		if (!(o->answered & NODE_BIT(t)))
			continue;
		tally_pncounter_t m = o->got[t];
		tally_pn_merge(&m, &o->merged);
		if (memcmp(&m, &o->got[t], sizeof(m)) == 0)
			continue;
		if (t == n->self) {
			if (table_merge_state(n, o->key, &o->merged, NULL) == 0)
				n->reads.repairs_applied++;
			continue;
		}
		struct tally_wire_state st = { .index = TALLY_WIRE_INDEX_UNKNOWN, .kind = TALLY_WIRE_KIND_PNCOUNTER,
					       .p = o->merged.p, .n = o->merged.n };
		uint32_t ix = table_find(n, o->key);
		if (ix != NIL)
			st.index = n->table.meta[ix].peer_ix[t];
		memcpy(st.key, o->key, 16);
		(void)tally_wire_add_state(&link_txb(n, t, TALLY_WIRE_REPAIR)->w, &st);
		n->reads.repairs_sent++;
	}
	op_free(n, oi);
}

static void
reads_got(struct tally_node *n, uint32_t oi, unsigned from, const tally_pncounter_t *s)
{
	struct op *o = &n->ops.v[oi];

	if (o->state == ST_DONE || (o->answered & NODE_BIT(from)))
		return;
	o->answered |= NODE_BIT(from);
	o->got[from] = *s;
	tally_pn_merge(&o->merged, s);
	bool satisfied = read_satisfied(o);
	if (o->fetch) {
		if (satisfied || (o->answered == o->targets && n->now >= o->deadline)) {
			internal_done(n, oi);
		} else if (o->answered == o->targets) {
			o->answered = 0; /* ask again shortly: it may be on its way to them too */
			o->next_send = n->now + RETRANSMIT_NS / 4;
		}
		return;
	}
	if (!o->recover && !o->replied && mask_count(o->answered) >= o->r && satisfied) {
		n->reads.reads++;
		reply_value(n, o, &o->merged);
	}
	if (o->answered == o->targets) {
		if (!o->recover && !o->replied && !satisfied && n->now < o->deadline) {
			/* No replica has caught up with the session yet: what it saw may
			 * still be on its way. Ask them all again shortly; never answer
			 * with less. */
			n->reads.token_waits++;
			o->answered = 0;
			o->next_send = n->now + RETRANSMIT_NS / 4;
			return;
		}
		read_finish(n, oi);
	}
}

void
reads_got_register(struct tally_node *n, uint32_t oi, unsigned from, const tally_mvreg_t *reg, bool lww)
{
	struct op *o = &n->ops.v[oi];
	tally_pncounter_t zero;

	o->mv_lww = o->mv_lww || lww;
	if (o->state == ST_DONE || (o->answered & NODE_BIT(from)))
		return;
	if (o->mvr == NULL && (o->mvr = malloc(sizeof(*o->mvr))) != NULL)
		tally_mvreg_init(o->mvr);
	if (o->mvr != NULL) {
		if (o->answered != 0 && (reg == NULL || !tally_mvreg_equal(o->mvr, reg)))
			o->mv_differ = true;
		if (reg != NULL)
			(void)tally_mvreg_merge(o->mvr, reg);
		if (o->mv_lww)
			regs_lww_prune(o->mvr);
	}
	tally_pn_init(&zero);
	reads_got(n, oi, from, &zero);
}

void
reads_send(struct tally_node *n, uint32_t oi)
{
	struct op *o = &n->ops.v[oi];
	uint32_t ix = table_find(n, o->key);
	uint64_t gen = o->gen;

	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		if (!(o->targets & NODE_BIT(t)) || (o->answered & NODE_BIT(t)))
			continue;
		if (t == n->self) {
			tally_pncounter_t s;
			struct mventry *me = regs_find(n, o->key, false);
			if (me != NULL) {
				reads_got_register(n, oi, t, &me->reg, me->lww);
			} else {
				if (o->has_need && ix != NIL) {
					/* The NIC's version-vector unit checks our own replica against the token. */
					tally_vv_order_t op, on;
					if (tally_offload_compare(n->table.engine, ix, &o->need.p, &o->need.n, &op, &on) == 0)
						n->reads.token_checks_nic++;
				}
				if (table_state(n, ix, &s) == 0)
					reads_got(n, oi, t, &s);
			}
			if (o->kind != OP_READ || o->gen != gen || o->state == ST_DONE)
				return; /* finished */
			continue;
		}
		struct tally_wire_keyrec k = { .index = ix == NIL ? TALLY_WIRE_INDEX_UNKNOWN : n->table.meta[ix].peer_ix[t],
					       .kind = TALLY_WIRE_KIND_PNCOUNTER };
		memcpy(k.key, o->key, 16);
		struct txb *b = link_txb(n, t, TALLY_WIRE_READ_REQUEST);
		(void)tally_wire_add_keyrec(&b->w, &k);
		o->req_seq[t] = b->seq;
	}
	o->next_send = n->now + RETRANSMIT_NS * 5;
}

void
reads_tick(struct tally_node *n, uint32_t oi)
{
	struct op *o = &n->ops.v[oi];

	if (o->state == ST_DONE)
		return;
	if (n->now >= o->deadline)
		read_finish(n, oi);
	else if (n->now >= o->next_send)
		reads_send(n, oi);
}

unsigned
reads_answered(const struct tally_node *n, const uint8_t key[16], unsigned from, uint64_t ref, uint32_t *match,
	       uint64_t *gen, unsigned max)
{
	unsigned nm = 0;

	for (uint32_t j = op_bucket(n, key); j != NIL && nm < max; j = n->ops.v[j].hnext) {
		const struct op *o = &n->ops.v[j];
		if (o->kind == OP_READ && memcmp(o->key, key, 16) == 0 && (o->targets & NODE_BIT(from)) &&
		    o->req_seq[from] == ref) {
			match[nm] = j;
			gen[nm++] = o->gen;
		}
	}
	return nm;
}

bool
reads_still(const struct tally_node *n, uint32_t i, uint64_t gen)
{
	return n->ops.v[i].kind == OP_READ && n->ops.v[i].gen == gen;
}

void
reads_on_request(struct tally_node *n, const struct tally_wire_frame *f)
{
	uint8_t buf[FRAME_BUF];
	struct tally_wire_writer w;
	bool open = false;

	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_keyrec k;
		struct tally_wire_state st = { .kind = TALLY_WIRE_KIND_PNCOUNTER };
		tally_pncounter_t s;

		tally_wire_get_keyrec(f, i, &k);
		struct mventry *me = regs_find(n, k.key, false);
		if (me != NULL) { /* a register: its state, in a frame of its own */
			regs_ship(n, f->hdr.sender, k.key, &me->reg, f->hdr.seq);
			continue;
		}
		uint32_t ix = table_find(n, k.key);
		if (table_state(n, ix, &s) != 0)
			continue;
		st.index = ix == NIL ? TALLY_WIRE_INDEX_UNKNOWN : ix;
		st.status = ix == NIL;
		memcpy(st.key, k.key, 16);
		st.p = s.p;
		st.n = s.n;
		if (open && tally_wire_room(&w) == 0) {
			link_send(n, &w, buf);
			open = false;
		}
		if (!open) {
			link_frame_begin(n, &w, buf, f->hdr.sender, TALLY_WIRE_READ_REPLY, f->hdr.seq, NULL);
			open = true;
		}
		(void)tally_wire_add_state(&w, &st);
	}
	if (open)
		link_send(n, &w, buf);
}

void
reads_on_reply(struct tally_node *n, const struct tally_wire_frame *f)
{
	unsigned from = f->hdr.sender;

	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_state st;
		tally_pncounter_t s;

		tally_wire_get_state(f, i, &st);
		s.p = st.p;
		s.n = st.n;
		uint32_t ix = table_find(n, st.key);
		if (ix != NIL && st.status == 0)
			n->table.meta[ix].peer_ix[from] = st.index;
		uint32_t match[64];
		uint64_t gen[64];
		unsigned nm = reads_answered(n, st.key, from, f->hdr.ref, match, gen, 64);
		for (unsigned k = 0; k < nm; k++)
			if (reads_still(n, match[k], gen[k]))
				reads_got(n, match[k], from, &s);
	}
}

void
reads_on_repair(struct tally_node *n, const struct tally_wire_frame *f)
{
	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_state st;
		tally_pncounter_t s;

		tally_wire_get_state(f, i, &st);
		s.p = st.p;
		s.n = st.n;
		if (table_merge_state(n, st.key, &s, NULL) == 0)
			n->reads.repairs_applied++;
	}
}
