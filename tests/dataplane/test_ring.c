/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Two dataplane runtimes in one process, joined by a pair of net_ring ports
 * (no root, no hugepages), exchange REPLICATE frames both ways: in shuffled
 * order, duplicated, and replayed long after, some for keys the receiver has
 * not placed yet (the host path), mixed with frames that carry a bad MAC and
 * frames that are not tally's. Each table must end equal to an independent
 * reference: per key and origin slot, the largest value sent. Every record
 * must be acknowledged with at least the value it carried.
 *
 * The exchange runs twice, on the cpu backend and on the sim backend (the
 * Verilated NIC), from the same seed and so with the same frames in the
 * same order; the last test checks that both runs end with identical
 * tables, dispositions and drop counts.
 *
 *   test_ring [--backend cpu|sim]   (default: both, and their comparison)
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "cmocka_prelude.h"
#include "dp.h"
#include "prop.h"

#define KEYS 200
#define LATE_KEYS 20 /* placed by the receiver only when the first record arrives */
#define FRAMES 400
#define BUF 1600

struct node {
	unsigned id;
	struct tally_dp *dp;
	tally_offload_t *engine;
	struct tally_wire_addr self;
	/* the reference of what this node was sent: max per key and origin */
	uint64_t want_p[KEYS][TALLY_MAX_NODES], want_n[KEYS][TALLY_MAX_NODES];
	/* the largest value the peer acknowledged per key and origin, for what we sent */
	uint64_t acked_p[KEYS][TALLY_MAX_NODES];
	unsigned host_frames, ack_frames;
};

static struct tally_wire_key keys;
static uint8_t kid[KEYS][16];
static struct node nodes[2];
static uint16_t ports[2];

/* What a run leaves behind, to compare the backends. */
struct snapshot {
	bool taken;
	bool placed[2][KEYS];
	uint32_t index[2][KEYS];
	tally_pncounter_t counter[2][KEYS];
	struct tally_offload_stats engine[2];
	uint64_t acks[2];
};

enum { CPU, SIM, BACKENDS };
static const char *const backend_name[BACKENDS] = { "cpu", "sim" };
static struct snapshot snap[BACKENDS];

static unsigned
key_number(const uint8_t *key)
{
	for (unsigned k = 0; k < KEYS; k++)
		if (memcmp(kid[k], key, 16) == 0)
			return k;
	fail_msg("a record names a key nobody sent");
	return 0;
}

/* The host half: place unknown keys, apply the frame's records, ack them;
 * count the acks that come back for what this node sent. */
static void
host(void *ctx, struct tally_dp *dp, const struct tally_dp_host_frame *hf)
{
	struct node *me = ctx;
	const struct tally_wire_frame *f = hf->frame;
	struct tally_offload_completion c[TALLY_WIRE_MAX_SLOTS];
	struct tally_wire_slot s[TALLY_WIRE_MAX_SLOTS];

	me->host_frames++;
	if (f->hdr.type == TALLY_WIRE_REPLICATE_ACK) {
		me->ack_frames++;
		for (unsigned i = 0; i < f->hdr.count; i++) {
			tally_wire_get_slot(f, i, &s[i]);
			unsigned k = key_number(s[i].key);
			if (s[i].p > me->acked_p[k][s[i].origin])
				me->acked_p[k][s[i].origin] = s[i].p;
		}
		return;
	}
	assert_int_equal(f->hdr.type, TALLY_WIRE_REPLICATE);
	for (unsigned i = 0; i < f->hdr.count; i++) {
		tally_wire_get_slot(f, i, &s[i]);
		assert_true(tally_offload_key_alloc(me->engine, s[i].key, &s[i].index) >= 0);
	}
	assert_int_equal(tally_offload_apply_slots(me->engine, s, f->hdr.count, c), f->hdr.count);
	assert_int_equal(tally_dp_send_acks(dp, &f->addr, &f->hdr, c, f->hdr.count), 0);
}

