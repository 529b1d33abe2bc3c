/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Writes at their origin: op id checked, own slot raised and logged, and
 * shipped to the other targets until W of them hold it. What it sends (the
 * ships, the op-id note, the answer) leaves once the log holds the write:
 * the output commit (out.h) holds it until then, so the write needs no
 * second pass after the commit.
 */

#include <errno.h>
#include <string.h>

#include "state.h"

static bool
write_held(const struct op *o)
{
	return mask_count(o->holders) >= o->w;
}

/* Answer op @oi with @status and free it. */
static void
refuse(struct tally_node *n, uint32_t oi, unsigned status)
{
	reply_op(n, &n->ops.v[oi], status, 0);
	op_free(n, oi);
}

static void shipping(struct tally_node *n, uint32_t oi, const tally_pncounter_t *now);

/* A put at this node, the register's origin. */
static void
origin_apply_register(struct tally_node *n, uint32_t oi, int dv)
{
	struct op *o = &n->ops.v[oi];
	struct mventry *e;

	if (table_find(n, o->key) != NIL) { /* a key is a counter or a register */
		refuse(n, oi, TALLY_E_BAD_REQUEST);
		return;
	}
	if ((e = regs_find(n, o->key, true)) == NULL) {
		refuse(n, oi, TALLY_E_TABLE_FULL);
		return;
	}
	if (dv == TALLY_DEDUP_DUPLICATE) {
		n->origin.duplicates++;
	} else {
		tally_vec_t none = { 0 };
		tally_mvreg_t next;
		tally_mvreg_init(&next);
		if (regs_lww_key(n, o->keybytes, o->keylen))
			e->lww = true;
		int rc = tally_mvreg_copy(&next, &e->reg);
		/* An LWW put replaces whatever is there: its context is the register's. */
		if (rc == 0)
			rc = tally_mvreg_write(&next, n->self, e->lww ? &e->reg.ctx : o->has_ctx ? &o->ctx : &none, o->val,
					       o->vlen);
		if (rc == 0 && next.count > MV_SHIP_MAX)
			rc = -ENOSPC; /* a state must fit one frame */
		if (rc != 0) {
			tally_mvreg_fini(&next);
			refuse(n, oi, rc == -ENOSPC ? TALLY_E_BAD_REQUEST : TALLY_E_IO);
			return;
		}
		tally_mvreg_fini(&e->reg);
		e->reg = next;
		e->confirmed = 0;
		opids_applied(n, o->client, o->seq);
		regs_log(n, e);
		n->origin.mv_puts++;
		if (e->reg.count > n->origin.mv_siblings_max)
			n->origin.mv_siblings_max = e->reg.count;
	}
	o->mv_counter = e->reg.ctx.slot[n->self];
	shipping(n, oi, NULL);
}

