/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The Verilated rtl/siphash24.sv behind a C API, one clock per call, for
 * test_siphash24.c. It owns only the simulation: the caller drives every
 * port each clock and sees the outputs as they are just before the edge.
 */

#ifndef TALLY_SIPHASH24_SIM_H
#define TALLY_SIPHASH24_SIM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One clock's inputs. */
struct sip_sim_in {
	uint8_t key[16];  /**< key bytes 0..15 */
	bool start;
	uint64_t word;    /**< s_word */
	bool last;        /**< s_last */
	bool valid;       /**< s_valid */
};

/** The outputs in that clock, sampled after the inputs settle, before the edge. */
struct sip_sim_out {
	bool ready;       /**< s_ready */
	bool m_valid;
	uint8_t hash[16]; /**< m_hash, byte j from bits [8j+7:8j] */
};

typedef struct sip_sim sip_sim_t;

/**
 * A simulation, two clocks of reset done. When @p fst_path is not NULL a
 * waveform of every clock is written there.
 * @return the simulation, or NULL with *err = -ENOMEM or -EIO (trace file).
 */
sip_sim_t *sip_sim_create(const char *fst_path, int *err);

/** Finish the waveform, if any, and free @p s (NULL is allowed). */
void sip_sim_free(sip_sim_t *s);

/** Hold rst high for two clocks. */
void sip_sim_reset(sip_sim_t *s);

/** One clock: drive @p in, settle, fill @p out, then the rising edge. */
void sip_sim_clock(sip_sim_t *s, const struct sip_sim_in *in, struct sip_sim_out *out);

#ifdef __cplusplus
}
#endif

#endif /* TALLY_SIPHASH24_SIM_H */
