/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-cluster-check: checks run against a live cluster (the scripts in tests/cluster
 * start it) through libtallyclient and raw UDP. Each prints what it did and
 * exits 0 when the property held, 1 when it did not.
 *
 *   quorum  --nodes M --ops K -W w -R r   random incr/decr through every node
 *           as coordinator; after each acknowledged write, a read through
 *           another node must include it (run with w + r > n); at the end
 *           every node's read equals the acknowledged total
 *   retry   --nodes M                     one op id sent to every node in turn:
 *           applied once
 *   bad     --node N                      a wrong cluster key, a bad record,
 *           garbage, a quorum over n: refused, answered where authenticated,
 *           nothing applied, and the node still serves
 *   fill    --node N --keys K             write new keys into tables of K until
 *           one is table_full: every acknowledged key reads back as written,
 *           the refused one as never written, and the node still serves
 *   write   --node N --key KEY --count C [-W w] [--opid ID]  C increments of
 *           1, in batches; prints the acknowledged count (for kill -9 tests).
 *           With --opid, the op ids are (ID, 1..C): a second run with the
 *           same ID retries every one of them
 *   read    --node N --key KEY --count C [-R r]  C reads, in batches; prints
 *           the count answered ok and the highest value read
 *   expect  --node N --key KEY --min A [--max B] [-R r]  the value is in [A, B]
 *   forget  --node N --key KEY            a client makes 1,100 increments
 *           (past its first dedup window), 66,000 one-write clients make
 *           the origin forget it, then it makes 100 more: every one must
 *           be acknowledged (the library takes a new client id, once) and
 *           the key read 67,200
 *   place   --key KEY                     print the key's nodes in ring order
 *           (preference list first), one line, from the configuration
 *   forge   --node N --key KEY --origin O --p P [--n V] [--epoch E]
 *           send node N's cluster port one REPLICATE record claiming slot
 *           O of KEY is (P, V), as member O of epoch E, authenticated with
 *           the cluster key of --config (what an older node, or anyone who
 *           holds that key, can send); prints what it sent
 *
 *   client-forge --config CLIENT-FILE --node N --key KEY --origin O [--epoch E]
 *           what a client holding only its credential (tallyctl keygen
 *           --client) can try: send node N's cluster port, MAC'd with the
 *           credential, a REPLICATE claiming slot O of KEY is 2^64 - 1, an
 *           op-id note, a heartbeat claiming node O saw N's log far ahead,
 *           and an incr of KEY forwarded as if by coordinator O; and send
 *           node N's client port, with its own credential, an incr of KEY
 *           carrying a forged session token: it must be answered bad_token.
 *           Prints what it sent; the script checks that nothing changed
 *
 * Common options: --config FILE (else the embedded cluster's addresses),
 * --seed S.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "config.h"
#include "placement.h"
#include "wire.h"

#define MAXKEYS 16

static struct {
	const char *config;
	unsigned nodes, node, ops, w, r, keys, count;
	const char *key;
	long long min, max;
	unsigned origin, epoch;
	uint64_t p, n;
	uint64_t seed, name; /* name: the seed as given, for key names */
	uint64_t opid;       /* write: op ids (opid, 1..count) instead of the client's own */
} opt = { .epoch = 1, .nodes = 3, .ops = 300, .keys = 8, .count = 100, .min = 0, .max = INT64_MAX, .seed = 1 };

static struct tally_config cfg;

static uint64_t
prng(void)
{
	opt.seed ^= opt.seed << 13;
	opt.seed ^= opt.seed >> 7;
	opt.seed ^= opt.seed << 17;
	return opt.seed;
}

static void
addr_of(unsigned node, char ip[INET_ADDRSTRLEN], uint16_t *port)
{
	if (opt.config == NULL) {
		snprintf(ip, INET_ADDRSTRLEN, "127.0.0.1");
		*port = (uint16_t)(7471 + 10 * node);
		return;
	}
	struct in_addr a = { htonl(cfg.members[node].ip) };
	inet_ntop(AF_INET, &a, ip, INET_ADDRSTRLEN);
	*port = cfg.client_port;
}

static tally_client_t *
client(unsigned node, unsigned timeout_ms, uint64_t id)
{
	struct tally_client_opts o = { .timeout_ms = timeout_ms, .client_id = id };
	char ip[INET_ADDRSTRLEN];
	int err;

	addr_of(node, ip, &o.port);
	o.host = ip;
	if (cfg.is_client) {
		memcpy(o.key, cfg.client_key, sizeof(o.key));
		o.key_id = cfg.client_id;
	} else {
		(void)tally_client_credential(cfg.key, 0, o.key);
	}
	tally_client_t *c = tally_client_open(&o, &err);
	if (c == NULL) {
		fprintf(stderr, "check: client to node %u: %s\n", node, strerror(-err));
		exit(1);
	}
	return c;
}

/* One operation with a given op id, waiting for it. */
static struct tally_client_result
op_id(tally_client_t *c, unsigned op, const char *key, uint64_t delta, unsigned q, uint64_t cid, uint64_t seq)
{
	struct tally_client_result r;
	int rc = tally_client_submit_id(c, op, key, strlen(key), delta, q, cid, seq, NULL);

	if (rc != 0) {
		fprintf(stderr, "check: submit: %s\n", strerror(-rc));
		exit(1);
	}
	do
		rc = tally_client_poll(c, &r, 1, 5000);
	while (rc == 0);
	if (rc < 0) {
		fprintf(stderr, "check: poll: %s\n", strerror(-rc));
		exit(1);
	}
	return r;
}

static uint64_t next_seq[TALLY_MAX_NODES];

static struct tally_client_result
op(tally_client_t *c, unsigned node, unsigned op, const char *key, uint64_t delta, unsigned q)
{
	return op_id(c, op, key, delta, q, tally_client_id(c), ++next_seq[node]);
}

static int
check_quorum(void)
{
	tally_client_t *c[TALLY_MAX_NODES];
	int64_t acked[MAXKEYS] = { 0 }, maybe_up[MAXKEYS] = { 0 }, maybe_down[MAXKEYS] = { 0 };
	unsigned ok = 0, indet = 0, reads = 0, bad = 0;
	char key[MAXKEYS][16];

	for (unsigned i = 0; i < opt.nodes; i++)
		c[i] = client(i, 2000, 0);
	for (unsigned k = 0; k < opt.keys; k++)
		snprintf(key[k], sizeof(key[k]), "q%" PRIu64 "-%u", opt.name, k);
	for (unsigned i = 0; i < opt.ops; i++) {
		unsigned k = (unsigned)(prng() % opt.keys), at = (unsigned)(prng() % opt.nodes);
		bool up = prng() % 4 != 0;
		uint64_t d = 1 + prng() % 100;
		struct tally_client_result r = op(c[at], at, up ? TALLY_WIRE_OP_INCR : TALLY_WIRE_OP_DECR, key[k], d, opt.w);

		if (r.status == TALLY_E_INDETERMINATE) {
			indet++;
			(up ? maybe_up : maybe_down)[k] += (int64_t)d;
			continue;
		}
		if (r.status != TALLY_OK) {
			fprintf(stderr, "check: write %u at node %u: %s\n", i, at, tally_status_name(r.status));
			return 1;
		}
		ok++;
		acked[k] += up ? (int64_t)d : -(int64_t)d;
		/* Read it back through another node: it must be there. */
		unsigned rd = (at + 1 + (unsigned)(prng() % (opt.nodes - 1))) % opt.nodes;
		r = op(c[rd], rd, TALLY_WIRE_OP_GET, key[k], 0, opt.r);
		reads++;
		if (r.status != TALLY_OK || r.value < acked[k] - maybe_down[k] || r.value > acked[k] + maybe_up[k]) {
			fprintf(stderr,
				"check: read %s at node %u after an ack: %s %" PRId64 ", acknowledged total %" PRId64
				" (+%" PRId64 "/-%" PRId64 " indeterminate)\n",
				key[k], rd, tally_status_name(r.status), r.value, acked[k], maybe_up[k], maybe_down[k]);
			bad++;
		}
	}
	/* Every node, every key: the acknowledged total. */
	for (unsigned k = 0; k < opt.keys; k++)
		for (unsigned i = 0; i < opt.nodes; i++) {
			struct tally_client_result r = op(c[i], i, TALLY_WIRE_OP_GET, key[k], 0, opt.r);
			reads++;
			if (r.status != TALLY_OK || r.value < acked[k] - maybe_down[k] || r.value > acked[k] + maybe_up[k]) {
				fprintf(stderr, "check: final read %s at node %u: %s %" PRId64 ", want %" PRId64 "\n", key[k], i,
					tally_status_name(r.status), r.value, acked[k]);
				bad++;
			}
		}
	printf("quorum W=%u R=%u: %u writes acknowledged, %u indeterminate, %u reads, %u saw less than "
	       "every acknowledged write\n", opt.w, opt.r, ok, indet, reads, bad);
	for (unsigned i = 0; i < opt.nodes; i++)
		tally_client_close(c[i]);
	return bad == 0 && ok > 0 ? 0 : 1;
}

static int
check_retry(void)
{
	char key[32];
	uint64_t cid = 0x5eed0000u + opt.name;
	tally_client_t *c[TALLY_MAX_NODES];
	int64_t before, after;
	unsigned okc = 0;

	snprintf(key, sizeof(key), "retry-%" PRIu64, opt.name);
	for (unsigned i = 0; i < opt.nodes; i++)
		c[i] = client(i, 2000, 0);
	before = op(c[0], 0, TALLY_WIRE_OP_GET, key, 0, cfg.n).value;
	/* One op id, seven times, through every coordinator. */
	for (unsigned t = 0; t < 7; t++) {
		unsigned at = t % opt.nodes;
		struct tally_client_result r = op_id(c[at], TALLY_WIRE_OP_INCR, key, 7, 0, cid, 1);
		okc += r.status == TALLY_OK;
		if (r.status != TALLY_OK)
			fprintf(stderr, "check: retry %u at node %u: %s\n", t, at, tally_status_name(r.status));
	}
	after = op(c[1 % opt.nodes], 1 % opt.nodes, TALLY_WIRE_OP_GET, key, 0, cfg.n).value;
	printf("retry: one op id (+7) sent 7 times through %u coordinators, %u answered ok; value %" PRId64
	       " -> %" PRId64 "\n", opt.nodes, okc, before, after);
	return after - before == 7 && okc == 7 ? 0 : 1;
}

/* A raw UDP socket to node @n's client port. */
static int
raw_socket(unsigned node)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char ip[INET_ADDRSTRLEN];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	addr_of(node, ip, &sa.sin_port);
	sa.sin_port = htons(sa.sin_port);
	inet_pton(AF_INET, ip, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("check: socket");
		exit(1);
	}
	return fd;
}

