/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * One tally node (docs/cluster.md). The parts, in the order a write meets
 * them:
 *
 *   client socket  CLIENT_REQUEST datagrams from the client library
 *   coordinator    picks the key's origin (the first live node of its
 *                  preference list) and forwards the request there, or
 *                  gathers R replicas' states for a read
 *   origin         checks the op id, raises its own slot, logs it, and after
 *                  the log commit ships the slot's state to the other replicas
 *                  (REPLICATE); answers once W replicas hold it
 *   replica        the NIC merges REPLICATE records; the node logs what was
 *                  merged and acks after the commit, so an ack means durable
 *   failure        heartbeats mark peers up or down; writes skip down nodes
 *                  for the next ones on the ring (sloppy quorum); a node
 *                  holding a key it is not a preferred replica of hands it
 *                  to them when they are back (hinted handoff)
 *   recovery       a node that lost its data directory recovers its own slot
 *                  of a key from every member before it raises it (kv679)
 *
 * Everything runs in tally_node_poll(), which never blocks.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include <xxhash.h>

#include "dedup.h"
#include "dp.h"
#include "node.h"
#include "offload.h"
#include "placement.h"
#include "status.h"
#include "token.h"
#include "vclock.h"
#include "wal.h"
#include "wire.h"

#include "node_int.h"

/* MV-registers (their section is below the writes and reads they join) */
static struct mventry *mv_find(struct tally_node *n, const uint8_t key[16], bool create);
static void mv_answer_put(struct tally_node *n, struct op *o, const tally_mvreg_t *reg);
static void mv_answer_get(struct tally_node *n, struct op *o);
static void mv_origin_apply(struct tally_node *n, uint32_t oi, int dv);
static void mv_read_got(struct tally_node *n, uint32_t oi, unsigned from, const tally_mvreg_t *reg);
static bool vec_covers(const tally_vec_t *a, const tally_vec_t *b);
static void mv_log(struct tally_node *n, struct mventry *e);
static void mv_lww_prune(tally_mvreg_t *r);

/* ---- small things ---- */

uint64_t
node_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void __attribute__((format(printf, 2, 3)))
node_note(struct tally_node *n, const char *fmt, ...)
{
	va_list ap;

	if (n->log == NULL)
		return;
	fprintf(n->log, "tallyd: %s: ", n->name);
	va_start(ap, fmt);
	vfprintf(n->log, fmt, ap);
	va_end(ap);
	fputc('\n', n->log);
	fflush(n->log);
}

static unsigned
popcount8(uint8_t v)
{
	return (unsigned)__builtin_popcount(v);
}

static uint64_t
ms_ns(unsigned ms)
{
	return (uint64_t)ms * 1000000u;
}

static uint32_t
key_hash(const uint8_t key[16])
{
	uint32_t h;

	memcpy(&h, key, 4); /* key ids are XXH3-128: already uniform */
	return h % OP_HASH;
}

/* ---- membership ---- */

bool
node_is_up(const struct tally_node *n, unsigned id)
{
	return id == n->self || (n->m[id].present && n->m[id].up);
}

static void
heard(struct tally_node *n, const struct tally_wire_addr *a, const struct tally_wire_hdr *h)
{
	struct member *m;

	if (h->sender >= TALLY_MAX_NODES || h->sender == n->self || !n->m[h->sender].present)
		return;
	m = &n->m[h->sender];
	if (m->epoch != h->epoch) {
		/* A restarted peer numbered its table afresh: forget its indexes. */
		if (m->epoch != 0)
			for (uint32_t i = 0; i < n->entries; i++)
				n->meta[i].peer_ix[h->sender] = TALLY_WIRE_INDEX_UNKNOWN;
		m->epoch = h->epoch;
		/* It lost the op ids it was noted in memory (and all of them
		 * if it lost its disk): give it the ones we know. */
		m->note_push = n->notes_head > NOTES ? n->notes_head - NOTES : 0;
		m->note_end = n->notes_head;
	}
	if (!m->up) {
		node_note(n, "node %u is up (epoch %" PRIu32 ")", h->sender, h->epoch);
		/* Back from a partition or a pause: the notes sent since we last
		 * heard it (and a margin for those in flight then) were lost. */
		uint64_t from = m->note_heard > NOTE_SLACK ? m->note_heard - NOTE_SLACK : 0;
		if (from < m->note_push || m->note_push >= m->note_end)
			m->note_push = from;
		m->note_end = n->notes_head;
	}
	m->note_heard = n->notes_head;
	m->up = true;
	m->last_heard = n->now;
	m->frames_in++;
	if (!m->mac_known) {
		memcpy(m->addr.dst_mac, a->src_mac, 6);
		m->mac_known = true;
	}
}

/* The key's nodes in ring order: preference list first, then fallbacks. */
const uint8_t *
node_ring_of(const struct tally_node *n, const uint8_t key[16], unsigned *count)
{
	return tally_placement_nodes(n->pl, tally_placement_partition(n->pl, key), count);
}

/* The first N live nodes in ring order: where a write goes now. @return their mask. */
static uint8_t
live_replicas(const struct tally_node *n, const uint8_t key[16], int *origin)
{
	unsigned count, want = tally_placement_n(n->pl), got = 0;
	const uint8_t *ring = node_ring_of(n, key, &count);
	uint8_t mask = 0;

	*origin = -1;
	for (unsigned i = 0; i < count && got < want; i++) {
		if (!node_is_up(n, ring[i]))
			continue;
		if (*origin < 0)
			*origin = ring[i];
		mask |= (uint8_t)(1u << ring[i]);
		got++;
	}
	return mask;
}

/* The preferred replicas of a key, as a mask. */
uint8_t
preferred_mask(const struct tally_node *n, const uint8_t key[16])
{
	unsigned count;
	const uint8_t *ring = node_ring_of(n, key, &count);
	uint8_t m = 0;

	for (unsigned i = 0; i < tally_placement_n(n->pl) && i < count; i++)
		m |= (uint8_t)(1u << ring[i]);
	return m;
}

/* ---- frames to peers ---- */

void
node_txb_flush(struct tally_node *n, unsigned peer, unsigned type)
{
	struct txb *t = &n->tx[peer][type];

	if (!t->open)
		return;
	t->open = false;
	if (t->w.count == 0)
		return;
	size_t len = tally_wire_finish(&t->w, &n->keys);
	(void)tally_dp_send(n->dp, t->buf, (uint16_t)len);
}

static void
flush_all(struct tally_node *n)
{
	for (unsigned p = 0; p < TALLY_MAX_NODES; p++)
		for (unsigned t = 1; t < TALLY_WIRE_TYPE_END; t++)
			node_txb_flush(n, p, t);
	tally_dp_flush(n->dp);
}

/* Begin a frame of @type to @peer with @ref. */
void
node_frame_begin(struct tally_node *n, struct tally_wire_writer *w, uint8_t *buf, unsigned peer, unsigned type,
	    uint64_t ref, uint64_t *seq)
{
	struct tally_wire_addr a = n->me;
	struct tally_wire_hdr h = {
		.type = (uint8_t)type, .sender = (uint16_t)n->self, .epoch = n->epoch, .ref = ref,
	};

	/* A forwarded client request keeps the client's form: the sender of a
	 * CLIENT_REQUEST is never a node (the origin knows us by address). */
	if (type == TALLY_WIRE_CLIENT_REQUEST)
		h.sender = TALLY_WIRE_SENDER_CLIENT;

	memcpy(a.dst_mac, n->m[peer].addr.dst_mac, 6);
	a.dst_ip = n->m[peer].addr.dst_ip;
	a.dst_port = n->m[peer].addr.dst_port;
	h.seq = tally_dp_next_seq(n->dp);
	if (seq != NULL)
		*seq = h.seq;
	(void)tally_wire_begin(w, buf, FRAME_BUF, n->cfg.mtu, &a, &h);
}

/* The frame of @type open to @peer, with room for a record. */
struct txb *
node_txb_get(struct tally_node *n, unsigned peer, unsigned type)
{
	struct txb *t = &n->tx[peer][type];

	if (t->open && tally_wire_room(&t->w) == 0)
		node_txb_flush(n, peer, type);
	if (!t->open) {
		node_frame_begin(n, &t->w, t->buf, peer, type, 0, &t->seq);
		t->open = true;
	}
	return t;
}

static void
send_slot(struct tally_node *n, unsigned peer, const uint8_t key[16], uint32_t ix, unsigned origin, uint64_t p,
	  uint64_t nv)
{
	struct tally_wire_slot s = {
		.index = ix == NIL ? TALLY_WIRE_INDEX_UNKNOWN : n->meta[ix].peer_ix[peer],
		.kind = TALLY_WIRE_KIND_PNCOUNTER, .origin = (uint8_t)origin, .p = p, .n = nv,
	};
	memcpy(s.key, key, 16);
	(void)tally_wire_add_slot(&node_txb_get(n, peer, TALLY_WIRE_REPLICATE)->w, &s);
}

struct dep *
node_dep_of(struct tally_node *n, uint32_t ix)
{
	struct dep *d = ix == NIL ? NULL : &n->deps[ix % DEPS];

	return d != NULL && d->used && d->ix == ix ? d : NULL;
}

/* Ship slot @origin of a key: as a CAUSAL record with the key's last
 * dependency if its writes had one (the receiver then holds it back until
 * it has the dependency), else as a REPLICATE the NIC merges at once. */
static void
ship_slot(struct tally_node *n, unsigned peer, const uint8_t key[16], uint32_t ix, unsigned origin, uint64_t p,
	  uint64_t nv)
{
	const struct dep *d = node_dep_of(n, ix);

	if (d == NULL) {
		send_slot(n, peer, key, ix, origin, p, nv);
		return;
	}
	struct tally_wire_causal c = {
		.slot = { .index = n->meta[ix].peer_ix[peer], .kind = TALLY_WIRE_KIND_PNCOUNTER,
			  .origin = (uint8_t)origin, .p = p, .n = nv },
		.dep_len = TALLY_TOKEN_LEN,
	};
	memcpy(c.slot.key, key, 16);
	memcpy(c.dep, d->tok, TALLY_TOKEN_LEN);
	(void)tally_wire_add_causal(&node_txb_get(n, peer, TALLY_WIRE_CAUSAL)->w, &c);
}

static void
heartbeat(struct tally_node *n)
{
	uint8_t buf[256];
	struct tally_wire_writer w;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		if (!n->m[i].present || i == n->self)
			continue;
		node_frame_begin(n, &w, buf, i, TALLY_WIRE_DIGEST, 0, NULL);
		size_t len = tally_wire_finish(&w, &n->keys);
		(void)tally_dp_send(n->dp, buf, (uint16_t)len);
	}
}

/* ---- the counter table ---- */

uint32_t
node_key_find(const struct tally_node *n, const uint8_t key[16])
{
	uint32_t ix;

	return tally_offload_key_lookup(n->engine, key, &ix) == 0 ? ix : NIL;
}

/* The key's index, allocating it. @return 0 or a tally_status. */
static int
key_get(struct tally_node *n, const uint8_t key[16], uint32_t *ix)
{
	int rc = tally_offload_key_alloc(n->engine, key, ix);

	if (rc == -ENOSPC) {
		n->c.table_full++;
		return TALLY_E_TABLE_FULL;
	}
	if (rc < 0)
		return TALLY_E_IO;
	if (rc == 1) {
		struct keymeta *k = &n->meta[*ix];

		memset(k, 0, sizeof(*k));
		k->used = true;
		k->recovered = !n->recovering_mode;
		memcpy(k->key, key, 16);
		k->part = tally_placement_partition(n->pl, key);
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
			k->peer_ix[i] = TALLY_WIRE_INDEX_UNKNOWN;
	}
	return 0;
}

int
node_state_of(const struct tally_node *n, uint32_t ix, tally_pncounter_t *s)
{
	if (ix == NIL) {
		tally_pn_init(s);
		return 0;
	}
	return tally_offload_read(n->engine, ix, s) == 0 ? 0 : TALLY_E_IO;
}

/*
 * Slot @origin of entry @ix (every slot if -1) may have risen: the nodes we
 * owe the key must confirm it again. A preferred replica owes others only
 * its own writes (an origin pays for its own), so only a change of its own
 * slot matters to it; a fallback owes everything it holds. Clearing only
 * what can matter also keeps two nodes' offers to each other (merges that
 * change nothing) from cancelling each other's confirmations for ever.
 */
