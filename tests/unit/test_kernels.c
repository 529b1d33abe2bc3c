/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Batch kernels equal the reference, bit for bit: every kernel table this CPU
 * runs (scalar, AVX2, AVX-512) is checked against tally_vec_merge() and
 * tally_vv_compare() applied pair by pair, on 2^20 random pairs in batches of
 * random length and on the edge cases (0, UINT64_MAX, the sign-bit boundary
 * the AVX2 compare depends on, one-slot differences, all equal, every node
 * count). A table the CPU cannot run is reported as skipped, not passed.
 */

#include <stdlib.h>
#include <string.h>

#include "cmocka_prelude.h"
#include "kernels.h"
#include "prop.h"
#include "vclock.h"

#define RANDOM_PAIRS (1u << 20)
#define MAX_BATCH 67 /* odd, so batch ends fall everywhere */

struct pairs {
	tally_vec_t *a, *b;
	size_t n;
};

static void
pairs_alloc(struct pairs *p, size_t n)
{
	p->a = aligned_alloc(TALLY_BEAT_BYTES, n * sizeof(tally_vec_t));
	p->b = aligned_alloc(TALLY_BEAT_BYTES, n * sizeof(tally_vec_t));
	assert_non_null(p->a);
	assert_non_null(p->b);
	p->n = 0;
}

static void
pairs_free(struct pairs *p)
{
	free(p->a);
	free(p->b);
}

static void
pairs_add(struct pairs *p, const tally_vec_t *a, const tally_vec_t *b)
{
	p->a[p->n] = *a;
	p->b[p->n] = *b;
	p->n++;
}

/* The edge cases of the property tests, as (a, b) pairs both ways round. */
static size_t
edge_cases(struct pairs *p)
{
	static const uint64_t bases[] = {
		0, 1, (UINT64_C(1) << 63) - 1, UINT64_C(1) << 63, UINT64_MAX - 1, UINT64_MAX,
	};
	tally_vec_t a, b;
	struct prng g;

	prop_init(&g, 100);
	for (size_t x = 0; x < sizeof(bases) / sizeof(bases[0]); x++) {
		for (size_t y = 0; y < sizeof(bases) / sizeof(bases[0]); y++) {
			/* uniform vectors, every pair of base values */
			for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
				a.slot[i] = bases[x];
				b.slot[i] = bases[y];
			}
			pairs_add(p, &a, &b);
		}
		/* one-slot differences, up and down, at every slot */
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
			for (unsigned i2 = 0; i2 < TALLY_MAX_NODES; i2++)
				a.slot[i2] = b.slot[i2] = bases[x];
			if (bases[x] != UINT64_MAX) {
				b.slot[i] = bases[x] + 1;
				pairs_add(p, &a, &b);
				pairs_add(p, &b, &a);
			}
			/* and one slot across the sign bit, the rest equal */
			b.slot[i] = bases[x] ^ (UINT64_C(1) << 63);
			pairs_add(p, &a, &b);
		}
	}
	/* every node count: only the first n slots used */
	for (unsigned n = 1; n <= TALLY_MAX_NODES; n++) {
		for (int k = 0; k < 8; k++) {
			tally_vec_zero(&a);
			tally_vec_zero(&b);
			for (unsigned i = 0; i < n; i++) {
				a.slot[i] = prop_slot(&g);
				b.slot[i] = prng_below(&g, 2) ? a.slot[i] : prop_slot(&g);
			}
			pairs_add(p, &a, &b);
		}
	}
	return p->n;
}

#define EDGE_MAX (36 + 6 * 3 * TALLY_MAX_NODES + 8 * TALLY_MAX_NODES)

static void
random_cases(struct pairs *p, size_t n, uint64_t salt)
{
	struct prng g;
	tally_vec_t v[2];

	prop_init(&g, salt);
	while (p->n < n) {
		prop_gen_related(&g, v, 2);
		pairs_add(p, &v[0], &v[1]);
	}
}

