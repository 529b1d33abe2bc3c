/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The client library (host/client.c) against a scripted node on a loopback
 * UDP socket: an answer completes only the operation it answers. A late
 * answer to an earlier send must never complete another operation that
 * happens to carry the same op id (client id and sequence): a write given
 * its op id by the caller (tally_client_submit_id) and a read numbered by
 * the library can share one, and a session that took the write's old token
 * for the read's answer would read back in time.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "cmocka_prelude.h"
#include "wire.h"

static const uint8_t cluster_key[32] = { 7, 1, 7 };

struct fake_node {
	int fd;
	uint16_t port;
	struct sockaddr_in peer; /* the client, once it has sent */
	struct tally_wire_key key;
};

static void
node_open(struct fake_node *f)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&sa, &len), 0);
	f->port = ntohs(sa.sin_port);
	assert_int_equal(tally_wire_client_key(&f->key, cluster_key, 0), 0);
}

/* Receive one request datagram; its first record in *out. */
static void
node_recv(struct fake_node *f, struct tally_wire_client *out)
{
	static uint8_t buf[TALLY_WIRE_MAX_PAYLOAD + 64];
	struct tally_wire_frame fr;
	socklen_t len = sizeof(f->peer);
	ssize_t n = recvfrom(f->fd, buf, sizeof(buf), 0, (struct sockaddr *)&f->peer, &len);

	assert_true(n > 0);
	assert_int_equal(tally_wire_decode_payload(buf, (size_t)n, &f->key, &fr), TALLY_WIRE_OK);
	assert_int_equal(fr.hdr.type, TALLY_WIRE_CLIENT_REQUEST);
	assert_true(fr.hdr.count >= 1);
	tally_wire_get_client(&fr, 0, out);
}

/* Answer request @req with @value and a token whose every byte is @tokbyte. */
static void
node_answer(struct fake_node *f, const struct tally_wire_client *req, int64_t value, uint8_t tokbyte)
{
	static uint8_t buf[TALLY_WIRE_MAX_PAYLOAD + 128];
	struct tally_wire_writer w;
	struct tally_wire_addr a = { 0 };
	struct tally_wire_hdr h = { .type = TALLY_WIRE_CLIENT_REPLY, .sender = 0, .seq = 1 };
	struct tally_wire_client r = {
		.op = req->op, .status = TALLY_OK, .value = value, .client = req->client, .seq = req->seq,
		.key_len = req->key_len, .token_len = 64,
	};

	memcpy(r.key, req->key, req->key_len);
	memset(r.token, tokbyte, r.token_len);
	assert_int_equal(tally_wire_begin(&w, buf, sizeof(buf), 0, &a, &h), 0);
	assert_int_equal(tally_wire_add_client(&w, &r), 0);
	size_t len = tally_wire_finish(&w, &f->key);
	assert_true(len > TALLY_WIRE_L2L4_LEN);
	assert_int_equal(sendto(f->fd, buf + TALLY_WIRE_L2L4_LEN, len - TALLY_WIRE_L2L4_LEN, 0,
				(struct sockaddr *)&f->peer, sizeof(f->peer)),
			 (ssize_t)(len - TALLY_WIRE_L2L4_LEN));
}

static tally_client_t *
client_open(const struct fake_node *f, uint64_t id)
{
	struct tally_client_opts o = { .host = "127.0.0.1", .port = f->port, .timeout_ms = 2000,
				       .retry_ms = 1000, .client_id = id, .session = true };
	int err = 0;

	assert_int_equal(tally_client_credential(cluster_key, 0, o.key), 0);
	tally_client_t *c = tally_client_open(&o, &err);
	assert_non_null(c);
	return c;
}

