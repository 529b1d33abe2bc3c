/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The consistent-hash ring of placement.h. Tokens are XXH3-64 of
 * {node id, vnode} (little-endian u32 pair), so every node of a cluster,
 * whatever its CPU, builds the same ring; each partition's walk is computed
 * once at creation (P x members bytes) so a lookup is a multiply and an
 * index.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "placement.h"

struct tally_placement {
	uint32_t partitions;
	unsigned n, members;
	uint8_t *order; /* partitions x members */
};

struct token {
	uint64_t pos;
	uint8_t node;
};

static int
by_pos(const void *a, const void *b)
{
	const struct token *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return (int)x->node - (int)y->node; /* a tie (astronomically rare) broken the same everywhere */
}

static uint64_t
token_pos(unsigned node, unsigned vnode)
{
	uint8_t b[8];

	for (unsigned i = 0; i < 4; i++) {
		b[i] = (uint8_t)(node >> (8 * i));
		b[4 + i] = (uint8_t)(vnode >> (8 * i));
	}
	return XXH3_64bits(b, sizeof(b));
}

struct tally_placement *
tally_placement_create(uint32_t partitions, unsigned n, const bool member[TALLY_MAX_NODES], int *err)
{
	struct tally_placement *pl;
	struct token *ring;
	unsigned members = 0, ntok;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		members += member[i];
	if (partitions < 1 || partitions > 65536 || n < 1 || n > members) {
		*err = -EINVAL;
		return NULL;
	}
	ntok = members * TALLY_PLACEMENT_VNODES;
	pl = calloc(1, sizeof(*pl));
	ring = calloc(ntok, sizeof(*ring));
	if (pl != NULL)
		pl->order = malloc((size_t)partitions * members);
	if (pl == NULL || ring == NULL || pl->order == NULL) {
		free(ring);
		tally_placement_free(pl);
		*err = -ENOMEM;
		return NULL;
	}
	pl->partitions = partitions;
	pl->n = n;
	pl->members = members;
	ntok = 0;
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		for (unsigned v = 0; member[i] && v < TALLY_PLACEMENT_VNODES; v++)
			ring[ntok++] = (struct token){ token_pos(i, v), (uint8_t)i };
	qsort(ring, ntok, sizeof(*ring), by_pos);

	/* Partition p covers [p * 2^64 / P, (p + 1) * 2^64 / P); its walk starts
	 * at the first token at or after its start, wrapping around. */
	unsigned t = 0;
	for (uint32_t p = 0; p < partitions; p++) {
		uint64_t start = (uint64_t)(((unsigned __int128)p << 64) / partitions);
		uint8_t *out = &pl->order[(size_t)p * members];
		bool seen[TALLY_MAX_NODES] = { false };
		unsigned k = 0;

		while (t < ntok && ring[t].pos < start)
			t++;
		for (unsigned j = 0; k < members; j++) {
			const struct token *tk = &ring[(t + j) % ntok];
			if (!seen[tk->node]) {
				seen[tk->node] = true;
				out[k++] = tk->node;
			}
		}
	}
	free(ring);
	*err = 0;
	return pl;
}

void
tally_placement_free(struct tally_placement *pl)
{
	if (pl == NULL)
		return;
	free(pl->order);
	free(pl);
}

uint32_t
tally_placement_partition(const struct tally_placement *pl, const uint8_t key[16])
{
	uint64_t h = 0;

	for (unsigned i = 0; i < 8; i++)
		h |= (uint64_t)key[i] << (8 * i);
	/* the key's position on the ring, as the partitions divide it */
	return (uint32_t)(((unsigned __int128)h * pl->partitions) >> 64);
}

const uint8_t *
tally_placement_nodes(const struct tally_placement *pl, uint32_t partition, unsigned *count)
{
	*count = pl->members;
	return &pl->order[(size_t)(partition % pl->partitions) * pl->members];
}

unsigned
tally_placement_n(const struct tally_placement *pl)
{
	return pl->n;
}

uint32_t
tally_placement_partitions(const struct tally_placement *pl)
{
	return pl->partitions;
}
