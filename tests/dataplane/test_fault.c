/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The dataplane's fault injection (tally_dp_set_fault), which stands in for
 * netem where the kernel has none: two runtimes joined by net_ring ports,
 * one sending 2,000 REPLICATE frames through a fault rule, the other
 * counting what arrives. The counts must add up exactly with the sender's
 * fault counters: lost frames never arrive, duplicated ones arrive twice,
 * corrupted ones are all dropped by the receiver's checks (none merged), a
 * delay holds every frame at least that long and keeps their order, jitter
 * lets some overtake others, and removing the rule restores the link.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "cmocka_prelude.h"
#include "dp.h"

#define FRAMES 2000

static struct tally_wire_key keys;
static uint16_t ports[2];
static struct tally_dp *dp[2];
static tally_offload_t *eng[2];

/* What the receiver saw. */
static struct {
	unsigned frames;
	uint64_t last_seq, inversions;
	uint64_t sent_at[FRAMES + 1], min_wait_ns;
} rx;

static uint64_t
now_ns(void)
{
	return rte_get_timer_cycles() * 1000000000.0 / rte_get_timer_hz();
}

static void
on_merged(void *ctx, struct tally_dp *d, const struct tally_offload_rxinfo *info,
	  const struct tally_offload_completion *c, unsigned n)
{
	(void)ctx;
	(void)d;
	(void)c;
	(void)n;
	uint64_t seq = info->hdr.ref; /* the sender's frame number, carried in ref */
	rx.frames++;
	if (seq < rx.last_seq)
		rx.inversions++;
	rx.last_seq = seq;
	if (seq >= 1 && seq <= FRAMES) {
		uint64_t w = now_ns() - rx.sent_at[seq];
		if (w < rx.min_wait_ns)
			rx.min_wait_ns = w;
	}
}

static void
setup_runtimes(void)
{
	for (unsigned i = 0; i < 2; i++) {
		struct tally_offload_config oc = { .backend = "cpu", .table_entries = 64, .key = keys };
		int err = 0;
		eng[i] = tally_offload_create(&oc, &err);
		assert_non_null(eng[i]);
		struct tally_dp_config c = { .port_id = ports[i], .self = (uint16_t)i, .ip = 0x0a000001u + i,
					     .key = keys, .engine = eng[i], .compl = i == 1 ? on_merged : NULL };
		dp[i] = tally_dp_create(&c, &err);
		assert_non_null(dp[i]);
	}
}

static void
teardown_runtimes(void)
{
	for (unsigned i = 0; i < 2; i++) {
		tally_dp_destroy(dp[i]);
		tally_offload_destroy(eng[i]);
	}
}

/* Send FRAMES one-record REPLICATE frames from runtime 0 to 1 through @f, and poll until quiet. */
static void
run(const struct tally_dp_fault *f, struct tally_dp_stats *sent, struct tally_offload_stats *got)
{
	uint8_t key[16] = { 7 }, buf[512];
	uint32_t ix;
	struct tally_wire_addr a;

	setup_runtimes();
	memset(&rx, 0, sizeof(rx));
	rx.min_wait_ns = UINT64_MAX;
	assert_true(tally_offload_key_alloc(eng[1], key, &ix) >= 0);
	assert_int_equal(tally_dp_set_fault(dp[0], 0x0a000002u, f), 0);
	tally_dp_addr(dp[0], &a);
	a.dst_ip = 0x0a000002u;
	a.dst_port = a.src_port;
	memset(a.dst_mac, 0xff, 6);
	for (unsigned i = 1; i <= FRAMES; i++) {
		struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = 0, .seq = i, .ref = i };
		struct tally_wire_writer w;
		struct tally_wire_slot s = { .index = ix, .kind = TALLY_WIRE_KIND_PNCOUNTER, .origin = 0, .p = i };
		memcpy(s.key, key, 16);
		assert_int_equal(tally_wire_begin(&w, buf, sizeof(buf), 0, &a, &h), 0);
		assert_int_equal(tally_wire_add_slot(&w, &s), 0);
		size_t len = tally_wire_finish(&w, &keys);
		rx.sent_at[i] = now_ns();
		assert_int_equal(tally_dp_send(dp[0], buf, (uint16_t)len), 0);
		if (i % 16 == 0) {
			tally_dp_flush(dp[0]);
			(void)tally_dp_poll(dp[1]);
		}
	}
	/* Until nothing has moved for 100 ms (delayed frames included). */
	uint64_t quiet = now_ns();
	while (now_ns() - quiet < 100000000u) {
		unsigned moved = tally_dp_poll(dp[0]) + tally_dp_poll(dp[1]);
		tally_dp_flush(dp[0]);
		if (moved)
			quiet = now_ns();
	}
	tally_dp_stats(dp[0], sent);
	tally_offload_stats(eng[1], got);
	teardown_runtimes();
}

