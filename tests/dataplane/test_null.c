/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Smoke test on DPDK's net_null PMD (--vdev=net_null0, no hardware, no
 * root): its receive side produces a stream of zero-filled frames that are
 * not tally's, its transmit side swallows what it is given. The runtime must
 * count and drop every received frame without handing one to the engine,
 * and must transmit what it is asked to.
 *
 *   test_null [--backend cpu|sim]   (the offload engine; cpu by default)
 */

#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>

#include "cmocka_prelude.h"
#include "dp.h"

static struct tally_dp *dp;
static tally_offload_t *engine;
static struct tally_wire_key keys;

static void
test_null_port(void **state)
{
	struct tally_dp_stats ds;
	struct tally_offload_stats es;
	uint8_t frame[256];
	struct tally_wire_writer w;
	struct tally_wire_addr a;
	struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = 0 };

	(void)state;
	for (int i = 0; i < 100; i++)
		tally_dp_poll(dp);
	tally_dp_addr(dp, &a);
	assert_int_equal(tally_wire_begin(&w, frame, sizeof(frame), 0, &a, &h), 0);
	uint16_t len = (uint16_t)tally_wire_finish(&w, &keys);
	for (int i = 0; i < 10; i++)
		assert_int_equal(tally_dp_send(dp, frame, len), 0);
	tally_dp_flush(dp);

	tally_dp_stats(dp, &ds);
	tally_offload_stats(engine, &es);
	assert_true(ds.rx > 0);
	assert_true(ds.rx_other == ds.rx); /* all foreign: counted and dropped */
	assert_true(es.frames == 0);       /* and none reached the engine */
	assert_true(ds.tx == 10);
	assert_true(ds.polls == 100);
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			"--vdev=net_null0", "-l", "0", "--log-level=lib.eal:error", NULL };
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_null_port) };
	uint8_t cluster[32] = { 0 };
	int err;

	const char *backend = "cpu";

	if (argc == 3 && strcmp(argv[1], "--backend") == 0) {
		backend = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--backend cpu|sim]\n", argv[0]);
		return 2;
	}
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0 || rte_eth_dev_count_avail() != 1) {
		fprintf(stderr, "test_null: EAL or the net_null0 port did not come up\n");
		return 1;
	}
	tally_wire_node_key(&keys, cluster);
	struct tally_offload_config ec = { .backend = backend, .table_entries = 16, .key = keys };
	engine = tally_offload_create(&ec, &err);
	if (engine == NULL) {
		fprintf(stderr, "test_null: cannot create the %s engine: %s\n", backend, strerror(-err));
		return 1;
	}
	struct tally_dp_config dc = { .port_id = 0, .key = keys, .engine = engine };
	dp = tally_dp_create(&dc, &err);
	if (dp == NULL) {
		fprintf(stderr, "test_null: cannot start the dataplane: %s\n", strerror(-err));
		return 1;
	}
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tally_dp_destroy(dp);
	tally_offload_destroy(engine);
	rte_eal_cleanup();
	return rc;
}
