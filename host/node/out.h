/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Output commit: the one rule for everything that leaves a node (cluster
 * frames and client datagrams alike). Each names the log position it
 * depends on, by default everything appended so far, and is released only
 * once the log holds that position durably. Until then it is held here, in
 * order. So no peer and no client ever sees state that a kill -9 (or a
 * failed disk) can take back: a node never restarts behind what it showed.
 * The log (log.c) moves the positions: one per record appended, durable as
 * each commit of the log thread ends (a commit covers what was appended
 * before it began; what came during it waits for the next). After the log fails, nothing that depends on what it did not
 * hold ever leaves (docs/durability.md#storage-errors).
 */

#ifndef TALLY_NODE_OUT_H
#define TALLY_NODE_OUT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "base.h"

/** The position of a datagram that carries no state (a refusal, a request): always released. */
#define OUT_NO_STATE 0

struct out_stats {
	uint64_t held;         /* sent only after a commit */
	uint64_t direct;       /* sent at once: nothing they depend on was still pending */
	uint64_t dropped;      /* never sent: they depend on what the log failed to hold */
	uint64_t held_max;     /* the most bytes held at once */
	uint64_t sent;         /* frames and datagrams that left, held or not */
};

struct tally_dp;

struct node_out {
	struct tally_dp *dp; /* cluster frames go out here */
	uint64_t appended;  /* records appended to the log, ever */
	uint64_t durable;   /* of which the log holds durably */
	bool failed;        /* the log failed: durable never moves again */
	bool interval;      /* commit = interval: nothing waits for the log (config.md), but after a
			       failure what it did not hold still never leaves */
	uint8_t *q;         /* held datagrams, in order (struct out_held + bytes each), from qhead to qlen */
	size_t qhead, qlen, qcap;
	struct out_stats stats;
};

void out_fini(struct node_out *o);

/** The position of what is built now: everything appended so far. */
uint64_t out_now(const struct tally_node *n);

/** Send cluster frame @p buf (@p len bytes, whole Ethernet frame) once position @p dep is durable. */
void out_frame(struct tally_node *n, const uint8_t *buf, uint16_t len, uint64_t dep);

/** Send UDP payload @p buf to client address @p sa over @p fd once position @p dep is durable. */
void out_datagram(struct tally_node *n, int fd, const struct sockaddr_in *sa, const uint8_t *buf, uint16_t len,
		  uint64_t dep);

/** The log took one more record. */
void out_appended(struct tally_node *n);

/** The log holds everything appended up to position @p pos durably: release what waited for it. */
void out_durable(struct tally_node *n, uint64_t pos);

/** The log failed: drop what waits, and from now on everything that depends on a later position. */
void out_failed(struct tally_node *n);

#endif /* TALLY_NODE_OUT_H */
