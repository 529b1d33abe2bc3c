/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Wire protocol v1 codec: every frame type round-trips through the writer
 * and the decoder field for field; each drop reason of docs/wire.md is
 * produced by a frame built to fail exactly that check; no single-bit flip
 * anywhere in a valid frame is accepted; client keys cannot authenticate
 * node frames; the writer refuses records it could not decode.
 */

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "cmocka_prelude.h"
#include "prop.h"
#include "wire.h"

#define BUF 9100

static struct tally_wire_key keys;
static uint8_t cluster[32];
static const struct tally_wire_addr addr = {
	.src_mac = { 2, 0, 0, 0, 0, 1 }, .dst_mac = { 2, 0, 0, 0, 0, 2 },
	.src_ip = 0x0a000001, .dst_ip = 0x0a000002, .src_port = 7470, .dst_port = 7470,
};

static int
setup(void **state)
{
	(void)state;
	for (int i = 0; i < 32; i++)
		cluster[i] = (uint8_t)(i * 7 + 1);
	return tally_wire_node_key(&keys, cluster);
}

static uint16_t
sender_for(uint8_t type)
{
	return type == TALLY_WIRE_CLIENT_REQUEST ? TALLY_WIRE_SENDER_CLIENT : 1 % TALLY_MAX_NODES;
}

static void
random_slot(struct prng *g, struct tally_wire_slot *s)
{
	memset(s, 0, sizeof(*s));
	s->index = (uint32_t)prng_next(g);
	s->kind = TALLY_WIRE_KIND_PNCOUNTER;
	s->origin = (uint8_t)prng_below(g, TALLY_MAX_NODES);
	for (int i = 0; i < TALLY_WIRE_KEY_ID_LEN; i++)
		s->key[i] = (uint8_t)prng_next(g);
	s->p = prop_slot(g);
	s->n = prop_slot(g);
}

static void
random_client(struct prng *g, struct tally_wire_client *c, bool request)
{
	memset(c, 0, sizeof(*c));
	c->op = (uint8_t)(1 + prng_below(g, 4));
	c->key_len = (uint8_t)(1 + prng_below(g, 64));
	c->value_len = (uint8_t)(prng_below(g, 2) ? 0 : prng_below(g, 65));
	c->token_len = (uint8_t)(prng_below(g, 2) ? 0 : prng_below(g, TALLY_WIRE_TOKEN_MAX + 1));
	c->client = prng_next(g);
	c->seq = prng_next(g);
	for (int i = 0; i < c->key_len; i++)
		c->key[i] = (uint8_t)(1 + prng_below(g, 255));
	for (int i = 0; i < c->value_len; i++)
		c->val[i] = (uint8_t)prng_next(g);
	for (int i = 0; i < c->token_len; i++)
		c->token[i] = (uint8_t)prng_next(g);
	if (request) {
		c->flags = (uint8_t)prng_below(g, 2);
		c->w = (uint8_t)prng_below(g, TALLY_MAX_NODES + 1);
		c->r = (uint8_t)prng_below(g, TALLY_MAX_NODES + 1);
		c->delta = prng_next(g);
		c->deadline_ms = (uint32_t)prng_next(g);
	} else {
		c->status = (uint16_t)prng_next(g);
		c->value = (int64_t)prng_next(g);
		if (prng_below(g, 2)) {
			c->sib_count = (uint8_t)(1 + prng_below(g, 255));
			c->sib_index = (uint8_t)prng_below(g, c->sib_count);
		}
	}
}

/* A valid REPLICATE frame with @n random slot records; returns its length. */
static size_t
build_replicate(uint8_t *buf, unsigned n, uint64_t salt, struct tally_wire_slot *recs)
{
	struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = sender_for(TALLY_WIRE_REPLICATE),
				    .epoch = 3, .seq = 77, .ref = 0 };
	struct tally_wire_writer w;
	struct prng g;

	prop_init(&g, salt);
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	for (unsigned i = 0; i < n; i++) {
		random_slot(&g, &recs[i]);
		assert_int_equal(tally_wire_add_slot(&w, &recs[i]), 0);
	}
	return tally_wire_finish(&w, &keys);
}

static void
test_replicate_roundtrip(void **state)
{
	static uint8_t buf[BUF];
	struct tally_wire_slot in[138], out;
	struct tally_wire_frame f;

	(void)state;
	for (unsigned n = 0; n <= 138; n += 23) {
		size_t len = build_replicate(buf, n, 1000 + n, in);

		assert_int_equal(len, 42 + 86 + n * 64 + 16);
		assert_int_equal(tally_wire_decode(buf, len, &keys, &f), TALLY_WIRE_OK);
		assert_int_equal(f.hdr.type, TALLY_WIRE_REPLICATE);
		assert_int_equal(f.hdr.count, n);
		assert_int_equal(f.hdr.epoch, 3);
		assert_true(f.hdr.seq == 77);
		assert_int_equal(f.addr.src_ip, addr.src_ip);
		assert_int_equal(f.addr.dst_port, addr.dst_port);
		assert_memory_equal(f.addr.src_mac, addr.src_mac, 6);
		assert_true(f.records == buf + 128); /* beat-aligned, as the NIC needs */
		for (unsigned i = 0; i < n; i++) {
			tally_wire_get_slot(&f, i, &out);
			assert_memory_equal(&out, &in[i], sizeof(out));
		}
	}
}

