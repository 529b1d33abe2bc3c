/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Scalar batch kernels: the reference operations in a loop. Built with
 * auto-vectorization off (see meson.build) so that "scalar" in the benchmark
 * means one slot per instruction, the baseline the SIMD kernels are measured
 * against.
 */

#include "kernels.h"
#include "vclock.h"

static void
merge_scalar(tally_vec_t *restrict dst, const tally_vec_t *restrict src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tally_vec_merge(&dst[i], &src[i]);
}

static void
compare_scalar(const tally_vec_t *a, const tally_vec_t *b, uint8_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++)
		order[i] = (uint8_t)tally_vv_compare(&a[i], &b[i]);
}

const struct tally_kernels tally_kernels_scalar = {
	.name = "scalar",
	.isa = TALLY_ISA_SCALAR,
	.merge = merge_scalar,
	.compare = compare_scalar,
};
