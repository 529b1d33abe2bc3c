/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The node object: what is the node's own (its configuration, identity and
 * keys), then one member per part, each declared in the part's header. The
 * files of host/node/ include this to reach the parts below their own
 * (docs/cluster.md#the-files-of-a-node gives the order); the status page
 * reads each part's stats. Not an interface: host/node.h is.
 */

#ifndef TALLY_NODE_STATE_H
#define TALLY_NODE_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "node.h"
#include "placement.h"
#include "wire.h"

#include "admin.h"
#include "ae.h"
#include "base.h"
#include "causal.h"
#include "clients.h"
#include "coord.h"
#include "handoff.h"
#include "link.h"
#include "log.h"
#include "members.h"
#include "ops.h"
#include "opids.h"
#include "origin.h"
#include "out.h"
#include "reads.h"
#include "recovery.h"
#include "registers.h"
#include "reply.h"
#include "table.h"

/* The poll loop's own accounting (node.c), as DPDK's power-aware examples
 * tell busy polls from idle ones: the rounds that did work (took a frame, a
 * datagram or a status request, or sent something) and the cycles they
 * took. What an increment costs the host is busy cycles over increments;
 * the process's CPU time is not, as a busy-polling node burns it idle. */
struct node_loop {
	uint64_t rounds, busy_rounds, busy_cycles;
	uint64_t tsc_hz;          /* cycles per second of tally_cycles() */
};

struct tally_node {
	/* the node's own */
	struct tally_config cfg;
	char name[32];
	FILE *log_stream;
	unsigned self;
	uint32_t epoch;
	bool recovering_mode;     /* the data directory was lost: recover each key before raising it */
	struct tally_wire_key link_key; /* every frame on the cluster link, of every type */
	uint8_t token_key[32];
	struct tally_placement *pl;
	uint64_t now, started, last_snapshot, next_scan;
	int sink_fd;
	/* Deliberate bugs for the fault suite's must-fail runs (/fault?break=...):
	 * apply retried op ids again; serve reads without honouring their token. */
	bool broken_dedup, broken_tokens;

	/* the parts, bottom to top */
	struct node_out out;
	struct node_link link;
	struct node_ops ops;
	struct node_reply reply;
	struct node_log log;
	struct node_table table;
	struct node_members members;
	struct node_regs regs;
	struct reads_stats reads;
	struct node_recovery recovery;
	struct node_causal causal;
	struct node_opids opids;
	struct node_handoff handoff;
	struct node_ae ae;
	struct origin_stats origin;
	struct coord_stats coord;
	struct node_clients clients;
	struct node_admin admin;
	struct node_loop loop;
};

#endif /* TALLY_NODE_STATE_H */
