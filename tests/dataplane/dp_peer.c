/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-dp-peer: one dataplane node in its own process, for the namespace
 * test (netns.sh) and for trying a link by hand. Both peers derive the same
 * frames from --seed: the sender sends them (retransmitting what is not yet
 * acknowledged), the receiver merges them and stops once its table equals
 * the reference merge of every record, after a quiet grace period in which
 * it keeps acknowledging. Stops cleanly on SIGINT/SIGTERM and prints its
 * counters on exit, as DPDK's l2fwd does.
 *
 *   tally-dp-peer [EAL options] -- --role send|recv --node N [--frames F]
 *                 [--seed S] [--timeout SECONDS] [--backend cpu|sim]
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_ethdev.h>

#include "dp.h"

#define KEYS 64
#define MAX_FRAMES 4096
#define BUF 1600

static volatile bool force_quit;

static void
on_signal(int sig)
{
	(void)sig;
	force_quit = true;
}

static struct {
	bool send;
	unsigned node, frames, timeout;
	uint64_t seed;
	const char *backend; /* NULL: the default, cpu */
} opt = { .frames = 1000, .timeout = 30, .seed = 1 };

static struct tally_wire_key keys;
static uint8_t kid[KEYS][16];
static uint8_t frame[MAX_FRAMES][BUF];
static uint16_t frame_len[MAX_FRAMES];
static bool acked[MAX_FRAMES];
static unsigned nacked;
static uint64_t want_p[KEYS][TALLY_MAX_NODES], want_n[KEYS][TALLY_MAX_NODES];

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The frames of this run, and the reference the receiver must reach. */
static void
make_frames(unsigned sender, const struct tally_wire_addr *self)
{
	struct tally_wire_addr a = *self; /* from this port, to every port on the link */
	uint64_t s = opt.seed;

	memset(a.dst_mac, 0xff, 6);
	a.dst_ip = 0xc0000201 + !sender; /* 192.0.2.x: documentation addresses */
	a.dst_port = TALLY_WIRE_DEFAULT_PORT;

	for (unsigned f = 0; f < opt.frames; f++) {
		struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = (uint16_t)sender, .seq = f + 1 };
		struct tally_wire_writer w;
		unsigned n = 1 + (unsigned)(splitmix(&s) % 21);

		tally_wire_begin(&w, frame[f], BUF, 1500, &a, &h);
		for (unsigned i = 0; i < n; i++) {
			unsigned k = (unsigned)(splitmix(&s) % KEYS);
			struct tally_wire_slot r = {
				.index = k, .kind = 1, .origin = (uint8_t)(splitmix(&s) % TALLY_MAX_NODES),
				.p = splitmix(&s) >> 40, .n = splitmix(&s) >> 40,
			};
			memcpy(r.key, kid[k], 16);
			tally_wire_add_slot(&w, &r);
			if (r.p > want_p[k][r.origin])
				want_p[k][r.origin] = r.p;
			if (r.n > want_n[k][r.origin])
				want_n[k][r.origin] = r.n;
		}
		frame_len[f] = (uint16_t)tally_wire_finish(&w, &keys);
	}
}

static bool
reached_reference(tally_offload_t *e)
{
	for (unsigned k = 0; k < KEYS; k++) {
		tally_pncounter_t c;

		if (tally_offload_read(e, k, &c) != 0)
			return false;
		for (unsigned o = 0; o < TALLY_MAX_NODES; o++)
			if (c.p.slot[o] != want_p[k][o] || c.n.slot[o] != want_n[k][o])
				return false;
	}
	return true;
}

/* Acks come to the host: mark the frame they answer. */
static void
host(void *ctx, struct tally_dp *dp, const struct tally_dp_host_frame *hf)
{
	(void)ctx;
	(void)dp;
	uint64_t ref = hf->frame->hdr.ref;

	if (hf->frame->hdr.type == TALLY_WIRE_REPLICATE_ACK && ref >= 1 && ref <= opt.frames &&
	    !acked[ref - 1]) {
		acked[ref - 1] = true;
		nacked++;
	}
}

