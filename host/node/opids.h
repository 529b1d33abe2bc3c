/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Op ids: a retried write counts once (docs/cluster.md#op-ids-a-retry-counts-once).
 * Owns the dedup table of op ids applied here, the table of op ids other
 * origins noted to us, the ring of recent notes a restarted member is
 * given, and the pins that send a retry to the origin it went to first.
 */

#ifndef TALLY_NODE_OPIDS_H
#define TALLY_NODE_OPIDS_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "dedup.h"
#include "wire.h"

#define NOTE_BURST 230u /* notes to one member per poll round, new and again each */
#define RETRY_SLACK_MS 1000u /* kept past the retry window: datagrams in flight, clocks that run apart */

/* An op id known to be applied (here, or by the origin that sent a note). */
struct opnote {
	uint64_t client, seq;
	uint64_t at; /* when it was noted (node_now_ns) */
	uint8_t op;
	uint8_t from; /* who noted it: us (we applied it), or the member that told us */
};

/* A forwarded write's op id and the origin it went to: a retry goes there
 * again, never to a second origin that could apply it twice. Pins live in
 * a ring, oldest first, and are found through hash chains. */
struct pin {
	uint64_t client, seq;
	uint64_t at;   /* when it was made (node_now_ns) */
	uint32_t next; /* the next pin in its hash chain */
	uint8_t origin;
	bool used;     /* false once the origin said it did not apply the write */
};

/*
 * The notes to one member are a stream over our ring: note i goes with its
 * index, the stream's base (where the stream began) and where the run of
 * ring entries not in the stream before it began. The member acknowledges
 * in its heartbeats the first index it lacks, and what stays
 * unacknowledged for a while is sent again. The stream holds the notes of
 * the op ids we applied; one that begins anew, for a member that
 * restarted, holds at first every note younger than the window, those
 * others gave us too, and those it gave us (it may have lost its disk).
 */
struct note_tx {
	uint32_t epoch;       /* the member's incarnation the stream is for */
	uint64_t base;        /* the stream's first index */
	uint64_t full_end;    /* before this, others' notes are in the stream too */
	uint64_t acked;       /* the member holds every note before this */
	uint64_t push;        /* the next ring entry to consider sending */
	uint64_t sent;        /* one past the last note of the stream sent */
	uint64_t end;         /* one past the last note of the stream there is to send */
	uint64_t redo, redo_gap, redo_end; /* notes being sent again, and where the run skipped began */
	uint64_t mark;        /* sent at the last check: acked should pass it by the next */
	uint64_t check_at;    /* the next check */
	uint64_t stranger_since; /* since when its heartbeats acknowledge another stream than ours (0: they do not) */
};

/* A member's stream to us: we hold every note of [base, next), and those
 * after next whose bit is set in seen (or that the stream skipped). */
struct note_rx {
	uint32_t epoch;       /* the sender's incarnation the stream is of */
	uint64_t base, next;
	uint64_t *seen;       /* cap bits: index i at bit i % cap */
	/* Until caught up, a restarted node does not act as an origin: the
	 * first heartbeat after the start names the stream's end, and we are
	 * caught up once next reaches it (members.h: notes_caught). */
	uint32_t need_epoch;
	uint64_t need_base, need;
};

struct opids_stats {
	uint64_t notes_sent, notes_in, noted_refused;
	uint64_t notes_resent;  /* notes sent again: not acknowledged in time */
	uint64_t streams_reset; /* a member's stream began anew: it restarted, or its place left the ring */
	uint64_t window_full;   /* writes refused busy: a pin or note younger than the window would go */
	uint64_t notes_overrun; /* notes from others that overwrote one younger than the window */
	uint64_t noted_evicted_refused; /* refused: the noted table forgot a client within the window */
};

struct node_opids {
	tally_dedup_t *dedup;      /* op ids applied here (logged) */
	tally_dedup_t *noted;      /* op ids other origins applied (their notes) */
	uint32_t cap;              /* entries of each ring: [limits] retry_capacity */
	uint64_t keep;             /* how long an entry is kept: the retry window and RETRY_SLACK_MS, in ns */
	struct opnote *notes;      /* ring of cap */
	uint64_t notes_head;
	struct note_tx tx[TALLY_MAX_NODES];
	struct note_rx rx[TALLY_MAX_NODES];
	uint64_t retx_ns;          /* how long a note may go unacknowledged before it is sent again */
	struct pin *pins;          /* ring of cap, from pins_tail to pins_head */
	uint64_t pins_head, pins_tail;
	uint32_t *chains;          /* hash chain heads, chain_mask + 1 of them */
	uint32_t chain_mask;
	uint64_t noted_evictions;  /* the noted table's evictions as last seen */
	uint64_t noted_unsafe_until; /* until then, a client the noted table does not know may have been evicted */
	struct opids_stats stats;
};

int opids_init(struct node_opids *o, uint32_t capacity, unsigned window_ms, unsigned heartbeat_ms);
void opids_fini(struct node_opids *o);

/** What an origin may do with op id (client, seq): the DEDUP_NEW or DEDUP_DUPLICATE of dedup.h,
 * or OPIDS_REFUSE (too old, evicted, or applied by another origin: op_refused). */
#define OPIDS_REFUSE (-1000)
/* Or OPIDS_UNKNOWN: the dedup table does not hold the client and the
 * sequence is past its first window (evicted): unknown_client. */
#define OPIDS_UNKNOWN (-1001)
int opids_verdict(struct tally_node *n, uint64_t client, uint64_t seq);

/** Op id (client, seq) is applied here: remember it and log it. */
void opids_applied(struct tally_node *n, uint64_t client, uint64_t seq);

/** Op id (client, seq) of op @p op is durable here: note it to every live member, and keep it. */
void opids_note(struct tally_node *n, uint64_t client, uint64_t seq, unsigned op);

/** A NOTE record of node @p h->sender's stream to us: it applied op id (client, seq). */
void opids_on_note(struct tally_node *n, const struct tally_wire_hdr *h, const struct tally_wire_note *nt);

/** An answer from node @p h->sender to a write we forwarded: it applied that op id. */
void opids_on_answer(struct tally_node *n, const struct tally_wire_hdr *h, const struct tally_wire_client *c);

/** What a heartbeat from node @p h->sender says of the notes (vector slots 1 to 5; link_heartbeat). */
void opids_on_beat(struct tally_node *n, const struct tally_wire_hdr *h, const tally_vec_t *v);

/** Send each live member the notes it lacks: new ones, those not acknowledged in time, and a
 * new stream to one that restarted. */
void opids_tick(struct tally_node *n);

/** Pin @p p (fresh from opids_pin(insert)) to @p origin, and log it: a coordinator that restarts still
 * sends a retry where the write went (the origin may have applied it and died before its note left). */
void opids_pin_set(struct tally_node *n, struct pin *p, unsigned origin);

/** A logged pin, replayed at start: kept if younger than the window (@p age_ns old). */
void opids_pin_restore(struct tally_node *n, uint64_t client, uint64_t seq, unsigned origin, uint64_t age_ns);

/** Each pin younger than the window: @p fn(ctx, client, seq, origin, unix_ms) (snapshots). @return the first nonzero. */
int opids_pins_foreach(struct tally_node *n, int (*fn)(void *ctx, uint64_t client, uint64_t seq, unsigned origin,
						       uint64_t unix_ms),
		       void *ctx);

/** Whether a new write may be applied here: its note would not overwrite one younger than the window. */
bool opids_room(struct tally_node *n);

/** The pin of op id (client, seq); with @p insert, a new one. NULL when none
 * (or, with @p insert, when every pin is younger than the retry window: busy). */
struct pin *opids_pin(struct tally_node *n, uint64_t client, uint64_t seq, bool insert);

/**
 * Start the cache miss of opids_pin() for op id (@p client, @p seq), its
 * hash chain's head in a table of retry_capacity: the caller asks a few
 * records ahead, so the miss overlaps the work before it.
 */
void opids_pin_prefetch(const struct tally_node *n, uint64_t client, uint64_t seq);

#endif /* TALLY_NODE_OPIDS_H */
