/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * MV-register (multi-value register): a value whose concurrent writes are all
 * kept, as siblings, until a write that has seen them replaces them.
 *
 * Each sibling is tagged with a dot (node, counter) that names the write
 * uniquely; the register also holds a causal context, a version vector of
 * every dot it has seen. A write carries the context its writer read: it
 * replaces exactly the siblings that context covers and becomes one new
 * sibling, so two writes that did not see each other both survive, even when
 * they went through the same node. Merging two replicas keeps a sibling unless
 * the other replica has seen its dot and dropped it. This is the "optimized"
 * MV-register of the delta-CRDT literature (riak_dt_mvreg works the same way);
 * tagging each sibling with a plain version vector instead would order two
 * blind writes through one node and lose one of them.
 *
 * Siblings are kept sorted by dot, so two converged replicas are equal field
 * for field. A write that would leave more than TALLY_MVREG_MAX_SIBLINGS
 * siblings is refused (-ENOSPC); a merge never refuses and may exceed it, so
 * replicas always converge.
 */

#ifndef TALLY_MVREG_H
#define TALLY_MVREG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vec.h"

/** Largest value in bytes. */
#define TALLY_MVREG_VALUE_MAX 64
/** Most siblings a write may leave behind. */
#define TALLY_MVREG_MAX_SIBLINGS 64

/** The unique identity of one write: the @c counter-th write coordinated by @c node. */
typedef struct tally_dot {
	uint32_t node;
	uint64_t counter;
} tally_dot_t;

/** One value and the write that made it. */
struct tally_mvreg_sibling {
	tally_dot_t dot;
	uint32_t len;
	uint8_t value[TALLY_MVREG_VALUE_MAX];
};

/** A replica's register. Initialise with tally_mvreg_init(), release with tally_mvreg_fini(). */
typedef struct tally_mvreg {
	tally_vec_t ctx;                 /**< dots seen: node i's counters 1..ctx.slot[i] */
	uint32_t count;                  /**< siblings */
	uint32_t cap;                    /**< allocated siblings */
	struct tally_mvreg_sibling *sib; /**< sorted by (node, counter) */
} tally_mvreg_t;

/** An empty register: no value, empty context. */
void tally_mvreg_init(tally_mvreg_t *r);

/** Release what @p r holds; it is then empty again. */
void tally_mvreg_fini(tally_mvreg_t *r);

/**
 * Write @p value (@p len bytes) through @p node, replacing every sibling that
 * @p seen (the context the writer read; all zero for a blind write) covers.
 * @return 0; -EINVAL if node >= TALLY_MAX_NODES or len > TALLY_MVREG_VALUE_MAX;
 *   -EOVERFLOW if node's counter is exhausted; -ENOSPC if the write would
 *   leave more than TALLY_MVREG_MAX_SIBLINGS siblings; -ENOMEM. On error @p r
 *   is unchanged.
 */
int tally_mvreg_write(tally_mvreg_t *r, unsigned node, const tally_vec_t *seen,
		      const void *value, size_t len);

/**
 * dst = merge(dst, src). Commutative, associative, idempotent.
 * @return 0; -ENOMEM (dst unchanged).
 */
int tally_mvreg_merge(tally_mvreg_t *dst, const tally_mvreg_t *src);

/**
 * The siblings of @p r (*count of them, sorted by dot) and, in @p ctx if not
 * NULL, the context to pass to the next write that should replace them all.
 */
const struct tally_mvreg_sibling *tally_mvreg_read(const tally_mvreg_t *r, size_t *count,
						   tally_vec_t *ctx);

/** True when @p a and @p b hold the same siblings and the same context. */
bool tally_mvreg_equal(const tally_mvreg_t *a, const tally_mvreg_t *b);

/** dst = a copy of src (dst must be initialised). @return 0 or -ENOMEM (dst unchanged). */
int tally_mvreg_copy(tally_mvreg_t *dst, const tally_mvreg_t *src);

#endif /* TALLY_MVREG_H */
