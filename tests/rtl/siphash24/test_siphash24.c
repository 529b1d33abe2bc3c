/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Differential test of rtl/siphash24.sv against libsodium's
 * crypto_shorthash_siphashx24 (SipHash-2-4-128), the MAC the host puts on
 * every frame (docs/wire.md), through the Verilator harness beside it.
 *
 * Every length 0..256 and 10,000 random lengths up to 9000 bytes, with
 * random keys and bytes; the SipHash paper's key 00 01 .. 0f and the all-zero
 * key over the message 00 01 02 ..., with the paper's known answers; random
 * input bubbles (none, random, bursty), random idle gaps before start in
 * which s_valid, s_word, s_last and key carry garbage, and restarts in the
 * middle of a message. Every run checks the exact cycle count documented in
 * the RTL: m_valid first high in clock 2W + 9 + (clocks with s_ready high and
 * s_valid low), start's clock being clock 0, for W = len/8 + 1 words; and
 * between messages, that m_valid and m_hash hold and s_ready stays low.
 *
 * The first mismatch stops the test and prints the seed, case, key, length,
 * both MACs and the shortest prefix of the same message that also fails.
 *
 *   test_siphash24 [--fst FILE]      (TALLY_TEST_SEED=<seed> to reproduce)
 */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cmocka_prelude.h"
#include "prop.h"
#include "siphash24_sim.h"

#define MAX_LEN 9000
#define FIN_CLOCKS 9 /* start's clock, and 8 finalization rounds */

static const char *opt_fst;
static sip_sim_t *sim;

/* What the outputs must show between messages. */
static enum { PREV_RESET, PREV_DONE, PREV_UNKNOWN } prev = PREV_RESET;
static uint8_t prev_mac[16];

/* Input pattern: valid every clock, at random, or in bursts. */
enum pattern { ALWAYS, RANDOM, BURSTY, PATTERNS };

struct gate {
	enum pattern p;
	bool state;
	unsigned left;
};

static bool
gate_next(struct gate *g, struct prng *r)
{
	switch (g->p) {
	case ALWAYS:
		return true;
	case RANDOM:
		return prng_below(r, 2);
	default:
		if (g->left == 0) {
			g->state = !g->state;
			g->left = 1 + (unsigned)prng_below(r, 16);
		}
		g->left--;
		return g->state;
	}
}

/* Word i of the message as the caller pads it: the last carries len & 0xff in byte 7. */
static uint64_t
msg_word(const uint8_t *msg, size_t len, size_t i)
{
	uint64_t w = 0;

	for (unsigned j = 0; j < 8; j++)
		if (8 * i + j < len)
			w |= (uint64_t)msg[8 * i + j] << (8 * j);
	if (i == len / 8)
		w |= (uint64_t)(len & 0xff) << 56;
	return w;
}

/* Garbage on every input that must be ignored this clock. */
static void
poison(struct prng *g, struct sip_sim_in *in)
{
	uint64_t k0 = prng_next(g), k1 = prng_next(g);

	memcpy(in->key, &k0, 8);
	memcpy(in->key + 8, &k1, 8);
	in->word = prng_next(g);
	in->last = prng_below(g, 2);
	in->valid = false;
	in->start = false;
}

static void
hex(char *buf, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02x", p[i]);
}

/*
 * Hash @p msg on the RTL after @p gap idle clocks, offering words by @p pat.
 * On success the MAC is in @p mac, the clock in which m_valid rose (start's
 * clock being 0) in @p clocks, and 0 is returned; a protocol or timing fault
 * (m_valid in any other clock than 2W + 9 + idle included) returns -1 with a
 * description in @p why.
 */
static int
rtl_mac(struct prng *g, const uint8_t key[16], const uint8_t *msg, size_t len,
	enum pattern pat, unsigned gap, uint8_t mac[16], unsigned long *clocks,
	char *why, size_t whylen)
{
	struct sip_sim_in in;
	struct sip_sim_out out;
	struct gate gt = { pat, false, 0 };
	size_t words = len / 8 + 1, i = 0;
	unsigned long idle = 0;

	for (unsigned c = 0; c < gap; c++) {
		poison(g, &in);
		in.valid = prng_below(g, 2); /* s_ready is low: must not be taken */
		sip_sim_clock(sim, &in, &out);
		if (prev != PREV_UNKNOWN && out.ready) {
			snprintf(why, whylen, "s_ready high before start (gap clock %u)", c);
			return -1;
		}
		if (prev == PREV_RESET && out.m_valid) {
			snprintf(why, whylen, "m_valid high after reset, before any start");
			return -1;
		}
		if (prev == PREV_DONE && (!out.m_valid || memcmp(out.hash, prev_mac, 16) != 0)) {
			snprintf(why, whylen, "m_valid/m_hash did not hold until start (gap clock %u)", c);
			return -1;
		}
	}

	poison(g, &in);
	memcpy(in.key, key, 16);
	in.start = true; /* s_valid low in start's clock, as the RTL requires */
	sip_sim_clock(sim, &in, &out);
	in.start = false;

	for (unsigned long c = 1;; c++) {
		unsigned long want = 2 * words + FIN_CLOCKS + idle;
		bool offer = gate_next(&gt, g);

		poison(g, &in);
		if (offer && i < words) {
			in.valid = true;
			in.word = msg_word(msg, len, i);
			in.last = i + 1 == words;
		}
		sip_sim_clock(sim, &in, &out);
		if (out.m_valid) {
			if (c != want || i != words) {
				snprintf(why, whylen,
					 "m_valid in clock %lu after %zu of %zu words; want clock %lu "
					 "(2W + %d + %lu idle)", c, i, words, want, FIN_CLOCKS, idle);
				return -1;
			}
			memcpy(mac, out.hash, 16);
			*clocks = c;
			memcpy(prev_mac, out.hash, 16);
			prev = PREV_DONE;
			return 0;
		}
		if (out.ready && i == words) {
			snprintf(why, whylen, "s_ready high in clock %lu after the last word", c);
			return -1;
		}
		if (c >= want) {
			snprintf(why, whylen, "no m_valid by clock %lu (%zu of %zu words taken)",
				 c, i, words);
			return -1;
		}
		if (in.valid && out.ready)
			i++;
		else if (out.ready)
			idle++;
	}
}

