/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The coordinator: every client request starts here, at the node the
 * client asked. Checks it and its session token, then starts a read, applies
 * a write here if this node is the key's origin, or forwards it to the
 * origin (pinned, so a retry goes there again) and relays the answer.
 */

#ifndef TALLY_NODE_COORD_H
#define TALLY_NODE_COORD_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "wire.h"

struct coord_stats {
	uint64_t client_records, forwarded, pinned_retries, tokens_in, tokens_refused;
};

/** A client request, from a client (@p forwarded false) or forwarded by a coordinator. */
void coord_request(struct tally_node *n, const struct tally_wire_client *c, const struct reply_to *to, bool forwarded);

/** An origin's answer to a write we forwarded (a CLIENT_REPLY record with a key). */
void coord_on_answer(struct tally_node *n, const struct tally_wire_client *c);

/** Forwarded write @p oi's deadline (the poll loop's scan). */
void coord_tick(struct tally_node *n, uint32_t oi);

#endif /* TALLY_NODE_COORD_H */