static void
changed(struct tally_node *n, uint32_t ix, int origin)
{
	bool preferred_here = preferred_mask(n, n->meta[ix].key) & (1u << n->self);

	n->held_dirty = true; /* a held causal record may wait for exactly this */
	if (preferred_here) {
		if (origin >= 0 && origin != (int)n->self)
			return;
		origin = (int)n->self;
	}
	if (origin < 0) {
		n->meta[ix].handoff_ok = 0;
		return;
	}
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
		n->meta[ix].handoff_ok &= ~(UINT64_C(1) << (8 * t + (unsigned)origin));
}

static void
wal_slot(struct tally_node *n, const uint8_t key[16], unsigned origin, uint64_t p, uint64_t nv)
{
	struct tally_wal_rec r = { .type = TALLY_WAL_SLOT, .origin = (uint8_t)origin, .p = p, .n = nv };

	memcpy(r.key, key, 16);
	(void)tally_wal_append(n->wal, &r);
}

static void
wal_state(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *s)
{
	struct tally_wal_rec r = { .type = TALLY_WAL_STATE, .state = *s };

	memcpy(r.key, key, 16);
	(void)tally_wal_append(n->wal, &r);
}

/* Merge a whole state into the table (host path), logging it. @return 0 or a status. */
static int
merge_state(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *s, uint32_t *ixout)
{
	struct tally_wire_state st = { .kind = TALLY_WIRE_KIND_PNCOUNTER };
	uint32_t ix;
	int rc = key_get(n, key, &ix);

	if (rc != 0)
		return rc;
	st.index = ix;
	memcpy(st.key, key, 16);
	st.p = s->p;
	st.n = s->n;
	if (tally_offload_apply_states(n->engine, &st, 1) != 1)
		return TALLY_E_IO;
	wal_state(n, key, s);
	changed(n, ix, -1);
	if (ixout != NULL)
		*ixout = ix;
	return 0;
}

/* ---- ops ---- */

static uint32_t
op_new(struct tally_node *n, unsigned kind, const uint8_t key[16])
{
	uint32_t i = n->free_op;

	if (i == NIL)
		return NIL;
	struct op *o = &n->ops[i];
	n->free_op = o->hnext;
	memset(o, 0, sizeof(*o));
	o->kind = (uint8_t)kind;
	memcpy(o->key, key, 16);
	o->parked = o->next_parked = NIL;
	o->started = n->now;
	o->gen = ++n->op_gen;
	uint32_t b = key_hash(key);
	o->hnext = n->bucket[b];
	n->bucket[b] = i;
	n->nops++;
	return i;
}

static void
op_free(struct tally_node *n, uint32_t i)
{
	struct op *o = &n->ops[i];
	uint32_t *pp = &n->bucket[key_hash(o->key)];

	if (o->mvr != NULL) {
		tally_mvreg_fini(o->mvr);
		free(o->mvr);
		o->mvr = NULL;
	}
	while (*pp != i)
		pp = &n->ops[*pp].hnext;
	*pp = o->hnext;
	o->kind = OP_FREE;
	o->hnext = n->free_op;
	n->free_op = i;
	n->nops--;
}

/* ---- answers ---- */

static struct creply *
creply_for(struct tally_node *n, const struct sockaddr_in *sa)
{
	struct creply *free_slot = NULL;

	for (unsigned i = 0; i < MAX_CREPLY; i++) {
		struct creply *c = &n->creply[i];
		if (c->open && c->sa.sin_addr.s_addr == sa->sin_addr.s_addr && c->sa.sin_port == sa->sin_port &&
		    tally_wire_room(&c->w) > 0)
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
	size_t len = tally_wire_finish(&c->w, &n->keys);
	/* Clients speak UDP through the kernel: send the payload alone. */
	(void)sendto(n->client_fd, c->buf + TALLY_WIRE_L2L4_LEN, len - TALLY_WIRE_L2L4_LEN, MSG_DONTWAIT,
		     (const struct sockaddr *)&c->sa, sizeof(c->sa));
}

static void
creply_flush_all(struct tally_node *n)
{
	for (unsigned i = 0; i < MAX_CREPLY; i++)
		creply_flush(n, &n->creply[i]);
}

static void answer_rec(struct tally_node *n, const struct reply_to *to, const struct tally_wire_client *rp);

/* Send one CLIENT_REPLY record to whoever asked. */
static void
answer_to(struct tally_node *n, const struct reply_to *to, unsigned cop, uint64_t client, uint64_t seq,
	  const uint8_t *keybytes, unsigned keylen, unsigned status, int64_t value, const uint8_t *tok,
	  unsigned toklen)
{
	struct tally_wire_client r = {
		.op = (uint8_t)cop, .status = (uint16_t)status, .value = value, .client = client, .seq = seq,
		.key_len = (uint8_t)keylen, .token_len = (uint8_t)toklen,
	};

	if (keylen > 0)
		memcpy(r.key, keybytes, keylen);
	if (toklen > 0)
		memcpy(r.token, tok, toklen);
	answer_rec(n, to, &r);
}

/* Send a prepared CLIENT_REPLY record to whoever asked. */
static void
answer_rec(struct tally_node *n, const struct reply_to *to, const struct tally_wire_client *rp)
{
	struct tally_wire_client r = *rp;

	if (r.status < TALLY_STATUS_END && r.sib_index == 0)
		n->c.replies[r.status]++;
	if (to->node) {
		(void)tally_wire_add_client(&node_txb_get(n, to->peer, TALLY_WIRE_CLIENT_REPLY)->w, &r);
		return;
	}
	struct creply *c = creply_for(n, &to->sa);
	if (c == NULL) {
		creply_flush(n, &n->creply[0]);
		c = &n->creply[0];
	}
	if (!c->open) {
		struct tally_wire_addr a = { 0 };
		struct tally_wire_hdr h = { .type = TALLY_WIRE_CLIENT_REPLY, .sender = (uint16_t)n->self,
					    .epoch = n->epoch, .seq = tally_dp_next_seq(n->dp) };
		c->sa = to->sa;
		(void)tally_wire_begin(&c->w, c->buf, sizeof(c->buf), 0, &a, &h);
		c->open = true;
	}
	(void)tally_wire_add_client(&c->w, &r);
}

static void
answer(struct tally_node *n, struct op *o, unsigned status, int64_t value)
{
	if (o->replied || o->recover)
		return;
	o->replied = true;
	answer_to(n, &o->to, o->cop, o->client, o->seq, o->keybytes, o->keylen, status, value, o->tok, o->toklen);
}

int64_t
node_value_of(const tally_pncounter_t *s, unsigned *status)
{
	int64_t v = 0;

	if (tally_pn_value(s, &v) != 0)
		*status = TALLY_E_OVERFLOW;
	return v;
}

/* Answer with the state @s: its value, and a token that the session has
 * seen @s and whatever its own token said. */
static void
answer_value(struct tally_node *n, struct op *o, const tally_pncounter_t *s)
{
	if (o->mvr != NULL && o->mvr->count > 0) { /* the key is a register: its siblings */
		mv_answer_get(n, o);
		return;
	}
	struct tally_token t = { .issued = (uint32_t)time(NULL), .s = *s };
	unsigned status = TALLY_OK;
	int64_t v = node_value_of(s, &status);

	if (o->has_need)
		tally_pn_merge(&t.s, &o->need);
	memcpy(t.key, o->key, 16);
	tally_token_encode(&t, n->token_key, o->tok);
	o->toklen = TALLY_TOKEN_LEN;
	answer(n, o, status, v);
}

/* Whether state @s includes everything the session's token says it has seen. */
static bool
dominates(const tally_pncounter_t *s, const tally_pncounter_t *need)
{
	tally_vv_order_t p = tally_vv_compare(&s->p, &need->p), q = tally_vv_compare(&s->n, &need->n);

	return (p == TALLY_VV_EQUAL || p == TALLY_VV_AFTER) && (q == TALLY_VV_EQUAL || q == TALLY_VV_AFTER);
}

/* ---- writes at the origin ---- */

static void note_applied(struct tally_node *n, const struct op *o);

static void start_recovery(struct tally_node *n, uint32_t wi);
static bool dep_satisfied(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *need);
static uint32_t start_fetch(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *need, uint8_t extra,
			    uint64_t deadline);

static bool
write_held(const struct op *o)
{
	return popcount8(o->holders) >= o->w;
}

/* Apply a write op at this node, the origin. */
static void
origin_apply(struct tally_node *n, uint32_t oi)
{
	struct op *o = &n->ops[oi];
	tally_opid_t id = { o->client, o->seq };
	tally_pncounter_t s;
	uint32_t ix;
	int origin, dv, rc;

	o->targets = live_replicas(n, o->key, &origin);
	o->targets |= (uint8_t)(1u << n->self);
	if (tally_wal_failed(n->wal)) {
		answer(n, o, TALLY_E_IO, 0);
		op_free(n, oi);
		return;
	}
	dv = tally_dedup_check(n->dedup, id);
	if (n->broken_dedup && dv == TALLY_DEDUP_DUPLICATE)
		dv = TALLY_DEDUP_NEW; /* the deliberate bug: a retry counts again */
	if (dv == TALLY_DEDUP_TOO_OLD || dv == TALLY_DEDUP_UNKNOWN_CLIENT || dv < 0) {
		answer(n, o, TALLY_E_OP_REFUSED, 0);
		op_free(n, oi);
		return;
	}
	int nv = dv == TALLY_DEDUP_NEW && !n->broken_dedup ? tally_dedup_check(n->noted, id) : TALLY_DEDUP_NEW;
	if (nv == TALLY_DEDUP_DUPLICATE || nv == TALLY_DEDUP_TOO_OLD) {
		/* Another origin applied it (its note said so), or one may have
		 * (older than the notes can tell): applying it here could count it
		 * twice, and whether W replicas hold it is that origin's to say.
		 * Outcome unknown, here. */
		n->c.noted_refused++;
		answer(n, o, TALLY_E_OP_REFUSED, 0);
		op_free(n, oi);
		return;
	}
	/* Too few live nodes: "unavailable" promises the write was not applied,
	 * so only a write not applied before gets it. A resend of one applied
	 * already waits for its W copies like any duplicate (and may end
	 * indeterminate). The fault suite found a resend answered unavailable
	 * after its first send had been applied. */
	if (popcount8(o->targets) < o->w && dv != TALLY_DEDUP_DUPLICATE) {
		answer(n, o, TALLY_E_UNAVAILABLE, 0);
		op_free(n, oi);
		return;
	}
	if (o->mv) {
		mv_origin_apply(n, oi, dv);
		return;
	}
	if (mv_find(n, o->key, false) != NULL) { /* a key is a counter or a register */
		answer(n, o, TALLY_E_BAD_REQUEST, 0);
		op_free(n, oi);
		return;
	}
	ix = node_key_find(n, o->key);
	if (n->recovering_mode && (ix == NIL || !n->meta[ix].recovered)) {
		start_recovery(n, oi);
		return;
	}
	if (o->causal && dv != TALLY_DEDUP_DUPLICATE && !dep_satisfied(n, o->dep_key, &o->dep_need)) {
		/* A causal write waits here until what it depends on is here too. */
		uint32_t fi = n->now < o->deadline ? start_fetch(n, o->dep_key, &o->dep_need, 0, o->deadline) : NIL;
		if (fi == NIL) {
			n->c.not_yet++;
			answer(n, o, TALLY_E_NOT_YET, 0);
			op_free(n, oi);
			return;
		}
		o->state = ST_DEP;
		o->next_parked = n->ops[fi].parked;
		n->ops[fi].parked = oi;
		return;
	}
	rc = key_get(n, o->key, &ix);
	if (rc == 0)
		rc = node_state_of(n, ix, &s);
	if (rc != 0) {
		answer(n, o, (unsigned)rc, 0);
		op_free(n, oi);
		return;
	}
	o->p = s.p.slot[n->self];
	o->n = s.n.slot[n->self];
	if (dv == TALLY_DEDUP_DUPLICATE) {
		/* Applied before: answer once W replicas hold our slot as it is now. */
		n->c.duplicates++;
	} else {
		uint64_t *slot = o->cop == TALLY_WIRE_OP_INCR ? &o->p : &o->n;
		if (*slot > UINT64_MAX - o->delta) {
			answer(n, o, TALLY_E_OVERFLOW, 0);
			op_free(n, oi);
			return;
		}
		*slot += o->delta;
		struct tally_wire_slot rec = {
			.index = ix, .kind = TALLY_WIRE_KIND_PNCOUNTER, .origin = (uint8_t)n->self,
			.p = o->p, .n = o->n,
		};
		memcpy(rec.key, o->key, 16);
		if (tally_offload_apply_slots(n->engine, &rec, 1, NULL) != 1) {
			answer(n, o, TALLY_E_IO, 0);
			op_free(n, oi);
			return;
		}
		(void)tally_dedup_record(n->dedup, id);
		struct tally_wal_rec r = { .type = TALLY_WAL_OPID, .client = o->client, .seq = o->seq };
		(void)tally_wal_append(n->wal, &r);
		wal_slot(n, o->key, n->self, o->p, o->n);
		changed(n, ix, (int)n->self);
		n->c.applied++;
	}
	o->state = ST_COMMIT;
	n->commit_ops[n->ncommit_ops++] = oi;
}

/* After the commit: our slot is durable here; ship it and count ourselves. */
static void
write_committed(struct tally_node *n, uint32_t oi)
{
	struct op *o = &n->ops[oi];

	note_applied(n, o);
	uint32_t ix = node_key_find(n, o->key);
	tally_pncounter_t s;

	if (o->mv) {
		struct mventry *e = mv_find(n, o->key, false);
		o->holders |= (uint8_t)(1u << n->self);
		o->state = ST_SHIP;
		o->next_send = n->now + RETRANSMIT_NS;
		o->linger = o->deadline + REPLICATE_LINGER_NS;
		for (unsigned t = 0; t < TALLY_MAX_NODES && e != NULL; t++)
			if ((o->targets & (1u << t)) && t != n->self)
				node_mv_ship(n, t, o->key, &e->reg, 0, 0);
		if (write_held(o) && e != NULL)
			mv_answer_put(n, o, &e->reg);
		if (o->holders == o->targets)
			op_free(n, oi);
		return;
	}
	o->holders |= (uint8_t)(1u << n->self);
	o->state = ST_SHIP;
	if (o->causal && ix != NIL) {
		struct dep *d = &n->deps[ix % DEPS];
		d->used = true;
		d->ix = ix;
		memcpy(d->dep_key, o->dep_key, 16);
		d->need = o->dep_need;
		memcpy(d->tok, o->dep_tok, TALLY_TOKEN_LEN);
		n->c.causal_writes++;
	}
	if (ix != NIL)
		n->meta[ix].owe |= (uint8_t)(preferred_mask(n, o->key) & ~o->targets);
	o->next_send = n->now + RETRANSMIT_NS;
	o->linger = o->deadline + REPLICATE_LINGER_NS;
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
		if ((o->targets & (1u << t)) && t != n->self)
			ship_slot(n, t, o->key, ix, n->self, o->p, o->n);
	if (write_held(o) && node_state_of(n, ix, &s) == 0)
		answer_value(n, o, &s);
	if (o->holders == o->targets)
		op_free(n, oi);
}

/* A replica says it holds slot @origin of @key at (p, n). */
static void
ack_seen(struct tally_node *n, unsigned from, const struct tally_wire_slot *a)
{
	uint32_t ix = node_key_find(n, a->key);

	if (ix == NIL)
		return;
	n->meta[ix].peer_ix[from] = a->index;
	/* A hint offered to a preferred node: is our slot held there now? */
	tally_pncounter_t s;
	if (node_state_of(n, ix, &s) == 0 && a->p >= s.p.slot[a->origin] && a->n >= s.n.slot[a->origin])
		n->meta[ix].handoff_ok |= UINT64_C(1) << (8 * from + a->origin);
	if (a->origin != n->self)
		return;
	for (uint32_t i = n->bucket[key_hash(a->key)], next; i != NIL; i = next) {
		struct op *o = &n->ops[i];
		next = o->hnext;
		if (o->kind != OP_WRITE || o->state != ST_SHIP || memcmp(o->key, a->key, 16) != 0)
			continue;
		if (a->p < o->p || a->n < o->n || !(o->targets & (1u << from)))
			continue;
		o->holders |= (uint8_t)(1u << from);
		if (!o->replied && write_held(o))
			answer_value(n, o, &s);
		if (o->holders == o->targets)
			op_free(n, i);
	}
}

/* ---- reads ---- */

static void read_finish(struct tally_node *n, uint32_t oi);

/* A replica's state for an outstanding read. */
static void
read_got(struct tally_node *n, uint32_t oi, unsigned from, const tally_pncounter_t *s)
{
	struct op *o = &n->ops[oi];

	if (o->answered & (1u << from))
		return;
	o->answered |= (uint8_t)(1u << from);
	o->got[from] = *s;
	tally_pn_merge(&o->merged, s);
	bool satisfied = !o->has_need || (o->mvr != NULL && o->mvr->count > 0 ? vec_covers(&o->mvr->ctx, &o->need.p)
									       : dominates(&o->merged, &o->need));
	if (o->fetch) {
		if (satisfied || (o->answered == o->targets && n->now >= o->deadline)) {
			read_finish(n, oi);
		} else if (o->answered == o->targets) {
			o->answered = 0; /* ask again shortly: it may be on its way to them too */
			o->next_send = n->now + RETRANSMIT_NS / 4;
		}
		return;
	}
	if (!o->recover && !o->replied && popcount8(o->answered) >= o->r && satisfied) {
		n->c.reads++;
		answer_value(n, o, &o->merged);
	}
	if (o->answered == o->targets) {
		if (!o->recover && !o->replied && !satisfied && n->now < o->deadline) {
			/* No replica has caught up with the session yet: what it saw may
			 * still be on its way. Ask them all again shortly; never answer
			 * with less. */
			n->c.token_waits++;
			o->answered = 0;
			o->next_send = n->now + RETRANSMIT_NS / 4;
			return;
		}
		read_finish(n, oi);
	}
}

/* Every asked replica answered, or the deadline passed: repair, resume, free. */
static void
read_finish(struct tally_node *n, uint32_t oi)
{
	struct op *o = &n->ops[oi];

	if (o->fetch) {
		/* Keep what was found, then let whoever waited look again. */
		if (o->answered != 0)
			(void)merge_state(n, o->key, &o->merged, NULL);
		uint32_t w = o->parked;
		op_free(n, oi);
		while (w != NIL) {
			uint32_t next = n->ops[w].next_parked;
			n->ops[w].state = ST_NEW;
			n->ops[w].next_parked = NIL;
			origin_apply(n, w);
			w = next;
		}
		n->held_dirty = true;
		return;
	}
	if (o->recover) {
		if (o->answered != o->targets) {
			for (uint32_t w = o->parked; w != NIL;) {
				uint32_t next = n->ops[w].next_parked;
				answer(n, &n->ops[w], TALLY_E_RECOVERING, 0);
				op_free(n, w);
				w = next;
			}
			op_free(n, oi);
			return;
		}
		/* Every member answered: our slot of this key is now the highest anywhere. */
		uint32_t ix;
		int rc = merge_state(n, o->key, &o->merged, &ix);
		if (rc == 0) {
			struct tally_wal_rec r = { .type = TALLY_WAL_RECOVERED };
			memcpy(r.key, o->key, 16);
			(void)tally_wal_append(n->wal, &r);
			n->meta[ix].recovered = true;
			n->c.recoveries++;
		}
		for (uint32_t w = o->parked; w != NIL;) {
			uint32_t next = n->ops[w].next_parked;
			n->ops[w].state = ST_NEW;
			n->ops[w].next_parked = NIL;
			if (rc != 0) {
				answer(n, &n->ops[w], (unsigned)rc, 0);
				op_free(n, w);
			} else {
				origin_apply(n, w);
			}
			w = next;
		}
		op_free(n, oi);
		return;
	}
	bool seen = o->mvr != NULL && o->mvr->count > 0 ? vec_covers(&o->mvr->ctx, &o->need.p)
							: dominates(&o->merged, &o->need);
	if (!o->replied && o->has_need && !seen) {
		n->c.not_yet++;
		answer(n, o, TALLY_E_NOT_YET, 0);
	} else if (!o->replied) {
		answer(n, o, TALLY_E_INDETERMINATE, 0);
	}
	if (o->mvr != NULL && o->mvr->count > 0 && o->mv_differ) {
		/* Registers differed: every replica that answered gets the merge (idempotent). */
		for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
			if (!(o->answered & (1u << t)))
				continue;
			if (t != n->self) {
				node_mv_ship(n, t, o->key, o->mvr, 0, 0);
				n->c.repairs_sent++;
				continue;
			}
			struct mventry *e = mv_find(n, o->key, true);
			if (e != NULL && tally_mvreg_merge(&e->reg, o->mvr) == 0) {
				e->lww = e->lww || o->mv_lww;
				if (e->lww)
					mv_lww_prune(&e->reg);
				mv_log(n, e);
				n->c.repairs_applied++;
			}
		}
	}
	/* Read repair: whoever answered with less than the merge gets the merge. */
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		if (!(o->answered & (1u << t)))
			continue;
		tally_pncounter_t m = o->got[t];
		tally_pn_merge(&m, &o->merged);
		if (memcmp(&m, &o->got[t], sizeof(m)) == 0)
			continue;
		if (t == n->self) {
			if (merge_state(n, o->key, &o->merged, NULL) == 0)
				n->c.repairs_applied++;
			continue;
		}
		struct tally_wire_state st = { .index = TALLY_WIRE_INDEX_UNKNOWN, .kind = TALLY_WIRE_KIND_PNCOUNTER,
					       .p = o->merged.p, .n = o->merged.n };
		uint32_t ix = node_key_find(n, o->key);
		if (ix != NIL)
			st.index = n->meta[ix].peer_ix[t];
		memcpy(st.key, o->key, 16);
		(void)tally_wire_add_state(&node_txb_get(n, t, TALLY_WIRE_REPAIR)->w, &st);
		n->c.repairs_sent++;
	}
	op_free(n, oi);
}

