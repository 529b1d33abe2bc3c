/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Answers to clients: CLIENT_REPLY records, to a client's address over the
 * client socket (one frame per client per round) or to the coordinator
 * node that forwarded the request. Owns the open reply frames and the
 * count of answers by status. Decides nothing about an operation.
 */

#ifndef TALLY_NODE_REPLY_H
#define TALLY_NODE_REPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "mvreg.h"
#include "status.h"
#include "wire.h"

struct op;

#define MAX_CREPLY 8 /* client addresses with a reply frame open in one round */

struct creply {
	bool open;
	bool state;   /* a record carries this node's state */
	uint64_t dep; /* the log position its records depend on (out.h) */
	struct sockaddr_in sa;
	uint32_t cred;
	struct tally_wire_writer w;
	uint8_t buf[FRAME_BUF];
};

struct reply_stats {
	uint64_t replies[TALLY_STATUS_END]; /* answers by status */
};

#define CRED_CACHE 256 /* client credential keys derived lately, by id */

struct cred_key {
	bool valid;
	uint32_t id;
	struct tally_wire_key key;
};

struct node_reply {
	int client_fd;
	struct creply open[MAX_CREPLY];
	struct cred_key creds[CRED_CACHE];
	struct reply_stats stats;
};

/** Send one CLIENT_REPLY record to @p to. */
/** The key of client credential @p id (derived from the cluster key once, then cached). */
const struct tally_wire_key *reply_cred_key(struct tally_node *n, uint32_t id);

void reply_to(struct tally_node *n, const struct reply_to *to, unsigned cop, uint64_t client, uint64_t seq,
	      const uint8_t *keybytes, unsigned keylen, unsigned status, int64_t value, const uint8_t *tok,
	      unsigned toklen);


/** Answer forwarded write @p o with its origin's @p answer (status, value, token), as it is: it
 * depends on no state of ours, only on our log holding the write's pin (o->pin_dep). */
void reply_relay(struct tally_node *n, struct op *o, const struct tally_wire_client *answer);

/** Answer op @p o (once; never an internal read) with @p status and @p value, and its token if it has one. */
void reply_op(struct tally_node *n, struct op *o, unsigned status, int64_t value);

/** Answer a read or write with the state @p s: its value, and a token that the session has seen @p s
 * (and what its own token said). A read of an MV-register answers its siblings instead. */
void reply_value(struct tally_node *n, struct op *o, const tally_pncounter_t *s);

/** Answer a put: its token is the register's context, its value the sibling count. */
void reply_put(struct tally_node *n, struct op *o, const tally_mvreg_t *reg);

/** The value of a state; 0 and TALLY_E_OUT_OF_RANGE in *status when ΣP or ΣN passes 2^63 - 1. */
int64_t reply_value_of(const tally_pncounter_t *s, unsigned *status);

/** Send every open client reply frame. */
void reply_flush_all(struct tally_node *n);

#endif /* TALLY_NODE_REPLY_H */
