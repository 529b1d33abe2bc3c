/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-bench kernels: how fast the batch kernels of dataplane/kernels.h
 * merge and compare vectors, for every instruction set this CPU runs, next to
 * memcpy of the same bytes, with the working set in cache and in DRAM.
 *
 * The two questions it answers are the goals the SIMD kernels were written
 * for: in cache, is the best SIMD merge at least 3x the scalar one (compute
 * bound, so instruction width should show); in DRAM, does the best SIMD merge
 * move at least 0.8x the bytes per second memcpy does (memory bound, so the
 * kernel should be close to the copy the hardware can do). Both are reported
 * as measured, never asserted: a benchmark that fails on a busy machine
 * teaches people to ignore it.
 *
 * Method: every row does a fixed amount of work per run (never "as many as
 * fit in a second", so every run of a row is the same work and runs compare);
 * one warm-up run is discarded; the median of the timed runs is reported with
 * its spread. Rows that are compared with each other run interleaved, run 1
 * of each, then run 2 of each, and so on: on a shared or virtual machine the
 * speed of a core drifts over seconds (a neighbour on the sibling thread can
 * halve it), and interleaving spreads that drift over every kernel instead
 * of landing on whichever ran at the wrong moment.
 *
 * Kernels are called through the constant tables, from another translation
 * unit, and a compiler barrier after every call keeps the stores; a checksum
 * of each row's final output goes into the JSON and is compared with the
 * scalar kernel's, so a fast wrong kernel cannot pass unnoticed.
 *
 * After the table, the cache merge rows sit beside the RTL merge kernel
 * (gcounter_merge) projected at the NIC's clocks from a short run of its
 * Verilated model, every result checked, and the 100GbE line rate: the same
 * table tally-bench rtl prints, so either command shows CPU and offload side
 * by side. tally-bench rtl measures the RTL in full.
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

/* dst + src of the cache rows: the 32 KiB L1d most x86 cores have (48 KiB on
 * newer ones); measured on Zen 4, 16 KiB gives the same ns/op and 64 KiB, in
 * L2, is slower. 256 vectors per call keep the call overhead to a few percent. */
#define CACHE_WS_BYTES (32u * 1024u)

#define DRAM_MIB_DEFAULT 256u
#define DRAM_MIB_QUICK 8u
#define DRAM_MIB_MAX (1u << 20)

/*
 * MiB of buffer (dst and src together) a DRAM row sweeps per timed run:
 * 6 passes over the default 256 MiB, 50-170 ms a run on the Zen 4 VM these
 * counts were tuned on.
 * Fixed in bytes rather than passes so a larger --dram-mib does not make
 * runs longer, only fewer passes (at least one).
 */
#define DRAM_SWEEP_MIB 1536u

/* Pairs of the gcounter_merge run behind the side-by-side table: enough that
 * the one clock of pipeline fill is under 0.002% of the figure. */
#define RTL_PAIRS (1u << 16)
#define RTL_PAIRS_QUICK (1u << 12)

#define RUNS_DEFAULT 5u
#define RUNS_MAX 1000u
#define WARMUP_RUNS 1u
#define JSON_DEFAULT "tally-bench-kernels.json"

/* Seeds of the input generators; fixed so every run and every machine
 * measures the same inputs. */
#define SEED_MERGE_DST 0x74616c6c79647374ull
#define SEED_MERGE_SRC 0x74616c6c79737263ull
#define SEED_COMPARE 0x74616c6c79636d70ull

/* Goals of the SIMD kernels (see the comment at the top). */
#define GOAL_SIMD_VS_SCALAR 3.0
#define GOAL_SIMD_VS_MEMCPY 0.8

enum op { OP_MERGE, OP_COPY, OP_COMPARE };
enum residency { RES_CACHE, RES_DRAM };

static const char *const op_name[] = { "merge", "copy", "compare" };
static const char *const res_name[] = { "cache", "dram" };

/*
 * Bytes one operation moves, counted as STREAM counts them: every byte read
 * once plus every byte written once, without the read-for-ownership a store
 * to an uncached line costs. A merge reads dst and src and writes dst; a copy
 * reads src and writes dst; a compare reads a and b and writes one order byte.
 */
static uint64_t
op_bytes(enum op op)
{
	switch (op) {
	case OP_MERGE:
		return 3 * sizeof(tally_vec_t);
	case OP_COPY:
		return 2 * sizeof(tally_vec_t);
	case OP_COMPARE:
	default:
		return 2 * sizeof(tally_vec_t) + 1;
	}
}

/*
 * Passes over the cache working set per timed run, by kernel. Fixed counts,
 * so a run is the same work every time; they differ by kernel only so that
 * each run lasts 50-200 ms on the Zen 4 VM they were tuned on, whatever the
 * kernel's speed (ops/s does not depend on the count). --quick divides these
 * and DRAM_SWEEP_MIB by QUICK_DIV.
 */
#define QUICK_DIV 32u

struct cache_passes {
	const char *kernel;
	uint64_t merge;
	uint64_t compare;
};

static const struct cache_passes cache_passes[] = {
	{ "scalar", 80000, 64000 },
	{ "avx2", 320000, 256000 },
	{ "avx512", 480000, 320000 },
	{ "memcpy", 320000, 0 },
};

static const struct cache_passes *
cache_passes_of(const char *kernel)
{
	for (size_t i = 0; i < sizeof(cache_passes) / sizeof(cache_passes[0]); i++)
		if (strcmp(cache_passes[i].kernel, kernel) == 0)
			return &cache_passes[i];
	/* A kernel table added later without an entry here gets the slowest's. */
	return &cache_passes[0];
}

/* memcpy with the merge kernel's signature, so rows time it the same way. */
static void
copy_batch(tally_vec_t *restrict dst, const tally_vec_t *restrict src, size_t n)
{
	memcpy(dst, src, n * sizeof(*dst));
}

/* Two buffers of n vectors (dst/src for merge and copy, a/b for compare) and
 * the n order bytes of compare, with what they were last filled for. */
struct arena {
	tally_vec_t *x;
	tally_vec_t *y;
	uint8_t *order;
	size_t n;
	enum { FILLED_NONE, FILLED_MERGE, FILLED_COMPARE } filled;
};

/* One line of the table and of the JSON. */
struct row {
	const char *kernel;
	const struct tally_kernels *k; /* NULL for memcpy */
	enum op op;
	enum residency res;
	size_t n;              /* vectors per buffer */
	uint64_t passes;       /* passes over the buffers per run */
	uint64_t ops_per_run;  /* n * passes */
	uint64_t ws_bytes;     /* bytes the row touches */
	unsigned runs;
	uint64_t run_ns[RUNS_MAX]; /* timed runs, in the order they ran */
	struct tally_bench_stats st;
	double ops_per_sec;
	double ns_per_op;
	double gbps;
	double vs_scalar; /* NAN when there is no scalar row to compare */
	double vs_memcpy;
	uint64_t checksum;
	bool agrees; /* checksum equals the scalar row's (true without one) */
};

/* One goal: the ratio each SIMD kernel reached and the best of them. */
struct goal {
	const char *id;
	const char *what;      /* "scalar" or "memcpy bandwidth" */
	char text[96];         /* "best SIMD >= 3.0x scalar, cache-resident" */
	const char *baseline;  /* "scalar" or "memcpy" */
	const char *metric;    /* what the ratio is of */
	enum residency res;
	double threshold;
	unsigned n;
	const char *kernel[TALLY_ISA_COUNT];
	double ratio[TALLY_ISA_COUNT];
	int best; /* index into kernel[], -1 without SIMD kernels */
};

struct opts {
	bool quick;
	bool verbose;
	unsigned runs;
	uint64_t dram_mib;
	const char *json;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tally-bench kernels [--quick] [--runs N] [--dram-mib N] [--json FILE] [--verbose]\n"
		"\n"
		"Measure the batch merge kernel (dst[i] = max(dst[i], src[i])) and the batch\n"
		"version-vector compare kernel of every kernel table this CPU runs (scalar,\n"
		"avx2, avx512), and memcpy of the same bytes, with the working set in cache\n"
		"(%u KiB) and in DRAM. Prints a table and the two goals of the SIMD kernels as\n"
		"measured (best SIMD merge >= %.1fx scalar in cache; >= %.1fx memcpy bandwidth\n"
		"in DRAM), and writes the same figures as JSON. Never fails on a missed goal.\n"
		"Then a second table puts the cache merge rates beside the RTL merge kernel\n"
		"(gcounter_merge) projected at 250 and 322 MHz from the merges/cycle of a\n"
		"%u-pair run of its Verilator model (%u with --quick; every result checked\n"
		"against the C reference) and the 100GbE minimum-frame rate, as tally-bench rtl\n"
		"does; tally-bench rtl measures the RTL kernels in full.\n"
		"\n"
		"Each row does fixed work per run (the cache set many times over; %u MiB of\n"
		"the DRAM set swept, at least one pass); %u warm-up run is discarded, runs are\n"
		"interleaved across kernels, the median is reported; CLOCK_MONOTONIC.\n"
		"GB/s counts bytes STREAM-style (10^9 bytes): a merge reads dst and src and\n"
		"writes dst (3 x %zu B), a copy reads src and writes dst (2 x %zu B), a\n"
		"compare reads a and b and writes one order byte.\n"
		"\n"
		"Options:\n"
		"  --quick         small working sets and few iterations (well under 2 s):\n"
		"                  a smoke test of every kernel, not a measurement\n"
		"  --runs N        timed runs per row, 1..%u (default %u)\n"
		"  --dram-mib N    DRAM working set in MiB, dst and src together, 2..%u\n"
		"                  (default %u; %u with --quick)\n"
		"  --json FILE     write the JSON report to FILE (default %s)\n"
		"  -v, --verbose   also print each row's work per run, run times and checksum\n"
		"  -h, --help      print this help and exit\n"
		"\n"
		"Progress goes to stderr. Exit status: 0 success, 1 runtime failure\n"
		"(allocation, JSON file, a kernel disagreeing with scalar or with the C\n"
		"reference, the simulation), 2 usage error.\n",
		CACHE_WS_BYTES / 1024, GOAL_SIMD_VS_SCALAR, GOAL_SIMD_VS_MEMCPY, RTL_PAIRS,
		RTL_PAIRS_QUICK, DRAM_SWEEP_MIB,
		WARMUP_RUNS,
		sizeof(tally_vec_t), sizeof(tally_vec_t), RUNS_MAX, RUNS_DEFAULT, DRAM_MIB_MAX,
		DRAM_MIB_DEFAULT, DRAM_MIB_QUICK, JSON_DEFAULT);
}

