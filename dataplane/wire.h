/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Wire protocol v2 (docs/wire.md): pure functions over (pointer, length)
 * that decode, verify, and encode tally frames, including their Ethernet,
 * IPv4 and UDP headers. No DPDK, no allocation, no state: the same code runs
 * in the DPDK poll loop, in unit tests and under libFuzzer.
 *
 * Decoding checks the whole frame, the MAC and every record before it
 * returns success, so a caller that applies records only after
 * tally_wire_decode() returned TALLY_WIRE_OK never applies part of a bad
 * frame. Record accessors then read fields without checking again.
 */

#ifndef TALLY_WIRE_H
#define TALLY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vec.h"

#define TALLY_WIRE_VERSION 2
#define TALLY_WIRE_DEFAULT_PORT 7470
#define TALLY_WIRE_L2L4_LEN 42      /**< Ethernet 14 + IPv4 20 + UDP 8 */
#define TALLY_WIRE_HDR_LEN 86       /**< tally header; records start at frame byte 128 */
#define TALLY_WIRE_MAX_PAYLOAD 8972 /**< UDP payload of a 9000-byte MTU */
#define TALLY_WIRE_MAC_LEN 16       /**< the MAC trailer after the records */
#define TALLY_WIRE_KEY_ID_LEN 16    /**< key ids are 128 bits */
#define TALLY_WIRE_INDEX_UNKNOWN UINT32_C(0xFFFFFFFF)
#define TALLY_WIRE_CLIENT_STR_MAX 64 /**< key and value bytes in a client record */
#define TALLY_WIRE_TOKEN_MAX 192     /**< token bytes in a client record: three beats */
#define TALLY_WIRE_CLIENT_INLINE 24  /**< key bytes a client record's first beat holds */
#define TALLY_WIRE_CLIENT_MAX_BEATS 6 /**< beats of the largest client record */
/** Most 64-byte records one frame can carry. */
#define TALLY_WIRE_MAX_SLOTS ((TALLY_WIRE_MAX_PAYLOAD - TALLY_WIRE_HDR_LEN - TALLY_WIRE_MAC_LEN) / 64)
/** Bytes of one vector on the wire: whole 64-byte beats of 8 slots. */
#define TALLY_WIRE_VEC_BYTES (((TALLY_MAX_NODES + 7) / 8) * 64)

/** Frame types. */
enum tally_wire_type {
	TALLY_WIRE_REPLICATE = 1,
	TALLY_WIRE_REPLICATE_ACK = 2,
	TALLY_WIRE_READ_REQUEST = 3,
	TALLY_WIRE_READ_REPLY = 4,
	TALLY_WIRE_REPAIR = 5,
	TALLY_WIRE_DIGEST = 6,
	TALLY_WIRE_CLIENT_REQUEST = 7,
	TALLY_WIRE_CLIENT_REPLY = 8,
	TALLY_WIRE_CAUSAL = 9,
	TALLY_WIRE_MVSTATE = 10,
	TALLY_WIRE_NOTE = 11,
	TALLY_WIRE_TYPE_END,
};

/** Why a frame was not accepted: the first check it failed. 0 is success. */
enum tally_wire_verdict {
	TALLY_WIRE_OK = 0,
	TALLY_WIRE_DROP_SHORT,
	TALLY_WIRE_DROP_NOT_IPV4_UDP,
	TALLY_WIRE_DROP_BAD_LENGTH,
	TALLY_WIRE_DROP_BAD_MAGIC,
	TALLY_WIRE_DROP_BAD_VERSION,
	TALLY_WIRE_DROP_BAD_TYPE,
	TALLY_WIRE_DROP_BAD_HEADER,
	TALLY_WIRE_DROP_BAD_COUNT,
	TALLY_WIRE_DROP_BAD_MAC,
	TALLY_WIRE_DROP_BAD_RECORD,
	TALLY_WIRE_VERDICT_END,
};

/** Record kinds. */
enum tally_wire_kind {
	TALLY_WIRE_KIND_PNCOUNTER = 1,
	TALLY_WIRE_KIND_MVREG = 2,
};

/** A 16-byte SipHash key. */
struct tally_wire_key {
	uint8_t k[16];
};


/** The sender id of a CLIENT_REQUEST: clients are not nodes. */
#define TALLY_WIRE_SENDER_CLIENT 0xFFFF

