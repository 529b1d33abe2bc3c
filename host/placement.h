/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Placement: which nodes keep a key. A consistent-hash ring of P fixed
 * partitions: a key's 128-bit id falls in one partition; every member has
 * TALLY_PLACEMENT_VNODES tokens on the ring (hashes of its id), and a
 * partition's nodes are the distinct members met walking clockwise from the
 * partition's start. The first N are its preference list; the rest, in
 * order, are where a write goes when preferred nodes are down (sloppy
 * quorum). Every node computes the same placement from the same members,
 * P and N; removing a member leaves the others' order unchanged, so only
 * the partitions that member held move.
 *
 * Owns one table of P x members node ids; knows nothing of liveness.
 */

#ifndef TALLY_PLACEMENT_H
#define TALLY_PLACEMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "vec.h"

/** Tokens per member on the ring: enough to spread partitions evenly. */
#define TALLY_PLACEMENT_VNODES 64

struct tally_placement;

/**
 * Placement of @p partitions (1..65536) partitions with @p n replicas over
 * the members whose entry in @p member is true (at least @p n of them).
 * @return it, or NULL with *err = -EINVAL or -ENOMEM.
 */
struct tally_placement *tally_placement_create(uint32_t partitions, unsigned n,
					       const bool member[TALLY_MAX_NODES], int *err);

/** Free @p pl (NULL allowed). */
void tally_placement_free(struct tally_placement *pl);

/** The partition of a key id (XXH3-128 of the key's bytes, wire.h). */
uint32_t tally_placement_partition(const struct tally_placement *pl, const uint8_t key[16]);

/**
 * Every member in ring order from @p partition's start: the first N are its
 * preference list, the rest its fallbacks. *count is the number of members.
 */
const uint8_t *tally_placement_nodes(const struct tally_placement *pl, uint32_t partition, unsigned *count);

/** N, P. */
unsigned tally_placement_n(const struct tally_placement *pl);
uint32_t tally_placement_partitions(const struct tally_placement *pl);

#endif /* TALLY_PLACEMENT_H */
