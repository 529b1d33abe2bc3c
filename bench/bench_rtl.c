/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-bench rtl: what the RTL merge kernels (rtl/gcounter_merge.sv,
 * rtl/vclock_unit.sv) would do on the NIC, from the only two sources there
 * are before hardware: the cycle-accurate Verilated models (rtl/sim) and the
 * yosys synthesis reports the build writes beside them.
 *
 * From the models, per kernel: merges per clock sustained with no bubbles
 * and no back-pressure, the latency of one pair through an idle kernel, and
 * how many clocks per host second the model simulates. From the reports:
 * LUTs, flip-flops, CARRY4 cells and the longest combinational path in
 * cells. Merges per clock times a clock gives a projected rate, which is
 * printed in one table with the CPU kernels' cache-resident merge rate,
 * measured in the same run, and the 100GbE minimum-frame rate: the
 * question the offload answers is whether it keeps up with the wire where
 * a core does not.
 *
 * Every result the model emits is checked against the C reference
 * (tally_vec_merge, tally_vv_compare) and a wrong one fails the run: a fast
 * wrong kernel is never reported. Goals are printed as measured, never
 * asserted, like the other subcommands.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "kernel_sim.h"
#include "kernels.h"
#include "vclock.h"

/* Where meson wrote synth_<module>.stat and .ltp (rtl/meson.build). */
#ifndef TALLY_SYNTH_DIR
#define TALLY_SYNTH_DIR "rtl"
#endif

#define PAIRS_DEFAULT (1ull << 20)
#define PAIRS_QUICK (1ull << 14)
/* The tag in tuser is 16 bits and wraps; any count is fine, but a run of
 * more than 2^32 pairs takes over half an hour at today's model speed. */
#define PAIRS_MAX (1ull << 32)
#define RUNS_DEFAULT 5u
#define RUNS_QUICK 1u
#define RUNS_MAX 1000u
#define WARMUP_RUNS 1u
#define JSON_DEFAULT "tally-bench-rtl.json"

/*
 * Pairs kept queued at the kernel's input: enough that the input never runs
 * dry within a clock, few enough that the harness queue stays small whatever
 * the pair count. Pair i is pool entry i % POOL, inputs and expected result
 * alike, so the pool is read-only while pairs are in flight; the 16-bit tag
 * is what tells pair i from pair i + POOL.
 */
#define QUEUE_DEPTH 64u
#define POOL 1024u
/* Clocks without an accept or an emit, with work outstanding, that count as
 * a hung kernel; a latency-1 kernel needs one. */
#define STALL_LIMIT 1024u

#define SEED_POOL_RANDOM 0x74616c6c7972746cull
#define SEED_POOL_ORDERS 0x74616c6c79766375ull

/* Goals: one merge every clock (the kernels' initiation interval is 1), and
 * a model fast enough to run the dataplane against for later issues. */
#define GOAL_MERGES_PER_CYCLE 1.0
#define GOAL_MODEL_CPS 2e6

/*
 * Clocks the merge rate is projected at: 250 MHz, the core clock of
 * Corundum-style FPGA NICs, and 322 MHz, the user clock of the 100G MAC
 * hard blocks (322.265625 MHz), rounded as the issue states.
 */
static const double clock_mhz[TALLY_BENCH_RTL_NCLOCKS] = { 250.0, 322.0 };
#define NCLOCKS TALLY_BENCH_RTL_NCLOCKS

static const enum tally_ksim_kind kinds[] = { TALLY_KSIM_GCOUNTER_MERGE, TALLY_KSIM_VCLOCK_UNIT };
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* What the synthesis reports of one module say. */
struct synth {
	char stat_path[4096];
	char ltp_path[4096];
	uint64_t luts;   /* LUT1..LUT6 cells */
	uint64_t ffs;    /* FDRE, FDSE, FDCE, FDPE cells */
	uint64_t carry4; /* CARRY4 cells */
	uint64_t cells;  /* every cell */
	uint64_t ltp;    /* "length=N" of the longest topological path */
};

/* Everything measured about one kernel. */
struct kernel_result {
	enum tally_ksim_kind kind;
	const char *name;
	unsigned nodes;
	uint64_t latency;
	struct tally_bench_rtl_stream stream; /* the last timed run */
	unsigned runs;
	uint64_t run_ns[RUNS_MAX];
	uint64_t run_cycles;
	struct tally_bench_stats st;
	double merges_per_cycle;
	double steady_merges_per_cycle;
	double cycles_per_sec;
	double projected[NCLOCKS];
	struct synth synth;
};

struct opts {
	bool quick;
	unsigned runs;
	uint64_t pairs;
	const char *json;
	const char *synth_dir;
};

/* A pair and what the C reference says it gives. */
struct pool {
	tally_vec_t a[POOL], b[POOL], want[POOL];
	uint8_t order[POOL];
};