static void
test_other_types_roundtrip(void **state)
{
	static uint8_t buf[BUF];
	struct tally_wire_writer w;
	struct tally_wire_frame f;
	struct prng g;

	(void)state;
	prop_init(&g, 1100);
	for (uint8_t type = TALLY_WIRE_REPLICATE_ACK; type < TALLY_WIRE_TYPE_END; type++) {
		struct tally_wire_hdr h = { .type = type, .sender = sender_for(type), .seq = 5, .ref = 4 };
		union {
			struct tally_wire_keyrec k;
			struct tally_wire_state s;
			struct tally_wire_digest d;
			struct tally_wire_client c;
			struct tally_wire_slot sl;
			struct tally_wire_causal ca;
			struct tally_wire_mvstate mv;
			struct tally_wire_note nt;
		} in[3], out;

		assert_int_equal(tally_wire_begin(&w, buf, BUF, 1500, &addr, &h), 0);
		for (int i = 0; i < 3; i++) {
			memset(&in[i], 0, sizeof(in[i]));
			int rc = -1;
			switch (type) {
			case TALLY_WIRE_REPLICATE_ACK:
				random_slot(&g, &in[i].sl);
				rc = tally_wire_add_slot(&w, &in[i].sl);
				break;
			case TALLY_WIRE_READ_REQUEST:
				in[i].k.index = (uint32_t)prng_next(&g);
				in[i].k.kind = TALLY_WIRE_KIND_PNCOUNTER;
				in[i].k.key[3] = (uint8_t)i;
				rc = tally_wire_add_keyrec(&w, &in[i].k);
				break;
			case TALLY_WIRE_READ_REPLY:
			case TALLY_WIRE_REPAIR:
				in[i].s.index = (uint32_t)prng_next(&g);
				in[i].s.kind = TALLY_WIRE_KIND_PNCOUNTER;
				in[i].s.status = (uint16_t)(i & 1);
				in[i].s.key[0] = (uint8_t)i;
				prop_vec(&g, &in[i].s.p);
				prop_vec(&g, &in[i].s.n);
				rc = tally_wire_add_state(&w, &in[i].s);
				break;
			case TALLY_WIRE_DIGEST:
				in[i].d.partition = (uint32_t)prng_next(&g);
				in[i].d.kind = TALLY_WIRE_KIND_PNCOUNTER;
				in[i].d.keys = prng_next(&g);
				in[i].d.hash[15] = (uint8_t)i;
				prop_vec(&g, &in[i].d.vv);
				rc = tally_wire_add_digest(&w, &in[i].d);
				break;
			case TALLY_WIRE_MVSTATE:
				in[i].mv.key[0] = (uint8_t)i;
				in[i].mv.purpose = (uint8_t)(i & 1);
				in[i].mv.sib_count = 3;
				in[i].mv.sib_index = (uint8_t)i;
				in[i].mv.value_len = (uint8_t)prng_below(&g, 65);
				in[i].mv.lww = 1;
				in[i].mv.dot_node = (uint32_t)prng_below(&g, TALLY_MAX_NODES);
				in[i].mv.dot_counter = prng_next(&g);
				in[i].mv.lww_time = prng_next(&g);
				prop_vec(&g, &in[i].mv.ctx);
				for (unsigned b = 0; b < in[i].mv.value_len; b++)
					in[i].mv.value[b] = (uint8_t)prng_next(&g);
				rc = tally_wire_add_mvstate(&w, &in[i].mv);
				break;
			case TALLY_WIRE_CAUSAL:
				random_slot(&g, &in[i].ca.slot);
				in[i].ca.dep_len = (uint8_t)(1 + prng_below(&g, TALLY_WIRE_TOKEN_MAX));
				for (unsigned b = 0; b < in[i].ca.dep_len; b++)
					in[i].ca.dep[b] = (uint8_t)prng_next(&g);
				rc = tally_wire_add_causal(&w, &in[i].ca);
				break;
			case TALLY_WIRE_NOTE:
				in[i].nt.op = (uint8_t)(TALLY_WIRE_OP_INCR + i);
				in[i].nt.client = prng_next(&g);
				in[i].nt.seq = prng_next(&g);
				in[i].nt.index = prng_next(&g);
				in[i].nt.base = prng_next(&g);
				in[i].nt.skip_from = prng_next(&g);
				rc = tally_wire_add_note(&w, &in[i].nt);
				break;
			default:
				random_client(&g, &in[i].c, type == TALLY_WIRE_CLIENT_REQUEST);
				rc = tally_wire_add_client(&w, &in[i].c);
			}
			assert_int_equal(rc, 0);
		}
		size_t len = tally_wire_finish(&w, &keys), rec_bytes = 3 * tally_wire_record_size(type);
		if (type == TALLY_WIRE_CLIENT_REQUEST || type == TALLY_WIRE_CLIENT_REPLY)
			rec_bytes = 64 * (size_t)(tally_wire_client_beats(&in[0].c) + tally_wire_client_beats(&in[1].c) +
						  tally_wire_client_beats(&in[2].c));
		assert_int_equal(len, 42 + 86 + rec_bytes + 16);
		if (tally_wire_decode(buf, len, &keys, &f) != TALLY_WIRE_OK)
			fail_msg("type %u: %s", type, tally_wire_verdict_name(tally_wire_decode(buf, len, &keys, &f)));
		assert_int_equal(f.hdr.ref, 4);
		for (int i = 0; i < 3; i++) {
			memset(&out, 0, sizeof(out));
			size_t sz;
			switch (type) {
			case TALLY_WIRE_REPLICATE_ACK:
				tally_wire_get_slot(&f, i, &out.sl);
				sz = sizeof(out.sl);
				break;
			case TALLY_WIRE_READ_REQUEST:
				tally_wire_get_keyrec(&f, i, &out.k);
				sz = sizeof(out.k);
				break;
			case TALLY_WIRE_READ_REPLY:
			case TALLY_WIRE_REPAIR:
				tally_wire_get_state(&f, i, &out.s);
				sz = sizeof(out.s);
				break;
			case TALLY_WIRE_DIGEST:
				tally_wire_get_digest(&f, i, &out.d);
				sz = sizeof(out.d);
				break;
			case TALLY_WIRE_CAUSAL:
				tally_wire_get_causal(&f, i, &out.ca);
				sz = sizeof(out.ca);
				break;
			case TALLY_WIRE_MVSTATE:
				tally_wire_get_mvstate(&f, i, &out.mv);
				sz = sizeof(out.mv);
				break;
			case TALLY_WIRE_NOTE: /* field by field: padding follows op */
				tally_wire_get_note(&f, i, &out.nt);
				if (out.nt.op != in[i].nt.op || out.nt.client != in[i].nt.client ||
				    out.nt.seq != in[i].nt.seq || out.nt.index != in[i].nt.index ||
				    out.nt.base != in[i].nt.base || out.nt.skip_from != in[i].nt.skip_from)
					fail_msg("type %u record %d does not round-trip", type, i);
				sz = 0;
				break;
			default:
				tally_wire_get_client(&f, i, &out.c);
				sz = sizeof(out.c);
			}
			if (memcmp(&out, &in[i], sz) != 0)
				fail_msg("type %u record %d does not round-trip", type, i);
		}
	}
}

