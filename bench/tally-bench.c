/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-bench: the benchmarks of tally behind one command, one subcommand
 * each. This file only finds the subcommand; each one parses its own options
 * and owns its output, so adding one is a table entry and a file.
 */

#include <stdio.h>
#include <string.h>

#include "bench.h"

static const struct tally_bench_cmd cmds[] = {
	{ "kernels", "batch merge and compare kernels of every ISA vs memcpy, in cache and DRAM",
	  tally_bench_kernels_main },
	{ "rtl", "RTL merge kernels in simulation and synthesis, projected beside CPU and 100GbE",
	  tally_bench_rtl_main },
	{ "dataplane", "replicate records merged per second on one core through the DPDK poll loop",
	  tally_bench_dataplane_main },
	{ "nic", "the NIC pipeline RTL: records/clock, latency, vs 100GbE, synthesis, host ns/record",
	  tally_bench_nic_main },
	{ "cluster", "the embedded cluster through libtallyclient: write latency by W, increments/s",
	  tally_bench_cluster_main },
	{ "redis", "redis-server and redis-benchmark -t incr against tally, the same increments",
	  tally_bench_redis_main },
	{ "all", "every bench above, one comparison table, JSON and plots in a results folder",
	  tally_bench_all_main },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tally-bench SUBCOMMAND [OPTIONS]\n"
		"       tally-bench SUBCOMMAND --help\n"
		"       tally-bench --help\n"
		"\n"
		"Benchmarks of tally. Each prints a table on stdout, progress on stderr,\n"
		"and writes its figures as JSON.\n"
		"\n"
		"Subcommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f,
		"\n"
		"Exit status: 0 success, 1 runtime failure, 2 usage error.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return TALLY_BENCH_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return TALLY_BENCH_EXIT_OK;
	}
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].main(argc - 1, argv + 1);
	fprintf(stderr, "tally-bench: unknown subcommand '%s' (known:", argv[1]);
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(stderr, " %s", cmds[i].name);
	fprintf(stderr, "); see tally-bench --help\n");
	return TALLY_BENCH_EXIT_USAGE;
}
