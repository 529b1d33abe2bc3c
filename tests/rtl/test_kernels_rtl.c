/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Differential test of one RTL merge kernel (gcounter_merge or vclock_unit)
 * against the C reference (tally_vec_merge, tally_vv_compare), through the
 * Verilator harness in rtl/sim.
 *
 * Every result is compared with the reference as it leaves the kernel, and
 * its tag proves that no pair is dropped, duplicated or reordered. Input
 * bubbles and output back-pressure are crossed: each of {always, random,
 * bursty} offers against each of {always, random, bursty} readiness, as
 * Corundum's testbenches do. A watchdog fails the test if the kernel stops
 * accepting while it is offered work and its output is ready.
 *
 * The first mismatch stops the test and prints the seed, the pair, both
 * results and the clock; --fst FILE writes a waveform of the whole run.
 *
 *   test_kernels_rtl --kernel vclock_unit [--pairs N] [--fst FILE] [--coverage FILE]
 */

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmocka_prelude.h"
#include "kernel_sim.h"
#include "gate.h"
#include "prop.h"
#include "vclock.h"
#include "vecpairs.h"

#define STALL_LIMIT 16 /* clocks offered and ready without progress */
#define IN_FLIGHT 64   /* pairs queued ahead of the kernel */

static struct {
	enum tally_ksim_kind kind;
	unsigned long pairs;
	const char *fst;
	const char *coverage;
} opt = { TALLY_KSIM_GCOUNTER_MERGE, 1ul << 20, NULL, NULL };

/* One simulation for the whole program, so --fst and --coverage see every test. */
static tally_ksim_t *sim;
/* Tags continue from run to run, so every tuser bit toggles. */
static uint16_t tag_base;


static void
report(const char *what, unsigned long i, const struct vecpairs *p, const tally_vec_t *want,
       const tally_vec_t *got, unsigned want_order, unsigned got_order)
{
	char sa[512], sb[512], sw[512], sg[512], ow[32] = "", og[32] = "";

	prop_fmt_vec(sa, sizeof(sa), &p->a[i]);
	prop_fmt_vec(sb, sizeof(sb), &p->b[i]);
	prop_fmt_vec(sw, sizeof(sw), want);
	prop_fmt_vec(sg, sizeof(sg), got);
	if (opt.kind == TALLY_KSIM_VCLOCK_UNIT) {
		snprintf(ow, sizeof(ow), " order %s", tally_vv_order_name((tally_vv_order_t)want_order));
		snprintf(og, sizeof(og), " order %s", tally_vv_order_name((tally_vv_order_t)got_order));
	}
	fail_msg("%s: %s at pair %lu, clock %" PRIu64 " (seed %" PRIu64 ")\n"
		 "  a     = %s\n  b     = %s\n  C     = %s%s\n  RTL   = %s%s\n"
		 "  reproduce: TALLY_TEST_SEED=%" PRIu64 " test_kernels_rtl --kernel %s --fst wave.fst",
		 tally_ksim_kind_name(opt.kind), what, i, tally_ksim_cycles(sim), prop_seed(), sa, sb,
		 sw, ow, sg, og, prop_seed(), tally_ksim_kind_name(opt.kind));
}

/* Check every result waiting in the simulation; *next is the next pair expected. */
static void
drain(const struct vecpairs *p, unsigned long *next)
{
	tally_vec_t got;
	uint8_t order;
	uint16_t tag;

	while (tally_ksim_pop(sim, got.slot, &order, &tag) == 0) {
		unsigned long i = *next;

		if (i >= p->n || tag != (uint16_t)(tag_base + i)) {
			tally_vec_zero(&got);
			fail_msg("%s: result tagged %u arrived where pair %lu was due (clock %" PRIu64
				 ", seed %" PRIu64 "): a pair was dropped, duplicated or reordered",
				 tally_ksim_kind_name(opt.kind), tag, i, tally_ksim_cycles(sim), prop_seed());
		}
		tally_vec_t want = p->a[i];
		tally_vec_merge(&want, &p->b[i]);
		unsigned want_order = opt.kind == TALLY_KSIM_VCLOCK_UNIT
					      ? (unsigned)tally_vv_compare(&p->a[i], &p->b[i]) : 0;
		if (!tally_vec_equal(&want, &got) || want_order != order)
			report("RTL differs from the C reference", i, p, &want, &got, want_order, order);
		(*next)++;
	}
}

