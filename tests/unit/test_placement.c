/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Placement (host/placement.c): every partition's walk is a permutation of
 * the members whose first N are distinct; two builds agree; partitions and
 * replicas spread evenly over the members; keys spread evenly over the
 * partitions; removing a member leaves every other member's order in every
 * walk unchanged (only what it held moves); bad arguments are refused.
 */

#include <errno.h>
#include <string.h>

#include "cmocka_prelude.h"
#include "placement.h"
#include "prop.h"
#include "wire.h"

static struct tally_placement *
make(uint32_t p, unsigned n, const bool *member)
{
	int err = 1;
	struct tally_placement *pl = tally_placement_create(p, n, member, &err);

	assert_non_null(pl);
	assert_int_equal(err, 0);
	return pl;
}

static void
test_walks_are_permutations(void **state)
{
	bool member[TALLY_MAX_NODES] = { true, false, true, true, true, false, true, true };
	struct tally_placement *a = make(256, 3, member), *b = make(256, 3, member);

	(void)state;
	for (uint32_t p = 0; p < 256; p++) {
		unsigned ca, cb;
		const uint8_t *wa = tally_placement_nodes(a, p, &ca), *wb = tally_placement_nodes(b, p, &cb);
		bool seen[TALLY_MAX_NODES] = { false };

		assert_int_equal(ca, 6);
		assert_int_equal(cb, 6);
		assert_memory_equal(wa, wb, ca); /* deterministic */
		for (unsigned i = 0; i < ca; i++) {
			assert_true(wa[i] < TALLY_MAX_NODES && member[wa[i]]);
			assert_false(seen[wa[i]]);
			seen[wa[i]] = true;
		}
	}
	tally_placement_free(a);
	tally_placement_free(b);
}

static void
test_balance(void **state)
{
	bool member[TALLY_MAX_NODES];
	unsigned primary[TALLY_MAX_NODES] = { 0 }, replica[TALLY_MAX_NODES] = { 0 };
	const uint32_t P = 1024;
	const unsigned N = 3;

	(void)state;
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		member[i] = true;
	struct tally_placement *pl = make(P, N, member);
	for (uint32_t p = 0; p < P; p++) {
		unsigned c;
		const uint8_t *w = tally_placement_nodes(pl, p, &c);
		primary[w[0]]++;
		for (unsigned i = 0; i < N; i++)
			replica[w[i]]++;
	}
	/* 64 tokens a member: each holds its share within a factor of 1.5 */
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		print_message("node %u: primary of %u partitions, replica of %u (even: %u, %u)\n", i, primary[i],
			      replica[i], P / TALLY_MAX_NODES, P * N / TALLY_MAX_NODES);
		assert_in_range(primary[i], P / TALLY_MAX_NODES * 2 / 3, P / TALLY_MAX_NODES * 3 / 2);
		assert_in_range(replica[i], P * N / TALLY_MAX_NODES * 2 / 3, P * N / TALLY_MAX_NODES * 3 / 2);
	}

	/* keys over partitions: 256 keys a partition on average */
	static unsigned per[1024];
	struct prng g;
	prop_init(&g, 1);
	for (unsigned k = 0; k < 256 * P; k++) {
		uint8_t key[16];
		for (unsigned i = 0; i < 16; i += 8) {
			uint64_t x = prng_next(&g);
			memcpy(key + i, &x, 8);
		}
		uint32_t p = tally_placement_partition(pl, key);
		assert_true(p < P);
		per[p]++;
	}
	for (uint32_t p = 0; p < P; p++)
		assert_in_range(per[p], 256 / 2, 256 * 3 / 2);
	tally_placement_free(pl);
}

static void
test_removal_moves_only_its_partitions(void **state)
{
	bool all[TALLY_MAX_NODES], less[TALLY_MAX_NODES];

	(void)state;
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		all[i] = true;
	for (unsigned gone = 0; gone < TALLY_MAX_NODES; gone++) {
		memcpy(less, all, sizeof(less));
		less[gone] = false;
		struct tally_placement *a = make(512, 3, all), *b = make(512, 3, less);
		unsigned moved = 0;
		for (uint32_t p = 0; p < 512; p++) {
			unsigned ca, cb, j = 0;
			const uint8_t *wa = tally_placement_nodes(a, p, &ca), *wb = tally_placement_nodes(b, p, &cb);
			bool held = false;
			assert_int_equal(cb, ca - 1);
			for (unsigned i = 0; i < ca; i++) {
				if (wa[i] == gone) {
					held |= i < 3;
					continue;
				}
				assert_int_equal(wb[j], wa[i]); /* the others keep their order */
				j++;
			}
			/* a partition whose preference list did not hold it keeps its list */
			if (!held)
				assert_memory_equal(wa, wb, 3);
			moved += held;
		}
		assert_true(moved > 0 && moved < 512 * 3 / TALLY_MAX_NODES * 3 / 2);
		tally_placement_free(a);
		tally_placement_free(b);
	}
}

static void
test_the_key_decides(void **state)
{
	bool member[TALLY_MAX_NODES] = { true, true, true };
	struct tally_placement *pl = make(256, 3, member);
	uint8_t k1[16], k2[16];

	(void)state;
	tally_wire_key_id("likes:post:42", 13, k1);
	tally_wire_key_id("likes:post:42", 13, k2);
	assert_int_equal(tally_placement_partition(pl, k1), tally_placement_partition(pl, k2));
	assert_int_equal(tally_placement_n(pl), 3);
	assert_int_equal(tally_placement_partitions(pl), 256);
	tally_placement_free(pl);
}

static void
test_errors(void **state)
{
	bool two[TALLY_MAX_NODES] = { true, true };
	int err = 0;

	(void)state;
	assert_null(tally_placement_create(256, 3, two, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(tally_placement_create(0, 1, two, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(tally_placement_create(65537, 1, two, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(tally_placement_create(16, 0, two, &err));
	assert_int_equal(err, -EINVAL);
	struct tally_placement *pl = tally_placement_create(1, 2, two, &err); /* one partition works */
	assert_non_null(pl);
	tally_placement_free(pl);
	tally_placement_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walks_are_permutations),
		cmocka_unit_test(test_balance),
		cmocka_unit_test(test_removal_moves_only_its_partitions),
		cmocka_unit_test(test_the_key_decides),
		cmocka_unit_test(test_errors),
	};

	prop_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