/* Each drop reason, from a frame broken in exactly one way. */
static void
test_drop_reasons(void **state)
{
	static uint8_t good[BUF], bad[BUF];
	struct tally_wire_slot recs[2];
	struct tally_wire_frame f;
	size_t len = build_replicate(good, 2, 1200, recs);
	uint8_t *p = bad + 42;

	(void)state;
#define EXPECT(verdict, frame_len)                                                              \
	do {                                                                                    \
		enum tally_wire_verdict v_ = tally_wire_decode(bad, frame_len, &keys, &f);      \
		if (v_ != (verdict))                                                            \
			fail_msg("line %d: got %s, want %s", __LINE__, tally_wire_verdict_name(v_), \
				 tally_wire_verdict_name(verdict));                               \
		memcpy(bad, good, len);                                                         \
	} while (0)

	memcpy(bad, good, len);
	EXPECT(TALLY_WIRE_OK, len);
	EXPECT(TALLY_WIRE_DROP_SHORT, 42 + 86 + 15);
	bad[12] = 0x81; /* VLAN tag */
	EXPECT(TALLY_WIRE_DROP_NOT_IPV4_UDP, len);
	bad[14] = 0x46; /* IP options */
	EXPECT(TALLY_WIRE_DROP_NOT_IPV4_UDP, len);
	bad[14 + 6] |= 0x20; /* more fragments */
	EXPECT(TALLY_WIRE_DROP_NOT_IPV4_UDP, len);
	bad[14 + 9] = 6; /* TCP */
	EXPECT(TALLY_WIRE_DROP_NOT_IPV4_UDP, len);
	bad[14 + 10] ^= 1; /* IPv4 checksum */
	EXPECT(TALLY_WIRE_DROP_NOT_IPV4_UDP, len);
	EXPECT(TALLY_WIRE_DROP_BAD_LENGTH, len - 1); /* IP length says more than there is */
	bad[34 + 5] ^= 1;                           /* UDP length */
	EXPECT(TALLY_WIRE_DROP_BAD_LENGTH, len);
	p[0] = 'X';
	EXPECT(TALLY_WIRE_DROP_BAD_MAGIC, len);
	p[4] = 1; /* version 1: refused since 2026-12-08 */
	EXPECT(TALLY_WIRE_DROP_BAD_VERSION, len);
	p[4] = 3;
	EXPECT(TALLY_WIRE_DROP_BAD_VERSION, len);
	p[5] = 99;
	EXPECT(TALLY_WIRE_DROP_BAD_TYPE, len);
	p[6] = 1; /* flags */
	EXPECT(TALLY_WIRE_DROP_BAD_HEADER, len);
	p[8] = TALLY_MAX_NODES; /* sender out of range */
	EXPECT(TALLY_WIRE_DROP_BAD_HEADER, len);
	p[12] = TALLY_MAX_NODES + 1; /* slots */
	EXPECT(TALLY_WIRE_DROP_BAD_HEADER, len);
	p[85] = 1; /* reserved */
	EXPECT(TALLY_WIRE_DROP_BAD_HEADER, len);
	p[10] = 3; /* count says 3, 2 are there */
	EXPECT(TALLY_WIRE_DROP_BAD_COUNT, len);
	p[86 + 30] ^= 0x40; /* a record's value: only the MAC notices */
	EXPECT(TALLY_WIRE_DROP_BAD_MAC, len);
	bad[len - 1] ^= 1; /* the MAC itself */
	EXPECT(TALLY_WIRE_DROP_BAD_MAC, len);
#undef EXPECT

	/* A record out of range behind a valid MAC: origin past the last node. */
	struct tally_wire_writer w;
	struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = 0 };
	assert_int_equal(tally_wire_begin(&w, bad, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_add_slot(&w, &recs[0]), 0);
	bad[42 + 86 + 5] = TALLY_MAX_NODES; /* after the writer's own check */
	len = tally_wire_finish(&w, &keys);
	assert_int_equal(tally_wire_decode(bad, len, &keys, &f), TALLY_WIRE_DROP_BAD_RECORD);

	/* A client's credential authenticates nothing on the cluster link, of
	 * any type; each credential is its own key, and none is the node key. */
	struct tally_wire_key cred[3];
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(tally_wire_client_key(&cred[i], cluster, i), 0);
	assert_memory_not_equal(cred[0].k, cred[1].k, 16);
	assert_memory_not_equal(cred[1].k, cred[2].k, 16);
	assert_memory_not_equal(cred[0].k, keys.k, 16);
	len = build_replicate(good, 1, 1201, recs);
	assert_int_equal(tally_wire_decode(good, len, &cred[0], &f), TALLY_WIRE_DROP_BAD_MAC);
	h = (struct tally_wire_hdr){ .type = TALLY_WIRE_CLIENT_REPLY, .sender = 1 };
	struct tally_wire_client c = { .op = TALLY_WIRE_OP_INCR, .client = 7, .seq = 1, .value = 1 };
	assert_int_equal(tally_wire_begin(&w, bad, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_add_client(&w, &c), 0);
	len = tally_wire_finish(&w, &cred[0]);
	assert_int_equal(tally_wire_decode(bad, len, &keys, &f), TALLY_WIRE_DROP_BAD_MAC);
	assert_int_equal(tally_wire_decode(bad, len, &cred[1], &f), TALLY_WIRE_DROP_BAD_MAC);
	assert_int_equal(tally_wire_decode(bad, len, &cred[0], &f), TALLY_WIRE_OK);
	/* The id a client datagram names, read before the MAC is checked. */
	h = (struct tally_wire_hdr){ .type = TALLY_WIRE_CLIENT_REQUEST, .sender = TALLY_WIRE_SENDER_CLIENT,
				     .epoch = 0xdeadbeef };
	struct tally_wire_client q = { .op = TALLY_WIRE_OP_INCR, .client = 7, .seq = 1, .delta = 1, .key_len = 1, .key = "k" };
	assert_int_equal(tally_wire_begin(&w, bad, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_add_client(&w, &q), 0);
	len = tally_wire_finish(&w, &cred[2]);
	uint32_t id = 0;
	assert_int_equal(tally_wire_client_id(bad + TALLY_WIRE_L2L4_LEN, len - TALLY_WIRE_L2L4_LEN, &id), TALLY_WIRE_OK);
	assert_int_equal(id, 0xdeadbeef);
	assert_int_equal(tally_wire_client_id(bad + TALLY_WIRE_L2L4_LEN, 20, &id), TALLY_WIRE_DROP_SHORT);
}

/* A slot record in a frame not yet finished can be raised, never lowered; the frame still decodes. */
static void
test_raise_slot(void **state)
{
	static uint8_t buf[BUF];
	struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = 1, .seq = 5 };
	struct tally_wire_slot a = { .index = 3, .kind = TALLY_WIRE_KIND_PNCOUNTER, .origin = 1, .p = 10, .n = 4 }, b = a, got;
	struct tally_wire_writer w;
	struct tally_wire_frame f;
	struct tally_wire_note nt = { .op = TALLY_WIRE_OP_INCR, .client = 1, .seq = 1 };

	(void)state;
	memset(a.key, 0x11, sizeof(a.key));
	memset(b.key, 0x22, sizeof(b.key));
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_add_slot(&w, &a), 0);
	assert_int_equal(tally_wire_add_slot(&w, &b), 0);
	assert_int_equal(tally_wire_peek_slot(&w, 2, &got), -EINVAL); /* not added */
	assert_int_equal(tally_wire_raise_slot(&w, 0, 12, 3), 0);    /* p rises, n does not fall */
	assert_int_equal(tally_wire_raise_slot(&w, 0, 11, 9), 0);
	assert_int_equal(tally_wire_peek_slot(&w, 0, &got), 0);
	assert_int_equal(got.p, 12);
	assert_int_equal(got.n, 9);
	assert_memory_equal(got.key, a.key, sizeof(a.key));
	assert_int_equal(got.origin, 1);
	assert_int_equal(got.index, 3);
	size_t len = tally_wire_finish(&w, &keys);
	assert_int_equal(tally_wire_decode(buf, len, &keys, &f), TALLY_WIRE_OK);
	tally_wire_get_slot(&f, 0, &got);
	assert_int_equal(got.p, 12);
	assert_int_equal(got.n, 9);
	tally_wire_get_slot(&f, 1, &got);
	assert_int_equal(got.p, 10); /* the other record is untouched */
	assert_int_equal(got.n, 4);
	/* only slot records */
	h = (struct tally_wire_hdr){ .type = TALLY_WIRE_NOTE, .sender = 1 };
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_add_note(&w, &nt), 0);
	assert_int_equal(tally_wire_raise_slot(&w, 0, 1, 1), -EINVAL);
	assert_int_equal(tally_wire_peek_slot(&w, 0, &got), -EINVAL);
}

