/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * What a backend of the offload engine implements (internal to dataplane/).
 * offload.c owns what every backend shares: the configuration checks, the
 * key-to-index map, telemetry and dispatch. A backend owns the counter
 * table rows (each: a valid bit, the key id, P and N) and the merging.
 */

#ifndef TALLY_OFFLOAD_BACKEND_H
#define TALLY_OFFLOAD_BACKEND_H

#include "offload.h"

struct tally_offload_backend {
	const char *name;
	void *(*create)(const struct tally_offload_config *cfg, int *err);
	void (*destroy)(void *b);
	/** Make row @p index hold @p key with a zero counter, or (key NULL) free it.
	 * @return 0, or -EIO if the engine has failed. */
	int (*row_set)(void *b, uint32_t index, const uint8_t *key);
	/** As tally_offload_rx(); stats are the caller's. Returns 0 for n > 0 only
	 * when the engine has failed. */
	unsigned (*rx)(void *b, const void *const *frames, const uint16_t *lens, unsigned n,
		       struct tally_offload_rxinfo *info, struct tally_offload_completion *compl,
		       unsigned max_compl, unsigned *ncompl);
	/** Merge one slot record; -EINVAL if its row does not hold its key, -EIO
	 * if the engine has failed (and so for merge_state, read, compare). */
	int (*merge_slot)(void *b, const struct tally_wire_slot *r, struct tally_offload_completion *c);
	/** Merge one state record; -EINVAL as merge_slot. */
	int (*merge_state)(void *b, const struct tally_wire_state *s);
	/** Row @p index's counter (the caller knows the row is in use). */
	int (*read)(const void *b, uint32_t index, tally_pncounter_t *out);
	/** Rows @p index[0..n)'s counters at once (a burst the engine may pipeline); NULL: read one by one. */
	int (*read_many)(const void *b, const uint32_t *index, unsigned n, tally_pncounter_t *out);
	/** Orders of row @p index's P and N relative to @p p and @p n. */
	int (*compare)(const void *b, uint32_t index, const tally_vec_t *p, const tally_vec_t *n,
			tally_vv_order_t *op, tally_vv_order_t *on);
};

extern const struct tally_offload_backend tally_offload_cpu;
/* The Verilated NIC; in every build but the fuzzing one (which has no RTL). */
extern const struct tally_offload_backend tally_offload_sim;

#endif /* TALLY_OFFLOAD_BACKEND_H */
