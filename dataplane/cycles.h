/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * A cycle counter for accounting where time goes (the poll loop's busy
 * rounds, the engine's share of them), without DPDK: the TSC on x86, as
 * rte_rdtsc() reads it, so the node can convert with rte_get_tsc_hz().
 * Elsewhere a nanosecond clock stands in (tally_cycles_are_ns()).
 */

#ifndef TALLY_CYCLES_H
#define TALLY_CYCLES_H

#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t
tally_cycles(void)
{
	return __rdtsc();
}
static inline bool
tally_cycles_are_ns(void)
{
	return false;
}
#else
#include <time.h>
static inline uint64_t
tally_cycles(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static inline bool
tally_cycles_are_ns(void)
{
	return true;
}
#endif

#endif /* TALLY_CYCLES_H */
