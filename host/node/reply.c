/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Answers to clients: CLIENT_REPLY records, to the client's address (one
 * open frame per client address per round) or to the coordinator node that
 * forwarded the request; and the tokens they carry.
 */

#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "state.h"

const struct tally_wire_key *
reply_cred_key(struct tally_node *n, uint32_t id)
{
	struct cred_key *c = &n->reply.creds[(id ^ (id >> 8) ^ (id >> 16) ^ (id >> 24)) % CRED_CACHE];

	if (!c->valid || c->id != id) {
		if (tally_wire_client_key(&c->key, n->cfg.key, id) != 0)
			sodium_memzero(&c->key, sizeof(c->key)); /* libsodium failed to start: nothing verifies */
		c->id = id;
		c->valid = true;
	}
	return &c->key;
}

static struct creply *
creply_for(struct tally_node *n, const struct reply_to *to)
{
	const struct sockaddr_in *sa = &to->sa;
	struct creply *free_slot = NULL;

	for (unsigned i = 0; i < MAX_CREPLY; i++) {
		struct creply *c = &n->reply.open[i];
		if (c->open && c->sa.sin_addr.s_addr == sa->sin_addr.s_addr && c->sa.sin_port == sa->sin_port &&
		    c->cred == to->cred && tally_wire_room(&c->w) > 0)
			return c;
		if (!c->open && free_slot == NULL)
			free_slot = c;
	}
	return free_slot;
}

static void
creply_flush(struct tally_node *n, struct creply *c)
{
	if (!c->open)
		return;
	c->open = false;
	/* Under commit = interval nothing waits for the log: the frames that
	 * ship what this answer acknowledges leave first, so a node that
	 * crashes after answering has given it to the replicas it recovers
	 * from (docs/durability.md#commit-policies). */
	if (n->out.interval && c->state)
		link_flush_all(n);
	size_t len = tally_wire_finish(&c->w, reply_cred_key(n, c->cred));
	/* Clients speak UDP through the kernel: send the payload alone. */
	out_datagram(n, n->reply.client_fd, &c->sa, c->buf + TALLY_WIRE_L2L4_LEN, (uint16_t)(len - TALLY_WIRE_L2L4_LEN),
		     c->dep);
}

void
reply_flush_all(struct tally_node *n)
{
	for (unsigned i = 0; i < MAX_CREPLY; i++)
		creply_flush(n, &n->reply.open[i]);
}

/* Add record @p rp to @p to's reply. @p relay: it relays another node's
 * answer, and depends only on position @p relay_dep of our log (the pin of
 * a forwarded write, coord.c), not on our state. */
static void
reply_rec(struct tally_node *n, const struct reply_to *to, const struct tally_wire_client *rp, bool relay,
	  uint64_t relay_dep)
{
	struct tally_wire_client r = *rp;

	/* A refusal with no value and no token tells nothing of the node's
	 * state: it need not wait for the log (and still goes after it failed). */
	bool state = r.status == TALLY_OK || r.value != 0 || r.token_len > 0 || r.value_len > 0;
	uint64_t dep = !state ? OUT_NO_STATE : relay ? relay_dep : out_now(n);

	if (r.status < TALLY_STATUS_END && r.sib_index == 0)
		n->reply.stats.replies[r.status]++;
	if (to->node) {
		unsigned t = TALLY_WIRE_CLIENT_REPLY;
		struct txb *b = link_txb_no_state(n, to->peer, t);
		if (dep > b->dep)
			b->dep = dep;
		(void)tally_wire_add_client(&b->w, &r);
		return;
	}
	struct creply *c = creply_for(n, to);
	if (c == NULL) {
		creply_flush(n, &n->reply.open[0]);
		c = &n->reply.open[0];
	}
	if (!c->open) {
		struct tally_wire_addr a = { 0 };
		struct tally_wire_hdr h = { .type = TALLY_WIRE_CLIENT_REPLY, .sender = (uint16_t)n->self,
					    .epoch = n->epoch, .seq = tally_dp_next_seq(n->link.dp) };
		c->sa = to->sa;
		c->cred = to->cred;
		(void)tally_wire_begin(&c->w, c->buf, sizeof(c->buf), 0, &a, &h);
		c->open = true;
		c->state = false;
		c->dep = OUT_NO_STATE;
	}
	c->state |= state && !relay;
	if (dep > c->dep)
		c->dep = dep;
	(void)tally_wire_add_client(&c->w, &r);
}