/* A NOTE record: op 1..4, bytes 1..7 and 48..63 zero, or the frame is bad_record. */
static void
test_note_checks(void **state)
{
	static uint8_t buf[BUF];
	struct tally_wire_hdr h = { .type = TALLY_WIRE_NOTE, .sender = sender_for(TALLY_WIRE_NOTE), .seq = 9 };
	struct tally_wire_note nt = { .op = TALLY_WIRE_OP_PUT, .client = 7, .seq = 3, .index = 100, .base = 90,
				      .skip_from = UINT64_MAX };
	struct tally_wire_slot s;
	struct tally_wire_writer w;
	struct tally_wire_frame f;
	struct prng g;
	size_t len;

	(void)state;
	prop_init(&g, 1500);
	assert_int_equal(tally_wire_record_size(TALLY_WIRE_NOTE), 64);
	for (uint8_t op = 0; op <= TALLY_WIRE_OP_PUT + 1; op++) {
		bool ok = op >= TALLY_WIRE_OP_INCR && op <= TALLY_WIRE_OP_PUT;

		/* the writer refuses what the decoder would drop */
		nt.op = op;
		assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
		assert_int_equal(tally_wire_add_note(&w, &nt), ok ? 0 : -EINVAL);
		/* the decoder drops it, here in the second record */
		nt.op = TALLY_WIRE_OP_INCR;
		assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
		assert_int_equal(tally_wire_add_note(&w, &nt), 0);
		assert_int_equal(tally_wire_add_note(&w, &nt), 0);
		buf[128 + 64] = op;
		len = tally_wire_finish(&w, &keys);
		assert_int_equal(len, 42 + 86 + 2 * 64 + 16);
		assert_int_equal(tally_wire_decode(buf, len, &keys, &f), ok ? TALLY_WIRE_OK : TALLY_WIRE_DROP_BAD_RECORD);
	}
	for (unsigned at = 1; at < 64; at++) {
		bool reserved = at < 8 || at >= 48;

		assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
		assert_int_equal(tally_wire_add_note(&w, &nt), 0);
		buf[128 + at] ^= (uint8_t)(1 + prng_below(&g, 255));
		len = tally_wire_finish(&w, &keys);
		if (tally_wire_decode(buf, len, &keys, &f) != (reserved ? TALLY_WIRE_DROP_BAD_RECORD : TALLY_WIRE_OK))
			fail_msg("byte %u of a note record: %s", at,
				 tally_wire_verdict_name(tally_wire_decode(buf, len, &keys, &f)));
	}
	/* only NOTE frames take note records, and they come from a node */
	prop_init(&g, 1501);
	random_slot(&g, &s);
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_add_slot(&w, &s), -EINVAL);
	h.type = TALLY_WIRE_REPLICATE;
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_add_note(&w, &nt), -EINVAL);
	h = (struct tally_wire_hdr){ .type = TALLY_WIRE_NOTE, .sender = TALLY_MAX_NODES };
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), -EINVAL);
	h.sender = TALLY_MAX_NODES - 1;
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_add_note(&w, &nt), 0);
	buf[42 + 8] = (uint8_t)TALLY_MAX_NODES;
	buf[42 + 9] = (uint8_t)(TALLY_MAX_NODES >> 8);
	len = tally_wire_finish(&w, &keys);
	assert_int_equal(tally_wire_decode(buf, len, &keys, &f), TALLY_WIRE_DROP_BAD_HEADER);
}

