/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Anti-entropy of one node (docs/cluster.md#anti-entropy): per-partition
 * digests, compared with the version-vector kernel, and the rate-bounded
 * shipping of what a peer may lack.
 */

#include <string.h>

#include <xxhash.h>

#include "state.h"
#include "vclock.h"

/* A partition's summary. */
struct digest {
	uint64_t keys;
	uint8_t hash[16];
	tally_vec_t vv;
};


static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/*
 * The summary of what we hold of partition @part: how many keys, an
 * order-independent hash (XOR of XXH3-128 of each key and its state), and a
 * version vector whose slot o sums slot o of every key (P and N). Slots only
 * grow, so if our state of every key dominates a peer's, our vector
 * dominates its vector; the VV compare decides who ships. A key whose state
 * is all zero counts as absent.
 */
#define DIGEST_BURST 64 /* reads handed to the engine at once */

static void
digest_of(const struct tally_node *n, uint32_t part, struct digest *d)
{
	uint64_t h0 = 0, h1 = 0;

	memset(d, 0, sizeof(*d));
	for (uint32_t next = 0; next < n->table.entries;) {
		/* The partition's keys, a burst of reads at a time. */
		uint32_t ixs[DIGEST_BURST];
		tally_pncounter_t st[DIGEST_BURST];
		unsigned cnt = 0;
		for (; next < n->table.entries && cnt < DIGEST_BURST; next++)
			if (n->table.meta[next].used && n->table.meta[next].part == part)
				ixs[cnt++] = next;
		if (cnt == 0 || table_states(n, ixs, cnt, st) != 0)
			continue;
		for (unsigned j = 0; j < cnt; j++) {
			const struct keymeta *k = &n->table.meta[ixs[j]];
			const tally_pncounter_t *s = &st[j];
			uint8_t buf[16 + sizeof(tally_pncounter_t)];
			uint64_t any = 0;

			for (unsigned o = 0; o < TALLY_MAX_NODES; o++) {
				any |= s->p.slot[o] | s->n.slot[o];
				d->vv.slot[o] = sat_add(d->vv.slot[o], sat_add(s->p.slot[o], s->n.slot[o]));
			}
			if (any == 0)
				continue;
			memcpy(buf, k->key, 16);
			memcpy(buf + 16, s, sizeof(*s));
			XXH128_hash_t h = XXH3_128bits(buf, sizeof(buf));
			h0 ^= h.low64;
			h1 ^= h.high64;
			d->keys++;
		}
	}
	/* MV-registers count too: a register's hash covers its context and every
	 * sibling; its vector adds its context, which only grows under merges. */
	for (uint32_t i = 0; i < n->table.entries; i++) {
		const struct mventry *e = &n->regs.mv[i];
		if (!e->used || tally_placement_partition(n->pl, e->key) != part)
			continue;
		XXH3_state_t *st = XXH3_createState();
		if (st == NULL)
			continue;
		XXH3_128bits_reset(st);
		XXH3_128bits_update(st, e->key, 16);
		XXH3_128bits_update(st, &e->reg.ctx, sizeof(e->reg.ctx));
		for (uint32_t j = 0; j < e->reg.count; j++) {
			const struct tally_mvreg_sibling *sb = &e->reg.sib[j];
			XXH3_128bits_update(st, &sb->dot, sizeof(sb->dot));
			XXH3_128bits_update(st, &sb->len, sizeof(sb->len));
			XXH3_128bits_update(st, sb->value, sb->len);
		}
		XXH128_hash_t h = XXH3_128bits_digest(st);
		XXH3_freeState(st);
		h0 ^= h.low64;
		h1 ^= h.high64;
		for (unsigned o = 0; o < TALLY_MAX_NODES; o++)
			d->vv.slot[o] = sat_add(d->vv.slot[o], e->reg.ctx.slot[o]);
		d->keys++;
	}
	memcpy(d->hash, &h0, 8);
	memcpy(d->hash + 8, &h1, 8);
}

static void
send_digest(struct tally_node *n, unsigned peer, uint32_t part, const struct digest *d, uint64_t ref)
{
	uint8_t buf[512];
	struct tally_wire_writer w;
	struct tally_wire_digest r = { .partition = part, .kind = TALLY_WIRE_KIND_PNCOUNTER, .keys = d->keys,
				       .vv = d->vv };

	memcpy(r.hash, d->hash, 16);
	link_frame_begin(n, &w, buf, peer, TALLY_WIRE_DIGEST, ref, NULL);
	if (tally_wire_add_digest(&w, &r) != 0)
		return;
	link_send(n, &w, buf);
}

/* Every anti_entropy_ms: summarise the next partition we replicate and send
 * the summary to its other preferred replicas that are up. */
static void
ae_digest_next(struct tally_node *n)
{
	uint32_t parts = tally_placement_partitions(n->pl);

	for (uint32_t tries = 0; tries < parts; tries++) {
		uint32_t p = n->ae.part;
		unsigned count;
		const uint8_t *ring = tally_placement_nodes(n->pl, p, &count);
		tally_nodemask_t pref = 0;

		n->ae.part = (n->ae.part + 1) % parts;
		for (unsigned i = 0; i < tally_placement_n(n->pl) && i < count; i++)
			pref |= NODE_BIT(ring[i]);
		if (!(pref & NODE_BIT(n->self)))
			continue;
		struct digest d;
		digest_of(n, p, &d);
		for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
			if ((pref & NODE_BIT(t)) && t != n->self && members_up(n, t))
				send_digest(n, t, p, &d, 0);
		return;
	}
}

static void
ae_queue(struct tally_node *n, unsigned peer, uint32_t part)
{
	struct ae_peer *a = &n->ae.peer[peer];

	for (unsigned i = 0; i < a->len; i++)
		if (a->queue[(a->head + i) % AE_QUEUE] == part)
			return;
	if (a->len < AE_QUEUE)
		a->queue[(a->head + a->len++) % AE_QUEUE] = part;
}

/* A peer's summaries: where we hold something it may lack, ship it the
 * partition; answer a periodic summary with ours, so it can do the same. */
void
ae_on_digest(struct tally_node *n, const struct tally_wire_frame *f)
{
	unsigned from = f->hdr.sender;

	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_digest r;
		struct digest mine;

		tally_wire_get_digest(f, i, &r);
		if (r.partition >= tally_placement_partitions(n->pl))
			continue;
		digest_of(n, r.partition, &mine);
		n->ae.peer[from].digests_in++;
		if (mine.keys == r.keys && memcmp(mine.hash, r.hash, 16) == 0) {
			n->ae.peer[from].last_sync = n->now;
			continue;
		}
		n->ae.peer[from].differ++;
		if (tally_vv_compare(&mine.vv, &r.vv) != TALLY_VV_BEFORE)
			ae_queue(n, from, r.partition);
		if (f->hdr.ref == 0)
			send_digest(n, from, r.partition, &mine, f->hdr.seq);
	}
}

