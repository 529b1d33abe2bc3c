/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * One tally node: the quorum coordinator, the origin of writes to its own
 * slot, a replica, and its durability (docs/cluster.md).
 *
 * A node runs on one DPDK port (the cluster link, through dataplane/dp.h
 * and the offload engine) and one kernel UDP socket for clients, plus a TCP
 * port serving its status as JSON. tally_node_poll() does one round of work
 * and never blocks, so one thread can drive several nodes (tallyd's embedded
 * cluster does). Nothing here prints except through the log stream given.
 */

#ifndef TALLY_NODE_H
#define TALLY_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

struct tally_node;

struct tally_node_params {
	const struct tally_config *cfg; /**< the node's configuration (copied) */
	uint16_t port_id;               /**< the started-or-not DPDK port of the cluster link */
	uint32_t client_ip;             /**< address the client and admin sockets bind to; 0 = any */
	bool bootstrap;                 /**< an empty data directory is a new node, not a lost disk */
	FILE *log;                      /**< where messages go (stderr) */
	const char *name;               /**< prefix of its messages ("node 1") */
};

/**
 * Open the data directory (replaying its log), create the offload engine and
 * the dataplane on the port, bind the client and admin sockets.
 * @return the node, or NULL with a one-line message in @p err.
 */
struct tally_node *tally_node_create(const struct tally_node_params *p, char *err, size_t errlen);

/**
 * Make @p cfg's data directory that of a new node of a new cluster
 * (tallyd init): create it, and write its identity (node id, first
 * incarnation, not recovering). Without this, a node that starts on an
 * empty directory takes it for a lost disk and recovers its counts from
 * every member first. @return 0; -EEXIST if it already has an identity;
 * -ENOTEMPTY if it holds other files; or another negative errno; with a
 * one-line message in @p err.
 */
int tally_node_init_dir(const struct tally_config *cfg, char *err, size_t errlen);

/**
 * tallyd recover: set a data directory's log and snapshots aside, in a
 * directory aside-TIME of it named in @p aside, and mark it recovering, so
 * that the node's next start recovers its counts from every member.
 * @return 0, or -errno with a message in @p err.
 */
int tally_node_recover_dir(const struct tally_config *cfg, char *aside, size_t asidelen, char *err, size_t errlen);

/** Commit what is pending, take a snapshot, close everything (NULL allowed). */
void tally_node_destroy(struct tally_node *n);

/** One round: receive, coordinate, commit, send, run timers. @return units of work done (0 = idle). */
unsigned tally_node_poll(struct tally_node *n);

/** Whether a log commit is in flight: a round soon will release what waits for it, so do not sleep long. */
bool tally_node_committing(const struct tally_node *n);

/**
 * An extra handler for the status server's paths other than /status, for
 * tallyd's embedded cluster (/partition). It writes a JSON body into @p out
 * (@p cap bytes) and returns the HTTP status code.
 */
typedef int (*tally_node_admin_fn)(void *ctx, const char *path, char *out, size_t cap);
void tally_node_set_admin(struct tally_node *n, tally_node_admin_fn fn, void *ctx);

/** The node's status as one JSON object (what GET /status returns). @return bytes written. */
size_t tally_node_status_json(struct tally_node *n, char *out, size_t cap);

#endif /* TALLY_NODE_H */
