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
 * Subcommands own their buffers and their output; nothing here keeps state.
 * Helpers return 0 or a negative errno and never exit; only a subcommand's
 * entry point decides the exit code (0 success, 1 runtime failure, 2 usage).
 */

#ifndef TALLY_BENCH_H
#define TALLY_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/** Write @p s to @p f as a JSON string, quotes and escapes included. */
void tally_bench_json_str(FILE *f, const char *s);

/** Write @p v to @p f as a JSON number, or null when it is not finite. */
void tally_bench_json_num(FILE *f, double v);

#endif /* TALLY_BENCH_H */