/* Fill @p o from the command line: 0, 1 when --help was printed, or
 * -EINVAL after saying what is wrong on stderr. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "dram-mib", required_argument, NULL, 'd' },
		{ "json", required_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool dram_set = false;
	uint64_t v;
	int c;

	*o = (struct opts){ .runs = RUNS_DEFAULT, .dram_mib = DRAM_MIB_DEFAULT,
			    .json = JSON_DEFAULT };
	/* Our own messages name the subcommand; 0 also resets getopt's state,
	 * which a later "all" subcommand running several parsers relies on. */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'r':
			if (tally_bench_opt_u64("kernels", "runs", optarg, 1, RUNS_MAX, &v) != 0)
				return -EINVAL;
			o->runs = (unsigned)v;
			break;
		case 'd':
			if (tally_bench_opt_u64("kernels", "dram-mib", optarg, 2, DRAM_MIB_MAX, &v) != 0)
				return -EINVAL;
			o->dram_mib = v;
			dram_set = true;
			break;
		case 'j':
			if (tally_bench_opt_file("kernels", "json", optarg, &o->json) != 0)
				return -EINVAL;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return tally_bench_opt_error("kernels", c, argv);
		}
	}
	if (tally_bench_opt_end("kernels", argc, argv) != 0)
		return -EINVAL;
	if (o->quick && !dram_set)
		o->dram_mib = DRAM_MIB_QUICK;
	return 0;
}

