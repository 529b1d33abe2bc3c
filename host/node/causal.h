/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Causal writes (docs/sessions.md#causal-writes): a write that depends on
 * what its session saw of another key is applied, and shown by any replica,
 * only once that dependency is there. Owns the keys' last dependencies
 * (shipped with the key: CAUSAL records), the records held back until
 * their dependency arrives, and the fetches that pull a dependency here.
 */

#ifndef TALLY_NODE_CAUSAL_H
#define TALLY_NODE_CAUSAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "token.h"
#include "wire.h"

#define HELD_MAX 1024                /* causal records a replica holds back, at most */
#define DEPS 4096                    /* keys whose last causal dependency is remembered for shipping */
#define HELD_GIVE_UP_NS 30000000000u /* a held record is dropped after 30 s: the origin resends */

/* A causal record held back until its dependency is applied here. */
struct held {
	bool used;
	struct tally_wire_addr from;
	struct tally_wire_hdr hdr;
	struct tally_wire_slot slot;
	uint8_t dep_key[16];
	tally_pncounter_t need;
	uint64_t since;
};

/* The last dependency of a key's causal writes, so that whatever ships the
 * key later (handoff, anti-entropy) ships its dependency with it. */
struct dep {
	bool used;
	uint32_t ix;
	uint8_t dep_key[16];
	tally_pncounter_t need;
	uint8_t tok[TALLY_TOKEN_LEN];
};

struct causal_stats {
	uint64_t causal_writes, causal_in;
	uint64_t held_total, held_dropped, held_bad_dep, held_max_ns;
	uint64_t fetches;
	uint64_t token_checks_nic;
};

struct node_causal {
	struct held *held;
	unsigned nheld;
	struct dep *deps;
	struct causal_stats stats;
};

int causal_init(struct node_causal *c);
void causal_fini(struct node_causal *c);

/** Entry @p ix's last dependency, or NULL. */
const struct dep *causal_dep_of(const struct tally_node *n, uint32_t ix);

/** Entry @p ix's writes now depend on @p need of @p dep_key (token @p tok). */
void causal_dep_set(struct tally_node *n, uint32_t ix, const uint8_t dep_key[16], const tally_pncounter_t *need,
		    const uint8_t *tok);

/** Whether our own state of @p key includes @p need (the NIC's VV unit compares). */
bool causal_satisfied(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *need);

/**
 * Pull @p key's state here until it includes @p need: an internal read of
 * its live replicas and the nodes in @p extra, joined if one runs.
 * @return the read's op (writes may park on it), or NIL.
 */
uint32_t causal_fetch(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *need,
		      tally_nodemask_t extra, uint64_t deadline);

/** Fetch @p ri finished (ST_DONE): keep what it found, resume the writes it parked. */
void causal_fetch_finish(struct tally_node *n, uint32_t ri);

/** Ship slot @p origin of a key to @p peer: as a CAUSAL record with the key's last dependency
 * if its writes had one, else as a REPLICATE the NIC merges at once. */
void causal_ship_slot(struct tally_node *n, unsigned peer, const uint8_t key[16], uint32_t ix, unsigned origin,
		      uint64_t p, uint64_t nv);

/** A CAUSAL frame: merge what we can, hold back the rest. */
void causal_on_frame(struct tally_node *n, const struct tally_wire_frame *f);

/** Held records whose dependency arrived are merged (and acked after the commit). */
void causal_recheck(struct tally_node *n);

#endif /* TALLY_NODE_CAUSAL_H */
