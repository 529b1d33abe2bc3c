/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The vector: TALLY_MAX_NODES unsigned 64-bit slots, one per node, aligned so
 * that with the default of 8 nodes one vector is exactly one 64-byte cache
 * line and one 512-bit NIC beat. G-Counters and version vectors are both
 * stored as vectors; the functions that act on them give the meaning.
 *
 * This header owns the single definition of the slot merge (maximum). Every
 * kernel, scalar or SIMD, and the RTL reference use it or mirror it, so the
 * mutation build (-Dmutation=merge-min) breaks all of them at once.
 */

#ifndef TALLY_VEC_H
#define TALLY_VEC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifndef TALLY_MAX_NODES
#define TALLY_MAX_NODES 8
#endif

#if TALLY_MAX_NODES < 1 || TALLY_MAX_NODES > 64
#error "TALLY_MAX_NODES must be in 1..64"
#endif

/** Bytes of one 512-bit beat: the unit the NIC and the wire format align to. */
#define TALLY_BEAT_BYTES 64

/** One slot per node. Slots at and above the cluster's node count stay 0. */
typedef struct tally_vec {
	_Alignas(TALLY_BEAT_BYTES) uint64_t slot[TALLY_MAX_NODES];
} tally_vec_t;

/** Merge of two slot values: the maximum (the minimum in the mutation build). */
static inline uint64_t
tally_slot_merge(uint64_t a, uint64_t b)
{
#ifdef TALLY_MUTATION_MERGE_MIN
	return a < b ? a : b;
#else
	return a > b ? a : b;
#endif
}

/** Set every slot of @p v to 0. */
static inline void
tally_vec_zero(tally_vec_t *v)
{
	memset(v, 0, sizeof(*v));
}

/** True when every slot of @p a equals the same slot of @p b. */
static inline bool
tally_vec_equal(const tally_vec_t *a, const tally_vec_t *b)
{
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		if (a->slot[i] != b->slot[i])
			return false;
	return true;
}

/** dst = element-wise merge(dst, src). The reference every merge kernel equals. */
static inline void
tally_vec_merge(tally_vec_t *dst, const tally_vec_t *src)
{
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		dst->slot[i] = tally_slot_merge(dst->slot[i], src->slot[i]);
}

#endif /* TALLY_VEC_H */
