/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Op ids: the dedup table, the op-id notes origins send each other, and
 * the pins of forwarded writes to their origin.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "state.h"

int
opids_init(struct node_opids *o, uint32_t capacity, unsigned window_ms, unsigned heartbeat_ms)
{
	int rc;
	bool ok = true;

	o->cap = capacity;
	/* Acknowledgements ride on heartbeats: allow two of them, and the way. */
	o->retx_ns = (3u * (uint64_t)heartbeat_ms + 20u) * 1000000u;
	o->keep = ((uint64_t)window_ms + RETRY_SLACK_MS) * 1000000u;
	o->chain_mask = 1;
	while (o->chain_mask < capacity)
		o->chain_mask <<= 1;
	o->chain_mask--;
	o->dedup = tally_dedup_create(NULL, &rc);
	o->noted = tally_dedup_create(NULL, &rc);
	o->notes = node_calloc(capacity, sizeof(*o->notes));
	o->pins = node_calloc(capacity, sizeof(*o->pins));
	o->chains = malloc(((size_t)o->chain_mask + 1) * sizeof(*o->chains));
	if (o->chains != NULL)
		memset(o->chains, 0xff, ((size_t)o->chain_mask + 1) * sizeof(*o->chains));
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		o->rx[t].seen = node_calloc(((size_t)capacity + 63) / 64, sizeof(uint64_t));
		o->rx[t].need = UINT64_MAX;
		ok = ok && o->rx[t].seen != NULL;
	}
	return ok && o->dedup && o->noted && o->notes && o->pins && o->chains ? 0 : -ENOMEM;
}

void
opids_fini(struct node_opids *o)
{
	tally_dedup_free(o->dedup);
	tally_dedup_free(o->noted);
	free(o->notes);
	free(o->pins);
	free(o->chains);
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
		free(o->rx[t].seen);
}

/* Whether the noted table may have forgotten a client that was noted within
 * the window: it evicted one (the least recently used, at most as old as
 * now) less than a window ago. */
static bool
noted_unsafe(struct tally_node *n)
{
	struct tally_dedup_stats st;

	tally_dedup_stats(n->opids.noted, &st);
	if (st.evictions != n->opids.noted_evictions) {
		n->opids.noted_evictions = st.evictions;
		n->opids.noted_unsafe_until = n->now + n->opids.keep;
	}
	return n->now < n->opids.noted_unsafe_until;
}

int
opids_verdict(struct tally_node *n, uint64_t client, uint64_t seq)
{
	tally_opid_t id = { client, seq };
	int dv = tally_dedup_check(n->opids.dedup, id);

	if (n->broken_dedup && dv == TALLY_DEDUP_DUPLICATE)
		dv = TALLY_DEDUP_NEW; /* the deliberate bug: a retry counts again */
	if (dv == TALLY_DEDUP_UNKNOWN_CLIENT)
		return OPIDS_UNKNOWN;
	if (dv == TALLY_DEDUP_TOO_OLD || dv < 0)
		return OPIDS_REFUSE;
	int nv = dv == TALLY_DEDUP_NEW && !n->broken_dedup ? tally_dedup_check(n->opids.noted, id) : TALLY_DEDUP_NEW;
	if (nv == TALLY_DEDUP_UNKNOWN_CLIENT && noted_unsafe(n)) {
		/* Its notes may have been evicted a moment ago: as unknown as too old. */
		n->opids.stats.noted_evicted_refused++;
		nv = TALLY_DEDUP_TOO_OLD;
	}
	if (nv == TALLY_DEDUP_DUPLICATE || nv == TALLY_DEDUP_TOO_OLD) {
		/* Another origin applied it (its note said so), or one may have
		 * (older than the notes can tell): applying it here could count it
		 * twice, and whether W replicas hold it is that origin's to say. */
		n->opids.stats.noted_refused++;
		return OPIDS_REFUSE;
	}
	return dv;
}

void
opids_applied(struct tally_node *n, uint64_t client, uint64_t seq)
{
	(void)tally_dedup_record(n->opids.dedup, (tally_opid_t){ client, seq });
	log_opid(n, client, seq);
}

static bool
note_young(const struct tally_node *n, const struct opnote *e)
{
	return e->at != 0 && n->now - e->at < n->opids.keep;
}

bool
opids_room(struct tally_node *n)
{
	if (note_young(n, &n->opids.notes[n->opids.notes_head % n->opids.cap])) {
		n->opids.stats.window_full++;
		return false;
	}
	return true;
}