static void
make_node(struct node *n, unsigned id, uint16_t port, const char *backend)
{
	struct tally_offload_config ec = { .backend = backend, .table_entries = 1024, .key = keys };
	int err;

	memset(n, 0, sizeof(*n));
	n->id = id;
	n->engine = tally_offload_create(&ec, &err);
	if (n->engine == NULL)
		fail_msg("tally_offload_create(%s): %s", backend, strerror(-err));
	assert_string_equal(tally_offload_backend(n->engine), backend);
	struct tally_dp_config dc = {
		.port_id = port, .self = (uint16_t)id, .ip = 0x0a000001 + id, .key = keys,
		.engine = n->engine, .host = host, .host_ctx = n,
	};
	n->dp = tally_dp_create(&dc, &err);
	if (n->dp == NULL)
		fail_msg("tally_dp_create: %s", strerror(-err));
	tally_dp_addr(n->dp, &n->self);
	/* Keys both nodes know, placed in the same order. */
	for (unsigned k = 0; k < KEYS - LATE_KEYS; k++) {
		uint32_t ix;
		assert_int_equal(tally_offload_key_alloc(n->engine, kid[k], &ix), 1);
		assert_int_equal(ix, k);
	}
}

/* Poll both nodes until neither receives anything for a while. */
static void
run_until_quiet(void)
{
	int quiet = 0;

	for (int i = 0; i < 100000 && quiet < 64; i++) {
		unsigned got = tally_dp_poll(nodes[0].dp) + tally_dp_poll(nodes[1].dp);
		quiet = got ? 0 : quiet + 1;
	}
	assert_true(quiet >= 64);
}

static uint16_t
build_frame(uint8_t *buf, struct node *from, struct node *to, uint64_t seq, struct prng *g)
{
	struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = (uint16_t)from->id, .seq = seq };
	struct tally_wire_addr a = from->self;
	struct tally_wire_writer w;
	unsigned n = 1 + (unsigned)prng_below(g, 21);

	memcpy(a.dst_mac, to->self.src_mac, 6);
	a.dst_ip = to->self.src_ip;
	a.dst_port = to->self.src_port;
	assert_int_equal(tally_wire_begin(&w, buf, BUF, 1500, &a, &h), 0);
	for (unsigned i = 0; i < n; i++) {
		unsigned k = (unsigned)prng_below(g, KEYS);
		struct tally_wire_slot s = {
			.index = k < KEYS - LATE_KEYS ? k : TALLY_WIRE_INDEX_UNKNOWN, .kind = 1,
			.origin = (uint8_t)prng_below(g, TALLY_MAX_NODES),
			.p = prng_below(g, 1u << 20), .n = prng_below(g, 1u << 20),
		};
		memcpy(s.key, kid[k], 16);
		assert_int_equal(tally_wire_add_slot(&w, &s), 0);
		uint64_t *wp = &to->want_p[k][s.origin], *wn = &to->want_n[k][s.origin];
		*wp = s.p > *wp ? s.p : *wp;
		*wn = s.n > *wn ? s.n : *wn;
	}
	return (uint16_t)tally_wire_finish(&w, &keys);
}