/* A CLIENT_REQUEST payload with @n incr records under @keys; @return its length. */
static size_t
build(uint8_t *buf, size_t cap, const struct tally_wire_key *keys, const char *key, unsigned nrec, uint64_t cid,
      unsigned w)
{
	struct tally_wire_writer wr;
	struct tally_wire_addr a = { 0 };
	struct tally_wire_hdr h = { .type = TALLY_WIRE_CLIENT_REQUEST, .sender = TALLY_WIRE_SENDER_CLIENT, .seq = 1 };

	tally_wire_begin(&wr, buf, cap, 0, &a, &h);
	for (unsigned i = 0; i < nrec; i++) {
		struct tally_wire_client r = { .op = TALLY_WIRE_OP_INCR, .w = (uint8_t)w, .client = cid, .seq = i + 1,
					       .delta = 1000, .key_len = (uint8_t)strlen(key) };
		memcpy(r.key, key, strlen(key));
		tally_wire_add_client(&wr, &r);
	}
	return tally_wire_finish(&wr, keys) - TALLY_WIRE_L2L4_LEN;
}

/* Wait for one CLIENT_REPLY datagram; @return its records' statuses in st[], count, or -1 on none. */
static int
await_reply(int fd, const struct tally_wire_key *keys, unsigned ms, uint16_t st[], unsigned max)
{
	uint8_t buf[TALLY_WIRE_MAX_PAYLOAD + 64];
	struct pollfd p = { fd, POLLIN, 0 };
	struct tally_wire_frame f;

	if (poll(&p, 1, (int)ms) <= 0)
		return -1;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	if (n <= 0 || tally_wire_decode_payload(buf, (size_t)n, keys, &f) != TALLY_WIRE_OK)
		return -1;
	unsigned k = 0;
	for (; k < f.hdr.count && k < max; k++) {
		struct tally_wire_client r;
		tally_wire_get_client(&f, k, &r);
		st[k] = r.status;
	}
	return (int)k;
}

