/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Edge-case and random vector pairs shared by the kernel and RTL tests.
 */

#include <errno.h>
#include <stdlib.h>

#include "prop.h"
#include "vecpairs.h"

int
vecpairs_alloc(struct vecpairs *p, size_t cap)
{
	p->a = aligned_alloc(TALLY_BEAT_BYTES, cap * sizeof(tally_vec_t));
	p->b = aligned_alloc(TALLY_BEAT_BYTES, cap * sizeof(tally_vec_t));
	p->n = 0;
	p->cap = cap;
	if (p->a == NULL || p->b == NULL) {
		vecpairs_free(p);
		return -ENOMEM;
	}
	return 0;
}

void
vecpairs_free(struct vecpairs *p)
{
	free(p->a);
	free(p->b);
	p->a = p->b = NULL;
	p->n = p->cap = 0;
}

static void
add(struct vecpairs *p, const tally_vec_t *a, const tally_vec_t *b)
{
	if (p->n == p->cap)
		abort(); /* a test sized its array wrong: stop loudly */
	p->a[p->n] = *a;
	p->b[p->n] = *b;
	p->n++;
}

void
vecpairs_add_edges(struct vecpairs *p, uint64_t salt)
{
	static const uint64_t bases[] = {
		0, 1, (UINT64_C(1) << 63) - 1, UINT64_C(1) << 63, UINT64_MAX - 1, UINT64_MAX,
	};
	const size_t nb = sizeof(bases) / sizeof(bases[0]);
	tally_vec_t a, b;
	struct prng g;

	prop_init(&g, salt);
	for (size_t x = 0; x < nb; x++) {
		for (size_t y = 0; y < nb; y++) {
			/* uniform vectors, every pair of base values */
			for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
				a.slot[i] = bases[x];
				b.slot[i] = bases[y];
			}
			add(p, &a, &b);
		}
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
			for (unsigned j = 0; j < TALLY_MAX_NODES; j++)
				a.slot[j] = b.slot[j] = bases[x];
			/* one slot one higher, both ways round */
			if (bases[x] != UINT64_MAX) {
				b.slot[i] = bases[x] + 1;
				add(p, &a, &b);
				add(p, &b, &a);
			}
			/* one slot across the sign bit, the rest equal */
			b.slot[i] = bases[x] ^ (UINT64_C(1) << 63);
			add(p, &a, &b);
		}
	}
	/* every node count: only the first n slots used */
	for (unsigned n = 1; n <= TALLY_MAX_NODES; n++) {
		for (int k = 0; k < 8; k++) {
			tally_vec_zero(&a);
			tally_vec_zero(&b);
			for (unsigned i = 0; i < n; i++) {
				a.slot[i] = prop_slot(&g);
				b.slot[i] = prng_below(&g, 2) ? a.slot[i] : prop_slot(&g);
			}
			add(p, &a, &b);
		}
	}
}

void
vecpairs_add_random(struct vecpairs *p, uint64_t salt)
{
	struct prng g;
	tally_vec_t v[2];

	prop_init(&g, salt);
	while (p->n < p->cap) {
		prop_gen_related(&g, v, 2);
		add(p, &v[0], &v[1]);
	}
}