static void *
alloc_touched(size_t bytes)
{
	/* aligned_alloc wants a multiple of the alignment. */
	size_t sz = (bytes + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, sz);

	/* Fault every page in now, so no run pays for first-touch page faults;
	 * the generators overwrite this anyway. */
	if (p != NULL)
		memset(p, 0, sz);
	return p;
}

static int
arena_init(struct arena *a, size_t n)
{
	*a = (struct arena){ .n = n };
	a->x = alloc_touched(n * sizeof(tally_vec_t));
	a->y = alloc_touched(n * sizeof(tally_vec_t));
	a->order = alloc_touched(n);
	if (a->x == NULL || a->y == NULL || a->order == NULL)
		return -ENOMEM;
	return 0;
}

static void
arena_free(struct arena *a)
{
	free(a->x);
	free(a->y);
	free(a->order);
}

/*
 * Merge inputs: independent uniform slots, so src is above dst in about half
 * of them and a merge changes about half the slots. src is filled once; dst
 * is filled again before every run, so every run starts from the same state.
 */
static void
fill_merge_src(struct arena *a)
{
	if (a->filled != FILLED_MERGE)
		tally_bench_fill_random(a->y, a->n, SEED_MERGE_SRC);
	a->filled = FILLED_MERGE;
}

static void
fill_merge_dst(struct arena *a)
{
	tally_bench_fill_random(a->x, a->n, SEED_MERGE_DST);
}

/* Compare inputs: the four orders in equal shares (tally_bench_fill_orders). */
static void
fill_compare(struct arena *a)
{
	if (a->filled == FILLED_COMPARE)
		return;
	tally_bench_fill_orders(a->x, a->y, a->n, SEED_COMPARE);
	a->filled = FILLED_COMPARE;
}

static bool progress_tty;

static void
progress(const struct row *r, unsigned run)
{
	char what[32];

	if (run == 0)
		snprintf(what, sizeof(what), "warm-up");
	else
		snprintf(what, sizeof(what), "run %u/%u", run, r->runs);
	/* On a terminal one line updates in place; in a log every run is a line. */
	fprintf(stderr, "%skernels: %s %s %s %s%s", progress_tty ? "\r\033[K" : "",
		r->kernel, res_name[r->res], op_name[r->op], what, progress_tty ? "" : "\n");
	fflush(stderr);
}

/* One timed run of a row: its fixed passes over the arena, nothing else. */
static uint64_t
time_run(const struct row *r, struct arena *a)
{
	tally_merge_batch_fn mv = r->op == OP_COPY ? copy_batch :
				  r->op == OP_MERGE ? r->k->merge : NULL;
	tally_compare_batch_fn cmp = r->op == OP_COMPARE ? r->k->compare : NULL;
	tally_vec_t *x = a->x;
	const tally_vec_t *y = a->y;
	uint8_t *order = a->order;
	size_t n = a->n;
	uint64_t t0, t1;

	t0 = tally_bench_now_ns();
	if (cmp != NULL) {
		for (uint64_t p = 0; p < r->passes; p++) {
			cmp(x, y, order, n);
			TALLY_BENCH_CLOBBER(order);
		}
	} else {
		for (uint64_t p = 0; p < r->passes; p++) {
			mv(x, y, n);
			TALLY_BENCH_CLOBBER(x);
		}
	}
	t1 = tally_bench_now_ns();
	return t1 - t0;
}

