/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The Verilated CSR block (rtl/nic_csr.sv) behind a pin-level C API, for
 * tests/rtl/csr: the caller drives every AXI4-Lite input itself, clock by
 * clock, so it can insert any bubble or back-pressure and see every
 * handshake.
 *
 * One clock is csr_sim_eval() (drive the inputs, settle, sample the outputs
 * the caller sees this clock, before the edge) then csr_sim_edge() (the
 * rising edge; sample the registered outputs of the next clock). The
 * harness owns only the simulation; the reference model lives in the test.
 */

#ifndef TALLY_TEST_CSR_SIM_H
#define TALLY_TEST_CSR_SIM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Which build of nic_csr: they differ only in CNT_RESET (the counters' value after reset). */
enum csr_sim_variant {
	CSR_SIM_PLAIN = 0, /**< CNT_RESET 0, as in a real build */
	CSR_SIM_CARRY,     /**< counters start 256 events below a carry into HI */
	CSR_SIM_WRAP,      /**< counters start 256 events below the wrap at 2^64 */
	CSR_SIM_VARIANTS,
};

/** The inputs of one clock. */
struct csr_sim_in {
	uint32_t awaddr;
	bool awvalid;
	uint32_t wdata;
	uint8_t wstrb;
	bool wvalid;
	bool bready;
	uint32_t araddr;
	bool arvalid;
	bool rready;
	uint32_t cnt_inc; /**< bit i: counter i counts this clock */
	bool status_idle;
};

/** The outputs, as sampled. */
struct csr_sim_out {
	bool awready, wready, bvalid, arready, rvalid;
	uint8_t bresp, rresp;
	uint32_t rdata;
	bool ctrl_merge_enable;
	uint8_t node_key[16];   /**< byte j = bits [8j+7:8j] */
};

typedef struct csr_sim csr_sim_t;

/**
 * A simulation of @p variant, after two clocks of reset. When @p fst_path is
 * not NULL a waveform of every clock is written there.
 * @return the simulation, or NULL with *err = -EINVAL, -ENOMEM or -EIO.
 */
csr_sim_t *csr_sim_create(enum csr_sim_variant variant, const char *fst_path, int *err);

/** Finish the waveform, if any, and free @p s (NULL is allowed). */
void csr_sim_free(csr_sim_t *s);

/** Drive @p in with the clock low, settle, and sample the outputs into @p out. */
void csr_sim_eval(csr_sim_t *s, const struct csr_sim_in *in, struct csr_sim_out *out);

/** The rising edge; @p out gets the outputs just after it. */
void csr_sim_edge(csr_sim_t *s, struct csr_sim_out *out);

/** Clocks since reset ended. */
uint64_t csr_sim_cycles(const csr_sim_t *s);

/** Name of @p variant ("plain", "carry", "wrap"). */
const char *csr_sim_variant_name(enum csr_sim_variant variant);

#ifdef __cplusplus
}
#endif

#endif /* TALLY_TEST_CSR_SIM_H */
