/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The operations in flight at a node: a fixed pool (tally_config_ops), indexed by
 * key, and the ready queue. An operation that waited for something (a
 * recovery, a dependency, its members' confirmation) is put on the ready queue by the part
 * that saw it happen, and the poll loop (node.c) resumes it: no part calls
 * back into a higher one to resume an operation.
 */

#ifndef TALLY_NODE_OPS_H
#define TALLY_NODE_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "mvreg.h"
#include "token.h"
#include "wire.h"

enum op_kind { OP_FREE = 0, OP_WRITE, OP_FORWARD, OP_READ };

/*
 * ST_NEW: a write to apply (again) at its origin; ST_RECOVER, ST_DEP: a
 * write parked on a recovery or a dependency fetch; ST_SHIP: applied and
 * shipped (out.h holds what it sends until the log has it), counting
 * holders; ST_DONE: an internal read that finished, to be concluded by its
 * owner (recovery, causal).
 */
enum op_state { ST_NEW = 0, ST_RECOVER, ST_DEP, ST_SHIP, ST_DONE };

struct op {
	uint8_t kind, state;
	uint8_t cop;               /* enum tally_wire_op */
	uint8_t w, r;
	bool replied, recover;     /* recover: an internal read of every member (kv679) */
	bool fetch;                /* an internal read that pulls a dependency's state here */
	uint8_t key[16];
	uint8_t keylen;
	uint64_t client, seq;
	uint64_t delta;
	uint64_t deadline, linger, next_send;
	struct reply_to to;
	/* write: own slot values this op needs held, and by whom */
	uint64_t p, n;
	tally_nodemask_t targets, holders;
	/* read */
	tally_nodemask_t answered;
	uint64_t req_seq[TALLY_MAX_NODES];
	tally_pncounter_t merged;
	uint32_t parked;           /* recover, fetch: first write op waiting for it */
	uint32_t next_parked;      /* write: next op waiting for the same read */
	uint32_t hnext;            /* by-key chain */
	uint32_t rprev, rnext;     /* the ready queue */
	uint32_t live_ix;          /* where it is in node_ops.live */
	bool queued;
	bool held;                 /* write: waits for members to confirm our log position (origin.c) */
	uint64_t started;
	uint64_t gen;              /* tells a reused entry from the op that was freed */
	bool has_need;             /* session: the request's token said what it has seen (need) */
	bool causal;               /* a causal write: it waits for dep_key's state (dep_need) */
	uint8_t dep_key[16];
	/* an MV-register op: the put's value and context, the dot counter it made; a read's merge */
	bool mv, has_ctx;
	uint8_t vlen;
	uint64_t mv_counter;
	tally_mvreg_t *mvr;
	bool mv_differ, mv_lww;
	uint8_t toklen;
	bool want_tok;             /* the request asked for a token in the answer (wire flag bit 0) */
	uint64_t pin_dep;          /* forward: the log position of its pin (reply_relay) */

	/* Not zeroed by op_new() (they are most of an op's bytes): each is
	 * written before it is read, and read only under the guard named. */
	tally_pncounter_t got[TALLY_MAX_NODES]; /* read: what node t answered, under answered */
	tally_pncounter_t need;    /* under has_need */
	tally_pncounter_t dep_need; /* under causal */
	uint8_t dep_tok[TALLY_TOKEN_LEN]; /* under causal */
	tally_vec_t ctx;           /* under has_ctx */
	uint8_t val[TALLY_MVREG_VALUE_MAX]; /* vlen bytes */
	uint8_t keybytes[TALLY_WIRE_CLIENT_STR_MAX]; /* keylen bytes */
	uint8_t tok[TALLY_TOKEN_LEN]; /* the token to answer with: toklen bytes */
};

struct node_ops {
	struct op *v;              /* cap of them: tally_config_ops() */
	uint32_t cap;
	uint32_t free_op, nops;
	uint32_t *live;            /* the nops ops in use, in no order: what the scan visits */
	uint64_t gen;
	uint32_t bucket[OP_HASH];
	uint32_t ready_head, ready_tail;
};

/** Allocate a pool of @p cap ops. @return 0 or -ENOMEM. */
int ops_init(struct node_ops *p, uint32_t cap);
void ops_fini(struct node_ops *p);

/** A new op of @p kind for @p key, zeroed. @return its index, or NIL when the pool is full. */
uint32_t op_new(struct tally_node *n, unsigned kind, const uint8_t key[16]);

/** Free op @p i (off the ready queue too). */
void op_free(struct tally_node *n, uint32_t i);

/** The first op of @p key's bucket (follow hnext; compare keys). */
uint32_t op_bucket(const struct tally_node *n, const uint8_t key[16]);

/** Put op @p i on the ready queue (once), for the poll loop to resume. */
void op_ready(struct tally_node *n, uint32_t i);

/** Take the op at the head of the ready queue. @return its index, or NIL when empty. */
uint32_t op_ready_pop(struct tally_node *n);

#endif /* TALLY_NODE_OPS_H */
