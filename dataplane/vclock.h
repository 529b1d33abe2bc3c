/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Version vectors: one event counter per node, stored as a tally_vec_t.
 *
 * Compare decides the causal order of two vectors; merge is element-wise
 * maximum (the same operation as the G-Counter merge). The order encoding is
 * the one the NIC's vclock_unit produces: bit 0 set when some slot of a is
 * below b's, bit 1 set when some slot of a is above b's. EQUAL, BEFORE, AFTER
 * and CONCURRENT follow from those two bits and nothing else.
 */

#ifndef TALLY_VCLOCK_H
#define TALLY_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "vec.h"

/** Causal order of a relative to b. Values are the RTL encoding {any_gt, any_lt}. */
typedef enum tally_vv_order {
	TALLY_VV_EQUAL = 0,      /**< every slot equal */
	TALLY_VV_BEFORE = 1,     /**< a <= b everywhere, a < b somewhere: a happened before b */
	TALLY_VV_AFTER = 2,      /**< a >= b everywhere, a > b somewhere: a happened after b */
	TALLY_VV_CONCURRENT = 3, /**< a < b somewhere and a > b somewhere */
} tally_vv_order_t;

/** Order of @p a relative to @p b. The reference every compare kernel equals. */
static inline tally_vv_order_t
tally_vv_compare(const tally_vec_t *a, const tally_vec_t *b)
{
	unsigned any_lt = 0, any_gt = 0;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		any_lt |= a->slot[i] < b->slot[i];
		any_gt |= a->slot[i] > b->slot[i];
	}
	return (tally_vv_order_t)(any_gt << 1 | any_lt);
}

/** True when @p a >= @p b in every slot (a has seen everything b has). */
bool tally_vv_dominates(const tally_vec_t *a, const tally_vec_t *b);

/** dst = merge(dst, src): element-wise maximum, the least vector dominating both. */
void tally_vv_merge(tally_vec_t *dst, const tally_vec_t *src);

/**
 * Record one more event of @p node: slot @p node += 1.
 * @return 0; -EINVAL if node >= TALLY_MAX_NODES; -EOVERFLOW at UINT64_MAX.
 */
int tally_vv_tick(tally_vec_t *vv, unsigned node);

/** Short name of @p order ("EQUAL", "BEFORE", "AFTER", "CONCURRENT"), for messages. */
const char *tally_vv_order_name(tally_vv_order_t order);

#endif /* TALLY_VCLOCK_H */