/* No single-bit flip of a valid frame is accepted. */
static void
test_bit_flips_never_accepted(void **state)
{
	static uint8_t good[BUF];
	struct tally_wire_slot recs[3];
	struct tally_wire_frame f;
	size_t len = build_replicate(good, 3, 1300, recs);

	(void)state;
	for (size_t byte = 0; byte < len; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			good[byte] ^= (uint8_t)(1 << bit);
			enum tally_wire_verdict v = tally_wire_decode(good, len, &keys, &f);
			good[byte] ^= (uint8_t)(1 << bit);
			/* By design only the MAC addresses, the UDP ports and the UDP
			 * checksum are covered by nothing (docs/wire.md); the IPv4
			 * header has its checksum, the payload the MAC. */
			bool unauthenticated = byte < 12 || (byte >= 34 && byte < 38) ||
					       byte == 40 || byte == 41;
			if (v == TALLY_WIRE_OK && !unauthenticated)
				fail_msg("flipping bit %d of byte %zu was accepted", bit, byte);
		}
	}
}

static void
test_writer_limits(void **state)
{
	static uint8_t buf[BUF];
	struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = 0 };
	struct tally_wire_writer w;
	struct tally_wire_slot s;
	struct tally_wire_keyrec k = { .kind = TALLY_WIRE_KIND_PNCOUNTER };
	struct prng g;
	unsigned n = 0;

	(void)state;
	prop_init(&g, 1400);
	random_slot(&g, &s);
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 1500, &addr, &h), 0);
	assert_int_equal(tally_wire_room(&w), 21);
	while (tally_wire_add_slot(&w, &s) == 0)
		n++;
	assert_int_equal(n, 21); /* docs/wire.md: 21 replicate records on a 1500 MTU */
	assert_int_equal(tally_wire_add_slot(&w, &s), -ENOSPC);
	assert_true(tally_wire_finish(&w, &keys) <= 14 + 1500);

	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_room(&w), 138);
	assert_int_equal(tally_wire_add_keyrec(&w, &k), -EINVAL); /* wrong record for the type */
	s.origin = TALLY_MAX_NODES;
	assert_int_equal(tally_wire_add_slot(&w, &s), -EINVAL);   /* field out of range */
	s.origin = 0;
	s.kind = 9;
	assert_int_equal(tally_wire_add_slot(&w, &s), -EINVAL);
	assert_int_equal(w.count, 0);

	h.type = 42;
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), -EINVAL);
	h.type = TALLY_WIRE_CLIENT_REQUEST; /* a client request must come from a client */
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), -EINVAL);
	h.type = TALLY_WIRE_REPLICATE;
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 100, &addr, &h), -EINVAL);
	assert_int_equal(tally_wire_begin(&w, buf, 100, 0, &addr, &h), -ENOSPC);

	/* Client records: a token of up to 192 bytes; siblings only in replies, index below count. */
	struct tally_wire_client c = { .op = TALLY_WIRE_OP_GET, .key_len = 1, .key = "k",
				       .token_len = TALLY_WIRE_TOKEN_MAX };
	h.type = TALLY_WIRE_CLIENT_REQUEST;
	h.sender = TALLY_WIRE_SENDER_CLIENT;
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_room(&w), (8972 - 86 - 16) / 64 / 6); /* records of any size */
	assert_int_equal(tally_wire_add_client(&w, &c), 0);
	c.token_len = TALLY_WIRE_TOKEN_MAX + 1;
	assert_int_equal(tally_wire_add_client(&w, &c), -EINVAL);
	c.token_len = 0;
	c.sib_count = 2;
	assert_int_equal(tally_wire_add_client(&w, &c), -EINVAL); /* siblings in a request */
	h.type = TALLY_WIRE_CLIENT_REPLY;
	h.sender = 1;
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	c.sib_index = 1;
	assert_int_equal(tally_wire_add_client(&w, &c), 0);
	c.sib_index = 2;
	assert_int_equal(tally_wire_add_client(&w, &c), -EINVAL); /* index not below count */
	h.type = TALLY_WIRE_REPLICATE;

	uint8_t a[16], b[16];
	tally_wire_key_id("cart:1", 6, a);
	tally_wire_key_id("cart:1", 6, b);
	assert_memory_equal(a, b, 16);
	tally_wire_key_id("cart:2", 6, b);
	assert_memory_not_equal(a, b, 16);
	assert_string_equal(tally_wire_verdict_name(TALLY_WIRE_DROP_BAD_MAC), "bad_mac");
}

