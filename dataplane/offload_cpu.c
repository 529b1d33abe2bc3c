/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The cpu backend of the offload engine: the NIC's job done by the C
 * reference on a table in host memory. It is the golden model the sim
 * backend must equal and the baseline every offload benchmark compares with.
 *
 * A row is {P, N}, two vectors side by side (128 bytes at 8 nodes), the
 * layout the NIC's table uses, so a whole-state merge is one batch-kernel
 * call over two vectors. A slot record changes one slot of each half: two
 * tally_slot_merge() calls, the same merge the kernels are built from,
 * cheaper than widening the record to a sparse vector.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "offload_backend.h"

struct row {
	tally_vec_t half[2]; /* P, N */
};

struct cpu {
	const struct tally_kernels *k;
	struct tally_wire_key link_key;
	uint32_t entries;
	struct row *rows;
	uint8_t (*key)[TALLY_WIRE_KEY_ID_LEN];
	uint8_t *valid;
};

static void *
cpu_create(const struct tally_offload_config *cfg, int *err)
{
	struct cpu *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	c->k = cfg->kernels ? tally_kernels_by_name(cfg->kernels) : tally_kernels_best();
	if (c->k == NULL) {
		free(c);
		*err = -ENOENT;
		return NULL;
	}
	c->link_key = cfg->key;
	c->entries = cfg->table_entries;
	c->rows = aligned_alloc(TALLY_BEAT_BYTES, (size_t)c->entries * sizeof(*c->rows));
	c->key = calloc(c->entries, TALLY_WIRE_KEY_ID_LEN);
	c->valid = calloc(c->entries, 1);
	if (c->rows == NULL || c->key == NULL || c->valid == NULL) {
		free(c->rows);
		free(c->key);
		free(c->valid);
		free(c);
		*err = -ENOMEM;
		return NULL;
	}
	memset(c->rows, 0, (size_t)c->entries * sizeof(*c->rows));
	return c;
}

static void
cpu_destroy(void *b)
{
	struct cpu *c = b;

	free(c->rows);
	free(c->key);
	free(c->valid);
	free(c);
}

static int
cpu_row_set(void *b, uint32_t index, const uint8_t *key)
{
	struct cpu *c = b;

	memset(&c->rows[index], 0, sizeof(c->rows[index]));
	c->valid[index] = key != NULL;
	if (key != NULL)
		memcpy(c->key[index], key, TALLY_WIRE_KEY_ID_LEN);
	else
		memset(c->key[index], 0, TALLY_WIRE_KEY_ID_LEN);
	return 0;
}

static bool
row_holds(const struct cpu *c, uint32_t index, const uint8_t *key)
{
	return index < c->entries && c->valid[index] &&
	       memcmp(c->key[index], key, TALLY_WIRE_KEY_ID_LEN) == 0;
}

static int
cpu_merge_slot(void *b, const struct tally_wire_slot *r, struct tally_offload_completion *out)
{
	struct cpu *c = b;
	struct row *w;

	if (!row_holds(c, r->index, r->key))
		return -EINVAL;
	w = &c->rows[r->index];
	w->half[0].slot[r->origin] = tally_slot_merge(w->half[0].slot[r->origin], r->p);
	w->half[1].slot[r->origin] = tally_slot_merge(w->half[1].slot[r->origin], r->n);
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->index = r->index;
		out->origin = r->origin;
		memcpy(out->key, r->key, TALLY_WIRE_KEY_ID_LEN);
		out->p = w->half[0].slot[r->origin];
		out->n = w->half[1].slot[r->origin];
	}
	return 0;
}

static int
cpu_merge_state(void *b, const struct tally_wire_state *s)
{
	struct cpu *c = b;
	struct row in = { { s->p, s->n } };

	if (!row_holds(c, s->index, s->key))
		return -EINVAL;
	c->k->merge(c->rows[s->index].half, in.half, 2);
	return 0;
}

static unsigned
cpu_rx(void *b, const void *const *frames, const uint16_t *lens, unsigned n,
       struct tally_offload_rxinfo *info, struct tally_offload_completion *compl, unsigned max_compl,
       unsigned *ncompl)
{
	struct cpu *c = b;
	unsigned i, nc = 0;

	for (i = 0; i < n; i++) {
		struct tally_offload_rxinfo *in = &info[i];
		struct tally_wire_frame f;

		in->merged = 0;
		in->verdict = (uint8_t)tally_wire_decode(frames[i], lens[i], &c->link_key, &f);
		if (in->verdict != TALLY_WIRE_OK) {
			in->disposition = TALLY_OFFLOAD_DROPPED;
			continue;
		}
		in->addr = f.addr;
		in->hdr = f.hdr;
		if (f.hdr.type != TALLY_WIRE_REPLICATE) {
			in->disposition = TALLY_OFFLOAD_TO_HOST;
			continue;
		}
		if (nc + f.hdr.count > max_compl)
			break; /* the caller drains completions and calls again */

		bool host = false;
		for (unsigned r = 0; r < f.hdr.count; r++) {
			struct tally_wire_slot s;

			tally_wire_get_slot(&f, r, &s);
			if (cpu_merge_slot(c, &s, &compl[nc]) != 0) {
				host = true; /* unknown index or another key's row */
				continue;
			}
			compl[nc].frame = (uint16_t)i;
			compl[nc].sender = f.hdr.sender;
			compl[nc].seq = f.hdr.seq;
			nc++;
			in->merged++;
		}
		in->disposition = host ? TALLY_OFFLOAD_TO_HOST : TALLY_OFFLOAD_CONSUMED;
	}
	*ncompl = nc;
	return i;
}

static int
cpu_read(const void *b, uint32_t index, tally_pncounter_t *out)
{
	const struct cpu *c = b;

	out->p = c->rows[index].half[0];
	out->n = c->rows[index].half[1];
	return 0;
}

static int
cpu_compare(const void *b, uint32_t index, const tally_vec_t *p, const tally_vec_t *n,
	    tally_vv_order_t *op, tally_vv_order_t *on)
{
	const struct cpu *c = b;

	*op = tally_vv_compare(&c->rows[index].half[0], p);
	*on = tally_vv_compare(&c->rows[index].half[1], n);
	return 0;
}

const struct tally_offload_backend tally_offload_cpu = {
	.name = "cpu",
	.create = cpu_create,
	.destroy = cpu_destroy,
	.row_set = cpu_row_set,
	.rx = cpu_rx,
	.merge_slot = cpu_merge_slot,
	.merge_state = cpu_merge_state,
	.read = cpu_read,
	.compare = cpu_compare,
};
