/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The counter table as the host sees it: the offload engine's entries and
 * what the host keeps beside each; every host-path merge, logged.
 */

#include <errno.h>
#include <string.h>

#include "state.h"

uint32_t
table_find(const struct tally_node *n, const uint8_t key[16])
{
	uint32_t ix;

	return tally_offload_key_lookup(n->table.engine, key, &ix) == 0 ? ix : NIL;
}

int
table_get(struct tally_node *n, const uint8_t key[16], uint32_t *ix)
{
	int rc = tally_offload_key_alloc(n->table.engine, key, ix);

	if (rc == -ENOSPC) {
		n->table.stats.table_full++;
		return TALLY_E_TABLE_FULL;
	}
	if (rc < 0)
		return TALLY_E_IO;
	if (rc == 1) {
		struct keymeta *k = &n->table.meta[*ix];

		memset(k, 0, sizeof(*k));
		k->used = true;
		k->recovered = n->table.new_recovered;
		memcpy(k->key, key, 16);
		k->part = tally_placement_partition(n->pl, key);
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
			k->peer_ix[i] = TALLY_WIRE_INDEX_UNKNOWN;
	}
	return 0;
}

int
table_state(const struct tally_node *n, uint32_t ix, tally_pncounter_t *s)
{
	if (ix == NIL) {
		tally_pn_init(s);
		return 0;
	}
	return tally_offload_read(n->table.engine, ix, s) == 0 ? 0 : TALLY_E_IO;
}

int
table_states(const struct tally_node *n, const uint32_t *ix, unsigned cnt, tally_pncounter_t *s)
{
	return tally_offload_read_many(n->table.engine, ix, cnt, s) == 0 ? 0 : TALLY_E_IO;
}

/*
 * Slot @origin of entry @ix (every slot if -1) may have risen: the nodes we
 * owe the key must confirm it again. A preferred replica owes others only
 * its own writes (an origin pays for its own), so only a change of its own
 * slot matters to it; a fallback owes everything it holds. Clearing only
 * what can matter also keeps two nodes' offers to each other (merges that
 * change nothing) from cancelling each other's confirmations for ever.
 */
void
table_changed(struct tally_node *n, uint32_t ix, int origin)
{
	struct keymeta *k = &n->table.meta[ix];

	n->table.dirty = true; /* a held causal record may wait for exactly this */
	if (preferred_here(n, k->key)) {
		if (origin >= 0 && origin != (int)n->self)
			return;
		origin = (int)n->self;
	}
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
		k->handoff_ok[t] = origin < 0 ? 0 : (tally_nodemask_t)(k->handoff_ok[t] & ~NODE_BIT(origin));
}

int
table_merge_state(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *s, uint32_t *ixout)
{
	struct tally_wire_state st = { .kind = TALLY_WIRE_KIND_PNCOUNTER };
	uint32_t ix;
	int rc = table_get(n, key, &ix);

	if (rc != 0)
		return rc;
	st.index = ix;
	memcpy(st.key, key, 16);
	st.p = s->p;
	st.n = s->n;
	if (tally_offload_apply_states(n->table.engine, &st, 1) != 1)
		return TALLY_E_IO;
	log_state(n, key, s);
	table_changed(n, ix, -1);
	if (ixout != NULL)
		*ixout = ix;
	return 0;
}

int
table_merge_slot(struct tally_node *n, const struct tally_wire_slot *slot, struct tally_offload_completion *c)
{
	struct tally_wire_slot s = *slot;
	uint32_t ix;
	int rc = table_get(n, s.key, &ix);

	if (rc != 0)
		return rc;
	s.index = ix;
	if (tally_offload_apply_slots(n->table.engine, &s, 1, c) != 1)
		return TALLY_E_IO;
	n->table.stats.host_path_records++;
	log_slot(n, s.key, c->origin, c->p, c->n);
	table_changed(n, ix, c->origin);
	return 0;
}

void
table_forget_peer(struct tally_node *n, unsigned peer)
{
	for (uint32_t i = 0; i < n->table.entries; i++)
		n->table.meta[i].peer_ix[peer] = TALLY_WIRE_INDEX_UNKNOWN;
}

int
table_free(struct tally_node *n, uint32_t ix)
{
	int rc = tally_offload_key_free(n->table.engine, ix);

	if (rc == 0)
		n->table.meta[ix].used = false;
	return rc;
}
