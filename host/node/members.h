/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Membership of a node: which members are up (heartbeats, failure
 * detection), their incarnations (epochs), and the live replicas of a key
 * (sloppy quorum: the first N live nodes of its ring). What other parts
 * must do when a member restarts or comes back is flagged here for them
 * (new_epoch, came_up) and done by them; nothing here calls them.
 */

#ifndef TALLY_NODE_MEMBERS_H
#define TALLY_NODE_MEMBERS_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "wire.h"

struct member {
	bool present;                /* a member other than us */
	uint64_t last_heard;         /* ns, 0 = never */
	uint32_t epoch;              /* its incarnation, last seen */
	bool up;
	bool new_epoch, came_up;     /* for the op-id notes (opids.c) to act on */
	uint64_t frames_in;
	/* Log positions (docs/durability.md#backup-and-restore): the highest
	 * this member announced, the last of those logged (and when), and
	 * whether it has told us ours is not behind what it saw of us. */
	uint64_t pos_seen, pos_logged, pos_logged_at;
	bool confirmed;
	/* Whether we hold the op-id notes it had when we started (opids.c):
	 * before that, a retry it applied could be applied here again. */
	bool notes_caught;
};

struct node_members {
	struct member m[TALLY_MAX_NODES];
	unsigned count;              /* members, us included */
	uint64_t next_heartbeat;
};

/** A frame from a member (header @p h, addresses @p a): it is up. */
void members_heard(struct tally_node *n, const struct tally_wire_addr *a, const struct tally_wire_hdr *h);

/** Whether node @p id is up (we are). */
bool members_up(const struct tally_node *n, unsigned id);

/** Up members that have not yet confirmed our log position, or given us the op-id notes they had. */
tally_nodemask_t members_unconfirmed(const struct tally_node *n);

/** How many members are up, us included. */
unsigned members_up_count(const struct tally_node *n);

/** The first N live nodes of the key's ring: where a write goes now. *origin is the first (-1: none). */
tally_nodemask_t members_live(const struct tally_node *n, const uint8_t key[16], int *origin);

/** Every member, us included. */
tally_nodemask_t members_all(const struct tally_node *n);

/** Heartbeats to every member when due, and members silent too long marked down. */
void members_tick(struct tally_node *n);

#endif /* TALLY_NODE_MEMBERS_H */