/* Ask every node in @targets for the key's state. */
static void
read_send(struct tally_node *n, uint32_t oi)
{
	struct op *o = &n->ops[oi];
	uint32_t ix = node_key_find(n, o->key);
	uint64_t gen = o->gen;

	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		if (!(o->targets & (1u << t)) || (o->answered & (1u << t)))
			continue;
		if (t == n->self) {
			tally_pncounter_t s;
			struct mventry *me = mv_find(n, o->key, false);
			if (me != NULL) {
				o->mv_lww = o->mv_lww || me->lww;
				mv_read_got(n, oi, t, &me->reg);
				if (o->kind != OP_READ || o->gen != gen)
					return;
				continue;
			}
			if (o->has_need && ix != NIL) {
				/* The NIC's version-vector unit checks our own replica against the token. */
				tally_vv_order_t op, on;
				if (tally_offload_compare(n->engine, ix, &o->need.p, &o->need.n, &op, &on) == 0)
					n->c.token_checks_nic++;
			}
			if (node_state_of(n, ix, &s) == 0)
				read_got(n, oi, t, &s);
			if (o->kind != OP_READ || o->gen != gen)
				return; /* finished and freed */
			continue;
		}
		struct tally_wire_keyrec k = { .index = ix == NIL ? TALLY_WIRE_INDEX_UNKNOWN : n->meta[ix].peer_ix[t],
					       .kind = TALLY_WIRE_KIND_PNCOUNTER };
		memcpy(k.key, o->key, 16);
		struct txb *b = node_txb_get(n, t, TALLY_WIRE_READ_REQUEST);
		(void)tally_wire_add_keyrec(&b->w, &k);
		o->req_seq[t] = b->seq;
	}
	o->next_send = n->now + RETRANSMIT_NS * 5;
}

/* kv679: before raising our own slot of a key, learn its highest value from every member. */
static void
start_recovery(struct tally_node *n, uint32_t wi)
{
	struct op *w = &n->ops[wi];

	/* One recovery per key: join it if it runs. */
	for (uint32_t i = n->bucket[key_hash(w->key)]; i != NIL; i = n->ops[i].hnext) {
		struct op *o = &n->ops[i];
		if (o->kind == OP_READ && o->recover && memcmp(o->key, w->key, 16) == 0) {
			w->state = ST_RECOVER;
			w->next_parked = o->parked;
			o->parked = wi;
			return;
		}
	}
	uint8_t key[16];
	memcpy(key, w->key, 16);
	uint32_t ri = op_new(n, OP_READ, key);
	if (ri == NIL) {
		answer(n, &n->ops[wi], TALLY_E_BUSY, 0);
		op_free(n, wi);
		return;
	}
	struct op *r = &n->ops[ri];
	w = &n->ops[wi];
	r->recover = true;
	r->deadline = w->deadline;
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		if (n->m[i].present || i == n->self)
			r->targets |= (uint8_t)(1u << i);
	r->r = (uint8_t)popcount8(r->targets);
	w->state = ST_RECOVER;
	r->parked = wi;
	read_send(n, ri);
}

/* ---- causal writes ---- */

/* Whether our own state of @key includes @need: the NIC's version-vector
 * unit compares the table entry with it. */
