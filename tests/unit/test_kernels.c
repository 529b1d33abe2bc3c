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
#include "vecpairs.h"

#define RANDOM_PAIRS (1u << 20)
#define MAX_BATCH 67 /* odd, so batch ends fall everywhere */

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
check_kernels(const struct tally_kernels *k, const struct vecpairs *p, uint64_t salt)
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
	struct vecpairs p;

	if (k == NULL) {
		print_message("kernel table %d: not built for this target or not supported by this CPU\n",
			      (int)isa);
		skip();
	}
	assert_int_equal(vecpairs_alloc(&p, VECPAIRS_EDGE_MAX), 0);
	vecpairs_add_edges(&p, 100);
	check_kernels(k, &p, 200 + isa);
	vecpairs_free(&p);

	assert_int_equal(vecpairs_alloc(&p, RANDOM_PAIRS), 0);
	vecpairs_add_random(&p, 300 + isa);
	check_kernels(k, &p, 400 + isa);
	vecpairs_free(&p);
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
