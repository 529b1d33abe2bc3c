/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Property-test helpers shared by the unit tests: a seeded generator, vector
 * generators biased towards the values that break kernels, and a shrinker
 * that reduces a failing vector pair or triple to a smallest example.
 *
 * The seed comes from TALLY_TEST_SEED when set, otherwise from the clock; it
 * is printed when the program starts and in every failure message, so any
 * failure reproduces with TALLY_TEST_SEED=<seed>.
 */

#ifndef TALLY_TEST_PROP_H
#define TALLY_TEST_PROP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "vec.h"

/** xoshiro256** state. */
struct prng {
	uint64_t s[4];
};

static inline uint64_t
prop_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static inline void
prng_seed(struct prng *g, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		g->s[i] = prop_splitmix(&seed);
}

static inline uint64_t
prng_next(struct prng *g)
{
	uint64_t *s = g->s;
	uint64_t r = s[1] * 5;

	r = (r << 7 | r >> 57) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = s[3] << 45 | s[3] >> 19;
	return r;
}

/** Uniform in [0, n), n > 0. */
static inline uint64_t
prng_below(struct prng *g, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)prng_next(g) * n) >> 64);
}

/** The run's seed: TALLY_TEST_SEED if set, else the clock. Printed once. */
static inline uint64_t
prop_seed(void)
{
	static uint64_t seed;
	static bool have;

	if (!have) {
		const char *e = getenv("TALLY_TEST_SEED");
		struct timespec ts;

		if (e != NULL && *e != '\0') {
			seed = strtoull(e, NULL, 0);
		} else {
			clock_gettime(CLOCK_REALTIME, &ts);
			seed = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec;
		}
		have = true;
		fprintf(stderr, "seed: %" PRIu64 " (rerun with TALLY_TEST_SEED=%" PRIu64 ")\n",
			seed, seed);
	}
	return seed;
}

/** A generator for one test: the run's seed mixed with the test's own salt. */
static inline void
prop_init(struct prng *g, uint64_t salt)
{
	prng_seed(g, prop_seed() ^ (salt * 0x9e3779b97f4a7c15u));
}

/** One slot value, biased to the cases kernels get wrong. */
static inline uint64_t
prop_slot(struct prng *g)
{
	switch (prng_below(g, 8)) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX - prng_below(g, 2);
	case 2: /* either side of the sign bit: the AVX2 compare flips it */
		return (UINT64_C(1) << 63) - 2 + prng_below(g, 4);
	case 3:
		return prng_below(g, 4); /* small: equal slots are common */
	default:
		return prng_next(g);
	}
}

/** A random vector; with probability 1/4 only its first k slots are used (k random). */
static inline void
prop_vec(struct prng *g, tally_vec_t *v)
{
	unsigned used = TALLY_MAX_NODES;

	if (prng_below(g, 4) == 0)
		used = 1 + (unsigned)prng_below(g, TALLY_MAX_NODES);
	tally_vec_zero(v);
	for (unsigned i = 0; i < used; i++)
		v->slot[i] = prop_slot(g);
}

/**
 * A vector related to @p a: equal, one slot raised or lowered, all slots
 * raised (a dominating vector), or independent. Exercises every order.
 */
static inline void
prop_vec_near(struct prng *g, const tally_vec_t *a, tally_vec_t *b)
{
	unsigned i = (unsigned)prng_below(g, TALLY_MAX_NODES);

	*b = *a;
	switch (prng_below(g, 6)) {
	case 0: /* equal */
		break;
	case 1:
		if (b->slot[i] != UINT64_MAX)
			b->slot[i]++;
		break;
	case 2:
		if (b->slot[i] != 0)
			b->slot[i]--;
		break;
	case 3: /* above or equal everywhere */
		for (unsigned j = 0; j < TALLY_MAX_NODES; j++)
			if (b->slot[j] != UINT64_MAX && prng_below(g, 2))
				b->slot[j] += 1 + prng_below(g, UINT64_MAX - b->slot[j]);
		break;
	default:
		prop_vec(g, b);
	}
}

