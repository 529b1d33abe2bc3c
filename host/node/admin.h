/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The status port of a node: GET /status (what tallyctl status shows, built
 * from each part's stats), /local/KEY (one replica's state), /fault (fault
 * injection, for tests), and whatever tallyd adds (the embedded cluster's
 * /partition).
 */

#ifndef TALLY_NODE_ADMIN_H
#define TALLY_NODE_ADMIN_H

#include <stddef.h>

#include "node.h"

#define ADMIN_CONNS 8

struct admin_conn {
	int fd;
	bool local; /* from this machine (a loopback address): may change things */
	size_t got;
	char req[1024];
};

struct node_admin {
	int fd;
	struct admin_conn conn[ADMIN_CONNS];
	tally_node_admin_fn fn;
	void *ctx;
	uint64_t refused; /* changes asked from another machine without the credential */
};

/** Accept and answer status requests. @return units of work done. */
unsigned admin_poll(struct tally_node *n);

#endif /* TALLY_NODE_ADMIN_H */
