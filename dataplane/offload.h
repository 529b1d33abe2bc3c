/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The offload engine: everything the host asks of the NIC, behind one
 * interface with interchangeable backends ("cpu" today: the C reference
 * kernels and a table in host memory; "sim": the Verilated NIC; a PCIe FPGA
 * NIC later).
 *
 * The engine owns the counter table: one entry per key, holding the key's id
 * and its PN-Counter (P and N vectors). It is shaped as hardware works:
 *   - tally_offload_rx() hands it a burst of frames exactly as they arrived
 *     from the network. It verifies each (wire.h) and consumes REPLICATE
 *     frames by merging their slot records into the table; it returns every
 *     other frame to the host, and drops malformed ones, counting each drop
 *     by reason. For each record it merges it emits a completion with the
 *     values now held, from which the host builds acks without reading the
 *     table back. With a PCIe NIC the burst is the NIC's own receive ring and
 *     the results are its completion and exception queues: the same shape.
 *   - A record whose index is unknown or names another key cannot be merged
 *     by the engine; its frame goes to the host, which resolves the key
 *     (tally_offload_key_alloc) and applies the records with
 *     tally_offload_apply_slots(). Re-applying records the engine already
 *     merged is harmless: merges are idempotent.
 * The engine never decides anything a quorum or a session needs; that is
 * the host's business.
 */

#ifndef TALLY_OFFLOAD_H
#define TALLY_OFFLOAD_H

#include <stdint.h>

#include "gcounter.h"
#include "vclock.h"
#include "wire.h"

typedef struct tally_offload tally_offload_t;

/** How to build an engine. */
struct tally_offload_config {
	const char *backend;         /**< "cpu" or "sim" (docs/offload.md); NULL means "cpu" */
	uint32_t table_entries;      /**< keys the table holds, 1..2^24 */
	const char *kernels;         /**< cpu: "scalar", "avx2", "avx512"; NULL for the best */
	struct tally_wire_key key; /**< the cluster link's: verifies every frame */
};

/** What became of one received frame. */
enum tally_offload_disposition {
	TALLY_OFFLOAD_CONSUMED = 0, /**< a REPLICATE frame, every record merged */
	TALLY_OFFLOAD_TO_HOST,      /**< valid, but the host must act on it */
	TALLY_OFFLOAD_DROPPED,      /**< malformed; see verdict */
};

/** Per-frame result of tally_offload_rx(). */
struct tally_offload_rxinfo {
	uint8_t disposition;         /**< enum tally_offload_disposition */
	uint8_t verdict;             /**< enum tally_wire_verdict (TALLY_WIRE_OK unless dropped) */
	uint16_t merged;             /**< records the engine merged from this frame */
	struct tally_wire_addr addr; /**< the frame's addresses (unless dropped), for replies */
	struct tally_wire_hdr hdr;   /**< its header (unless dropped) */
};

/** A merged record: what the receiver now holds for one origin slot of one key. */
struct tally_offload_completion {
	uint16_t frame;  /**< position of its frame in the burst */
	uint16_t sender; /**< the frame's sender */
	uint64_t seq;    /**< the frame's sequence, for the ack's ref */
	uint32_t index;
	uint8_t origin;
	uint8_t key[TALLY_WIRE_KEY_ID_LEN];
	uint64_t p, n; /**< values now held at origin's slots */
};

/** Counters of the engine, for telemetry. */
struct tally_offload_stats {
	uint64_t frames;                          /**< frames given to rx */
	uint64_t consumed, to_host, dropped;      /**< by disposition */
	uint64_t drops[TALLY_WIRE_VERDICT_END];   /**< dropped frames by verdict */
	uint64_t records_merged;                  /**< by the engine in rx */
	uint64_t records_host;                    /**< applied through apply_slots/apply_states */
	uint64_t keys_used, keys_capacity;
	uint64_t engine_cycles;                   /**< spent in the backend's rx and merges (cycles.h):
						       on the sim backend, the model of the NIC's work */
};