static void
note_keep(struct tally_node *n, uint64_t client, uint64_t seq, unsigned op, unsigned from)
{
	struct opnote *e = &n->opids.notes[n->opids.notes_head++ % n->opids.cap];

	if (note_young(n, e))
		n->opids.stats.notes_overrun++;
	*e = (struct opnote){ .client = client, .seq = seq, .at = n->now ? n->now : 1, .op = (uint8_t)op,
				.from = (uint8_t)from };
}

void
opids_note(struct tally_node *n, uint64_t client, uint64_t seq, unsigned op)
{
	/* Every other member gets it in its stream (opids_tick): any of them
	 * may become the key's origin when this one is down. */
	note_keep(n, client, seq, op, n->self);
}

/* ---- the stream of notes to each member ---- */

static void
note_send(struct tally_node *n, unsigned to, uint64_t index, uint64_t gap)
{
	const struct opnote *e = &n->opids.notes[index % n->opids.cap];
	struct tally_wire_note r = { .op = e->op, .client = e->client, .seq = e->seq, .index = index,
				     .base = n->opids.tx[to].base, .skip_from = gap };

	(void)tally_wire_add_note(&link_txb(n, to, TALLY_WIRE_NOTE)->w, &r);
	n->opids.stats.notes_sent++;
}

/* Whether ring entry i is a note of the stream to t. */
static bool
in_stream(const struct tally_node *n, unsigned t, uint64_t i)
{
	const struct opnote *e = &n->opids.notes[i % n->opids.cap];

	/* A whole stream (full_end) holds t's own notes too: a member that
	 * lost its disk learns back from them which op ids it had applied, or
	 * it would apply their retries again. One that kept its disk finds
	 * them in its dedup table and skips them (opids_on_note). */
	return e->from == n->self || i < n->opids.tx[t].full_end;
}

/* Begin the stream to member t anew, at the first entry from @p from on
 * that the ring still holds and that is younger than the window: older
 * ones can no longer be retried. @p full: with others' notes until now. */
static void
stream_reset(struct tally_node *n, unsigned t, uint64_t from, bool full)
{
	struct node_opids *o = &n->opids;
	struct note_tx *s = &o->tx[t];

	if (o->notes_head - from > o->cap)
		from = o->notes_head - o->cap;
	while (from < o->notes_head && !note_young(n, &o->notes[from % o->cap]))
		from++;
	*s = (struct note_tx){ .epoch = n->members.m[t].epoch, .base = from, .full_end = full ? o->notes_head : from, .acked = from, .push = from,
			       .sent = from, .end = from, .redo = from, .redo_gap = from, .redo_end = from, .mark = from,
			       .check_at = n->now + o->retx_ns };
	/* The last note of what is there is the end the member must reach. */
	for (uint64_t i = o->notes_head; i > from; i--)
		if (in_stream(n, t, i - 1)) {
			s->end = i;
			break;
		}
	o->stats.streams_reset++;
}

/* Send the notes of the stream to t among entries [*from, end), NOTE_BURST
 * at most; *gap is where the run skipped before the next one began. */
static void
stream_send(struct tally_node *n, unsigned t, uint64_t *from, uint64_t *gap, uint64_t end)
{
	for (unsigned k = 0; k < NOTE_BURST && *from < end; (*from)++) {
		if (!in_stream(n, t, *from))
			continue;
		note_send(n, t, *from, *gap);
		*gap = *from + 1;
		k++;
	}
}

void
opids_tick(struct tally_node *n)
{
	struct node_opids *o = &n->opids;

	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		struct member *m = &n->members.m[t];
		struct note_tx *s = &o->tx[t];
		if (!m->present)
			continue;
		if (m->new_epoch) { /* it lost the notes it held in memory, or all of them with its disk */
			stream_reset(n, t, 0, true);
			m->new_epoch = false;
		}
		if (m->came_up) { /* back from a partition or a pause: what we sent meanwhile may be lost */
			s->redo = s->redo_gap = s->acked;
			s->redo_end = s->sent;
			m->came_up = false;
		}
		if (!m->up)
			continue;
		if (n->now >= s->check_at) {
			/* What we had sent a check ago is still not acknowledged: a
			 * note was lost. Send everything unacknowledged again; the
			 * member keeps those it has and skips them. */
			if (s->acked < s->mark && s->redo >= s->redo_end) {
				s->redo = s->redo_gap = s->acked;
				s->redo_end = s->sent;
				o->stats.notes_resent += s->sent - s->acked;
			}
			s->mark = s->sent;
			s->check_at = n->now + o->retx_ns;
		}
		/* Its heartbeats still acknowledge another stream than the one we
		 * sent it a while ago: it lost what it held without a new epoch
		 * (a lost disk starts at epoch 1 again). Begin again, whole. */
		if (s->stranger_since != 0 && s->sent > s->base && n->now - s->stranger_since > o->retx_ns)
			stream_reset(n, t, 0, true);
		if (s->acked < s->sent && o->notes_head - s->acked > o->cap)
			stream_reset(n, t, s->acked, false); /* the ring overwrote what it lacks: begin again */
		if (s->redo < s->acked)
			s->redo = s->redo_gap = s->acked;
		stream_send(n, t, &s->redo, &s->redo_gap, s->redo_end);
		stream_send(n, t, &s->push, &s->sent, o->notes_head);
		if (s->end < s->sent)
			s->end = s->sent;
	}
}

