/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * MV-register, directed cases: the ConfigMap conflict (two nodes write
 * concurrently; both values survive as siblings until a write that saw both
 * resolves them), concurrent blind writes through one node, merge laws on
 * states with siblings, and the error returns. test_model.c checks random
 * programs against a model.
 */

#include <errno.h>
#include <string.h>

#include "cmocka_prelude.h"
#include "mvreg.h"

static void
put(tally_mvreg_t *r, unsigned node, const tally_vec_t *seen, const char *s)
{
	assert_int_equal(tally_mvreg_write(r, node, seen, s, strlen(s)), 0);
}

/* True when @r's siblings are exactly the strings in @want (in dot order). */
static void
assert_values(const tally_mvreg_t *r, const char *const *want, size_t n)
{
	size_t count;
	const struct tally_mvreg_sibling *s = tally_mvreg_read(r, &count, NULL);

	assert_int_equal(count, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s[i].len, strlen(want[i]));
		assert_memory_equal(s[i].value, want[i], s[i].len);
	}
}

static void
test_configmap_conflict(void **state)
{
	tally_mvreg_t a, b;
	tally_vec_t none, ctx;

	(void)state;
	if (TALLY_MAX_NODES < 2)
		skip();
	tally_vec_zero(&none);
	tally_mvreg_init(&a);
	tally_mvreg_init(&b);

	/* Both replicas start from the same value. */
	put(&a, 0, &none, "v0");
	assert_int_equal(tally_mvreg_merge(&b, &a), 0);
	tally_mvreg_read(&a, &(size_t){ 0 }, &ctx);

	/* Concurrently, each node overwrites the value it read. */
	put(&a, 0, &ctx, "value-from-A");
	put(&b, 1, &ctx, "value-from-B");
	assert_values(&a, (const char *[]){ "value-from-A" }, 1);

	/* After exchanging state both values are siblings, on both replicas. */
	assert_int_equal(tally_mvreg_merge(&a, &b), 0);
	assert_int_equal(tally_mvreg_merge(&b, &a), 0);
	assert_values(&a, (const char *[]){ "value-from-A", "value-from-B" }, 2);
	assert_true(tally_mvreg_equal(&a, &b));

	/* A write that read both siblings resolves them. */
	tally_mvreg_read(&b, &(size_t){ 0 }, &ctx);
	put(&b, 1, &ctx, "merged");
	assert_int_equal(tally_mvreg_merge(&a, &b), 0);
	assert_values(&a, (const char *[]){ "merged" }, 1);
	assert_true(tally_mvreg_equal(&a, &b));

	tally_mvreg_fini(&a);
	tally_mvreg_fini(&b);
}

/* Two clients write blind through one node: a per-sibling version vector
 * would order them and drop the first; dots keep both. */
static void
test_same_node_concurrent_writes(void **state)
{
	tally_mvreg_t r;
	tally_vec_t none, ctx;

	(void)state;
	tally_vec_zero(&none);
	tally_mvreg_init(&r);
	put(&r, 0, &none, "x");
	put(&r, 0, &none, "y");
	assert_values(&r, (const char *[]){ "x", "y" }, 2);

	/* A write with a stale context (saw only "x") replaces only "x". */
	tally_vec_zero(&ctx);
	ctx.slot[0] = 1;
	put(&r, 0, &ctx, "z");
	assert_values(&r, (const char *[]){ "y", "z" }, 2);
	tally_mvreg_fini(&r);
}

/* A context read from another replica covers dots this replica never held:
 * merging the replica that holds them must not resurrect them. */
static void
test_remote_context_supersedes(void **state)
{
	tally_mvreg_t a, b;
	tally_vec_t none, ctx;

	(void)state;
	if (TALLY_MAX_NODES < 2)
		skip();
	tally_vec_zero(&none);
	tally_mvreg_init(&a);
	tally_mvreg_init(&b);
	put(&a, 0, &none, "old");
	tally_mvreg_read(&a, &(size_t){ 0 }, &ctx);
	put(&b, 1, &ctx, "new"); /* b never held "old" */
	assert_int_equal(tally_mvreg_merge(&b, &a), 0);
	assert_values(&b, (const char *[]){ "new" }, 1);
	assert_int_equal(tally_mvreg_merge(&a, &b), 0);
	assert_true(tally_mvreg_equal(&a, &b));
	tally_mvreg_fini(&a);
	tally_mvreg_fini(&b);
}

