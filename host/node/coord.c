/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The coordinator: a client request's checks and token, then a read, a
 * write applied here as its origin, or a write forwarded to its origin.
 */

#include <string.h>
#include <time.h>

#include "state.h"

static void
refuse(struct tally_node *n, const struct reply_to *to, const struct tally_wire_client *c, unsigned status,
       int64_t value)
{
	reply_to(n, to, c->op, c->client, c->seq, c->key, c->key_len, status, value, NULL, 0);
}

/* Check a request's token. @return TALLY_TOKEN_OK with *tok, or why not. */
static int
check_token(struct tally_node *n, const struct tally_wire_client *c, const uint8_t key[16], struct tally_token *tok)
{
	int te = tally_token_decode(c->token, c->token_len, n->token_key, (uint32_t)time(NULL), n->cfg.token_ttl_s, tok);
	bool same = te == TALLY_TOKEN_OK && memcmp(tok->key, key, 16) == 0;

	n->coord.tokens_in++;
	if (te == TALLY_TOKEN_OK && !same && (c->op == TALLY_WIRE_OP_GET || c->op == TALLY_WIRE_OP_PUT))
		te = TALLY_TOKEN_OTHER_KEY; /* an incr/decr with another key's token is causal */
	if (same && c->op == TALLY_WIRE_OP_PUT && tok->kind != TALLY_TOKEN_REGISTER)
		te = TALLY_TOKEN_VERSION_BAD; /* a put's context is a register's token */
	if (te != TALLY_TOKEN_OK)
		n->coord.tokens_refused++;
	return te;
}

/* Fill op @o from request @c (its key id @key, its checked token @tok). */
static void
op_fill(struct tally_node *n, struct op *o, const struct tally_wire_client *c, const uint8_t key[16],
	const struct tally_token *tok, const struct reply_to *to, unsigned w, unsigned r, uint64_t deadline)
{
	if (c->op == TALLY_WIRE_OP_PUT) {
		o->mv = true;
		o->vlen = c->value_len;
		memcpy(o->val, c->val, c->value_len);
		if (c->token_len > 0) {
			o->has_ctx = true;
			o->ctx = tok->s.p;
		}
	} else if (c->token_len > 0 && memcmp(tok->key, key, 16) == 0) {
		o->has_need = !n->broken_tokens; /* the deliberate bug: ignore the session */
		o->need = tok->s;
	} else if (c->token_len > 0) {
		o->causal = true;
		memcpy(o->dep_key, tok->key, 16);
		o->dep_need = tok->s;
		memcpy(o->dep_tok, c->token, TALLY_TOKEN_LEN);
	}
	o->cop = c->op;
	o->want_tok = (c->flags & TALLY_WIRE_CLIENT_FLAG_TOKEN) != 0;
	o->w = (uint8_t)w;
	o->r = (uint8_t)r;
	o->client = c->client;
	o->seq = c->seq;
	o->delta = c->delta;
	o->deadline = deadline;
	o->to = *to;
	o->keylen = c->key_len;
	memcpy(o->keybytes, c->key, c->key_len);
}