static int
usage(FILE *f, int rc)
{
	fprintf(f, "usage: tally-dp-peer [EAL options] -- --role send|recv --node N\n"
		   "                     [--frames F] [--seed S] [--timeout SECONDS]\n"
		   "                     [--backend cpu|sim]\n"
		   "  One dataplane node on the first DPDK port, e.g. with\n"
		   "  --no-huge -m 256 --no-pci --vdev=net_af_packet0,iface=veth0\n"
		   "  --backend: the offload engine, cpu (C kernels, the default) or sim\n"
		   "  (the Verilated NIC)\n"
		   "  exit status: 0 when the run completed (sender: everything acknowledged;\n"
		   "  receiver: table equal to the reference), 1 otherwise, 2 usage\n");
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "role", required_argument, NULL, 'r' },    { "node", required_argument, NULL, 'n' },
		{ "frames", required_argument, NULL, 'f' },  { "seed", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ "backend", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const uint8_t cluster[32] = { 'n', 'e', 't', 'n', 's' };
	int ret, c, err;
	bool role_set = false;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "tally-dp-peer: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			opt.send = strcmp(optarg, "send") == 0;
			if (!opt.send && strcmp(optarg, "recv") != 0)
				return usage(stderr, 2);
			role_set = true;
			break;
		case 'n':
			opt.node = (unsigned)atoi(optarg);
			break;
		case 'f':
			opt.frames = (unsigned)atoi(optarg);
			break;
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			opt.timeout = (unsigned)atoi(optarg);
			break;
		case 'b':
			opt.backend = optarg;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, 2);
		}
	}
	if (!role_set || opt.node > 1 || opt.frames == 0 || opt.frames > MAX_FRAMES)
		return usage(stderr, 2);
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "tally-dp-peer: no DPDK port (give one with --vdev)\n");
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	tally_wire_node_key(&keys, cluster);
	for (unsigned k = 0; k < KEYS; k++) {
		char name[32];
		snprintf(name, sizeof(name), "netns-key:%u", k);
		tally_wire_key_id(name, strlen(name), kid[k]);
	}
	struct tally_offload_config ec = { .backend = opt.backend, .table_entries = KEYS, .key = keys };
	tally_offload_t *engine = tally_offload_create(&ec, &err);
	if (engine == NULL) {
		if (err == -ENOENT)
			fprintf(stderr, "tally-dp-peer: unknown backend '%s' (known: cpu, sim)\n", opt.backend);
		else
			fprintf(stderr, "tally-dp-peer: cannot create the %s offload engine: %s\n",
				opt.backend ? opt.backend : "cpu", strerror(-err));
		return err == -ENOENT ? 2 : 1;
	}
	for (unsigned k = 0; engine != NULL && k < KEYS; k++) {
		uint32_t ix;
		tally_offload_key_alloc(engine, kid[k], &ix);
	}
	struct tally_dp_config dc = {
		.port_id = 0, .self = (uint16_t)opt.node, .ip = 0xc0000201 + opt.node, .key = keys,
		.engine = engine, .host = host,
	};
	struct tally_dp *dp = engine ? tally_dp_create(&dc, &err) : NULL;
	if (dp == NULL) {
		fprintf(stderr, "tally-dp-peer: cannot start the dataplane: %s\n", strerror(-err));
		return 1;
	}

	struct tally_wire_addr self;
	tally_dp_addr(dp, &self);
	make_frames(opt.send ? opt.node : !opt.node, &self);

	double start = now(), last_send = 0, quiet_since = 0;
	bool done = false;
	while (!force_quit && now() - start < opt.timeout && !done) {
		unsigned got = tally_dp_poll(dp);
		if (opt.send) {
			if (now() - last_send > 0.2) { /* (re)send what is not yet acknowledged */
				for (unsigned f = 0; f < opt.frames; f++) {
					if (acked[f])
						continue;
					while (tally_dp_send(dp, frame[f], frame_len[f]) == -ENOBUFS)
						tally_dp_poll(dp);
				}
				tally_dp_flush(dp);
				last_send = now();
			}
			done = nacked == opt.frames;
		} else if (reached_reference(engine)) {
			/* Keep acknowledging retransmissions until the link is quiet. */
			if (got)
				quiet_since = now();
			else if (quiet_since == 0)
				quiet_since = now();
			done = now() - quiet_since > 1.0;
		}
	}

	struct tally_dp_stats ds;
	struct tally_offload_stats es;
	tally_dp_stats(dp, &ds);
	tally_offload_stats(engine, &es);
	printf("tally-dp-peer node %u (%s): rx %" PRIu64 " (other %" PRIu64 "), tx %" PRIu64
	       " (queue full %" PRIu64 "), acks sent %" PRIu64 "; %s engine: %" PRIu64 " consumed, %" PRIu64
	       " to host, %" PRIu64 " dropped, %" PRIu64 " records merged\n",
	       opt.node, opt.send ? "send" : "recv", ds.rx, ds.rx_other, ds.tx, ds.tx_full, ds.acks,
	       tally_offload_backend(engine), es.consumed, es.to_host, es.dropped, es.records_merged);
	if (opt.send)
		printf("tally-dp-peer: %u of %u frames acknowledged\n", nacked, opt.frames);
	else
		printf("tally-dp-peer: table %s the reference merge\n",
		       reached_reference(engine) ? "equals" : "DIFFERS FROM");
	tally_dp_destroy(dp);
	tally_offload_destroy(engine);
	rte_eal_cleanup();
	return done ? 0 : 1;
}