static int
check_bad(void)
{
	struct tally_wire_key good, wrong;
	uint8_t wrong_key[32], buf[TALLY_WIRE_L2L4_LEN + TALLY_WIRE_MAX_PAYLOAD];
	char key[32];
	uint16_t st[8];
	int fd = raw_socket(opt.node), failures = 0;
	tally_client_t *c = client(opt.node, 2000, 0);

	snprintf(key, sizeof(key), "bad-%" PRIu64, opt.name);
	tally_wire_client_key(&good, cfg.key, 0); /* credential 0, as client() holds */
	memcpy(wrong_key, cfg.key, 32);
	wrong_key[0] ^= 1;
	tally_wire_client_key(&wrong, wrong_key, 0);
	int64_t before = op(c, opt.node, TALLY_WIRE_OP_GET, key, 0, 0).value;

	/* 0. A wire v1 frame, right key: dropped unanswered (bad_version; the node's log names us). */
	size_t len = build(buf, sizeof(buf), &good, key, 1, 0xbad0000, 0);
	buf[TALLY_WIRE_L2L4_LEN + 4] = 1;
	crypto_shorthash_siphashx24(buf + TALLY_WIRE_L2L4_LEN + len - TALLY_WIRE_MAC_LEN, buf + TALLY_WIRE_L2L4_LEN,
				    len - TALLY_WIRE_MAC_LEN, good.k);
	send(fd, buf + TALLY_WIRE_L2L4_LEN, len, 0);
	int got = await_reply(fd, &good, 300, st, 8);
	printf("bad: a wire v1 frame: %s\n", got < 0 ? "dropped, no answer" : "ANSWERED");
	failures += got >= 0;

	/* 1. A wrong cluster key: dropped, unanswered (no reflection to forgers). */
	len = build(buf, sizeof(buf), &wrong, key, 3, 0xbad0001, 0);
	send(fd, buf + TALLY_WIRE_L2L4_LEN, len, 0);
	got = await_reply(fd, &good, 300, st, 8);
	printf("bad: frame under a wrong cluster key: %s\n", got < 0 ? "dropped, no answer" : "ANSWERED");
	failures += got >= 0;
	/* 1b. The node key, or credential 1's key under credential 0's id: not a credential's, dropped. */
	struct tally_wire_key node, other;
	tally_wire_node_key(&node, cfg.key);
	tally_wire_client_key(&other, cfg.key, 1);
	len = build(buf, sizeof(buf), &node, key, 3, 0xbad0003, 0);
	send(fd, buf + TALLY_WIRE_L2L4_LEN, len, 0);
	got = await_reply(fd, &node, 300, st, 8);
	printf("bad: client frame under the node key: %s\n", got < 0 ? "dropped, no answer" : "ANSWERED");
	failures += got >= 0;
	len = build(buf, sizeof(buf), &other, key, 3, 0xbad0004, 0);
	send(fd, buf + TALLY_WIRE_L2L4_LEN, len, 0);
	got = await_reply(fd, &other, 300, st, 8);
	printf("bad: frame naming credential 0 under credential 1's key: %s\n",
	       got < 0 ? "dropped, no answer" : "ANSWERED");
	failures += got >= 0;

	/* 2. Authenticated, one record with a reserved byte set: every record answered bad_request. */
	len = build(buf, sizeof(buf), &good, key, 3, 0xbad0002, 0);
	/* build()'s three records are alike: each as many beats as one of them */
	const struct tally_wire_client like = { .op = TALLY_WIRE_OP_INCR, .key_len = (uint8_t)strlen(key) };
	const size_t rs = 64 * (size_t)tally_wire_client_beats(&like);
	const size_t rb = len - TALLY_WIRE_HDR_LEN - TALLY_WIRE_MAC_LEN;
	buf[TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN + rs + 7] = 0x80; /* record 1: a flag no version defines */
	/* re-MAC it: the MAC covers the records, and this client holds the key */
	{
		struct tally_wire_writer wr;
		struct tally_wire_addr a = { 0 };
		struct tally_wire_hdr h = { .type = TALLY_WIRE_CLIENT_REQUEST, .sender = TALLY_WIRE_SENDER_CLIENT,
					    .seq = 1 };
		uint8_t recs[3 * 64 * TALLY_WIRE_CLIENT_MAX_BEATS];
		if (rb > sizeof(recs))
			exit(1);
		memcpy(recs, buf + TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN, rb);
		tally_wire_begin(&wr, buf, sizeof(buf), 0, &a, &h);
		memcpy(buf + TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN, recs, rb);
		wr.len += rb;
		wr.count = 3;
		len = tally_wire_finish(&wr, &good) - TALLY_WIRE_L2L4_LEN;
	}
	send(fd, buf + TALLY_WIRE_L2L4_LEN, len, 0);
	got = await_reply(fd, &good, 1000, st, 8);
	bool all_bad = got == 3;
	for (int i = 0; i < got; i++)
		all_bad = all_bad && st[i] == TALLY_E_BAD_REQUEST;
	printf("bad: authenticated frame with a malformed record: %s\n",
	       all_bad ? "each of its 3 records answered bad_request" : "NOT answered bad_request");
	failures += !all_bad;

	/* 3. Garbage and a truncated frame: dropped. */
	send(fd, "not a tally frame at all", 24, 0);
	len = build(buf, sizeof(buf), &good, key, 2, 0xbad0003, 0);
	send(fd, buf + TALLY_WIRE_L2L4_LEN, len - 40, 0);
	got = await_reply(fd, &good, 300, st, 8);
	printf("bad: garbage and a truncated frame: %s\n", got < 0 ? "dropped, no answer" : "ANSWERED");
	failures += got >= 0;

	/* 4. A quorum over n: bad_request. */
	len = build(buf, sizeof(buf), &good, key, 1, 0xbad0004, TALLY_MAX_NODES);
	send(fd, buf + TALLY_WIRE_L2L4_LEN, len, 0);
	got = await_reply(fd, &good, 1000, st, 8);
	printf("bad: W = %d, over n: %s\n", TALLY_MAX_NODES,
	       got == 1 && st[0] == TALLY_E_BAD_REQUEST ? "bad_request" : "NOT bad_request");
	failures += !(got == 1 && st[0] == TALLY_E_BAD_REQUEST);

	/* Nothing applied, and the node still serves. */
	struct tally_client_result r = op(c, opt.node, TALLY_WIRE_OP_INCR, key, 1, 0);
	printf("bad: afterwards the counter went %" PRId64 " -> %" PRId64 " with one +1 (%s)\n", before, r.value,
	       tally_status_name(r.status));
	failures += !(r.status == TALLY_OK && r.value == before + 1);
	close(fd);
	tally_client_close(c);
	return failures ? 1 : 0;
}

