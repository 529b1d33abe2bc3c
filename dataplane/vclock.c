/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Version vectors: the per-pair reference for the batch compare kernels and
 * for the RTL vclock_unit.
 */

#include <errno.h>

#include "gcounter.h"
#include "vclock.h"

bool
tally_vv_dominates(const tally_vec_t *a, const tally_vec_t *b)
{
	tally_vv_order_t o = tally_vv_compare(a, b);

	return o == TALLY_VV_EQUAL || o == TALLY_VV_AFTER;
}

void
tally_vv_merge(tally_vec_t *dst, const tally_vec_t *src)
{
	tally_vec_merge(dst, src);
}

int
tally_vv_tick(tally_vec_t *vv, unsigned node)
{
	return tally_gc_incr(vv, node, 1);
}

const char *
tally_vv_order_name(tally_vv_order_t order)
{
	switch (order) {
	case TALLY_VV_EQUAL:
		return "EQUAL";
	case TALLY_VV_BEFORE:
		return "BEFORE";
	case TALLY_VV_AFTER:
		return "AFTER";
	case TALLY_VV_CONCURRENT:
		return "CONCURRENT";
	}
	return "INVALID";
}
