/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * MV-register over dots and a version-vector causal context. The join is
 *   (S, c) + (S', c') = ({s in S  | s.dot in S' or s.dot not in c'}
 *                      u {s in S' | s.dot not in c}, max(c, c'))
 * computed as a merge of two dot-sorted arrays.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mvreg.h"

static bool
covered(const tally_vec_t *ctx, tally_dot_t d)
{
	return d.counter <= ctx->slot[d.node];
}

static int
dot_cmp(tally_dot_t a, tally_dot_t b)
{
	if (a.node != b.node)
		return a.node < b.node ? -1 : 1;
	if (a.counter != b.counter)
		return a.counter < b.counter ? -1 : 1;
	return 0;
}

static int
reserve(tally_mvreg_t *r, uint32_t n)
{
	struct tally_mvreg_sibling *p;
	uint32_t cap = r->cap ? r->cap : 2;

	if (n <= r->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	p = realloc(r->sib, (size_t)cap * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	r->sib = p;
	r->cap = cap;
	return 0;
}

void
tally_mvreg_init(tally_mvreg_t *r)
{
	memset(r, 0, sizeof(*r));
}

void
tally_mvreg_fini(tally_mvreg_t *r)
{
	free(r->sib);
	tally_mvreg_init(r);
}

int
tally_mvreg_write(tally_mvreg_t *r, unsigned node, const tally_vec_t *seen,
		  const void *value, size_t len)
{
	uint32_t keep = 0;
	uint64_t top;

	if (node >= TALLY_MAX_NODES || len > TALLY_MVREG_VALUE_MAX)
		return -EINVAL;
	top = tally_slot_merge(r->ctx.slot[node], seen->slot[node]);
	if (top == UINT64_MAX)
		return -EOVERFLOW;
	for (uint32_t i = 0; i < r->count; i++)
		keep += !covered(seen, r->sib[i].dot);
	if (keep + 1 > TALLY_MVREG_MAX_SIBLINGS)
		return -ENOSPC;
	if (reserve(r, keep + 1) != 0)
		return -ENOMEM;

	/* Drop what the writer saw; the array stays sorted. */
	keep = 0;
	for (uint32_t i = 0; i < r->count; i++)
		if (!covered(seen, r->sib[i].dot))
			r->sib[keep++] = r->sib[i];

	/* The new dot is above every dot of @node this replica holds, so it
	 * goes after them and before the first sibling of a higher node. */
	struct tally_mvreg_sibling s = { .dot = { node, top + 1 }, .len = (uint32_t)len };
	uint32_t at = 0;
	while (at < keep && r->sib[at].dot.node <= node)
		at++;
	memmove(&r->sib[at + 1], &r->sib[at], (keep - at) * sizeof(s));
	memcpy(s.value, value, len);
	r->sib[at] = s;
	r->count = keep + 1;

	tally_vec_merge(&r->ctx, seen);
	r->ctx.slot[node] = top + 1;
	return 0;
}

int
tally_mvreg_merge(tally_mvreg_t *dst, const tally_mvreg_t *src)
{
	size_t n = (size_t)dst->count + src->count;
	struct tally_mvreg_sibling *out;
	uint32_t i = 0, j = 0, k = 0;

	if (src == dst)
		return 0;
	out = malloc((n ? n : 1) * sizeof(*out));
	if (out == NULL)
		return -ENOMEM;
	while (i < dst->count || j < src->count) {
		int c = i == dst->count ? 1 : j == src->count ? -1 :
			dot_cmp(dst->sib[i].dot, src->sib[j].dot);

		if (c == 0) { /* in both: a dot names one write, so one value */
			out[k++] = dst->sib[i++];
			j++;
		} else if (c < 0) {
			if (!covered(&src->ctx, dst->sib[i].dot))
				out[k++] = dst->sib[i];
			i++;
		} else {
			if (!covered(&dst->ctx, src->sib[j].dot))
				out[k++] = src->sib[j];
			j++;
		}
	}
	free(dst->sib);
	dst->sib = out;
	dst->cap = (uint32_t)(n ? n : 1);
	dst->count = k;
	tally_vec_merge(&dst->ctx, &src->ctx);
	return 0;
}

const struct tally_mvreg_sibling *
tally_mvreg_read(const tally_mvreg_t *r, size_t *count, tally_vec_t *ctx)
{
	*count = r->count;
	if (ctx != NULL)
		*ctx = r->ctx;
	return r->sib;
}

bool
tally_mvreg_equal(const tally_mvreg_t *a, const tally_mvreg_t *b)
{
	if (a->count != b->count || !tally_vec_equal(&a->ctx, &b->ctx))
		return false;
	for (uint32_t i = 0; i < a->count; i++) {
		const struct tally_mvreg_sibling *x = &a->sib[i], *y = &b->sib[i];

		if (dot_cmp(x->dot, y->dot) != 0 || x->len != y->len ||
		    memcmp(x->value, y->value, x->len) != 0)
			return false;
	}
	return true;
}

int
tally_mvreg_copy(tally_mvreg_t *dst, const tally_mvreg_t *src)
{
	if (dst == src)
		return 0;
	if (reserve(dst, src->count) != 0)
		return -ENOMEM;
	if (src->count)
		memcpy(dst->sib, src->sib, src->count * sizeof(*src->sib));
	dst->count = src->count;
	dst->ctx = src->ctx;
	return 0;
}