void
origin_apply(struct tally_node *n, uint32_t oi)
{
	struct op *o = &n->ops.v[oi];
	tally_pncounter_t s;
	uint32_t ix;
	int origin, dv, rc;

	o->targets = members_live(n, o->key, &origin) | NODE_BIT(n->self);
	if (log_failed(n)) {
		refuse(n, oi, TALLY_E_IO);
		return;
	}
	dv = opids_verdict(n, o->client, o->seq);
	if (dv == OPIDS_REFUSE || dv == OPIDS_UNKNOWN) {
		refuse(n, oi, dv == OPIDS_REFUSE ? TALLY_E_OP_REFUSED : TALLY_E_UNKNOWN_CLIENT);
		return;
	}
	/* Too few live nodes: "unavailable" promises the write was not applied,
	 * so only a write not applied before gets it. A resend of one applied
	 * already waits for its W copies like any duplicate (and may end
	 * indeterminate). The fault suite found a resend answered unavailable
	 * after its first send had been applied. */
	if (mask_count(o->targets) < o->w && dv != TALLY_DEDUP_DUPLICATE) {
		refuse(n, oi, TALLY_E_UNAVAILABLE);
		return;
	}
	/* Its op id must be kept for the whole retry window, and the ring is
	 * full of younger ones: more writes than the window can remember. */
	if (dv == TALLY_DEDUP_NEW && !opids_room(n)) {
		refuse(n, oi, TALLY_E_BUSY);
		return;
	}
	/* Not before every member that is up has seen our log position (one of
	 * them may know this directory is behind what we shipped, restored from
	 * an older copy, and then we recover first: dispatch.c) and has given us
	 * the op-id notes it holds. A node that lost its disk waits for those
	 * too: they are all that tells it which op ids it had applied. That
	 * takes a heartbeat or two after a start or a member's return: the
	 * write waits (origin_tick), judged again when it ends, and only one
	 * still waiting at its deadline is refused. */
	if (members_unconfirmed(n) != 0 && dv != TALLY_DEDUP_DUPLICATE) {
		o->held = true;
		return;
	}
	o->held = false;
	if (o->mv) {
		origin_apply_register(n, oi, dv);
		return;
	}
	if (regs_find(n, o->key, false) != NULL) { /* a key is a counter or a register */
		refuse(n, oi, TALLY_E_BAD_REQUEST);
		return;
	}
	ix = table_find(n, o->key);
	if (n->recovering_mode && (ix == NIL || !n->table.meta[ix].recovered)) {
		recovery_start(n, oi);
		return;
	}
	if (o->causal && dv != TALLY_DEDUP_DUPLICATE && !causal_satisfied(n, o->dep_key, &o->dep_need)) {
		/* A causal write waits here until what it depends on is here too. */
		uint32_t fi = n->now < o->deadline ? causal_fetch(n, o->dep_key, &o->dep_need, 0, o->deadline) : NIL;
		if (fi == NIL) {
			n->origin.not_yet++;
			refuse(n, oi, TALLY_E_NOT_YET);
			return;
		}
		o->state = ST_DEP;
		o->next_parked = n->ops.v[fi].parked;
		n->ops.v[fi].parked = oi;
		return;
	}
	rc = table_get(n, o->key, &ix);
	if (rc == 0)
		rc = table_state(n, ix, &s);
	if (rc != 0) {
		refuse(n, oi, (unsigned)rc);
		return;
	}
	o->p = s.p.slot[n->self];
	o->n = s.n.slot[n->self];
	if (dv == TALLY_DEDUP_DUPLICATE) {
		/* Applied before: answer once W replicas hold our slot as it is now. */
		n->origin.duplicates++;
	} else {
		uint64_t *slot = o->cop == TALLY_WIRE_OP_INCR ? &o->p : &o->n;
		tally_pncounter_t next = s;
		/* Refused before anything rises: after the write, the sums of P and
		 * of N must each stay within 2^63 - 1 (docs/crdt.md). A state past
		 * that already came from elsewhere: not this write's doing. */
		if (!pn_in_range(&s)) {
			refuse(n, oi, TALLY_E_OUT_OF_RANGE);
			return;
		}
		if (*slot > UINT64_MAX - o->delta) {
			refuse(n, oi, TALLY_E_OVERFLOW);
			return;
		}
		*slot += o->delta;
		next.p.slot[n->self] = o->p;
		next.n.slot[n->self] = o->n;
		if (!pn_in_range(&next)) {
			refuse(n, oi, TALLY_E_OVERFLOW);
			return;
		}
		struct tally_wire_slot rec = {
			.index = ix, .kind = TALLY_WIRE_KIND_PNCOUNTER, .origin = (uint8_t)n->self,
			.p = o->p, .n = o->n,
		};
		memcpy(rec.key, o->key, 16);
		if (tally_offload_apply_slots(n->table.engine, &rec, 1, NULL) != 1) {
			refuse(n, oi, TALLY_E_IO);
			return;
		}
		opids_applied(n, o->client, o->seq);
		log_slot(n, o->key, n->self, o->p, o->n);
		table_changed(n, ix, (int)n->self);
		n->origin.applied++;
		s = next; /* the state we read with our slot raised: at most what the engine holds now */
	}
	shipping(n, oi, &s);
}

/* Ship write @o's state to its targets that do not hold it yet (all but us). */
static void
ship(struct tally_node *n, struct op *o, bool only_up)
{
	uint32_t ix = table_find(n, o->key);
	struct mventry *me = o->mv ? regs_find(n, o->key, false) : NULL;

	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		if (!(o->targets & ~o->holders & NODE_BIT(t)) || (only_up && !members_up(n, t)))
			continue;
		if (me != NULL)
			regs_ship(n, t, o->key, &me->reg, 0);
		else if (!o->mv)
			causal_ship_slot(n, t, o->key, ix, n->self, o->p, o->n);
	}
}

/* Write @p oi is applied and logged here: note its op id, ship it, count
 * ourselves, answer if W hold it. All of that leaves once the log holds it
 * (out.h): an answer counts only copies in logs, ours included. @p now:
 * the key's state after the write, when the caller knows it (one read of
 * the engine fewer), else NULL. */
static void
shipping(struct tally_node *n, uint32_t oi, const tally_pncounter_t *now)
{
	struct op *o = &n->ops.v[oi];
	uint32_t ix = table_find(n, o->key);
	tally_pncounter_t s;

	opids_note(n, o->client, o->seq, o->mv ? TALLY_WIRE_OP_PUT : o->cop);
	o->holders |= NODE_BIT(n->self);
	o->state = ST_SHIP;
	o->next_send = n->now + RETRANSMIT_NS;
	o->linger = o->deadline + REPLICATE_LINGER_NS;
	if (o->mv) {
		struct mventry *e = regs_find(n, o->key, false);
		if (e != NULL)
			ship(n, o, false);
		if (write_held(o) && e != NULL)
			reply_put(n, o, &e->reg);
	} else {
		if (o->causal && ix != NIL) {
			causal_dep_set(n, ix, o->dep_key, &o->dep_need, o->dep_tok);
			n->causal.stats.causal_writes++;
		}
		if (ix != NIL)
			n->table.meta[ix].owe |= (tally_nodemask_t)(preferred_mask(n, o->key) & ~o->targets);
		ship(n, o, false);
		if (write_held(o) && (now != NULL || table_state(n, ix, &s) == 0))
			reply_value(n, o, now != NULL ? now : &s);
	}
	if (o->holders == o->targets)
		op_free(n, oi);
}

