/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The Verilated NIC (rtl/nic_top.sv) behind a C API, clock by clock, for the
 * sim backend of the offload engine (dataplane/offload_sim.c), the RTL tests
 * and tally-bench nic.
 *
 * The caller queues frames (bytes exactly as received), host commands and
 * CSR accesses; each tally_nsim_step() is one clock in which the caller
 * decides whether the rx stream offers its next beat (no offer is a bubble)
 * and whether the event stream is ready (not ready is back-pressure).
 * Events (a merged record, a finished frame, a finished command) are
 * collected in the order the NIC emits them and taken with
 * tally_nsim_event_pop(); frames finish as their MACs complete, so a short
 * frame may finish before a long one that arrived first (the event's frame
 * number says which frame it is).
 *
 * Vectors are arrays of tally_nsim_nodes() u64 slots. This API owns only the
 * simulation; it knows nothing of keys, tables or quorums.
 */

#ifndef TALLY_NIC_SIM_H
#define TALLY_NIC_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The most slots per vector the harness carries (the model may use fewer). */
#define TALLY_NSIM_MAX_NODES 64

/** Event kinds (nic_top's m_evt_kind). */
enum tally_nsim_event_kind {
	TALLY_NSIM_EVT_RECORD = 0, /**< a slot record merged */
	TALLY_NSIM_EVT_FRAME = 1,  /**< a frame finished */
	TALLY_NSIM_EVT_CMD = 2,    /**< a host command finished */
};

/** Table ops (rtl/nic_table_pkg.sv). */
enum tally_nsim_op {
	TALLY_NSIM_OP_NOP = 0,
	TALLY_NSIM_OP_SET = 1,     /**< row := {valid, key, 0, 0} */
	TALLY_NSIM_OP_CLEAR = 2,   /**< row := invalid, zero */
	TALLY_NSIM_OP_MERGE = 3,   /**< on a hit: P, N := max(P, p), max(N, n) */
	TALLY_NSIM_OP_READ = 4,    /**< the row */
	TALLY_NSIM_OP_COMPARE = 5, /**< the row's orders against p, n */
};

/** A host command. */
struct tally_nsim_cmd {
	uint8_t op; /**< enum tally_nsim_op */
	uint32_t index;
	uint8_t key[16];
	uint64_t p[TALLY_NSIM_MAX_NODES], n[TALLY_NSIM_MAX_NODES];
};

/** An event; which fields mean something depends on kind. */
struct tally_nsim_event {
	uint8_t kind;  /**< enum tally_nsim_event_kind */
	uint16_t frame; /**< RECORD, FRAME: the frame's arrival number (frames pushed before it, mod 2^16) */
	uint8_t op;    /**< CMD: the op */
	uint8_t hit;   /**< RECORD, CMD: the row held the key */
	uint8_t origin;
	uint8_t order_p, order_n; /**< CMD COMPARE */
	uint32_t index;
	uint8_t key[16];
	uint64_t p[TALLY_NSIM_MAX_NODES], n[TALLY_NSIM_MAX_NODES]; /**< RECORD, CMD: the row now */
	/* FRAME */
	uint8_t verdict;     /**< enum tally_wire_verdict */
	uint8_t disposition; /**< enum tally_offload_disposition */
	uint16_t merged;
	uint8_t dst_mac[6], src_mac[6];
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	uint8_t type;
	uint16_t sender, count;
	uint32_t epoch;
	uint64_t seq, ref;
	uint64_t cycle; /**< the clock the event left the NIC */
};

typedef struct tally_nsim tally_nsim_t;

/**
 * A NIC, reset. When @p fst_path is not NULL a waveform is written there.
 * @return it, or NULL with *err = -EINVAL, -ENOMEM or -EIO.
 */
tally_nsim_t *tally_nsim_create(const char *fst_path, int *err);

/** Finish the waveform, if any, and free @p s (NULL is allowed). */
void tally_nsim_free(tally_nsim_t *s);

/** The model's parameters. */
unsigned tally_nsim_nodes(const tally_nsim_t *s);
unsigned tally_nsim_depth(const tally_nsim_t *s);
unsigned tally_nsim_slots(const tally_nsim_t *s);

/** Queue a frame of @p len bytes (copied) for the rx stream. @return 0, -EINVAL (len 0), -ENOMEM. */
int tally_nsim_rx_push(tally_nsim_t *s, const void *frame, size_t len);

/** Frames queued and not yet wholly accepted by the NIC. */
size_t tally_nsim_rx_queued(const tally_nsim_t *s);

/** Queue a host command. */
void tally_nsim_cmd_push(tally_nsim_t *s, const struct tally_nsim_cmd *c);

/** Take the oldest event. @return 0, or -EAGAIN if none is waiting. */
int tally_nsim_event_pop(tally_nsim_t *s, struct tally_nsim_event *e);

/** Events waiting. */
size_t tally_nsim_events(const tally_nsim_t *s);

/**
 * One clock. @p offer: the rx stream presents its next beat, if any.
 * @p ready: the event stream is ready. Commands are always offered.
 */
void tally_nsim_step(tally_nsim_t *s, bool offer, bool ready);

/**
 * Clock with no bubbles or back-pressure until every queued frame and
 * command has produced its events and the NIC is idle, at most
 * @p max_cycles clocks. @return 0, or -ETIMEDOUT (a stall: the watchdog).
 */
int tally_nsim_run(tally_nsim_t *s, uint64_t max_cycles);

/** CSR access over AXI4-Lite, clocking until the response. @return 0, or -EIO (SLVERR). */
int tally_nsim_csr_read(tally_nsim_t *s, uint32_t addr, uint32_t *val);
int tally_nsim_csr_write(tally_nsim_t *s, uint32_t addr, uint32_t val);

/**
 * Load the SipHash key of the cluster link (docs/wire.md), which checks every
 * frame, into NODE_KEY: word i holds key bytes 4i..4i+3, little-endian.
 * @return 0 or -EIO.
 */
int tally_nsim_load_key(tally_nsim_t *s, const uint8_t node[16]);

/** A 64-bit counter: LO then HI at @p lo_addr. @return 0 or -EIO. */
int tally_nsim_csr_read64(tally_nsim_t *s, uint32_t lo_addr, uint64_t *val);

/** Clocks since reset. */
uint64_t tally_nsim_cycles(const tally_nsim_t *s);

/** Beats the rx stream has accepted since reset. */
uint64_t tally_nsim_rx_beats(const tally_nsim_t *s);

/**
 * Write the model's coverage counters to @p path (Verilator coverage.dat).
 * @return 0; -ENOTSUP when the model was built without coverage.
 */
int tally_nsim_write_coverage(tally_nsim_t *s, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* TALLY_NIC_SIM_H */