static uint64_t
row_checksum(const struct row *r, const struct arena *a)
{
	if (r->op == OP_COMPARE)
		return tally_bench_fold(0xcbf29ce484222325ull, a->order, a->n);
	return tally_bench_fold(0xcbf29ce484222325ull, a->x, a->n * sizeof(tally_vec_t));
}

/*
 * Measure rows [0, nrows) that share an arena, interleaved: the warm-up of
 * each, then round by round one timed run of each.
 *
 * Merge rows refill dst before every run, outside the clock, so every run
 * starts from the same state: the first pass of a run changes about half the
 * slots, later passes none (dst already dominates src). That does not change
 * what is measured: every kernel is branch-free (the scalar max is a cmov)
 * and stores every slot whether it changed or not.
 */
static void
measure_group(struct row *rows, unsigned nrows, struct arena *a)
{
	if (rows[0].op == OP_COMPARE)
		fill_compare(a);
	else
		fill_merge_src(a);
	for (unsigned run = 0; run < WARMUP_RUNS + rows[0].runs; run++) {
		for (unsigned i = 0; i < nrows; i++) {
			struct row *r = &rows[i];
			uint64_t ns;

			progress(r, run < WARMUP_RUNS ? 0 : run - WARMUP_RUNS + 1);
			if (r->op == OP_MERGE)
				fill_merge_dst(a);
			ns = time_run(r, a);
			if (run < WARMUP_RUNS)
				continue;
			r->run_ns[run - WARMUP_RUNS] = ns;
			/* The next row overwrites the output; fold it now. */
			if (run + 1 == WARMUP_RUNS + r->runs)
				r->checksum = row_checksum(r, a);
		}
	}
}

static const struct row *
find_row(const struct row *rows, unsigned nrows, const char *kernel, enum op op,
	 enum residency res)
{
	for (unsigned i = 0; i < nrows; i++)
		if (rows[i].op == op && rows[i].res == res && strcmp(rows[i].kernel, kernel) == 0)
			return &rows[i];
	return NULL;
}

static void
finish_rows(struct row *rows, unsigned nrows)
{
	for (unsigned i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		uint64_t sorted[RUNS_MAX];

		memcpy(sorted, r->run_ns, r->runs * sizeof(sorted[0]));
		tally_bench_stats(sorted, r->runs, &r->st);
		r->ops_per_sec = (double)r->ops_per_run / (r->st.median_ns * 1e-9);
		r->ns_per_op = r->st.median_ns / (double)r->ops_per_run;
		r->gbps = r->ops_per_sec * (double)op_bytes(r->op) / 1e9;
	}
	/* Ratios need every row's figures, so a second pass. */
	for (unsigned i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		const struct row *s = find_row(rows, nrows, "scalar", r->op, r->res);
		const struct row *m = find_row(rows, nrows, "memcpy", OP_COPY, r->res);

		r->vs_scalar = r->op != OP_COPY && s != NULL ?
			       r->ops_per_sec / s->ops_per_sec : NAN;
		r->vs_memcpy = m != NULL ? r->gbps / m->gbps : NAN;
		r->agrees = s == NULL || r->op == OP_COPY || s->checksum == r->checksum;
	}
}

static void
eval_goal(struct goal *g, const struct row *rows, unsigned nrows)
{
	snprintf(g->text, sizeof(g->text), "best SIMD >= %.1fx %s, %s-resident", g->threshold,
		 g->what, g->res == RES_CACHE ? "cache" : "DRAM");
	g->n = 0;
	g->best = -1;
	for (unsigned i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		double ratio;

		if (r->op != OP_MERGE || r->res != g->res || r->k == NULL ||
		    r->k->isa == TALLY_ISA_SCALAR)
			continue;
		ratio = strcmp(g->baseline, "scalar") == 0 ? r->vs_scalar : r->vs_memcpy;
		g->kernel[g->n] = r->kernel;
		g->ratio[g->n] = ratio;
		if (g->best < 0 || ratio > g->ratio[g->best])
			g->best = (int)g->n;
		g->n++;
	}
}

static const char *
met_str(double ratio, double threshold)
{
	return isfinite(ratio) && ratio >= threshold ? "met" : "not met";
}

static void
print_table(const struct row *rows, unsigned nrows, bool verbose)
{
	printf("%-8s %-7s %-9s %11s %9s %8s %7s %6s %9s %9s\n", "op", "kernel", "residency",
	       "working set", "Mops/s", "ns/op", "GB/s", "spread", "vs scalar", "vs memcpy");
	for (unsigned i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		double spread = 100.0 * (r->st.max_ns - r->st.min_ns) / r->st.median_ns;
		char ws[32], vs[16], vm[16];

		tally_bench_fmt_bytes(ws, sizeof(ws), r->ws_bytes);
		tally_bench_fmt_ratio(vs, sizeof(vs), r->vs_scalar);
		tally_bench_fmt_ratio(vm, sizeof(vm), r->vs_memcpy);
		printf("%-8s %-7s %-9s %11s %9.1f %8.3f %7.2f %5.1f%% %9s %9s%s\n",
		       op_name[r->op], r->kernel, res_name[r->res], ws, r->ops_per_sec / 1e6,
		       r->ns_per_op, r->gbps, spread, vs, vm, r->agrees ? "" : "  WRONG RESULT");
		if (verbose) {
			printf("    %" PRIu64 " ops/run = %" PRIu64 " passes x %zu vectors; "
			       "checksum 0x%016" PRIx64 "; run ms:",
			       r->ops_per_run, r->passes, r->n, r->checksum);
			for (unsigned j = 0; j < r->runs; j++)
				printf(" %.2f", (double)r->run_ns[j] / 1e6);
			printf("\n");
		}
	}
}