void
coord_request(struct tally_node *n, const struct tally_wire_client *c, const struct reply_to *to, bool forwarded)
{
	uint8_t key[16];
	unsigned nn = tally_placement_n(n->pl);
	unsigned w = c->w ? c->w : n->cfg.w, r = c->r ? c->r : n->cfg.r;
	uint64_t deadline = n->now + ms_ns(c->deadline_ms ? c->deadline_ms : n->cfg.request_timeout_ms);
	struct tally_token tok = { 0 };
	int origin;

	n->coord.client_records++;
	if (w > nn || r > nn || (c->op == TALLY_WIRE_OP_PUT && c->seq == 0) ||
	    ((c->op == TALLY_WIRE_OP_INCR || c->op == TALLY_WIRE_OP_DECR) && (c->delta == 0 || c->seq == 0))) {
		refuse(n, to, c, TALLY_E_BAD_REQUEST, 0);
		return;
	}
	if (log_failed(n)) {
		/* What this node holds may include what its log never did: it
		 * answers nothing from it (docs/durability.md#storage-errors). */
		refuse(n, to, c, TALLY_E_IO, 0);
		return;
	}
	tally_wire_key_id(c->key, c->key_len, key);
	if (c->token_len > 0) {
		int te = check_token(n, c, key, &tok);
		if (te != TALLY_TOKEN_OK) {
			refuse(n, to, c, TALLY_E_BAD_TOKEN, te);
			return;
		}
	}
	uint32_t oi = op_new(n, OP_WRITE, key);
	if (oi == NIL) {
		refuse(n, to, c, TALLY_E_BUSY, 0);
		return;
	}
	struct op *o = &n->ops.v[oi];
	op_fill(n, o, c, key, &tok, to, w, r, deadline);

	if (c->op == TALLY_WIRE_OP_GET) {
		o->kind = OP_READ;
		o->targets = members_live(n, key, &origin);
		if (mask_count(o->targets) < r) {
			reply_op(n, o, TALLY_E_UNAVAILABLE, 0);
			op_free(n, oi);
			return;
		}
		tally_pn_init(&o->merged);
		reads_send(n, oi);
		return;
	}
	(void)members_live(n, key, &origin);
	struct pin *pin = forwarded ? NULL : opids_pin(n, c->client, c->seq, false);
	if (pin != NULL) {
		/* A retry of a write we forwarded: only that origin may have applied it. */
		n->coord.pinned_retries++;
		origin = pin->origin;
		if (origin != (int)n->self && !members_up(n, (unsigned)origin)) {
			reply_op(n, o, TALLY_E_INDETERMINATE, 0);
			op_free(n, oi);
			return;
		}
	}
	if (forwarded || origin == (int)n->self || origin < 0) {
		/* Pin it to ourselves too: after a heal the key's origin may be
		 * another node, which must not apply a retry of it again. */
		if (!forwarded && origin == (int)n->self && pin == NULL) {
			if ((pin = opids_pin(n, c->client, c->seq, true)) == NULL) {
				reply_op(n, o, TALLY_E_BUSY, 0); /* the pins cannot hold another within the window */
				op_free(n, oi);
				return;
			}
			opids_pin_set(n, pin, n->self);
		}
		origin_apply(n, oi);
		return;
	}
	if (pin == NULL) {
		if ((pin = opids_pin(n, c->client, c->seq, true)) == NULL) {
			reply_op(n, o, TALLY_E_BUSY, 0);
			op_free(n, oi);
			return;
		}
		opids_pin_set(n, pin, (unsigned)origin);
	}
	/* Our answer will relay the origin's: it waits for the pin, not for
	 * whatever our log takes meanwhile. */
	o->pin_dep = out_now(n);
	/* Coordinate: the origin applies it and answers us. */
	struct tally_wire_client f = *c;
	f.deadline_ms = (uint32_t)((deadline - n->now) / 1000000u * 9 / 10);
	if (f.deadline_ms == 0)
		f.deadline_ms = 1;
	f.w = (uint8_t)w;
	f.r = (uint8_t)r;
	o->kind = OP_FORWARD;
	/* A forward carries the client's request, none of this node's state:
	 * it need not wait for our log (out.h). The pin just logged will be
	 * durable a commit later; a coordinator that dies before then forgets
	 * it, as before pins were logged. */
	(void)tally_wire_add_client(&link_txb_no_state(n, (unsigned)origin, TALLY_WIRE_CLIENT_REQUEST)->w, &f);
	n->coord.forwarded++;
}

void
coord_on_answer(struct tally_node *n, const struct tally_wire_client *c)
{
	uint8_t key[16];

	tally_wire_key_id(c->key, c->key_len, key);
	for (uint32_t j = op_bucket(n, key); j != NIL; j = n->ops.v[j].hnext) {
		struct op *o = &n->ops.v[j];
		if (o->kind != OP_FORWARD || o->client != c->client || o->seq != c->seq || memcmp(o->key, key, 16) != 0)
			continue;
		/* Not applied, definitively: a retry may go anywhere. Applied (ok)
		 * or maybe applied keeps the pin: only that origin knows the op id,
		 * and a client that lost the answer retries it. */
		if (c->status != TALLY_OK && c->status != TALLY_E_INDETERMINATE && c->status != TALLY_E_OP_REFUSED &&
		    c->status != TALLY_E_UNKNOWN_CLIENT && c->status != TALLY_E_IO) {
			struct pin *pin = opids_pin(n, c->client, c->seq, false);
			if (pin != NULL)
				pin->used = false;
		}
		reply_relay(n, o, c);
		op_free(n, j);
		return;
	}
}

void
coord_tick(struct tally_node *n, uint32_t oi)
{
	struct op *o = &n->ops.v[oi];

	if (n->now >= o->deadline) {
		reply_op(n, o, TALLY_E_INDETERMINATE, 0);
		op_free(n, oi);
	}
}
