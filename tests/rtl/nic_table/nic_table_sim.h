/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The Verilated counter table (rtl/nic_table.sv) behind a C API, one clock
 * per ntsim_step(), for tests/rtl/nic_table. The caller decides each clock
 * whether a request is offered (s_valid; none is an input bubble) and
 * whether the output is ready (m_ready; not ready is back-pressure). With
 * no request offered the harness drives poison on every request port, so a
 * table that latches data without s_valid is caught. Owns only the
 * simulation; the test holds the reference model.
 */

#ifndef TALLY_NIC_TABLE_SIM_H
#define TALLY_NIC_TABLE_SIM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** nic_table_pkg op codes. */
enum ntsim_op {
	NTSIM_NOP = 0,
	NTSIM_SET = 1,
	NTSIM_CLEAR = 2,
	NTSIM_MERGE = 3,
	NTSIM_READ = 4,
	NTSIM_COMPARE = 5,
};

/** One request: the s_* ports. Slot i of p and n at bits [64i +: 64]. */
struct ntsim_req {
	uint8_t op;
	uint32_t index;
	uint8_t key[16]; /**< little-endian: key[0] is bits [7:0] of s_key */
	uint64_t p[TALLY_MAX_NODES], n[TALLY_MAX_NODES];
	uint16_t tag;
};

/** One response: the m_* ports. */
struct ntsim_resp {
	uint8_t op;
	uint32_t index;
	bool hit;
	uint64_t p[TALLY_MAX_NODES], n[TALLY_MAX_NODES];
	uint8_t order_p, order_n;
	uint16_t tag;
};

/** ntsim_step() result bits. */
#define NTSIM_ACCEPTED 1 /**< the offered request was taken this clock */
#define NTSIM_EMITTED 2  /**< a response left the table this clock (in *out) */

typedef struct ntsim ntsim_t;

/**
 * A simulation, reset and ready; every register and memory bit not reset
 * starts random, from @p seed. When @p fst_path is not NULL every clock is
 * written there.
 * @return the simulation, or NULL with *err = -ENOMEM or -EIO.
 */
ntsim_t *ntsim_create(const char *fst_path, uint64_t seed, int *err);

/** Finish the waveform, if any, and free @p s (NULL is allowed). */
void ntsim_free(ntsim_t *s);

/** Hold rst high for two clocks (inputs idle), then low. */
void ntsim_reset(ntsim_t *s);

/**
 * One clock: offer @p req (NULL: none) and drive m_ready = @p ready.
 * @return NTSIM_ACCEPTED and/or NTSIM_EMITTED; on EMITTED, *out holds the response.
 */
int ntsim_step(ntsim_t *s, const struct ntsim_req *req, bool ready, struct ntsim_resp *out);

/** s_ready as it is now, before the next clock. */
bool ntsim_s_ready(const ntsim_t *s);

/** Clocks stepped since creation (resets included). */
uint64_t ntsim_cycles(const ntsim_t *s);

#ifdef __cplusplus
}
#endif

#endif /* TALLY_NIC_TABLE_SIM_H */
