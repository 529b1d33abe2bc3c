/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The write-ahead log as a node uses it (host/wal.h underneath): its
 * records, and the commit after which what waited for it is released.
 * Every record moves the output position (out.h), so every frame and reply
 * built after it, replica acks included, waits for the commit; writes
 * applied at their origin wait here and go on the ready queue after it
 * (ops.h), for the poll loop to ship and answer. So an ack means durable,
 * and an answer counts durable copies.
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
	uint32_t *commit_ops;      /* writes applied here this round (as many as ops) */
	unsigned ncommit_ops;
	int error;                 /* the negative errno the log failed with, or 0 */
	uint64_t failed_at;        /* when (node_now_ns) */
	unsigned stall_ms;         /* tests only (/fault?sync_ms=MS): wait this long before each commit */
};

int log_init(struct node_log *l, uint32_t ops);
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

/** Member @p peer announced log position @p pos. */
void log_peer(struct tally_node *n, unsigned peer, uint64_t pos);

/** Whether the log failed: nothing can be made durable any more. */
bool log_failed(const struct tally_node *n);

/** Write op @p oi was applied here: it goes on the ready queue (ST_COMMITTED) after the commit. */
void log_op_later(struct tally_node *n, uint32_t oi);

/**
 * Commit what is pending; then release what waited for it (out.h) and put
 * the writes that waited on the ready queue. If the commit fails, the log
 * is failed for good: said once, the writes answered io_error, and nothing
 * that depends on what it did not hold ever leaves. @return 0 or -EIO.
 */
int log_commit(struct tally_node *n);

#endif /* TALLY_NODE_LOG_H */
