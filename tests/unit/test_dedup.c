/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The dedup window: directed cases for each verdict and for the window
 * sliding across word boundaries, and a differential test against a naive
 * model that stores every applied sequence of every client and an explicit
 * recency list, over random operations that force evictions and hash
 * collisions.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmocka_prelude.h"
#include "dedup.h"
#include "prop.h"

static tally_dedup_t *
make(uint32_t window, uint32_t clients)
{
	struct tally_dedup_config cfg = { .window = window, .clients = clients };
	int err = 0;
	tally_dedup_t *d = tally_dedup_create(&cfg, &err);

	assert_non_null(d);
	return d;
}

#define OP(c, s) ((tally_opid_t){ .client = (c), .seq = (s) })

static void
test_verdicts(void **state)
{
	tally_dedup_t *d = make(128, 16);

	(void)state;
	assert_int_equal(tally_dedup_check(d, OP(7, 0)), -EINVAL);
	assert_int_equal(tally_dedup_record(d, OP(7, 0)), -EINVAL);
	assert_int_equal(tally_dedup_check(d, OP(7, 1)), TALLY_DEDUP_NEW);
	assert_int_equal(tally_dedup_check(d, OP(7, 128)), TALLY_DEDUP_NEW);
	/* Nothing was ever evicted: an unknown client was never applied here. */
	assert_int_equal(tally_dedup_check(d, OP(7, 129)), TALLY_DEDUP_NEW);
	assert_false(tally_dedup_has_evicted(d));

	assert_int_equal(tally_dedup_record(d, OP(7, 3)), 0); /* out of order is fine */
	assert_int_equal(tally_dedup_check(d, OP(7, 3)), TALLY_DEDUP_DUPLICATE);
	assert_int_equal(tally_dedup_record(d, OP(7, 3)), -EALREADY);
	assert_int_equal(tally_dedup_check(d, OP(7, 1)), TALLY_DEDUP_NEW);
	assert_int_equal(tally_dedup_record(d, OP(7, 1)), 0);
	assert_int_equal(tally_dedup_check(d, OP(7, 2)), TALLY_DEDUP_NEW);
	assert_int_equal(tally_dedup_check(d, OP(7, 1000)), TALLY_DEDUP_NEW); /* known client: any higher seq */
	assert_int_equal(tally_dedup_check(d, OP(8, 3)), TALLY_DEDUP_NEW);   /* other client */
	assert_string_equal(tally_dedup_verdict_name(TALLY_DEDUP_TOO_OLD), "too old");
	tally_dedup_free(d);
}

/* Advance the window by 1, 63, 64, 65, W-1, W and W+1 and check what stays. */
static void
test_window_slides(void **state)
{
	static const uint64_t steps[] = { 1, 63, 64, 65, 255, 256, 257 };

	(void)state;
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		tally_dedup_t *d = make(256, 4);
		uint64_t base = 100, top = base + steps[s];

		assert_int_equal(tally_dedup_record(d, OP(1, 1)), 0);
		assert_int_equal(tally_dedup_record(d, OP(1, base)), 0);
		assert_int_equal(tally_dedup_record(d, OP(1, base - 37)), 0);
		assert_int_equal(tally_dedup_record(d, OP(1, top)), 0);
		assert_int_equal(tally_dedup_check(d, OP(1, top)), TALLY_DEDUP_DUPLICATE);
		for (uint64_t seq = 1; seq < top; seq++) {
			int want;

			if (top - seq >= 256)
				want = TALLY_DEDUP_TOO_OLD;
			else if (seq == 1 || seq == base || seq == base - 37)
				want = TALLY_DEDUP_DUPLICATE;
			else
				want = TALLY_DEDUP_NEW;
			if (tally_dedup_check(d, OP(1, seq)) != want)
				fail_msg("step %" PRIu64 ": seq %" PRIu64 " is %s, want %s", steps[s], seq,
					 tally_dedup_verdict_name(tally_dedup_check(d, OP(1, seq))),
					 tally_dedup_verdict_name(want));
		}
		tally_dedup_free(d);
	}
}