/** Append a vector as "{s0, s1, ...}" to @p buf. */
static inline int
prop_fmt_vec(char *buf, size_t len, const tally_vec_t *v)
{
	int n = snprintf(buf, len, "{");

	for (unsigned i = 0; i < TALLY_MAX_NODES && (size_t)n < len; i++)
		n += snprintf(buf + n, len - n, "%s%#" PRIx64, i ? ", " : "", v->slot[i]);
	if ((size_t)n < len)
		n += snprintf(buf + n, len - n, "}");
	return n;
}

/** A property over up to three vectors: true when it holds. */
typedef bool (*prop_fn)(const tally_vec_t *v, void *ctx);

/**
 * Shrink the @p nvec vectors at @p v (which fail @p holds) towards the
 * smallest failing example: slots set to 0, to 1, halved, or copied from the
 * same slot of another vector, while the property still fails.
 */
static inline void
prop_shrink(tally_vec_t *v, unsigned nvec, prop_fn holds, void *ctx)
{
	bool progress = true;

	while (progress) {
		progress = false;
		for (unsigned k = 0; k < nvec; k++) {
			for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
				uint64_t orig = v[k].slot[i];
				uint64_t cand[3 + 2] = { 0, 1, orig / 2 };
				unsigned nc = 3;

				for (unsigned o = 0; o < nvec; o++)
					if (o != k && nc < 5)
						cand[nc++] = v[o].slot[i];
				for (unsigned c = 0; c < nc; c++) {
					if (cand[c] >= orig)
						continue; /* only ever move down: terminates */
					v[k].slot[i] = cand[c];
					if (!holds(v, ctx)) {
						progress = true;
						orig = cand[c];
						break;
					}
					v[k].slot[i] = orig;
				}
				v[k].slot[i] = orig;
			}
		}
	}
}

/**
 * Check @p holds on @p iters random tuples of @p nvec vectors from @p gen.
 * On the first failure, shrink it and write a report into @p msg; return false.
 */
typedef void (*prop_gen_fn)(struct prng *g, tally_vec_t *v, unsigned nvec);

static inline void
prop_gen_related(struct prng *g, tally_vec_t *v, unsigned nvec)
{
	prop_vec(g, &v[0]);
	for (unsigned k = 1; k < nvec; k++)
		prop_vec_near(g, &v[prng_below(g, k)], &v[k]);
}

static inline bool
prop_check(const char *name, uint64_t salt, unsigned long iters, unsigned nvec,
	   prop_fn holds, void *ctx, char *msg, size_t len)
{
	struct prng g;
	tally_vec_t v[3];

	prop_init(&g, salt);
	for (unsigned long it = 0; it < iters; it++) {
		prop_gen_related(&g, v, nvec);
		if (holds(v, ctx))
			continue;
		prop_shrink(v, nvec, holds, ctx);
		int n = snprintf(msg, len, "property '%s' fails (seed %" PRIu64 ", case %lu); smallest example:",
				 name, prop_seed(), it);
		for (unsigned k = 0; k < nvec && (size_t)n < len; k++) {
			n += snprintf(msg + n, len - n, "\n  v%u = ", k);
			if ((size_t)n < len)
				n += prop_fmt_vec(msg + n, len - n, &v[k]);
		}
		return false;
	}
	return true;
}

/** Run a property under cmocka: fail the test with the shrunk report. */
#define PROP(name, salt, iters, nvec, holds, ctx)                                     \
	do {                                                                          \
		char prop_msg_[2048];                                                 \
		if (!prop_check(name, salt, iters, nvec, holds, ctx, prop_msg_,       \
				sizeof(prop_msg_)))                                   \
			fail_msg("%s", prop_msg_);                                    \
	} while (0)

#endif /* TALLY_TEST_PROP_H */