static void
test_merge_laws_with_siblings(void **state)
{
	tally_mvreg_t r[3], x, y;
	tally_vec_t none;

	(void)state;
	if (TALLY_MAX_NODES < 3)
		skip();
	tally_vec_zero(&none);
	for (unsigned i = 0; i < 3; i++) {
		tally_mvreg_init(&r[i]);
		put(&r[i], i, &none, i == 0 ? "a" : i == 1 ? "b" : "c");
	}
	put(&r[0], 0, &none, "a2");
	tally_mvreg_init(&x);
	tally_mvreg_init(&y);

	/* commutative */
	assert_int_equal(tally_mvreg_copy(&x, &r[0]), 0);
	assert_int_equal(tally_mvreg_merge(&x, &r[1]), 0);
	assert_int_equal(tally_mvreg_copy(&y, &r[1]), 0);
	assert_int_equal(tally_mvreg_merge(&y, &r[0]), 0);
	assert_true(tally_mvreg_equal(&x, &y));
	/* associative: (r0 r1) r2 = r0 (r1 r2) */
	assert_int_equal(tally_mvreg_merge(&x, &r[2]), 0);
	assert_int_equal(tally_mvreg_copy(&y, &r[1]), 0);
	assert_int_equal(tally_mvreg_merge(&y, &r[2]), 0);
	tally_mvreg_t z;
	tally_mvreg_init(&z);
	assert_int_equal(tally_mvreg_copy(&z, &r[0]), 0);
	assert_int_equal(tally_mvreg_merge(&z, &y), 0);
	assert_true(tally_mvreg_equal(&x, &z));
	assert_values(&x, (const char *[]){ "a", "a2", "b", "c" }, 4);
	/* idempotent */
	assert_int_equal(tally_mvreg_merge(&z, &x), 0);
	assert_int_equal(tally_mvreg_merge(&z, &z), 0);
	assert_true(tally_mvreg_equal(&x, &z));

	for (unsigned i = 0; i < 3; i++)
		tally_mvreg_fini(&r[i]);
	tally_mvreg_fini(&x);
	tally_mvreg_fini(&y);
	tally_mvreg_fini(&z);
}

static void
test_write_errors(void **state)
{
	tally_mvreg_t r, before;
	tally_vec_t none;
	char big[TALLY_MVREG_VALUE_MAX + 1] = { 0 };

	(void)state;
	tally_vec_zero(&none);
	tally_mvreg_init(&r);
	tally_mvreg_init(&before);
	assert_int_equal(tally_mvreg_write(&r, TALLY_MAX_NODES, &none, "x", 1), -EINVAL);
	assert_int_equal(tally_mvreg_write(&r, 0, &none, big, sizeof(big)), -EINVAL);
	assert_int_equal(tally_mvreg_write(&r, 0, &none, big, TALLY_MVREG_VALUE_MAX), 0);
	assert_int_equal(tally_mvreg_write(&r, 0, &none, NULL, 0), 0); /* empty value */

	/* Blind writes pile up siblings to the bound, then are refused. */
	for (unsigned i = 2; i < TALLY_MVREG_MAX_SIBLINGS; i++)
		assert_int_equal(tally_mvreg_write(&r, 0, &none, "s", 1), 0);
	assert_int_equal(r.count, TALLY_MVREG_MAX_SIBLINGS);
	assert_int_equal(tally_mvreg_copy(&before, &r), 0);
	assert_int_equal(tally_mvreg_write(&r, 0, &none, "s", 1), -ENOSPC);
	assert_true(tally_mvreg_equal(&r, &before)); /* unchanged */

	/* A write that saw them all resolves the pile. */
	tally_vec_t ctx;
	tally_mvreg_read(&r, &(size_t){ 0 }, &ctx);
	put(&r, 0, &ctx, "one");
	assert_values(&r, (const char *[]){ "one" }, 1);

	/* The node's counter never wraps. */
	tally_mvreg_fini(&r);
	tally_mvreg_init(&r);
	none.slot[0] = UINT64_MAX;
	assert_int_equal(tally_mvreg_write(&r, 0, &none, "x", 1), -EOVERFLOW);
	assert_int_equal(r.count, 0);

	tally_mvreg_fini(&r);
	tally_mvreg_fini(&before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_configmap_conflict),
		cmocka_unit_test(test_same_node_concurrent_writes),
		cmocka_unit_test(test_remote_context_supersedes),
		cmocka_unit_test(test_merge_laws_with_siblings),
		cmocka_unit_test(test_write_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
