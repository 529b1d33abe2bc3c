/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * G-Counter and PN-Counter: the per-key reference operations. The batch
 * kernels in kernels*.c do the same merge over many vectors at once.
 */

#include <errno.h>

#include "gcounter.h"

int
tally_gc_incr(tally_vec_t *c, unsigned node, uint64_t delta)
{
	if (node >= TALLY_MAX_NODES)
		return -EINVAL;
	if (c->slot[node] > UINT64_MAX - delta)
		return -EOVERFLOW;
	c->slot[node] += delta;
	return 0;
}

/* Exact sum as 128 bits; 64 slots of UINT64_MAX fit with room to spare. */
static unsigned __int128
gc_sum(const tally_vec_t *c)
{
	unsigned __int128 sum = 0;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		sum += c->slot[i];
	return sum;
}

int
tally_gc_value(const tally_vec_t *c, uint64_t *out)
{
	unsigned __int128 sum = gc_sum(c);

	if (sum > UINT64_MAX)
		return -EOVERFLOW;
	*out = (uint64_t)sum;
	return 0;
}

void
tally_gc_merge(tally_vec_t *dst, const tally_vec_t *src)
{
	tally_vec_merge(dst, src);
}

void
tally_pn_init(tally_pncounter_t *c)
{
	tally_vec_zero(&c->p);
	tally_vec_zero(&c->n);
}

int
tally_pn_incr(tally_pncounter_t *c, unsigned node, uint64_t delta)
{
	return tally_gc_incr(&c->p, node, delta);
}

int
tally_pn_decr(tally_pncounter_t *c, unsigned node, uint64_t delta)
{
	return tally_gc_incr(&c->n, node, delta);
}

int
tally_pn_value(const tally_pncounter_t *c, int64_t *out)
{
	unsigned __int128 p = gc_sum(&c->p);
	unsigned __int128 n = gc_sum(&c->n);

	if (p >= n) {
		if (p - n > (unsigned __int128)INT64_MAX)
			return -ERANGE;
		*out = (int64_t)(p - n);
	} else {
		/* -(n - p) >= INT64_MIN  <=>  n - p <= 2^63 */
		unsigned __int128 m = n - p;

		if (m > (unsigned __int128)INT64_MAX + 1)
			return -ERANGE;
		*out = m == (unsigned __int128)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
	}
	return 0;
}

void
tally_pn_merge(tally_pncounter_t *dst, const tally_pncounter_t *src)
{
	tally_vec_merge(&dst->p, &src->p);
	tally_vec_merge(&dst->n, &src->n);
}
