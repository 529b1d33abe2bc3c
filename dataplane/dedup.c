/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The dedup table: per-client anti-replay bitmaps, found through an ixmap
 * keyed by xxHash3 of the client id, and kept in least-recently-used order
 * by an intrusive list, so check, record and evict are all O(1).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "dedup.h"
#include "ixmap.h"

#define NIL UINT32_MAX

struct entry {
	uint64_t client;
	uint64_t highest;  /* highest seq recorded */
	uint32_t prev;     /* towards most recently used */
	uint32_t next;     /* towards least recently used */
	uint64_t bits[];   /* bit k of the window: seq (highest - k) applied */
};

struct tally_dedup {
	uint32_t window;   /* bits per client */
	uint32_t words;    /* window / 64 */
	uint32_t cap;      /* clients */
	uint32_t used;     /* entries ever handed out (never exceeds cap) */
	uint32_t mru, lru; /* ends of the recency list */
	size_t stride;     /* bytes per entry */
	struct tally_ixmap index;
	uint64_t evictions;
	bool evicted_before;  /* clients were evicted before this table was restored */
	unsigned char *entries;
};

static struct entry *
entry_at(const struct tally_dedup *d, uint32_t e)
{
	return (struct entry *)(d->entries + (size_t)e * d->stride);
}

static uint64_t
client_hash(uint64_t client)
{
	return XXH3_64bits(&client, sizeof(client));
}

struct probe {
	const struct tally_dedup *d;
	uint64_t client;
};

static bool
holds_client(const void *ctx, uint32_t e)
{
	const struct probe *p = ctx;

	return entry_at(p->d, e)->client == p->client;
}

static uint64_t
hash_of_entry(const void *ctx, uint32_t e)
{
	return client_hash(entry_at(ctx, e)->client);
}

/* Index slot holding @client, or the empty slot where it would go. */
static uint32_t
find_slot(const struct tally_dedup *d, uint64_t client, bool *found)
{
	struct probe p = { d, client };

	return tally_ixmap_find(&d->index, client_hash(client), holds_client, &p, found);
}

static struct entry *
lookup(const struct tally_dedup *d, uint64_t client)
{
	bool found;
	uint32_t i = find_slot(d, client, &found);

	return found ? entry_at(d, tally_ixmap_entry(&d->index, i)) : NULL;
}

static void
list_unlink(struct tally_dedup *d, uint32_t e)
{
	struct entry *x = entry_at(d, e);

	if (x->prev != NIL)
		entry_at(d, x->prev)->next = x->next;
	else
		d->mru = x->next;
	if (x->next != NIL)
		entry_at(d, x->next)->prev = x->prev;
	else
		d->lru = x->prev;
}

static void
list_push_front(struct tally_dedup *d, uint32_t e)
{
	struct entry *x = entry_at(d, e);

	x->prev = NIL;
	x->next = d->mru;
	if (d->mru != NIL)
		entry_at(d, d->mru)->prev = e;
	d->mru = e;
	if (d->lru == NIL)
		d->lru = e;
}