static bool
dep_satisfied(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *need)
{
	uint32_t ix = node_key_find(n, key);
	tally_vv_order_t op, on;

	if (ix == NIL) {
		tally_pncounter_t zero;
		tally_pn_init(&zero);
		return dominates(&zero, need);
	}
	if (tally_offload_compare(n->engine, ix, &need->p, &need->n, &op, &on) != 0)
		return false;
	n->c.token_checks_nic++;
	return (op == TALLY_VV_EQUAL || op == TALLY_VV_AFTER) && (on == TALLY_VV_EQUAL || on == TALLY_VV_AFTER);
}

/*
 * Pull @key's state here until it includes @need: an internal read of its
 * live replicas (and the nodes in @extra: the sender of a held record, who
 * had the dependency), joined if one runs. @return the read's op, or NIL.
 */
static uint32_t
start_fetch(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *need, uint8_t extra,
	    uint64_t deadline)
{
	int origin;

	for (uint32_t i = n->bucket[key_hash(key)]; i != NIL; i = n->ops[i].hnext) {
		struct op *o = &n->ops[i];
		if (o->kind == OP_READ && o->fetch && memcmp(o->key, key, 16) == 0) {
			tally_pn_merge(&o->need, need);
			o->targets |= (uint8_t)(extra & ~(1u << n->self));
			if (deadline > o->deadline)
				o->deadline = deadline;
			return i;
		}
	}
	uint8_t k[16];
	memcpy(k, key, 16);
	uint8_t targets = (uint8_t)((live_replicas(n, k, &origin) | extra) & ~(1u << n->self));
	if (targets == 0)
		return NIL;
	uint32_t ri = op_new(n, OP_READ, k);
	if (ri == NIL)
		return NIL;
	struct op *r = &n->ops[ri];
	r->fetch = true;
	r->has_need = true;
	r->need = *need;
	r->deadline = deadline;
	r->targets = targets;
	r->r = 1;
	n->c.fetches++;
	read_send(n, ri);
	return ri;
}

/* Merge a causal record's slot here and ack it after the commit. */
static void
apply_causal(struct tally_node *n, const struct tally_wire_addr *from, const struct tally_wire_hdr *hdr,
	     const struct tally_wire_slot *slot, const uint8_t dep_key[16], const tally_pncounter_t *need,
	     const uint8_t *tok)
{
	struct tally_offload_completion c;
	struct tally_wire_slot s = *slot;
	uint32_t ix;

	if (key_get(n, s.key, &ix) != 0)
		return; /* unacked: the origin keeps trying */
	s.index = ix;
	if (tally_offload_apply_slots(n->engine, &s, 1, &c) != 1)
		return;
	n->c.host_path_records++;
	wal_slot(n, s.key, c.origin, c.p, c.n);
	changed(n, ix, c.origin);
	struct dep *d = &n->deps[ix % DEPS];
	d->used = true;
	d->ix = ix;
	memcpy(d->dep_key, dep_key, 16);
	d->need = *need;
	memcpy(d->tok, tok, TALLY_TOKEN_LEN);
	if (n->nacks < n->cap_acks && n->nackq < n->cap_ackq) {
		n->acks[n->nacks] = c;
		n->ackq[n->nackq++] = (struct ackq){ *from, *hdr, n->nacks, 1 };
		n->nacks++;
	}
}

/* CAUSAL frames: merge each record whose dependency we hold; hold the rest
 * back, and pull their dependencies from the sender and the replicas. */
static void
on_causal(struct tally_node *n, const struct tally_wire_frame *f)
{
	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_causal c;
		struct tally_token tok;

		tally_wire_get_causal(f, i, &c);
		n->c.causal_in++;
		/* A dependency never expires: the write that carries it is older than any read of it. */
		if (tally_token_decode(c.dep, c.dep_len, n->token_key, (uint32_t)time(NULL), UINT32_MAX, &tok) !=
		    TALLY_TOKEN_OK) {
			n->c.held_bad_dep++;
			continue;
		}
		if (dep_satisfied(n, tok.key, &tok.s)) {
			apply_causal(n, &f->addr, &f->hdr, &c.slot, tok.key, &tok.s, c.dep);
			continue;
		}
		struct held *free_slot = NULL;
		bool dup = false;
		for (unsigned h = 0; h < HELD_MAX; h++) {
			struct held *e = &n->held[h];
			if (!e->used) {
				if (free_slot == NULL)
					free_slot = e;
				continue;
			}
			if (memcmp(e->slot.key, c.slot.key, 16) == 0 && e->slot.origin == c.slot.origin &&
			    e->slot.p >= c.slot.p && e->slot.n >= c.slot.n)
				dup = true;
		}
		if (!dup) {
			if (free_slot == NULL) {
				n->c.held_dropped++; /* unacked: the origin resends */
				continue;
			}
			*free_slot = (struct held){ .used = true, .from = f->addr, .hdr = f->hdr, .slot = c.slot,
						    .need = tok.s, .since = n->now };
			memcpy(free_slot->dep_key, tok.key, 16);
			n->nheld++;
			n->c.held_total++;
		}
		(void)start_fetch(n, tok.key, &tok.s, (uint8_t)(1u << f->hdr.sender), n->now + 5000000000u);
	}
}

/* Held records whose dependency has arrived are merged and acked now. */
static void
recheck_held(struct tally_node *n)
{
	if (n->nheld == 0)
		return;
	bool dirty = n->held_dirty;
	n->held_dirty = false;
	for (unsigned h = 0; h < HELD_MAX && n->nheld > 0; h++) {
		struct held *e = &n->held[h];
		if (!e->used)
			continue;
		if (dirty && dep_satisfied(n, e->dep_key, &e->need)) {
			struct tally_token t = { .issued = (uint32_t)time(NULL), .s = e->need };
			uint8_t tok[TALLY_TOKEN_LEN];
			memcpy(t.key, e->dep_key, 16);
			tally_token_encode(&t, n->token_key, tok);
			apply_causal(n, &e->from, &e->hdr, &e->slot, e->dep_key, &e->need, tok);
			if (n->now - e->since > n->c.held_max_ns)
				n->c.held_max_ns = n->now - e->since;
		} else if (n->now - e->since < HELD_GIVE_UP_NS) {
			continue;
		} else {
			n->c.held_dropped++;
		}
		e->used = false;
		n->nheld--;
	}
}

/* ---- op-id notes: every origin learns what the others applied ---- */

static void
note_keep(struct tally_node *n, uint64_t client, uint64_t seq, unsigned op)
{
	n->notes[n->notes_head++ % NOTES] = (struct opnote){ client, seq, (uint8_t)op };
}

static void
note_send(struct tally_node *n, unsigned to, const struct opnote *e)
{
	struct tally_wire_client r = { .op = e->op, .status = TALLY_OK, .client = e->client, .seq = e->seq };

	(void)tally_wire_add_client(&node_txb_get(n, to, TALLY_WIRE_CLIENT_REPLY)->w, &r);
	n->c.notes_sent++;
}

/* An op id applied here, durable: note it to every other member (any of
 * them may become the key's origin when this one is down), and keep it. */
static void
note_applied(struct tally_node *n, const struct op *o)
{
	struct opnote e = { o->client, o->seq, (uint8_t)(o->mv ? TALLY_WIRE_OP_PUT : o->cop) };

	for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
		if (t != n->self && n->m[t].present && node_is_up(n, t))
			note_send(n, t, &e);
	note_keep(n, e.client, e.seq, e.op);
}

/* Give members that restarted the notes they lost, NOTE_BURST at a time. */
static void
notes_push(struct tally_node *n)
{
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		struct member *m = &n->m[t];
		if (t == n->self || !m->present || !m->up || m->note_push >= m->note_end)
			continue;
		if (m->note_end - m->note_push > NOTES)
			m->note_push = m->note_end - NOTES;
		for (unsigned k = 0; k < NOTE_BURST && m->note_push < m->note_end; k++, m->note_push++)
			note_send(n, t, &n->notes[m->note_push % NOTES]);
	}
}

/* ---- pins: retries go to the origin that may have applied them ---- */

static struct pin *
pin_find(struct tally_node *n, uint64_t client, uint64_t seq, bool insert)
{
	uint64_t id[2] = { client, seq };
	uint32_t set = (uint32_t)(XXH3_64bits(id, sizeof(id)) % (PINS / 4)) * 4;
	struct pin *empty = NULL;

	for (unsigned i = 0; i < 4; i++) {
		struct pin *p = &n->pins[set + i];
		if (p->used && p->client == client && p->seq == seq)
			return p;
		if (!p->used && empty == NULL)
			empty = p;
	}
	if (!insert)
		return NULL;
	if (empty == NULL) {
		/* The set is full: forget one (its retries may then reach another origin). */
		empty = &n->pins[set + (seq & 3)];
		n->c.pins_evicted++;
	}
	*empty = (struct pin){ .client = client, .seq = seq, .used = true };
	return empty;
}

/* The reads a reply from @from to our frame @ref answers, with their
 * generations: collected first, since finishing one may free others of the
 * key (a recovery resumes its parked writes). @return how many, at most @max. */
static unsigned
reads_answered(const struct tally_node *n, const uint8_t key[16], unsigned from, uint64_t ref, uint32_t *match,
	       uint64_t *gen, unsigned max)
{
	unsigned nm = 0;

	for (uint32_t j = n->bucket[key_hash(key)]; j != NIL && nm < max; j = n->ops[j].hnext) {
		const struct op *o = &n->ops[j];
		if (o->kind == OP_READ && memcmp(o->key, key, 16) == 0 && (o->targets & (1u << from)) &&
		    o->req_seq[from] == ref) {
			match[nm] = j;
			gen[nm++] = o->gen;
		}
	}
	return nm;
}

/* Whether read op @i is still the one reads_answered() found. */
static bool
read_still(const struct tally_node *n, uint32_t i, uint64_t gen)
{
	return n->ops[i].kind == OP_READ && n->ops[i].gen == gen;
}

/* ---- MV-registers ---- */

/* The register of @key, NULL if there is none (and @create is false or the table is full). */
static struct mventry *
mv_find(struct tally_node *n, const uint8_t key[16], bool create)
{
	uint32_t h;

	memcpy(&h, key, 4);
	for (uint32_t i = 0; i < n->entries; i++) {
		struct mventry *e = &n->mv[(h + i) % n->entries];
		if (e->used && memcmp(e->key, key, 16) == 0)
			return e;
		if (!e->used) {
			if (!create)
				return NULL;
			e->used = true;
			memcpy(e->key, key, 16);
			tally_mvreg_init(&e->reg);
			n->mv_used++;
			return e;
		}
	}
	if (create)
		n->c.table_full++;
	return NULL;
}

/*
 * Last-writer-wins: keep only the sibling with the highest dot (counter,
 * then node), dropping the others (their dots stay in the context, so every
 * replica drops them too). Deterministic, and exactly as lossy as LWW is.
 */
static void
mv_lww_prune(tally_mvreg_t *r)
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

/* Whether a key's bytes fall under the configuration's LWW prefixes. */
static bool
mv_lww_key(const struct tally_node *n, const uint8_t *key, unsigned len)
{
	for (unsigned i = 0; i < n->cfg.nlww; i++) {
		size_t pl = strlen(n->cfg.lww[i]);
		if (pl <= len && memcmp(key, n->cfg.lww[i], pl) == 0)
			return true;
	}
	return false;
}

static void
mv_log(struct tally_node *n, struct mventry *e)
{
	struct tally_wal_rec r = { .type = TALLY_WAL_MVREG, .mv = &e->reg, .mv_lww = e->lww };

	memcpy(r.key, e->key, 16);
	(void)tally_wal_append(n->wal, &r);
}

/* Send a register (purpose 0: its whole state, all siblings in one frame) or
 * an ack of it (purpose 1: its context only) to @peer. */