static int
check_fill(void)
{
	tally_client_t *c = client(opt.node, 2000, 0);
	unsigned max = 4 * opt.keys + 1, n = 0, ok = 0, full = 0, indet = 0, right = 0;
	uint16_t *st = calloc(max, sizeof(*st));
	char key[32];

	/* New keys until the first table_full (an origin's, or a replica's
	 * that leaves the write short of W). */
	for (; n < max && full == 0; n++) {
		snprintf(key, sizeof(key), "fill-%u", n);
		struct tally_client_result r = op(c, opt.node, TALLY_WIRE_OP_INCR, key, n + 1, 0);
		st[n] = r.status;
		ok += r.status == TALLY_OK;
		full += r.status == TALLY_E_TABLE_FULL;
		indet += r.status == TALLY_E_INDETERMINATE;
		if (r.status != TALLY_OK && r.status != TALLY_E_TABLE_FULL && r.status != TALLY_E_INDETERMINATE)
			fprintf(stderr, "check: fill %s: %s\n", key, tally_status_name(r.status));
	}
	/* Nothing lost: every acknowledged key reads as written, every refused one as never written. */
	for (unsigned i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "fill-%u", i);
		struct tally_client_result r = op(c, opt.node, TALLY_WIRE_OP_GET, key, 0, 0);
		bool good = r.status == TALLY_OK &&
			    (st[i] == TALLY_OK ? r.value == (int64_t)(i + 1)
			     : st[i] == TALLY_E_TABLE_FULL ? r.value == 0
						 : r.value == 0 || r.value == (int64_t)(i + 1));
		if (!good)
			fprintf(stderr, "check: fill-%u (%s) reads %s %" PRId64 "\n", i, tally_status_name(st[i]),
				tally_status_name(r.status), r.value);
		right += good;
	}
	/* And the node still takes writes to keys it holds. */
	struct tally_client_result r = op(c, opt.node, TALLY_WIRE_OP_INCR, "fill-0", 1, 0);
	printf("fill: tables of %u keys: %u new keys written, %u ok, %u table_full, %u indeterminate; %u of %u read "
	       "back right; then fill-0 +1: %s\n",
	       opt.keys, n, ok, full, indet, right, n, tally_status_name(r.status));
	tally_client_close(c);
	free(st);
	return full == 1 && right == n && r.status == TALLY_OK && ok >= opt.keys / 2 ? 0 : 1;
}