/** Build an engine. @return it, or NULL with *err = -EINVAL (bad config), -ENOENT (unknown backend or kernels), -ENOMEM. */
tally_offload_t *tally_offload_create(const struct tally_offload_config *cfg, int *err);

/** Release @p o (NULL allowed). */
void tally_offload_destroy(tally_offload_t *o);

/** The backend's name ("cpu" or "sim"). */
const char *tally_offload_backend(const tally_offload_t *o);

/**
 * The index of key @p key, allocating an entry (zero counter) if the table
 * does not hold it yet. @return 1 if allocated now, 0 if it existed;
 * -ENOSPC when the table is full (nothing changes); -EIO when the engine has
 * failed (a NIC that stopped answering: nothing it holds can be trusted).
 */
int tally_offload_key_alloc(tally_offload_t *o, const uint8_t key[TALLY_WIRE_KEY_ID_LEN], uint32_t *index);

/** The index of key @p key. @return 0, or -ENOENT. */
int tally_offload_key_lookup(const tally_offload_t *o, const uint8_t key[TALLY_WIRE_KEY_ID_LEN],
			     uint32_t *index);

/** Free entry @p index. @return 0, -EINVAL if it is not in use, or -EIO (engine failed). */
int tally_offload_key_free(tally_offload_t *o, uint32_t index);

/**
 * Process a burst of @p n received frames (@p frames[i], @p lens[i] bytes):
 * verify, merge REPLICATE records, classify. Writes @p info[i] per frame and
 * up to @p max_compl completions into @p compl, their number into *ncompl.
 * A frame is processed only if its completions fit, so the return value
 * (frames processed, in order) may be below @p n; call again for the rest.
 * @p max_compl must be at least TALLY_WIRE_MAX_SLOTS, so any one frame fits,
 * and then 0 for @p n > 0 means the engine has failed (the sim backend's
 * watchdog saw the NIC stall): the caller must drop the frames.
 */
unsigned tally_offload_rx(tally_offload_t *o, const void *const *frames, const uint16_t *lens,
			  unsigned n, struct tally_offload_rxinfo *info,
			  struct tally_offload_completion *compl, unsigned max_compl, unsigned *ncompl);

/**
 * Merge slot records on the host path (their index must name their key).
 * @return records merged; stops at the first record whose index does not
 *   hold its key. Completions (may be NULL) as for rx, frame and seq zero.
 */
unsigned tally_offload_apply_slots(tally_offload_t *o, const struct tally_wire_slot *recs, unsigned n,
				   struct tally_offload_completion *compl);

/** Merge whole states (REPAIR, READ_REPLY). @return states merged, stopping as apply_slots. */
unsigned tally_offload_apply_states(tally_offload_t *o, const struct tally_wire_state *states, unsigned n);

/** Copy entry @p index's counter into @p out. @return 0, -EINVAL if not in use, -EIO (engine failed). */
int tally_offload_read(const tally_offload_t *o, uint32_t index, tally_pncounter_t *out);

/**
 * The counters of rows @p index[0..n) (each in use) into @p out[0..n), as one
 * burst: an offload NIC takes the reads back to back instead of one round
 * trip each. @return 0; -EINVAL if a row is not in use (nothing is read);
 * -EIO if the engine has failed.
 */
int tally_offload_read_many(const tally_offload_t *o, const uint32_t *index, unsigned n, tally_pncounter_t *out);

/**
 * Compare version vectors against entry @p index: the entry's P with @p p and
 * its N with @p n (a token's view of the key), giving the order of the entry
 * relative to each. The entry dominates the token when both are EQUAL or AFTER.
 * @return 0, -EINVAL if not in use, or -EIO (engine failed).
 */
int tally_offload_compare(const tally_offload_t *o, uint32_t index, const tally_vec_t *p,
			  const tally_vec_t *n, tally_vv_order_t *order_p, tally_vv_order_t *order_n);

/** Current counters. */
void tally_offload_stats(const tally_offload_t *o, struct tally_offload_stats *out);

#endif /* TALLY_OFFLOAD_H */