/* Submit a read of @key, let the node answer @value, and take the result. */
static void
read_once(struct fake_node *f, tally_client_t *c, const char *key, int64_t value)
{
	struct tally_wire_client req;
	struct tally_client_result r;

	assert_int_equal(tally_client_submit(c, TALLY_WIRE_OP_GET, key, strlen(key), 0, 1, NULL), 0);
	assert_int_equal(tally_client_flush(c), 0);
	node_recv(f, &req);
	node_answer(f, &req, value, 0x11);
	assert_int_equal(tally_client_poll(c, &r, 1, 1000), 1);
	assert_int_equal(r.status, TALLY_OK);
	assert_int_equal(r.value, value);
}

/*
 * A write numbered by the caller (client id 42, sequence 3) is answered,
 * then answered again late (a resend's answer). Meanwhile the library's own
 * numbering reaches 3 on a read of the same key under the same client id.
 * The late write answer is not the read's: the read completes with its own
 * answer and token, and the session keeps the read's token.
 */
static void
test_late_answer_of_other_op(void **state)
{
	struct fake_node f;
	struct tally_wire_client wreq, rreq;
	struct tally_client_result r;
	uint8_t tok[TALLY_WIRE_TOKEN_MAX];

	(void)state;
	node_open(&f);
	tally_client_t *c = client_open(&f, 42);

	assert_int_equal(tally_client_submit_id(c, TALLY_WIRE_OP_INCR, "k5", 2, 1, 1, 42, 3, NULL), 0);
	assert_int_equal(tally_client_flush(c), 0);
	node_recv(&f, &wreq);
	assert_int_equal(wreq.seq, 3);
	node_answer(&f, &wreq, 201, 0xAA); /* the write's answer: value 201, an old token */
	assert_int_equal(tally_client_poll(c, &r, 1, 1000), 1);
	assert_int_equal(r.value, 201);

	read_once(&f, c, "k5", 205); /* library sequence 1 */
	read_once(&f, c, "k5", 211); /* 2 */
	assert_int_equal(tally_client_submit(c, TALLY_WIRE_OP_GET, "k5", 2, 0, 1, NULL), 0); /* 3 */
	assert_int_equal(tally_client_flush(c), 0);
	node_recv(&f, &rreq);
	assert_int_equal(rreq.client, 42);
	assert_int_equal(rreq.seq, 3);

	node_answer(&f, &wreq, 201, 0xAA); /* the write's answer again, late */
	node_answer(&f, &rreq, 212, 0xBB); /* the read's own */
	assert_int_equal(tally_client_poll(c, &r, 1, 1000), 1);
	assert_int_equal(r.op, TALLY_WIRE_OP_GET);
	assert_int_equal(r.value, 212);
	assert_int_equal(r.token[0], 0xBB);
	assert_int_equal(tally_client_token_get(c, "k5", 2, tok), 64);
	assert_int_equal(tok[0], 0xBB);

	struct tally_client_stats st;
	tally_client_stats(c, &st);
	assert_int_equal(st.stray, 1);
	tally_client_close(c);
	close(f.fd);
}

/* The same for a late answer about another key under a colliding op id. */
static void
test_late_answer_of_other_key(void **state)
{
	struct fake_node f;
	struct tally_wire_client wreq, rreq;
	struct tally_client_result r;

	(void)state;
	node_open(&f);
	tally_client_t *c = client_open(&f, 43);

	assert_int_equal(tally_client_submit_id(c, TALLY_WIRE_OP_GET, "other", 5, 0, 1, 43, 1, NULL), 0);
	assert_int_equal(tally_client_flush(c), 0);
	node_recv(&f, &wreq);
	node_answer(&f, &wreq, 9, 0xCC);
	assert_int_equal(tally_client_poll(c, &r, 1, 1000), 1);

	assert_int_equal(tally_client_submit(c, TALLY_WIRE_OP_GET, "k5", 2, 0, 1, NULL), 0); /* sequence 1 */
	assert_int_equal(tally_client_flush(c), 0);
	node_recv(&f, &rreq);
	node_answer(&f, &wreq, 9, 0xCC);
	node_answer(&f, &rreq, 30, 0xDD);
	assert_int_equal(tally_client_poll(c, &r, 1, 1000), 1);
	assert_int_equal(r.value, 30);
	assert_int_equal(r.token[0], 0xDD);
	tally_client_close(c);
	close(f.fd);
}

