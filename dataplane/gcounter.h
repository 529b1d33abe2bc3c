/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * G-Counter and PN-Counter: the state-based counters every replica keeps.
 *
 * A G-Counter is a vector with one slot per node; node i only ever raises
 * slot i, the value is the sum of the slots, and two replicas merge by
 * element-wise maximum. A PN-Counter is two G-Counters, increments (P) and
 * decrements (N); its value is sum(P) - sum(N).
 *
 * Arithmetic never wraps: an increment that would overflow a slot, or a value
 * that does not fit the result type, is an error and changes nothing. Merges
 * cannot fail.
 */

#ifndef TALLY_GCOUNTER_H
#define TALLY_GCOUNTER_H

#include <stdint.h>

#include "vec.h"

/** Increments (p) and decrements (n), each a G-Counter. */
typedef struct tally_pncounter {
	tally_vec_t p;
	tally_vec_t n;
} tally_pncounter_t;

/**
 * Add @p delta to slot @p node of G-Counter @p c.
 * @return 0; -EINVAL if node >= TALLY_MAX_NODES; -EOVERFLOW if the slot would
 *   exceed UINT64_MAX (the counter is then unchanged).
 */
int tally_gc_incr(tally_vec_t *c, unsigned node, uint64_t delta);

/**
 * Sum of the slots of @p c into @p out.
 * @return 0; -EOVERFLOW if the sum exceeds UINT64_MAX (@p out untouched).
 */
int tally_gc_value(const tally_vec_t *c, uint64_t *out);

/** dst = merge(dst, src): element-wise maximum. Commutative, associative, idempotent. */
void tally_gc_merge(tally_vec_t *dst, const tally_vec_t *src);

/** Set @p c to the zero counter. */
void tally_pn_init(tally_pncounter_t *c);

/** Add @p delta for @p node. Errors as tally_gc_incr(), on the P half. */
int tally_pn_incr(tally_pncounter_t *c, unsigned node, uint64_t delta);

/** Subtract @p delta for @p node. Errors as tally_gc_incr(), on the N half. */
int tally_pn_decr(tally_pncounter_t *c, unsigned node, uint64_t delta);

/**
 * sum(P) - sum(N) into @p out.
 * @return 0; -ERANGE if the exact result is outside int64_t (@p out untouched).
 */
int tally_pn_value(const tally_pncounter_t *c, int64_t *out);

/** dst = merge(dst, src): each half merged as a G-Counter. */
void tally_pn_merge(tally_pncounter_t *dst, const tally_pncounter_t *src);

#endif /* TALLY_GCOUNTER_H */
