/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The counter table as the host sees it: the offload engine's entries
 * (dataplane/offload.h, the NIC's table) and what the host keeps beside
 * each one (its key, partition, the peers' indexes of it, what is owed to
 * whom). Every merge the host makes into the table goes through here, and
 * is logged.
 */

#ifndef TALLY_NODE_TABLE_H
#define TALLY_NODE_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "offload.h"
#include "wire.h"

/* What the host keeps per counter-table entry. */
struct keymeta {
	bool used;
	bool recovered;                    /* own slot known to be the highest anywhere */
	uint8_t key[16];
	uint32_t peer_ix[TALLY_MAX_NODES]; /* the peer's table index, from its acks */
	tally_nodemask_t handoff_ok[TALLY_MAX_NODES]; /* [t] bit o: node t holds our slot o of this key */
	tally_nodemask_t owe;              /* preferred replicas our writes missed while down */
	uint32_t part;                     /* its partition */
};

struct table_stats {
	uint64_t table_full;        /* new keys refused: no room */
	uint64_t host_path_records; /* records the NIC could not place, merged by the host */
};

struct node_table {
	tally_offload_t *engine;
	struct keymeta *meta;      /* one per engine entry */
	uint32_t entries;
	bool new_recovered;        /* new entries start recovered (false: recovering a lost disk) */
	bool dirty;                /* something changed since the causal part last looked */
	struct table_stats stats;
};

/** The entry of @p key, or NIL. */
uint32_t table_find(const struct tally_node *n, const uint8_t key[16]);

/** The entry of @p key, allocating it. @return 0 or a tally_status. */
int table_get(struct tally_node *n, const uint8_t key[16], uint32_t *ix);

/** Entry @p ix's state (all zero for NIL). @return 0 or TALLY_E_IO. */
int table_state(const struct tally_node *n, uint32_t ix, tally_pncounter_t *s);

/** The states of entries @p ix[0..cnt) (none NIL) as one burst to the engine. @return 0 or TALLY_E_IO. */
int table_states(const struct tally_node *n, const uint32_t *ix, unsigned cnt, tally_pncounter_t *s);

/** Merge a whole state into the table (host path) and log it. @return 0 or a tally_status. */
int table_merge_state(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *s, uint32_t *ixout);

/** Merge one slot record into the table (host path) and log it; *c is what the entry holds now.
 * @return 0 or a tally_status. */
int table_merge_slot(struct tally_node *n, const struct tally_wire_slot *slot, struct tally_offload_completion *c);

/** Slot @p origin of entry @p ix (every slot if -1) may have risen: the nodes we owe it must confirm again. */
void table_changed(struct tally_node *n, uint32_t ix, int origin);

/** Member @p peer restarted: forget the table indexes it gave us. */
void table_forget_peer(struct tally_node *n, unsigned peer);

/** Free entry @p ix (a hint handed off). @return 0 or a negative errno. */
int table_free(struct tally_node *n, uint32_t ix);

#endif /* TALLY_NODE_TABLE_H */
