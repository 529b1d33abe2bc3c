/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * G-Counter, PN-Counter and version-vector laws: merge is commutative,
 * associative, idempotent and inflationary; the value is the exact sum of the
 * slots; compare is the partial order "<= in every slot", consistent with
 * merge as its least upper bound. Random cases come from prop.h and shrink on
 * failure; directed cases cover the error returns.
 */

#include <errno.h>

#include "cmocka_prelude.h"
#include "gcounter.h"
#include "prop.h"
#include "vclock.h"

#define ITERS 200000

/* ---- merge laws, on G-Counters (version vectors merge the same way) ---- */

static bool
commutative(const tally_vec_t *v, void *ctx)
{
	tally_vec_t ab = v[0], ba = v[1];

	(void)ctx;
	tally_gc_merge(&ab, &v[1]);
	tally_gc_merge(&ba, &v[0]);
	return tally_vec_equal(&ab, &ba);
}

static bool
associative(const tally_vec_t *v, void *ctx)
{
	tally_vec_t l = v[0], r = v[1];

	(void)ctx;
	tally_gc_merge(&l, &v[1]); /* (a b) c */
	tally_gc_merge(&l, &v[2]);
	tally_gc_merge(&r, &v[2]); /* a (b c) */
	tally_vec_t a = v[0];
	tally_gc_merge(&a, &r);
	return tally_vec_equal(&l, &a);
}

static bool
idempotent(const tally_vec_t *v, void *ctx)
{
	tally_vec_t a = v[0], ab = v[0];

	(void)ctx;
	tally_gc_merge(&a, &v[0]);
	tally_gc_merge(&ab, &v[1]);
	tally_vec_t abb = ab;
	tally_gc_merge(&abb, &v[1]);
	return tally_vec_equal(&a, &v[0]) && tally_vec_equal(&ab, &abb);
}

/* Every merged slot is at least both inputs and equal to one of them. */
static bool
inflationary(const tally_vec_t *v, void *ctx)
{
	tally_vec_t m = v[0];

	(void)ctx;
	tally_gc_merge(&m, &v[1]);
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		if (m.slot[i] < v[0].slot[i] || m.slot[i] < v[1].slot[i])
			return false;
		if (m.slot[i] != v[0].slot[i] && m.slot[i] != v[1].slot[i])
			return false;
	}
	return true;
}

static bool
value_is_sum(const tally_vec_t *v, void *ctx)
{
	unsigned __int128 sum = 0;
	uint64_t got = 0;

	(void)ctx;
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		sum += v[0].slot[i];
	int rc = tally_gc_value(&v[0], &got);
	if (sum > UINT64_MAX)
		return rc == -EOVERFLOW;
	return rc == 0 && got == (uint64_t)sum;
}

static void
test_merge_laws(void **state)
{
	(void)state;
	PROP("merge commutative", 1, ITERS, 2, commutative, NULL);
	PROP("merge associative", 2, ITERS, 3, associative, NULL);
	PROP("merge idempotent", 3, ITERS, 2, idempotent, NULL);
	PROP("merge inflationary", 4, ITERS, 2, inflationary, NULL);
	PROP("value = sum of slots", 5, ITERS, 1, value_is_sum, NULL);
}

/* ---- version-vector order ---- */

/* The reference formulation: a <= b iff every slot of a is <= b's. */
static bool
le(const tally_vec_t *a, const tally_vec_t *b)
{
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		if (a->slot[i] > b->slot[i])
			return false;
	return true;
}

static tally_vv_order_t
order_by_le(const tally_vec_t *a, const tally_vec_t *b)
{
	bool ab = le(a, b), ba = le(b, a);

	return ab && ba ? TALLY_VV_EQUAL : ab ? TALLY_VV_BEFORE : ba ? TALLY_VV_AFTER
								 : TALLY_VV_CONCURRENT;
}

static bool
compare_is_order(const tally_vec_t *v, void *ctx)
{
	(void)ctx;
	return tally_vv_compare(&v[0], &v[1]) == order_by_le(&v[0], &v[1]) &&
	       tally_vv_dominates(&v[0], &v[1]) == le(&v[1], &v[0]);
}

