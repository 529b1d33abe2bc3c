/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Durability of one node: a write-ahead log with group commit, and periodic
 * snapshots, in the node's data directory (docs/durability.md).
 *
 * The log holds state, never deltas: a record says "slot o of key k is now
 * (p, n)" or "this operation was applied". Replaying a record twice, or
 * replaying records a snapshot already holds, is therefore harmless, the
 * same property the wire rests on.
 *
 * Records are appended to a buffer; a commit writes the buffer and calls
 * fdatasync() once for all of them (group commit): tally_wal_commit() in
 * the caller's thread, or tally_wal_commit_start() on the log's own
 * thread while the caller goes on (the commit pipeline). What a caller may
 * only do once a record is durable (acknowledge a write) it does after the
 * commit is over. A snapshot writes the whole state to a new file, makes it
 * durable, renames it into place and starts a new, empty log; a crash at any
 * point leaves either the old snapshot and log or the new ones.
 *
 * Every record carries a checksum; on open, a log that ends in a torn or
 * corrupt record is cut back to its last whole record (what was cut was
 * never committed, so never acknowledged).
 */

#ifndef TALLY_WAL_H
#define TALLY_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gcounter.h"
#include "mvreg.h"

/** Record types. */
enum tally_wal_type {
	TALLY_WAL_SLOT = 1,  /**< key, origin, p, n: one origin slot's values */
	TALLY_WAL_STATE,     /**< key, state: a whole PN-Counter */
	TALLY_WAL_OPID,      /**< client, seq: an operation applied here */
	TALLY_WAL_DEDUP,     /**< client, seq (its highest), words, bits: a client's dedup window */
	TALLY_WAL_RECOVERED, /**< key: this node's own slot of key was recovered from every member */
	TALLY_WAL_DROP,      /**< key: the key was handed off and freed here */
	TALLY_WAL_EVICTED,   /**< client (a count): the dedup table had evicted clients (snapshots) */
	TALLY_WAL_MVREG,     /**< key, mv: an MV-register's whole state */
	TALLY_WAL_PEER,      /**< origin (a member), p: the highest log position that member announced */
	TALLY_WAL_PIN,       /**< client, seq, origin, p (Unix ms): a forwarded write's op id and the origin it went to */
	TALLY_WAL_TYPE_END,
};

/** One record. Fields a type does not use are ignored. */
struct tally_wal_rec {
	uint8_t type;
	uint8_t origin;
	uint8_t key[16];
	uint64_t p, n;
	tally_pncounter_t state;
	uint64_t client, seq;
	uint32_t words;        /**< DEDUP: 64-bit words at bits */
	const uint64_t *bits;  /**< DEDUP; on replay, valid during the callback only */
	tally_mvreg_t *mv;     /**< MVREG: to append, the register; on replay, a register valid during the callback */
	bool mv_lww;           /**< MVREG: the register is last-writer-wins */
};

/** Counters for telemetry. */
struct tally_wal_stats {
	uint64_t generation;  /**< of the current snapshot and log */
	uint64_t records;     /**< appended since open */
	uint64_t commits;     /**< fdatasync calls of the log */
	uint64_t log_bytes;   /**< bytes in the current log */
	uint64_t snapshots;   /**< taken since open */
	uint64_t replayed;    /**< records replayed at open */
	uint64_t torn_bytes;  /**< cut from the log's end at open */
	uint64_t commit_ns;   /**< total time in commits (write and fdatasync) */
	uint64_t position;    /**< the log position: commits ever made durable in this directory */
	uint64_t coalesced;   /**< SLOT records that rewrote one of the same key and origin not yet committed */
};

struct tally_wal;

/** Called for each record replayed at open; nonzero stops the open with that error. */
typedef int (*tally_wal_replay_fn)(void *ctx, const struct tally_wal_rec *r);

/**
 * Open the log in directory @p dir (which must exist): replay the newest
 * generation's snapshot and then its log through @p fn, cut a torn tail,
 * remove files of older generations, and get ready to append.
 *
 * A torn tail is what a crash inside the last commit leaves: the records
 * after the first bad one belong to that commit, which never returned. A
 * bad record followed by a later commit, a newest snapshot that is
 * incomplete or corrupt, or a log without its snapshot is corruption: the
 * open fails with -EBADMSG and a message naming the file and offset, and
 * changes nothing on disk.
 * @return 0 with *out, or a negative errno with a one-line message in @p err.
 */
int tally_wal_open(const char *dir, tally_wal_replay_fn fn, void *ctx, struct tally_wal **out, char *err,
		   size_t errlen);

/** Commit what is pending and close (NULL allowed). */
void tally_wal_close(struct tally_wal *w);

/** Buffer a record. @return 0, -EINVAL (bad record), -ENOMEM, or the error the log failed with (then nothing is buffered). */
int tally_wal_append(struct tally_wal *w, const struct tally_wal_rec *r);

/** Whether records are waiting for a commit. */
bool tally_wal_pending(const struct tally_wal *w);

/** Write the pending records and fdatasync once, after the commit in flight if there is one (waiting
 * for it). @return 0 or -errno: then the log is failed for good, and what was pending is let go (it may
 * or may not be on disk; nothing after it will be). */
int tally_wal_commit(struct tally_wal *w);

/**
 * The commit pipeline: hand what is pending, sealed as one commit, to the
 * log's own thread (started at the first call), which writes and syncs it
 * while the caller goes on appending to the next. One commit is in flight
 * at a time, so the next one holds everything appended meanwhile: the
 * group grows with the load. @return 1 started; 0 nothing pending;
 * -EBUSY one is in flight; or the error the log failed with.
 */
int tally_wal_commit_start(struct tally_wal *w);

/**
 * Whether the commit in flight is over, without blocking unless @p wait.
 * @return 1 it is, and what it held is durable (tally_wal_position() moved);
 * 0 none is in flight, or it is still running; -errno it failed, and the log
 * with it, for good (as tally_wal_commit()).
 */
int tally_wal_commit_poll(struct tally_wal *w, bool wait);

/** Whether a commit is in flight. */
bool tally_wal_in_flight(const struct tally_wal *w);

/** Tests only: the log thread (and a commit made in the caller's thread) waits @p ms before each write,
 * as a slow disk would; 0 = none. */
void tally_wal_set_stall(struct tally_wal *w, unsigned ms);

/**
 * Take a snapshot: commit what is pending, then call @p fill, which must
 * append (through tally_wal_snapshot_add()) every record of the whole state;
 * the snapshot then replaces the old snapshot and log.
 * @return 0, or -errno (the old snapshot and log stay in force).
 */
int tally_wal_snapshot(struct tally_wal *w, int (*fill)(void *ctx, struct tally_wal *w), void *ctx);

/** Add a record to the snapshot being written; only from within fill. */
int tally_wal_snapshot_add(struct tally_wal *w, const struct tally_wal_rec *r);

/**
 * The log position: how many commits this data directory has made durable
 * since it was made (snapshots carry it over). It only grows, so a
 * directory restored from an older copy is behind the position its node
 * announced before (docs/durability.md#backup-and-restore).
 */
uint64_t tally_wal_position(const struct tally_wal *w);

/** Make the next commit's position at least @p pos (and commit even if nothing else is pending). */
void tally_wal_advance(struct tally_wal *w, uint64_t pos);

/** Whether a write or sync failed (then every later commit fails too). */
bool tally_wal_failed(const struct tally_wal *w);

/** Current counters. */
void tally_wal_stats(const struct tally_wal *w, struct tally_wal_stats *out);

#endif /* TALLY_WAL_H */