void
origin_on_ack(struct tally_node *n, unsigned from, const struct tally_wire_slot *a, const tally_pncounter_t *s)
{
	if (a->origin != n->self)
		return;
	for (uint32_t i = op_bucket(n, a->key), next; i != NIL; i = next) {
		struct op *o = &n->ops.v[i];
		next = o->hnext;
		if (o->kind != OP_WRITE || o->state != ST_SHIP || o->mv || memcmp(o->key, a->key, 16) != 0)
			continue;
		if (a->p < o->p || a->n < o->n || !(o->targets & NODE_BIT(from)))
			continue;
		o->holders |= NODE_BIT(from);
		if (!o->replied && write_held(o))
			reply_value(n, o, s);
		if (o->holders == o->targets)
			op_free(n, i);
	}
}

void
origin_on_mv_ack(struct tally_node *n, unsigned from, const uint8_t key[16], const tally_vec_t *ctx)
{
	struct mventry *e = regs_find(n, key, false);

	for (uint32_t i = op_bucket(n, key), next; i != NIL; i = next) {
		struct op *o = &n->ops.v[i];
		next = o->hnext;
		if (o->kind != OP_WRITE || !o->mv || o->state != ST_SHIP || memcmp(o->key, key, 16) != 0 ||
		    !(o->targets & NODE_BIT(from)) || ctx->slot[n->self] < o->mv_counter)
			continue;
		o->holders |= NODE_BIT(from);
		if (!o->replied && write_held(o) && e != NULL)
			reply_put(n, o, &e->reg);
		if (o->holders == o->targets)
			op_free(n, i);
	}
}

void
origin_scan_begin(struct tally_node *n)
{
	uint32_t share = n->ops.cap / LINGER_SHARE;

	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		n->origin.over[t] = n->origin.lingering[t] > share ? n->origin.lingering[t] - share : 0;
		n->origin.lingering[t] = 0;
	}
}

void
origin_tick(struct tally_node *n, uint32_t oi)
{
	struct op *o = &n->ops.v[oi];

	if (o->state != ST_SHIP) {
		if (o->held) {
			tally_nodemask_t unconfirmed = members_unconfirmed(n);
			if (unconfirmed == 0) {
				op_ready(n, oi); /* confirmed now: apply it (drain_ready) */
			} else if (n->now >= o->deadline) {
				reply_op(n, o, TALLY_E_RECOVERING, (int64_t)unconfirmed); /* never applied */
				op_free(n, oi);
			}
		} else if (o->state == ST_NEW && n->now >= o->deadline) {
			refuse(n, oi, TALLY_E_INDETERMINATE);
		}
		return;
	}
	if (!o->replied && n->now >= o->deadline)
		reply_op(n, o, TALLY_E_INDETERMINATE, 0);
	tally_nodemask_t missing = o->targets & ~o->holders;
	bool over = false;
	if (o->replied)
		for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
			if ((missing & NODE_BIT(t)) && n->origin.over[t] > 0) {
				n->origin.over[t]--;
				over = true;
			}
	if (n->now >= o->linger || over) {
		/* Still not held everywhere: the handoff keeps offering it. */
		uint32_t ix = table_find(n, o->key);
		if (ix != NIL)
			n->table.meta[ix].owe |= (tally_nodemask_t)missing;
		n->origin.handed_off += over;
		op_free(n, oi);
		return;
	}
	if (o->replied)
		for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
			n->origin.lingering[t] += (missing & NODE_BIT(t)) != 0;
	if (n->now >= o->next_send) {
		ship(n, o, true);
		o->next_send = n->now + RETRANSMIT_NS;
	}
}

void
origin_lag(const struct tally_node *n, uint64_t ops[TALLY_MAX_NODES], uint64_t age[TALLY_MAX_NODES])
{
	for (uint32_t j = 0; j < n->ops.nops; j++) {
		const struct op *op = &n->ops.v[n->ops.live[j]];
		if (op->kind != OP_WRITE || op->state != ST_SHIP)
			continue;
		for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
			if (op->targets & ~op->holders & NODE_BIT(t)) {
				ops[t]++;
				if (n->now - op->started > age[t])
					age[t] = n->now - op->started;
			}
	}
}