/* C increments of 1 (or, with @p get, C reads) in batches of 16 in flight;
 * prints "acked indeterminate other" (reads: and the highest value seen). */
static int
check_write(bool get)
{
	struct tally_client_opts o = { .timeout_ms = 1000, .batch = 16 };
	char ip[INET_ADDRSTRLEN];
	unsigned acked = 0, indet = 0, sent = 0, other = 0, op = get ? TALLY_WIRE_OP_GET : TALLY_WIRE_OP_INCR;
	int64_t high = INT64_MIN;
	int err;

	addr_of(opt.node, ip, &o.port);
	o.host = ip;
	(void)tally_client_credential(cfg.key, 0, o.key);
	tally_client_t *c = tally_client_open(&o, &err);
	while (acked + indet + other < opt.count) {
		while (sent < opt.count &&
		       (opt.opid != 0 && !get
				? tally_client_submit_id(c, op, opt.key, strlen(opt.key), 1, opt.w, opt.opid, sent + 1, NULL)
				: tally_client_submit(c, op, opt.key, strlen(opt.key), get ? 0 : 1, get ? opt.r : opt.w,
						      NULL)) == 0)
			sent++;
		struct tally_client_result r[64];
		int n = tally_client_poll(c, r, 64, 1000);
		for (int i = 0; i < n; i++) {
			if (r[i].status == TALLY_OK) {
				acked++;
				high = r[i].value > high ? r[i].value : high;
			} else if (r[i].status == TALLY_E_INDETERMINATE) {
				indet++;
			} else {
				other++;
			}
		}
		if (n < 0)
			break;
	}
	if (get)
		printf("%u %u %u %" PRId64 "\n", acked, indet, other, high);
	else
		printf("%u %u %u\n", acked, indet, other);
	tally_client_close(c);
	return 0;
}

/* Submit @p count increments of opt.key, ids (base + i, 1) when @p base is
 * nonzero, else the client's own; wait for all. @return how many were ok. */
static unsigned
burst(tally_client_t *c, unsigned count, uint64_t base, unsigned *renewed)
{
	static unsigned shown; /* the first few refusals */
	unsigned sent = 0, done = 0, ok = 0;

	while (done < count) {
		while (sent < count &&
		       (base != 0 ? tally_client_submit_id(c, TALLY_WIRE_OP_INCR, opt.key, strlen(opt.key), 1, 0,
							   base + sent, 1, NULL)
				  : tally_client_submit(c, TALLY_WIRE_OP_INCR, opt.key, strlen(opt.key), 1, 0, NULL)) == 0)
			sent++;
		struct tally_client_result r[64];
		int n = tally_client_poll(c, r, 64, 1000);
		if (n < 0) {
			fprintf(stderr, "check: poll: %s\n", strerror(-n));
			exit(1);
		}
		for (int i = 0; i < n; i++) {
			ok += r[i].status == TALLY_OK;
			*renewed += r[i].renewed;
			if (r[i].status != TALLY_OK && shown++ < 3)
				fprintf(stderr, "check: forget: op %016" PRIx64 ":%" PRIu64 ": %s\n", r[i].client, r[i].seq,
					tally_status_name(r[i].status));
		}
		done += (unsigned)n;
	}
	return ok;
}

