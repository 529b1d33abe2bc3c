/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * A handshake gate for the RTL tests: per clock, whether a source offers
 * (input bubbles) or a sink is ready (back-pressure), in one of three
 * patterns: always, random (a coin per clock) or bursty (runs of 1..run
 * clocks on, then off). Every stream test crosses the patterns of its
 * inputs with those of its outputs, as Corundum's testbenches do.
 */
#ifndef TALLY_TEST_GATE_H
#define TALLY_TEST_GATE_H

#include <stdbool.h>

#include "prop.h"

enum pattern { ALWAYS, RANDOM, BURSTY, PATTERNS };

static const char *const pattern_name[PATTERNS] = { "always", "random", "bursty" };

/* Longest burst (on or off) of BURSTY when a gate's run is 0. */
#define GATE_RUN 16

struct gate {
	enum pattern p;
	bool state;
	unsigned left;
	unsigned run; /* longest burst; 0 means GATE_RUN */
};

/* This clock's value of @p g. */
static inline bool
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
			g->left = 1 + (unsigned)prng_below(r, g->run ? g->run : GATE_RUN);
		}
		g->left--;
		return g->state;
	}
}

#endif /* TALLY_TEST_GATE_H */