void
node_mv_ship(struct tally_node *n, unsigned peer, const uint8_t key[16], const tally_mvreg_t *reg, unsigned purpose,
	uint64_t ref)
{
	struct tally_wire_mvstate m = { .purpose = (uint8_t)purpose, .ctx = reg->ctx };
	unsigned k = purpose == 1 || reg == NULL ? 0 : reg->count;
	uint8_t buf[FRAME_BUF];
	struct tally_wire_writer ow, *w;

	memcpy(m.key, key, 16);
	const struct mventry *le = mv_find(n, key, false);
	m.lww = le != NULL && le->lww;
	if (ref != 0) { /* an answer to a read: a frame of its own, with the read's sequence */
		node_frame_begin(n, &ow, buf, peer, TALLY_WIRE_MVSTATE, ref, NULL);
		w = &ow;
	} else {
		struct txb *t = node_txb_get(n, peer, TALLY_WIRE_MVSTATE);
		if (tally_wire_room(&t->w) < (k ? k : 1)) {
			node_txb_flush(n, peer, TALLY_WIRE_MVSTATE);
			t = node_txb_get(n, peer, TALLY_WIRE_MVSTATE);
		}
		w = &t->w;
	}
	if (k == 0) {
		m.status = purpose == 1 ? 0 : 1;
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
	if (ref != 0) {
		size_t len = tally_wire_finish(&ow, &n->keys);
		(void)tally_dp_send(n->dp, buf, (uint16_t)len);
	}
}

/* Answer a put: its token is the register's context, its value the sibling count. */
static void
mv_answer_put(struct tally_node *n, struct op *o, const tally_mvreg_t *reg)
{
	struct tally_token t = { .kind = TALLY_TOKEN_REGISTER, .issued = (uint32_t)time(NULL) };

	t.s.p = reg->ctx;
	memcpy(t.key, o->key, 16);
	tally_token_encode(&t, n->token_key, o->tok);
	o->toklen = TALLY_TOKEN_LEN;
	answer(n, o, TALLY_OK, reg->count);
}

/* Answer a read of a register: one record per sibling, the merged context as the token. */
static void
mv_answer_get(struct tally_node *n, struct op *o)
{
	struct tally_token t = { .kind = TALLY_TOKEN_REGISTER, .issued = (uint32_t)time(NULL) };
	unsigned k = o->mvr->count > 255 ? 255 : o->mvr->count;
	uint8_t tok[TALLY_TOKEN_LEN];

	t.s.p = o->mvr->ctx;
	memcpy(t.key, o->key, 16);
	tally_token_encode(&t, n->token_key, tok);
	for (unsigned i = 0; i < k; i++) {
		struct tally_wire_client r = {
			.op = o->cop, .status = TALLY_OK, .value = k, .client = o->client, .seq = o->seq,
			.sib_index = (uint8_t)i, .sib_count = (uint8_t)k, .key_len = o->keylen,
			.value_len = (uint8_t)o->mvr->sib[i].len, .token_len = TALLY_TOKEN_LEN,
		};
		memcpy(r.key, o->keybytes, o->keylen);
		memcpy(r.val, o->mvr->sib[i].value, o->mvr->sib[i].len);
		memcpy(r.token, tok, TALLY_TOKEN_LEN);
		answer_rec(n, &o->to, &r);
	}
	o->replied = true;
}

/* A put at this node, the register's origin. */
static void
mv_origin_apply(struct tally_node *n, uint32_t oi, int dv)
{
	struct op *o = &n->ops[oi];
	struct mventry *e;

	if (node_key_find(n, o->key) != NIL) { /* a key is a counter or a register */
		answer(n, o, TALLY_E_BAD_REQUEST, 0);
		op_free(n, oi);
		return;
	}
	if ((e = mv_find(n, o->key, true)) == NULL) {
		answer(n, o, TALLY_E_TABLE_FULL, 0);
		op_free(n, oi);
		return;
	}
	if (dv == TALLY_DEDUP_DUPLICATE) {
		n->c.duplicates++;
	} else {
		tally_vec_t none = { 0 };
		tally_mvreg_t next;
		tally_mvreg_init(&next);
		if (mv_lww_key(n, o->keybytes, o->keylen))
			e->lww = true;
		int rc = tally_mvreg_copy(&next, &e->reg);
		/* An LWW put replaces whatever is there: its context is the register's. */
		if (rc == 0)
			rc = tally_mvreg_write(&next, n->self, e->lww ? &e->reg.ctx : o->has_ctx ? &o->ctx : &none, o->val,
					       o->vlen);
		if (rc == 0 && next.count > MV_SHIP_MAX)
			rc = -ENOSPC; /* a state must fit one frame */
		if (rc != 0) {
			tally_mvreg_fini(&next);
			answer(n, o, rc == -ENOSPC ? TALLY_E_BAD_REQUEST : TALLY_E_IO, 0);
			op_free(n, oi);
			return;
		}
		tally_mvreg_fini(&e->reg);
		e->reg = next;
		e->confirmed = 0;
		(void)tally_dedup_record(n->dedup, (tally_opid_t){ o->client, o->seq });
		struct tally_wal_rec r = { .type = TALLY_WAL_OPID, .client = o->client, .seq = o->seq };
		(void)tally_wal_append(n->wal, &r);
		mv_log(n, e);
		n->c.mv_puts++;
		if (e->reg.count > n->c.mv_siblings_max)
			n->c.mv_siblings_max = e->reg.count;
	}
	o->mv_counter = e->reg.ctx.slot[n->self];
	o->state = ST_COMMIT;
	n->commit_ops[n->ncommit_ops++] = oi;
}

static bool
vec_covers(const tally_vec_t *a, const tally_vec_t *b)
{
	tally_vv_order_t o = tally_vv_compare(a, b);

	return o == TALLY_VV_EQUAL || o == TALLY_VV_AFTER;
}

/* A replica holds our register at least up to @ctx. */
static void
mv_ack_seen(struct tally_node *n, unsigned from, const uint8_t key[16], const tally_vec_t *ctx)
{
	struct mventry *e = mv_find(n, key, false);

	if (e != NULL && vec_covers(ctx, &e->reg.ctx))
		e->confirmed |= (uint8_t)(1u << from); /* a fallback's hint is held there now */
	for (uint32_t i = n->bucket[key_hash(key)], next; i != NIL; i = next) {
		struct op *o = &n->ops[i];
		next = o->hnext;
		if (o->kind != OP_WRITE || !o->mv || o->state != ST_SHIP || memcmp(o->key, key, 16) != 0 ||
		    !(o->targets & (1u << from)) || ctx->slot[n->self] < o->mv_counter)
			continue;
		o->holders |= (uint8_t)(1u << from);
		if (!o->replied && write_held(o) && e != NULL)
			mv_answer_put(n, o, &e->reg);
		if (o->holders == o->targets)
			op_free(n, i);
	}
}

/* A replica's register (NULL: it holds none) for an outstanding read. */
static void
mv_read_got(struct tally_node *n, uint32_t oi, unsigned from, const tally_mvreg_t *reg)
{
	struct op *o = &n->ops[oi];
	tally_pncounter_t zero;

	if (o->answered & (1u << from))
		return;
	if (o->mvr == NULL && (o->mvr = malloc(sizeof(*o->mvr))) != NULL)
		tally_mvreg_init(o->mvr);
	if (o->mvr != NULL) {
		if (o->answered != 0 && (reg == NULL || !tally_mvreg_equal(o->mvr, reg)))
			o->mv_differ = true;
		if (reg != NULL)
			(void)tally_mvreg_merge(o->mvr, reg);
		if (o->mv_lww)
			mv_lww_prune(o->mvr);
	}
	tally_pn_init(&zero);
	read_got(n, oi, from, &zero);
}

static int
dot_cmp(const void *a, const void *b)
{
	const struct tally_mvreg_sibling *x = a, *y = b;

	if (x->dot.node != y->dot.node)
		return x->dot.node < y->dot.node ? -1 : 1;
	return x->dot.counter < y->dot.counter ? -1 : x->dot.counter > y->dot.counter;
}

/* MVSTATE frames: registers pushed to us, acks of ours, answers to our reads. */
static void
on_mvstate(struct tally_node *n, const struct tally_wire_frame *f)
{
	unsigned from = f->hdr.sender;

	for (unsigned i = 0; i < f->hdr.count;) {
		struct tally_wire_mvstate m;
		tally_mvreg_t reg;
		bool found;

		tally_wire_get_mvstate(f, i, &m);
		tally_mvreg_init(&reg);
		reg.ctx = m.ctx;
		found = m.status == 0;
		unsigned k = m.purpose == 0 && found ? m.sib_count : 0;
		if (k > 0) {
			/* A state's k siblings come together; anything else is not merged. */
			bool whole = m.sib_index == 0 && i + k <= f->hdr.count &&
				     (reg.sib = calloc(k, sizeof(*reg.sib))) != NULL;
			for (unsigned j = 0; whole && j < k; j++) {
				struct tally_wire_mvstate s;
				tally_wire_get_mvstate(f, i + j, &s);
				whole = memcmp(s.key, m.key, 16) == 0 && s.sib_index == j && s.sib_count == k;
				reg.sib[j].dot.node = s.dot_node;
				reg.sib[j].dot.counter = s.dot_counter;
				reg.sib[j].len = s.value_len;
				memcpy(reg.sib[j].value, s.value, s.value_len);
			}
			if (!whole) {
				tally_mvreg_fini(&reg);
				i++;
				continue;
			}
			reg.cap = reg.count = k;
			qsort(reg.sib, k, sizeof(*reg.sib), dot_cmp);
			i += k;
		} else {
			i++;
		}
		if (m.purpose == 1) {
			mv_ack_seen(n, from, m.key, &reg.ctx);
		} else if (f->hdr.ref != 0) {
			uint32_t match[16];
			uint64_t gen[16];
			unsigned nm = reads_answered(n, m.key, from, f->hdr.ref, match, gen, 16);
			for (unsigned q = 0; q < nm; q++)
				if (read_still(n, match[q], gen[q])) {
					n->ops[match[q]].mv_lww = n->ops[match[q]].mv_lww || m.lww;
					mv_read_got(n, match[q], from, found ? &reg : NULL);
				}
		} else if (found) {
			struct mventry *e = mv_find(n, m.key, true);
			if (e != NULL && tally_mvreg_merge(&e->reg, &reg) == 0) {
				n->c.mv_merges++;
				e->confirmed = 0;
				e->lww = e->lww || m.lww;
				if (e->lww)
					mv_lww_prune(&e->reg);
				mv_log(n, e);
				if (n->nmvacks < MV_ACKS) {
					struct mvack *a = &n->mvacks[n->nmvacks++];
					a->peer = from;
					memcpy(a->key, m.key, 16);
					a->ctx = e->reg.ctx;
				}
			}
		}
		tally_mvreg_fini(&reg);
	}
}

/* ---- requests ---- */

/* A client operation arriving here, from a client or forwarded by a coordinator. */
static void
request(struct tally_node *n, const struct tally_wire_client *c, const struct reply_to *to, bool forwarded)
{
	uint8_t key[16];
	unsigned nn = tally_placement_n(n->pl);
	unsigned w = c->w ? c->w : n->cfg.w, r = c->r ? c->r : n->cfg.r;
	uint64_t deadline = n->now + ms_ns(c->deadline_ms ? c->deadline_ms : n->cfg.request_timeout_ms);
	int origin;

	n->c.client_records++;
	if (w > nn || r > nn || (c->op == TALLY_WIRE_OP_PUT && c->seq == 0) ||
	    ((c->op == TALLY_WIRE_OP_INCR || c->op == TALLY_WIRE_OP_DECR) && (c->delta == 0 || c->seq == 0))) {
		answer_to(n, to, c->op, c->client, c->seq, c->key, c->key_len, TALLY_E_BAD_REQUEST, 0, NULL, 0);
		return;
	}
	tally_wire_key_id(c->key, c->key_len, key);
	struct tally_token tok;
	if (c->token_len > 0) {
		int te = tally_token_decode(c->token, c->token_len, n->token_key, (uint32_t)time(NULL),
					    n->cfg.token_ttl_s, &tok);
		n->c.tokens_in++;
		bool same = te == TALLY_TOKEN_OK && memcmp(tok.key, key, 16) == 0;
		if (te == TALLY_TOKEN_OK && !same && (c->op == TALLY_WIRE_OP_GET || c->op == TALLY_WIRE_OP_PUT))
			te = TALLY_TOKEN_OTHER_KEY; /* an incr/decr with another key's token is causal */
		if (same && c->op == TALLY_WIRE_OP_PUT && tok.kind != TALLY_TOKEN_REGISTER)
			te = TALLY_TOKEN_VERSION_BAD; /* a put's context is a register's token */
		if (te != TALLY_TOKEN_OK) {
			n->c.tokens_refused++;
			answer_to(n, to, c->op, c->client, c->seq, c->key, c->key_len, TALLY_E_BAD_TOKEN, te, NULL, 0);
			return;
		}
	}
	uint32_t oi = op_new(n, OP_WRITE, key);
	if (oi == NIL) {
		answer_to(n, to, c->op, c->client, c->seq, c->key, c->key_len, TALLY_E_BUSY, 0, NULL, 0);
		return;
	}
	struct op *o = &n->ops[oi];
	if (c->op == TALLY_WIRE_OP_PUT) {
		o->mv = true;
		o->vlen = c->value_len;
		memcpy(o->val, c->val, c->value_len);
		if (c->token_len > 0) {
			o->has_ctx = true;
			o->ctx = tok.s.p;
		}
	} else if (c->token_len > 0 && memcmp(tok.key, key, 16) == 0) {
		o->has_need = !n->broken_tokens; /* the deliberate bug: ignore the session */
		o->need = tok.s;
	} else if (c->token_len > 0) {
		o->causal = true;
		memcpy(o->dep_key, tok.key, 16);
		o->dep_need = tok.s;
		memcpy(o->dep_tok, c->token, TALLY_TOKEN_LEN);
	}
	o->cop = c->op;
	o->w = (uint8_t)w;
	o->r = (uint8_t)r;
	o->client = c->client;
	o->seq = c->seq;
	o->delta = c->delta;
	o->deadline = deadline;
	o->to = *to;
	o->keylen = c->key_len;
	memcpy(o->keybytes, c->key, c->key_len);

	if (c->op == TALLY_WIRE_OP_GET) {
		o->kind = OP_READ;
		o->targets = live_replicas(n, key, &origin);
		if (popcount8(o->targets) < r) {
			answer(n, o, TALLY_E_UNAVAILABLE, 0);
			op_free(n, oi);
			return;
		}
		tally_pn_init(&o->merged);
		read_send(n, oi);
		return;
	}
	(void)live_replicas(n, key, &origin);
	struct pin *pin = forwarded ? NULL : pin_find(n, c->client, c->seq, false);
	if (pin != NULL) {
		/* A retry of a write we forwarded: only that origin may have applied it. */
		n->c.pinned_retries++;
		origin = pin->origin;
		if (origin != (int)n->self && !node_is_up(n, (unsigned)origin)) {
			answer(n, o, TALLY_E_INDETERMINATE, 0);
			op_free(n, oi);
			return;
		}
	}
	if (forwarded || origin == (int)n->self || origin < 0) {
		/* Pin it to ourselves too: after a heal the key's origin may be
		 * another node, which must not apply a retry of it again. */
		if (!forwarded && origin == (int)n->self && pin == NULL &&
		    (pin = pin_find(n, c->client, c->seq, true)) != NULL)
			pin->origin = (uint8_t)n->self;
		origin_apply(n, oi);
		return;
	}
	if (pin == NULL && (pin = pin_find(n, c->client, c->seq, true)) != NULL)
		pin->origin = (uint8_t)origin;
	/* Coordinate: the origin applies it and answers us. */
	struct tally_wire_client f = *c;
	f.deadline_ms = (uint32_t)((deadline - n->now) / 1000000u * 9 / 10);
	if (f.deadline_ms == 0)
		f.deadline_ms = 1;
	f.w = (uint8_t)w;
	f.r = (uint8_t)r;
	o->kind = OP_FORWARD;
	(void)tally_wire_add_client(&node_txb_get(n, (unsigned)origin, TALLY_WIRE_CLIENT_REQUEST)->w, &f);
	n->c.forwarded++;
}

/* A datagram on the client socket: the UDP payload of a CLIENT_REQUEST frame. */
static void
client_datagram(struct tally_node *n, const uint8_t *p, size_t len, const struct sockaddr_in *sa)
{
	struct tally_wire_frame f;
	enum tally_wire_verdict v;
	struct reply_to to = { .node = false, .sa = *sa };

	n->c.client_frames++;
	v = tally_wire_decode_payload(p, len, &n->keys, &f);
	if (v == TALLY_WIRE_OK && f.hdr.type != TALLY_WIRE_CLIENT_REQUEST)
		v = TALLY_WIRE_DROP_BAD_TYPE;
	if (v != TALLY_WIRE_OK) {
		n->c.client_drops[v]++;
		if (n->now - n->last_warn > 1000000000u) {
			char ip[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
			node_note(n, "refused a client frame from %s:%u: %s", ip, ntohs(sa->sin_port),
			     tally_wire_verdict_name(v));
			n->last_warn = n->now;
		}
		/* An authenticated frame with a bad record: answer each record, since
		 * its op ids are at fixed offsets, that nothing in it was applied. */
		if (v == TALLY_WIRE_DROP_BAD_RECORD) {
			size_t rs = tally_wire_record_size(TALLY_WIRE_CLIENT_REQUEST);
			size_t count = (len - TALLY_WIRE_HDR_LEN - TALLY_WIRE_MAC_LEN) / rs;
			for (size_t i = 0; i < count; i++) {
				const uint8_t *r = p + TALLY_WIRE_HDR_LEN + rs * i;
				uint64_t client, seq;
				memcpy(&client, r + 8, 8);
				memcpy(&seq, r + 16, 8);
				unsigned op = r[0] >= 1 && r[0] <= 4 ? r[0] : TALLY_WIRE_OP_GET;
				answer_to(n, &to, op, client, seq, NULL, 0, TALLY_E_BAD_REQUEST, 0, NULL, 0);
			}
		}
		return;
	}
	for (unsigned i = 0; i < f.hdr.count; i++) {
		struct tally_wire_client c;
		tally_wire_get_client(&f, i, &c);
		request(n, &c, &to, false);
	}
}

static unsigned
client_poll(struct tally_node *n)
{
	static uint8_t bufs[CLIENT_BURST][TALLY_WIRE_MAX_PAYLOAD + 64];
	struct mmsghdr msgs[CLIENT_BURST];
	struct iovec iov[CLIENT_BURST];
	struct sockaddr_in sa[CLIENT_BURST];

	for (unsigned i = 0; i < CLIENT_BURST; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &sa[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(sa[i]);
	}
	int got = recvmmsg(n->client_fd, msgs, CLIENT_BURST, MSG_DONTWAIT, NULL);
	if (got <= 0)
		return 0;
	for (int i = 0; i < got; i++)
		client_datagram(n, bufs[i], msgs[i].msg_len, &sa[i]);
	return (unsigned)got;
}

/* ---- frames from peers ---- */

static void
on_client_reply(struct tally_node *n, const struct tally_wire_frame *f)
{
	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_client c;
		uint8_t key[16];

		tally_wire_get_client(f, i, &c);
		if (c.status == TALLY_OK && c.op != TALLY_WIRE_OP_GET && c.sib_index == 0) {
			/* A write applied by the sender: an answer to a write we
			 * forwarded, or an op-id note. */
			tally_opid_t id = { c.client, c.seq };
			if (tally_dedup_check(n->noted, id) == TALLY_DEDUP_NEW) {
				(void)tally_dedup_record(n->noted, id);
				note_keep(n, c.client, c.seq, c.op);
			}
			n->c.notes_in++;
		}
		if (c.key_len == 0)
			continue; /* a note only */
		tally_wire_key_id(c.key, c.key_len, key);
		for (uint32_t j = n->bucket[key_hash(key)]; j != NIL; j = n->ops[j].hnext) {
			struct op *o = &n->ops[j];
			if (o->kind == OP_FORWARD && o->client == c.client && o->seq == c.seq &&
			    memcmp(o->key, key, 16) == 0) {
				/* Not applied, definitively: a retry may go anywhere. Applied
				 * (ok) or maybe applied keeps the pin: only that origin knows
				 * the op id, and a client that lost the answer retries it. */
				if (c.status != TALLY_OK && c.status != TALLY_E_INDETERMINATE &&
				    c.status != TALLY_E_OP_REFUSED && c.status != TALLY_E_IO) {
					struct pin *pin = pin_find(n, c.client, c.seq, false);
					if (pin != NULL)
						pin->used = false;
				}
				/* The origin's token, relayed as it is. */
				o->toklen = c.token_len <= sizeof(o->tok) ? c.token_len : 0;
				memcpy(o->tok, c.token, o->toklen);
				answer(n, o, c.status, c.value);
				op_free(n, j);
				break;
			}
		}
	}
}

static void
on_replicate_host(struct tally_node *n, const struct tally_wire_frame *f)
{
	/* Records the NIC could not place: place them here, merge, ack after the commit. */
	struct tally_offload_completion c;
	unsigned first = n->nacks;

	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_slot s;
		uint32_t ix;

		tally_wire_get_slot(f, i, &s);
		if (key_get(n, s.key, &ix) != 0)
			continue; /* unacked: the sender keeps trying, and counts us out */
		s.index = ix;
		if (tally_offload_apply_slots(n->engine, &s, 1, &c) != 1)
			continue;
		n->c.host_path_records++;
		wal_slot(n, s.key, c.origin, c.p, c.n);
		changed(n, ix, c.origin);
		if (n->nacks == n->cap_acks)
			break;
		n->acks[n->nacks++] = c;
	}
	if (n->nacks > first && n->nackq < n->cap_ackq)
		n->ackq[n->nackq++] = (struct ackq){ f->addr, f->hdr, first, n->nacks - first };
}

static void
on_read_request(struct tally_node *n, const struct tally_wire_frame *f)
{
	uint8_t buf[FRAME_BUF];
	struct tally_wire_writer w;
	bool open = false;

	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_keyrec k;
		struct tally_wire_state st = { .kind = TALLY_WIRE_KIND_PNCOUNTER };
		tally_pncounter_t s;

		tally_wire_get_keyrec(f, i, &k);
		struct mventry *me = mv_find(n, k.key, false);
		if (me != NULL) { /* a register: its state, in a frame of its own */
			node_mv_ship(n, f->hdr.sender, k.key, &me->reg, 0, f->hdr.seq);
			continue;
		}
		uint32_t ix = node_key_find(n, k.key);
		if (node_state_of(n, ix, &s) != 0)
			continue;
		st.index = ix == NIL ? TALLY_WIRE_INDEX_UNKNOWN : ix;
		st.status = ix == NIL;
		memcpy(st.key, k.key, 16);
		st.p = s.p;
		st.n = s.n;
		if (open && tally_wire_room(&w) == 0) {
			size_t len = tally_wire_finish(&w, &n->keys);
			(void)tally_dp_send(n->dp, buf, (uint16_t)len);
			open = false;
		}
		if (!open) {
			node_frame_begin(n, &w, buf, f->hdr.sender, TALLY_WIRE_READ_REPLY, f->hdr.seq, NULL);
			open = true;
		}
		(void)tally_wire_add_state(&w, &st);
	}
	if (open) {
		size_t len = tally_wire_finish(&w, &n->keys);
		(void)tally_dp_send(n->dp, buf, (uint16_t)len);
	}
}