/*
 * The first half of the pool independent uniform slots (a merge changes about
 * half of them, and the comparators see the top bits), the second half
 * version-vector pairs in the four orders in equal shares; then what the C
 * reference says of each.
 */
static void
pool_fill(struct pool *p, enum tally_ksim_kind kind)
{
	tally_bench_fill_random(p->a, POOL / 2, SEED_POOL_RANDOM);
	tally_bench_fill_random(p->b, POOL / 2, SEED_POOL_RANDOM + 1);
	tally_bench_fill_orders(p->a + POOL / 2, p->b + POOL / 2, POOL / 2, SEED_POOL_ORDERS);
	for (unsigned i = 0; i < POOL; i++) {
		p->want[i] = p->a[i];
		tally_vec_merge(&p->want[i], &p->b[i]);
		p->order[i] = kind == TALLY_KSIM_VCLOCK_UNIT ?
			      (uint8_t)tally_vv_compare(&p->a[i], &p->b[i]) : 0;
	}
}

/* Pop every waiting result and check it is pair number *popped; 0 or -EPROTO. */
static int
check_results(tally_ksim_t *s, const struct pool *p, uint64_t pairs, uint64_t *popped,
	      char *why, size_t len)
{
	tally_vec_t got;
	uint8_t order;
	uint16_t tag;

	while (tally_ksim_pop(s, got.slot, &order, &tag) == 0) {
		uint64_t i = *popped;
		const unsigned k = (unsigned)(i % POOL);

		if (i >= pairs) {
			snprintf(why, len, "an extra result (tag %u) after all %" PRIu64
				 " pairs came back, at clock %" PRIu64, tag, pairs, tally_ksim_cycles(s));
			return -EPROTO;
		}
		if (tag != (uint16_t)i) {
			snprintf(why, len, "result %" PRIu64 " carries tag %u, want %u: a pair was "
				 "dropped, duplicated or reordered (clock %" PRIu64 ")", i, tag,
				 (unsigned)(uint16_t)i, tally_ksim_cycles(s));
			return -EPROTO;
		}
		for (unsigned j = 0; j < TALLY_MAX_NODES; j++) {
			if (got.slot[j] == p->want[k].slot[j])
				continue;
			snprintf(why, len, "result %" PRIu64 " slot %u is 0x%016" PRIx64 ", the C "
				 "reference says 0x%016" PRIx64 " (a 0x%016" PRIx64 ", b 0x%016" PRIx64
				 "; clock %" PRIu64 ")", i, j, got.slot[j], p->want[k].slot[j],
				 p->a[k].slot[j], p->b[k].slot[j], tally_ksim_cycles(s));
			return -EPROTO;
		}
		if (order != p->order[k]) {
			snprintf(why, len, "result %" PRIu64 " order %s, the C reference says %s "
				 "(clock %" PRIu64 ")", i, tally_vv_order_name((tally_vv_order_t)order),
				 tally_vv_order_name((tally_vv_order_t)p->order[k]),
				 tally_ksim_cycles(s));
			return -EPROTO;
		}
		(*popped)++;
	}
	return 0;
}

int
tally_bench_rtl_stream(tally_ksim_t *s, enum tally_ksim_kind kind, uint64_t pairs,
		       struct tally_bench_rtl_stream *out)
{
	uint64_t pushed = 0, popped = 0, idle = 0, start, t0, t1;
	bool accepted = false;
	struct pool *p;
	int err = 0;

	*out = (struct tally_bench_rtl_stream){ .pairs = pairs };
	if (tally_ksim_nodes(s) != TALLY_MAX_NODES) {
		snprintf(out->why, sizeof(out->why), "the model has %u slots per vector, this "
			 "build %d", tally_ksim_nodes(s), TALLY_MAX_NODES);
		return -EPROTO;
	}
	p = malloc(sizeof(*p));
	if (p == NULL) {
		snprintf(out->why, sizeof(out->why), "cannot allocate the input pool");
		return -ENOMEM;
	}
	pool_fill(p, kind);

	start = tally_ksim_cycles(s);
	t0 = tally_bench_now_ns();
	while (popped < pairs) {
		uint64_t clk = tally_ksim_cycles(s) - start;
		int ev;

		while (pushed < pairs && tally_ksim_queued(s) < QUEUE_DEPTH) {
			const unsigned k = (unsigned)(pushed % POOL);

			tally_ksim_push(s, p->a[k].slot, p->b[k].slot, (uint16_t)pushed);
			pushed++;
		}
		ev = tally_ksim_step(s, true, true);
		if ((ev & TALLY_KSIM_ACCEPTED) && !accepted) {
			out->first_accept = clk;
			accepted = true;
		}
		if (ev & TALLY_KSIM_EMITTED)
			out->last_emit = clk;
		idle = ev != 0 ? 0 : idle + 1;
		err = check_results(s, p, pairs, &popped, out->why, sizeof(out->why));
		if (err != 0)
			break;
		if (idle >= STALL_LIMIT) {
			snprintf(out->why, sizeof(out->why), "no pair accepted and no result "
				 "emitted for %u clocks with %" PRIu64 " of %" PRIu64 " results out "
				 "(clock %" PRIu64 ")", STALL_LIMIT, popped, pairs,
				 tally_ksim_cycles(s));
			err = -ETIMEDOUT;
			break;
		}
	}
	t1 = tally_bench_now_ns();
	out->cycles = tally_ksim_cycles(s) - start;
	out->ns = t1 - t0;

