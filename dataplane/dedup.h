/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Op ids and the dedup window: a retried increment is applied once.
 *
 * Every client request carries an op id: the client's 64-bit id and a
 * sequence number that starts at 1 and grows by one per operation. The dedup
 * table remembers, per client, the highest sequence applied and a bitmap of
 * which of the @c window sequences below it were applied (as IPsec's
 * anti-replay window does), so operations may arrive and be retried out of
 * order within the window.
 *
 * Beyond the window the table cannot tell, and it refuses rather than risk
 * counting twice (docs/crdt.md has the full rules):
 *   - a sequence more than @c window below the client's highest is
 *     TALLY_DEDUP_TOO_OLD;
 *   - the table holds at most @c clients clients; a new client evicts the
 *     least recently used one. While the table has never evicted a client,
 *     a client it does not know has never been applied here, so any of its
 *     sequences is NEW. Once it has evicted, a client it does not know is
 *     accepted only for sequences 1..window (a fresh client's first window);
 *     beyond that its state may have been evicted, so the answer is
 *     TALLY_DEDUP_UNKNOWN_CLIENT.
 *
 * Checking and recording are separate calls so that an operation that fails
 * to apply (an overflow, say) is not recorded as applied.
 */

#ifndef TALLY_DEDUP_H
#define TALLY_DEDUP_H

#include <stdbool.h>
#include <stdint.h>

/** A unique identity for one client operation. */
typedef struct tally_opid {
	uint64_t client; /**< chosen by the client, random 64 bits */
	uint64_t seq;    /**< 1, 2, 3, ... per client; 0 is invalid */
} tally_opid_t;

/** Sizes of a dedup table. */
struct tally_dedup_config {
	uint32_t window;  /**< sequences remembered per client: a multiple of 64 in 64..65536 */
	uint32_t clients; /**< clients remembered: 1..2^24 */
};

/** Defaults: 1024 sequences per client, 65536 clients (about 9 MiB). */
#define TALLY_DEDUP_DEFAULT_WINDOW 1024
#define TALLY_DEDUP_DEFAULT_CLIENTS 65536

/** What the table knows of an op id. */
enum tally_dedup_verdict {
	TALLY_DEDUP_NEW = 0,            /**< not applied yet: apply, then record */
	TALLY_DEDUP_DUPLICATE,          /**< already applied: do not apply again */
	TALLY_DEDUP_TOO_OLD,            /**< below the client's window: outcome unknown, refuse */
	TALLY_DEDUP_UNKNOWN_CLIENT,     /**< client not held and seq beyond its first window: refuse */
};

typedef struct tally_dedup tally_dedup_t;

/**
 * A table sized by @p cfg (NULL for the defaults).
 * @return the table, or NULL with *err = -EINVAL (bad sizes) or -ENOMEM.
 */
tally_dedup_t *tally_dedup_create(const struct tally_dedup_config *cfg, int *err);

/** Free @p d (NULL is allowed). */
void tally_dedup_free(tally_dedup_t *d);

/**
 * What the table knows of @p op, without changing it.
 * @return a tally_dedup_verdict, or -EINVAL for seq 0.
 */
int tally_dedup_check(const tally_dedup_t *d, tally_opid_t op);

/**
 * Record @p op as applied. Call only after tally_dedup_check() said
 * TALLY_DEDUP_NEW and the operation took effect. May evict the least recently
 * used client.
 * @return 0; -EINVAL for seq 0; -EALREADY if the table does not answer NEW
 *   for @p op (nothing recorded).
 */
int tally_dedup_record(tally_dedup_t *d, tally_opid_t op);

/** One client's state, as tally_dedup_foreach() shows it. */
typedef void (*tally_dedup_visit_fn)(void *ctx, uint64_t client, uint64_t highest, const uint64_t *bits,
				     uint32_t words);

/**
 * Call @p fn for every client held, least recently used first, with its
 * highest sequence and its window (@p words 64-bit words; bit k of the
 * window is sequence highest - k). A durable node writes this into its
 * snapshots; restoring in the same order keeps the recency order.
 */
void tally_dedup_foreach(const tally_dedup_t *d, tally_dedup_visit_fn fn, void *ctx);

/**
 * Set @p client's state to what tally_dedup_foreach() showed, making it the
 * most recently used (evicting the least recently used if the table is full).
 * @return 0; -EINVAL if @p words is not this table's window / 64 or @p highest is 0.
 */
int tally_dedup_restore(tally_dedup_t *d, uint64_t client, uint64_t highest, const uint64_t *bits,
			uint32_t words);

/**
 * Say that this table's owner evicted clients before (a node restoring its
 * table from a snapshot that recorded tally_dedup_has_evicted()).
 */
void tally_dedup_mark_evicted(tally_dedup_t *d);

/** Whether the table, or the one it was restored from, ever evicted a client. */
bool tally_dedup_has_evicted(const tally_dedup_t *d);

/** Counters a node exposes in telemetry. */
struct tally_dedup_stats {
	uint64_t clients;   /**< clients held now */
	uint64_t evictions; /**< clients evicted to make room, ever */
};

/** Current counters of @p d. */
void tally_dedup_stats(const tally_dedup_t *d, struct tally_dedup_stats *out);

/** Short name of a verdict, for messages. */
const char *tally_dedup_verdict_name(int verdict);

#endif /* TALLY_DEDUP_H */
