/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Op ids: the dedup table, the op-id notes origins send each other, and
 * the pins of forwarded writes to their origin.
 */

#include <errno.h>
#include <stdlib.h>

#include <xxhash.h>

#include "state.h"

int
opids_init(struct node_opids *o)
{
	int rc;

	o->dedup = tally_dedup_create(NULL, &rc);
	o->noted = tally_dedup_create(NULL, &rc);
	o->notes = calloc(NOTES, sizeof(*o->notes));
	o->pins = calloc(PINS, sizeof(*o->pins));
	return o->dedup && o->noted && o->notes && o->pins ? 0 : -ENOMEM;
}

void
opids_fini(struct node_opids *o)
{
	tally_dedup_free(o->dedup);
	tally_dedup_free(o->noted);
	free(o->notes);
	free(o->pins);
}

int
opids_verdict(struct tally_node *n, uint64_t client, uint64_t seq)
{
	tally_opid_t id = { client, seq };
	int dv = tally_dedup_check(n->opids.dedup, id);

	if (n->broken_dedup && dv == TALLY_DEDUP_DUPLICATE)
		dv = TALLY_DEDUP_NEW; /* the deliberate bug: a retry counts again */
	if (dv == TALLY_DEDUP_TOO_OLD || dv == TALLY_DEDUP_UNKNOWN_CLIENT || dv < 0)
		return OPIDS_REFUSE;
	int nv = dv == TALLY_DEDUP_NEW && !n->broken_dedup ? tally_dedup_check(n->opids.noted, id) : TALLY_DEDUP_NEW;
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

static void
note_keep(struct tally_node *n, uint64_t client, uint64_t seq, unsigned op)
{
	n->opids.notes[n->opids.notes_head++ % NOTES] = (struct opnote){ client, seq, (uint8_t)op };
}

static void
note_send(struct tally_node *n, unsigned to, const struct opnote *e)
{
	struct tally_wire_client r = { .op = e->op, .status = TALLY_OK, .client = e->client, .seq = e->seq };

	(void)tally_wire_add_client(&link_txb(n, to, TALLY_WIRE_CLIENT_REPLY)->w, &r);
	n->opids.stats.notes_sent++;
}

void
opids_note(struct tally_node *n, uint64_t client, uint64_t seq, unsigned op)
{
	struct opnote e = { client, seq, (uint8_t)op };

	/* Every other member: any of them may become the key's origin when this one is down. */
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
		if (t != n->self && n->members.m[t].present && members_up(n, t))
			note_send(n, t, &e);
	note_keep(n, client, seq, op);
}

void
opids_on_note(struct tally_node *n, const struct tally_wire_client *c)
{
	tally_opid_t id = { c->client, c->seq };

	if (tally_dedup_check(n->opids.noted, id) == TALLY_DEDUP_NEW) {
		(void)tally_dedup_record(n->opids.noted, id);
		note_keep(n, c->client, c->seq, c->op);
	}
	n->opids.stats.notes_in++;
}

/*
 * What members heard this round need of the notes: one that restarted (a
 * new epoch) lost those it held in memory, and all of them if it lost its
 * disk: it gets the whole ring. One back from a partition or a pause lost
 * those sent since we last heard it (and a margin for those in flight).
 * Then give each the notes it still lacks, NOTE_BURST at a time.
 */
void
opids_tick(struct tally_node *n)
{
	struct node_opids *o = &n->opids;

	for (unsigned t = 0; t < TALLY_MAX_NODES; t++) {
		struct member *m = &n->members.m[t];
		if (!m->present)
			continue;
		if (m->new_epoch) {
			o->push[t] = o->notes_head > NOTES ? o->notes_head - NOTES : 0;
			o->end[t] = o->notes_head;
			m->new_epoch = false;
		}
		if (m->came_up) {
			uint64_t from = o->heard[t] > NOTE_SLACK ? o->heard[t] - NOTE_SLACK : 0;
			if (from < o->push[t] || o->push[t] >= o->end[t])
				o->push[t] = from;
			o->end[t] = o->notes_head;
			m->came_up = false;
		}
		if (m->up && m->last_heard == n->now)
			o->heard[t] = o->notes_head;
		if (!m->up || o->push[t] >= o->end[t])
			continue;
		if (o->end[t] - o->push[t] > NOTES)
			o->push[t] = o->end[t] - NOTES;
		for (unsigned k = 0; k < NOTE_BURST && o->push[t] < o->end[t]; k++, o->push[t]++)
			note_send(n, t, &o->notes[o->push[t] % NOTES]);
	}
}

struct pin *
opids_pin(struct tally_node *n, uint64_t client, uint64_t seq, bool insert)
{
	uint64_t id[2] = { client, seq };
	uint32_t set = (uint32_t)(XXH3_64bits(id, sizeof(id)) % (PINS / 4)) * 4;
	struct pin *empty = NULL;

	for (unsigned i = 0; i < 4; i++) {
		struct pin *p = &n->opids.pins[set + i];
		if (p->used && p->client == client && p->seq == seq)
			return p;
		if (!p->used && empty == NULL)
			empty = p;
	}
	if (!insert)
		return NULL;
	if (empty == NULL) {
		/* The set is full: forget one (its retries may then reach another origin). */
		empty = &n->opids.pins[set + (seq & 3)];
		n->opids.stats.pins_evicted++;
	}
	*empty = (struct pin){ .client = client, .seq = seq, .used = true };
	return empty;
}