/* Ship queued partitions as REPAIR records, within each peer's rate. */
static void
ae_ship(struct tally_node *n)
{
	double dt = (double)(n->now - n->ae.last_refill) / 1e9;

	n->ae.last_refill = n->now;
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		struct ae_peer *a = &n->ae.peer[t];
		unsigned scanned = 0;

		a->tokens += dt * n->cfg.repair_rate;
		if (a->tokens > n->cfg.repair_rate / 10.0 + 1)
			a->tokens = n->cfg.repair_rate / 10.0 + 1; /* bursts of at most 100 ms' worth */
		if (a->len == 0 || !members_up(n, t))
			continue;
		while (a->len > 0 && a->tokens >= 1 && scanned < 4096) {
			uint32_t part = a->queue[a->head];
			if (a->cursor >= n->table.entries && a->cursor < 2 * n->table.entries) {
				/* then the partition's MV-registers, each whole */
				const struct mventry *e = &n->regs.mv[a->cursor++ - n->table.entries];
				scanned++;
				if (e->used && tally_placement_partition(n->pl, e->key) == part) {
					regs_ship(n, t, e->key, &e->reg, 0);
					a->tokens -= 1;
					a->records++;
				}
				continue;
			}
			if (a->cursor >= 2 * n->table.entries) {
				a->head = (a->head + 1) % AE_QUEUE;
				a->len--;
				a->cursor = 0;
				continue;
			}
			uint32_t ix = a->cursor++;
			const struct keymeta *k = &n->table.meta[ix];
			tally_pncounter_t s;
			scanned++;
			if (!k->used || k->part != part || table_state(n, ix, &s) != 0)
				continue;
			struct tally_wire_state st = { .index = k->peer_ix[t], .kind = TALLY_WIRE_KIND_PNCOUNTER,
						       .p = s.p, .n = s.n };
			memcpy(st.key, k->key, 16);
			/* A key whose writes were causal travels after its dependency, in
			 * the same frame: the receiver merges both in order, at once. */
			const struct dep *d = causal_dep_of(n, ix);
			uint32_t dix = d != NULL ? table_find(n, d->dep_key) : NIL;
			tally_pncounter_t ds;
			struct txb *b = link_txb(n, t, TALLY_WIRE_REPAIR);
			if (dix != NIL && table_state(n, dix, &ds) == 0) {
				if (tally_wire_room(&b->w) < 2) {
					link_txb_flush(n, t, TALLY_WIRE_REPAIR);
					b = link_txb(n, t, TALLY_WIRE_REPAIR);
				}
				struct tally_wire_state dst = { .index = n->table.meta[dix].peer_ix[t],
								.kind = TALLY_WIRE_KIND_PNCOUNTER, .p = ds.p, .n = ds.n };
				memcpy(dst.key, d->dep_key, 16);
				(void)tally_wire_add_state(&b->w, &dst);
				a->tokens -= 1;
				a->records++;
			}
			(void)tally_wire_add_state(&b->w, &st);
			a->tokens -= 1;
			a->records++;
		}
	}
}

void
ae_tick(struct tally_node *n)
{
	if (n->cfg.anti_entropy_ms > 0 && n->now >= n->ae.next) {
		n->ae.next = n->now + ms_ns(n->cfg.anti_entropy_ms);
		ae_digest_next(n);
	}
	ae_ship(n);
}