static void
on_read_reply(struct tally_node *n, const struct tally_wire_frame *f)
{
	unsigned from = f->hdr.sender;

	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_state st;
		tally_pncounter_t s;

		tally_wire_get_state(f, i, &st);
		s.p = st.p;
		s.n = st.n;
		uint32_t ix = node_key_find(n, st.key);
		if (ix != NIL && st.status == 0)
			n->meta[ix].peer_ix[from] = st.index;
		uint32_t match[64];
		uint64_t gen[64];
		unsigned nm = reads_answered(n, st.key, from, f->hdr.ref, match, gen, 64);
		for (unsigned k = 0; k < nm; k++)
			if (read_still(n, match[k], gen[k]))
				read_got(n, match[k], from, &s);
	}
}

static void
on_repair(struct tally_node *n, const struct tally_wire_frame *f)
{
	for (unsigned i = 0; i < f->hdr.count; i++) {
		struct tally_wire_state st;
		tally_pncounter_t s;

		tally_wire_get_state(f, i, &st);
		s.p = st.p;
		s.n = st.n;
		if (merge_state(n, st.key, &s, NULL) == 0)
			n->c.repairs_applied++;
	}
}

static void
on_host_frame(void *ctx, struct tally_dp *dp, const struct tally_dp_host_frame *hf)
{
	struct tally_node *n = ctx;
	const struct tally_wire_frame *f = hf->frame;

	(void)dp;
	if (f->hdr.type == TALLY_WIRE_CLIENT_REQUEST) {
		/* Forwarded by a coordinator: the addresses say which node. */
		unsigned peer = TALLY_MAX_NODES;
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
			if (n->m[i].present && i != n->self && n->m[i].addr.dst_ip == f->addr.src_ip &&
			    n->m[i].addr.dst_port == f->addr.src_port)
				peer = i;
		if (peer == TALLY_MAX_NODES)
			return;
		struct reply_to to = { .node = true, .peer = (uint16_t)peer };
		for (unsigned i = 0; i < f->hdr.count; i++) {
			struct tally_wire_client c;
			tally_wire_get_client(f, i, &c);
			request(n, &c, &to, true);
		}
		return;
	}
	heard(n, &f->addr, &f->hdr);
	switch (f->hdr.type) {
	case TALLY_WIRE_REPLICATE:
		on_replicate_host(n, f);
		break;
	case TALLY_WIRE_REPLICATE_ACK:
		for (unsigned i = 0; i < f->hdr.count; i++) {
			struct tally_wire_slot s;
			tally_wire_get_slot(f, i, &s);
			ack_seen(n, f->hdr.sender, &s);
		}
		break;
	case TALLY_WIRE_READ_REQUEST:
		on_read_request(n, f);
		break;
	case TALLY_WIRE_READ_REPLY:
		on_read_reply(n, f);
		break;
	case TALLY_WIRE_REPAIR:
		on_repair(n, f);
		break;
	case TALLY_WIRE_CLIENT_REPLY:
		on_client_reply(n, f);
		break;
	case TALLY_WIRE_DIGEST:
		node_on_digest(n, f); /* with no records: a heartbeat, already heard */
		break;
	case TALLY_WIRE_CAUSAL:
		on_causal(n, f);
		break;
	case TALLY_WIRE_MVSTATE:
		on_mvstate(n, f);
		break;
	default:
		break;
	}
}