/* True when the RTL's MAC of @p msg equals libsodium's; fills both. */
static bool
agrees(struct prng *g, const uint8_t key[16], const uint8_t *msg, size_t len,
       enum pattern pat, unsigned gap, uint8_t rtl[16], uint8_t ref[16], char *why, size_t whylen)
{
	unsigned long clocks;

	crypto_shorthash_siphashx24(ref, msg, len, key);
	if (rtl_mac(g, key, msg, len, pat, gap, rtl, &clocks, why, whylen) != 0) {
		memset(rtl, 0, 16);
		prev = PREV_UNKNOWN;
		sip_sim_reset(sim);
		prev = PREV_RESET;
		return false;
	}
	snprintf(why, whylen, "MACs differ");
	return memcmp(rtl, ref, 16) == 0;
}

/* Fail with everything needed to reproduce, and the shortest failing prefix. */
static void
report(const char *test, unsigned long cs, const uint8_t key[16], const uint8_t *msg,
       size_t len, enum pattern pat, unsigned gap, const uint8_t rtl[16], const uint8_t ref[16],
       const char *why)
{
	static const char *const pname[] = { "always", "random", "bursty" };
	char k[33], r[33], s[33], w[256], pre[512] = "";
	uint8_t r2[16], s2[16];
	struct prng g;

	hex(k, key, 16);
	hex(r, rtl, 16);
	hex(s, ref, 16);
	prng_seed(&g, 1);
	for (size_t l = 0; l < len; l++) {
		if (!agrees(&g, key, msg, l, ALWAYS, 0, r2, s2, w, sizeof(w))) {
			char h[33], hs[33];

			hex(h, r2, 16);
			hex(hs, s2, 16);
			snprintf(pre, sizeof(pre),
				 "\n  shortest failing prefix (no bubbles): len %zu: rtl %s sodium %s (%s)",
				 l, h, hs, w);
			break;
		}
	}
	fail_msg("%s: seed %" PRIu64 ", case %lu: %s\n  key %s len %zu bubbles %s gap %u\n"
		 "  rtl    %s\n  sodium %s%s",
		 test, prop_seed(), cs, why, k, len, pname[pat], gap, r, s, pre);
}

static void
random_key(struct prng *g, uint8_t key[16])
{
	for (unsigned i = 0; i < 16; i++)
		key[i] = (uint8_t)prng_next(g);
}

static void
random_bytes(struct prng *g, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)prng_next(g);
}

/* One random case: random bubbles and gap; fails the test on a mismatch. */
static void
check_one(const char *test, struct prng *g, unsigned long cs, const uint8_t key[16],
	  const uint8_t *msg, size_t len)
{
	enum pattern pat = (enum pattern)prng_below(g, PATTERNS);
	unsigned gap = prng_below(g, 4) ? 0 : (unsigned)prng_below(g, 6);
	uint8_t rtl[16], ref[16];
	char why[256];

	if (!agrees(g, key, msg, len, pat, gap, rtl, ref, why, sizeof(why)))
		report(test, cs, key, msg, len, pat, gap, rtl, ref, why);
}

static void
test_every_length(void **state)
{
	static uint8_t msg[256];
	uint8_t key[16];
	struct prng g;

	(void)state;
	prop_init(&g, 1);
	for (size_t len = 0; len <= 256; len++) {
		random_key(&g, key);
		random_bytes(&g, msg, len);
		check_one("every_length", &g, len, key, msg, len);
	}
}

