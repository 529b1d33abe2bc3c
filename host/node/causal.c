/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Causal writes: dependencies shipped with a key, records held back until
 * their dependency is here, and fetches that pull a dependency here.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state.h"

int
causal_init(struct node_causal *c)
{
	c->held = calloc(HELD_MAX, sizeof(*c->held));
	c->deps = calloc(DEPS, sizeof(*c->deps));
	return c->held && c->deps ? 0 : -ENOMEM;
}

void
causal_fini(struct node_causal *c)
{
	free(c->held);
	free(c->deps);
}

const struct dep *
causal_dep_of(const struct tally_node *n, uint32_t ix)
{
	const struct dep *d = ix == NIL ? NULL : &n->causal.deps[ix % DEPS];

	return d != NULL && d->used && d->ix == ix ? d : NULL;
}

void
causal_dep_set(struct tally_node *n, uint32_t ix, const uint8_t dep_key[16], const tally_pncounter_t *need,
	       const uint8_t *tok)
{
	struct dep *d = &n->causal.deps[ix % DEPS];

	d->used = true;
	d->ix = ix;
	memcpy(d->dep_key, dep_key, 16);
	d->need = *need;
	memcpy(d->tok, tok, TALLY_TOKEN_LEN);
}

bool
causal_satisfied(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *need)
{
	uint32_t ix = table_find(n, key);
	tally_vv_order_t op, on;

	if (ix == NIL) {
		tally_pncounter_t zero;
		tally_pn_init(&zero);
		return dominates(&zero, need);
	}
	if (tally_offload_compare(n->table.engine, ix, &need->p, &need->n, &op, &on) != 0)
		return false;
	n->causal.stats.token_checks_nic++;
	return (op == TALLY_VV_EQUAL || op == TALLY_VV_AFTER) && (on == TALLY_VV_EQUAL || on == TALLY_VV_AFTER);
}

uint32_t
causal_fetch(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *need, tally_nodemask_t extra,
	     uint64_t deadline)
{
	int origin;

	for (uint32_t i = op_bucket(n, key); i != NIL; i = n->ops.v[i].hnext) {
		struct op *o = &n->ops.v[i];
		if (o->kind == OP_READ && o->fetch && o->state != ST_DONE && memcmp(o->key, key, 16) == 0) {
			tally_pn_merge(&o->need, need);
			o->targets |= (tally_nodemask_t)(extra & ~NODE_BIT(n->self));
			if (deadline > o->deadline)
				o->deadline = deadline;
			return i;
		}
	}
	tally_nodemask_t targets = (tally_nodemask_t)((members_live(n, key, &origin) | extra) & ~NODE_BIT(n->self));
	if (targets == 0)
		return NIL;
	uint32_t ri = op_new(n, OP_READ, key);
	if (ri == NIL)
		return NIL;
	struct op *r = &n->ops.v[ri];
	r->fetch = true;
	r->has_need = true;
	r->need = *need;
	r->deadline = deadline;
	r->targets = targets;
	r->r = 1;
	n->causal.stats.fetches++;
	reads_send(n, ri);
	return ri;
}

void
causal_fetch_finish(struct tally_node *n, uint32_t ri)
{
	struct op *o = &n->ops.v[ri];

	/* Keep what was found, then let whoever waited look again. */
	if (o->answered != 0)
		(void)table_merge_state(n, o->key, &o->merged, NULL);
	for (uint32_t w = o->parked; w != NIL;) {
		uint32_t next = n->ops.v[w].next_parked;
		n->ops.v[w].state = ST_NEW;
		n->ops.v[w].next_parked = NIL;
		op_ready(n, w);
		w = next;
	}
	op_free(n, ri);
	n->table.dirty = true;
}

static void
send_slot(struct tally_node *n, unsigned peer, const uint8_t key[16], uint32_t ix, unsigned origin, uint64_t p,
	  uint64_t nv)
{
	struct tally_wire_slot s = {
		.index = ix == NIL ? TALLY_WIRE_INDEX_UNKNOWN : n->table.meta[ix].peer_ix[peer],
		.kind = TALLY_WIRE_KIND_PNCOUNTER, .origin = (uint8_t)origin, .p = p, .n = nv,
	};
	memcpy(s.key, key, 16);
	link_add_slot(n, peer, &s);
}