static bool
compare_mirrors(const tally_vec_t *v, void *ctx)
{
	static const tally_vv_order_t mirror[] = {
		TALLY_VV_EQUAL, TALLY_VV_AFTER, TALLY_VV_BEFORE, TALLY_VV_CONCURRENT,
	};

	(void)ctx;
	return tally_vv_compare(&v[0], &v[0]) == TALLY_VV_EQUAL &&
	       tally_vv_compare(&v[1], &v[0]) == mirror[tally_vv_compare(&v[0], &v[1])];
}

static bool
compare_transitive(const tally_vec_t *v, void *ctx)
{
	(void)ctx;
	if (tally_vv_dominates(&v[1], &v[0]) && tally_vv_dominates(&v[2], &v[1]))
		return tally_vv_dominates(&v[2], &v[0]);
	return true;
}

/* merge(a, b) is the least upper bound of a and b in the compare order. */
static bool
merge_is_lub(const tally_vec_t *v, void *ctx)
{
	tally_vec_t m = v[0];

	(void)ctx;
	tally_vv_merge(&m, &v[1]);
	if (!tally_vv_dominates(&m, &v[0]) || !tally_vv_dominates(&m, &v[1]))
		return false;
	if (tally_vv_dominates(&v[1], &v[0]) != tally_vec_equal(&m, &v[1]))
		return false;
	/* Any upper bound of a and b dominates the merge. */
	if (tally_vv_dominates(&v[2], &v[0]) && tally_vv_dominates(&v[2], &v[1]))
		return tally_vv_dominates(&v[2], &m);
	return true;
}

static void
test_vv_order(void **state)
{
	(void)state;
	PROP("compare = order by <=", 10, ITERS, 2, compare_is_order, NULL);
	PROP("compare reflexive and mirrored", 11, ITERS, 2, compare_mirrors, NULL);
	PROP("compare transitive", 12, ITERS, 3, compare_transitive, NULL);
	PROP("merge is least upper bound", 13, ITERS, 3, merge_is_lub, NULL);
}

/* Generated triples must reach every order, or the laws above prove little. */
static void
test_vv_generator_reaches_every_order(void **state)
{
	unsigned long seen[4] = { 0 };
	struct prng g;
	tally_vec_t v[2];

	(void)state;
	prop_init(&g, 14);
	for (int i = 0; i < 100000; i++) {
		prop_gen_related(&g, v, 2);
		seen[tally_vv_compare(&v[0], &v[1])]++;
	}
	for (int o = 0; o < 4; o++)
		if (seen[o] < 1000)
			fail_msg("order %s generated only %lu times in 100000",
				 tally_vv_order_name((tally_vv_order_t)o), seen[o]);
}

/* For every node count n, ticking the last used node orders the vectors. */
static void
test_vv_every_node_count(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= TALLY_MAX_NODES; n++) {
		tally_vec_t a, b, m;

		tally_vec_zero(&a);
		for (unsigned i = 0; i < n; i++)
			assert_int_equal(tally_vv_tick(&a, i), 0);
		b = a;
		assert_int_equal(tally_vv_compare(&a, &b), TALLY_VV_EQUAL);
		assert_int_equal(tally_vv_tick(&b, n - 1), 0);
		assert_int_equal(tally_vv_compare(&a, &b), TALLY_VV_BEFORE);
		assert_int_equal(tally_vv_compare(&b, &a), TALLY_VV_AFTER);
		if (n > 1) {
			assert_int_equal(tally_vv_tick(&a, 0), 0);
			assert_int_equal(tally_vv_compare(&a, &b), TALLY_VV_CONCURRENT);
			m = a;
			tally_vv_merge(&m, &b);
			assert_int_equal(m.slot[0], 2);
			assert_int_equal(m.slot[n - 1], 2);
		}
	}
}