static int
check_forget(void)
{
	const unsigned before = 1100, churn = 66000, after = 100;
	tally_client_t *l = client(opt.node, 2000, 0), *many = client(opt.node, 2000, 0);
	unsigned renewed = 0, ok1, ok2, ok3;
	uint64_t id = tally_client_id(l);
	struct tally_client_stats st;

	ok1 = burst(l, before, 0, &renewed);
	ok2 = burst(many, churn, prng() | 1u << 31, &renewed);
	ok3 = burst(l, after, 0, &renewed);
	tally_client_stats(l, &st);
	struct tally_client_result r = op(many, opt.node, TALLY_WIRE_OP_GET, opt.key, 0, 0);
	long long want = (long long)before + churn + after;
	printf("forget: client %016" PRIx64 ": %u of %u ok; %u one-write clients: %u ok; then %u of %u ok, %u sent "
	       "again under a new id (now %016" PRIx64 ", %" PRIu64 " new ids); %s reads %s %" PRId64 ", want %lld\n",
	       id, ok1, before, churn, ok2, ok3, after, renewed, tally_client_id(l), st.new_ids, opt.key,
	       tally_status_name(r.status), r.value, want);
	tally_client_close(l);
	tally_client_close(many);
	return ok1 == before && ok2 == churn && ok3 == after && st.new_ids >= 1 && r.status == TALLY_OK &&
			       r.value == want
		       ? 0
		       : 1;
}

static int
check_expect(void)
{
	tally_client_t *c = client(opt.node, 2000, 0);
	struct tally_client_result r = op(c, opt.node, TALLY_WIRE_OP_GET, opt.key, 0, opt.r);

	tally_client_close(c);
	printf("%s at node %u (R=%u): %s %" PRId64 ", want %lld..%lld\n", opt.key, opt.node, opt.r,
	       tally_status_name(r.status), r.value, opt.min, opt.max);
	return r.status == TALLY_OK && r.value >= opt.min && r.value <= opt.max ? 0 : 1;
}

static int
check_place(void)
{
	bool member[TALLY_MAX_NODES];
	uint8_t id[16];
	unsigned count;
	int err;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		member[i] = opt.config ? cfg.members[i].present : i < opt.nodes;
	struct tally_placement *pl = tally_placement_create(cfg.partitions, opt.config ? cfg.n : 3, member, &err);
	if (pl == NULL)
		return 1;
	tally_wire_key_id(opt.key, strlen(opt.key), id);
	const uint8_t *ring = tally_placement_nodes(pl, tally_placement_partition(pl, id), &count);
	for (unsigned i = 0; i < count; i++)
		printf("%s%u", i ? " " : "", ring[i]);
	printf("\n");
	tally_placement_free(pl);
	return 0;
}

