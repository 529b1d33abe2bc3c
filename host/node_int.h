/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Inside one tally node: its state and the helpers node.c shares with the
 * files that hold its other parts (node_ae.c: anti-entropy; node_admin.c:
 * the status port). Not an interface: node.h is.
 */

#ifndef TALLY_NODE_INT_H
#define TALLY_NODE_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dedup.h"
#include "dp.h"
#include "mvreg.h"
#include "node.h"
#include "offload.h"
#include "placement.h"
#include "status.h"
#include "token.h"
#include "wal.h"
#include "wire.h"

#define MAX_OPS 8192           /* requests in flight at one node */
#define OP_HASH 16384          /* buckets of the by-key index of ops */
#define NIL UINT32_MAX
#define FRAME_BUF 9100
#define RETRANSMIT_NS 20000000u       /* resend REPLICATE to a replica that has not acked */
#define REPLICATE_LINGER_NS 5000000000u /* keep shipping after the answer, for replicas not yet holding */
#define HANDOFF_NS 200000000u         /* how often hints are offered to their owners */
#define SNAPSHOT_LOG_BYTES (64u << 20)  /* a snapshot when the log grows past this, */
#define SNAPSHOT_AGE_NS 300000000000u     /* or, with at least ... */
#define SNAPSHOT_MIN_BYTES (1u << 20)     /* ... this much log, every 5 minutes */
#define AE_QUEUE 64            /* partitions waiting to be shipped to one peer */
#define HELD_MAX 1024          /* causal records a replica holds back, at most */
#define PINS 65536             /* forwarded op ids remembered with their origin (4-way sets) */
#define DEPS 4096              /* keys whose last causal dependency is remembered for shipping */
#define HELD_GIVE_UP_NS 30000000000u /* a held record is dropped after 30 s: the origin resends */
#define MV_SHIP_MAX 40         /* siblings a register may have: its state must fit one frame */
#define MV_ACKS 4096           /* register acks waiting for the commit */
#define CLIENT_BURST 32
#define MAX_CREPLY 8           /* client addresses with a reply frame open in one round */
#define ADMIN_CONNS 8

enum member_state { PEER_DOWN = 0, PEER_UP };

/* Op-id notes: the latest op ids kept to give a restarted member, and how
 * many go out per member per poll round. */
#define NOTES 65536u
#define NOTE_BURST 230u
#define NOTE_SLACK 4096u

/* An op id known to be applied (here, or by the origin that sent a note). */
struct opnote {
	uint64_t client, seq;
	uint8_t op;
};

struct member {
	bool present;
	struct tally_wire_addr addr; /* from us to it (dst_*) */
	bool mac_known;
	uint64_t last_heard;         /* ns, 0 = never */
	uint32_t epoch;              /* its incarnation, last seen */
	uint64_t note_push, note_end; /* op-id notes still to send it (it restarted, or was away) */
	uint64_t note_heard;         /* the notes' head when we last heard it */
	bool up;
	uint64_t frames_in;
};

/* What the host keeps per counter-table entry. */
struct keymeta {
	bool used;
	bool recovered;                    /* own slot known to be the highest anywhere */
	uint8_t key[16];
	uint32_t peer_ix[TALLY_MAX_NODES]; /* the peer's table index, from its acks */
	uint64_t handoff_ok;               /* bit 8*t+o: node t holds our slot o of this key */
	uint8_t owe;                       /* preferred replicas our writes missed while down */
	uint32_t part;                     /* its partition */
};

enum op_kind { OP_FREE = 0, OP_WRITE, OP_FORWARD, OP_READ };
enum op_state { ST_NEW = 0, ST_RECOVER, ST_DEP, ST_COMMIT, ST_SHIP, ST_DONE };

struct reply_to {
	bool node;                 /* answer coordinator node @peer over the cluster link */
	uint16_t peer;
	struct sockaddr_in sa;     /* else a client, at this address */
};