static void
test_lru_eviction(void **state)
{
	tally_dedup_t *d = make(64, 2);
	struct tally_dedup_stats st;

	(void)state;
	assert_int_equal(tally_dedup_record(d, OP(1, 1)), 0);
	assert_int_equal(tally_dedup_record(d, OP(2, 1)), 0);
	assert_int_equal(tally_dedup_record(d, OP(2, 70)), 0);
	assert_int_equal(tally_dedup_record(d, OP(1, 2)), 0); /* 1 is now most recent */
	assert_int_equal(tally_dedup_record(d, OP(3, 1)), 0); /* evicts 2 */
	tally_dedup_stats(d, &st);
	assert_int_equal(st.clients, 2);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(tally_dedup_check(d, OP(1, 2)), TALLY_DEDUP_DUPLICATE);
	assert_int_equal(tally_dedup_check(d, OP(3, 1)), TALLY_DEDUP_DUPLICATE);
	/* Client 2's state is gone: beyond its first window it is refused. */
	assert_int_equal(tally_dedup_check(d, OP(2, 70)), TALLY_DEDUP_UNKNOWN_CLIENT);
	assert_int_equal(tally_dedup_check(d, OP(4, 65)), TALLY_DEDUP_UNKNOWN_CLIENT);
	assert_int_equal(tally_dedup_check(d, OP(4, 64)), TALLY_DEDUP_NEW);
	assert_true(tally_dedup_has_evicted(d));
	tally_dedup_free(d);
	/* A table restored from one that had evicted keeps the stricter rule. */
	d = make(64, 2);
	assert_int_equal(tally_dedup_check(d, OP(9, 65)), TALLY_DEDUP_NEW);
	tally_dedup_mark_evicted(d);
	assert_true(tally_dedup_has_evicted(d));
	assert_int_equal(tally_dedup_check(d, OP(9, 65)), TALLY_DEDUP_UNKNOWN_CLIENT);
	tally_dedup_free(d);
}

static void
test_bad_config(void **state)
{
	static const struct tally_dedup_config bad[] = {
		{ 0, 10 }, { 63, 10 }, { 100, 10 }, { 65536 + 64, 10 }, { 64, 0 }, { 64, (1u << 24) + 1 },
	};
	int err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = 0;
		assert_null(tally_dedup_create(&bad[i], &err));
		assert_int_equal(err, -EINVAL);
	}
	tally_dedup_t *d = tally_dedup_create(NULL, &err);
	assert_non_null(d);
	tally_dedup_free(d);
	tally_dedup_free(NULL);
}

/* ---- differential test against a naive model ---- */

#define M_CLIENTS 64
#define M_MAXSEQ 4096

struct model {
	uint32_t window, cap;
	bool held[M_CLIENTS];
	uint64_t highest[M_CLIENTS];
	uint8_t applied[M_CLIENTS][M_MAXSEQ + 1];
	uint64_t last_use[M_CLIENTS]; /* recency: larger is more recent */
	uint64_t now;
	bool evicted;
};

static int
model_verdict(const struct model *m, unsigned c, uint64_t seq)
{
	if (!m->held[c])
		return !m->evicted || seq <= m->window ? TALLY_DEDUP_NEW : TALLY_DEDUP_UNKNOWN_CLIENT;
	if (seq > m->highest[c])
		return TALLY_DEDUP_NEW;
	if (m->highest[c] - seq >= m->window)
		return TALLY_DEDUP_TOO_OLD;
	return m->applied[c][seq] ? TALLY_DEDUP_DUPLICATE : TALLY_DEDUP_NEW;
}

static void
model_record(struct model *m, unsigned c, uint64_t seq)
{
	if (!m->held[c]) {
		unsigned n = 0, lru = 0;

		for (unsigned i = 0; i < M_CLIENTS; i++) {
			if (!m->held[i])
				continue;
			if (n++ == 0 || m->last_use[i] < m->last_use[lru])
				lru = i;
		}
		if (n == m->cap) {
			m->held[lru] = false;
			m->evicted = true;
		}
		m->held[c] = true;
		m->highest[c] = 0;
		memset(m->applied[c], 0, sizeof(m->applied[c]));
	}
	m->applied[c][seq] = 1;
	if (seq > m->highest[c])
		m->highest[c] = seq;
	m->last_use[c] = ++m->now;
}