/* Send @p len payload bytes to node @p node's cluster port. */
static int
send_cluster(unsigned node, const uint8_t *p, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(cfg.members[node].port),
				  .sin_addr.s_addr = htonl(cfg.members[node].ip) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int rc = fd >= 0 && sendto(fd, p, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return rc;
}

static int
check_client_forge(void)
{
	struct tally_wire_key cred;
	struct tally_wire_writer w;
	struct tally_wire_addr a = { 0 };
	uint8_t buf[TALLY_WIRE_L2L4_LEN + TALLY_WIRE_MAX_PAYLOAD], kid[TALLY_WIRE_KEY_ID_LEN];
	uint64_t seq = (uint64_t)time(NULL) << 20;
	int failures = 0;

	if (opt.config == NULL || !cfg.is_client || !cfg.members[opt.node].present || opt.origin >= TALLY_MAX_NODES) {
		fprintf(stderr, "check: client-forge needs --config CLIENT-FILE and a member --node and --origin\n");
		return 2;
	}
	memcpy(cred.k, cfg.client_key, sizeof(cred.k)); /* all this client holds */
	tally_wire_key_id(opt.key, strlen(opt.key), kid);

	/* 1. A REPLICATE: slot O of KEY = 2^64 - 1, which would poison it for good. */
	struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = (uint16_t)opt.origin, .epoch = opt.epoch,
				    .seq = seq++ };
	struct tally_wire_slot rec = { .index = TALLY_WIRE_INDEX_UNKNOWN, .kind = TALLY_WIRE_KIND_PNCOUNTER,
				       .origin = (uint8_t)opt.origin, .p = UINT64_MAX };
	memcpy(rec.key, kid, sizeof(kid));
	tally_wire_begin(&w, buf, sizeof(buf), 0, &a, &h);
	tally_wire_add_slot(&w, &rec);
	failures += send_cluster(opt.node, buf + TALLY_WIRE_L2L4_LEN, tally_wire_finish(&w, &cred) - TALLY_WIRE_L2L4_LEN);

	/* 2. An op-id note: "node O applied op (C, 1)", so a later write with that id would be refused. */
	h = (struct tally_wire_hdr){ .type = TALLY_WIRE_NOTE, .sender = (uint16_t)opt.origin, .epoch = opt.epoch,
				     .seq = seq++ };
	struct tally_wire_note note = { .op = TALLY_WIRE_OP_INCR, .client = 0xf0f0f0f0f0f0f0f0u, .seq = 1 };
	tally_wire_begin(&w, buf, sizeof(buf), 0, &a, &h);
	tally_wire_add_note(&w, &note);
	failures += send_cluster(opt.node, buf + TALLY_WIRE_L2L4_LEN, tally_wire_finish(&w, &cred) - TALLY_WIRE_L2L4_LEN);

	/* 3. A heartbeat: node O saw N's log at a position far ahead (N would take its disk for restored). */
	h = (struct tally_wire_hdr){ .type = TALLY_WIRE_DIGEST, .sender = (uint16_t)opt.origin, .epoch = opt.epoch,
				     .seq = seq++ };
	struct tally_wire_digest d = { .partition = UINT32_MAX, .keys = 1u << 30 };
	d.vv.slot[0] = UINT64_C(1) << 40;
	tally_wire_begin(&w, buf, sizeof(buf), 0, &a, &h);
	tally_wire_add_digest(&w, &d);
	failures += send_cluster(opt.node, buf + TALLY_WIRE_L2L4_LEN, tally_wire_finish(&w, &cred) - TALLY_WIRE_L2L4_LEN);

	/* 4. An incr of KEY by 1000, as if coordinator O forwarded it. */
	h = (struct tally_wire_hdr){ .type = TALLY_WIRE_CLIENT_REQUEST, .sender = TALLY_WIRE_SENDER_CLIENT,
				     .epoch = opt.epoch, .seq = seq++ };
	struct tally_wire_client inc = { .op = TALLY_WIRE_OP_INCR, .client = 0xf0f0f0f0f0f0f0f1u, .seq = 1, .delta = 1000,
					 .deadline_ms = 1000, .key_len = (uint8_t)strlen(opt.key) };
	memcpy(inc.key, opt.key, strlen(opt.key));
	tally_wire_begin(&w, buf, sizeof(buf), 0, &a, &h);
	tally_wire_add_client(&w, &inc);
	failures += send_cluster(opt.node, buf + TALLY_WIRE_L2L4_LEN, tally_wire_finish(&w, &cred) - TALLY_WIRE_L2L4_LEN);
	printf("client-forge: sent node %u's cluster port, under credential %u: a REPLICATE (slot %u of %s = 2^64 - 1), "
	       "an op-id note, a heartbeat (its log seen at 2^40), an incr of %s by 1000 (%s)\n",
	       opt.node, cfg.client_id, opt.origin, opt.key, opt.key, failures ? "some sends FAILED" : "all sent");

	/* 5. A forged session token on the client port, under its own credential. */
	int fd = raw_socket(opt.node);
	h = (struct tally_wire_hdr){ .type = TALLY_WIRE_CLIENT_REQUEST, .sender = TALLY_WIRE_SENDER_CLIENT,
				     .epoch = cfg.client_id, .seq = seq++ };
	struct tally_wire_client tok = { .op = TALLY_WIRE_OP_INCR, .client = 0xf0f0f0f0f0f0f0f2u, .seq = 1, .delta = 1,
					 .key_len = (uint8_t)strlen(opt.key), .token_len = 64 };
	memcpy(tok.key, opt.key, strlen(opt.key));
	for (unsigned i = 0; i < 64; i++)
		tok.token[i] = (uint8_t)prng();
	tally_wire_begin(&w, buf, sizeof(buf), 0, &a, &h);
	tally_wire_add_client(&w, &tok);
	size_t len = tally_wire_finish(&w, &cred) - TALLY_WIRE_L2L4_LEN;
	uint16_t st[4];
	int got = fd >= 0 && send(fd, buf + TALLY_WIRE_L2L4_LEN, len, 0) == (ssize_t)len ? await_reply(fd, &cred, 2000, st, 4)
										  : -1;
	printf("client-forge: an incr with a forged token through node %u: %s\n", opt.node,
	       got == 1 ? tally_status_name(st[0]) : "no answer");
	failures += got != 1 || st[0] != TALLY_E_BAD_TOKEN;
	if (fd >= 0)
		close(fd);
	return failures ? 1 : 0;
}

