/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Hinted handoff: what a fallback holds for the preferred replicas, and
 * what an origin's writes missed, offered until each confirms it.
 */

#include <string.h>

#include "state.h"

static tally_nodemask_t
handoff_targets(const struct tally_node *n, uint32_t ix)
{
	const struct keymeta *k = &n->table.meta[ix];
	tally_nodemask_t pref = preferred_mask(n, k->key);

	/* Every preferred replica when we are not one (we hold the key as a
	 * hint for them), else the replicas our writes missed while down. */
	return (tally_nodemask_t)(((pref & NODE_BIT(n->self)) ? k->owe : pref) & ~NODE_BIT(n->self));
}

static tally_nodemask_t
handoff_unconfirmed(const struct tally_node *n, const struct keymeta *k, const tally_pncounter_t *s, unsigned t)
{
	bool here = preferred_here(n, k->key);
	tally_nodemask_t m = 0;

	/* A preferred replica owes only its own slot. */
	for (unsigned o = 0; o < TALLY_MAX_NODES; o++)
		if (!here || o == n->self)
			if ((s->p.slot[o] | s->n.slot[o]) != 0 && !(k->handoff_ok[t] & NODE_BIT(o)))
				m |= NODE_BIT(o);
	return m;
}

void
handoff_on_ack(struct tally_node *n, unsigned from, const struct tally_wire_slot *a, uint32_t ix,
	       const tally_pncounter_t *s)
{
	if (a->origin >= TALLY_MAX_NODES)
		return;
	n->table.meta[ix].peer_ix[from] = a->index;
	/* A hint offered to a preferred node: is our slot held there now? */
	if (a->p >= s->p.slot[a->origin] && a->n >= s->n.slot[a->origin])
		n->table.meta[ix].handoff_ok[from] |= NODE_BIT(a->origin);
}

void
handoff_on_mv_ack(struct tally_node *n, unsigned from, const uint8_t key[16], const tally_vec_t *ctx)
{
	struct mventry *e = regs_find(n, key, false);

	if (e != NULL && vec_covers(ctx, &e->reg.ctx))
		e->confirmed |= NODE_BIT(from); /* a fallback's hint is held there now */
}

/* Registers held on a fallback go to the preferred replicas until their
 * acks cover them (kept afterwards: the register may hold our own dots). */
static void
handoff_registers(struct tally_node *n)
{
	for (uint32_t i = 0; i < n->regs.entries; i++) {
		struct mventry *e = &n->regs.mv[i];
		tally_nodemask_t pref;
		if (!e->used || ((pref = preferred_mask(n, e->key)) & NODE_BIT(n->self)))
			continue;
		for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
			if ((pref & NODE_BIT(t)) && !(e->confirmed & NODE_BIT(t)) && members_up(n, t)) {
				regs_ship(n, t, e->key, &e->reg, 0);
				n->handoff.stats.records++;
			}
	}
}

void
handoff_tick(struct tally_node *n)
{
	if (n->now < n->handoff.next)
		return;
	n->handoff.next = n->now + HANDOFF_NS;
	handoff_registers(n);
	for (uint32_t ix = 0; ix < n->table.entries; ix++) {
		struct keymeta *k = &n->table.meta[ix];
		tally_pncounter_t s;
		tally_nodemask_t targets;
		bool all = true;

		if (!k->used || (targets = handoff_targets(n, ix)) == 0 || table_state(n, ix, &s) != 0)
			continue;
		for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
			if (!(targets & NODE_BIT(t)))
				continue;
			tally_nodemask_t missing = handoff_unconfirmed(n, k, &s, t);
			if (missing == 0) {
				k->owe &= (tally_nodemask_t)~NODE_BIT(t);
				continue;
			}
			all = false;
			if (!members_up(n, t))
				continue;
			for (unsigned o = 0; o < TALLY_MAX_NODES; o++)
				if (missing & NODE_BIT(o)) {
					causal_ship_slot(n, t, k->key, ix, o, s.p.slot[o], s.n.slot[o]);
					n->handoff.stats.records++;
				}
		}
		/* A hint handed off: free the entry, unless it holds our own slot,
		 * which we must never forget (we would count from zero again). */
		if (all && !preferred_here(n, k->key) && (s.p.slot[n->self] | s.n.slot[n->self]) == 0 &&
		    log_drop(n, k->key) == 0 && table_free(n, ix) == 0)
			n->handoff.stats.dropped_keys++;
	}
}

void
handoff_hints(const struct tally_node *n, uint64_t hints[TALLY_MAX_NODES])
{
	for (uint32_t ix = 0; ix < n->table.entries; ix++) {
		const struct keymeta *k = &n->table.meta[ix];
		tally_pncounter_t s;
		tally_nodemask_t targets;
		if (!k->used || (targets = handoff_targets(n, ix)) == 0 || table_state(n, ix, &s) != 0)
			continue;
		for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
			if ((targets & NODE_BIT(t)) && handoff_unconfirmed(n, k, &s, t) != 0)
				hints[t]++;
	}
}
