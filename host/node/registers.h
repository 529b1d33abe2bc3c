/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The MV-registers a node holds (docs/sessions.md#mv-registers): a table of
 * its own beside the NIC's (which holds counters only), their log records,
 * last-writer-wins pruning, and MVSTATE frames that carry a register.
 */

#ifndef TALLY_NODE_REGISTERS_H
#define TALLY_NODE_REGISTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "mvreg.h"

#define MV_SHIP_MAX 40 /* siblings a register may have: its state must fit one frame */

/* A node's MV-register for one key. */
struct mventry {
	bool used;
	tally_nodemask_t confirmed; /* preferred replicas whose acks cover this state (handoff) */
	bool lww;                   /* last-writer-wins (an opt-in by key prefix): one value only */
	uint8_t key[16];
	tally_mvreg_t reg;
};

struct regs_stats {
	uint64_t merges;            /* registers pushed to us and merged */
};

struct node_regs {
	struct mventry *mv;         /* table_entries registers, open addressing */
	uint32_t entries, used;
	struct regs_stats stats;
};

int regs_init(struct node_regs *r, uint32_t entries);
void regs_fini(struct node_regs *r);

/** The register of @p key; NULL if there is none (and @p create is false, or the table is full). */
struct mventry *regs_find(struct tally_node *n, const uint8_t key[16], bool create);

/** Last-writer-wins: keep only the sibling with the highest dot. */
void regs_lww_prune(tally_mvreg_t *r);

/** Whether a key's bytes fall under the configuration's LWW prefixes. */
bool regs_lww_key(const struct tally_node *n, const uint8_t *key, unsigned len);

/** Log entry @p e's register. */
void regs_log(struct tally_node *n, struct mventry *e);

/** Send register @p reg of @p key to @p peer, all siblings in one frame; @p ref != 0 answers a read. */
void regs_ship(struct tally_node *n, unsigned peer, const uint8_t key[16], const tally_mvreg_t *reg, uint64_t ref);

/** A register pushed to us by @p from: merge and log it, ack it after the commit. */
void regs_merge_in(struct tally_node *n, unsigned from, const uint8_t key[16], const tally_mvreg_t *reg, bool lww);

#endif /* TALLY_NODE_REGISTERS_H */
