/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Open-addressing index of entry numbers: linear probing and backward-shift
 * deletion (Knuth's algorithm R), so the table never fills with tombstones.
 */

#include <errno.h>
#include <stdlib.h>

#include "ixmap.h"

int
tally_ixmap_init(struct tally_ixmap *m, uint32_t entries)
{
	uint32_t slots = 2;

	if (entries == 0 || entries > (1u << 30))
		return -EINVAL;
	while (slots < 2 * (uint64_t)entries)
		slots *= 2;
	m->slot = calloc(slots, sizeof(*m->slot));
	if (m->slot == NULL)
		return -ENOMEM;
	m->mask = slots - 1;
	return 0;
}

void
tally_ixmap_fini(struct tally_ixmap *m)
{
	free(m->slot);
	m->slot = NULL;
}

uint32_t
tally_ixmap_find(const struct tally_ixmap *m, uint64_t hash, tally_ixmap_eq_fn eq, const void *ctx,
		 bool *found)
{
	uint32_t i = (uint32_t)hash & m->mask;

	while (m->slot[i] != 0) {
		if (eq(ctx, m->slot[i] - 1)) {
			*found = true;
			return i;
		}
		i = (i + 1) & m->mask;
	}
	*found = false;
	return i;
}

void
tally_ixmap_delete(struct tally_ixmap *m, uint32_t i, tally_ixmap_hash_fn hash_of, const void *ctx)
{
	uint32_t j = i;

	for (;;) {
		j = (j + 1) & m->mask;
		if (m->slot[j] == 0)
			break;
		uint32_t h = (uint32_t)hash_of(ctx, m->slot[j] - 1) & m->mask;
		/* Move j into the hole at i unless its home h lies cyclically in (i, j]. */
		if (((j - h) & m->mask) >= ((j - i) & m->mask)) {
			m->slot[i] = m->slot[j];
			i = j;
		}
	}
	m->slot[i] = 0;
}