static void
exchange(int b)
{
	static uint8_t frames[2][FRAMES][BUF];
	static uint16_t len[2][FRAMES];
	unsigned order[FRAMES];
	struct prng g;

	make_node(&nodes[0], 0, ports[0], backend_name[b]);
	make_node(&nodes[1], 1, ports[1], backend_name[b]);
	prop_init(&g, 3000);
	for (int dir = 0; dir < 2; dir++)
		for (unsigned f = 0; f < FRAMES; f++)
			len[dir][f] = build_frame(frames[dir][f], &nodes[dir], &nodes[!dir], f + 1, &g);

	/* Shuffled, every frame at least once, a quarter duplicated at once. */
	for (int dir = 0; dir < 2; dir++) {
		for (unsigned f = 0; f < FRAMES; f++)
			order[f] = f;
		for (unsigned f = FRAMES - 1; f > 0; f--) {
			unsigned j = (unsigned)prng_below(&g, f + 1), t = order[f];
			order[f] = order[j];
			order[j] = t;
		}
		for (unsigned f = 0; f < FRAMES; f++) {
			unsigned x = order[f];
			assert_int_equal(tally_dp_send(nodes[dir].dp, frames[dir][x], len[dir][x]), 0);
			if (prng_below(&g, 4) == 0)
				assert_int_equal(tally_dp_send(nodes[dir].dp, frames[dir][x], len[dir][x]), 0);
			if (f % 16 == 15)
				run_until_quiet();
		}
	}
	run_until_quiet();

	/* Replays, long after: nothing may change. */
	for (unsigned f = 0; f < FRAMES; f += 7)
		assert_int_equal(tally_dp_send(nodes[0].dp, frames[0][f], len[0][f]), 0);
	/* A bad MAC and a frame that is not tally's are dropped and counted. */
	uint8_t bad[BUF], other[64] = { 0 };
	memcpy(bad, frames[0][0], len[0][0]);
	bad[len[0][0] - 1] ^= 1;
	assert_int_equal(tally_dp_send(nodes[0].dp, bad, len[0][0]), 0);
	other[12] = 0x08, other[13] = 0x06; /* ARP */
	assert_int_equal(tally_dp_send(nodes[0].dp, other, sizeof(other)), 0);
	run_until_quiet();

	for (int dir = 0; dir < 2; dir++) {
		struct node *to = &nodes[!dir], *from = &nodes[dir];
		for (unsigned k = 0; k < KEYS; k++) {
			uint32_t ix;
			tally_pncounter_t c;
			if (tally_offload_key_lookup(to->engine, kid[k], &ix) != 0) {
				for (unsigned o = 0; o < TALLY_MAX_NODES; o++)
					assert_true(to->want_p[k][o] == 0 && to->want_n[k][o] == 0);
				continue; /* never sent */
			}
			assert_int_equal(tally_offload_read(to->engine, ix, &c), 0);
			for (unsigned o = 0; o < TALLY_MAX_NODES; o++) {
				if (c.p.slot[o] != to->want_p[k][o] || c.n.slot[o] != to->want_n[k][o])
					fail_msg("node %u key %u origin %u: holds p=%" PRIu64 " n=%" PRIu64
						 ", the reference says p=%" PRIu64 " n=%" PRIu64 " (seed %" PRIu64 ")",
						 to->id, k, o, c.p.slot[o], c.n.slot[o], to->want_p[k][o],
						 to->want_n[k][o], prop_seed());
				/* Acked with at least what was sent. */
				if (from->acked_p[k][o] < to->want_p[k][o])
					fail_msg("node %u: key %u origin %u acked %" PRIu64 " < sent %" PRIu64,
						 from->id, k, o, from->acked_p[k][o], to->want_p[k][o]);
			}
		}
	}

	struct tally_offload_stats es;
	struct tally_dp_stats ds;
	tally_offload_stats(nodes[1].engine, &es);
	tally_dp_stats(nodes[1].dp, &ds);
	print_message("node 1: %" PRIu64 " frames, %" PRIu64 " consumed, %" PRIu64 " to host, %" PRIu64
		      " dropped; %" PRIu64 " records merged by the engine, %" PRIu64 " by the host; %" PRIu64
		      " acks sent\n", es.frames, es.consumed, es.to_host, es.dropped, es.records_merged,
		      es.records_host, ds.acks);
	assert_int_equal(es.drops[TALLY_WIRE_DROP_BAD_MAC], 1);
	assert_int_equal(ds.rx_other, 1);
	assert_true(es.consumed > 0 && es.to_host > 0 && es.records_host > 0);
	assert_int_equal(ds.tx_full + ds.tx_nombuf, 0);

	struct snapshot *sn = &snap[b];
	for (int i = 0; i < 2; i++) {
		for (unsigned k = 0; k < KEYS; k++) {
			sn->placed[i][k] = tally_offload_key_lookup(nodes[i].engine, kid[k], &sn->index[i][k]) == 0;
			if (sn->placed[i][k])
				assert_int_equal(tally_offload_read(nodes[i].engine, sn->index[i][k], &sn->counter[i][k]), 0);
		}
		tally_offload_stats(nodes[i].engine, &sn->engine[i]);
		tally_dp_stats(nodes[i].dp, &ds);
		sn->acks[i] = ds.acks;
		tally_dp_destroy(nodes[i].dp);
		tally_offload_destroy(nodes[i].engine);
		nodes[i].dp = NULL;
		nodes[i].engine = NULL;
	}
	sn->taken = true;
}

static void
test_exchange_cpu(void **state)
{
	(void)state;
	exchange(CPU);
}

static void
test_exchange_sim(void **state)
{
	(void)state;
	exchange(SIM);
}