static void
print_goal(const struct goal *g)
{
	if (g->best < 0) {
		printf("goal: %s: not measured, no SIMD kernel on this CPU or build (not met)\n",
		       g->text);
		return;
	}
	printf("goal: %s: %.2fx (%s, %s)\n", g->text, g->ratio[g->best], g->kernel[g->best],
	       met_str(g->ratio[g->best], g->threshold));
	for (unsigned i = 0; i < g->n; i++)
		printf("      %-7s %.2fx (%s)\n", g->kernel[i], g->ratio[i],
		       met_str(g->ratio[i], g->threshold));
}

static void
json_row(FILE *f, const struct row *r)
{
	fprintf(f, "{\"kernel\":");
	tally_bench_json_str(f, r->kernel);
	fprintf(f, ",\"op\":\"%s\",\"residency\":\"%s\",\"working_set_bytes\":%" PRIu64
		   ",\"vectors\":%zu,\"passes_per_run\":%" PRIu64 ",\"ops_per_run\":%" PRIu64
		   ",\"bytes_per_op\":%" PRIu64 ",\"run_ns\":[",
		op_name[r->op], res_name[r->res], r->ws_bytes, r->n, r->passes, r->ops_per_run,
		op_bytes(r->op));
	for (unsigned j = 0; j < r->runs; j++)
		fprintf(f, "%s%" PRIu64, j ? "," : "", r->run_ns[j]);
	fprintf(f, "],\"ops_per_sec\":");
	tally_bench_json_num(f, r->ops_per_sec);
	fprintf(f, ",\"ns_per_op\":");
	tally_bench_json_num(f, r->ns_per_op);
	fprintf(f, ",\"ns_per_op_min\":");
	tally_bench_json_num(f, r->st.min_ns / (double)r->ops_per_run);
	fprintf(f, ",\"ns_per_op_max\":");
	tally_bench_json_num(f, r->st.max_ns / (double)r->ops_per_run);
	fprintf(f, ",\"gbytes_per_sec\":");
	tally_bench_json_num(f, r->gbps);
	fprintf(f, ",\"vs_scalar\":");
	tally_bench_json_num(f, r->vs_scalar);
	fprintf(f, ",\"vs_memcpy\":");
	tally_bench_json_num(f, r->vs_memcpy);
	fprintf(f, ",\"checksum\":\"0x%016" PRIx64 "\",\"agrees_with_scalar\":%s}", r->checksum,
		r->agrees ? "true" : "false");
}

static void
json_goal(FILE *f, const struct goal *g)
{
	fprintf(f, "{\"goal\":\"%s\",\"text\":", g->id);
	tally_bench_json_str(f, g->text);
	fprintf(f, ",\"op\":\"merge\",\"residency\":\"%s\",\"baseline\":\"%s\",\"metric\":",
		res_name[g->res], g->baseline);
	tally_bench_json_str(f, g->metric);
	fprintf(f, ",\"threshold\":%.2f,\"best_kernel\":", g->threshold);
	if (g->best >= 0)
		tally_bench_json_str(f, g->kernel[g->best]);
	else
		fputs("null", f);
	fprintf(f, ",\"best\":");
	tally_bench_json_num(f, g->best >= 0 ? g->ratio[g->best] : NAN);
	fprintf(f, ",\"met\":%s,\"kernels\":[",
		g->best >= 0 && isfinite(g->ratio[g->best]) && g->ratio[g->best] >= g->threshold ?
			"true" : "false");
	for (unsigned i = 0; i < g->n; i++) {
		fprintf(f, "%s{\"kernel\":", i ? "," : "");
		tally_bench_json_str(f, g->kernel[i]);
		fprintf(f, ",\"ratio\":");
		tally_bench_json_num(f, g->ratio[i]);
		fprintf(f, ",\"met\":%s}",
			isfinite(g->ratio[i]) && g->ratio[i] >= g->threshold ? "true" : "false");
	}
	fprintf(f, "]}");
}

