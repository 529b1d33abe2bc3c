/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The generated tally_csr.h as C sees it: a few offsets and masks pinned at
 * compile time to the values the register map promises (the build fails if
 * they move), and the counter list's three views (enum, X-macro, names)
 * checked against each other at run time. check_csr.py runs it as part of
 * the csr-generated test.
 */

#include <stdio.h>
#include <string.h>

#include "tally_csr.h"

_Static_assert(TALLY_CSR_ID == 0x00, "ID");
_Static_assert(TALLY_CSR_ID_VALUE == 0x54414c59u, "ID value is TALY");
_Static_assert(TALLY_CSR_BUILD_ID == 0x04, "BUILD_ID");
_Static_assert(TALLY_CSR_CONTROL == 0x08, "CONTROL");
_Static_assert(TALLY_CSR_CONTROL_MERGE_ENABLE == 1u << 0, "CONTROL.MERGE_ENABLE");
_Static_assert(TALLY_CSR_CONTROL_STATS_CLEAR == 1u << 1, "CONTROL.STATS_CLEAR");
_Static_assert(TALLY_CSR_CONTROL_RESET == TALLY_CSR_CONTROL_MERGE_ENABLE, "CONTROL reset");
_Static_assert(TALLY_CSR_STATUS == 0x0c, "STATUS");
_Static_assert(TALLY_CSR_STATUS_IDLE == 1u << 0, "STATUS.IDLE");
_Static_assert(TALLY_CSR_TABLE_DEPTH == 0x10, "TABLE_DEPTH");
_Static_assert(TALLY_CSR_NODES == 0x14, "NODES");
_Static_assert(TALLY_CSR_MAC_ENGINES == 0x18, "MAC_ENGINES");
_Static_assert(TALLY_CSR_NODE_KEY0 == 0x20 && TALLY_CSR_NODE_KEY(3) == 0x2c, "NODE_KEY");
_Static_assert(TALLY_CSR_CNT_LO(0) == 0x40 && TALLY_CSR_FRAMES_LO == 0x40, "counters start at 0x40");
_Static_assert(TALLY_CSR_CNT_HI(TALLY_CSR_CNT_DROP_BAD_RECORD) == TALLY_CSR_DROP_BAD_RECORD_HI,
	       "CNT_HI");
_Static_assert(TALLY_CSR_CNT_COUNT == 18, "18 counters");
_Static_assert(TALLY_CSR_CNT_LO(TALLY_CSR_CNT_COUNT) <= TALLY_CSR_SIZE, "counters inside the space");

#define OFFSETS(NAME, name, desc) { TALLY_CSR_##NAME##_LO, TALLY_CSR_##NAME##_HI, TALLY_CSR_CNT_##NAME, name },
static const struct {
	unsigned lo, hi, index;
	const char *name;
} counters[] = { TALLY_CSR_COUNTERS(OFFSETS) };

int
main(void)
{
	int bad = 0;

	if (sizeof(counters) / sizeof(counters[0]) != TALLY_CSR_CNT_COUNT) {
		fprintf(stderr, "TALLY_CSR_COUNTERS has %zu entries, TALLY_CSR_CNT_COUNT is %d\n",
			sizeof(counters) / sizeof(counters[0]), TALLY_CSR_CNT_COUNT);
		return 1;
	}
	for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++) {
		if (counters[i].index != i || counters[i].lo != TALLY_CSR_CNT_LO(i) ||
		    counters[i].hi != TALLY_CSR_CNT_HI(i) ||
		    strcmp(counters[i].name, tally_csr_counter_names[i]) != 0) {
			fprintf(stderr, "counter %u (%s): index %u, LO %#x, HI %#x, name %s disagree\n", i,
				counters[i].name, counters[i].index, counters[i].lo, counters[i].hi,
				tally_csr_counter_names[i]);
			bad = 1;
		}
	}
	if (!bad)
		printf("tally_csr.h: %d counters, offsets and names agree\n", TALLY_CSR_CNT_COUNT);
	return bad;
}
