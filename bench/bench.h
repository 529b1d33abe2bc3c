/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * What every tally-bench subcommand shares: the clock, the statistics, the
 * seeded generator that fills inputs, the barrier that keeps the compiler
 * from dropping measured work, number parsing for options, and the pieces of
 * the header and the JSON output that every report repeats.
 *
 * Also what two subcommands measure and print alike, so "kernels" and "rtl"
 * show the CPU kernels and the RTL kernels in one table with one method:
 * the cache-resident CPU merge rate (bench_kernels.c), the RTL kernels'
 * merges per clock through the Verilated models (bench_rtl.c), and the
 * table that puts both next to the 100GbE line rate (bench_common.c).
 *
 * Subcommands own their buffers and their output; nothing here keeps state.
 * Helpers return 0 or a negative errno and never exit; only a subcommand's
 * entry point decides the exit code (0 success, 1 runtime failure, 2 usage).
 */

#ifndef TALLY_BENCH_H
#define TALLY_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kernel_sim.h"
#include "vec.h"

/** Exit codes of tally-bench and of every subcommand entry point. */
#define TALLY_BENCH_EXIT_OK 0
#define TALLY_BENCH_EXIT_FAIL 1  /**< runtime failure, e.g. allocation */
#define TALLY_BENCH_EXIT_USAGE 2 /**< bad subcommand, option or value */

/**
 * Tell the compiler that the memory @p p points to is read and written here,
 * so the stores before it cannot be dropped or merged across iterations. An
 * empty asm with a "memory" clobber costs no instruction.
 */
#define TALLY_BENCH_CLOBBER(p) __asm__ volatile("" : : "r"(p) : "memory")

/** A subcommand: its name, one line for the top-level help, its entry point. */
struct tally_bench_cmd {
	const char *name;
	const char *summary;
	int (*main)(int argc, char **argv); /**< argv[0] is the subcommand name */
};

/** Entry point of "tally-bench kernels" (bench_kernels.c). */
int tally_bench_kernels_main(int argc, char **argv);

/** Entry point of "tally-bench rtl" (bench_rtl.c). */
int tally_bench_rtl_main(int argc, char **argv);

/** Entry point of "tally-bench dataplane" (bench_dataplane.c); initialises
 * DPDK's EAL itself, so it runs at most once per process. */
int tally_bench_dataplane_main(int argc, char **argv);

/** Entry point of "tally-bench nic" (bench_nic.c): the whole NIC pipeline
 * through its Verilated model, its yosys reports, and host time per record
 * with the cpu and sim offload backends. */
int tally_bench_nic_main(int argc, char **argv);

/** Entry point of "tally-bench cluster" (bench_cluster.c): starts tallyd's
 * embedded cluster and measures it through libtallyclient. */
int tally_bench_cluster_main(int argc, char **argv);

/** Entry point of "tally-bench redis" (bench_redis.c): Debian's redis-server
 * and redis-benchmark against tally's load generator, same increments. */
int tally_bench_redis_main(int argc, char **argv);

/** Entry point of "tally-bench all" (bench_all.c): every bench, one table,
 * JSON and plots in a results folder. */
int tally_bench_all_main(int argc, char **argv);

/**
 * Start tallyd's embedded cluster (@p backend; @p replicas 3: three nodes,
 * n = 3; 1: two nodes, n = 1, one copy of each key; @p commit its commit
 * policy, as tallyd --commit takes it, NULL = sync) from @p tallyd, send @p total
 * increments at W = @p w keeping @p inflight in flight, @p batch per datagram
 * (0: as many as fit), check that every one was acknowledged and counted,
 * stop it. @return 0 with the rate in @p per_sec, or -1 (said on stderr).
 */
int tally_bench_cluster_rate(const char *tallyd, const char *backend, unsigned replicas, const char *commit, unsigned w,
			     uint64_t total, unsigned inflight, unsigned batch, double *per_sec);

/** The tallyd built beside this tally-bench (BUILD/host/tallyd). @return 0 or a negative errno. */
int tally_bench_tallyd_path(char *out, size_t len);

/**
 * The disk's own commit: @p n appends of 64 bytes to a new file in @p dir,
 * each followed by fdatasync(), as a log commit does. @return 0 with the
 * p50 and p99 in microseconds, or -errno.
 */