static void
test_loss_dup_corrupt(void **state)
{
	struct tally_dp_stats s;
	struct tally_offload_stats g;

	(void)state;
	struct tally_dp_fault loss = { .loss_ppm = 300000, .seed = 1 };
	run(&loss, &s, &g);
	print_message("loss 30%%: %" PRIu64 " lost, %u arrived\n", s.tx_fault_lost, rx.frames);
	assert_int_equal(rx.frames, FRAMES - s.tx_fault_lost);
	assert_true(s.tx_fault_lost > FRAMES / 5 && s.tx_fault_lost < FRAMES * 2 / 5);

	struct tally_dp_fault dup = { .dup_ppm = 300000, .seed = 2 };
	run(&dup, &s, &g);
	print_message("duplication 30%%: %" PRIu64 " duplicated, %u arrived\n", s.tx_fault_duplicated, rx.frames);
	assert_int_equal(rx.frames, FRAMES + s.tx_fault_duplicated);
	assert_true(s.tx_fault_duplicated > FRAMES / 5 && s.tx_fault_duplicated < FRAMES * 2 / 5);

	struct tally_dp_fault bad = { .corrupt_ppm = 300000, .seed = 3 };
	run(&bad, &s, &g);
	print_message("corruption 30%%: %" PRIu64 " corrupted, %" PRIu64 " dropped by the receiver, %u merged\n",
		      s.tx_fault_corrupted, g.dropped, rx.frames);
	assert_int_equal(g.dropped, s.tx_fault_corrupted);
	assert_int_equal(rx.frames, FRAMES - s.tx_fault_corrupted);
	assert_true(s.tx_fault_corrupted > FRAMES / 5);
}

static void
test_delay_jitter_clear(void **state)
{
	struct tally_dp_stats s;
	struct tally_offload_stats g;

	(void)state;
	struct tally_dp_fault delay = { .delay_ns = 20000000u };
	run(&delay, &s, &g);
	print_message("delay 20 ms: %u arrived, the quickest after %.1f ms, %" PRIu64 " out of order\n", rx.frames,
		      rx.min_wait_ns / 1e6, rx.inversions);
	assert_int_equal(rx.frames, FRAMES);
	assert_true(rx.min_wait_ns >= 20000000u);
	assert_int_equal(rx.inversions, 0);

	struct tally_dp_fault jitter = { .delay_ns = 1000000u, .jitter_ns = 20000000u, .seed = 4 };
	run(&jitter, &s, &g);
	print_message("delay 1 ms + jitter 20 ms: %u arrived, %" PRIu64 " out of order\n", rx.frames, rx.inversions);
	assert_int_equal(rx.frames, FRAMES);
	assert_true(rx.inversions > 0);

	/* A rule removed: frames go at once again. */
	struct tally_dp_fault none = { 0 };
	run(&none, &s, &g);
	assert_int_equal(rx.frames, FRAMES);
	assert_int_equal(s.tx_delayed + s.tx_fault_lost + s.tx_fault_duplicated + s.tx_fault_corrupted, 0);
	struct tally_dp_fault over = { .loss_ppm = 1000001 };
	setup_runtimes();
	assert_int_equal(tally_dp_set_fault(dp[0], 1, &over), -EINVAL);
	teardown_runtimes();
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			"-l", "0", "--log-level=lib.eal:error", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loss_dup_corrupt),
		cmocka_unit_test(test_delay_jitter_clear),
	};
	uint8_t cluster[32] = { 5 };
	struct rte_ring *ab, *ba;

	(void)argc;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
		fprintf(stderr, "test_fault: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (tally_wire_node_key(&keys, cluster) != 0)
		return 1;
	ab = rte_ring_create("f_a_to_b", 4096, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	ba = rte_ring_create("f_b_to_a", 4096, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	int pa = rte_eth_from_rings("fault_a", &ba, 1, &ab, 1, (unsigned)rte_socket_id());
	int pb = rte_eth_from_rings("fault_b", &ab, 1, &ba, 1, (unsigned)rte_socket_id());
	if (ab == NULL || ba == NULL || pa < 0 || pb < 0) {
		fprintf(stderr, "test_fault: cannot build the ring ports\n");
		return 1;
	}
	ports[0] = (uint16_t)pa;
	ports[1] = (uint16_t)pb;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	return rc;
}
