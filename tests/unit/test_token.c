/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Session tokens (host/token.c): a token reads back exactly; every single
 * bit flipped, every truncation, another cluster's key, a token too old or
 * from the future is refused with its reason, never accepted.
 */

#include <string.h>

#include "cmocka_prelude.h"
#include "token.h"

static uint8_t key[32], other[32];

static struct tally_token
sample(void)
{
	struct tally_token t = { .issued = 1800000000u };

	for (unsigned i = 0; i < 16; i++)
		t.key[i] = (uint8_t)(3 * i + 1);
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		t.s.p.slot[i] = UINT64_C(0x0102030405060708) * (i + 1);
		t.s.n.slot[i] = i * 1000;
	}
	return t;
}

static void
test_round_trip_and_tamper(void **state)
{
	uint8_t cluster[32] = { 1, 2, 3 }, cluster2[32] = { 1, 2, 4 }, buf[TALLY_TOKEN_LEN];
	struct tally_token t = sample(), out;

	(void)state;
	assert_int_equal(TALLY_TOKEN_LEN, 56 + 16 * TALLY_MAX_NODES);
	assert_true(TALLY_TOKEN_LEN <= 192);
	assert_int_equal(tally_token_key(key, cluster), 0);
	assert_int_equal(tally_token_key(other, cluster2), 0);
	tally_token_encode(&t, key, buf);
	assert_int_equal(tally_token_decode(buf, sizeof(buf), key, t.issued, 3600, &out), TALLY_TOKEN_OK);
	assert_int_equal(out.issued, t.issued);
	assert_memory_equal(out.key, t.key, 16);
	assert_memory_equal(&out.s, &t.s, sizeof(t.s));

	for (unsigned bit = 0; bit < 8 * sizeof(buf); bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = tally_token_decode(buf, sizeof(buf), key, t.issued, 3600, &out);
		if (rc != TALLY_TOKEN_FORGED)
			fail_msg("bit %u flipped: %s, want forged", bit, tally_token_error_name(rc));
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t len = 0; len < sizeof(buf); len++)
		assert_int_equal(tally_token_decode(buf, len, key, t.issued, 3600, &out), TALLY_TOKEN_TRUNCATED);
	assert_int_equal(tally_token_decode(buf, sizeof(buf), other, t.issued, 3600, &out), TALLY_TOKEN_FORGED);
	assert_string_equal(tally_token_error_name(TALLY_TOKEN_FORGED), "forged");
}

static void
test_expiry(void **state)
{
	uint8_t buf[TALLY_TOKEN_LEN];
	struct tally_token t = sample(), out;

	(void)state;
	tally_token_encode(&t, key, buf);
	/* within the lifetime, and the 60 s of skew either way */
	assert_int_equal(tally_token_decode(buf, sizeof(buf), key, t.issued + 3600 + 60, 3600, &out), TALLY_TOKEN_OK);
	assert_int_equal(tally_token_decode(buf, sizeof(buf), key, t.issued - 60, 3600, &out), TALLY_TOKEN_OK);
	/* beyond it */
	assert_int_equal(tally_token_decode(buf, sizeof(buf), key, t.issued + 3600 + 61, 3600, &out),
			 TALLY_TOKEN_EXPIRED);
	assert_int_equal(tally_token_decode(buf, sizeof(buf), key, t.issued - 61, 3600, &out), TALLY_TOKEN_EXPIRED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_tamper),
		cmocka_unit_test(test_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
