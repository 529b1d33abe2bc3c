/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The offload engine's shared half: configuration, the key-to-index map
 * (an ixmap over a keyed SipHash of the key id, so peers or clients cannot
 * choose keys that collide), a free list of rows, telemetry, and dispatch to
 * the backend that owns the table.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cycles.h"
#include "ixmap.h"
#include "offload.h"
#include "offload_backend.h"

#define KEY_LEN TALLY_WIRE_KEY_ID_LEN

static const struct tally_offload_backend *const backends[] = {
	&tally_offload_cpu,
#ifdef TALLY_OFFLOAD_SIM
	&tally_offload_sim,
#endif
};

struct tally_offload {
	const struct tally_offload_backend *be;
	void *b;
	uint32_t entries;
	uint8_t (*keys)[KEY_LEN]; /* key of each row in use */
	uint8_t *used;
	uint32_t *free_rows;      /* stack of free rows */
	uint32_t nfree;
	struct tally_ixmap map;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct tally_offload_stats st;
};

struct probe {
	const struct tally_offload *o;
	const uint8_t *key;
};

static uint64_t
key_hash(const struct tally_offload *o, const uint8_t *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, KEY_LEN, o->hash_key);
	memcpy(&v, h, sizeof(v));
	return v;
}

static bool
row_holds(const void *ctx, uint32_t row)
{
	const struct probe *p = ctx;

	return memcmp(p->o->keys[row], p->key, KEY_LEN) == 0;
}

static uint64_t
row_hash(const void *ctx, uint32_t row)
{
	const struct tally_offload *o = ctx;

	return key_hash(o, o->keys[row]);
}

static uint32_t
find(const struct tally_offload *o, const uint8_t *key, bool *found)
{
	struct probe p = { o, key };

	return tally_ixmap_find(&o->map, key_hash(o, key), row_holds, &p, found);
}

