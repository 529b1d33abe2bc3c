/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The bottom of a node: the clock, the log stream, and the pure helpers of
 * placement and version-vector order every other part uses.
 */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state.h"
#include "vclock.h"

uint64_t
node_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void __attribute__((format(printf, 2, 3)))
node_note(struct tally_node *n, const char *fmt, ...)
{
	va_list ap;

	if (n->log_stream == NULL)
		return;
	fprintf(n->log_stream, "tallyd: %s: ", n->name);
	va_start(ap, fmt);
	vfprintf(n->log_stream, fmt, ap);
	va_end(ap);
	fputc('\n', n->log_stream);
	fflush(n->log_stream);
}

uint32_t
key_hash(const uint8_t key[16])
{
	uint32_t h;

	memcpy(&h, key, 4);
	return h % OP_HASH;
}

const uint8_t *
node_ring_of(const struct tally_node *n, const uint8_t key[16], unsigned *count)
{
	return tally_placement_nodes(n->pl, tally_placement_partition(n->pl, key), count);
}

tally_nodemask_t
preferred_mask(const struct tally_node *n, const uint8_t key[16])
{
	unsigned count;
	const uint8_t *ring = node_ring_of(n, key, &count);
	tally_nodemask_t m = 0;

	for (unsigned i = 0; i < tally_placement_n(n->pl) && i < count; i++)
		m |= NODE_BIT(ring[i]);
	return m;
}

bool
preferred_here(const struct tally_node *n, const uint8_t key[16])
{
	return (preferred_mask(n, key) & NODE_BIT(n->self)) != 0;
}

bool
dominates(const tally_pncounter_t *s, const tally_pncounter_t *need)
{
	return vec_covers(&s->p, &need->p) && vec_covers(&s->n, &need->n);
}

static bool
sum_in_range(const tally_vec_t *v)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		if (v->slot[i] > (uint64_t)INT64_MAX - sum)
			return false;
		sum += v->slot[i];
	}
	return true;
}

bool
pn_in_range(const tally_pncounter_t *s)
{
	return sum_in_range(&s->p) && sum_in_range(&s->n);
}

bool
vec_covers(const tally_vec_t *a, const tally_vec_t *b)
{
	tally_vv_order_t o = tally_vv_compare(a, b);

	return o == TALLY_VV_EQUAL || o == TALLY_VV_AFTER;
}

void *
node_calloc(size_t count, size_t size)
{
	uint8_t *p = calloc(count, size);

	for (size_t i = 0; p != NULL && i < count * size; i += 4096)
		((volatile uint8_t *)p)[i] = 0;
	return p;
}