static int
check_forge(void)
{
	struct tally_wire_key keys;
	struct tally_wire_writer w;
	struct tally_wire_addr a = { 0 };
	struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = (uint16_t)opt.origin,
				    .epoch = opt.epoch, .seq = (uint64_t)time(NULL) << 20 };
	struct tally_wire_slot rec = { .index = TALLY_WIRE_INDEX_UNKNOWN, .kind = TALLY_WIRE_KIND_PNCOUNTER,
				       .origin = (uint8_t)opt.origin, .p = opt.p, .n = opt.n };
	uint8_t buf[TALLY_WIRE_L2L4_LEN + TALLY_WIRE_MAX_PAYLOAD];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (opt.config == NULL || !cfg.members[opt.node].present || opt.origin >= TALLY_MAX_NODES) {
		fprintf(stderr, "check: forge needs --config and a member --node and --origin\n");
		return 2;
	}
	tally_wire_node_key(&keys, cfg.key);
	tally_wire_key_id(opt.key, strlen(opt.key), rec.key);
	tally_wire_begin(&w, buf, sizeof(buf), 0, &a, &h);
	tally_wire_add_slot(&w, &rec);
	size_t len = tally_wire_finish(&w, &keys) - TALLY_WIRE_L2L4_LEN;
	sa.sin_addr.s_addr = htonl(cfg.members[opt.node].ip);
	sa.sin_port = htons(cfg.members[opt.node].port);
	if (fd < 0 || sendto(fd, buf + TALLY_WIRE_L2L4_LEN, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("check: forge");
		return 1;
	}
	close(fd);
	printf("forge: REPLICATE to node %u as node %u (epoch %u): %s slot %u = (%" PRIu64 ", %" PRIu64 ")\n",
	       opt.node, opt.origin, opt.epoch, opt.key, opt.origin, opt.p, opt.n);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "nodes", required_argument, NULL, 'M' },
		{ "node", required_argument, NULL, 'n' },   { "ops", required_argument, NULL, 'o' },
		{ "keys", required_argument, NULL, 'k' },   { "key", required_argument, NULL, 'K' },
		{ "count", required_argument, NULL, 'C' },  { "min", required_argument, NULL, 'a' },
		{ "max", required_argument, NULL, 'b' },    { "seed", required_argument, NULL, 's' },
		{ "origin", required_argument, NULL, 'O' }, { "p", required_argument, NULL, 'P' },
		{ "n", required_argument, NULL, 'N' },      { "epoch", required_argument, NULL, 'E' },
		{ "opid", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "W:R:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': opt.config = optarg; break;
		case 'M': opt.nodes = (unsigned)atoi(optarg); break;
		case 'n': opt.node = (unsigned)atoi(optarg); break;
		case 'o': opt.ops = (unsigned)atoi(optarg); break;
		case 'k': opt.keys = (unsigned)atoi(optarg); break;
		case 'K': opt.key = optarg; break;
		case 'C': opt.count = (unsigned)atoi(optarg); break;
		case 'a': opt.min = atoll(optarg); break;
		case 'b': opt.max = atoll(optarg); break;
		case 's':
			opt.name = strtoull(optarg, NULL, 10);
			opt.seed = opt.name * 2 + 1; /* xorshift wants it nonzero */
			break;
		case 'O': opt.origin = (unsigned)atoi(optarg); break;
		case 'P': opt.p = strtoull(optarg, NULL, 0); break;
		case 'N': opt.n = strtoull(optarg, NULL, 0); break;
		case 'E': opt.epoch = (unsigned)atoi(optarg); break;
		case 'I': opt.opid = strtoull(optarg, NULL, 0); break;
		case 'W': opt.w = (unsigned)atoi(optarg); break;
		case 'R': opt.r = (unsigned)atoi(optarg); break;
		default: return 2;
		}
	}
	tally_config_defaults(&cfg);
	if (opt.config != NULL) {
		char err[512];
		if (tally_config_load(&cfg, opt.config, err, sizeof(err)) != 0) {
			fprintf(stderr, "check: %s\n", err);
			return 2;
		}
	}
	if (opt.keys > MAXKEYS && (optind >= argc || strcmp(argv[optind], "fill") != 0))
		opt.keys = MAXKEYS;
	if (opt.nodes < 2 || opt.nodes > TALLY_MAX_NODES)
		opt.nodes = 3;
	const char *cmd = optind < argc ? argv[optind] : "";
	if (strcmp(cmd, "quorum") == 0)
		return check_quorum();
	if (strcmp(cmd, "retry") == 0)
		return check_retry();
	if (strcmp(cmd, "bad") == 0)
		return check_bad();
	if (strcmp(cmd, "fill") == 0)
		return check_fill();
	if ((strcmp(cmd, "write") == 0 || strcmp(cmd, "read") == 0) && opt.key)
		return check_write(strcmp(cmd, "read") == 0);
	if (strcmp(cmd, "expect") == 0 && opt.key)
		return check_expect();
	if (strcmp(cmd, "place") == 0 && opt.key)
		return check_place();
	if (strcmp(cmd, "forget") == 0 && opt.key)
		return check_forget();
	if (strcmp(cmd, "forge") == 0 && opt.key)
		return check_forge();
	if (strcmp(cmd, "client-forge") == 0 && opt.key)
		return check_client_forge();
	fprintf(stderr, "usage: tally-cluster-check quorum|retry|bad|fill|write|read|expect|place|forget|forge|client-forge [options] (see the source)\n");
	return 2;
}
