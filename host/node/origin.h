/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Writes at their origin (docs/cluster.md#writes): the op id is checked,
 * our own slot raised and logged; after the commit the slot's state is
 * shipped to the other targets, and the write is answered once W of them
 * hold it. MV-register puts take the same path with a register.
 */

#ifndef TALLY_NODE_ORIGIN_H
#define TALLY_NODE_ORIGIN_H

#include <stdint.h>

#include "base.h"
#include "wire.h"

struct origin_stats {
	uint64_t applied, duplicates, not_yet;
	uint64_t mv_puts, mv_siblings_max;
	/* Answered writes still shipping to a target, counted at each scan, and
	 * how many of them over LINGER_SHARE the next scan hands off. */
	uint32_t lingering[TALLY_MAX_NODES], over[TALLY_MAX_NODES];
	uint64_t handed_off; /* answered writes left to the handoff: their target held too many */
};

/* The share of the op table a target that does not ack may hold with
 * answered writes still shipping to it: a gray peer (up, never acking)
 * must not take every slot. Beyond it, the handoff ships them (k->owe). */
#define LINGER_SHARE 8u

/** Apply write @p oi here, its origin (or park it on a recovery or a dependency). */
void origin_apply(struct tally_node *n, uint32_t oi);

/** A replica's REPLICATE_ACK record: writes of ours it now holds (@p s: the key's state here). */
void origin_on_ack(struct tally_node *n, unsigned from, const struct tally_wire_slot *a, const tally_pncounter_t *s);

/** A replica's register ack: puts of ours it now holds. */
void origin_on_mv_ack(struct tally_node *n, unsigned from, const uint8_t key[16], const tally_vec_t *ctx);

/** Before the poll loop's scan of every op: what each target held at the last one. */
void origin_scan_begin(struct tally_node *n);

/** Write @p oi's deadline and retransmission (the poll loop's scan). */
void origin_tick(struct tally_node *n, uint32_t oi);

/** Writes each member has not acked yet, and the oldest one's age in ns, for the status page. */
void origin_lag(const struct tally_node *n, uint64_t ops[TALLY_MAX_NODES], uint64_t age[TALLY_MAX_NODES]);

#endif /* TALLY_NODE_ORIGIN_H */
