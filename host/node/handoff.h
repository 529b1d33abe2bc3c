/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Hinted handoff (docs/cluster.md#failure-detection-sloppy-quorum-and-handoff):
 * a fallback offers the keys it holds as hints to their preferred replicas,
 * and an origin the writes its replicas missed, until each confirms by its
 * acks; then the debt is forgotten and a hinted key freed.
 */

#ifndef TALLY_NODE_HANDOFF_H
#define TALLY_NODE_HANDOFF_H

#include <stdint.h>

#include "base.h"
#include "table.h"
#include "wire.h"

#define HANDOFF_NS 200000000u /* how often hints are offered to their owners */

struct handoff_stats {
	uint64_t records, dropped_keys;
};

struct node_handoff {
	uint64_t next;
	struct handoff_stats stats;
};



/** A replica's ack says it holds slot a->origin of the key of our row @p ix, whose state is @p s,
 * at (p, n): its index, and what it confirms. */
void handoff_on_ack(struct tally_node *n, unsigned from, const struct tally_wire_slot *a, uint32_t ix,
		    const tally_pncounter_t *s);

/** A replica holds register @p key up to @p ctx. */
void handoff_on_mv_ack(struct tally_node *n, unsigned from, const uint8_t key[16], const tally_vec_t *ctx);

/** Every HANDOFF_NS: offer every owed key to the nodes that may lack it. */
void handoff_tick(struct tally_node *n);

/** Keys held or owed for each member, for the status page. */
void handoff_hints(const struct tally_node *n, uint64_t hints[TALLY_MAX_NODES]);

#endif /* TALLY_NODE_HANDOFF_H */