	/* A kernel that emits a result nobody gave it is as wrong as one that
	 * loses one: a few idle clocks must emit nothing. */
	for (unsigned i = 0; err == 0 && i < 4; i++) {
		tally_ksim_step(s, false, true);
		err = check_results(s, p, pairs, &popped, out->why, sizeof(out->why));
	}
	free(p);
	if (err != 0)
		return err;
	out->span = out->last_emit - out->first_accept + 1;
	out->merges_per_cycle = (double)pairs / (double)out->span;
	return 0;
}

/*
 * Clocks from the clock one pair is accepted by the idle kernel @p s to the
 * clock its result is emitted, with the output ready; the result is checked.
 */
static int
measure_latency(tally_ksim_t *s, enum tally_ksim_kind kind, uint64_t *latency, char *why,
		size_t len)
{
	struct pool *p = malloc(sizeof(*p));
	uint64_t accept = 0, popped = 0;
	bool accepted = false;
	int err = 0;

	if (p == NULL) {
		snprintf(why, len, "cannot allocate the input pool");
		return -ENOMEM;
	}
	pool_fill(p, kind);
	tally_ksim_push(s, p->a[0].slot, p->b[0].slot, 0);
	for (unsigned i = 0; i < STALL_LIMIT; i++) {
		uint64_t clk = tally_ksim_cycles(s);
		int ev = tally_ksim_step(s, true, true);

		if (ev & TALLY_KSIM_ACCEPTED) {
			accept = clk;
			accepted = true;
		}
		if (ev & TALLY_KSIM_EMITTED) {
			if (!accepted) {
				snprintf(why, len, "a result came out before the pair went in "
					 "(clock %" PRIu64 ")", clk);
				err = -EPROTO;
			} else {
				*latency = clk - accept;
				err = check_results(s, p, 1, &popped, why, len);
			}
			free(p);
			return err;
		}
	}
	free(p);
	snprintf(why, len, "no result %u clocks after offering one pair to the idle kernel (%s)",
		 STALL_LIMIT, accepted ? "accepted" : "never accepted");
	return -ETIMEDOUT;
}

unsigned
tally_bench_rtl_project(const char *kernel, double merges_per_cycle,
			struct tally_bench_merge_rate *out)
{
	for (unsigned c = 0; c < NCLOCKS; c++) {
		out[c] = (struct tally_bench_merge_rate){ .kernel = kernel };
		snprintf(out[c].where, sizeof(out[c].where), "rtl @ %.0f MHz", clock_mhz[c]);
		snprintf(out[c].basis, sizeof(out[c].basis), "projected: %.6f merges/cycle x %.0f MHz",
			 merges_per_cycle, clock_mhz[c]);
		out[c].merges_per_sec = merges_per_cycle * clock_mhz[c] * 1e6;
	}
	return NCLOCKS;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tally-bench rtl [--quick] [--runs N] [--pairs N] [--json FILE] [--synth-dir DIR]\n"
		"\n"
		"Measure the RTL merge kernels (gcounter_merge, vclock_unit) through their\n"
		"cycle-accurate Verilator models, and read their yosys synthesis reports:\n"
		"  merges/cycle    N pairs offered on every clock with the output always ready,\n"
		"                  N results over the clocks from the first accept to the last\n"
		"                  emit, pipeline fill included; steady state: N over those\n"
		"                  clocks minus the latency (goal %.2f)\n"
		"  latency         clocks from the accept of one pair by the idle kernel to the\n"
		"                  emit of its result\n"
		"  model speed     simulated clocks per host second of the N-pair loop (model\n"
		"                  and harness; inputs precomputed), median of the timed runs\n"
		"                  (goal for later work: %.1f M cycles/s)\n"
		"  projection      merges/cycle x 250 MHz and x 322 MHz, as a ratio to the\n"
		"                  100GbE minimum-frame rate, 100e9 / ((64 + 20) x 8) = %.2f Mpps\n"
		"  synthesis       from DIR/synth_<module>.stat and .ltp: LUTs (LUT1..LUT6),\n"
		"                  flip-flops (FDRE, FDSE, FDCE, FDPE), CARRY4, and the ltp\n"
		"                  length; yosys synth_xilinx (a 7-series-like mapping), no\n"
		"                  timing closure, not a vendor flow\n"
		"Every result is checked against the C reference (tally_vec_merge,\n"
		"tally_vv_compare); a wrong, missing or extra result fails the run. Then one\n"
		"table puts the RTL kernels' projected rates beside the CPU kernels' cache-\n"
		"resident merge rate (as tally-bench kernels measures it, in this run) and the\n"
		"line rate. Goals are reported as measured; a missed goal never fails the run.\n"
		"\n"
		"Options:\n"
		"  --quick           %llu pairs, %u timed run, CPU work cut as kernels --quick\n"
		"                    (well under 2 s): a smoke test, not a measurement\n"
		"  --runs N          timed runs per kernel after %u warm-up, 1..%u (default %u)\n"
		"  --pairs N         pairs per run, 1..%llu (default %llu)\n"
		"  --json FILE       write the JSON report to FILE (default %s)\n"
		"  --synth-dir DIR   folder of the synthesis reports (default: the build's,\n"
		"                    %s)\n"
		"  -h, --help        print this help and exit\n"
		"\n"
		"Progress goes to stderr. Exit status: 0 success, 1 runtime failure (a\n"
		"synthesis report missing or unreadable, the simulation, a wrong result, the\n"
		"JSON file), 2 usage error.\n",
		GOAL_MERGES_PER_CYCLE, GOAL_MODEL_CPS / 1e6, TALLY_BENCH_100GBE_MIN_PPS / 1e6,
		(unsigned long long)PAIRS_QUICK, RUNS_QUICK, WARMUP_RUNS, RUNS_MAX, RUNS_DEFAULT,
		(unsigned long long)PAIRS_MAX, (unsigned long long)PAIRS_DEFAULT, JSON_DEFAULT,
		TALLY_SYNTH_DIR);
}