/** Addresses of a frame (host byte order for IPs and ports). */
struct tally_wire_addr {
	uint8_t src_mac[6], dst_mac[6];
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
};

/** The tally header's fields (magic, version and MAC are the codec's business). */
struct tally_wire_hdr {
	uint8_t type;
	uint16_t sender;
	uint16_t count;
	uint32_t epoch;
	uint64_t seq;
	uint64_t ref;
};

/** A decoded, verified frame: a view into the caller's buffer. */
struct tally_wire_frame {
	struct tally_wire_addr addr;
	struct tally_wire_hdr hdr;
	const uint8_t *records; /**< hdr.count records of record_size bytes (client records: 1..6 beats each) */
	size_t record_size;     /**< client records: 64, their first beat */
};

/** Slot record (REPLICATE, REPLICATE_ACK): origin's whole P and N slot values. */
struct tally_wire_slot {
	uint32_t index; /**< receiver's table index or TALLY_WIRE_INDEX_UNKNOWN */
	uint8_t kind;
	uint8_t origin;
	uint8_t key[TALLY_WIRE_KEY_ID_LEN];
	uint64_t p, n;
};

/**
 * Op-id note record (NOTE): the sender applied the write of op id
 * (client, seq) as its origin (docs/cluster.md#op-ids-a-retry-counts-once).
 * index is the note's place in the sender's ring, base the first index of
 * the sender's stream to the receiver, skip_from where the run of ring
 * entries the stream skipped before this one began.
 */
struct tally_wire_note {
	uint8_t op; /**< enum tally_wire_op of the write */
	uint64_t client, seq;
	uint64_t index, base, skip_from;
};

/**
 * Causal record (CAUSAL): a slot record whose write depends on what a session
 * had seen of another key, given as that session's token (docs/sessions.md).
 * Always for the host: a replica holds it back until its own state of the
 * token's key dominates the token, then merges the slot.
 */
struct tally_wire_causal {
	struct tally_wire_slot slot;
	uint8_t dep_len;                     /**< 1..TALLY_WIRE_TOKEN_MAX */
	uint8_t dep[TALLY_WIRE_TOKEN_MAX];
};

/**
 * MV-register record (MVSTATE): one sibling of a register's state, with the
 * register's causal context. A state of k siblings is k records, all in one
 * frame (a part of a state must never be merged alone); an ack, or a reply
 * for a register not held, is one record with no sibling.
 */
struct tally_wire_mvstate {
	uint8_t key[TALLY_WIRE_KEY_ID_LEN];
	uint8_t purpose;        /**< 0 a state (replicate, repair, read reply), 1 an ack (context only) */
	uint8_t status;         /**< 0 found, 1 not found */
	uint8_t sib_index, sib_count; /**< sibling i of n; 0 of 0 for no sibling */
	uint8_t value_len;      /**< 0..64 */
	uint8_t lww;            /**< 1: the register is last-writer-wins (an explicit opt-in) */
	uint32_t dot_node;      /**< the sibling's dot: the write's origin, < TALLY_MAX_NODES */
	uint64_t dot_counter;   /**< and its counter there */
	uint64_t lww_time;      /**< lww: the write's time (0 otherwise) */
	tally_vec_t ctx;        /**< the register's causal context */
	uint8_t value[TALLY_WIRE_CLIENT_STR_MAX];
};

/** Key record (READ_REQUEST). */
struct tally_wire_keyrec {
	uint32_t index;
	uint8_t kind;
	uint8_t key[TALLY_WIRE_KEY_ID_LEN];
};

/** State record (READ_REPLY, REPAIR): a key's whole P and N vectors. */
struct tally_wire_state {
	uint32_t index;
	uint8_t kind;
	uint16_t status; /**< 0 found, 1 not found */
	uint8_t key[TALLY_WIRE_KEY_ID_LEN];
	tally_vec_t p, n;
};

/** Digest record (DIGEST). */
struct tally_wire_digest {
	uint32_t partition;
	uint8_t kind;
	uint64_t keys;
	uint8_t hash[16];
	tally_vec_t vv;
};

/** Client operations. */
enum tally_wire_op {
	TALLY_WIRE_OP_INCR = 1,
	TALLY_WIRE_OP_DECR = 2,
	TALLY_WIRE_OP_GET = 3,
	TALLY_WIRE_OP_PUT = 4,
};

