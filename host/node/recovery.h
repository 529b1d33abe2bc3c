/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Recovery of a lost data directory (kv679, docs/durability.md): before a
 * node that lost its data raises its own slot of a key, it learns the
 * slot's highest value from every member, with an internal read. Writes to
 * the key wait for it (parked) and go on the ready queue when it ends.
 */

#ifndef TALLY_NODE_RECOVERY_H
#define TALLY_NODE_RECOVERY_H

#include <stdint.h>

struct recovery_stats {
	uint64_t recoveries; /* keys whose own slot was recovered */
};

/** Write @p wi needs its key recovered first: start the key's recovery, or join the one running. */
void recovery_start(struct tally_node *n, uint32_t wi);

/** Recovery read @p ri finished (ST_DONE): keep what it found and resume or refuse the writes it parked. */
void recovery_finish(struct tally_node *n, uint32_t ri);

#endif /* TALLY_NODE_RECOVERY_H */