/* Two client records alike, field by field (struct padding aside). */
static void
assert_same_client(const struct tally_wire_client *a, const struct tally_wire_client *b)
{
	assert_int_equal(a->op, b->op);
	assert_int_equal(a->w, b->w);
	assert_int_equal(a->r, b->r);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->value, b->value);
	assert_int_equal(a->client, b->client);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->delta, b->delta);
	assert_int_equal(a->deadline_ms, b->deadline_ms);
	assert_int_equal(a->sib_index, b->sib_index);
	assert_int_equal(a->sib_count, b->sib_count);
	assert_int_equal(a->key_len, b->key_len);
	assert_int_equal(a->value_len, b->value_len);
	assert_int_equal(a->token_len, b->token_len);
	assert_memory_equal(a->key, b->key, sizeof(a->key));
	assert_memory_equal(a->val, b->val, sizeof(a->val));
	assert_memory_equal(a->token, b->token, sizeof(a->token));
}

/* MAC a payload again after a test changed it. */
static void
remac(uint8_t *frame, size_t len)
{
	crypto_shorthash_siphashx24(frame + len - 16, frame + 42, len - 42 - 16, keys.k);
}

/* A client frame of @p n records (each @p c[i]) in @p buf. @return its length. */
static size_t
client_frame(uint8_t *buf, unsigned type, const struct tally_wire_client *c, unsigned n)
{
	struct tally_wire_hdr h = { .type = (uint8_t)type,
				    .sender = type == TALLY_WIRE_CLIENT_REQUEST ? TALLY_WIRE_SENDER_CLIENT : 2 };
	struct tally_wire_writer w;

	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(tally_wire_add_client(&w, &c[i]), 0);
	return tally_wire_finish(&w, &keys);
}