/** Client request flags. */
#define TALLY_WIRE_CLIENT_FLAG_TOKEN 0x01 /**< answer with a session token */

/**
 * Client record (CLIENT_REQUEST, CLIENT_REPLY). Fields a direction does not
 * use are 0; a request's value and a reply's delta are not encoded (they
 * share a field on the wire).
 */
struct tally_wire_client {
	uint8_t op;            /**< enum tally_wire_op */
	uint8_t w, r;          /**< request: 0 = cluster default */
	uint8_t flags;         /**< request: TALLY_WIRE_CLIENT_FLAG_* */
	uint16_t status;       /**< reply */
	int64_t value;         /**< reply: the counter's value */
	uint64_t client, seq;  /**< the op id */
	uint64_t delta;        /**< request: incr/decr amount */
	uint32_t deadline_ms;  /**< request */
	uint8_t sib_index, sib_count; /**< reply: sibling i of n (MV-register values); 0, 0 otherwise */
	uint8_t key_len, value_len, token_len;
	uint8_t key[TALLY_WIRE_CLIENT_STR_MAX];
	uint8_t val[TALLY_WIRE_CLIENT_STR_MAX];
	uint8_t token[TALLY_WIRE_TOKEN_MAX];
};

/**
 * Record size of frame type @p type, or 0 for an unknown type. Client
 * records are 1 to 6 beats: for them, 64 (the first beat).
 */
size_t tally_wire_record_size(unsigned type);

/** Beats client record @p c takes on the wire (1..6), or 0 if a length is out of range. */
unsigned tally_wire_client_beats(const struct tally_wire_client *c);

/** Short name of a verdict ("ok", "short", "bad_mac", ...), as docs/wire.md names them. */
const char *tally_wire_verdict_name(unsigned verdict);

/**
 * The key of the cluster link, which authenticates every frame between nodes,
 * of every type (libsodium KDF of the 32-byte cluster key, context
 * "tallywir", subkey 1). Only members hold the cluster key.
 */
int tally_wire_node_key(struct tally_wire_key *out, const uint8_t cluster_key[32]);

/**
 * Client @p client_id's credential: the key of its frames on a client port
 * (KDF of the cluster key, context "tallycli", subkey @p client_id). The node
 * derives it from the id a request names (its header's epoch field); the
 * client holds it alone and can derive no other key from it (docs/wire.md).
 */
int tally_wire_client_key(struct tally_wire_key *out, const uint8_t cluster_key[32], uint32_t client_id);

/**
 * Decode and verify a whole Ethernet frame of @p len bytes: L2-L4 headers,
 * tally header, lengths, MAC under @p key (the link's), every record. On TALLY_WIRE_OK,
 * @p out describes the frame (pointing into @p frame).
 * @return TALLY_WIRE_OK or the drop reason.
 */
enum tally_wire_verdict tally_wire_decode(const void *frame, size_t len,
					  const struct tally_wire_key *key,
					  struct tally_wire_frame *out);

/**
 * The client credential id a datagram to a client port names (its header's
 * epoch field), read before anything is verified: the key to verify it with.
 * @return TALLY_WIRE_OK, or TALLY_WIRE_DROP_SHORT for a datagram shorter than a header.
 */
enum tally_wire_verdict tally_wire_client_id(const void *payload, size_t len, uint32_t *id);

/** As tally_wire_decode() for a UDP payload alone (out->addr is zeroed). */
enum tally_wire_verdict tally_wire_decode_payload(const void *payload, size_t len,
						  const struct tally_wire_key *key,
						  struct tally_wire_frame *out);

/** Record @p i of a verified frame, by type. The caller picks the accessor for hdr.type. */
void tally_wire_get_slot(const struct tally_wire_frame *f, unsigned i, struct tally_wire_slot *out);
void tally_wire_get_keyrec(const struct tally_wire_frame *f, unsigned i, struct tally_wire_keyrec *out);
void tally_wire_get_state(const struct tally_wire_frame *f, unsigned i, struct tally_wire_state *out);
void tally_wire_get_digest(const struct tally_wire_frame *f, unsigned i, struct tally_wire_digest *out);
/** Client record @p i: found by walking the records before it (use tally_wire_next_client() in a loop). */
void tally_wire_get_client(const struct tally_wire_frame *f, unsigned i, struct tally_wire_client *out);
/**
 * The client record at byte @p *off of the records (0 for the first), and
 * @p *off moved to the next: the way to read them all in order.
 */