/* Fill @p o from the command line: 0, 1 when --help was printed, or
 * -EINVAL after saying what is wrong on stderr. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "pairs", required_argument, NULL, 'p' },
		{ "json", required_argument, NULL, 'j' },
		{ "synth-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool runs_set = false, pairs_set = false;
	uint64_t v;
	int c;

	*o = (struct opts){ .runs = RUNS_DEFAULT, .pairs = PAIRS_DEFAULT, .json = JSON_DEFAULT,
			    .synth_dir = TALLY_SYNTH_DIR };
	/* As kernels: our own messages, and getopt's state reset. */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'r':
			if (tally_bench_opt_u64("rtl", "runs", optarg, 1, RUNS_MAX, &v) != 0)
				return -EINVAL;
			o->runs = (unsigned)v;
			runs_set = true;
			break;
		case 'p':
			if (tally_bench_opt_u64("rtl", "pairs", optarg, 1, PAIRS_MAX, &v) != 0)
				return -EINVAL;
			o->pairs = v;
			pairs_set = true;
			break;
		case 'j':
		case 's':
			if (optarg[0] == '\0') {
				fprintf(stderr, "tally-bench rtl: --%s: want a %s name\n",
					c == 'j' ? "json" : "synth-dir", c == 'j' ? "file" : "folder");
				return -EINVAL;
			}
			if (c == 'j')
				o->json = optarg;
			else
				o->synth_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return tally_bench_opt_error("rtl", c, argv);
		}
	}
	if (tally_bench_opt_end("rtl", argc, argv) != 0)
		return -EINVAL;
	if (o->quick && !runs_set)
		o->runs = RUNS_QUICK;
	if (o->quick && !pairs_set)
		o->pairs = PAIRS_QUICK;
	return 0;
}

/*
 * Cell counts of @p module from yosys "stat": after the "=== module ==="
 * line, lines of a cell type and its count, which yosys 0.23 prints as
 * "CARRY4   48" and later versions as "48   CARRY4"; both are read.
 * 0, -ENOENT (the caller names the file), or -EINVAL.
 */
static int
parse_stat(struct synth *y, const char *module)
{
	FILE *f = fopen(y->stat_path, "r");
	char line[512], head[160];
	bool in_module = false, any = false;

	if (f == NULL)
		return -errno;
	snprintf(head, sizeof(head), "=== %s ===", module);
	while (fgets(line, sizeof(line), f) != NULL) {
		char a[128], b[128], extra;
		const char *type;
		uint64_t n;

		/* -flatten leaves one module; a report of several is not ours. */
		if (strstr(line, "=== ") != NULL) {
			in_module = strstr(line, head) != NULL;
			continue;
		}
		if (!in_module)
			continue;
		if (sscanf(line, " Number of cells: %" SCNu64, &n) == 1) {
			y->cells = n;
			continue;
		}
		if (sscanf(line, " %127s %127s %c", a, b, &extra) != 2)
			continue;
		if (tally_bench_parse_u64(b, 0, UINT64_MAX, &n) == 0)
			type = a;
		else if (tally_bench_parse_u64(a, 0, UINT64_MAX, &n) == 0)
			type = b;
		else
			continue;
		if (strncmp(type, "LUT", 3) == 0 && type[3] >= '1' && type[3] <= '6' &&
		    type[4] == '\0')
			y->luts += n;
		else if (strcmp(type, "FDRE") == 0 || strcmp(type, "FDSE") == 0 ||
			 strcmp(type, "FDCE") == 0 || strcmp(type, "FDPE") == 0)
			y->ffs += n;
		else if (strcmp(type, "CARRY4") == 0)
			y->carry4 += n;
		else
			continue;
		any = true;
	}
	fclose(f);
	/* A module with no LUT, FF or CARRY4 at all is a report we misread. */
	return any && y->cells > 0 ? 0 : -EINVAL;
}

