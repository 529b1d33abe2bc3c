/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The write-ahead log as a node uses it (host/wal.h underneath): its
 * records, and the commit after which what waited for it is released.
 * Replica acks (REPLICATE_ACK, MV-register acks) wait here and are sent
 * after the commit; writes applied at their origin wait here and go on the
 * ready queue after it (ops.h), for the poll loop to ship and answer. So an
 * ack means durable, and an answer counts durable copies.
 */

#ifndef TALLY_NODE_LOG_H
#define TALLY_NODE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "offload.h"
#include "wal.h"
#include "wire.h"

#define MV_ACKS 4096 /* register acks waiting for the commit */

/* Replica acks of one frame, sent after the commit. */
struct ackq {
	struct tally_wire_addr from;
	struct tally_wire_hdr hdr;
	unsigned first, n;
};

/* A register ack to send once what it acknowledges is durable. */
struct mvack {
	unsigned peer;
	uint8_t key[16];
	tally_vec_t ctx;
};

struct node_log {
	struct tally_wal *wal;
	uint32_t *commit_ops;      /* writes applied here this round (MAX_OPS) */
	unsigned ncommit_ops;
	struct tally_offload_completion *acks;
	unsigned nacks, cap_acks;
	struct ackq *ackq;
	unsigned nackq, cap_ackq;
	struct mvack *mvacks;
	unsigned nmvacks;
};

int log_init(struct node_log *l);
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

/** Whether the log failed: nothing can be made durable any more. */
bool log_failed(const struct tally_node *n);

/** Ack @p cnt records of the frame (@p from, @p hdr) after the commit. */
void log_ack_later(struct tally_node *n, const struct tally_wire_addr *from, const struct tally_wire_hdr *hdr,
		   const struct tally_offload_completion *c, unsigned cnt);

/** Ack register @p key to @p peer, up to @p ctx, after the commit. */
void log_mvack_later(struct tally_node *n, unsigned peer, const uint8_t key[16], const tally_vec_t *ctx);

/** Write op @p oi was applied here: it goes on the ready queue (ST_COMMITTED) after the commit. */
void log_op_later(struct tally_node *n, uint32_t oi);

/**
 * Commit what is pending; then send the acks that waited and put the
 * writes that waited on the ready queue. If the commit fails, the writes
 * are answered io_error and nothing is acked. @return 0 or -EIO.
 */
int log_commit(struct tally_node *n);

#endif /* TALLY_NODE_LOG_H */
