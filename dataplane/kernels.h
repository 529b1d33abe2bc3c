/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Batch kernels for the hot path: merge many vector pairs, or compare many
 * version-vector pairs, in one call. Each instruction set (scalar, AVX2,
 * AVX-512) has its own table of kernels; all give bit-for-bit the results of
 * tally_vec_merge() and tally_vv_compare() applied pair by pair.
 *
 * The tables are constant. tally_kernels_best() picks, from the CPU's
 * features at run time, the fastest table this build and this CPU support;
 * scalar is always available, so no caller needs a fallback of its own.
 */

#ifndef TALLY_KERNELS_H
#define TALLY_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "vec.h"

/** dst[i] = merge(dst[i], src[i]) for i < n. dst and src must not overlap. */
typedef void (*tally_merge_batch_fn)(tally_vec_t *restrict dst,
				     const tally_vec_t *restrict src, size_t n);

/** order[i] = tally_vv_compare(&a[i], &b[i]) for i < n (a tally_vv_order_t each). */
typedef void (*tally_compare_batch_fn)(const tally_vec_t *a, const tally_vec_t *b,
				       uint8_t *order, size_t n);

/** Instruction sets with kernels, slowest first. */
enum tally_isa {
	TALLY_ISA_SCALAR = 0, /**< portable C, never auto-vectorized */
	TALLY_ISA_AVX2,       /**< x86-64 AVX2, 4 slots per instruction */
	TALLY_ISA_AVX512,     /**< x86-64 AVX-512F, 8 slots per instruction */
	TALLY_ISA_COUNT,
};

/** One instruction set's kernels. */
struct tally_kernels {
	const char *name;              /**< "scalar", "avx2", "avx512" */
	enum tally_isa isa;
	tally_merge_batch_fn merge;     /**< batch merge */
	tally_compare_batch_fn compare; /**< batch version-vector compare */
};

/**
 * Kernels of @p isa, or NULL when this build lacks them (non-x86 target, or a
 * TALLY_MAX_NODES the SIMD width does not divide) or this CPU cannot run them.
 */
const struct tally_kernels *tally_kernels_get(enum tally_isa isa);

/** Kernels by name ("scalar", "avx2", "avx512"), or NULL as tally_kernels_get(). */
const struct tally_kernels *tally_kernels_by_name(const char *name);

/** The fastest kernels this build and CPU support. Never NULL. */
const struct tally_kernels *tally_kernels_best(void);

/* The per-ISA tables; use tally_kernels_get(), which checks the CPU. */
extern const struct tally_kernels tally_kernels_scalar;
extern const struct tally_kernels tally_kernels_avx2;
extern const struct tally_kernels tally_kernels_avx512;

#endif /* TALLY_KERNELS_H */