static void
report_merge(const char *kernel, size_t i, const tally_vec_t *a, const tally_vec_t *b,
	     const tally_vec_t *want, const tally_vec_t *got)
{
	char sa[512], sb[512], sw[512], sg[512];

	prop_fmt_vec(sa, sizeof(sa), a);
	prop_fmt_vec(sb, sizeof(sb), b);
	prop_fmt_vec(sw, sizeof(sw), want);
	prop_fmt_vec(sg, sizeof(sg), got);
	fail_msg("%s merge differs from the reference at pair %zu (seed %" PRIu64 ")\n"
		 "  dst   = %s\n  src   = %s\n  want  = %s\n  got   = %s",
		 kernel, i, prop_seed(), sa, sb, sw, sg);
}

/* Run @k's batch kernels over @p in batches of random length; compare each pair. */
static void
check_kernels(const struct tally_kernels *k, const struct pairs *p, uint64_t salt)
{
	tally_vec_t *dst = aligned_alloc(TALLY_BEAT_BYTES, p->n * sizeof(tally_vec_t));
	uint8_t *order = malloc(p->n);
	struct prng g;

	assert_non_null(dst);
	assert_non_null(order);
	memcpy(dst, p->a, p->n * sizeof(tally_vec_t));
	memset(order, 0xee, p->n);
	prop_init(&g, salt);
	for (size_t at = 0; at < p->n;) {
		size_t len = prng_below(&g, MAX_BATCH + 1); /* 0 is a valid batch */

		if (len > p->n - at)
			len = p->n - at;
		k->merge(dst + at, p->b + at, len);
		k->compare(p->a + at, p->b + at, order + at, len);
		at += len;
	}
	for (size_t i = 0; i < p->n; i++) {
		tally_vec_t want = p->a[i];

		tally_vec_merge(&want, &p->b[i]);
		if (!tally_vec_equal(&want, &dst[i]))
			report_merge(k->name, i, &p->a[i], &p->b[i], &want, &dst[i]);
		tally_vv_order_t o = tally_vv_compare(&p->a[i], &p->b[i]);
		if (order[i] != o) {
			char sa[512], sb[512];

			prop_fmt_vec(sa, sizeof(sa), &p->a[i]);
			prop_fmt_vec(sb, sizeof(sb), &p->b[i]);
			fail_msg("%s compare differs from the reference at pair %zu (seed %" PRIu64
				 ")\n  a = %s\n  b = %s\n  want %s, got %u",
				 k->name, i, prop_seed(), sa, sb, tally_vv_order_name(o), order[i]);
		}
	}
	free(dst);
	free(order);
}

static void
check_isa(enum tally_isa isa)
{
	const struct tally_kernels *k = tally_kernels_get(isa);
	struct pairs p;

	if (k == NULL) {
		print_message("kernel table %d: not built for this target or not supported by this CPU\n",
			      (int)isa);
		skip();
	}
	pairs_alloc(&p, EDGE_MAX);
	assert_true(edge_cases(&p) <= EDGE_MAX);
	check_kernels(k, &p, 200 + isa);
	pairs_free(&p);

	pairs_alloc(&p, RANDOM_PAIRS);
	random_cases(&p, RANDOM_PAIRS, 300 + isa);
	check_kernels(k, &p, 400 + isa);
	pairs_free(&p);
}

static void
test_scalar(void **state)
{
	(void)state;
	check_isa(TALLY_ISA_SCALAR);
}

static void
test_avx2(void **state)
{
	(void)state;
	check_isa(TALLY_ISA_AVX2);
}

static void
test_avx512(void **state)
{
	(void)state;
	check_isa(TALLY_ISA_AVX512);
}

static void
test_dispatch(void **state)
{
	const struct tally_kernels *best = tally_kernels_best();

	(void)state;
	assert_non_null(best);
	assert_non_null(best->merge);
	assert_ptr_equal(tally_kernels_get(TALLY_ISA_SCALAR), &tally_kernels_scalar);
	assert_ptr_equal(tally_kernels_by_name("scalar"), &tally_kernels_scalar);
	assert_null(tally_kernels_by_name("sse9"));
	assert_null(tally_kernels_get(TALLY_ISA_COUNT));
	/* best is the highest ISA available */
	for (int i = TALLY_ISA_COUNT - 1; i > (int)best->isa; i--)
		assert_null(tally_kernels_get((enum tally_isa)i));
	print_message("best kernels on this CPU: %s\n", best->name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_scalar),
		cmocka_unit_test(test_avx2),
		cmocka_unit_test(test_avx512),
	};

	prop_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