/* Write the report to @p f and close it; 0 or a negative errno. */
static int
write_json(FILE *f, const struct opts *o, const char *cpu, int pinned,
	   const char *const *tables, unsigned ntables, const struct row *rows, unsigned nrows,
	   const struct goal *goals, unsigned ngoals, bool agree,
	   const struct tally_bench_rtl_stream *rtl, const struct tally_bench_merge_rate *mrows,
	   unsigned nmrows)
{
	int err;

	fprintf(f, "{\"bench\":\"kernels\",\"version\":1,\"quick\":%s,\"cpu\":",
		o->quick ? "true" : "false");
	tally_bench_json_str(f, cpu);
	fprintf(f, ",\"pinned_cpu\":");
	if (pinned >= 0)
		fprintf(f, "%d", pinned);
	else
		fputs("null", f);
	fprintf(f, ",\"max_nodes\":%d,\"vec_bytes\":%zu,\"kernel_tables\":[", TALLY_MAX_NODES,
		sizeof(tally_vec_t));
	for (unsigned i = 0; i < ntables; i++) {
		fputs(i ? "," : "", f);
		tally_bench_json_str(f, tables[i]);
	}
	fprintf(f, "],\"runs\":%u,\"warmup_runs\":%u,\"statistic\":\"median\","
		   "\"clock\":\"CLOCK_MONOTONIC\",\"gbytes\":\"1e9 bytes\","
		   "\"bytes_counted\":\"STREAM-style: merge reads dst and src and writes dst, "
		   "copy reads src and writes dst, compare reads a and b and writes one order byte\","
		   "\"cache_working_set_bytes\":%u,\"dram_working_set_bytes\":%" PRIu64 ","
		   "\"results_agree\":%s,\"rows\":[",
		o->runs, WARMUP_RUNS, CACHE_WS_BYTES, o->dram_mib << 20, agree ? "true" : "false");
	for (unsigned i = 0; i < nrows; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_row(f, &rows[i]);
	}
	fprintf(f, "],\"goals\":[");
	for (unsigned i = 0; i < ngoals; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_goal(f, &goals[i]);
	}
	fprintf(f, "],\"rtl\":{\"kernel\":\"gcounter_merge\",\"simulator\":\"verilator\","
		   "\"pairs\":%" PRIu64 ",\"span_cycles\":%" PRIu64 ",\"results_agree\":true,"
		   "\"merges_per_cycle\":", rtl->pairs, rtl->span);
	tally_bench_json_num(f, rtl->merges_per_cycle);
	fprintf(f, "},\"merge_table\":");
	tally_bench_json_merge_table(f, mrows, nmrows);
	fprintf(f, "}\n");
	err = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && err == 0)
		err = -errno;
	return err;
}

/* Groups of rows measured together (interleaved) and printed together:
 * merge next to memcpy of the same bytes, then compare. */
static const struct {
	enum residency res;
	bool compare;
} groups[] = {
	{ RES_CACHE, false },
	{ RES_DRAM, false },
	{ RES_CACHE, true },
	{ RES_DRAM, true },
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))
#define MAX_ROWS (NGROUPS * (TALLY_ISA_COUNT + 1))

static void
print_header(const struct opts *o, const char *cpu, int pinned, const char *const *tables,
	     unsigned ntables)
{
	uint64_t l3 = tally_bench_l3_bytes();
	char ws[32];

	printf("tally-bench kernels%s\n",
	       o->quick ? " --quick: a smoke test, figures are not a measurement" : "");
	printf("cpu: %s", cpu);
	if (pinned >= 0)
		printf(" (pinned to cpu %d)\n", pinned);
	else
		printf(" (not pinned: %s)\n", strerror(-pinned));
	printf("TALLY_MAX_NODES=%d, sizeof(tally_vec_t)=%zu B, kernel tables:", TALLY_MAX_NODES,
	       sizeof(tally_vec_t));
	for (unsigned i = 0; i < ntables; i++)
		printf(" %s", tables[i]);
	tally_bench_fmt_bytes(ws, sizeof(ws), o->dram_mib << 20);
	printf("\nruns: %u timed after %u warm-up, interleaved across kernels, median reported, "
	       "CLOCK_MONOTONIC\nworking sets: cache %u KiB, dram %s (x and y together)\n",
	       o->runs, WARMUP_RUNS, CACHE_WS_BYTES / 1024, ws);
	printf("GB/s = 10^9 B/s counted STREAM-style: merge reads dst+src, writes dst = 3 x %zu B;\n"
	       "  copy (memcpy) reads src, writes dst = 2 x %zu B; compare reads a+b, writes 1 B\n",
	       sizeof(tally_vec_t), sizeof(tally_vec_t));
	if (l3 > 0 && (o->dram_mib << 20) < 4 * l3)
		printf("note: the dram working set is under 4x the %" PRIu64 " MiB L3 cache, "
		       "so dram rows are partly cache-resident\n", l3 >> 20);
	fflush(stdout);
}

