/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The Verilated merge kernels (gcounter_merge, vclock_unit) behind a C API,
 * cycle by cycle, so C tests, benchmarks and later the dataplane drive the
 * RTL in-process.
 *
 * A caller pushes pairs into an input queue and pops results from an output
 * queue; each tally_ksim_step() is one clock, in which the caller decides
 * whether the queued pair at the head is offered (s_axis_tvalid; no offer is
 * an input bubble) and whether the output is ready (m_axis_tready; not ready
 * is back-pressure). When no pair is offered the harness drives poison data,
 * so a kernel that latches data without tvalid is caught.
 *
 * Vectors are arrays of tally_ksim_nodes() u64 slots, slot i at bits
 * [64i +: 64] of the RTL bus. Each pair carries a 16-bit tag through tuser,
 * so a caller can prove that nothing is dropped, duplicated or reordered.
 * This API owns only the simulation; it knows nothing of the dataplane.
 */

#ifndef TALLY_KERNEL_SIM_H
#define TALLY_KERNEL_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Which RTL kernel a simulation runs. */
enum tally_ksim_kind {
	TALLY_KSIM_GCOUNTER_MERGE = 0, /**< rtl/gcounter_merge.sv: merged vector */
	TALLY_KSIM_VCLOCK_UNIT,        /**< rtl/vclock_unit.sv: merged vector and order */
	TALLY_KSIM_KIND_COUNT,
};

/** tally_ksim_step() result bits. */
#define TALLY_KSIM_ACCEPTED 1 /**< the offered pair was taken this clock */
#define TALLY_KSIM_EMITTED 2  /**< a result left the kernel this clock */

typedef struct tally_ksim tally_ksim_t;

/**
 * A simulation of @p kind, reset and ready. When @p fst_path is not NULL a
 * waveform of every clock is written there (FST, for GTKWave).
 * @return the simulation, or NULL with *err = -EINVAL, -ENOMEM or -EIO (trace file).
 */
tally_ksim_t *tally_ksim_create(enum tally_ksim_kind kind, const char *fst_path, int *err);

/** Finish the waveform, if any, and free @p s (NULL is allowed). */
void tally_ksim_free(tally_ksim_t *s);

/** Slots per vector: the RTL's NODES parameter. */
unsigned tally_ksim_nodes(const tally_ksim_t *s);

/** Queue the pair (@p a, @p b) with @p tag for the input. Never blocks. */
void tally_ksim_push(tally_ksim_t *s, const uint64_t *a, const uint64_t *b, uint16_t tag);

/**
 * Take the oldest result: the merged vector into @p vec, the order (vclock
 * unit; 0 for gcounter_merge) into @p order, the pair's tag into @p tag.
 * @return 0, or -EAGAIN if no result is waiting.
 */
int tally_ksim_pop(tally_ksim_t *s, uint64_t *vec, uint8_t *order, uint16_t *tag);

/**
 * One clock. @p offer: present the queued pair at the head, if any.
 * @p ready: m_axis_tready this clock.
 * @return TALLY_KSIM_ACCEPTED | TALLY_KSIM_EMITTED bits for this clock.
 */
int tally_ksim_step(tally_ksim_t *s, bool offer, bool ready);

/** Clocks stepped since reset. */
uint64_t tally_ksim_cycles(const tally_ksim_t *s);

/** Pairs pushed but not yet accepted by the kernel. */
size_t tally_ksim_queued(const tally_ksim_t *s);

/**
 * Write the model's coverage counters to @p path (Verilator coverage.dat).
 * @return 0; -ENOTSUP when the model was built without coverage; -EIO.
 */
int tally_ksim_write_coverage(tally_ksim_t *s, const char *path);

/** "gcounter_merge" or "vclock_unit". */
const char *tally_ksim_kind_name(enum tally_ksim_kind kind);

#ifdef __cplusplus
}
#endif

#endif /* TALLY_KERNEL_SIM_H */