/*
 * Client records (v2): as many beats as they use, found by walking their
 * beats bytes; a wrong beats byte is bad_count, a wrong length or padding
 * behind the MAC bad_record.
 */
static void
test_client_records(void **state)
{
	static uint8_t buf[BUF];
	struct tally_wire_client c[4], got;
	struct tally_wire_frame f;
	size_t len, off;

	(void)state;
	memset(c, 0, sizeof(c));
	/* a plain incr of a short key without a token is one beat; so is its answer */
	c[0] = (struct tally_wire_client){ .op = TALLY_WIRE_OP_INCR, .key_len = 24, .client = 5, .seq = 9, .delta = 3 };
	memset(c[0].key, 'k', 24);
	assert_int_equal(tally_wire_client_beats(&c[0]), 1);
	len = client_frame(buf, TALLY_WIRE_CLIENT_REQUEST, c, 1);
	assert_int_equal(len, 42 + 86 + 64 + 16);
	assert_int_equal(buf[128 + 1], 0); /* beats after the first */
	assert_memory_equal(buf + 128 + 40, c[0].key, 24);
	struct tally_wire_client r = { .op = TALLY_WIRE_OP_INCR, .key_len = 24, .client = 5, .seq = 9, .value = -7 };
	memcpy(r.key, c[0].key, 24);
	assert_int_equal(client_frame(buf, TALLY_WIRE_CLIENT_REPLY, &r, 1), 42 + 86 + 64 + 16);
	assert_int_equal(tally_wire_decode(buf, 42 + 86 + 64 + 16, &keys, &f), TALLY_WIRE_OK);
	tally_wire_get_client(&f, 0, &got);
	assert_int_equal(got.value, -7);
	assert_int_equal(got.delta, 0);

	/* each part that is used adds its beats */
	static const struct { uint8_t kl, vl, tl, beats; } sizes[] = {
		{ 1, 0, 0, 1 },   { 25, 0, 0, 2 }, { 64, 0, 0, 2 },  { 3, 1, 0, 2 },     { 3, 0, 1, 2 },
		{ 3, 0, 64, 2 },  { 3, 0, 65, 3 }, { 3, 0, 192, 4 }, { 25, 64, 192, 6 }, { 65, 0, 0, 0 },
		{ 1, 65, 0, 0 },  { 1, 0, 193, 0 },
	};
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct tally_wire_client x = { .op = TALLY_WIRE_OP_PUT, .key_len = sizes[i].kl, .value_len = sizes[i].vl,
					       .token_len = sizes[i].tl, .client = 1, .seq = 1 };
		assert_int_equal(tally_wire_client_beats(&x), sizes[i].beats);
	}

	/* records of every size in one frame, read in order both ways */
	c[1] = (struct tally_wire_client){ .op = TALLY_WIRE_OP_PUT, .flags = TALLY_WIRE_CLIENT_FLAG_TOKEN,
					   .key_len = 40, .value_len = 5, .token_len = 100, .client = 6, .seq = 1 };
	memset(c[1].key, 'K', 40);
	memcpy(c[1].val, "hello", 5);
	memset(c[1].token, 0xAB, 100);
	c[2] = (struct tally_wire_client){ .op = TALLY_WIRE_OP_GET, .key_len = 2, .key = "ab", .token_len = 64,
					   .client = 7, .seq = 2 };
	memset(c[2].token, 0xCD, 64);
	c[3] = c[0];
	c[3].seq = 10;
	len = client_frame(buf, TALLY_WIRE_CLIENT_REQUEST, c, 4);
	assert_int_equal(len, 42 + 86 + 64 * (1 + 5 + 2 + 1) + 16);
	assert_int_equal(tally_wire_decode(buf, len, &keys, &f), TALLY_WIRE_OK);
	off = 0;
	for (unsigned i = 0; i < 4; i++) {
		tally_wire_next_client(&f, &off, &got);
		assert_same_client(&got, &c[i]);
		tally_wire_get_client(&f, i, &got);
		assert_same_client(&got, &c[i]);
	}
	assert_int_equal(off, 64 * 9);

	/* the walk: a beats byte that does not end at the MAC, or a count it does not find */
	static const struct { unsigned rec_byte; uint8_t v; unsigned verdict; } walk[] = {
		{ 65, 0, TALLY_WIRE_DROP_BAD_COUNT },       /* record 1 claims 1 beat: the next starts in its key */
		{ 65, 3, TALLY_WIRE_DROP_BAD_COUNT },       /* 4 beats: the next starts in its token */
		{ 1, 255, TALLY_WIRE_DROP_BAD_COUNT },      /* past the MAC */
		{ 64 * 8 + 1, 1, TALLY_WIRE_DROP_BAD_COUNT }, /* the last record past the MAC */
		{ 64 * 6 + 4, 25, TALLY_WIRE_DROP_BAD_RECORD }, /* record 2's key would need a beat of its own */
		{ 64 * 6 + 6, 65, TALLY_WIRE_DROP_BAD_RECORD }, /* record 2's token needs 2 beats, says 1 */
		{ 64 * 6 + 7, 2, TALLY_WIRE_DROP_BAD_RECORD },  /* a flag bit that is not bit 0 */
		{ 64 * 6 + 8, 1, TALLY_WIRE_DROP_BAD_RECORD },  /* a status in a request */
		{ 64 * 6 + 10, 1, TALLY_WIRE_DROP_BAD_RECORD }, /* a sibling in a request */
		{ 64 * 6 + 63, 1, TALLY_WIRE_DROP_BAD_RECORD }, /* inline key padding */
		{ 64 * 5 + 36, 1, TALLY_WIRE_DROP_BAD_RECORD }, /* token padding, record 1's last beat */
		{ 64 * 8 - 1, 1, TALLY_WIRE_OK },               /* record 2's 64-byte token: no padding */
		{ 64 * 2 + 63, 1, TALLY_WIRE_DROP_BAD_RECORD }, /* record 1's long key beat, after 40 bytes */
		{ 64 * 3 + 5, 1, TALLY_WIRE_DROP_BAD_RECORD },  /* record 1's value beat, after 5 bytes */
		{ 64 * 1 + 40, 1, TALLY_WIRE_DROP_BAD_RECORD }, /* record 1's inline key: zero when the key is long */
		{ 64 * 6 + 32, 9, TALLY_WIRE_OK },              /* a get's delta: not checked */
	};
	for (unsigned i = 0; i < sizeof(walk) / sizeof(walk[0]); i++) {
		len = client_frame(buf, TALLY_WIRE_CLIENT_REQUEST, c, 4);
		buf[128 + walk[i].rec_byte] = walk[i].v;
		remac(buf, len);
		if (tally_wire_decode(buf, len, &keys, &f) != walk[i].verdict)
			fail_msg("record byte %u = %u: got %s, want %s", walk[i].rec_byte, walk[i].v,
				 tally_wire_verdict_name(tally_wire_decode(buf, len, &keys, &f)),
				 tally_wire_verdict_name(walk[i].verdict));
	}
	/* a beat missing at the end, or one more: bad_count */
	len = client_frame(buf, TALLY_WIRE_CLIENT_REQUEST, c, 4);
	memmove(buf + len - 16 - 64, buf + len - 16, 16);
	assert_int_equal(tally_wire_decode_payload(buf + 42, len - 64 - 42, &keys, &f), TALLY_WIRE_DROP_BAD_COUNT);
	len = client_frame(buf, TALLY_WIRE_CLIENT_REQUEST, c, 4);
	memmove(buf + len - 16 + 64, buf + len - 16, 16);
	memset(buf + len - 16, 0, 64);
	assert_int_equal(tally_wire_decode_payload(buf + 42, len + 64 - 42, &keys, &f), TALLY_WIRE_DROP_BAD_COUNT);

	/* the writer refuses what the decoder drops: a reply with flags, a deadline or w */
	struct tally_wire_hdr h = { .type = TALLY_WIRE_CLIENT_REPLY, .sender = 1 };
	struct tally_wire_writer w;
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	r.flags = TALLY_WIRE_CLIENT_FLAG_TOKEN;
	assert_int_equal(tally_wire_add_client(&w, &r), -EINVAL);
	r.flags = 0;
	r.deadline_ms = 1;
	assert_int_equal(tally_wire_add_client(&w, &r), -EINVAL);
	r.deadline_ms = 0;
	r.w = 1;
	assert_int_equal(tally_wire_add_client(&w, &r), -EINVAL);
	c[0].flags = 2; /* a request's flag other than bit 0 */
	h = (struct tally_wire_hdr){ .type = TALLY_WIRE_CLIENT_REQUEST, .sender = TALLY_WIRE_SENDER_CLIENT };
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_add_client(&w, &c[0]), -EINVAL);
	assert_int_equal(w.count, 0);
	/* a 9000-byte frame: 138 one-beat records */
	c[0].flags = 0;
	unsigned n = 0;
	while (tally_wire_add_client(&w, &c[0]) == 0)
		n++;
	assert_int_equal(n, (8972 - 86 - 16) / 64);
	assert_int_equal(tally_wire_room(&w), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replicate_roundtrip),
		cmocka_unit_test(test_other_types_roundtrip),
		cmocka_unit_test(test_drop_reasons),
		cmocka_unit_test(test_note_checks),
		cmocka_unit_test(test_raise_slot),
		cmocka_unit_test(test_bit_flips_never_accepted),
		cmocka_unit_test(test_writer_limits),
		cmocka_unit_test(test_client_records),
	};

	prop_seed();
	return cmocka_run_group_tests(tests, setup, NULL);
}
