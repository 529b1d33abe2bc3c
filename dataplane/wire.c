/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Wire protocol v2 codec: the byte layouts of docs/wire.md. Every read is
 * from a length already bounded; every field is range-checked before
 * tally_wire_decode() reports success. The NIC parser (rtl/) makes the same
 * checks in the same order, so both count the same drops.
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <sodium.h>
#include <xxhash.h>

#include "wire.h"

/* Header field offsets in the UDP payload (docs/wire.md). */
enum {
	H_MAGIC = 0, H_VERSION = 4, H_TYPE = 5, H_FLAGS = 6, H_SENDER = 8, H_COUNT = 10,
	H_SLOTS = 12, H_EPOCH = 16, H_SEQ = 24, H_REF = 32,
};
/* Reserved header byte ranges: [start, end). */
static const uint8_t hdr_reserved[][2] = { { 13, 16 }, { 20, 24 }, { 40, 86 } };

static const uint8_t magic[4] = { 'T', 'A', 'L', 'Y' };

/* ---- little- and big-endian access on byte pointers ---- */

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}

static void
putbe16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
putbe32(uint8_t *p, uint32_t v)
{
	putbe16(p, (uint16_t)(v >> 16));
	putbe16(p + 2, (uint16_t)v);
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	/* Eight bytes at a time: client records are mostly padding to check. */
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* ---- sizes and names ---- */

size_t
tally_wire_record_size(unsigned type)
{
	switch (type) {
	case TALLY_WIRE_REPLICATE:
	case TALLY_WIRE_REPLICATE_ACK:
	case TALLY_WIRE_READ_REQUEST:
		return 64;
	case TALLY_WIRE_READ_REPLY:
	case TALLY_WIRE_REPAIR:
		return 64 + 2 * TALLY_WIRE_VEC_BYTES;
	case TALLY_WIRE_DIGEST:
		return 64 + TALLY_WIRE_VEC_BYTES;
	case TALLY_WIRE_CLIENT_REQUEST:
	case TALLY_WIRE_CLIENT_REPLY:
		return 64; /* the first beat: 1..6 beats a record */
	case TALLY_WIRE_CAUSAL:
		return 64 + TALLY_WIRE_TOKEN_MAX;
	case TALLY_WIRE_MVSTATE:
		return 64 + TALLY_WIRE_VEC_BYTES + 64;
	case TALLY_WIRE_NOTE:
		return 64;
	default:
		return 0;
	}
}

const char *
tally_wire_verdict_name(unsigned v)
{
	static const char *const names[TALLY_WIRE_VERDICT_END] = {
		[TALLY_WIRE_OK] = "ok",
		[TALLY_WIRE_DROP_SHORT] = "short",
		[TALLY_WIRE_DROP_NOT_IPV4_UDP] = "not_ipv4_udp",
		[TALLY_WIRE_DROP_BAD_LENGTH] = "bad_length",
		[TALLY_WIRE_DROP_BAD_MAGIC] = "bad_magic",
		[TALLY_WIRE_DROP_BAD_VERSION] = "bad_version",
		[TALLY_WIRE_DROP_BAD_TYPE] = "bad_type",
		[TALLY_WIRE_DROP_BAD_HEADER] = "bad_header",
		[TALLY_WIRE_DROP_BAD_COUNT] = "bad_count",
		[TALLY_WIRE_DROP_BAD_MAC] = "bad_mac",
		[TALLY_WIRE_DROP_BAD_RECORD] = "bad_record",
	};
	return v < TALLY_WIRE_VERDICT_END ? names[v] : "invalid";
}

static bool
is_client_type(unsigned type)
{
	return type == TALLY_WIRE_CLIENT_REQUEST || type == TALLY_WIRE_CLIENT_REPLY;
}

/* Client record beat 0 (docs/wire.md#client-records-1-to-6-beats-client_request-client_reply). */
enum {
	C_OP = 0, C_BEATS = 1, C_W = 2, C_R = 3, C_KEY_LEN = 4, C_VALUE_LEN = 5, C_TOKEN_LEN = 6, C_FLAGS = 7,
	C_STATUS = 8, C_SIB_INDEX = 10, C_SIB_COUNT = 11, C_DEADLINE = 12, C_CLIENT = 16, C_SEQ = 24,
	C_DELTA = 32, C_KEY = 40,
};

/* Bytes of the client record at @p r: where the next one starts. */
static size_t
client_bytes(const uint8_t *r)
{
	return 64 * (1 + (size_t)r[C_BEATS]);
}

size_t
tally_wire_client_opid(const uint8_t *rec, uint8_t *op, uint64_t *client, uint64_t *seq)
{
	*op = rec[C_OP];
	*client = le64(rec + C_CLIENT);
	*seq = le64(rec + C_SEQ);
	return client_bytes(rec);
}

/* Beats after beat 0: a long key's, the value's, the token's. */
static unsigned
client_ext(unsigned kl, unsigned vl, unsigned tl)
{
	return (kl > TALLY_WIRE_CLIENT_INLINE) + (vl > 0) + (tl + 63) / 64;
}

unsigned
tally_wire_client_beats(const struct tally_wire_client *c)
{
	if (c->key_len > TALLY_WIRE_CLIENT_STR_MAX || c->value_len > TALLY_WIRE_CLIENT_STR_MAX ||
	    c->token_len > TALLY_WIRE_TOKEN_MAX)
		return 0;
	return 1 + client_ext(c->key_len, c->value_len, c->token_len);
}

/* ---- keys and MAC ---- */

int
tally_wire_node_key(struct tally_wire_key *out, const uint8_t cluster_key[32])
{
	static const char ctx[crypto_kdf_CONTEXTBYTES] = { 't', 'a', 'l', 'l', 'y', 'w', 'i', 'r' };

	if (sodium_init() < 0 || crypto_kdf_derive_from_key(out->k, sizeof(out->k), 1, ctx, cluster_key) != 0)
		return -EIO;
	return 0;
}

int
tally_wire_client_key(struct tally_wire_key *out, const uint8_t cluster_key[32], uint32_t client_id)
{
	static const char ctx[crypto_kdf_CONTEXTBYTES] = { 't', 'a', 'l', 'l', 'y', 'c', 'l', 'i' };

	if (sodium_init() < 0 || crypto_kdf_derive_from_key(out->k, sizeof(out->k), client_id, ctx, cluster_key) != 0)
		return -EIO;
	return 0;
}

/* The MAC trailer covers every payload byte before it: one contiguous range,
 * so neither the host nor the NIC copies or skips anything to compute it. */
static void
payload_mac(const uint8_t *payload, size_t covered, const struct tally_wire_key *key,
	    uint8_t out[TALLY_WIRE_MAC_LEN])
{
	crypto_shorthash_siphashx24(out, payload, covered, key->k);
}

/* ---- record checks ---- */

static bool
vec_ok(const uint8_t *p)
{
	/* Slots beyond TALLY_MAX_NODES pad the last beat and must be zero. */
	return all_zero(p + 8 * TALLY_MAX_NODES, TALLY_WIRE_VEC_BYTES - 8 * TALLY_MAX_NODES);
}

/*
 * A client record at @p r, whose 1 + r[C_BEATS] beats the caller has (the
 * walk of the frame's records found them).
 */
static bool
client_ok(bool req, const uint8_t *r)
{
	unsigned op = r[C_OP], kl = r[C_KEY_LEN], vl = r[C_VALUE_LEN], tl = r[C_TOKEN_LEN];
	unsigned inl = kl <= TALLY_WIRE_CLIENT_INLINE ? kl : 0;
	const uint8_t *e = r + 64;

	if (op < TALLY_WIRE_OP_INCR || op > TALLY_WIRE_OP_PUT || kl > TALLY_WIRE_CLIENT_STR_MAX ||
	    vl > TALLY_WIRE_CLIENT_STR_MAX || tl > TALLY_WIRE_TOKEN_MAX || r[C_BEATS] != client_ext(kl, vl, tl) ||
	    !all_zero(r + C_KEY + inl, TALLY_WIRE_CLIENT_INLINE - inl))
		return false;
	if (req) { /* names a key, asks no more replicas than exist, has no result */
		if (kl < 1 || r[C_W] > TALLY_MAX_NODES || r[C_R] > TALLY_MAX_NODES ||
		    (r[C_FLAGS] & ~TALLY_WIRE_CLIENT_FLAG_TOKEN) != 0 || le16(r + C_STATUS) != 0 ||
		    r[C_SIB_INDEX] != 0 || r[C_SIB_COUNT] != 0)
			return false;
	} else if (r[C_W] != 0 || r[C_R] != 0 || r[C_FLAGS] != 0 || le32(r + C_DEADLINE) != 0 ||
		   !(r[C_SIB_INDEX] < r[C_SIB_COUNT] || (r[C_SIB_INDEX] == 0 && r[C_SIB_COUNT] == 0))) {
		return false; /* a reply: sibling i of n, or 0 of 0 */
	}
	if (kl > TALLY_WIRE_CLIENT_INLINE) {
		if (!all_zero(e + kl, 64 - kl))
			return false;
		e += 64;
	}
	if (vl > 0) {
		if (!all_zero(e + vl, 64 - vl))
			return false;
		e += 64;
	}
	for (unsigned t = 0; 64 * t < tl; t++, e += 64) {
		unsigned used = tl - 64 * t < 64 ? tl - 64 * t : 64;
		if (!all_zero(e + used, 64 - used))
			return false;
	}
	return true;
}

static bool
record_ok(unsigned type, const uint8_t *r)
{
	switch (type) {
	case TALLY_WIRE_REPLICATE:
	case TALLY_WIRE_REPLICATE_ACK:
		return r[4] == TALLY_WIRE_KIND_PNCOUNTER && r[5] < TALLY_MAX_NODES &&
		       le16(r + 6) == 0 && all_zero(r + 40, 24);
	case TALLY_WIRE_CAUSAL: /* a slot record, its dependency's length at byte 40, the dependency */
		return r[4] == TALLY_WIRE_KIND_PNCOUNTER && r[5] < TALLY_MAX_NODES && le16(r + 6) == 0 &&
		       r[40] >= 1 && r[40] <= TALLY_WIRE_TOKEN_MAX && all_zero(r + 41, 23) &&
		       all_zero(r + 64 + r[40], TALLY_WIRE_TOKEN_MAX - r[40]);
	case TALLY_WIRE_MVSTATE: { /* beat 0, the context, the value */
		unsigned vl = r[21];
		return r[16] == TALLY_WIRE_KIND_MVREG && r[17] <= 1 && r[18] <= 1 &&
		       (r[19] < r[20] || (r[19] == 0 && r[20] == 0)) && vl <= 64 && r[22] <= 1 && r[23] == 0 &&
		       le32(r + 24) < TALLY_MAX_NODES && all_zero(r + 28, 4) && all_zero(r + 48, 16) &&
		       vec_ok(r + 64) && all_zero(r + 64 + TALLY_WIRE_VEC_BYTES + vl, 64 - vl);
	}
	case TALLY_WIRE_READ_REQUEST:
		return r[4] == TALLY_WIRE_KIND_PNCOUNTER && all_zero(r + 5, 3) && all_zero(r + 24, 40);
	case TALLY_WIRE_NOTE: /* op, then client, seq, index, base, skip_from at 8..47 */
		return r[0] >= TALLY_WIRE_OP_INCR && r[0] <= TALLY_WIRE_OP_PUT && all_zero(r + 1, 7) &&
		       all_zero(r + 48, 16);
	case TALLY_WIRE_READ_REPLY:
	case TALLY_WIRE_REPAIR:
		return r[4] == TALLY_WIRE_KIND_PNCOUNTER && r[5] == 0 && le16(r + 6) <= 1 &&
		       all_zero(r + 24, 40) && vec_ok(r + 64) && vec_ok(r + 64 + TALLY_WIRE_VEC_BYTES);
	case TALLY_WIRE_DIGEST:
		return r[4] == TALLY_WIRE_KIND_PNCOUNTER && all_zero(r + 5, 3) && all_zero(r + 32, 32) &&
		       vec_ok(r + 64);
	case TALLY_WIRE_CLIENT_REQUEST:
	case TALLY_WIRE_CLIENT_REPLY:
		return client_ok(type == TALLY_WIRE_CLIENT_REQUEST, r);
	default:
		return false;
	}
}

/* ---- decoding ---- */

enum tally_wire_verdict
tally_wire_client_id(const void *payload, size_t len, uint32_t *id)
{
	if (len < TALLY_WIRE_HDR_LEN + TALLY_WIRE_MAC_LEN)
		return TALLY_WIRE_DROP_SHORT;
	*id = le32((const uint8_t *)payload + H_EPOCH);
	return TALLY_WIRE_OK;
}

enum tally_wire_verdict
tally_wire_decode_payload(const void *payload, size_t len, const struct tally_wire_key *key,
			  struct tally_wire_frame *out)
{
	const uint8_t *p = payload;
	uint8_t mac[TALLY_WIRE_MAC_LEN];
	size_t rs;

	if (len < TALLY_WIRE_HDR_LEN + TALLY_WIRE_MAC_LEN)
		return TALLY_WIRE_DROP_SHORT;
	if (len > TALLY_WIRE_MAX_PAYLOAD)
		return TALLY_WIRE_DROP_BAD_LENGTH;
	if (memcmp(p + H_MAGIC, magic, sizeof(magic)) != 0)
		return TALLY_WIRE_DROP_BAD_MAGIC;
	if (p[H_VERSION] != TALLY_WIRE_VERSION)
		return TALLY_WIRE_DROP_BAD_VERSION;
	rs = tally_wire_record_size(p[H_TYPE]);
	if (rs == 0)
		return TALLY_WIRE_DROP_BAD_TYPE;

	unsigned sender = le16(p + H_SENDER);
	bool sender_ok = p[H_TYPE] == TALLY_WIRE_CLIENT_REQUEST ? sender == TALLY_WIRE_SENDER_CLIENT
								 : sender < TALLY_MAX_NODES;
	if (le16(p + H_FLAGS) != 0 || !sender_ok || p[H_SLOTS] != TALLY_MAX_NODES)
		return TALLY_WIRE_DROP_BAD_HEADER;
	for (size_t i = 0; i < sizeof(hdr_reserved) / sizeof(hdr_reserved[0]); i++)
		if (!all_zero(p + hdr_reserved[i][0], hdr_reserved[i][1] - hdr_reserved[i][0]))
			return TALLY_WIRE_DROP_BAD_HEADER;

	unsigned count = le16(p + H_COUNT);
	size_t rb = len - TALLY_WIRE_HDR_LEN - TALLY_WIRE_MAC_LEN; /* the records' bytes */
	const uint8_t *recs = p + TALLY_WIRE_HDR_LEN;
	if (is_client_type(p[H_TYPE])) {
		/* Walk them by their beats: count records, ending at the MAC. */
		size_t off = 0, n = 0;
		if (rb % 64 != 0)
			return TALLY_WIRE_DROP_BAD_COUNT;
		for (; off < rb; n++)
			off += client_bytes(recs + off);
		if (off != rb || n != count)
			return TALLY_WIRE_DROP_BAD_COUNT;
	} else if (rb != (size_t)count * rs) {
		return TALLY_WIRE_DROP_BAD_COUNT;
	}

	payload_mac(p, len - TALLY_WIRE_MAC_LEN, key, mac);
	if (sodium_memcmp(mac, p + len - TALLY_WIRE_MAC_LEN, sizeof(mac)) != 0)
		return TALLY_WIRE_DROP_BAD_MAC;

	if (is_client_type(p[H_TYPE])) {
		for (size_t off = 0; off < rb; off += client_bytes(recs + off))
			if (!client_ok(p[H_TYPE] == TALLY_WIRE_CLIENT_REQUEST, recs + off))
				return TALLY_WIRE_DROP_BAD_RECORD;
	} else {
		for (unsigned i = 0; i < count; i++)
			if (!record_ok(p[H_TYPE], recs + (size_t)i * rs))
				return TALLY_WIRE_DROP_BAD_RECORD;
	}

	memset(&out->addr, 0, sizeof(out->addr));
	out->hdr = (struct tally_wire_hdr){
		.type = p[H_TYPE],
		.sender = (uint16_t)sender,
		.count = (uint16_t)count,
		.epoch = le32(p + H_EPOCH),
		.seq = le64(p + H_SEQ),
		.ref = le64(p + H_REF),
	};
	out->records = p + TALLY_WIRE_HDR_LEN;
	out->record_size = rs;
	return TALLY_WIRE_OK;
}

/* Ones' complement sum of the 20-byte IPv4 header, folded. */
static uint16_t
ipv4_sum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += be16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

enum tally_wire_verdict
tally_wire_decode(const void *frame, size_t len, const struct tally_wire_key *key,
		  struct tally_wire_frame *out)
{
	const uint8_t *f = frame, *ip = f + 14, *udp = f + 34;
	enum tally_wire_verdict v;

	if (len < TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN + TALLY_WIRE_MAC_LEN)
		return TALLY_WIRE_DROP_SHORT;
	/* Untagged IPv4, no options, not fragmented, UDP, checksum right. */
	if (be16(f + 12) != 0x0800 || ip[0] != 0x45 || (be16(ip + 6) & 0x3fff) != 0 || ip[9] != 17 ||
	    ipv4_sum(ip) != 0xffff)
		return TALLY_WIRE_DROP_NOT_IPV4_UDP;
	if (be16(ip + 2) != len - 14 || be16(udp + 4) != len - 34)
		return TALLY_WIRE_DROP_BAD_LENGTH;

	v = tally_wire_decode_payload(f + TALLY_WIRE_L2L4_LEN, len - TALLY_WIRE_L2L4_LEN, key, out);
	if (v != TALLY_WIRE_OK)
		return v;
	memcpy(out->addr.dst_mac, f, 6);
	memcpy(out->addr.src_mac, f + 6, 6);
	out->addr.src_ip = be32(ip + 12);
	out->addr.dst_ip = be32(ip + 16);
	out->addr.src_port = be16(udp);
	out->addr.dst_port = be16(udp + 2);
	return TALLY_WIRE_OK;
}

/* ---- record accessors ---- */

static const uint8_t *
rec(const struct tally_wire_frame *f, unsigned i)
{
	return f->records + (size_t)i * f->record_size;
}

static void
get_vec(const uint8_t *p, tally_vec_t *v)
{
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		v->slot[i] = le64(p + 8 * i);
}

/* A slot record's fields (REPLICATE, REPLICATE_ACK, and a CAUSAL record's first beat). */
static void
slot_decode(const uint8_t *r, struct tally_wire_slot *out)
{
	out->index = le32(r);
	out->kind = r[4];
	out->origin = r[5];
	memcpy(out->key, r + 8, TALLY_WIRE_KEY_ID_LEN);
	out->p = le64(r + 24);
	out->n = le64(r + 32);
}

void
tally_wire_get_slot(const struct tally_wire_frame *f, unsigned i, struct tally_wire_slot *out)
{
	slot_decode(rec(f, i), out);
}

void
tally_wire_get_note(const struct tally_wire_frame *f, unsigned i, struct tally_wire_note *out)
{
	const uint8_t *r = rec(f, i);

	*out = (struct tally_wire_note){ .op = r[0], .client = le64(r + 8), .seq = le64(r + 16), .index = le64(r + 24),
					 .base = le64(r + 32), .skip_from = le64(r + 40) };
}

void
tally_wire_get_causal(const struct tally_wire_frame *f, unsigned i, struct tally_wire_causal *out)
{
	const uint8_t *r = rec(f, i);

	memset(out, 0, sizeof(*out));
	slot_decode(r, &out->slot);
	out->dep_len = r[40];
	memcpy(out->dep, r + 64, out->dep_len);
}

void
tally_wire_get_mvstate(const struct tally_wire_frame *f, unsigned i, struct tally_wire_mvstate *out)
{
	const uint8_t *r = rec(f, i);

	memset(out, 0, sizeof(*out));
	memcpy(out->key, r, TALLY_WIRE_KEY_ID_LEN);
	out->purpose = r[17];
	out->status = r[18];
	out->sib_index = r[19];
	out->sib_count = r[20];
	out->value_len = r[21];
	out->lww = r[22];
	out->dot_node = le32(r + 24);
	out->dot_counter = le64(r + 32);
	out->lww_time = le64(r + 40);
	get_vec(r + 64, &out->ctx);
	memcpy(out->value, r + 64 + TALLY_WIRE_VEC_BYTES, out->value_len);
}

void
tally_wire_get_keyrec(const struct tally_wire_frame *f, unsigned i, struct tally_wire_keyrec *out)
{
	const uint8_t *r = rec(f, i);

	out->index = le32(r);
	out->kind = r[4];
	memcpy(out->key, r + 8, TALLY_WIRE_KEY_ID_LEN);
}

void
tally_wire_get_state(const struct tally_wire_frame *f, unsigned i, struct tally_wire_state *out)
{
	const uint8_t *r = rec(f, i);

	out->index = le32(r);
	out->kind = r[4];
	out->status = le16(r + 6);
	memcpy(out->key, r + 8, TALLY_WIRE_KEY_ID_LEN);
	get_vec(r + 64, &out->p);
	get_vec(r + 64 + TALLY_WIRE_VEC_BYTES, &out->n);
}

void
tally_wire_get_digest(const struct tally_wire_frame *f, unsigned i, struct tally_wire_digest *out)
{
	const uint8_t *r = rec(f, i);

	out->partition = le32(r);
	out->kind = r[4];
	out->keys = le64(r + 8);
	memcpy(out->hash, r + 16, 16);
	get_vec(r + 64, &out->vv);
}

/* The client record at @p r of a frame of @p type. @return its bytes. */
static size_t
client_decode(unsigned type, const uint8_t *r, struct tally_wire_client *out)
{
	unsigned kl = r[C_KEY_LEN], vl = r[C_VALUE_LEN], tl = r[C_TOKEN_LEN];
	const uint8_t *e = r + 64;

	memset(out, 0, offsetof(struct tally_wire_client, key));
	out->op = r[C_OP];
	out->w = r[C_W];
	out->r = r[C_R];
	out->flags = r[C_FLAGS];
	out->key_len = (uint8_t)kl;
	out->value_len = (uint8_t)vl;
	out->token_len = (uint8_t)tl;
	out->status = le16(r + C_STATUS);
	out->sib_index = r[C_SIB_INDEX];
	out->sib_count = r[C_SIB_COUNT];
	out->deadline_ms = le32(r + C_DEADLINE);
	out->client = le64(r + C_CLIENT);
	out->seq = le64(r + C_SEQ);
	if (type == TALLY_WIRE_CLIENT_REQUEST)
		out->delta = le64(r + C_DELTA);
	else
		out->value = (int64_t)le64(r + C_DELTA);
	/* Bytes past each length are zero, as v1's decoder left them. */
	memset(out->key + kl, 0, sizeof(out->key) - kl);
	memset(out->val + vl, 0, sizeof(out->val) - vl);
	memset(out->token + tl, 0, sizeof(out->token) - tl);
	if (kl <= TALLY_WIRE_CLIENT_INLINE) {
		memcpy(out->key, r + C_KEY, kl);
	} else {
		memcpy(out->key, e, kl);
		e += 64;
	}
	if (vl > 0) {
		memcpy(out->val, e, vl);
		e += 64;
	}
	memcpy(out->token, e, tl);
	return client_bytes(r);
}

void
tally_wire_next_client(const struct tally_wire_frame *f, size_t *off, struct tally_wire_client *out)
{
	*off += client_decode(f->hdr.type, f->records + *off, out);
}

void
tally_wire_get_client(const struct tally_wire_frame *f, unsigned i, struct tally_wire_client *out)
{
	size_t off = 0;

	for (unsigned k = 0; k < i; k++)
		off += client_bytes(f->records + off);
	tally_wire_next_client(f, &off, out);
}

/* ---- encoding ---- */

int
tally_wire_begin(struct tally_wire_writer *w, void *buf, size_t cap, unsigned mtu,
		 const struct tally_wire_addr *addr, const struct tally_wire_hdr *hdr)
{
	size_t rs = tally_wire_record_size(hdr->type);
	bool sender_ok = hdr->type == TALLY_WIRE_CLIENT_REQUEST ? hdr->sender == TALLY_WIRE_SENDER_CLIENT
								 : hdr->sender < TALLY_MAX_NODES;
	uint8_t *f = buf, *ip = f + 14, *udp = f + 34, *p = f + TALLY_WIRE_L2L4_LEN;

	if (mtu == 0)
		mtu = 20 + 8 + TALLY_WIRE_MAX_PAYLOAD;
	if (rs == 0 || !sender_ok || mtu < 20 + 8 + TALLY_WIRE_HDR_LEN + TALLY_WIRE_MAC_LEN ||
	    mtu > 20 + 8 + TALLY_WIRE_MAX_PAYLOAD)
		return -EINVAL;
	if (cap < TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN + TALLY_WIRE_MAC_LEN)
		return -ENOSPC;

	memset(f, 0, TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN);
	memcpy(f, addr->dst_mac, 6);
	memcpy(f + 6, addr->src_mac, 6);
	putbe16(f + 12, 0x0800);
	ip[0] = 0x45;
	putbe16(ip + 6, 0x4000); /* don't fragment */
	ip[8] = 64;              /* TTL */
	ip[9] = 17;
	putbe32(ip + 12, addr->src_ip);
	putbe32(ip + 16, addr->dst_ip);
	putbe16(udp, addr->src_port);
	putbe16(udp + 2, addr->dst_port);

	memcpy(p + H_MAGIC, magic, sizeof(magic));
	p[H_VERSION] = TALLY_WIRE_VERSION;
	p[H_TYPE] = hdr->type;
	put16(p + H_SENDER, hdr->sender);
	p[H_SLOTS] = TALLY_MAX_NODES;
	put32(p + H_EPOCH, hdr->epoch);
	put64(p + H_SEQ, hdr->seq);
	put64(p + H_REF, hdr->ref);

	w->buf = f;
	w->cap = cap;
	w->len = TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN;
	w->max_len = 14 + (size_t)mtu < cap ? 14 + (size_t)mtu : cap;
	w->rec_size = rs;
	w->count = 0;
	w->type = hdr->type;
	return 0;
}

unsigned
tally_wire_room(const struct tally_wire_writer *w)
{
	size_t left = (w->max_len - w->len - TALLY_WIRE_MAC_LEN) / w->rec_size;

	if (is_client_type(w->type)) /* beats, in records of the largest size */
		left /= TALLY_WIRE_CLIENT_MAX_BEATS;

	return left > (size_t)(UINT16_MAX - w->count) ? UINT16_MAX - w->count : (unsigned)left;
}

/* Room for one record of @type: its zeroed bytes, or NULL with *rc set. */
static uint8_t *
reserve(struct tally_wire_writer *w, bool type_ok, int *rc)
{
	uint8_t *r;

	if (!type_ok) {
		*rc = -EINVAL;
		return NULL;
	}
	if (tally_wire_room(w) == 0) {
		*rc = -ENOSPC;
		return NULL;
	}
	r = w->buf + w->len;
	memset(r, 0, w->rec_size);
	return r;
}

/* Keep the record just written only if it passes the decoder's own check. */
static int
commit(struct tally_wire_writer *w, const uint8_t *r)
{
	if (!record_ok(w->type, r))
		return -EINVAL;
	w->len += w->rec_size;
	w->count++;
	return 0;
}

/* A slot record's fields into the zeroed record at @r. */
static void
slot_encode(uint8_t *r, const struct tally_wire_slot *s)
{
	put32(r, s->index);
	r[4] = s->kind;
	r[5] = s->origin;
	memcpy(r + 8, s->key, TALLY_WIRE_KEY_ID_LEN);
	put64(r + 24, s->p);
	put64(r + 32, s->n);
}

int
tally_wire_add_slot(struct tally_wire_writer *w, const struct tally_wire_slot *s)
{
	int rc = 0;
	uint8_t *r = reserve(w, w->type == TALLY_WIRE_REPLICATE || w->type == TALLY_WIRE_REPLICATE_ACK, &rc);

	if (r == NULL)
		return rc;
	slot_encode(r, s);
	return commit(w, r);
}

/* Record @p i of writer @p w, if it is a slot record there. */
static uint8_t *
writer_slot(const struct tally_wire_writer *w, unsigned i)
{
	if ((w->type != TALLY_WIRE_REPLICATE && w->type != TALLY_WIRE_REPLICATE_ACK) || i >= w->count)
		return NULL;
	return w->buf + TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN + (size_t)i * w->rec_size;
}

int
tally_wire_peek_slot(const struct tally_wire_writer *w, unsigned i, struct tally_wire_slot *out)
{
	const uint8_t *r = writer_slot(w, i);

	if (r == NULL)
		return -EINVAL;
	slot_decode(r, out);
	return 0;
}

int
tally_wire_raise_slot(struct tally_wire_writer *w, unsigned i, uint64_t p, uint64_t n)
{
	uint8_t *r = writer_slot(w, i);

	if (r == NULL)
		return -EINVAL;
	if (p > le64(r + 24))
		put64(r + 24, p);
	if (n > le64(r + 32))
		put64(r + 32, n);
	return 0;
}

int
tally_wire_add_note(struct tally_wire_writer *w, const struct tally_wire_note *nt)
{
	int rc = 0;
	uint8_t *r = reserve(w, w->type == TALLY_WIRE_NOTE, &rc);

	if (r == NULL)
		return rc;
	r[0] = nt->op;
	put64(r + 8, nt->client);
	put64(r + 16, nt->seq);
	put64(r + 24, nt->index);
	put64(r + 32, nt->base);
	put64(r + 40, nt->skip_from);
	return commit(w, r);
}

int
tally_wire_add_causal(struct tally_wire_writer *w, const struct tally_wire_causal *c)
{
	int rc = 0;
	uint8_t *r = reserve(w, w->type == TALLY_WIRE_CAUSAL, &rc);

	if (r == NULL)
		return rc;
	if (c->dep_len > TALLY_WIRE_TOKEN_MAX)
		return -EINVAL;
	slot_encode(r, &c->slot);
	r[40] = c->dep_len;
	memcpy(r + 64, c->dep, c->dep_len);
	return commit(w, r);
}

static void put_vec(uint8_t *p, const tally_vec_t *v);

int
tally_wire_add_mvstate(struct tally_wire_writer *w, const struct tally_wire_mvstate *m)
{
	int rc = 0;
	uint8_t *r = reserve(w, w->type == TALLY_WIRE_MVSTATE, &rc);

	if (r == NULL)
		return rc;
	if (m->value_len > 64)
		return -EINVAL;
	memcpy(r, m->key, TALLY_WIRE_KEY_ID_LEN);
	r[16] = TALLY_WIRE_KIND_MVREG;
	r[17] = m->purpose;
	r[18] = m->status;
	r[19] = m->sib_index;
	r[20] = m->sib_count;
	r[21] = m->value_len;
	r[22] = m->lww;
	put32(r + 24, m->dot_node);
	put64(r + 32, m->dot_counter);
	put64(r + 40, m->lww_time);
	put_vec(r + 64, &m->ctx);
	memcpy(r + 64 + TALLY_WIRE_VEC_BYTES, m->value, m->value_len);
	return commit(w, r);
}

int
tally_wire_add_keyrec(struct tally_wire_writer *w, const struct tally_wire_keyrec *k)
{
	int rc = 0;
	uint8_t *r = reserve(w, w->type == TALLY_WIRE_READ_REQUEST, &rc);

	if (r == NULL)
		return rc;
	put32(r, k->index);
	r[4] = k->kind;
	memcpy(r + 8, k->key, TALLY_WIRE_KEY_ID_LEN);
	return commit(w, r);
}

static void
put_vec(uint8_t *p, const tally_vec_t *v)
{
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		put64(p + 8 * i, v->slot[i]);
}

int
tally_wire_add_state(struct tally_wire_writer *w, const struct tally_wire_state *s)
{
	int rc = 0;
	uint8_t *r = reserve(w, w->type == TALLY_WIRE_READ_REPLY || w->type == TALLY_WIRE_REPAIR, &rc);

	if (r == NULL)
		return rc;
	put32(r, s->index);
	r[4] = s->kind;
	put16(r + 6, s->status);
	memcpy(r + 8, s->key, TALLY_WIRE_KEY_ID_LEN);
	put_vec(r + 64, &s->p);
	put_vec(r + 64 + TALLY_WIRE_VEC_BYTES, &s->n);
	return commit(w, r);
}

int
tally_wire_add_digest(struct tally_wire_writer *w, const struct tally_wire_digest *d)
{
	int rc = 0;
	uint8_t *r = reserve(w, w->type == TALLY_WIRE_DIGEST, &rc);

	if (r == NULL)
		return rc;
	put32(r, d->partition);
	r[4] = d->kind;
	put64(r + 8, d->keys);
	memcpy(r + 16, d->hash, 16);
	put_vec(r + 64, &d->vv);
	return commit(w, r);
}

int
tally_wire_add_client(struct tally_wire_writer *w, const struct tally_wire_client *c)
{
	unsigned beats = tally_wire_client_beats(c);
	uint8_t *r, *e;

	if (!is_client_type(w->type) || beats == 0 ||
	    ((c->sib_index || c->sib_count) &&
	     (w->type == TALLY_WIRE_CLIENT_REQUEST || c->sib_index >= c->sib_count)))
		return -EINVAL;
	if (w->max_len - w->len - TALLY_WIRE_MAC_LEN < 64 * (size_t)beats || w->count == UINT16_MAX)
		return -ENOSPC;
	r = w->buf + w->len;
	memset(r, 0, 64 * (size_t)beats);
	r[C_OP] = c->op;
	r[C_BEATS] = (uint8_t)(beats - 1);
	r[C_W] = c->w;
	r[C_R] = c->r;
	r[C_KEY_LEN] = c->key_len;
	r[C_VALUE_LEN] = c->value_len;
	r[C_TOKEN_LEN] = c->token_len;
	r[C_FLAGS] = c->flags;
	put16(r + C_STATUS, c->status);
	r[C_SIB_INDEX] = c->sib_index;
	r[C_SIB_COUNT] = c->sib_count;
	put32(r + C_DEADLINE, c->deadline_ms);
	put64(r + C_CLIENT, c->client);
	put64(r + C_SEQ, c->seq);
	put64(r + C_DELTA, w->type == TALLY_WIRE_CLIENT_REQUEST ? c->delta : (uint64_t)c->value);
	e = r + 64;
	if (c->key_len <= TALLY_WIRE_CLIENT_INLINE) {
		memcpy(r + C_KEY, c->key, c->key_len);
	} else {
		memcpy(e, c->key, c->key_len);
		e += 64;
	}
	if (c->value_len > 0) {
		memcpy(e, c->val, c->value_len);
		e += 64;
	}
	memcpy(e, c->token, c->token_len);
	/* Keep it only if it passes the decoder's own check. */
	if (!client_ok(w->type == TALLY_WIRE_CLIENT_REQUEST, r))
		return -EINVAL;
	w->len += 64 * (size_t)beats;
	w->count++;
	return 0;
}

size_t
tally_wire_finish(struct tally_wire_writer *w, const struct tally_wire_key *key)
{
	uint8_t *f = w->buf, *ip = f + 14, *udp = f + 34, *p = f + TALLY_WIRE_L2L4_LEN;

	put16(p + H_COUNT, w->count);
	w->len += TALLY_WIRE_MAC_LEN;
	putbe16(ip + 2, (uint16_t)(w->len - 14));
	putbe16(ip + 10, 0);
	putbe16(ip + 10, (uint16_t)~ipv4_sum(ip));
	putbe16(udp + 4, (uint16_t)(w->len - 34));
	putbe16(udp + 6, 0); /* no UDP checksum: the MAC covers the payload */
	payload_mac(p, w->len - TALLY_WIRE_L2L4_LEN - TALLY_WIRE_MAC_LEN, key,
		    w->buf + w->len - TALLY_WIRE_MAC_LEN);
	return w->len;
}

void
tally_wire_key_id(const void *key, size_t len, uint8_t out[TALLY_WIRE_KEY_ID_LEN])
{
	XXH128_hash_t h = XXH3_128bits(key, len);

	put64(out, h.low64);
	put64(out + 8, h.high64);
}