static void
test_random_frames(void **state)
{
	static uint8_t msg[MAX_LEN];
	uint8_t key[16];
	struct prng g;

	(void)state;
	prop_init(&g, 2);
	for (unsigned long cs = 0; cs < 10000; cs++) {
		size_t len = prng_below(&g, MAX_LEN + 1);

		random_key(&g, key);
		random_bytes(&g, msg, len);
		check_one("random_frames", &g, cs, key, msg, len);
	}
}

/* Paper key 00..0f and the zero key over 00 01 02 ...; the paper's answers. */
static void
test_known_keys(void **state)
{
	/* SipHash-2-4-128 reference vectors (veorq/SipHash vectors_sip128), lengths 0..2 */
	static const uint8_t kat[3][16] = {
		{ 0xa3, 0x81, 0x7f, 0x04, 0xba, 0x25, 0xa8, 0xe6,
		  0x6d, 0xf6, 0x72, 0x14, 0xc7, 0x55, 0x02, 0x93 },
		{ 0xda, 0x87, 0xc1, 0xd8, 0x6b, 0x99, 0xaf, 0x44,
		  0x34, 0x76, 0x59, 0x11, 0x9b, 0x22, 0xfc, 0x45 },
		{ 0x81, 0x77, 0x22, 0x8d, 0xa4, 0xa4, 0x5d, 0xc7,
		  0xfc, 0xa3, 0x8b, 0xde, 0xf6, 0x0a, 0xff, 0xe4 },
	};
	uint8_t keys[2][16], msg[1024], rtl[16], ref[16];
	char why[256];
	struct prng g;

	(void)state;
	prop_init(&g, 3);
	for (unsigned i = 0; i < 16; i++) {
		keys[0][i] = (uint8_t)i;
		keys[1][i] = 0;
	}
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (unsigned k = 0; k < 2; k++) {
		for (size_t len = 0; len <= sizeof(msg); len++) {
			enum pattern pat = (enum pattern)(len % PATTERNS);

			if (!agrees(&g, keys[k], msg, len, pat, 0, rtl, ref, why, sizeof(why)))
				report("known_keys", k, keys[k], msg, len, pat, 0, rtl, ref, why);
			if (k == 0 && len < 3) {
				assert_memory_equal(ref, kat[len], 16); /* libsodium itself */
				assert_memory_equal(rtl, kat[len], 16);
			}
		}
	}
}

/* The documented latency without bubbles: clock 2W + 9, W = len/8 + 1. */
static void
test_cycle_count(void **state)
{
	uint8_t key[16] = { 0 }, msg[1500] = { 0 }, mac[16];
	unsigned long clocks;
	char why[256];
	struct prng g;

	(void)state;
	prop_init(&g, 4);
	for (size_t len = 0; len <= sizeof(msg); len += len < 64 ? 1 : 97) {
		if (rtl_mac(&g, key, msg, len, ALWAYS, 0, mac, &clocks, why, sizeof(why)) != 0)
			fail_msg("seed %" PRIu64 ", len %zu: %s", prop_seed(), len, why);
		assert_int_equal(clocks, 2 * (len / 8 + 1) + 9);
	}
	/* the figure in the RTL's header: a 1500-byte frame, m_valid in clock 385 */
	if (rtl_mac(&g, key, msg, 1500, ALWAYS, 0, mac, &clocks, why, sizeof(why)) != 0)
		fail_msg("seed %" PRIu64 ", len 1500: %s", prop_seed(), why);
	assert_int_equal(clocks, 385);
}

/* start in any clock abandons the message in progress, finalization included. */
static void
test_restart(void **state)
{
	static uint8_t msg[512];
	uint8_t key[16];
	struct prng g;

	(void)state;
	prop_init(&g, 5);
	for (unsigned long cs = 0; cs < 2000; cs++) {
		struct sip_sim_in in;
		struct sip_sim_out out;
		unsigned clocks = (unsigned)prng_below(&g, 40);

		/* a start, then random traffic (last words included) cut off at random */
		poison(&g, &in);
		in.start = true;
		sip_sim_clock(sim, &in, &out);
		for (unsigned c = 0; c < clocks; c++) {
			poison(&g, &in);
			in.valid = prng_below(&g, 2);
			in.last = prng_below(&g, 4) == 0;
			sip_sim_clock(sim, &in, &out);
		}
		prev = PREV_UNKNOWN;
		size_t len = prng_below(&g, sizeof(msg) + 1);
		random_key(&g, key);
		random_bytes(&g, msg, len);
		check_one("restart", &g, cs, key, msg, len);
	}
}

static int
setup(void **state)
{
	int err;

	(void)state;
	sim = sip_sim_create(opt_fst, &err);
	prev = PREV_RESET;
	return sim == NULL ? err : 0;
}

static int
teardown(void **state)
{
	(void)state;
	sip_sim_free(sim);
	sim = NULL;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fst", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cycle_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_frames, setup, teardown),
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c != 'f') {
			fprintf(stderr, "usage: %s [--fst FILE]\n", argv[0]);
			return 2;
		}
		opt_fst = optarg;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "sodium_init failed\n");
		return 1;
	}
	prop_seed(); /* print it before anything can fail */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
