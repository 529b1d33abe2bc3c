/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The bottom of a node (docs/cluster.md#the-files-of-a-node): the limits
 * every part shares, node masks, the clock, the log stream, and the pure
 * helpers of placement and version-vector order. Calls no other part.
 */

#ifndef TALLY_NODE_BASE_H
#define TALLY_NODE_BASE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gcounter.h"
#include "vec.h"

struct tally_node;

#define OP_HASH 16384          /* buckets of the by-key index of ops */
#define NIL UINT32_MAX
#define FRAME_BUF 9100
#define RETRANSMIT_NS 20000000u         /* resend REPLICATE to a replica that has not acked */
#define REPLICATE_LINGER_NS 5000000000u /* keep shipping after the answer, for replicas not yet holding */

/*
 * A set of node ids, one bit each. Every mask of node ids in host/node/ is
 * of this type, so that the limit below is the only place to change if
 * tokens ever allow more than 8 nodes (wider types then, up to 64).
 */
#if TALLY_MAX_NODES > 8
#error "tallyd supports at most 8 nodes (-Dmax_nodes <= 8): a session token must fit a client record (docs/wire.md)"
#elif TALLY_MAX_NODES <= 8
typedef uint8_t tally_nodemask_t;
#endif

/** The mask of node @p i alone. */
/* A heartbeat's one DIGEST record names this partition: keys is the
 * sender's log position, vv.slot[0] the highest position of the receiver's
 * the sender has heard (docs/durability.md#backup-and-restore). */
#define HEARTBEAT_PARTITION UINT32_MAX

#define NODE_BIT(i) ((tally_nodemask_t)((tally_nodemask_t)1 << (i)))

static inline unsigned
mask_count(tally_nodemask_t m)
{
	return (unsigned)__builtin_popcountll((unsigned long long)m);
}

/** Where an answer goes: a coordinator node over the cluster link, or a client's address. */
struct reply_to {
	bool node;
	uint16_t peer;
	struct sockaddr_in sa;
	uint32_t cred; /* a client: the id of its credential, whose key MACs its replies */
};

/** The monotonic clock, in ns. */
uint64_t node_now_ns(void);

/** calloc(), with every page touched now: the poll loop must not take a page fault the first
 * time it reaches each (as DPDK pins its hugepages). For the big tables that fill as load comes. */
void *node_calloc(size_t count, size_t size);

static inline uint64_t
ms_ns(unsigned ms)
{
	return (uint64_t)ms * 1000000u;
}

/** A line on the node's log stream ("tallyd: NAME: ..."); nothing if it has none. */
void node_note(struct tally_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The bucket of a key id in by-key indexes (key ids are XXH3-128: already uniform). */
uint32_t key_hash(const uint8_t key[16]);

/** The key's nodes in ring order: preference list first, then fallbacks. */
const uint8_t *node_ring_of(const struct tally_node *n, const uint8_t key[16], unsigned *count);

/** The key's preferred replicas (the first N of its ring). */
tally_nodemask_t preferred_mask(const struct tally_node *n, const uint8_t key[16]);

/** Whether this node is one of the key's preferred replicas. */
bool preferred_here(const struct tally_node *n, const uint8_t key[16]);

/** Whether state @p s includes everything @p need holds (both components EQUAL or AFTER). */
bool dominates(const tally_pncounter_t *s, const tally_pncounter_t *need);

/** Whether the sums of @p s's P and of its N slots each stay within 2^63 - 1, so its value
 * (and any value between) is an int64: the range every write keeps a counter in. */
bool pn_in_range(const tally_pncounter_t *s);

/** Whether vector @p a includes @p b. */
bool vec_covers(const tally_vec_t *a, const tally_vec_t *b);

#endif /* TALLY_NODE_BASE_H */