struct op {
	uint8_t kind, state;
	uint8_t cop;               /* enum tally_wire_op */
	uint8_t w, r;
	bool replied, recover;     /* recover: an internal read of every member (kv679) */
	bool fetch;                /* an internal read that pulls a dependency's state here */
	uint8_t key[16];
	uint8_t keybytes[TALLY_WIRE_CLIENT_STR_MAX], keylen;
	uint64_t client, seq;
	uint64_t delta;
	uint64_t deadline, linger, next_send;
	struct reply_to to;
	/* write: own slot values this op needs held, and by whom */
	uint64_t p, n;
	uint8_t targets, holders;
	/* read */
	uint8_t answered;
	uint64_t req_seq[TALLY_MAX_NODES];
	tally_pncounter_t got[TALLY_MAX_NODES];
	tally_pncounter_t merged;
	uint32_t parked;           /* recover: first write op waiting for it */
	uint32_t next_parked;      /* write: next op waiting for the same recovery */
	uint32_t hnext;            /* by-key chain */
	uint64_t started;
	uint64_t gen;              /* tells a reused entry from the op that was freed */
	/* session: the state the request's token says the session has seen */
	bool has_need;
	tally_pncounter_t need;
	/* a causal write: the dependency (another key's token) it waits for */
	bool causal;
	uint8_t dep_key[16];
	tally_pncounter_t dep_need;
	uint8_t dep_tok[TALLY_TOKEN_LEN];
	/* an MV-register op: the put's value and context, the dot counter it made; a read's merge */
	bool mv, has_ctx;
	tally_vec_t ctx;
	uint8_t val[TALLY_MVREG_VALUE_MAX], vlen;
	uint64_t mv_counter;
	tally_mvreg_t *mvr;
	bool mv_differ, mv_lww;
	uint8_t tok[TALLY_TOKEN_LEN], toklen; /* the token to answer with */
};

/* A frame being filled for one peer and type. */
struct txb {
	bool open;
	struct tally_wire_writer w;
	uint64_t seq;
	uint8_t buf[FRAME_BUF];
};

/* Deferred replica acks: completions of one frame, sent after the commit. */
struct ackq {
	struct tally_wire_addr from;
	struct tally_wire_hdr hdr;
	unsigned first, n;
};

struct creply {
	bool open;
	struct sockaddr_in sa;
	struct tally_wire_writer w;
	uint8_t buf[FRAME_BUF];
};

struct admin_conn {
	int fd;
	size_t got;
	char req[1024];
};

/* A node's MV-register for one key (the NIC's table holds counters only). */
struct mventry {
	bool used;
	uint8_t confirmed;         /* preferred replicas whose acks cover this state (handoff) */
	bool lww;                  /* last-writer-wins (an opt-in by key prefix): one value only */
	uint8_t key[16];
	tally_mvreg_t reg;
};

/* A register ack to send once what it acknowledges is durable. */
struct mvack {
	unsigned peer;
	uint8_t key[16];
	tally_vec_t ctx;
};

/* A forwarded write's op id and the origin it went to: a retry goes there
 * again, never to a second origin that could apply it twice. */
struct pin {
	uint64_t client, seq;
	uint8_t origin;
	bool used;
};

/* A causal record held back until its dependency is applied here. */
struct held {
	bool used;
	struct tally_wire_addr from;
	struct tally_wire_hdr hdr;
	struct tally_wire_slot slot;
	uint8_t dep_key[16];
	tally_pncounter_t need;
	uint64_t since;
};

/* The last dependency of a key's causal writes, so that whatever ships the
 * key later (handoff, anti-entropy) ships its dependency with it. */
struct dep {
	bool used;
	uint32_t ix;
	uint8_t dep_key[16];
	tally_pncounter_t need;
	uint8_t tok[TALLY_TOKEN_LEN];
};

/* Anti-entropy towards one peer: partitions to ship it, and the shipping cursor. */
struct ae_peer {
	uint32_t queue[AE_QUEUE];
	unsigned head, len;
	uint32_t cursor;          /* next table entry of the partition at the head */
	double tokens;            /* repair records it may still be sent (rate bound) */
	uint64_t last_sync;       /* when a digest exchange last found us equal */
	uint64_t digests_in, differ, records;
};

/* A partition's summary (docs/cluster.md#anti-entropy). */
struct digest {
	uint64_t keys;
	uint8_t hash[16];
	tally_vec_t vv;
};

struct counters {
	uint64_t client_frames, client_records, client_drops[TALLY_WIRE_VERDICT_END];
	uint64_t replies[TALLY_STATUS_END];
	uint64_t forwarded, applied, duplicates, reads, repairs_sent, repairs_applied;
	uint64_t handoff_records, handoff_dropped_keys, host_path_records, table_full, recoveries;
	uint64_t tokens_in, tokens_refused, not_yet, token_waits, token_checks_nic;
	uint64_t causal_writes, causal_in, held_total, held_dropped, held_bad_dep, held_max_ns, fetches;
	uint64_t pinned_retries, pins_evicted;
	uint64_t notes_sent, notes_in, noted_refused;
	uint64_t mv_puts, mv_merges, mv_siblings_max;
};