/* Note @p index arrived, and the stream skipped the entries [gap, index). */
static void
rx_mark(struct node_opids *o, struct note_rx *r, uint64_t index, uint64_t gap)
{
	uint64_t b;

	if (index < r->next || index - r->next >= o->cap || gap > index)
		return; /* held already, or beyond what the sender's ring can hold */
	for (uint64_t i = gap > r->next ? gap : r->next; i <= index; i++) {
		b = i % o->cap;
		r->seen[b / 64] |= UINT64_C(1) << (b % 64);
	}
	for (;;) {
		b = r->next % o->cap;
		if (!(r->seen[b / 64] & (UINT64_C(1) << (b % 64))))
			break;
		r->seen[b / 64] &= ~(UINT64_C(1) << (b % 64));
		r->next++;
	}
}

static void
rx_check_caught(struct tally_node *n, unsigned from)
{
	const struct note_rx *r = &n->opids.rx[from];

	if (r->epoch == r->need_epoch && r->base == r->need_base && r->next >= r->need)
		n->members.m[from].notes_caught = true;
}

/* Node @p from applied op id (client, seq) of op @p op. */
static void
noted(struct tally_node *n, unsigned from, unsigned op, uint64_t client, uint64_t seq)
{
	struct node_opids *o = &n->opids;
	tally_opid_t id = { client, seq };

	/* Kept, and so passed on to every member: one that did not get it from
	 * its origin (which died before it was sent again) gets it from us. Not
	 * an op id we applied ourselves, coming back. */
	if (tally_dedup_check(o->dedup, id) != TALLY_DEDUP_DUPLICATE &&
	    tally_dedup_check(o->noted, id) == TALLY_DEDUP_NEW) {
		(void)tally_dedup_record(o->noted, id);
		note_keep(n, client, seq, op, from < TALLY_MAX_NODES ? from : n->self);
	}
	o->stats.notes_in++;
}

void
opids_on_answer(struct tally_node *n, const struct tally_wire_hdr *h, const struct tally_wire_client *c)
{
	noted(n, h->sender, c->op, c->client, c->seq); /* not of a stream */
}

void
opids_on_note(struct tally_node *n, const struct tally_wire_hdr *h, const struct tally_wire_note *nt)
{
	struct node_opids *o = &n->opids;

	noted(n, h->sender, nt->op, nt->client, nt->seq);
	if (h->sender >= TALLY_MAX_NODES || !n->members.m[h->sender].present)
		return;
	struct note_rx *r = &o->rx[h->sender];
	uint64_t index = nt->index, base = nt->base, gap = nt->skip_from;
	if (r->epoch != h->epoch || r->base != base) {
		if (gap != base)
			return; /* not the first of a stream we have not seen begin: wait for that one again */
		r->epoch = h->epoch;
		r->base = r->next = base;
		memset(r->seen, 0, ((size_t)o->cap + 63) / 64 * sizeof(uint64_t));
	}
	rx_mark(o, r, index, gap);
	if (!n->members.m[h->sender].notes_caught)
		rx_check_caught(n, h->sender);
}