tally_offload_t *
tally_offload_create(const struct tally_offload_config *cfg, int *err)
{
	const char *name = cfg->backend ? cfg->backend : "cpu";
	const struct tally_offload_backend *be = NULL;
	struct tally_offload *o;

	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			be = backends[i];
	if (be == NULL) {
		*err = -ENOENT;
		return NULL;
	}
	if (cfg->table_entries == 0 || cfg->table_entries > (1u << 24)) {
		*err = -EINVAL;
		return NULL;
	}
	if (sodium_init() < 0) {
		*err = -EIO;
		return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	o->be = be;
	o->entries = cfg->table_entries;
	o->keys = calloc(o->entries, KEY_LEN);
	o->used = calloc(o->entries, 1);
	o->free_rows = malloc(o->entries * sizeof(*o->free_rows));
	if (o->keys == NULL || o->used == NULL || o->free_rows == NULL ||
	    (*err = tally_ixmap_init(&o->map, o->entries)) != 0) {
		tally_offload_destroy(o);
		*err = -ENOMEM;
		return NULL;
	}
	/* Hand out low rows first: pop from the end of a descending stack. */
	for (uint32_t i = 0; i < o->entries; i++)
		o->free_rows[i] = o->entries - 1 - i;
	o->nfree = o->entries;
	randombytes_buf(o->hash_key, sizeof(o->hash_key));
	o->st.keys_capacity = o->entries;
	o->b = be->create(cfg, err);
	if (o->b == NULL) {
		tally_offload_destroy(o);
		return NULL;
	}
	*err = 0;
	return o;
}

void
tally_offload_destroy(tally_offload_t *o)
{
	if (o == NULL)
		return;
	if (o->b != NULL)
		o->be->destroy(o->b);
	if (o->map.slot != NULL)
		tally_ixmap_fini(&o->map);
	free(o->keys);
	free(o->used);
	free(o->free_rows);
	free(o);
}

const char *
tally_offload_backend(const tally_offload_t *o)
{
	return o->be->name;
}

int
tally_offload_key_alloc(tally_offload_t *o, const uint8_t key[KEY_LEN], uint32_t *index)
{
	bool found;
	uint32_t pos = find(o, key, &found);

	if (found) {
		*index = tally_ixmap_entry(&o->map, pos);
		return 0;
	}
	if (o->nfree == 0)
		return -ENOSPC;
	uint32_t row = o->free_rows[o->nfree - 1];
	if (o->be->row_set(o->b, row, key) != 0)
		return -EIO; /* the row stays free */
	o->nfree--;
	memcpy(o->keys[row], key, KEY_LEN);
	o->used[row] = 1;
	tally_ixmap_put(&o->map, pos, row);
	o->st.keys_used++;
	*index = row;
	return 1;
}

int
tally_offload_key_lookup(const tally_offload_t *o, const uint8_t key[KEY_LEN], uint32_t *index)
{
	bool found;
	uint32_t pos = find(o, key, &found);

	if (!found)
		return -ENOENT;
	*index = tally_ixmap_entry(&o->map, pos);
	return 0;
}

int
tally_offload_key_free(tally_offload_t *o, uint32_t index)
{
	bool found;

	if (index >= o->entries || !o->used[index])
		return -EINVAL;
	if (o->be->row_set(o->b, index, NULL) != 0)
		return -EIO;
	tally_ixmap_delete(&o->map, find(o, o->keys[index], &found), row_hash, o);
	o->used[index] = 0;
	memset(o->keys[index], 0, KEY_LEN);
	o->free_rows[o->nfree++] = index;
	o->st.keys_used--;
	return 0;
}

unsigned
tally_offload_rx(tally_offload_t *o, const void *const *frames, const uint16_t *lens, unsigned n,
		 struct tally_offload_rxinfo *info, struct tally_offload_completion *compl,
		 unsigned max_compl, unsigned *ncompl)
{
	uint64_t t0 = tally_cycles();
	unsigned done = o->be->rx(o->b, frames, lens, n, info, compl, max_compl, ncompl);

	o->st.engine_cycles += tally_cycles() - t0;

	for (unsigned i = 0; i < done; i++) {
		o->st.frames++;
		o->st.records_merged += info[i].merged;
		switch (info[i].disposition) {
		case TALLY_OFFLOAD_CONSUMED:
			o->st.consumed++;
			break;
		case TALLY_OFFLOAD_TO_HOST:
			o->st.to_host++;
			break;
		default:
			o->st.dropped++;
			o->st.drops[info[i].verdict]++;
		}
	}
	return done;
}

unsigned
tally_offload_apply_slots(tally_offload_t *o, const struct tally_wire_slot *recs, unsigned n,
			  struct tally_offload_completion *compl)
{
	uint64_t t0 = tally_cycles();
	unsigned i;

	for (i = 0; i < n; i++) {
		if (recs[i].index >= o->entries ||
		    o->be->merge_slot(o->b, &recs[i], compl ? &compl[i] : NULL) != 0)
			break;
	}
	o->st.engine_cycles += tally_cycles() - t0;
	o->st.records_host += i;
	return i;
}

unsigned
tally_offload_apply_states(tally_offload_t *o, const struct tally_wire_state *states, unsigned n)
{
	uint64_t t0 = tally_cycles();
	unsigned i;

	for (i = 0; i < n; i++)
		if (states[i].index >= o->entries || o->be->merge_state(o->b, &states[i]) != 0)
			break;
	o->st.engine_cycles += tally_cycles() - t0;
	o->st.records_host += i;
	return i;
}

int
tally_offload_read(const tally_offload_t *o, uint32_t index, tally_pncounter_t *out)
{
	if (index >= o->entries || !o->used[index])
		return -EINVAL;
	uint64_t t0 = tally_cycles();
	int rc = o->be->read(o->b, index, out);
	((tally_offload_t *)o)->st.engine_cycles += tally_cycles() - t0; /* accounting, not state */
	return rc;
}

int
tally_offload_read_many(const tally_offload_t *o, const uint32_t *index, unsigned n, tally_pncounter_t *out)
{
	int rc = 0;

	for (unsigned i = 0; i < n; i++)
		if (index[i] >= o->entries || !o->used[index[i]])
			return -EINVAL;
	uint64_t t0 = tally_cycles();
	if (o->be->read_many != NULL)
		rc = o->be->read_many(o->b, index, n, out);
	else
		for (unsigned i = 0; i < n && rc == 0; i++)
			rc = o->be->read(o->b, index[i], &out[i]);
	((tally_offload_t *)o)->st.engine_cycles += tally_cycles() - t0;
	return rc;
}

int
tally_offload_compare(const tally_offload_t *o, uint32_t index, const tally_vec_t *p,
		      const tally_vec_t *n, tally_vv_order_t *order_p, tally_vv_order_t *order_n)
{
	if (index >= o->entries || !o->used[index])
		return -EINVAL;
	uint64_t t0 = tally_cycles();
	int rc = o->be->compare(o->b, index, p, n, order_p, order_n);
	((tally_offload_t *)o)->st.engine_cycles += tally_cycles() - t0;
	return rc;
}

void
tally_offload_stats(const tally_offload_t *o, struct tally_offload_stats *out)
{
	*out = o->st;
}
