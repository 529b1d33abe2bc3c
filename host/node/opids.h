/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Op ids: a retried write counts once (docs/cluster.md#op-ids-a-retry-counts-once).
 * Owns the dedup table of op ids applied here, the table of op ids other
 * origins noted to us, the ring of recent notes a restarted member is
 * given, and the pins that send a retry to the origin it went to first.
 */

#ifndef TALLY_NODE_OPIDS_H
#define TALLY_NODE_OPIDS_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "dedup.h"
#include "wire.h"

#define PINS 65536u     /* forwarded op ids remembered with their origin (4-way sets) */
#define NOTES 65536u    /* the latest op ids kept to give a restarted member */
#define NOTE_BURST 230u /* notes to one member per poll round */
#define NOTE_SLACK 4096u /* notes given again to a member back from a partition, for those in flight */

/* An op id known to be applied (here, or by the origin that sent a note). */
struct opnote {
	uint64_t client, seq;
	uint8_t op;
};

/* A forwarded write's op id and the origin it went to: a retry goes there
 * again, never to a second origin that could apply it twice. */
struct pin {
	uint64_t client, seq;
	uint8_t origin;
	bool used;
};

struct opids_stats {
	uint64_t notes_sent, notes_in, noted_refused, pins_evicted;
};

struct node_opids {
	tally_dedup_t *dedup;      /* op ids applied here (logged) */
	tally_dedup_t *noted;      /* op ids other origins applied (their notes) */
	struct opnote *notes;      /* ring of NOTES */
	uint64_t notes_head;
	uint64_t push[TALLY_MAX_NODES], end[TALLY_MAX_NODES]; /* notes still to give each member */
	uint64_t heard[TALLY_MAX_NODES]; /* the ring's head when we last heard it */
	struct pin *pins;
	struct opids_stats stats;
};

int opids_init(struct node_opids *o);
void opids_fini(struct node_opids *o);

/** What an origin may do with op id (client, seq): the DEDUP_NEW or DEDUP_DUPLICATE of dedup.h,
 * or OPIDS_REFUSE (too old, evicted, or applied by another origin: op_refused). */
#define OPIDS_REFUSE (-1000)
int opids_verdict(struct tally_node *n, uint64_t client, uint64_t seq);

/** Op id (client, seq) is applied here: remember it and log it. */
void opids_applied(struct tally_node *n, uint64_t client, uint64_t seq);

/** Op id (client, seq) of op @p op is durable here: note it to every live member, and keep it. */
void opids_note(struct tally_node *n, uint64_t client, uint64_t seq, unsigned op);

/** A CLIENT_REPLY record from another node that says it applied an op id. */
void opids_on_note(struct tally_node *n, const struct tally_wire_client *c);

/** After the members were heard: give members that restarted or came back the notes they missed. */
void opids_tick(struct tally_node *n);

/** The pin of op id (client, seq); with @p insert, a new one (evicting in a full set). */
struct pin *opids_pin(struct tally_node *n, uint64_t client, uint64_t seq, bool insert);

#endif /* TALLY_NODE_OPIDS_H */