/* Set up the rows of group @p g at @p rows; returns how many. */
static unsigned
group_rows(struct row *rows, size_t g, const struct opts *o, const struct tally_kernels *const *tab,
	   unsigned ntab, const struct arena *a)
{
	/* Every kernel table runs the group's op; memcpy joins merge. */
	unsigned n = ntab + !groups[g].compare;

	for (unsigned i = 0; i < n; i++) {
		struct row *r = &rows[i];
		const struct cache_passes *cp;

		r->op = groups[g].compare ? OP_COMPARE : i < ntab ? OP_MERGE : OP_COPY;
		r->res = groups[g].res;
		r->k = r->op == OP_COPY ? NULL : tab[i];
		r->kernel = r->op == OP_COPY ? "memcpy" : tab[i]->name;
		r->runs = o->runs;
		r->n = a->n;
		cp = cache_passes_of(r->kernel);
		if (r->res == RES_DRAM)
			r->passes = DRAM_SWEEP_MIB / (o->dram_mib * (o->quick ? QUICK_DIV : 1));
		else
			r->passes = (r->op == OP_COMPARE ? cp->compare : cp->merge) /
				    (o->quick ? QUICK_DIV : 1);
		if (r->passes == 0)
			r->passes = 1;
		r->ops_per_run = r->passes * r->n;
		r->ws_bytes = 2 * r->n * sizeof(tally_vec_t) + (r->op == OP_COMPARE ? r->n : 0);
	}
	return n;
}

/* The kernel tables this build and this CPU run, slowest first, and their
 * names into @p names; returns how many (scalar at least). */
static unsigned
kernel_tables(const struct tally_kernels **tab, const char **names)
{
	unsigned n = 0;

	for (unsigned i = 0; i < TALLY_ISA_COUNT; i++) {
		const struct tally_kernels *k = tally_kernels_get((enum tally_isa)i);

		if (k != NULL) {
			tab[n] = k;
			names[n++] = k->name;
		}
	}
	return n;
}

/* Cache merge row @p r as a row of the CPU-versus-offload merge table. */
static void
merge_rate_of(const struct row *r, struct tally_bench_merge_rate *out)
{
	*out = (struct tally_bench_merge_rate){ .kernel = r->kernel,
						.merges_per_sec = r->ops_per_sec };
	snprintf(out->where, sizeof(out->where), "cpu, %u KiB set", CACHE_WS_BYTES / 1024);
	snprintf(out->basis, sizeof(out->basis), "measured: median of %u run%s, one core",
		 r->runs, r->runs == 1 ? "" : "s");
}