struct tally_node {
	struct tally_config cfg;
	char name[32];
	FILE *log;
	unsigned self;
	struct tally_wire_keys keys;
	uint8_t token_key[32];
	struct tally_placement *pl;
	tally_offload_t *engine;
	struct tally_dp *dp;
	struct tally_wire_addr me;
	struct tally_wal *wal;
	tally_dedup_t *dedup;
	/* Deliberate bugs for the fault suite's must-fail runs (fault injection
	 * only, /fault?break=...): apply retried op ids again; serve reads
	 * without honouring their session token. */
	bool broken_dedup, broken_tokens;
	/* Op ids applied by other origins (their op-id notes, docs/cluster.md):
	 * a retry of one here is refused as op_refused, never applied again.
	 * The ring holds the latest op ids applied here or noted, to give a
	 * member that restarted (its notes are lost with its memory). */
	tally_dedup_t *noted;
	struct opnote *notes;
	uint64_t notes_head;
	bool recovering_mode;     /* the data directory was lost: recover each key before raising it */
	uint32_t epoch;
	struct member m[TALLY_MAX_NODES];
	unsigned nmembers;
	struct keymeta *meta;
	uint32_t entries;

	struct op *ops;
	uint32_t free_op, nops;
	uint64_t op_gen;
	uint32_t bucket[OP_HASH];

	/* after the next commit */
	uint32_t *commit_ops;
	unsigned ncommit_ops;
	struct tally_offload_completion *acks;
	unsigned nacks, cap_acks;
	struct ackq *ackq;
	unsigned nackq, cap_ackq;

	struct txb tx[TALLY_MAX_NODES][TALLY_WIRE_TYPE_END];
	struct creply creply[MAX_CREPLY];

	int client_fd, admin_fd, sink_fd;
	struct admin_conn admin[ADMIN_CONNS];
	tally_node_admin_fn admin_fn;
	void *admin_ctx;

	uint64_t now, next_heartbeat, next_handoff, next_scan, started, last_snapshot;
	uint64_t next_ae, last_refill;
	uint32_t ae_part;         /* the next partition to summarise */
	struct ae_peer ae[TALLY_MAX_NODES];
	struct held *held;
	unsigned nheld;
	bool held_dirty;          /* something changed here: held records may be satisfied now */
	struct dep *deps;
	struct pin *pins;
	struct mventry *mv;        /* table_entries registers, open addressing */
	uint32_t mv_used;
	struct mvack *mvacks;
	unsigned nmvacks;
	struct counters c;
	uint64_t last_warn;
};


/* node.c, for the other parts */
void node_note(struct tally_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t node_now_ns(void);
bool node_is_up(const struct tally_node *n, unsigned id);
const uint8_t *node_ring_of(const struct tally_node *n, const uint8_t key[16], unsigned *count);
void node_frame_begin(struct tally_node *n, struct tally_wire_writer *w, uint8_t *buf, unsigned peer, unsigned type,
		      uint64_t ref, uint64_t *seq);
struct txb *node_txb_get(struct tally_node *n, unsigned peer, unsigned type);
void node_txb_flush(struct tally_node *n, unsigned peer, unsigned type);
struct dep *node_dep_of(struct tally_node *n, uint32_t ix);
uint32_t node_key_find(const struct tally_node *n, const uint8_t key[16]);
/** The key's preferred replicas (the first N of its ring), as a mask of node ids. */
uint8_t preferred_mask(const struct tally_node *n, const uint8_t key[16]);
int node_state_of(const struct tally_node *n, uint32_t ix, tally_pncounter_t *s);
int64_t node_value_of(const tally_pncounter_t *s, unsigned *status);
uint8_t node_handoff_targets(const struct tally_node *n, uint32_t ix);
uint8_t node_unconfirmed(const struct tally_node *n, const struct keymeta *k, const tally_pncounter_t *s, unsigned t);

void node_mv_ship(struct tally_node *n, unsigned peer, const uint8_t key[16], const tally_mvreg_t *reg,
		  unsigned purpose, uint64_t ref);

/* node_ae.c */
void node_ae_tick(struct tally_node *n);
void node_on_digest(struct tally_node *n, const struct tally_wire_frame *f);
void node_ae_ship(struct tally_node *n);

/* node_admin.c */
unsigned node_admin_poll(struct tally_node *n);

#endif /* TALLY_NODE_INT_H */
