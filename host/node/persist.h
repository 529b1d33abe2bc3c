/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * What a node keeps across restarts beside the log records: the identity
 * file of its data directory (which node, which incarnation, whether it is
 * recovering a lost directory), snapshots, and the replay of both.
 */

#ifndef TALLY_NODE_PERSIST_H
#define TALLY_NODE_PERSIST_H

#include <stdbool.h>
#include <stddef.h>

#include "wal.h"

#define SNAPSHOT_LOG_BYTES (64u << 20)    /* a snapshot when the log grows past this, */
#define SNAPSHOT_AGE_NS 300000000000u     /* or, with at least ... */
#define SNAPSHOT_MIN_BYTES (1u << 20)     /* ... this much log, every 5 minutes */

struct tally_node;

/** Read (or create) the identity file; sets the node's epoch and recovering mode (also when the last run
 * used commit = interval and did not stop cleanly). @return 0 or -errno. */
int persist_identity(struct tally_node *n, bool bootstrap, char *err, size_t errlen);

/** The log is synced and the node stops: under commit = interval, the identity says it stopped cleanly
 * (the next start needs no recovery). @return 0 or -EIO. */
int persist_clean_stop(struct tally_node *n);

/** Every key is recovered (and its states logged): the identity file says so. @return 0 or -EIO. */
int persist_recovered(struct tally_node *n);

/** Mark the identity recovering (the directory was found behind what it had shipped). @return 0 or -errno. */
int persist_recovering(struct tally_node *n);

/** tally_wal_replay_fn: apply one replayed record to the node. */
int persist_replay(void *ctx, const struct tally_wal_rec *r);

/** Take a snapshot of the whole node. @return 0 or -errno. */
int persist_snapshot(struct tally_node *n);

#endif /* TALLY_NODE_PERSIST_H */