/* The NIC merged a REPLICATE frame's records: log them, ack after the commit. */
static void
on_merged(void *ctx, struct tally_dp *dp, const struct tally_offload_rxinfo *info,
	  const struct tally_offload_completion *c, unsigned cnt)
{
	struct tally_node *n = ctx;
	unsigned first = n->nacks;

	(void)dp;
	heard(n, &info->addr, &info->hdr);
	for (unsigned i = 0; i < cnt && n->nacks < n->cap_acks; i++) {
		wal_slot(n, c[i].key, c[i].origin, c[i].p, c[i].n);
		if (c[i].index < n->entries)
			changed(n, c[i].index, c[i].origin);
		n->acks[n->nacks++] = c[i];
	}
	if (n->nacks > first && n->nackq < n->cap_ackq)
		n->ackq[n->nackq++] = (struct ackq){ info->addr, info->hdr, first, n->nacks - first };
}

/* ---- hinted handoff ---- */

/* Who may lack what we hold of entry @ix: every preferred replica when we
 * are not one (we hold the key as a hint for them), else the replicas our
 * writes missed while they were down. */
uint8_t
node_handoff_targets(const struct tally_node *n, uint32_t ix)
{
	const struct keymeta *k = &n->meta[ix];
	uint8_t pref = preferred_mask(n, k->key);

	return (uint8_t)((pref & (1u << n->self) ? k->owe : pref) & ~(1u << n->self));
}

/* Slots of @s that node @t has not confirmed holding (bit o = origin o),
 * among those we owe: a preferred replica owes only its own slot. */
uint8_t
node_unconfirmed(const struct tally_node *n, const struct keymeta *k, const tally_pncounter_t *s, unsigned t)
{
	bool preferred_here = preferred_mask(n, k->key) & (1u << n->self);
	uint8_t m = 0;

	for (unsigned o = 0; o < TALLY_MAX_NODES; o++)
		if (!preferred_here || o == n->self)
			if ((s->p.slot[o] | s->n.slot[o]) != 0 && !(k->handoff_ok & (UINT64_C(1) << (8 * t + o))))
				m |= (uint8_t)(1u << o);
	return m;
}

/* Offer every key to the nodes that may lack it, until each confirms (its
 * acks carry what it holds); then forget the debt, and free a hinted key. */
static void
handoff(struct tally_node *n)
{
	/* Registers held on a fallback go to the preferred replicas until their
	 * acks cover them (kept afterwards: the register may hold our own dots). */
	for (uint32_t i = 0; i < n->entries; i++) {
		struct mventry *e = &n->mv[i];
		uint8_t pref;
		if (!e->used || ((pref = preferred_mask(n, e->key)) & (1u << n->self)))
			continue;
		for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
			if ((pref & (1u << t)) && !(e->confirmed & (1u << t)) && node_is_up(n, t)) {
				node_mv_ship(n, t, e->key, &e->reg, 0, 0);
				n->c.handoff_records++;
			}
	}
	for (uint32_t ix = 0; ix < n->entries; ix++) {
		struct keymeta *k = &n->meta[ix];
		tally_pncounter_t s;
		uint8_t targets;
		bool all = true;

		if (!k->used || (targets = node_handoff_targets(n, ix)) == 0 || node_state_of(n, ix, &s) != 0)
			continue;
		for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
			if (!(targets & (1u << t)))
				continue;
			uint8_t missing = node_unconfirmed(n, k, &s, t);
			if (missing == 0) {
				k->owe &= (uint8_t)~(1u << t);
				continue;
			}
			all = false;
			if (!node_is_up(n, t))
				continue;
			for (unsigned o = 0; o < TALLY_MAX_NODES; o++)
				if (missing & (1u << o)) {
					ship_slot(n, t, k->key, ix, o, s.p.slot[o], s.n.slot[o]);
					n->c.handoff_records++;
				}
		}
		/* A hint handed off: free the entry, unless it holds our own slot,
		 * which we must never forget (we would count from zero again). */
		if (all && !(preferred_mask(n, k->key) & (1u << n->self)) &&
		    (s.p.slot[n->self] | s.n.slot[n->self]) == 0) {
			struct tally_wal_rec r = { .type = TALLY_WAL_DROP };
			memcpy(r.key, k->key, 16);
			if (tally_wal_append(n->wal, &r) == 0 && tally_offload_key_free(n->engine, ix) == 0) {
				k->used = false;
				n->c.handoff_dropped_keys++;
			}
		}
	}
}

/* ---- commit, timers ---- */

static void
commit(struct tally_node *n)
{
	if (tally_wal_pending(n->wal) && tally_wal_commit(n->wal) != 0) {
		/* Nothing after this can be made durable: answer everything waiting
		 * (their writes are in memory only), ack nothing, take no more writes. */
		node_note(n, "write-ahead log failed: refusing writes from now on");
		for (unsigned i = 0; i < n->ncommit_ops; i++) {
			answer(n, &n->ops[n->commit_ops[i]], TALLY_E_IO, 0);
			op_free(n, n->commit_ops[i]);
		}
		n->ncommit_ops = n->nacks = n->nackq = n->nmvacks = 0;
		return;
	}
	for (unsigned i = 0; i < n->nackq; i++)
		(void)tally_dp_send_acks(n->dp, &n->ackq[i].from, &n->ackq[i].hdr, &n->acks[n->ackq[i].first],
					 n->ackq[i].n);
	for (unsigned i = 0; i < n->nmvacks; i++) {
		tally_mvreg_t ctx_only;
		tally_mvreg_init(&ctx_only);
		ctx_only.ctx = n->mvacks[i].ctx;
		node_mv_ship(n, n->mvacks[i].peer, n->mvacks[i].key, &ctx_only, 1, 0);
	}
	n->nmvacks = 0;
	n->nackq = n->nacks = 0;
	for (unsigned i = 0; i < n->ncommit_ops; i++)
		write_committed(n, n->commit_ops[i]);
	n->ncommit_ops = 0;
}

/* Deadlines and retransmissions of every op in flight. A scan of the table
 * is cheap next to a round of the sim NIC; a timer wheel can replace it when
 * it is not. */
static void
scan_ops(struct tally_node *n)
{
	for (uint32_t i = 0; i < MAX_OPS; i++) {
		struct op *o = &n->ops[i];
		switch (o->kind) {
		case OP_WRITE:
			if (o->state != ST_SHIP) {
				if (o->state == ST_NEW && n->now >= o->deadline) {
					answer(n, o, TALLY_E_INDETERMINATE, 0);
					op_free(n, i);
				}
				break;
			}
			if (!o->replied && n->now >= o->deadline)
				answer(n, o, TALLY_E_INDETERMINATE, 0);
			if (n->now >= o->linger) {
				/* Still not held everywhere: the handoff keeps offering it. */
				uint32_t ix = node_key_find(n, o->key);
				if (ix != NIL)
					n->meta[ix].owe |= (uint8_t)(o->targets & ~o->holders);
				op_free(n, i);
				break;
			}
			if (n->now >= o->next_send) {
				uint32_t ix = node_key_find(n, o->key);
				struct mventry *me = o->mv ? mv_find(n, o->key, false) : NULL;
				for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
					if (!(o->targets & ~o->holders & (1u << t)) || !node_is_up(n, t))
						continue;
					if (me != NULL)
						node_mv_ship(n, t, o->key, &me->reg, 0, 0);
					else if (!o->mv)
						ship_slot(n, t, o->key, ix, n->self, o->p, o->n);
				}
				o->next_send = n->now + RETRANSMIT_NS;
			}
			break;
		case OP_FORWARD:
			if (n->now >= o->deadline) {
				answer(n, o, TALLY_E_INDETERMINATE, 0);
				op_free(n, i);
			}
			break;
		case OP_READ:
			if (n->now >= o->deadline)
				read_finish(n, i);
			else if (n->now >= o->next_send)
				read_send(n, i);
			break;
		default:
			break;
		}
	}
}

static void
timers(struct tally_node *n)
{
	if (n->now >= n->next_heartbeat) {
		heartbeat(n);
		n->next_heartbeat = n->now + ms_ns(n->cfg.heartbeat_ms);
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
			struct member *m = &n->m[i];
			if (m->present && m->up && n->now - m->last_heard > ms_ns(n->cfg.failure_ms)) {
				m->up = false;
				node_note(n, "node %u is down (silent for %u ms)", i, n->cfg.failure_ms);
			}
		}
	}
	/* Ops: deadlines and retransmissions, at most once a millisecond (they
	 * are 20 ms and more apart). */
	if (n->now >= n->next_scan) {
		n->next_scan = n->now + 1000000u;
		scan_ops(n);
	}
	if (n->now >= n->next_handoff) {
		n->next_handoff = n->now + HANDOFF_NS;
		handoff(n);
	}
	if (n->cfg.anti_entropy_ms > 0 && n->now >= n->next_ae) {
		n->next_ae = n->now + ms_ns(n->cfg.anti_entropy_ms);
		node_ae_tick(n);
	}
	node_ae_ship(n);
}

/* ---- snapshots and replay ---- */

static int
snapshot_fill(void *ctx, struct tally_wal *w);

struct dedup_fill {
	struct tally_wal *w;
	int rc;
};

static void
dedup_visit(void *ctx, uint64_t client, uint64_t highest, const uint64_t *bits, uint32_t words)
{
	struct dedup_fill *d = ctx;
	struct tally_wal_rec r = { .type = TALLY_WAL_DEDUP, .client = client, .seq = highest, .words = words,
				   .bits = bits };

	if (d->rc == 0)
		d->rc = tally_wal_snapshot_add(d->w, &r);
}

static int
snapshot_fill(void *ctx, struct tally_wal *w)
{
	struct tally_node *n = ctx;
	struct dedup_fill d = { w, 0 };

	for (uint32_t ix = 0; ix < n->entries; ix++) {
		struct tally_wal_rec r = { .type = TALLY_WAL_STATE };
		int rc;

		if (!n->meta[ix].used)
			continue;
		if (tally_offload_read(n->engine, ix, &r.state) != 0)
			return -EIO;
		memcpy(r.key, n->meta[ix].key, 16);
		rc = tally_wal_snapshot_add(w, &r);
		if (rc == 0 && n->meta[ix].recovered && n->recovering_mode) {
			r.type = TALLY_WAL_RECOVERED;
			rc = tally_wal_snapshot_add(w, &r);
		}
		if (rc != 0)
			return rc;
	}
	for (uint32_t i = 0; i < n->entries && d.rc == 0; i++) {
		struct mventry *e = &n->mv[i];
		if (!e->used)
			continue;
		struct tally_wal_rec r = { .type = TALLY_WAL_MVREG, .mv = &e->reg, .mv_lww = e->lww };
		memcpy(r.key, e->key, 16);
		d.rc = tally_wal_snapshot_add(w, &r);
	}
	tally_dedup_foreach(n->dedup, dedup_visit, &d);
	if (d.rc == 0 && tally_dedup_has_evicted(n->dedup)) {
		struct tally_wal_rec r = { .type = TALLY_WAL_EVICTED, .client = 1 };
		d.rc = tally_wal_snapshot_add(w, &r);
	}
	return d.rc;
}

