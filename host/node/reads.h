/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Reads: a coordinator gathers replicas' states of a key (READ_REQUEST,
 * READ_REPLY), merges them, answers once R hold what the session's token
 * says it has seen, and repairs the replicas that answered with less (read
 * repair); a replica serves READ_REQUESTs and applies REPAIRs. Internal
 * reads (a recovery, a dependency fetch) are gathered the same way, and
 * when one finishes it goes on the ready queue (ST_DONE) for its owner.
 */

#ifndef TALLY_NODE_READS_H
#define TALLY_NODE_READS_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "mvreg.h"
#include "wire.h"

struct reads_stats {
	uint64_t reads;            /* client reads answered ok */
	uint64_t repairs_sent, repairs_applied;
	uint64_t token_waits;      /* rounds a read waited for replicas to catch up with its token */
	uint64_t not_yet;          /* reads answered not_yet */
	uint64_t token_checks_nic; /* tokens checked against our replica by the NIC's VV unit */
};

/** Ask every target of read @p oi that has not answered for the key's state (ourselves directly). */
void reads_send(struct tally_node *n, uint32_t oi);


/** Replica @p from's register (NULL: it holds none) for read @p oi. */
void reads_got_register(struct tally_node *n, uint32_t oi, unsigned from, const tally_mvreg_t *reg, bool lww);

/** Read @p oi's deadline and retransmission (the poll loop's scan). */
void reads_tick(struct tally_node *n, uint32_t oi);

/** The reads that a reply from @p from to our frame @p ref answers, with their generations. @return how many. */
unsigned reads_answered(const struct tally_node *n, const uint8_t key[16], unsigned from, uint64_t ref,
			uint32_t *match, uint64_t *gen, unsigned max);

/** Whether read @p i is still the one reads_answered() found. */
bool reads_still(const struct tally_node *n, uint32_t i, uint64_t gen);

/** READ_REQUEST, READ_REPLY and REPAIR frames. */
void reads_on_request(struct tally_node *n, const struct tally_wire_frame *f);
void reads_on_reply(struct tally_node *n, const struct tally_wire_frame *f);
void reads_on_repair(struct tally_node *n, const struct tally_wire_frame *f);

#endif /* TALLY_NODE_READS_H */