tally_dedup_t *
tally_dedup_create(const struct tally_dedup_config *cfg, int *err)
{
	struct tally_dedup_config def = {
		.window = TALLY_DEDUP_DEFAULT_WINDOW,
		.clients = TALLY_DEDUP_DEFAULT_CLIENTS,
	};
	struct tally_dedup *d;

	if (cfg == NULL)
		cfg = &def;
	if (cfg->window < 64 || cfg->window > 65536 || cfg->window % 64 != 0 ||
	    cfg->clients < 1 || cfg->clients > (1u << 24)) {
		*err = -EINVAL;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		goto nomem;
	d->window = cfg->window;
	d->words = cfg->window / 64;
	d->cap = cfg->clients;
	d->mru = d->lru = NIL;
	d->stride = sizeof(struct entry) + d->words * sizeof(uint64_t);
	d->entries = malloc(d->stride * d->cap);
	if (d->entries == NULL || tally_ixmap_init(&d->index, d->cap) != 0)
		goto nomem;
	return d;
nomem:
	tally_dedup_free(d);
	*err = -ENOMEM;
	return NULL;
}

void
tally_dedup_free(tally_dedup_t *d)
{
	if (d == NULL)
		return;
	tally_ixmap_fini(&d->index);
	free(d->entries);
	free(d);
}

static int
verdict(const struct tally_dedup *d, const struct entry *x, uint64_t seq)
{
	if (x == NULL) {
		/* A table that never forgot a client knows every client it applied. */
		if (d->evictions == 0 && !d->evicted_before)
			return TALLY_DEDUP_NEW;
		return seq <= d->window ? TALLY_DEDUP_NEW : TALLY_DEDUP_UNKNOWN_CLIENT;
	}
	if (seq > x->highest)
		return TALLY_DEDUP_NEW;
	uint64_t k = x->highest - seq;
	if (k >= d->window)
		return TALLY_DEDUP_TOO_OLD;
	return (x->bits[k / 64] >> (k % 64)) & 1 ? TALLY_DEDUP_DUPLICATE : TALLY_DEDUP_NEW;
}

int
tally_dedup_check(const tally_dedup_t *d, tally_opid_t op)
{
	if (op.seq == 0)
		return -EINVAL;
	return verdict(d, lookup(d, op.client), op.seq);
}

/* Slide the window up by @s sequences: bit k moves to bit k + s. */
static void
window_advance(struct tally_dedup *d, struct entry *x, uint64_t s)
{
	if (s >= d->window) {
		memset(x->bits, 0, d->words * sizeof(uint64_t));
		return;
	}
	uint32_t ws = (uint32_t)(s / 64), bs = (uint32_t)(s % 64);
	for (uint32_t w = d->words; w-- > 0;) {
		uint64_t v = 0;
		if (w >= ws) {
			v = x->bits[w - ws] << bs;
			if (bs != 0 && w > ws)
				v |= x->bits[w - ws - 1] >> (64 - bs);
		}
		x->bits[w] = v;
	}
}

/* An entry for a client not held: a fresh one, or the least recently used. */
static uint32_t
entry_take(struct tally_dedup *d)
{
	uint32_t e;

	if (d->used < d->cap)
		return d->used++;
	bool found;

	e = d->lru;
	list_unlink(d, e);
	tally_ixmap_delete(&d->index, find_slot(d, entry_at(d, e)->client, &found), hash_of_entry, d);
	d->evictions++;
	return e;
}

int
tally_dedup_record(tally_dedup_t *d, tally_opid_t op)
{
	uint32_t slot, e;
	struct entry *x;
	bool found;

	if (op.seq == 0)
		return -EINVAL;
	slot = find_slot(d, op.client, &found);
	x = found ? entry_at(d, tally_ixmap_entry(&d->index, slot)) : NULL;
	if (verdict(d, x, op.seq) != TALLY_DEDUP_NEW)
		return -EALREADY;

	if (x == NULL) {
		e = entry_take(d);
		x = entry_at(d, e);
		x->client = op.client;
		x->highest = 0;
		memset(x->bits, 0, d->words * sizeof(uint64_t));
		/* Eviction may have shifted the probe run: look the slot up again. */
		tally_ixmap_put(&d->index, find_slot(d, op.client, &found), e);
	} else {
		e = tally_ixmap_entry(&d->index, slot);
		list_unlink(d, e);
	}
	list_push_front(d, e);

	if (op.seq > x->highest) {
		window_advance(d, x, op.seq - x->highest);
		x->highest = op.seq;
	}
	uint64_t k = x->highest - op.seq;
	x->bits[k / 64] |= UINT64_C(1) << (k % 64);
	return 0;
}

void
tally_dedup_foreach(const tally_dedup_t *d, tally_dedup_visit_fn fn, void *ctx)
{
	for (uint32_t e = d->lru; e != NIL; e = entry_at(d, e)->prev) {
		const struct entry *x = entry_at(d, e);

		fn(ctx, x->client, x->highest, x->bits, d->words);
	}
}

int
tally_dedup_restore(tally_dedup_t *d, uint64_t client, uint64_t highest, const uint64_t *bits,
		    uint32_t words)
{
	uint32_t slot, e;
	struct entry *x;
	bool found;

	if (words != d->words || highest == 0)
		return -EINVAL;
	slot = find_slot(d, client, &found);
	if (found) {
		e = tally_ixmap_entry(&d->index, slot);
		list_unlink(d, e);
	} else {
		e = entry_take(d);
		entry_at(d, e)->client = client;
		tally_ixmap_put(&d->index, find_slot(d, client, &found), e);
	}
	x = entry_at(d, e);
	x->highest = highest;
	memcpy(x->bits, bits, d->words * sizeof(uint64_t));
	list_push_front(d, e);
	return 0;
}

void
tally_dedup_mark_evicted(tally_dedup_t *d)
{
	d->evicted_before = true;
}

bool
tally_dedup_has_evicted(const tally_dedup_t *d)
{
	return d->evictions > 0 || d->evicted_before;
}

void
tally_dedup_stats(const tally_dedup_t *d, struct tally_dedup_stats *out)
{
	out->clients = d->used;
	out->evictions = d->evictions;
}

const char *
tally_dedup_verdict_name(int v)
{
	switch (v) {
	case TALLY_DEDUP_NEW:
		return "new";
	case TALLY_DEDUP_DUPLICATE:
		return "duplicate";
	case TALLY_DEDUP_TOO_OLD:
		return "too old";
	case TALLY_DEDUP_UNKNOWN_CLIENT:
		return "unknown client";
	}
	return "invalid";
}
