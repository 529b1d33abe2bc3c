/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Arrays of vector pairs for the tests that check a kernel against the
 * reference (tests/unit/test_kernels.c for the SIMD kernels, tests/rtl for
 * the RTL): the edge cases every such test must cover, and random pairs from
 * prop.h's generators.
 */

#ifndef TALLY_TEST_VECPAIRS_H
#define TALLY_TEST_VECPAIRS_H

#include <stddef.h>
#include <stdint.h>

#include "vec.h"

/** Pairs (a[i], b[i]) for i < n; capacity cap. */
struct vecpairs {
	tally_vec_t *a, *b;
	size_t n, cap;
};

/** Room for @p cap pairs, 64-byte aligned. @return 0 or -ENOMEM. */
int vecpairs_alloc(struct vecpairs *p, size_t cap);

/** Release @p p. */
void vecpairs_free(struct vecpairs *p);

/**
 * Append the edge cases: every pair of uniform vectors over 0, 1, 2^63-1,
 * 2^63, UINT64_MAX-1, UINT64_MAX; one-slot differences up and down at every
 * slot; one slot across the sign bit; every node count 1..TALLY_MAX_NODES.
 * Needs VECPAIRS_EDGE_MAX free pairs.
 */
void vecpairs_add_edges(struct vecpairs *p, uint64_t salt);

#define VECPAIRS_EDGE_MAX (36 + 6 * 3 * TALLY_MAX_NODES + 8 * TALLY_MAX_NODES)

/** Fill @p p up to its capacity with random related pairs (prop_gen_related). */
void vecpairs_add_random(struct vecpairs *p, uint64_t salt);

#endif /* TALLY_TEST_VECPAIRS_H */
