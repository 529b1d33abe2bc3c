/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The client socket: CLIENT_REQUEST datagrams from the client library,
 * checked and handed to the coordinator; frames that fail their checks are
 * counted by reason and, where their op ids can be read, refused record by
 * record.
 */

#ifndef TALLY_NODE_CLIENTS_H
#define TALLY_NODE_CLIENTS_H

#include <stdint.h>

#include "wire.h"

#define CLIENT_BURST 32

struct clients_stats {
	uint64_t frames, drops[TALLY_WIRE_VERDICT_END];
};

struct node_clients {
	uint64_t last_warn;
	struct clients_stats stats;
};

/** Read a burst of datagrams. @return how many. */
unsigned clients_poll(struct tally_node *n);

#endif /* TALLY_NODE_CLIENTS_H */