void
opids_on_beat(struct tally_node *n, const struct tally_wire_hdr *h, const tally_vec_t *v)
{
	struct node_opids *o = &n->opids;
	unsigned from = h->sender;
	struct note_tx *s = &o->tx[from];
	struct note_rx *r = &o->rx[from];

	/* Its acknowledgement of our stream to it (to this incarnation of it). */
	if (h->epoch == s->epoch) {
		if (v->slot[3] == n->epoch && v->slot[2] == s->base) {
			s->stranger_since = 0;
			if (v->slot[1] > s->acked && v->slot[1] <= s->push)
				s->acked = v->slot[1];
		} else if (s->stranger_since == 0) {
			s->stranger_since = n->now; /* not yet begun there, or it lost it (opids_tick) */
		}
	}
	/* Its stream to us, for the start: until we hold what it had, we are not an origin. */
	if (n->members.m[from].notes_caught || v->slot[6] != n->epoch)
		return; /* caught up, or its stream is not yet the one to us since our start */
	if (v->slot[4] == v->slot[5]) { /* it has no note younger than the window for us */
		n->members.m[from].notes_caught = true;
		return;
	}
	if (r->need_epoch != h->epoch || r->need_base != v->slot[5]) {
		r->need_epoch = h->epoch;
		r->need_base = v->slot[5];
		r->need = v->slot[4];
	}
	rx_check_caught(n, from);
}

static uint32_t
pin_chain(const struct node_opids *o, uint64_t client, uint64_t seq)
{
	uint64_t id[2] = { client, seq };

	return (uint32_t)XXH3_64bits(id, sizeof(id)) & o->chain_mask;
}

/* Forget the pins older than the retry window: no retry of theirs can come. */
static void
pins_expire(struct tally_node *n)
{
	struct node_opids *o = &n->opids;

	while (o->pins_tail < o->pins_head) {
		uint32_t i = (uint32_t)(o->pins_tail % o->cap);
		struct pin *p = &o->pins[i];
		if (n->now - p->at < o->keep)
			break;
		uint32_t *link = &o->chains[pin_chain(o, p->client, p->seq)];
		while (*link != i)
			link = &o->pins[*link].next;
		*link = p->next;
		o->pins_tail++;
	}
}

void
opids_pin_prefetch(const struct tally_node *n, uint64_t client, uint64_t seq)
{
	const struct node_opids *o = &n->opids;

	__builtin_prefetch(&o->chains[pin_chain(o, client, seq)]);
}

struct pin *
opids_pin(struct tally_node *n, uint64_t client, uint64_t seq, bool insert)
{
	struct node_opids *o = &n->opids;
	uint32_t *chain = &o->chains[pin_chain(o, client, seq)];

	for (uint32_t i = *chain; i != UINT32_MAX; i = o->pins[i].next) {
		struct pin *p = &o->pins[i];
		if (p->used && p->client == client && p->seq == seq)
			return p;
	}
	if (!insert)
		return NULL;
	pins_expire(n);
	if (o->pins_head - o->pins_tail == o->cap) {
		/* Every pin is younger than the window: forgetting one could
		 * send its retry to a second origin. */
		o->stats.window_full++;
		return NULL;
	}
	uint32_t i = (uint32_t)(o->pins_head++ % o->cap);
	o->pins[i] = (struct pin){ .client = client, .seq = seq, .at = n->now, .next = *chain, .used = true };
	*chain = i;
	return &o->pins[i];
}

static uint64_t
unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
opids_pin_set(struct tally_node *n, struct pin *p, unsigned origin)
{
	p->origin = (uint8_t)origin;
	log_pin(n, p->client, p->seq, origin, unix_ms());
}

void
opids_pin_restore(struct tally_node *n, uint64_t client, uint64_t seq, unsigned origin, uint64_t age_ns)
{
	if (age_ns >= n->opids.keep || origin >= TALLY_MAX_NODES)
		return;
	struct pin *p = opids_pin(n, client, seq, false);
	if (p == NULL)
		p = opids_pin(n, client, seq, true);
	if (p == NULL)
		return;
	p->origin = (uint8_t)origin;
	p->at = n->now > age_ns ? n->now - age_ns : 1;
}

int
opids_pins_foreach(struct tally_node *n, int (*fn)(void *ctx, uint64_t client, uint64_t seq, unsigned origin,
						       uint64_t unix_ms),
		   void *ctx)
{
	struct node_opids *o = &n->opids;
	uint64_t now_ms = unix_ms();

	for (uint64_t i = o->pins_tail; i < o->pins_head; i++) {
		const struct pin *p = &o->pins[i % o->cap];
		if (!p->used || n->now - p->at >= o->keep)
			continue;
		int rc = fn(ctx, p->client, p->seq, p->origin, now_ms - (n->now - p->at) / 1000000u);
		if (rc != 0)
			return rc;
	}
	return 0;
}