int tally_bench_fdatasync(const char *dir, unsigned n, double *p50_us, double *p99_us);

/** A node's poll-loop accounting, from its /status ("loop"). */
struct tally_bench_loop {
	uint64_t rounds, busy_rounds, busy_cycles, engine_cycles, tsc_hz;
};

/** Read the "loop" figures of the node whose status port is @p host:@p port. @return 0 or -errno. */
int tally_bench_node_loop(const char *host, uint16_t port, struct tally_bench_loop *out);

/** Nanoseconds on CLOCK_MONOTONIC. */
uint64_t tally_bench_now_ns(void);

/** splitmix64 state: a tiny, seedable, statistically good generator. */
struct tally_bench_rng {
	uint64_t s;
};

/** Next 64 random bits of @p r. */
static inline uint64_t
tally_bench_rng_next(struct tally_bench_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/** Fill @p n vectors at @p v with independent uniform 64-bit slots from @p seed. */
void tally_bench_fill_random(tally_vec_t *v, size_t n, uint64_t seed);

/**
 * Fill @p n version-vector pairs (@p a[i], @p b[i]) from @p seed: b is a copy
 * of a with one slot raised (a BEFORE b), one lowered (AFTER), both
 * (CONCURRENT) or none (EQUAL), the four in equal shares at random. Slots stay
 * in 1..2^62 so the +-1 cannot wrap.
 */
void tally_bench_fill_orders(tally_vec_t *a, tally_vec_t *b, size_t n, uint64_t seed);

/** Fold @p len bytes at @p p into @p h; a cheap hash to show work was done. */
uint64_t tally_bench_fold(uint64_t h, const void *p, size_t len);

/** Summary of the timed runs of one measurement, in nanoseconds per run. */
struct tally_bench_stats {
	double median_ns;
	double min_ns;
	double max_ns;
};

/** Median, minimum and maximum of @p n run times (n >= 1). Sorts @p ns. */
void tally_bench_stats(uint64_t *ns, unsigned n, struct tally_bench_stats *st);

/**
 * Parse @p s as a whole decimal number in [@p min, @p max] into @p out.
 * @return 0; -EINVAL when @p s is not a number; -ERANGE when out of range.
 */
int tally_bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/** The CPU's "model name" from /proc/cpuinfo, or "unknown", into @p buf. */
void tally_bench_cpu_model(char *buf, size_t len);

/**
 * Bytes of the last-level (L3) cache of CPU 0 as sysfs reports it, 0 when
 * unknown. Not sysconf(_SC_LEVEL3_CACHE_SIZE): under some hypervisors glibc
 * derives it from CPUID leaves that report ten times the real size.
 */
uint64_t tally_bench_l3_bytes(void);

/**
 * Pin the calling thread to the CPU it is running on, so a run does not
 * migrate between cores halfway through.
 * @return the CPU number; a negative errno when pinning failed (harmless).
 */
int tally_bench_pin(void);

/** @p bytes with a binary unit ("32 KiB", "256 MiB", "1.5 KiB") into @p buf. */
void tally_bench_fmt_bytes(char *buf, size_t len, uint64_t bytes);

/** @p v as "1.23x", or "-" when it is not finite (no baseline), into @p buf. */
void tally_bench_fmt_ratio(char *buf, size_t len, double v);

/** Write @p s to @p f as a JSON string, quotes and escapes included. */
void tally_bench_json_str(FILE *f, const char *s);

/** Write @p v to @p f as a JSON number, or null when it is not finite. */
void tally_bench_json_num(FILE *f, double v);

/** Minimum-size frames per second of 100GbE: 100e9 b/s over (64 B frame +
 * 20 B preamble, start delimiter and inter-frame gap) x 8 bits. */
#define TALLY_BENCH_100GBE_MIN_PPS (100e9 / ((64.0 + 20.0) * 8.0))

/** One row of the merge table that puts CPU and RTL kernels side by side. */
struct tally_bench_merge_rate {
	const char *kernel;    /**< "scalar", "avx2", "gcounter_merge", ... */
	char where[32];        /**< "cpu, 32 KiB set", "rtl @ 250 MHz" */
	char basis[64];        /**< how the figure was obtained, for people */
	double merges_per_sec; /**< vector pairs merged per second */
};

/**
 * Print @p n rows and a last row for the 100GbE minimum-frame rate, with each
 * row's ratio to the "scalar" row (when there is one) and to the line rate.
 */
void tally_bench_print_merge_table(const struct tally_bench_merge_rate *rows, unsigned n);

/** Write the rows of tally_bench_print_merge_table() to @p f as a JSON array. */
void tally_bench_json_merge_table(FILE *f, const struct tally_bench_merge_rate *rows,
				  unsigned n);

/**
 * Measure the batch merge of every kernel table this CPU runs, with the
 * working set in cache, exactly as "tally-bench kernels" measures its cache
 * merge rows (the same work per run, one warm-up, runs interleaved across
 * kernels, median), and fill one row each at @p out (TALLY_ISA_COUNT rows
 * at most). @p quick divides the work per run as kernels --quick does.
 * @return rows filled; -ENOMEM; -EPROTO when a kernel's result differs from
 * the scalar kernel's (a fast wrong kernel is never reported).
 */
int tally_bench_cpu_merge_cache(unsigned runs, bool quick, struct tally_bench_merge_rate *out);

/** One run of an RTL kernel merging a stream of pairs with no bubbles and no
 * back-pressure (tally_bench_rtl_stream()). Clocks count from the run's start. */
struct tally_bench_rtl_stream {
	uint64_t pairs;        /**< pairs pushed; as many results checked */
	uint64_t first_accept; /**< clock the first pair was accepted */
	uint64_t last_emit;    /**< clock the last result was emitted */
	uint64_t span;         /**< last_emit - first_accept + 1: clocks, fill included */
	uint64_t cycles;       /**< clocks stepped in the timed loop */
	uint64_t ns;           /**< host nanoseconds of the timed loop */
	double merges_per_cycle; /**< pairs / span */
	char why[384];         /**< on failure, what went wrong, for the caller to print */
};

/**
 * Drive @p pairs pairs through the idle simulation @p s of @p kind with the
 * input offered and the output ready on every clock, keeping a few dozen
 * pairs queued, and check every result (vector, order, tag) against the C
 * reference (tally_vec_merge, tally_vv_compare). Inputs and expected results
 * are precomputed, so the timed loop is the model and its harness.
 * @return 0; -ENOMEM; -EPROTO on a wrong, missing or extra result;
 * -ETIMEDOUT when the kernel stops making progress. out->why says more.
 */
int tally_bench_rtl_stream(tally_ksim_t *s, enum tally_ksim_kind kind, uint64_t pairs,
			   struct tally_bench_rtl_stream *out);

/** Clocks the RTL kernels' merge rate is projected at (bench_rtl.c): 250 and 322 MHz. */
#define TALLY_BENCH_RTL_NCLOCKS 2

/**
 * Fill TALLY_BENCH_RTL_NCLOCKS merge-table rows at @p out: @p kernel merging
 * @p merges_per_cycle at each projection clock. @return rows filled.
 */
unsigned tally_bench_rtl_project(const char *kernel, double merges_per_cycle,
				 struct tally_bench_merge_rate *out);

/*
 * Option parsing shared by the subcommands: each prints one message naming
 * the subcommand and the option ("tally-bench rtl: --runs 'x': ...") and
 * returns -EINVAL on bad input, so every subcommand answers alike.
 */

/** Option --@p name of @p cmd: a whole number in [@p min, @p max] into @p out. */
int tally_bench_opt_u64(const char *cmd, const char *name, const char *arg, uint64_t min,
			uint64_t max, uint64_t *out);

/** Option --@p name of @p cmd: a non-empty file name into @p out. */
int tally_bench_opt_file(const char *cmd, const char *name, const char *arg, const char **out);

/** The message for getopt_long()'s ':' (a value missing) or '?' (unknown option). */
int tally_bench_opt_error(const char *cmd, int c, char **argv);

/** -EINVAL, with a message, when arguments remain after the options. */
int tally_bench_opt_end(const char *cmd, int argc, char **argv);

#endif /* TALLY_BENCH_H */
