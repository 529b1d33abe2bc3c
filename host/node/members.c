/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Membership: heartbeats, failure detection, incarnations, and the live
 * replicas of a key (sloppy quorum).
 */

#include <inttypes.h>

#include "state.h"

void
members_heard(struct tally_node *n, const struct tally_wire_addr *a, const struct tally_wire_hdr *h)
{
	struct member *m;

	if (h->sender >= TALLY_MAX_NODES || h->sender == n->self || !n->members.m[h->sender].present)
		return;
	m = &n->members.m[h->sender];
	if (m->epoch != h->epoch) {
		/* A restarted peer numbered its table afresh: forget its indexes. */
		if (m->epoch != 0)
			table_forget_peer(n, h->sender);
		m->epoch = h->epoch;
		m->new_epoch = true;
	}
	if (!m->up) {
		node_note(n, "node %u is up (epoch %" PRIu32 ")", h->sender, h->epoch);
		m->came_up = true;
	}
	m->up = true;
	m->last_heard = n->now;
	m->frames_in++;
	link_learn_mac(n, h->sender, a->src_mac);
}

bool
members_up(const struct tally_node *n, unsigned id)
{
	return id == n->self || (n->members.m[id].present && n->members.m[id].up);
}

tally_nodemask_t
members_unconfirmed(const struct tally_node *n)
{
	tally_nodemask_t m = 0;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		if (n->members.m[i].present && n->members.m[i].up &&
		    (!n->members.m[i].confirmed || !n->members.m[i].notes_caught))
			m |= NODE_BIT(i);
	return m;
}

unsigned
members_up_count(const struct tally_node *n)
{
	unsigned c = 1;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		c += n->members.m[i].present && n->members.m[i].up;
	return c;
}

tally_nodemask_t
members_all(const struct tally_node *n)
{
	tally_nodemask_t m = NODE_BIT(n->self);

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		if (n->members.m[i].present)
			m |= NODE_BIT(i);
	return m;
}

tally_nodemask_t
members_live(const struct tally_node *n, const uint8_t key[16], int *origin)
{
	unsigned count, want = tally_placement_n(n->pl), got = 0;
	const uint8_t *ring = node_ring_of(n, key, &count);
	tally_nodemask_t mask = 0;

	*origin = -1;
	for (unsigned i = 0; i < count && got < want; i++) {
		if (!members_up(n, ring[i]))
			continue;
		if (*origin < 0)
			*origin = ring[i];
		mask |= NODE_BIT(ring[i]);
		got++;
	}
	return mask;
}

void
members_tick(struct tally_node *n)
{
	if (n->now < n->members.next_heartbeat)
		return;
	n->members.next_heartbeat = n->now + ms_ns(n->cfg.heartbeat_ms);
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		struct member *m = &n->members.m[i];
		if (!m->present)
			continue;
		link_heartbeat(n, i);
		if (m->up && n->now - m->last_heard > ms_ns(n->cfg.failure_ms)) {
			m->up = false;
			node_note(n, "node %u is down (silent for %u ms)", i, n->cfg.failure_ms);
		}
	}
}