/*
 * Wire v2: a request asks for a token (flag bit 0) only from a client that
 * wants one; one-beat records fill a datagram 138 at a time, and a record
 * too large for what is left of one goes in the next.
 */
static void
test_token_flag_and_batch(void **state)
{
	static uint8_t buf[TALLY_WIRE_MAX_PAYLOAD + 64];
	struct fake_node f;
	struct tally_wire_client req;
	struct tally_wire_frame fr;
	struct tally_client_opts o = { .host = "127.0.0.1", .timeout_ms = 2000, .retry_ms = 1000, .client_id = 5 };
	int err = 0;
	char key[32];

	(void)state;
	node_open(&f);
	o.port = f.port;
	assert_int_equal(tally_client_credential(cluster_key, 0, o.key), 0);
	for (int mode = 0; mode < 3; mode++) { /* plain, .tokens, .session */
		o.tokens = mode == 1;
		o.session = mode == 2;
		tally_client_t *c = tally_client_open(&o, &err);
		assert_non_null(c);
		assert_int_equal(tally_client_submit(c, TALLY_WIRE_OP_INCR, "k", 1, 1, 1, NULL), 0);
		assert_int_equal(tally_client_flush(c), 0);
		node_recv(&f, &req);
		assert_int_equal(req.flags, mode == 0 ? 0 : TALLY_WIRE_CLIENT_FLAG_TOKEN);
		tally_client_close(c);
	}

	o.session = o.tokens = false;
	tally_client_t *c = tally_client_open(&o, &err);
	assert_non_null(c);
	for (unsigned i = 0; i < 137; i++) {
		snprintf(key, sizeof(key), "key-%u", i);
		assert_int_equal(tally_client_submit(c, TALLY_WIRE_OP_INCR, key, strlen(key), 1, 1, NULL), 0);
	}
	/* a 32-byte key takes 2 beats, where 1 is left: the next datagram */
	memset(key, 'v', sizeof(key));
	assert_int_equal(tally_client_submit(c, TALLY_WIRE_OP_INCR, key, sizeof(key), 1, 1, NULL), 0);
	assert_int_equal(tally_client_flush(c), 0);
	unsigned counts[2] = { 0 };
	for (int d = 0; d < 2; d++) {
		ssize_t n = recv(f.fd, buf, sizeof(buf), 0);
		assert_true(n > 0);
		assert_int_equal(tally_wire_decode_payload(buf, (size_t)n, &f.key, &fr), TALLY_WIRE_OK);
		counts[d] = fr.hdr.count;
	}
	assert_int_equal(counts[0], 137); /* of the (8972 - 86 - 16) / 64 = 138 beats a datagram holds */
	assert_int_equal(counts[1], 1);
	/* and 138 one-beat records fill one */
	for (unsigned i = 0; i < 139; i++) {
		snprintf(key, sizeof(key), "other-%u", i);
		assert_int_equal(tally_client_submit(c, TALLY_WIRE_OP_INCR, key, strlen(key), 1, 1, NULL), 0);
	}
	assert_int_equal(tally_client_flush(c), 0);
	assert_true(recv(f.fd, buf, sizeof(buf), 0) > 0);
	assert_int_equal(tally_wire_decode_payload(buf, 0 + (size_t)(TALLY_WIRE_HDR_LEN + 138 * 64 + 16), &f.key, &fr),
			 TALLY_WIRE_OK);
	assert_int_equal(fr.hdr.count, 138);
	tally_client_close(c);
	close(f.fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_late_answer_of_other_op),
		cmocka_unit_test(test_late_answer_of_other_key),
		cmocka_unit_test(test_token_flag_and_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
