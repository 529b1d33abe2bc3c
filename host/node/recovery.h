/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Recovery of a lost data directory (kv679, docs/durability.md): a node
 * that lost its data must never raise its own slot of a key from below a
 * value the cluster already holds.
 *
 * Two mechanisms. Per key: before a recovering node raises its own slot of
 * a key, it learns the slot's highest value from every member with an
 * internal read; writes to the key wait for it (parked) and go on the
 * ready queue when it ends. For the whole node: the sweep asks every member,
 * page by page, for every key it holds with a nonzero slot of ours
 * (a READ_REQUEST whose one record has the all-zero key id and the cursor
 * as its index; the answer a READ_REPLY with the states and, last, an
 * all-zero key whose index is the next cursor, or INDEX_UNKNOWN at the
 * end). Once every member has answered to the end and what it sent is
 * logged, every key is recovered and the node leaves recovering mode.
 */

#ifndef TALLY_NODE_RECOVERY_H
#define TALLY_NODE_RECOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "wire.h"

#define SWEEP_RETRY_NS 100000000u /* a sweep request unanswered this long is sent again */
#define SWEEP_SCAN 65536u         /* table entries a member scans for one page, at most */

struct recovery_stats {
	uint64_t recoveries;      /* keys whose own slot was recovered one by one */
	uint64_t sweep_pages, sweep_states;
};

/* The sweep of one member. */
struct sweep_peer {
	uint32_t cursor;          /* its next table index to send */
	uint32_t epoch;           /* its incarnation the cursor is for */
	uint64_t req_seq, sent;   /* the request outstanding, and when it left */
	bool done;
};

struct node_recovery {
	struct sweep_peer peer[TALLY_MAX_NODES];
	bool complete;            /* every member answered: over once complete_at is durable */
	uint64_t complete_at;     /* the output position (out.h) of what the sweep merged */
	struct recovery_stats stats;
};

/** Write @p wi needs its key recovered first: start the key's recovery, or join the one running. */
void recovery_start(struct tally_node *n, uint32_t wi);

/** Recovery read @p ri finished (ST_DONE): keep what it found and resume or refuse the writes it parked. */
void recovery_finish(struct tally_node *n, uint32_t ri);

/** The sweep: requests to members when due (a recovering node only). */
void recovery_tick(struct tally_node *n);

/** Whether READ_REQUEST frame @p f asks for a sweep page. */
bool recovery_is_sweep(const struct tally_wire_frame *f);

/** Answer a sweep request with one page of what we hold of the sender's slot. */
void recovery_serve(struct tally_node *n, const struct tally_wire_frame *f);

/** A READ_REPLY: if it is the page our sweep of its sender waits for, take it. @return whether it was. */
bool recovery_on_page(struct tally_node *n, const struct tally_wire_frame *f);

/** The members the sweep still waits for (0 when not recovering). */
tally_nodemask_t recovery_waiting(const struct tally_node *n);

/** After the commit that made the whole sweep durable: every key is recovered, new ones too. */
void recovery_complete(struct tally_node *n);

/** Start recovering now, as after a lost directory: every key's own slot
 * is recovered from every member before it rises again (its data directory
 * was found behind what it had shipped). */
void recovery_enter(struct tally_node *n);

#endif /* TALLY_NODE_RECOVERY_H */