static int
replay_rec(void *ctx, const struct tally_wal_rec *r)
{
	struct tally_node *n = ctx;
	uint32_t ix;
	int rc;

	switch (r->type) {
	case TALLY_WAL_SLOT: {
		struct tally_wire_slot s = { .kind = TALLY_WIRE_KIND_PNCOUNTER, .origin = r->origin, .p = r->p, .n = r->n };
		memcpy(s.key, r->key, 16);
		rc = key_get(n, r->key, &ix);
		if (rc != 0)
			return rc == TALLY_E_TABLE_FULL ? -ENOSPC : -EIO;
		s.index = ix;
		return tally_offload_apply_slots(n->engine, &s, 1, NULL) == 1 ? 0 : -EIO;
	}
	case TALLY_WAL_STATE: {
		struct tally_wire_state st = { .kind = TALLY_WIRE_KIND_PNCOUNTER, .p = r->state.p, .n = r->state.n };
		memcpy(st.key, r->key, 16);
		rc = key_get(n, r->key, &ix);
		if (rc != 0)
			return rc == TALLY_E_TABLE_FULL ? -ENOSPC : -EIO;
		st.index = ix;
		return tally_offload_apply_states(n->engine, &st, 1) == 1 ? 0 : -EIO;
	}
	case TALLY_WAL_OPID:
		(void)tally_dedup_record(n->dedup, (tally_opid_t){ r->client, r->seq });
		return 0;
	case TALLY_WAL_DEDUP:
		return tally_dedup_restore(n->dedup, r->client, r->seq, r->bits, r->words);
	case TALLY_WAL_RECOVERED:
		ix = node_key_find(n, r->key);
		if (ix != NIL)
			n->meta[ix].recovered = true;
		return 0;
	case TALLY_WAL_EVICTED:
		tally_dedup_mark_evicted(n->dedup);
		return 0;
	case TALLY_WAL_MVREG: {
		struct mventry *e = mv_find(n, r->key, true);
		if (e == NULL)
			return -ENOSPC;
		e->lww = e->lww || r->mv_lww;
		return tally_mvreg_merge(&e->reg, r->mv) == 0 ? 0 : -ENOMEM;
	}
	case TALLY_WAL_DROP:
		ix = node_key_find(n, r->key);
		if (ix != NIL && tally_offload_key_free(n->engine, ix) == 0)
			n->meta[ix].used = false;
		return 0;
	}
	return 0;
}

/* The identity file: which node this directory belongs to, its incarnation,
 * and whether it is recovering from a lost directory. */
static int
identity(struct tally_node *n, bool bootstrap, char *err, size_t errlen)
{
	char path[TALLY_CONFIG_PATH_MAX + 32], tmp[TALLY_CONFIG_PATH_MAX + 32];
	unsigned id = 0, epoch = 0, recovering = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/identity", n->cfg.data_dir);
	snprintf(tmp, sizeof(tmp), "%s/identity.tmp", n->cfg.data_dir);
	f = fopen(path, "r");
	if (f != NULL) {
		int got = fscanf(f, "tally node %u epoch %u recovering %u", &id, &epoch, &recovering);
		fclose(f);
		if (got != 3) {
			snprintf(err, errlen, "%s: not a tally identity file", path);
			return -EINVAL;
		}
		if (id != n->self) {
			snprintf(err, errlen, "%s: this data directory belongs to node %u, not node %u", path, id,
				 n->self);
			return -EINVAL;
		}
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	} else {
		/* No identity: a new node, or one whose directory was lost. Only the
		 * operator knows which; unless told it is new, assume the worst. */
		recovering = !bootstrap;
	}
	n->epoch = epoch + 1;
	n->recovering_mode = recovering != 0;
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "tally node %u epoch %u recovering %u\n", n->self, n->epoch, recovering) < 0 ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		return -EIO;
	}
	int dfd = open(n->cfg.data_dir, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- life ---- */

static int
bind_socket(int type, uint32_t ip, uint16_t port, int *out, char *err, size_t errlen, const char *what)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip) };
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0) {
		snprintf(err, errlen, "%s socket: %s", what, strerror(errno));
		return -errno;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || (type == SOCK_STREAM && listen(fd, 16) != 0)) {
		int e = errno;
		snprintf(err, errlen, "%s port %u: %s", what, port, strerror(e));
		close(fd);
		return -e;
	}
	if (type == SOCK_DGRAM) {
		int sz = 4 << 20;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	*out = fd;
	return 0;
}

struct tally_node *
tally_node_create(const struct tally_node_params *p, char *err, size_t errlen)
{
	struct tally_node *n = calloc(1, sizeof(*n));
	bool member[TALLY_MAX_NODES] = { false };
	char werr[256];
	int rc;

	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->cfg = *p->cfg;
	n->log = p->log;
	snprintf(n->name, sizeof(n->name), "%s", p->name ? p->name : "node");
	n->self = (unsigned)n->cfg.self;
	n->client_fd = n->admin_fd = n->sink_fd = -1;
	for (unsigned i = 0; i < ADMIN_CONNS; i++)
		n->admin[i].fd = -1;
	n->now = n->started = n->last_snapshot = n->last_refill = node_now_ns();
	if (tally_wire_keys_derive(&n->keys, n->cfg.key) != 0 || tally_token_key(n->token_key, n->cfg.key) != 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		goto fail;
	}
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		const struct tally_config_member *cm = &n->cfg.members[i];
		member[i] = cm->present;
		if (!cm->present)
			continue;
		n->nmembers++;
		n->m[i].present = i != n->self;
		memset(n->m[i].addr.dst_mac, 0xff, 6); /* broadcast until we hear from it */
		n->m[i].addr.dst_ip = cm->ip;
		n->m[i].addr.dst_port = cm->port;
	}
	n->pl = tally_placement_create(n->cfg.partitions, n->cfg.n, member, &rc);
	if (n->pl == NULL) {
		snprintf(err, errlen, "placement: %s", strerror(-rc));
		goto fail;
	}
	struct tally_offload_config oc = { .backend = n->cfg.backend, .table_entries = n->cfg.table_entries,
					   .keys = n->keys };
	n->engine = tally_offload_create(&oc, &rc);
	if (n->engine == NULL) {
		snprintf(err, errlen, "offload backend '%s' with %" PRIu32 " entries: %s", n->cfg.backend,
			 n->cfg.table_entries, strerror(-rc));
		goto fail;
	}
	n->entries = n->cfg.table_entries;
	n->meta = calloc(n->entries, sizeof(*n->meta));
	n->mv = calloc(n->entries, sizeof(*n->mv));
	if (n->mv == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	n->ops = calloc(MAX_OPS, sizeof(*n->ops));
	n->commit_ops = calloc(MAX_OPS, sizeof(*n->commit_ops));
	n->cap_acks = 65536;
	n->acks = calloc(n->cap_acks, sizeof(*n->acks));
	n->cap_ackq = 4096;
	n->ackq = calloc(n->cap_ackq, sizeof(*n->ackq));
	n->dedup = tally_dedup_create(NULL, &rc);
	n->held = calloc(HELD_MAX, sizeof(*n->held));
	n->deps = calloc(DEPS, sizeof(*n->deps));
	n->pins = calloc(PINS, sizeof(*n->pins));
	n->notes = calloc(NOTES, sizeof(*n->notes));
	if (n->dedup != NULL)
		n->noted = tally_dedup_create(NULL, &rc);
	n->mvacks = calloc(MV_ACKS, sizeof(*n->mvacks));
	if (n->meta == NULL || n->ops == NULL || n->commit_ops == NULL || n->acks == NULL || n->ackq == NULL ||
	    n->dedup == NULL || n->held == NULL || n->deps == NULL || n->pins == NULL || n->mvacks == NULL ||
	    n->notes == NULL || n->noted == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (uint32_t i = 0; i < OP_HASH; i++)
		n->bucket[i] = NIL;
	for (uint32_t i = 0; i < MAX_OPS; i++)
		n->ops[i].hnext = i + 1 < MAX_OPS ? i + 1 : NIL;
	n->free_op = 0;

	if (mkdir(n->cfg.data_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create the data directory: %s", n->cfg.data_dir, strerror(errno));
		goto fail;
	}
	if (identity(n, p->bootstrap, err, errlen) != 0)
		goto fail;
	rc = tally_wal_open(n->cfg.data_dir, replay_rec, n, &n->wal, werr, sizeof(werr));
	if (rc != 0) {
		if (rc == -ENOSPC)
			snprintf(err, errlen, "%s: holds more keys than table_entries = %" PRIu32, n->cfg.data_dir,
				 n->cfg.table_entries);
		else
			snprintf(err, errlen, "%s", werr);
		goto fail;
	}

	struct tally_dp_config dc = {
		.port_id = p->port_id, .self = (uint16_t)n->self, .epoch = n->epoch,
		.ip = n->cfg.members[n->self].ip, .udp_port = n->cfg.members[n->self].port, .mtu = n->cfg.mtu,
		.keys = n->keys, .engine = n->engine, .host = on_host_frame, .compl = on_merged, .host_ctx = n,
	};
	n->dp = tally_dp_create(&dc, &rc);
	if (n->dp == NULL) {
		snprintf(err, errlen, "DPDK port %u: %s", p->port_id, strerror(-rc));
		goto fail;
	}
	tally_dp_addr(n->dp, &n->me);
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		memcpy(n->m[i].addr.src_mac, n->me.src_mac, 6);
		n->m[i].addr.src_ip = n->me.src_ip;
		n->m[i].addr.src_port = n->me.src_port;
	}
	if (bind_socket(SOCK_DGRAM, p->client_ip, n->cfg.client_port, &n->client_fd, err, errlen, "client") != 0 ||
	    bind_socket(SOCK_STREAM, p->client_ip, n->cfg.admin_port, &n->admin_fd, err, errlen, "admin") != 0)
		goto fail;
	/* With an af_packet port the kernel sees the cluster's frames too; a socket
	 * that never reads keeps it from answering them with ICMP port
	 * unreachable. Where the node's address is not local (the embedded
	 * cluster), there is nothing to keep quiet. */
	{
		char ignore[256];
		if (bind_socket(SOCK_DGRAM, n->cfg.members[n->self].ip, n->cfg.members[n->self].port, &n->sink_fd,
				ignore, sizeof(ignore), "sink") == 0) {
			int one = 1;
			(void)setsockopt(n->sink_fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
		}
	}
	struct tally_wal_stats ws;
	tally_wal_stats(n->wal, &ws);
	node_note(n, "up: epoch %" PRIu32 ", %s, %" PRIu64 " log records replayed%s, backend %s, clients on port %u",
	     n->epoch, n->recovering_mode ? "recovering its own slots from peers (data directory was empty)" : "normal",
	     ws.replayed, ws.torn_bytes ? " (a torn tail was cut)" : "", tally_offload_backend(n->engine),
	     n->cfg.client_port);
	return n;
fail:
	tally_node_destroy(n);
	return NULL;
}

void
tally_node_destroy(struct tally_node *n)
{
	if (n == NULL)
		return;
	if (n->wal != NULL && n->engine != NULL && n->dp != NULL) {
		n->now = node_now_ns();
		commit(n);
		flush_all(n);
		(void)tally_wal_snapshot(n->wal, snapshot_fill, n);
	}
	tally_wal_close(n->wal);
	tally_dp_destroy(n->dp);
	tally_offload_destroy(n->engine);
	tally_placement_free(n->pl);
	tally_dedup_free(n->dedup);
	if (n->client_fd >= 0)
		close(n->client_fd);
	if (n->admin_fd >= 0)
		close(n->admin_fd);
	if (n->sink_fd >= 0)
		close(n->sink_fd);
	for (unsigned i = 0; i < ADMIN_CONNS; i++)
		if (n->admin[i].fd >= 0)
			close(n->admin[i].fd);
	free(n->meta);
	free(n->ops);
	free(n->commit_ops);
	free(n->acks);
	free(n->ackq);
	free(n->held);
	free(n->deps);
	free(n->pins);
	free(n->notes);
	tally_dedup_free(n->noted);
	for (uint32_t i = 0; n->mv != NULL && i < n->entries; i++)
		if (n->mv[i].used)
			tally_mvreg_fini(&n->mv[i].reg);
	free(n->mv);
	free(n->mvacks);
	free(n);
}

unsigned
tally_node_poll(struct tally_node *n)
{
	unsigned work = 0;
	struct tally_wal_stats ws;

	n->now = node_now_ns();
	work += tally_dp_poll(n->dp);
	work += client_poll(n);
	recheck_held(n);
	commit(n);
	timers(n);
	notes_push(n);
	work += node_admin_poll(n);
	/* What the timers queued (retransmissions, repairs) needs no commit. */
	flush_all(n);
	creply_flush_all(n);
	tally_wal_stats(n->wal, &ws);
	if (ws.log_bytes > SNAPSHOT_LOG_BYTES ||
	    (ws.log_bytes > SNAPSHOT_MIN_BYTES && n->now - n->last_snapshot > SNAPSHOT_AGE_NS)) {
		commit(n);
		int rc = tally_wal_snapshot(n->wal, snapshot_fill, n);
		if (rc != 0)
			node_note(n, "snapshot failed: %s", strerror(-rc));
		n->last_snapshot = n->now;
	}
	return work;
}
