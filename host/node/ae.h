/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Anti-entropy (docs/cluster.md#anti-entropy): per-partition digests,
 * compared with the version-vector kernel, and the rate-bounded shipping
 * of what a peer may lack.
 */

#ifndef TALLY_NODE_AE_H
#define TALLY_NODE_AE_H

#include <stdint.h>

#include "base.h"
#include "wire.h"

#define AE_QUEUE 64 /* partitions waiting to be shipped to one peer */

/* Anti-entropy towards one peer: partitions to ship it, and the shipping cursor. */
struct ae_peer {
	uint32_t queue[AE_QUEUE];
	unsigned head, len;
	uint32_t cursor;          /* next table entry of the partition at the head */
	double tokens;            /* repair records it may still be sent (rate bound) */
	uint64_t last_sync;       /* when a digest exchange last found us equal */
	uint64_t digests_in, differ, records;
};

struct node_ae {
	uint64_t next, last_refill;
	uint32_t part;            /* the next partition to summarise */
	struct ae_peer peer[TALLY_MAX_NODES];
};

/** Digests when due, and shipping within each peer's rate. */
void ae_tick(struct tally_node *n);

/** A DIGEST frame with records: a peer's summaries. */
void ae_on_digest(struct tally_node *n, const struct tally_wire_frame *f);

#endif /* TALLY_NODE_AE_H */