void tally_wire_next_client(const struct tally_wire_frame *f, size_t *off, struct tally_wire_client *out);
/**
 * The op and op id of the client record at @p rec, without decoding it: of
 * a verified frame, or of one dropped as TALLY_WIRE_DROP_BAD_RECORD (its
 * walk by beats was checked before its records). @return the record's
 * bytes: the next record starts there.
 */
size_t tally_wire_client_opid(const uint8_t *rec, uint8_t *op, uint64_t *client, uint64_t *seq);
void tally_wire_get_causal(const struct tally_wire_frame *f, unsigned i, struct tally_wire_causal *out);
void tally_wire_get_mvstate(const struct tally_wire_frame *f, unsigned i, struct tally_wire_mvstate *out);
void tally_wire_get_note(const struct tally_wire_frame *f, unsigned i, struct tally_wire_note *out);

/** Builds one frame in a caller's buffer. finish() appends the MAC trailer. */
struct tally_wire_writer {
	uint8_t *buf;
	size_t cap;       /**< bytes available at buf */
	size_t len;       /**< frame bytes so far */
	size_t max_len;   /**< frame length limit: cap, and the MTU */
	size_t rec_size;
	uint16_t count;
	uint8_t type;
};

/**
 * Start a frame of @p hdr->type in @p buf (@p cap bytes) from @p addr, for a
 * link of @p mtu bytes (IP MTU; 0 means the largest, 9000).
 * @return 0; -EINVAL for a bad type, sender or MTU; -ENOSPC if not even an
 *   empty frame fits.
 */
int tally_wire_begin(struct tally_wire_writer *w, void *buf, size_t cap, unsigned mtu,
		     const struct tally_wire_addr *addr, const struct tally_wire_hdr *hdr);

/**
 * Records that still fit. For a client frame, records of the largest size
 * (6 beats): any client record fits while this is above 0.
 */
unsigned tally_wire_room(const struct tally_wire_writer *w);

/**
 * Append a record; the writer's type must take that record.
 * @return 0; -ENOSPC when the frame is full; -EINVAL for a wrong type or a
 *   field out of range (nothing appended).
 */
int tally_wire_add_slot(struct tally_wire_writer *w, const struct tally_wire_slot *r);
int tally_wire_add_keyrec(struct tally_wire_writer *w, const struct tally_wire_keyrec *r);
int tally_wire_add_state(struct tally_wire_writer *w, const struct tally_wire_state *r);
int tally_wire_add_digest(struct tally_wire_writer *w, const struct tally_wire_digest *r);
int tally_wire_add_client(struct tally_wire_writer *w, const struct tally_wire_client *r);
int tally_wire_add_causal(struct tally_wire_writer *w, const struct tally_wire_causal *r);
int tally_wire_add_mvstate(struct tally_wire_writer *w, const struct tally_wire_mvstate *r);
int tally_wire_add_note(struct tally_wire_writer *w, const struct tally_wire_note *r);

/** Slot record @p i already added to @p w (a REPLICATE or REPLICATE_ACK writer). @return 0, or -EINVAL. */
int tally_wire_peek_slot(const struct tally_wire_writer *w, unsigned i, struct tally_wire_slot *out);

/**
 * Raise slot record @p i of @p w to at least (@p p, @p n): a later state of
 * the same slot replaces an earlier one in a frame not yet finished (slot
 * values only grow, so the frame then carries the newest). @return 0, or -EINVAL.
 */
int tally_wire_raise_slot(struct tally_wire_writer *w, unsigned i, uint64_t p, uint64_t n);

/**
 * Complete the frame: record count, IPv4 and UDP lengths, IPv4 checksum and
 * the MAC under @p key (the link's). @return the frame's length in bytes.
 */
size_t tally_wire_finish(struct tally_wire_writer *w, const struct tally_wire_key *key);

/** The 128-bit key id of a key's bytes (XXH3-128, little-endian). */
void tally_wire_key_id(const void *key, size_t len, uint8_t out[TALLY_WIRE_KEY_ID_LEN]);

#endif /* TALLY_WIRE_H */