static void
differential(uint32_t window, uint32_t cap, unsigned nclients, uint64_t salt)
{
	static struct model m;
	tally_dedup_t *d = make(window, cap);
	struct prng g;

	memset(&m, 0, sizeof(m));
	m.window = window;
	m.cap = cap;
	prop_init(&g, salt);
	for (int step = 0; step < 200000; step++) {
		unsigned c = (unsigned)prng_below(&g, nclients);
		uint64_t seq;

		/* Mostly near the client's frontier, sometimes far ahead or behind. */
		if (prng_below(&g, 16) == 0)
			seq = 1 + prng_below(&g, M_MAXSEQ);
		else if (m.highest[c] > 0)
			seq = m.highest[c] + 8 - prng_below(&g, window + 16);
		else
			seq = 1 + prng_below(&g, 8);
		if (seq < 1 || seq > M_MAXSEQ)
			continue;
		int want = model_verdict(&m, c, seq);
		int got = tally_dedup_check(d, OP(c * 0x1000193u, seq));
		if (got != want)
			fail_msg("step %d (seed %" PRIu64 "): client %u seq %" PRIu64 " is %s, model says %s",
				 step, prop_seed(), c, seq, tally_dedup_verdict_name(got),
				 tally_dedup_verdict_name(want));
		int rc = tally_dedup_record(d, OP(c * 0x1000193u, seq));
		if (rc != (want == TALLY_DEDUP_NEW ? 0 : -EALREADY))
			fail_msg("step %d (seed %" PRIu64 "): record returned %d for a %s op", step,
				 prop_seed(), rc, tally_dedup_verdict_name(want));
		if (want == TALLY_DEDUP_NEW)
			model_record(&m, c, seq);
	}
	tally_dedup_free(d);
}

static void
test_against_model(void **state)
{
	(void)state;
	differential(64, 4, 12, 700);    /* heavy eviction, index full of collisions */
	differential(128, 32, 40, 701);
	differential(1024, 64, 64, 702); /* no eviction, multi-word windows */
}

/* What tally_dedup_foreach() shows, flattened, to compare two tables. */
struct dump {
	uint64_t words[4096];
	unsigned n;
};

static void
dump_visit(void *ctx, uint64_t client, uint64_t highest, const uint64_t *bits, uint32_t words)
{
	struct dump *d = ctx;

	assert_true(d->n + 2 + words <= 4096);
	d->words[d->n++] = client;
	d->words[d->n++] = highest;
	for (uint32_t i = 0; i < words; i++)
		d->words[d->n++] = bits[i];
}

/* A snapshot's round trip: export every client with foreach, restore into a
 * fresh table, and both must answer every check alike, keep the same
 * recency order, and evict the same client next. */
static void
test_export_restore(void **state)
{
	static struct dump a, b;
	tally_dedup_t *src = make(128, 8), *dst = make(128, 8);
	struct prng g;

	(void)state;
	prop_init(&g, 703);
	for (int step = 0; step < 20000; step++) {
		tally_opid_t op = OP(1 + prng_below(&g, 12), 1 + prng_below(&g, 400));

		if (tally_dedup_check(src, op) == TALLY_DEDUP_NEW)
			assert_int_equal(tally_dedup_record(src, op), 0);
	}
	a.n = b.n = 0;
	tally_dedup_foreach(src, dump_visit, &a);
	assert_int_equal(a.n, 8 * (2 + 2)); /* full: 8 clients of 2 words */
	for (unsigned i = 0; i < a.n; i += 4)
		assert_int_equal(tally_dedup_restore(dst, a.words[i], a.words[i + 1], &a.words[i + 2], 2), 0);
	assert_true(tally_dedup_has_evicted(src)); /* 12 clients through 8 places */
	tally_dedup_mark_evicted(dst);
	tally_dedup_foreach(dst, dump_visit, &b);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.words, b.words, a.n * sizeof(uint64_t));
	for (uint64_t c = 1; c <= 12; c++)
		for (uint64_t seq = 1; seq <= 420; seq++)
			assert_int_equal(tally_dedup_check(dst, OP(c, seq)), tally_dedup_check(src, OP(c, seq)));
	/* The same next eviction: a new client pushes out the same one in both. */
	assert_int_equal(tally_dedup_record(src, OP(99, 1)), 0);
	assert_int_equal(tally_dedup_record(dst, OP(99, 1)), 0);
	a.n = b.n = 0;
	tally_dedup_foreach(src, dump_visit, &a);
	tally_dedup_foreach(dst, dump_visit, &b);
	assert_memory_equal(a.words, b.words, a.n * sizeof(uint64_t));
	/* A window of the wrong size, or a highest of 0, is refused. */
	assert_int_equal(tally_dedup_restore(dst, 5, 10, a.words, 1), -EINVAL);
	assert_int_equal(tally_dedup_restore(dst, 5, 0, a.words, 2), -EINVAL);
	tally_dedup_free(src);
	tally_dedup_free(dst);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_window_slides),
		cmocka_unit_test(test_lru_eviction),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_against_model),
		cmocka_unit_test(test_export_restore),
	};

	prop_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