/* Stream all of @p through the kernel with the given input and output patterns. */
static void
run_pairs(const struct vecpairs *p, enum pattern offer_p, enum pattern ready_p, uint64_t salt)
{
	struct gate offer = { .p = offer_p }, ready = { .p = ready_p };
	unsigned long pushed = 0, checked = 0, stall = 0;
	struct prng g;

	prop_init(&g, salt);
	while (checked < p->n) {
		while (pushed < p->n && tally_ksim_queued(sim) < IN_FLIGHT) {
			tally_ksim_push(sim, p->a[pushed].slot, p->b[pushed].slot,
					(uint16_t)(tag_base + pushed));
			pushed++;
		}
		bool o = gate_next(&offer, &g), r = gate_next(&ready, &g);
		int ev = tally_ksim_step(sim, o, r);

		if (o && r && tally_ksim_queued(sim) > 0 && !(ev & TALLY_KSIM_ACCEPTED)) {
			if (++stall > STALL_LIMIT)
				fail_msg("%s: stalled %d clocks while offered work and ready (clock %" PRIu64
					 ", offer %s, ready %s, seed %" PRIu64 ")",
					 tally_ksim_kind_name(opt.kind), STALL_LIMIT, tally_ksim_cycles(sim),
					 pattern_name[offer_p], pattern_name[ready_p], prop_seed());
		} else {
			stall = 0;
		}
		drain(p, &checked);
	}
	/* Idle, then nothing more may come out. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(tally_ksim_step(sim, true, true) & TALLY_KSIM_EMITTED, 0);
	tag_base = (uint16_t)(tag_base + p->n);
}

/* Latency 1 and initiation interval 1, counted in clocks. */
static void
test_latency_and_throughput(void **state)
{
	const unsigned long n = 1000;
	struct vecpairs p;
	unsigned long checked = 0;

	(void)state;
	assert_int_equal(tag_base, 0); /* runs first: tags are the pair numbers */
	assert_int_equal(vecpairs_alloc(&p, n), 0);
	vecpairs_add_random(&p, 800);

	/* One pair: accepted on one clock, emitted on the next. */
	tally_ksim_push(sim, p.a[0].slot, p.b[0].slot, 0);
	assert_int_equal(tally_ksim_step(sim, true, true), TALLY_KSIM_ACCEPTED);
	assert_int_equal(tally_ksim_step(sim, true, true), TALLY_KSIM_EMITTED);
	drain(&p, &checked);

	/* n pairs back to back: one accepted every clock, n + 1 clocks in all. */
	uint64_t start = tally_ksim_cycles(sim);
	for (unsigned long i = 1; i < n; i++)
		tally_ksim_push(sim, p.a[i].slot, p.b[i].slot, (uint16_t)i);
	for (unsigned long i = 1; i < n; i++)
		if (!(tally_ksim_step(sim, true, true) & TALLY_KSIM_ACCEPTED))
			fail_msg("%s: no pair accepted at clock %" PRIu64 " of a back-to-back stream",
				 tally_ksim_kind_name(opt.kind), tally_ksim_cycles(sim));
	assert_int_equal(tally_ksim_step(sim, true, true), TALLY_KSIM_EMITTED);
	assert_int_equal(tally_ksim_cycles(sim) - start, n);
	drain(&p, &checked);
	assert_int_equal(checked, n);

	/* Held back-pressure: the result waits, then leaves exactly once. */
	tally_ksim_push(sim, p.a[0].slot, p.b[0].slot, 0);
	checked = 0;
	assert_int_equal(tally_ksim_step(sim, true, false), TALLY_KSIM_ACCEPTED);
	tally_ksim_push(sim, p.a[1].slot, p.b[1].slot, 1);
	for (int i = 0; i < 5; i++) /* full: the next pair must wait */
		assert_int_equal(tally_ksim_step(sim, true, false), 0);
	assert_int_equal(tally_ksim_step(sim, true, true), TALLY_KSIM_ACCEPTED | TALLY_KSIM_EMITTED);
	assert_int_equal(tally_ksim_step(sim, true, true), TALLY_KSIM_EMITTED);
	drain(&p, &checked);
	assert_int_equal(checked, 2);
	vecpairs_free(&p);
}

static void
test_edge_cases(void **state)
{
	struct vecpairs p;

	(void)state;
	assert_int_equal(vecpairs_alloc(&p, VECPAIRS_EDGE_MAX), 0);
	vecpairs_add_edges(&p, 801);
	for (int o = 0; o < PATTERNS; o++)
		for (int r = 0; r < PATTERNS; r++)
			run_pairs(&p, o, r, 810 + o * PATTERNS + r);
	vecpairs_free(&p);
}

static void
test_random_pairs(void **state)
{
	unsigned long per = (opt.pairs + PATTERNS * PATTERNS - 1) / (PATTERNS * PATTERNS);
	struct vecpairs p;

	(void)state;
	assert_int_equal(vecpairs_alloc(&p, per), 0);
	for (int o = 0; o < PATTERNS; o++) {
		for (int r = 0; r < PATTERNS; r++) {
			p.n = 0;
			vecpairs_add_random(&p, 900 + o * PATTERNS + r);
			run_pairs(&p, o, r, 950 + o * PATTERNS + r);
		}
	}
	print_message("%s: %lu random pairs and %u edge cases matched the C reference in %" PRIu64
		      " clocks\n", tally_ksim_kind_name(opt.kind), per * PATTERNS * PATTERNS,
		      (unsigned)VECPAIRS_EDGE_MAX, tally_ksim_cycles(sim));
	vecpairs_free(&p);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: test_kernels_rtl --kernel gcounter_merge|vclock_unit [--pairs N]\n"
		   "                        [--fst FILE] [--coverage FILE]\n"
		   "  --pairs N        random pairs to check (default 1048576)\n"
		   "  --fst FILE       write a waveform of the whole run (FST, for GTKWave)\n"
		   "  --coverage FILE  write Verilator coverage (needs the _cov build)\n"
		   "  TALLY_TEST_SEED  environment: the seed to reproduce\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' }, { "pairs", required_argument, NULL, 'n' },
		{ "fst", required_argument, NULL, 'f' },    { "coverage", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latency_and_throughput),
		cmocka_unit_test(test_edge_cases),
		cmocka_unit_test(test_random_pairs),
	};
	int c, err, rc;
	char *end;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (strcmp(optarg, "gcounter_merge") == 0)
				opt.kind = TALLY_KSIM_GCOUNTER_MERGE;
			else if (strcmp(optarg, "vclock_unit") == 0)
				opt.kind = TALLY_KSIM_VCLOCK_UNIT;
			else
				return usage(stderr), 2;
			break;
		case 'n':
			opt.pairs = strtoul(optarg, &end, 0);
			if (*end != '\0' || opt.pairs == 0)
				return usage(stderr), 2;
			break;
		case 'f':
			opt.fst = optarg;
			break;
		case 'c':
			opt.coverage = optarg;
			break;
		case 'h':
			return usage(stdout), 0;
		default:
			return usage(stderr), 2;
		}
	}
	if (optind != argc)
		return usage(stderr), 2;

	prop_seed();
	sim = tally_ksim_create(opt.kind, opt.fst, &err);
	if (sim == NULL) {
		fprintf(stderr, "test_kernels_rtl: cannot create the %s simulation: %s\n",
			tally_ksim_kind_name(opt.kind), strerror(-err));
		return 1;
	}
	if (tally_ksim_nodes(sim) != TALLY_MAX_NODES) {
		fprintf(stderr, "test_kernels_rtl: RTL built for %u nodes, C for %d\n",
			tally_ksim_nodes(sim), TALLY_MAX_NODES);
		return 1;
	}
	rc = cmocka_run_group_tests_name(tally_ksim_kind_name(opt.kind), tests, NULL, NULL);
	if (opt.coverage != NULL && (err = tally_ksim_write_coverage(sim, opt.coverage)) != 0) {
		fprintf(stderr, "test_kernels_rtl: cannot write coverage to %s: %s\n", opt.coverage,
			strerror(-err));
		rc = 1;
	}
	tally_ksim_free(sim);
	return rc;
}
