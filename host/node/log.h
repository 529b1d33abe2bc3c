/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The write-ahead log as a node uses it (host/wal.h underneath): its
 * records, and the commit after which what waited for it is released.
 * Every record moves the output position (out.h), so every frame and reply
 * built after it, replica acks, a write's ships and its answer included,
 * waits for the commit that holds it. So an ack means durable, and an
 * answer counts durable copies. The log's own thread writes and syncs each
 * commit (wal.h): the poll loop goes on meanwhile.
 */

#ifndef TALLY_NODE_LOG_H
#define TALLY_NODE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "wal.h"
#include "wire.h"

struct node_log {
	struct tally_wal *wal;
	bool flight;               /* a commit is in flight on the log thread */
	uint64_t interval_ns;      /* commit = interval: start a commit at most this often (0: sync, at once) */
	uint64_t next_start;       /* interval: not before this (node_now_ns) */
	uint64_t flight_out;       /* the output position (out.h) it makes durable */
	int error;                 /* the negative errno the log failed with, or 0 */
	uint64_t failed_at;        /* when (node_now_ns) */
};

void log_fini(struct node_log *l);

/** Log slot @p origin of @p key at (p, nv). */
void log_slot(struct tally_node *n, const uint8_t key[16], unsigned origin, uint64_t p, uint64_t nv);
/** Log a whole state of @p key. */
void log_state(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *s);
/** Log an applied op id. */
void log_opid(struct tally_node *n, uint64_t client, uint64_t seq);
/** Log a register's whole state. */
void log_mvreg(struct tally_node *n, const uint8_t key[16], tally_mvreg_t *reg, bool lww);
/** Log that our own slot of @p key is recovered from every member. */
void log_recovered(struct tally_node *n, const uint8_t key[16]);
/** Log that @p key's entry is freed. @return 0 or a negative errno. */
int log_drop(struct tally_node *n, const uint8_t key[16]);

/** A pin: write (@p client, @p seq) went to @p origin at @p unix_ms (wall clock, for its age after a restart). */
void log_pin(struct tally_node *n, uint64_t client, uint64_t seq, unsigned origin, uint64_t unix_ms);

/** Member @p peer announced log position @p pos. */
void log_peer(struct tally_node *n, unsigned peer, uint64_t pos);

/** Whether the log failed: nothing can be made durable any more. */
bool log_failed(const struct tally_node *n);

/**
 * The commit pipeline, once a poll round: if the commit in flight on the
 * log thread is over, release what waited for it (out.h); if none is in
 * flight, hand it what is pending. It never waits for the disk. If a commit fails, the log is failed for good:
 * said once, the writes answered io_error, and nothing that depends on what
 * it did not hold ever leaves. @return 0 or -EIO.
 */
int log_commit(struct tally_node *n);

/** Whether output position @p pos (out_now() when something was appended) is durable. */
bool log_durable(const struct tally_node *n, uint64_t pos);

#endif /* TALLY_NODE_LOG_H */