static void
test_vv_tick_errors(void **state)
{
	tally_vec_t v;

	(void)state;
	tally_vec_zero(&v);
	assert_int_equal(tally_vv_tick(&v, TALLY_MAX_NODES), -EINVAL);
	v.slot[0] = UINT64_MAX;
	assert_int_equal(tally_vv_tick(&v, 0), -EOVERFLOW);
	assert_true(v.slot[0] == UINT64_MAX);
	assert_string_equal(tally_vv_order_name(TALLY_VV_CONCURRENT), "CONCURRENT");
	assert_string_equal(tally_vv_order_name((tally_vv_order_t)7), "INVALID");
}

/* ---- counters: directed cases ---- */

static void
test_gc_incr_errors(void **state)
{
	tally_vec_t c;
	uint64_t v = 7;

	(void)state;
	tally_vec_zero(&c);
	assert_int_equal(tally_gc_incr(&c, TALLY_MAX_NODES, 1), -EINVAL);
	assert_int_equal(tally_gc_incr(&c, 0, UINT64_MAX), 0);
	assert_int_equal(tally_gc_incr(&c, 0, 1), -EOVERFLOW);
	assert_true(c.slot[0] == UINT64_MAX); /* unchanged, never wrapped */
	assert_int_equal(tally_gc_incr(&c, 0, 0), 0);
	assert_int_equal(tally_gc_value(&c, &v), 0);
	assert_true(v == UINT64_MAX);
	if (TALLY_MAX_NODES > 1) {
		v = 7;
		assert_int_equal(tally_gc_incr(&c, TALLY_MAX_NODES - 1, 1), 0);
		assert_int_equal(tally_gc_value(&c, &v), -EOVERFLOW);
		assert_true(v == 7); /* untouched on error */
	}
}

static void
test_pn_value_range(void **state)
{
	tally_pncounter_t c;
	int64_t v = 0;

	(void)state;
	tally_pn_init(&c);
	assert_int_equal(tally_pn_incr(&c, 0, 5), 0);
	assert_int_equal(tally_pn_decr(&c, 0, 7), 0);
	assert_int_equal(tally_pn_value(&c, &v), 0);
	assert_int_equal(v, -2);

	tally_pn_init(&c);
	assert_int_equal(tally_pn_incr(&c, 0, INT64_MAX), 0);
	assert_int_equal(tally_pn_value(&c, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(tally_pn_incr(&c, 0, 1), 0);
	assert_int_equal(tally_pn_value(&c, &v), -ERANGE);

	tally_pn_init(&c);
	assert_int_equal(tally_pn_decr(&c, 0, (uint64_t)INT64_MAX + 1), 0);
	assert_int_equal(tally_pn_value(&c, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(tally_pn_decr(&c, 0, 1), 0);
	assert_int_equal(tally_pn_value(&c, &v), -ERANGE);

	assert_int_equal(tally_pn_decr(&c, TALLY_MAX_NODES, 1), -EINVAL);
}

static void
test_pn_merge_keeps_both_halves(void **state)
{
	tally_pncounter_t a, b;
	int64_t v;

	(void)state;
	if (TALLY_MAX_NODES < 2)
		skip();
	tally_pn_init(&a);
	tally_pn_init(&b);
	assert_int_equal(tally_pn_incr(&a, 0, 10), 0);
	assert_int_equal(tally_pn_decr(&b, 1, 3), 0);
	assert_int_equal(tally_pn_incr(&b, 1, 1), 0);
	tally_pn_merge(&a, &b);
	tally_pn_merge(&b, &a);
	assert_int_equal(tally_pn_value(&a, &v), 0);
	assert_int_equal(v, 8);
	assert_true(tally_vec_equal(&a.p, &b.p) && tally_vec_equal(&a.n, &b.n));
	tally_pn_merge(&a, &a);
	assert_int_equal(tally_pn_value(&a, &v), 0);
	assert_int_equal(v, 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_laws),
		cmocka_unit_test(test_vv_order),
		cmocka_unit_test(test_vv_generator_reaches_every_order),
		cmocka_unit_test(test_vv_every_node_count),
		cmocka_unit_test(test_vv_tick_errors),
		cmocka_unit_test(test_gc_incr_errors),
		cmocka_unit_test(test_pn_value_range),
		cmocka_unit_test(test_pn_merge_keeps_both_halves),
	};

	prop_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