/* The same frames in the same order: the NIC must end where the C reference does. */
static void
test_backends_agree(void **state)
{
	const struct snapshot *c = &snap[CPU], *s = &snap[SIM];

	(void)state;
	if (!c->taken || !s->taken)
		fail_msg("a backend's exchange did not finish; nothing to compare");
	for (int i = 0; i < 2; i++) {
		for (unsigned k = 0; k < KEYS; k++) {
			if (c->placed[i][k] != s->placed[i][k] || (c->placed[i][k] && c->index[i][k] != s->index[i][k]))
				fail_msg("node %d key %u: placed %d at %u on cpu, %d at %u on sim", i, k,
					 c->placed[i][k], c->index[i][k], s->placed[i][k], s->index[i][k]);
			if (!c->placed[i][k])
				continue;
			for (unsigned o = 0; o < TALLY_MAX_NODES; o++)
				if (c->counter[i][k].p.slot[o] != s->counter[i][k].p.slot[o] ||
				    c->counter[i][k].n.slot[o] != s->counter[i][k].n.slot[o])
					fail_msg("node %d key %u origin %u: cpu p=%" PRIu64 " n=%" PRIu64
						 ", sim p=%" PRIu64 " n=%" PRIu64 " (seed %" PRIu64 ")",
						 i, k, o, c->counter[i][k].p.slot[o], c->counter[i][k].n.slot[o],
						 s->counter[i][k].p.slot[o], s->counter[i][k].n.slot[o], prop_seed());
		}
		const struct tally_offload_stats *a = &c->engine[i], *b = &s->engine[i];
		assert_int_equal(a->frames, b->frames);
		assert_int_equal(a->consumed, b->consumed);
		assert_int_equal(a->to_host, b->to_host);
		assert_int_equal(a->dropped, b->dropped);
		for (unsigned v = 0; v < TALLY_WIRE_VERDICT_END; v++)
			assert_int_equal(a->drops[v], b->drops[v]);
		assert_int_equal(a->records_merged, b->records_merged);
		assert_int_equal(a->records_host, b->records_host);
		assert_int_equal(a->keys_used, b->keys_used);
		assert_int_equal(c->acks[i], s->acks[i]);
	}
	print_message("cpu and sim: identical tables (%" PRIu64 " and %" PRIu64 " keys), dispositions and "
		      "drop counts\n", c->engine[0].keys_used, c->engine[1].keys_used);
}

int
main(int argc, char **argv)
{
	/* No hugepages, no PCI, no shared files: runs anywhere, in parallel. */
	char *eal[] = { argv[0], "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			"-l", "0", "--log-level=lib.eal:error", NULL };
	const struct CMUnitTest all[] = {
		cmocka_unit_test(test_exchange_cpu),
		cmocka_unit_test(test_exchange_sim),
		cmocka_unit_test(test_backends_agree),
	};
	const struct CMUnitTest *tests = all;
	size_t ntests = 3;
	struct rte_ring *ab, *ba;

	if (argc == 3 && strcmp(argv[1], "--backend") == 0 && strcmp(argv[2], "cpu") == 0) {
		ntests = 1;
	} else if (argc == 3 && strcmp(argv[1], "--backend") == 0 && strcmp(argv[2], "sim") == 0) {
		tests = &all[1];
		ntests = 1;
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--backend cpu|sim]\n", argv[0]);
		return 2;
	}
	uint8_t cluster[32] = { 9, 9, 9 };

	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
		fprintf(stderr, "test_ring: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	prop_seed();
	if (tally_wire_node_key(&keys, cluster) != 0)
		return 1;
	for (unsigned k = 0; k < KEYS; k++) {
		char name[32];
		snprintf(name, sizeof(name), "ring-key:%u", k);
		tally_wire_key_id(name, strlen(name), kid[k]);
	}
	ab = rte_ring_create("a_to_b", 4096, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	ba = rte_ring_create("b_to_a", 4096, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	int pa = rte_eth_from_rings("ring_a", &ba, 1, &ab, 1, (unsigned)rte_socket_id());
	int pb = rte_eth_from_rings("ring_b", &ab, 1, &ba, 1, (unsigned)rte_socket_id());
	if (ab == NULL || ba == NULL || pa < 0 || pb < 0) {
		fprintf(stderr, "test_ring: cannot build the ring ports\n");
		return 1;
	}
	ports[0] = (uint16_t)pa;
	ports[1] = (uint16_t)pb;
	int rc = _cmocka_run_group_tests("test_ring", tests, ntests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