int
tally_bench_cpu_merge_cache(unsigned runs, bool quick, struct tally_bench_merge_rate *out)
{
	const struct opts o = { .quick = quick, .runs = runs, .dram_mib = DRAM_MIB_DEFAULT,
				.json = JSON_DEFAULT };
	const struct tally_kernels *tab[TALLY_ISA_COUNT];
	const char *names[TALLY_ISA_COUNT];
	unsigned ntab = kernel_tables(tab, names);
	struct arena a = { 0 };
	struct row *rows;
	size_t g = 0;
	int ret = (int)ntab;

	rows = calloc(TALLY_ISA_COUNT + 1, sizeof(*rows));
	if (rows == NULL || arena_init(&a, CACHE_WS_BYTES / 2 / sizeof(tally_vec_t)) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	while (groups[g].res != RES_CACHE || groups[g].compare)
		g++;
	progress_tty = isatty(STDERR_FILENO);
	group_rows(rows, g, &o, tab, ntab, &a);
	/* group_rows puts memcpy after the kernel tables; only they are wanted. */
	measure_group(rows, ntab, &a);
	finish_rows(rows, ntab);
	for (unsigned i = 0; i < ntab; i++) {
		if (!rows[i].agrees)
			ret = -EPROTO;
		merge_rate_of(&rows[i], &out[i]);
	}
out:
	arena_free(&a);
	free(rows);
	return ret;
}

/* gcounter_merge's merges per clock from a short run of its model, every
 * result checked; says what went wrong on stderr. */
static int
measure_rtl(bool quick, struct tally_bench_rtl_stream *st)
{
	tally_ksim_t *s;
	int err;

	fprintf(stderr, "%skernels: gcounter_merge rtl model%s", progress_tty ? "\r\033[K" : "",
		progress_tty ? "" : "\n");
	s = tally_ksim_create(TALLY_KSIM_GCOUNTER_MERGE, NULL, &err);
	if (s == NULL) {
		fprintf(stderr, "%stally-bench kernels: cannot create the gcounter_merge simulation: %s\n",
			progress_tty ? "\r\033[K" : "", strerror(-err));
		return err;
	}
	err = tally_bench_rtl_stream(s, TALLY_KSIM_GCOUNTER_MERGE,
				     quick ? RTL_PAIRS_QUICK : RTL_PAIRS, st);
	if (err != 0)
		fprintf(stderr, "%stally-bench kernels: gcounter_merge: %s\n",
			progress_tty ? "\r\033[K" : "", st->why);
	tally_ksim_free(s);
	return err;
}

int
tally_bench_kernels_main(int argc, char **argv)
{
	struct goal goals[] = {
		{ .id = "merge_simd_vs_scalar_cache",
		  .what = "scalar",
		  .baseline = "scalar",
		  .metric = "merges per second, SIMD kernel / scalar kernel",
		  .res = RES_CACHE,
		  .threshold = GOAL_SIMD_VS_SCALAR },
		{ .id = "merge_simd_vs_memcpy_dram",
		  .what = "memcpy bandwidth",
		  .baseline = "memcpy",
		  .metric = "STREAM-counted GB/s, SIMD merge / memcpy",
		  .res = RES_DRAM,
		  .threshold = GOAL_SIMD_VS_MEMCPY },
	};
	const unsigned ngoals = sizeof(goals) / sizeof(goals[0]);
	const struct tally_kernels *tab[TALLY_ISA_COUNT];
	const char *names[TALLY_ISA_COUNT];
	struct tally_bench_merge_rate mrows[TALLY_ISA_COUNT + TALLY_BENCH_RTL_NCLOCKS];
	struct tally_bench_rtl_stream rtl;
	struct arena arena[2] = { 0 };
	unsigned ntab, nrows = 0, nmrows = 0;
	struct row *rows = NULL;
	FILE *json = NULL;
	bool agree = true;
	uint64_t dram_bytes;
	struct opts o;
	char cpu[256];
	int pinned, rc, ret = TALLY_BENCH_EXIT_FAIL;

	rc = parse_opts(argc, argv, &o);
	if (rc > 0)
		return TALLY_BENCH_EXIT_OK;
	if (rc < 0) {
		fprintf(stderr, "see: tally-bench kernels --help\n");
		return TALLY_BENCH_EXIT_USAGE;
	}

	ntab = kernel_tables(tab, names);
	progress_tty = isatty(STDERR_FILENO);
	tally_bench_cpu_model(cpu, sizeof(cpu));
	pinned = tally_bench_pin();

	/* Open the report and allocate everything first: a bad path or a
	 * machine without the memory fails in milliseconds, not after half the
	 * benchmark. */
	json = fopen(o.json, "w");
	if (json == NULL) {
		fprintf(stderr, "tally-bench kernels: cannot write %s: %s\n", o.json, strerror(errno));
		goto out;
	}
	dram_bytes = o.dram_mib << 20;
	rows = calloc(MAX_ROWS, sizeof(*rows));
	if (rows == NULL || dram_bytes > SIZE_MAX / 2 ||
	    arena_init(&arena[RES_CACHE], CACHE_WS_BYTES / 2 / sizeof(tally_vec_t)) < 0 ||
	    arena_init(&arena[RES_DRAM], (size_t)(dram_bytes / 2 / sizeof(tally_vec_t))) < 0) {
		fprintf(stderr, "tally-bench kernels: cannot allocate %" PRIu64 " MiB of working set: %s\n",
			o.dram_mib, strerror(ENOMEM));
		goto out;
	}

	print_header(&o, cpu, pinned, names, ntab);
	for (size_t g = 0; g < NGROUPS; g++) {
		struct arena *a = &arena[groups[g].res];
		unsigned n = group_rows(&rows[nrows], g, &o, tab, ntab, a);

		measure_group(&rows[nrows], n, a);
		nrows += n;
	}
	if (measure_rtl(o.quick, &rtl) != 0)
		goto out;
	if (progress_tty)
		fprintf(stderr, "\r\033[K");

	finish_rows(rows, nrows);
	for (unsigned i = 0; i < nrows; i++)
		agree = agree && rows[i].agrees;
	for (unsigned i = 0; i < ngoals; i++)
		eval_goal(&goals[i], rows, nrows);
	for (unsigned i = 0; i < nrows; i++)
		if (rows[i].op == OP_MERGE && rows[i].res == RES_CACHE)
			merge_rate_of(&rows[i], &mrows[nmrows++]);
	nmrows += tally_bench_rtl_project("gcounter_merge", rtl.merges_per_cycle, &mrows[nmrows]);

	printf("\n");
	print_table(rows, nrows, o.verbose);
	printf("\nMops/s: millions of vectors merged, copied or compared per second; ns/op: per vector;\n"
	       "spread: (max - min) / median of the timed runs; vs scalar: ops/s over the scalar\n"
	       "kernel's, same op and residency; vs memcpy: GB/s over memcpy's, same residency.\n\n");
	printf("merge throughput, CPU and offload side by side: one merge is one pair of vectors\n"
	       "in, one merged vector out. rtl: the gcounter_merge Verilator model, offered a pair\n"
	       "every clock with the output always ready, merged %" PRIu64 " pairs over %" PRIu64
	       " clocks,\nfill included, every result checked: %.6f merges/cycle (tally-bench rtl\n"
	       "measures the RTL kernels in full).\n", rtl.pairs, rtl.span, rtl.merges_per_cycle);
	tally_bench_print_merge_table(mrows, nmrows);
	printf("\n");
	for (unsigned i = 0; i < ngoals; i++)
		print_goal(&goals[i]);

	rc = write_json(json, &o, cpu, pinned, names, ntab, rows, nrows, goals, ngoals, agree,
			&rtl, mrows, nmrows);
	json = NULL; /* closed by write_json */
	if (rc < 0) {
		fprintf(stderr, "tally-bench kernels: cannot write %s: %s\n", o.json, strerror(-rc));
		goto out;
	}
	printf("json: wrote %s\n", o.json);
	if (!agree) {
		fprintf(stderr, "tally-bench kernels: a kernel's result differs from scalar's "
				"(rows marked WRONG RESULT)\n");
		goto out;
	}
	ret = TALLY_BENCH_EXIT_OK;
out:
	if (json != NULL)
		fclose(json);
	arena_free(&arena[RES_CACHE]);
	arena_free(&arena[RES_DRAM]);
	free(rows);
	return ret;
}