void
causal_ship_slot(struct tally_node *n, unsigned peer, const uint8_t key[16], uint32_t ix, unsigned origin, uint64_t p,
		 uint64_t nv)
{
	const struct dep *d = causal_dep_of(n, ix);

	if (d == NULL) {
		send_slot(n, peer, key, ix, origin, p, nv);
		return;
	}
	struct tally_wire_causal c = {
		.slot = { .index = n->table.meta[ix].peer_ix[peer], .kind = TALLY_WIRE_KIND_PNCOUNTER,
			  .origin = (uint8_t)origin, .p = p, .n = nv },
		.dep_len = TALLY_TOKEN_LEN,
	};
	memcpy(c.slot.key, key, 16);
	memcpy(c.dep, d->tok, TALLY_TOKEN_LEN);
	(void)tally_wire_add_causal(&link_txb(n, peer, TALLY_WIRE_CAUSAL)->w, &c);
}

/* Merge a causal record's slot here and ack it after the commit. */
static void
apply_causal(struct tally_node *n, const struct tally_wire_addr *from, const struct tally_wire_hdr *hdr,
	     const struct tally_wire_slot *slot, const uint8_t dep_key[16], const tally_pncounter_t *need,
	     const uint8_t *tok)
{
	struct tally_offload_completion c;

	if (table_merge_slot(n, slot, &c) != 0)
		return; /* unacked: the origin keeps trying */
	causal_dep_set(n, table_find(n, slot->key), dep_key, need, tok);
	link_acks(n, from, hdr, &c, 1);
}

/* Hold back a causal record whose dependency is not here (once per slot
 * value). @return false if there is no room (the origin resends). */
static bool
hold(struct tally_node *n, const struct tally_wire_frame *f, const struct tally_wire_causal *c,
     const struct tally_token *tok)
{
	struct node_causal *cs = &n->causal;
	struct held *free_slot = NULL;

	for (unsigned h = 0; h < HELD_MAX; h++) {
		struct held *e = &cs->held[h];
		if (!e->used) {
			if (free_slot == NULL)
				free_slot = e;
			continue;
		}
		if (memcmp(e->slot.key, c->slot.key, 16) == 0 && e->slot.origin == c->slot.origin &&
		    e->slot.p >= c->slot.p && e->slot.n >= c->slot.n)
			return true;
	}
	if (free_slot == NULL) {
		cs->stats.held_dropped++;
		return false;
	}
	*free_slot = (struct held){ .used = true, .from = f->addr, .hdr = f->hdr, .slot = c->slot, .need = tok->s,
				    .since = n->now };
	memcpy(free_slot->dep_key, tok->key, 16);
	cs->nheld++;
	cs->stats.held_total++;
	return true;
}

void
causal_on_frame(struct tally_node *n, const struct tally_wire_frame *f)
{
	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_causal c;
		struct tally_token tok;

		tally_wire_get_causal(f, i, &c);
		n->causal.stats.causal_in++;
		/* A dependency never expires: the write that carries it is older than any read of it. */
		if (tally_token_decode(c.dep, c.dep_len, n->token_key, (uint32_t)time(NULL), UINT32_MAX, &tok) !=
		    TALLY_TOKEN_OK) {
			n->causal.stats.held_bad_dep++;
			continue;
		}
		if (causal_satisfied(n, tok.key, &tok.s)) {
			apply_causal(n, &f->addr, &f->hdr, &c.slot, tok.key, &tok.s, c.dep);
			continue;
		}
		if (hold(n, f, &c, &tok))
			(void)causal_fetch(n, tok.key, &tok.s, NODE_BIT(f->hdr.sender), n->now + 5000000000u);
	}
}

void
causal_recheck(struct tally_node *n)
{
	struct node_causal *cs = &n->causal;

	if (cs->nheld == 0)
		return;
	bool dirty = n->table.dirty;
	n->table.dirty = false;
	for (unsigned h = 0; h < HELD_MAX && cs->nheld > 0; h++) {
		struct held *e = &cs->held[h];
		if (!e->used)
			continue;
		if (dirty && causal_satisfied(n, e->dep_key, &e->need)) {
			struct tally_token t = { .issued = (uint32_t)time(NULL), .s = e->need };
			uint8_t tok[TALLY_TOKEN_LEN];
			memcpy(t.key, e->dep_key, 16);
			tally_token_encode(&t, n->token_key, tok);
			apply_causal(n, &e->from, &e->hdr, &e->slot, e->dep_key, &e->need, tok);
			if (n->now - e->since > cs->stats.held_max_ns)
				cs->stats.held_max_ns = n->now - e->since;
		} else if (n->now - e->since < HELD_GIVE_UP_NS) {
			continue;
		} else {
			cs->stats.held_dropped++;
		}
		e->used = false;
		cs->nheld--;
	}
}