/* "Longest topological path in <module> (length=N):" from yosys "ltp". */
static int
parse_ltp(struct synth *y, const char *module)
{
	FILE *f = fopen(y->ltp_path, "r");
	char line[512], want[160];
	int err = -EINVAL;

	if (f == NULL)
		return -errno;
	snprintf(want, sizeof(want), "Longest topological path in %s (length=", module);
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, want);
		char *end;

		if (p == NULL)
			continue;
		p += strlen(want);
		y->ltp = strtoull(p, &end, 10);
		if (end != p && *end == ')')
			err = 0;
		break;
	}
	fclose(f);
	return err;
}

/* Read both reports of @p module from @p dir; says what is wrong on stderr. */
static int
read_synth(struct synth *y, const char *dir, const char *module)
{
	int err;

	*y = (struct synth){ 0 };
	snprintf(y->stat_path, sizeof(y->stat_path), "%s/synth_%s.stat", dir, module);
	snprintf(y->ltp_path, sizeof(y->ltp_path), "%s/synth_%s.ltp", dir, module);
	for (int i = 0; i < 2; i++) {
		const char *path = i == 0 ? y->stat_path : y->ltp_path;

		err = i == 0 ? parse_stat(y, module) : parse_ltp(y, module);
		if (err == -ENOENT) {
			fprintf(stderr, "tally-bench rtl: synthesis report not found at %s (build "
					"the project first: ninja -C BUILDDIR; or name the folder "
					"with --synth-dir)\n", path);
			return err;
		}
		if (err == -EINVAL) {
			fprintf(stderr, "tally-bench rtl: %s: not a yosys %s report of %s\n", path,
				i == 0 ? "stat" : "ltp", module);
			return err;
		}
		if (err < 0) {
			fprintf(stderr, "tally-bench rtl: cannot read %s: %s\n", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

static bool progress_tty;

static void
progress(const char *kernel, const char *what, unsigned run, unsigned runs)
{
	char r[32] = "";

	if (runs > 0)
		snprintf(r, sizeof(r), run == 0 ? " warm-up" : " run %u/%u", run, runs);
	fprintf(stderr, "%srtl: %s %s%s%s", progress_tty ? "\r\033[K" : "", kernel, what, r,
		progress_tty ? "" : "\n");
	fflush(stderr);
}

/* Latency, then the warm-up and timed stream runs of one kernel; says what
 * went wrong on stderr. */
static int
measure_kernel(struct kernel_result *k, const struct opts *o)
{
	char why[384];
	uint64_t sorted[RUNS_MAX];
	tally_ksim_t *s;
	int err;

	s = tally_ksim_create(k->kind, NULL, &err);
	if (s == NULL) {
		fprintf(stderr, "tally-bench rtl: cannot create the %s simulation: %s\n", k->name,
			strerror(-err));
		return err;
	}
	k->nodes = tally_ksim_nodes(s);
	progress(k->name, "latency", 0, 0);
	err = measure_latency(s, k->kind, &k->latency, why, sizeof(why));
	if (err != 0) {
		fprintf(stderr, "%stally-bench rtl: %s latency: %s\n", progress_tty ? "\r\033[K" : "",
			k->name, why);
		goto out;
	}
	k->runs = o->runs;
	for (unsigned run = 0; run < WARMUP_RUNS + o->runs; run++) {
		progress(k->name, "stream", run < WARMUP_RUNS ? 0 : run - WARMUP_RUNS + 1, o->runs);
		/* Every run, the warm-up too, is checked in full. */
		err = tally_bench_rtl_stream(s, k->kind, o->pairs, &k->stream);
		if (err != 0) {
			fprintf(stderr, "%stally-bench rtl: %s: %s\n", progress_tty ? "\r\033[K" : "",
				k->name, k->stream.why);
			goto out;
		}
		if (run >= WARMUP_RUNS)
			k->run_ns[run - WARMUP_RUNS] = k->stream.ns;
	}
	/* The model is deterministic: every run steps the same clocks. */
	k->run_cycles = k->stream.cycles;
	memcpy(sorted, k->run_ns, k->runs * sizeof(sorted[0]));
	tally_bench_stats(sorted, k->runs, &k->st);
	k->cycles_per_sec = (double)k->run_cycles / (k->st.median_ns * 1e-9);
	k->merges_per_cycle = k->stream.merges_per_cycle;
	k->steady_merges_per_cycle = k->stream.span > k->latency ?
		(double)k->stream.pairs / (double)(k->stream.span - k->latency) : NAN;
	for (unsigned c = 0; c < NCLOCKS; c++)
		k->projected[c] = k->merges_per_cycle * clock_mhz[c] * 1e6;
out:
	tally_ksim_free(s);
	return err;
}

static const char *
met_str(bool met)
{
	return met ? "met" : "not met";
}

static bool
mpc_met(const struct kernel_result *k)
{
	return isfinite(k->steady_merges_per_cycle) &&
	       k->steady_merges_per_cycle >= GOAL_MERGES_PER_CYCLE;
}

static bool
cps_met(const struct kernel_result *k)
{
	return isfinite(k->cycles_per_sec) && k->cycles_per_sec >= GOAL_MODEL_CPS;
}

static void
print_header(const struct opts *o, const char *cpu, int pinned)
{
	printf("tally-bench rtl%s\n", o->quick ? " --quick: a smoke test, figures are not a measurement" : "");
	printf("cpu: %s", cpu);
	if (pinned >= 0)
		printf(" (pinned to cpu %d)\n", pinned);
	else
		printf(" (not pinned: %s)\n", strerror(-pinned));
	printf("models: Verilator, cycle-accurate, TALLY_MAX_NODES=%d (%zu B vectors); %" PRIu64
	       " pairs a run,\n  offered every clock, output always ready, every result checked "
	       "against the C reference\n", TALLY_MAX_NODES, sizeof(tally_vec_t), o->pairs);
	printf("runs: %u timed after %u warm-up, median reported, CLOCK_MONOTONIC\n", o->runs,
	       WARMUP_RUNS);
	printf("synthesis: %s/synth_<module>.{stat,ltp}: yosys synth_xilinx -flatten -noiopad,\n"
	       "  a 7-series-like mapping; no timing closure, not a vendor flow\n", o->synth_dir);
	fflush(stdout);
}

static void
print_kernels(const struct kernel_result *ks, unsigned n)
{
	printf("%-14s %12s %12s %7s %12s %7s", "kernel", "merges/cycle", "steady state",
	       "latency", "model Mcyc/s", "spread");
	for (unsigned c = 0; c < NCLOCKS; c++) {
		char h[16];

		snprintf(h, sizeof(h), "@%.0f MHz", clock_mhz[c]);
		printf(" %9s", h);
	}
	printf("\n");
	for (unsigned i = 0; i < n; i++) {
		const struct kernel_result *k = &ks[i];
		double spread = 100.0 * (k->st.max_ns - k->st.min_ns) / k->st.median_ns;

		printf("%-14s %12.6f %12.6f %7" PRIu64 " %12.3f %6.1f%%", k->name,
		       k->merges_per_cycle, k->steady_merges_per_cycle, k->latency,
		       k->cycles_per_sec / 1e6, spread);
		for (unsigned c = 0; c < NCLOCKS; c++)
			printf(" %9.2f", k->projected[c] / 1e6);
		printf("\n");
	}
	printf("\nmerges/cycle: N results over the clocks from the first accept to the last emit,\n"
	       "fill included (");
	for (unsigned i = 0; i < n; i++)
		printf("%s%s: %" PRIu64 " over %" PRIu64, i ? "; " : "", ks[i].name,
		       ks[i].stream.pairs, ks[i].stream.span);
	printf(");\nsteady state: N over those clocks minus the latency; latency: clocks from the\n"
	       "accept of one pair by the idle kernel to the emit of its result; model Mcyc/s:\n"
	       "simulated clocks per host second (%" PRIu64 " clocks a run), spread (max - min) /\n"
	       "median; @MHz: merges/cycle x clock, millions of merges per second.\n\n",
	       ks[0].run_cycles);

	printf("%-14s %8s %8s %8s %8s %10s\n", "synthesis", "LUTs", "FFs", "CARRY4", "cells",
	       "ltp length");
	for (unsigned i = 0; i < n; i++) {
		const struct synth *y = &ks[i].synth;

		printf("%-14s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %10" PRIu64 "\n",
		       ks[i].name, y->luts, y->ffs, y->carry4, y->cells, y->ltp);
	}
	printf("\nLUTs: LUT1..LUT6 cells; FFs: FDRE, FDSE, FDCE, FDPE cells; cells: every cell of\n"
	       "the flattened module; ltp length: cells on the longest topological path, as\n"
	       "yosys ltp -noff counts them. yosys synth_xilinx, not a vendor flow: no placement,\n"
	       "no timing closure, so no Fmax; the projection clocks are assumptions.\n\n");

	for (unsigned i = 0; i < n; i++)
		printf("goal: %s >= %.2f merges/cycle sustained (steady state): %.6f (%s)\n",
		       ks[i].name, GOAL_MERGES_PER_CYCLE, ks[i].steady_merges_per_cycle,
		       met_str(mpc_met(&ks[i])));
	for (unsigned i = 0; i < n; i++)
		printf("goal (later work): %s model >= %.1f M cycles/s: %.3f M cycles/s (%s)\n",
		       ks[i].name, GOAL_MODEL_CPS / 1e6, ks[i].cycles_per_sec / 1e6,
		       met_str(cps_met(&ks[i])));
}

static void
json_kernel(FILE *f, const struct kernel_result *k)
{
	const struct synth *y = &k->synth;

	fprintf(f, "{\"kernel\":");
	tally_bench_json_str(f, k->name);
	fprintf(f, ",\"nodes\":%u,\"pairs\":%" PRIu64 ",\"results_checked\":%" PRIu64
		   ",\"results_agree\":true,\"first_accept_cycle\":%" PRIu64
		   ",\"last_emit_cycle\":%" PRIu64 ",\"span_cycles\":%" PRIu64
		   ",\"cycles_per_run\":%" PRIu64 ",\"merges_per_cycle\":",
		k->nodes, k->stream.pairs, k->stream.pairs, k->stream.first_accept,
		k->stream.last_emit, k->stream.span, k->run_cycles);
	tally_bench_json_num(f, k->merges_per_cycle);
	fprintf(f, ",\"steady_state_merges_per_cycle\":");
	tally_bench_json_num(f, k->steady_merges_per_cycle);
	fprintf(f, ",\"latency_cycles\":%" PRIu64 ",\"run_ns\":[", k->latency);
	for (unsigned j = 0; j < k->runs; j++)
		fprintf(f, "%s%" PRIu64, j ? "," : "", k->run_ns[j]);
	fprintf(f, "],\"model_cycles_per_sec\":");
	tally_bench_json_num(f, k->cycles_per_sec);
	fprintf(f, ",\"model_cycles_per_sec_min\":");
	tally_bench_json_num(f, (double)k->run_cycles / (k->st.max_ns * 1e-9));
	fprintf(f, ",\"model_cycles_per_sec_max\":");
	tally_bench_json_num(f, (double)k->run_cycles / (k->st.min_ns * 1e-9));
	fprintf(f, ",\"projected\":[");
	for (unsigned c = 0; c < NCLOCKS; c++) {
		fprintf(f, "%s{\"clock_mhz\":", c ? "," : "");
		tally_bench_json_num(f, clock_mhz[c]);
		fprintf(f, ",\"merges_per_sec\":");
		tally_bench_json_num(f, k->projected[c]);
		fprintf(f, ",\"vs_100gbe_line_rate\":");
		tally_bench_json_num(f, k->projected[c] / TALLY_BENCH_100GBE_MIN_PPS);
		fputc('}', f);
	}
	fprintf(f, "],\"synthesis\":{\"stat\":");
	tally_bench_json_str(f, y->stat_path);
	fprintf(f, ",\"ltp\":");
	tally_bench_json_str(f, y->ltp_path);
	fprintf(f, ",\"luts\":%" PRIu64 ",\"ffs\":%" PRIu64 ",\"carry4\":%" PRIu64
		   ",\"cells\":%" PRIu64 ",\"ltp_length\":%" PRIu64 "}",
		y->luts, y->ffs, y->carry4, y->cells, y->ltp);
	fprintf(f, ",\"goals\":[{\"goal\":\"merges_per_cycle_sustained\",\"metric\":"
		   "\"steady_state_merges_per_cycle\",\"threshold\":%.2f,\"value\":",
		GOAL_MERGES_PER_CYCLE);
	tally_bench_json_num(f, k->steady_merges_per_cycle);
	fprintf(f, ",\"met\":%s},{\"goal\":\"model_cycles_per_sec\",\"metric\":"
		   "\"model_cycles_per_sec\",\"threshold\":%.0f,\"value\":",
		mpc_met(k) ? "true" : "false", GOAL_MODEL_CPS);
	tally_bench_json_num(f, k->cycles_per_sec);
	fprintf(f, ",\"met\":%s,\"for\":\"later issues\"}]}", cps_met(k) ? "true" : "false");
}

/* Write the report to @p f and close it; 0 or a negative errno. */
static int
write_json(FILE *f, const struct opts *o, const char *cpu, int pinned,
	   const struct kernel_result *ks, unsigned nk, const struct tally_bench_merge_rate *rows,
	   unsigned nrows, unsigned ncpu)
{
	int err;

	fprintf(f, "{\"bench\":\"rtl\",\"version\":1,\"quick\":%s,\"cpu\":",
		o->quick ? "true" : "false");
	tally_bench_json_str(f, cpu);
	fprintf(f, ",\"pinned_cpu\":");
	if (pinned >= 0)
		fprintf(f, "%d", pinned);
	else
		fputs("null", f);
	fprintf(f, ",\"max_nodes\":%d,\"vec_bytes\":%zu,\"pairs\":%" PRIu64 ",\"runs\":%u,"
		   "\"warmup_runs\":%u,\"statistic\":\"median\",\"clock\":\"CLOCK_MONOTONIC\","
		   "\"simulator\":\"verilator\",\"synth_dir\":",
		TALLY_MAX_NODES, sizeof(tally_vec_t), o->pairs, o->runs, WARMUP_RUNS);
	tally_bench_json_str(f, o->synth_dir);
	fprintf(f, ",\"synthesis_flow\":\"yosys synth_xilinx -flatten -noiopad: a 7-series-like "
		   "mapping, no timing closure, not a vendor flow\",\"line_rate\":{\"name\":"
		   "\"100GbE minimum-size frames\",\"formula\":\"100e9 / ((64 + 20) * 8)\","
		   "\"frames_per_sec\":");
	tally_bench_json_num(f, TALLY_BENCH_100GBE_MIN_PPS);
	fprintf(f, "},\"clocks_mhz\":[");
	for (unsigned c = 0; c < NCLOCKS; c++) {
		fputs(c ? "," : "", f);
		tally_bench_json_num(f, clock_mhz[c]);
	}
	fprintf(f, "],\"kernels\":[");
	for (unsigned i = 0; i < nk; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_kernel(f, &ks[i]);
	}
	fprintf(f, "],\"cpu_rows\":%u,\"merge_table\":", ncpu);
	tally_bench_json_merge_table(f, rows, nrows);
	fprintf(f, "}\n");
	err = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && err == 0)
		err = -errno;
	return err;
}

int
tally_bench_rtl_main(int argc, char **argv)
{
	struct tally_bench_merge_rate rows[TALLY_ISA_COUNT + NKINDS * NCLOCKS];
	struct kernel_result *ks = NULL;
	unsigned nrows = 0, ncpu = 0;
	FILE *json = NULL;
	struct opts o;
	char cpu[256];
	int pinned, rc, ret = TALLY_BENCH_EXIT_FAIL;

	rc = parse_opts(argc, argv, &o);
	if (rc > 0)
		return TALLY_BENCH_EXIT_OK;
	if (rc < 0) {
		fprintf(stderr, "see: tally-bench rtl --help\n");
		return TALLY_BENCH_EXIT_USAGE;
	}
	progress_tty = isatty(STDERR_FILENO);
	tally_bench_cpu_model(cpu, sizeof(cpu));
	pinned = tally_bench_pin();

	/* The synthesis files and the report first: a bad path fails in
	 * milliseconds, not after the simulation; and a build that has not
	 * made the reports yet does not truncate the last JSON. */
	ks = calloc(NKINDS, sizeof(*ks));
	if (ks == NULL) {
		fprintf(stderr, "tally-bench rtl: %s\n", strerror(ENOMEM));
		goto out;
	}
	for (unsigned i = 0; i < NKINDS; i++) {
		ks[i].kind = kinds[i];
		ks[i].name = tally_ksim_kind_name(kinds[i]);
		if (read_synth(&ks[i].synth, o.synth_dir, ks[i].name) != 0)
			goto out;
	}
	json = fopen(o.json, "w");
	if (json == NULL) {
		fprintf(stderr, "tally-bench rtl: cannot write %s: %s\n", o.json, strerror(errno));
		goto out;
	}

	print_header(&o, cpu, pinned);
	for (unsigned i = 0; i < NKINDS; i++)
		if (measure_kernel(&ks[i], &o) != 0)
			goto out;
	rc = tally_bench_cpu_merge_cache(o.runs, o.quick, rows);
	if (rc < 0) {
		fprintf(stderr, "%stally-bench rtl: CPU merge kernels: %s\n",
			progress_tty ? "\r\033[K" : "",
			rc == -EPROTO ? "a kernel's result differs from the scalar kernel's" :
					strerror(-rc));
		goto out;
	}
	if (progress_tty)
		fprintf(stderr, "\r\033[K");
	ncpu = nrows = (unsigned)rc;
	for (unsigned i = 0; i < NKINDS; i++)
		nrows += tally_bench_rtl_project(ks[i].name, ks[i].merges_per_cycle, &rows[nrows]);

	printf("\n");
	print_kernels(ks, NKINDS);
	printf("\nmerge throughput, CPU and offload side by side: one merge is one pair of\n"
	       "vectors in, one merged vector out; cpu rows measured in this run as\n"
	       "tally-bench kernels measures its cache merge rows (one core), rtl rows projected\n"
	       "from the merges/cycle above.\n");
	tally_bench_print_merge_table(rows, nrows);
	printf("\n");

	rc = write_json(json, &o, cpu, pinned, ks, NKINDS, rows, nrows, ncpu);
	json = NULL; /* closed by write_json */
	if (rc < 0) {
		fprintf(stderr, "tally-bench rtl: cannot write %s: %s\n", o.json, strerror(-rc));
		goto out;
	}
	printf("json: wrote %s\n", o.json);
	ret = TALLY_BENCH_EXIT_OK;
out:
	if (json != NULL)
		fclose(json);
	free(ks);
	return ret;
}
