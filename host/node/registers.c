/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The MV-registers a node holds: their table, log records, LWW pruning and
 * the MVSTATE frames that carry them.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int
regs_init(struct node_regs *r, uint32_t entries)
{
	r->mv = calloc(entries, sizeof(*r->mv));
	r->entries = entries;
	return r->mv != NULL ? 0 : -ENOMEM;
}

void
regs_fini(struct node_regs *r)
{
	for (uint32_t i = 0; r->mv != NULL && i < r->entries; i++)
		if (r->mv[i].used)
			tally_mvreg_fini(&r->mv[i].reg);
	free(r->mv);
	r->mv = NULL;
}

struct mventry *
regs_find(struct tally_node *n, const uint8_t key[16], bool create)
{
	struct node_regs *r = &n->regs;
	uint32_t h;

	memcpy(&h, key, 4);
	for (uint32_t i = 0; i < r->entries; i++) {
		struct mventry *e = &r->mv[(h + i) % r->entries];
		if (e->used && memcmp(e->key, key, 16) == 0)
			return e;
		if (!e->used) {
			if (!create)
				return NULL;
			e->used = true;
			memcpy(e->key, key, 16);
			tally_mvreg_init(&e->reg);
			r->used++;
			return e;
		}
	}
	if (create)
		n->table.stats.table_full++;
	return NULL;
}

/*
 * Last-writer-wins: keep only the sibling with the highest dot (counter,
 * then node), dropping the others (their dots stay in the context, so every
 * replica drops them too). Deterministic, and exactly as lossy as LWW is.
 */
void
regs_lww_prune(tally_mvreg_t *r)
{
	uint32_t best = 0;

	if (r->count <= 1)
		return;
	for (uint32_t i = 1; i < r->count; i++)
		if (r->sib[i].dot.counter > r->sib[best].dot.counter ||
		    (r->sib[i].dot.counter == r->sib[best].dot.counter && r->sib[i].dot.node > r->sib[best].dot.node))
			best = i;
	r->sib[0] = r->sib[best];
	r->count = 1;
}

bool
regs_lww_key(const struct tally_node *n, const uint8_t *key, unsigned len)
{
	for (unsigned i = 0; i < n->cfg.nlww; i++) {
		size_t pl = strlen(n->cfg.lww[i]);
		if (pl <= len && memcmp(key, n->cfg.lww[i], pl) == 0)
			return true;
	}
	return false;
}

void
regs_log(struct tally_node *n, struct mventry *e)
{
	log_mvreg(n, e->key, &e->reg, e->lww);
}

void
regs_ship(struct tally_node *n, unsigned peer, const uint8_t key[16], const tally_mvreg_t *reg, uint64_t ref)
{
	struct tally_wire_mvstate m = { .purpose = 0, .ctx = reg->ctx };
	unsigned k = reg->count;
	uint8_t buf[FRAME_BUF];
	struct tally_wire_writer ow, *w;

	memcpy(m.key, key, 16);
	const struct mventry *le = regs_find(n, key, false);
	m.lww = le != NULL && le->lww;
	if (ref != 0) { /* an answer to a read: a frame of its own, with the read's sequence */
		link_frame_begin(n, &ow, buf, peer, TALLY_WIRE_MVSTATE, ref, NULL);
		w = &ow;
	} else {
		struct txb *t = link_txb(n, peer, TALLY_WIRE_MVSTATE);
		if (tally_wire_room(&t->w) < (k ? k : 1)) {
			link_txb_flush(n, peer, TALLY_WIRE_MVSTATE);
			t = link_txb(n, peer, TALLY_WIRE_MVSTATE);
		}
		w = &t->w;
	}
	if (k == 0) {
		m.status = 1; /* none here */
		(void)tally_wire_add_mvstate(w, &m);
	}
	for (unsigned i = 0; i < k; i++) {
		m.sib_index = (uint8_t)i;
		m.sib_count = (uint8_t)k;
		m.dot_node = reg->sib[i].dot.node;
		m.dot_counter = reg->sib[i].dot.counter;
		m.value_len = (uint8_t)reg->sib[i].len;
		memcpy(m.value, reg->sib[i].value, reg->sib[i].len);
		(void)tally_wire_add_mvstate(w, &m);
	}
	if (ref != 0)
		link_send(n, &ow, buf);
}

void
regs_merge_in(struct tally_node *n, unsigned from, const uint8_t key[16], const tally_mvreg_t *reg, bool lww)
{
	struct mventry *e = regs_find(n, key, true);

	if (e == NULL || tally_mvreg_merge(&e->reg, reg) != 0)
		return;
	n->regs.stats.merges++;
	e->confirmed = 0;
	e->lww = e->lww || lww;
	if (e->lww)
		regs_lww_prune(&e->reg);
	regs_log(n, e);
	link_mv_ack(n, from, key, &e->reg.ctx); /* sent once the log holds the register */
}