void
reply_to(struct tally_node *n, const struct reply_to *to, unsigned cop, uint64_t client, uint64_t seq,
	 const uint8_t *keybytes, unsigned keylen, unsigned status, int64_t value, const uint8_t *tok, unsigned toklen)
{
	struct tally_wire_client r = {
		.op = (uint8_t)cop, .status = (uint16_t)status, .value = value, .client = client, .seq = seq,
		.key_len = (uint8_t)keylen, .token_len = (uint8_t)toklen,
	};

	if (keylen > 0)
		memcpy(r.key, keybytes, keylen);
	if (toklen > 0)
		memcpy(r.token, tok, toklen);
	reply_rec(n, to, &r, false, 0);
}

void
reply_relay(struct tally_node *n, struct op *o, const struct tally_wire_client *answer)
{
	struct tally_wire_client r = {
		.op = o->cop, .status = answer->status, .value = answer->value, .client = o->client, .seq = o->seq,
		.key_len = o->keylen,
		.token_len = answer->token_len <= TALLY_TOKEN_LEN ? answer->token_len : 0, /* the origin's, as it is */
	};

	if (o->replied)
		return;
	o->replied = true;
	memcpy(r.key, o->keybytes, o->keylen);
	memcpy(r.token, answer->token, r.token_len);
	reply_rec(n, &o->to, &r, true, o->pin_dep);
}

void
reply_op(struct tally_node *n, struct op *o, unsigned status, int64_t value)
{
	if (o->replied || o->recover)
		return;
	o->replied = true;
	reply_to(n, &o->to, o->cop, o->client, o->seq, o->keybytes, o->keylen, status, value, o->tok, o->toklen);
}

int64_t
reply_value_of(const tally_pncounter_t *s, unsigned *status)
{
	int64_t v = 0;

	/* A state summing P or N past 2^63 - 1 cannot come from a write this
	 * node version took (origin.c refuses those): say so, give no value. */
	if (!pn_in_range(s) || tally_pn_value(s, &v) != 0) {
		*status = TALLY_E_OUT_OF_RANGE;
		return 0;
	}
	return v;
}

/* Answer a read of a register: one record per sibling, the merged context as the token. */
static void
reply_siblings(struct tally_node *n, struct op *o)
{
	struct tally_token t = { .kind = TALLY_TOKEN_REGISTER, .issued = (uint32_t)time(NULL) };
	unsigned k = o->mvr->count > 255 ? 255 : o->mvr->count;
	uint8_t tok[TALLY_TOKEN_LEN];

	t.s.p = o->mvr->ctx;
	memcpy(t.key, o->key, 16);
	if (o->want_tok) /* the context a later put names: only a session keeps it */
		tally_token_encode(&t, n->token_key, tok);
	for (unsigned i = 0; i < k; i++) {
		struct tally_wire_client r = {
			.op = o->cop, .status = TALLY_OK, .value = k, .client = o->client, .seq = o->seq,
			.sib_index = (uint8_t)i, .sib_count = (uint8_t)k, .key_len = o->keylen,
			.value_len = (uint8_t)o->mvr->sib[i].len, .token_len = o->want_tok ? TALLY_TOKEN_LEN : 0,
		};
		memcpy(r.key, o->keybytes, o->keylen);
		memcpy(r.val, o->mvr->sib[i].value, o->mvr->sib[i].len);
		memcpy(r.token, tok, r.token_len);
		reply_rec(n, &o->to, &r, false, 0);
	}
	o->replied = true;
}

void
reply_value(struct tally_node *n, struct op *o, const tally_pncounter_t *s)
{
	if (o->mvr != NULL && o->mvr->count > 0) { /* the key is a register: its siblings */
		reply_siblings(n, o);
		return;
	}
	struct tally_token t = { .issued = (uint32_t)time(NULL), .s = *s };
	unsigned status = TALLY_OK;
	int64_t v = reply_value_of(s, &status);

	/* A token (an HMAC) only for a request that asked for one. */
	if (o->want_tok) {
		if (o->has_need)
			tally_pn_merge(&t.s, &o->need);
		memcpy(t.key, o->key, 16);
		tally_token_encode(&t, n->token_key, o->tok);
		o->toklen = TALLY_TOKEN_LEN;
	}
	reply_op(n, o, status, v);
}

void
reply_put(struct tally_node *n, struct op *o, const tally_mvreg_t *reg)
{
	struct tally_token t = { .kind = TALLY_TOKEN_REGISTER, .issued = (uint32_t)time(NULL) };

	if (o->want_tok) {
		t.s.p = reg->ctx;
		memcpy(t.key, o->key, 16);
		tally_token_encode(&t, n->token_key, o->tok);
		o->toklen = TALLY_TOKEN_LEN;
	}
	reply_op(n, o, TALLY_OK, reg->count);
}
