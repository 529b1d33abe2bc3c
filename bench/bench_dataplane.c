/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-bench dataplane: how many replicated records one core merges per
 * second through the DPDK poll loop (dataplane/dp.h) with batching, and how
 * many nanoseconds each costs, with the layers of that path measured alone
 * in the same run so the table says where the time goes.
 *
 * Method. One process, one lcore: EAL is initialised here without
 * hugepages (--no-huge -m 256 --no-pci --no-shconf, one lcore on the CPU
 * the bench started on), and every row runs on that one core. The receiver
 * is a tally_dp runtime with a cpu-backend engine on a net_ring port whose
 * keys are all placed beforehand, so the engine merges every record itself
 * (the fast path; nothing goes to the host). The sender is this file: it
 * builds a pool of full REPLICATE frames (21 records on a 1500-byte MTU)
 * into mbufs once, and before each poll enqueues one burst of them straight
 * into the rte_ring that is the port's rx queue, each with its reference
 * count raised so the runtime's free hands it back instead of recycling
 * it: no frame is built or copied in the timed loop. The runtime answers
 * every frame with a REPLICATE_ACK, built and MAC'd from the engine's
 * completions; the bench dequeues the acks from the port's tx ring, counts
 * and frees them, inside the timed loop, since that is work of the path.
 *
 * The same frames, from the same memory, also go through the layers alone:
 * the MAC (SipHash) of the payload, tally_wire_decode, the ack build, the
 * engine (tally_offload_rx) without DPDK, and the ring round trip the
 * harness adds. Every row does fixed work per run (a fixed number of
 * records), one warm-up run is discarded, runs are interleaved across rows
 * (as kernels does, so drift lands on every row alike) and the median is
 * reported.
 *
 * A fast wrong run is a failure (exit 1): an untimed check pass per row
 * decodes every ack and compares every completion with the frame it came
 * from; before every pass the engine's table is reset, and after it the
 * table must equal the reference (per key and origin, the largest value
 * sent); the engine and runtime counters must account for every frame
 * (all consumed, none dropped, none to the host, one ack each, nothing lost
 * on tx). Goals are printed as measured facts, never asserted.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_version.h>

#include <sodium.h>

#include "bench.h"
#include "dp.h"
#include "kernels.h"
#include "offload.h"
#include "wire.h"

#define MTU 1500u
/* Distinct pre-built frames, cycled: a receive ring's worth of mbufs, as a
 * NIC with 1024 descriptors would fill (about 2 MiB of mbufs, beyond L2). */
#define POOL 1024u
/* Keys placed in every engine; records pick one at random, so merges touch
 * the table (4096 rows of 128 B counters, 512 KiB) at random. */
#define KEYS 4096u
#define BURST_DEFAULT 32u
#define BURST_MAX 256u /* the runtime's limit (dp.c MAX_BURST) */
/* Completions the engine may return per call: as dp.c gives it. */
#define MAX_COMPL (BURST_MAX * TALLY_WIRE_MAX_SLOTS)
#define ACK_DRAIN (2 * BURST_MAX)
#define RING_SIZE 1024u

/* Records a run: whole frames of 21, so 4.2 M is 200000 frames. */
#define RECORDS_DEFAULT 4200000ull
#define RECORDS_QUICK 43008ull /* 2048 frames */
#define RECORDS_MAX (1ull << 40)
#define RUNS_DEFAULT 5u
#define RUNS_MAX 1000u
#define WARMUP_RUNS 1u
#define JSON_DEFAULT "tally-bench-dataplane.json"

#define GOAL_RECORDS_PER_SEC 10e6

#define SEED_FRAMES 0x74616c6c79647066ull

/* The two nodes of the link: the bench sends as node 1 to node 0. */
#define RECV_NODE 0u
#define SEND_NODE 1u
#define RECV_IP 0x0a000001u
#define SEND_IP 0x0a000002u
#define EPOCH 1u

/* Bursts the whole path is also measured at; --burst joins them. */
static const unsigned burst_variants[] = { 8, 32, 64 };
#define NVARIANTS (sizeof(burst_variants) / sizeof(burst_variants[0]))

/* EAL arguments, without the lcore, which is the CPU we start on. */
static const char *const eal_fixed[] = { "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
					 "--no-telemetry" };
#define NEAL_FIXED (sizeof(eal_fixed) / sizeof(eal_fixed[0]))

/* What a row runs: the whole path first, then its parts, each alone. */
enum layer { L_PATH, L_ENGINE, L_DECODE, L_MAC, L_ACK, L_RING };

static const char *const layer_name[] = {
	[L_PATH] = "path", [L_ENGINE] = "engine", [L_DECODE] = "decode",
	[L_MAC] = "mac", [L_ACK] = "ack build", [L_RING] = "ring",
};

static const char *const layer_what[] = {
	[L_PATH] = "tally_dp_poll: ring rx, classify, engine, ack build + MAC, tx; inject, drain",
	[L_ENGINE] = "tally_offload_rx on frames in memory, no DPDK: decode, merge, completions",
	[L_DECODE] = "tally_wire_decode alone: L2-L4 and tally headers, MAC, record checks",
	[L_MAC] = "SipHash MAC (crypto_shorthash_siphashx24) of the payload alone",
	[L_ACK] = "REPLICATE_ACK build alone: begin, add_slot per record, finish + MAC",
	[L_RING] = "harness alone: refcnt+1, ring enqueue, ring dequeue, rte_pktmbuf_free",
};

struct opts {
	bool quick;
	unsigned runs;
	uint64_t records;
	unsigned burst;
	const char *kernels; /* NULL: the best this CPU runs */
	const char *json;
};

/* One line of the table and of the JSON. */
struct row {
	enum layer layer;
	unsigned burst;       /* frames per call; 0 for per-frame layers */
	bool main;            /* the path at --burst: the headline */
	tally_offload_t *eng; /* engine and path rows */
	struct tally_dp *dp;  /* path rows */
	struct rte_ring *rx;  /* path: the port's rx queue; ring: the ring */
	struct rte_ring *tx;  /* path: the port's tx queue */
	int port;
	uint64_t frames;      /* per run */
	uint64_t records;     /* per run */
	unsigned runs;
	uint64_t run_ns[RUNS_MAX];
	struct tally_bench_stats st;
	double rec_per_sec, ns_per_rec, frames_per_sec, ns_per_frame, of_path;
	/* Totals over every pass, for the counter checks. */
	uint64_t total_frames;
	uint64_t total_acks;
	uint64_t total_compl;
	uint64_t fold;        /* of the outputs: MACs, sequence numbers, ack lengths */
	struct tally_offload_stats es;
	struct tally_dp_stats ds;
};

/* Everything the rows share: the frames, the reference, scratch space. */
struct bench {
	struct opts o;
	int cpu;
	bool pinned;          /* EAL left this thread on cpu alone */
	char lcore_arg[16];
	const char *kernels;  /* the engine's kernels by name */
	struct tally_wire_key keys;
	uint8_t (*kid)[TALLY_WIRE_KEY_ID_LEN];
	struct rte_mempool *fpool;
	/* Pool frame i at [i], and again at [POOL + i] for i < BURST_MAX, so a
	 * burst that wraps past the end of the pool reads one contiguous run. */
	struct rte_mbuf *mb[POOL + BURST_MAX];
	const void *data[POOL + BURST_MAX];
	uint16_t len[POOL + BURST_MAX];
	unsigned rpf;         /* records per frame */
	uint16_t frame_len;
	struct tally_wire_slot *slots; /* POOL x rpf: the records of each frame */
	uint64_t frames_per_run;
	/* The reference: per key and origin, the largest value sent in a check
	 * pass (the whole pool) and in a run (its first min(frames, POOL)). */
	uint64_t *ref_pool_p, *ref_pool_n, *ref_run_p, *ref_run_n;
	struct tally_wire_addr from, to; /* the sender's and the receiver's addresses */
	struct tally_offload_completion *compl;
	struct tally_offload_rxinfo info[BURST_MAX];
	uint64_t ack_seq;
	uint8_t ackbuf[2048];
	char why[512];
};

static bool progress_tty;

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tally-bench dataplane [--quick] [--runs N] [--records N] [--burst N]\n"
		"                             [--kernels NAME] [--json FILE]\n"
		"\n"
		"Measure replicate records merged per second on one core through the DPDK poll\n"
		"loop (tally_dp over a net_ring port, cpu-backend engine), with batching, and\n"
		"nanoseconds per record; goal: at least %.0f M records/s/core, printed as measured.\n"
		"\n"
		"EAL is initialised inside the command without hugepages (%s %s %s %s %s %s\n"
		"-l CPU, CPU being the one the command started on): one lcore, so every row\n"
		"runs on one core. %u full REPLICATE frames (21 records, 1488 B at MTU %u) are\n"
		"built once into mbufs and cycled: before each poll the bench enqueues a burst\n"
		"of them into the port's rx ring with their reference count raised, so no\n"
		"frame is built or copied while timed. %u keys are placed beforehand, so the\n"
		"engine merges every record (the fast path). The runtime builds and MACs one\n"
		"REPLICATE_ACK per frame; the bench drains, counts and frees them in the timed\n"
		"loop. The same frames also go through each layer alone: the MAC, the decoder,\n"
		"the ack build, the engine without DPDK, and the harness's ring round trip;\n"
		"and the whole path runs at bursts 8, 32, 64 and --burst.\n"
		"\n"
		"Each row does fixed work per run; %u warm-up run is discarded, runs are\n"
		"interleaved across rows, the median is reported; CLOCK_MONOTONIC. An untimed\n"
		"check pass per row compares every ack and completion with its frame; after\n"
		"every pass the table must equal the reference and the counters must account\n"
		"for every frame (consumed == injected, dropped == 0, one ack each).\n"
		"\n"
		"Options:\n"
		"  --quick         %llu records a run (well under 2 s with EAL): a smoke\n"
		"                  test of the path, not a measurement\n"
		"  --runs N        timed runs per row, 1..%u (default %u)\n"
		"  --records N     records per run, rounded up to whole frames, 1..%llu\n"
		"                  (default %llu)\n"
		"  --burst N       the runtime's rx/tx burst and the engine row's, 1..%u\n"
		"                  (default %u); the headline row\n"
		"  --kernels NAME  the engine's batch kernels: scalar, avx2 or avx512 (default:\n"
		"                  the best this CPU runs). Only whole-state records (REPAIR,\n"
		"                  READ_REPLY) use them; REPLICATE slot records merge one slot\n"
		"                  with tally_slot_merge, so this does not change these figures\n"
		"  --json FILE     write the JSON report to FILE (default %s)\n"
		"  -h, --help      print this help and exit\n"
		"\n"
		"Progress goes to stderr. Exit status: 0 success, 1 runtime failure (EAL,\n"
		"ports, allocation, kernels this CPU cannot run, a wrong table, ack or\n"
		"completion, a frame not accounted for, the JSON file), 2 usage error.\n",
		GOAL_RECORDS_PER_SEC / 1e6, eal_fixed[0], eal_fixed[1], eal_fixed[2], eal_fixed[3],
		eal_fixed[4], eal_fixed[5], POOL, MTU, KEYS, WARMUP_RUNS,
		(unsigned long long)RECORDS_QUICK, RUNS_MAX, RUNS_DEFAULT,
		(unsigned long long)RECORDS_MAX, (unsigned long long)RECORDS_DEFAULT, BURST_MAX,
		BURST_DEFAULT, JSON_DEFAULT);
}

/* Fill @p o from the command line: 0, 1 when --help was printed, or
 * -EINVAL after saying what is wrong on stderr. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "records", required_argument, NULL, 'n' },
		{ "burst", required_argument, NULL, 'b' },
		{ "kernels", required_argument, NULL, 'k' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool records_set = false;
	uint64_t v;
	int c;

	*o = (struct opts){ .runs = RUNS_DEFAULT, .records = RECORDS_DEFAULT,
			    .burst = BURST_DEFAULT, .json = JSON_DEFAULT };
	/* As kernels: our own messages, and getopt's state reset. */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'r':
			if (tally_bench_opt_u64("dataplane", "runs", optarg, 1, RUNS_MAX, &v) != 0)
				return -EINVAL;
			o->runs = (unsigned)v;
			break;
		case 'n':
			if (tally_bench_opt_u64("dataplane", "records", optarg, 1, RECORDS_MAX, &v) != 0)
				return -EINVAL;
			o->records = v;
			records_set = true;
			break;
		case 'b':
			if (tally_bench_opt_u64("dataplane", "burst", optarg, 1, BURST_MAX, &v) != 0)
				return -EINVAL;
			o->burst = (unsigned)v;
			break;
		case 'k':
			if (strcmp(optarg, "scalar") != 0 && strcmp(optarg, "avx2") != 0 &&
			    strcmp(optarg, "avx512") != 0) {
				fprintf(stderr, "tally-bench dataplane: --kernels '%s': want scalar, avx2 or avx512\n",
					optarg);
				return -EINVAL;
			}
			o->kernels = optarg;
			break;
		case 'j':
			if (tally_bench_opt_file("dataplane", "json", optarg, &o->json) != 0)
				return -EINVAL;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return tally_bench_opt_error("dataplane", c, argv);
		}
	}
	if (tally_bench_opt_end("dataplane", argc, argv) != 0)
		return -EINVAL;
	if (o->quick && !records_set)
		o->records = RECORDS_QUICK;
	return 0;
}

/* ---- setup ---- */

/* EAL with one lcore, the CPU this thread runs on; it pins us there. */
static int
eal_start(struct bench *b)
{
	char *argv[NEAL_FIXED + 5];
	int argc = 0;

	b->cpu = sched_getcpu();
	if (b->cpu < 0)
		b->cpu = 0;
	snprintf(b->lcore_arg, sizeof(b->lcore_arg), "%d", b->cpu);
	/* EAL takes char *; it reads these and keeps none it does not copy. */
	argv[argc++] = (char *)"tally-bench-dataplane";
	for (size_t i = 0; i < NEAL_FIXED; i++)
		argv[argc++] = (char *)eal_fixed[i];
	argv[argc++] = (char *)"-l";
	argv[argc++] = b->lcore_arg;
	argv[argc++] = (char *)"--log-level=lib.eal:error";
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "tally-bench dataplane: rte_eal_init failed: %s\n",
			rte_strerror(rte_errno));
		return -1;
	}
	/* "One core" is a claim the output makes: check EAL pinned us. */
	{
		cpu_set_t set;

		b->pinned = sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1 &&
			    CPU_ISSET(b->cpu, &set);
	}
	return 0;
}

/* Place every key in @p eng, in order, so key k is row k. */
static int
place_keys(struct bench *b, tally_offload_t *eng)
{
	for (uint32_t k = 0; k < KEYS; k++) {
		uint32_t ix;

		if (tally_offload_key_alloc(eng, b->kid[k], &ix) != 1 || ix != k) {
			snprintf(b->why, sizeof(b->why), "key %u was not placed at row %u", k, k);
			return -EPROTO;
		}
	}
	return 0;
}

/*
 * Zero the table before a pass: free every key, last first, so the free
 * stack hands the rows out again in order, and place them again. Outside
 * the clock; it lets every pass prove its own merges reached the table.
 */
static int
reset_table(struct bench *b, tally_offload_t *eng)
{
	for (uint32_t k = KEYS; k-- > 0;)
		if (tally_offload_key_free(eng, k) != 0) {
			snprintf(b->why, sizeof(b->why), "cannot free row %u", k);
			return -EPROTO;
		}
	return place_keys(b, eng);
}

static int
make_engine(struct bench *b, tally_offload_t **out)
{
	struct tally_offload_config ec = {
		.backend = "cpu", .table_entries = KEYS, .kernels = b->o.kernels, .key = b->keys,
	};
	int err;

	*out = tally_offload_create(&ec, &err);
	if (*out == NULL) {
		if (err == -ENOENT && b->o.kernels != NULL)
			snprintf(b->why, sizeof(b->why), "the %s kernels do not run on this CPU or "
				 "build", b->o.kernels);
		else
			snprintf(b->why, sizeof(b->why), "cannot create the engine: %s",
				 strerror(-err));
		return err;
	}
	return place_keys(b, *out);
}

/* A net_ring port whose rx queue the bench fills and whose tx queue it
 * drains, and a runtime on it. */
static int
make_path(struct bench *b, struct row *r, unsigned i)
{
	struct tally_dp_config dc = {
		.self = RECV_NODE, .epoch = EPOCH, .ip = RECV_IP, .burst = r->burst,
		.mtu = MTU, .key = b->keys,
	};
	char name[RTE_RING_NAMESIZE];
	int err;

	err = make_engine(b, &r->eng);
	if (err != 0)
		return err;
	snprintf(name, sizeof(name), "tb_rx%u", i);
	r->rx = rte_ring_create(name, RING_SIZE, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "tb_tx%u", i);
	r->tx = rte_ring_create(name, RING_SIZE, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (r->rx == NULL || r->tx == NULL) {
		snprintf(b->why, sizeof(b->why), "cannot create rings: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	snprintf(name, sizeof(name), "tb_port%u", i);
	r->port = rte_eth_from_rings(name, &r->rx, 1, &r->tx, 1, rte_socket_id());
	if (r->port < 0) {
		snprintf(b->why, sizeof(b->why), "rte_eth_from_rings: %s", rte_strerror(rte_errno));
		return -ENODEV;
	}
	dc.port_id = (uint16_t)r->port;
	dc.engine = r->eng;
	r->dp = tally_dp_create(&dc, &err);
	if (r->dp == NULL) {
		snprintf(b->why, sizeof(b->why), "tally_dp_create: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* Per key and origin, the largest p and n of the first @p nframes frames. */
static void
fill_ref(const struct bench *b, uint64_t nframes, uint64_t *rp, uint64_t *rn)
{
	memset(rp, 0, KEYS * TALLY_MAX_NODES * sizeof(*rp));
	memset(rn, 0, KEYS * TALLY_MAX_NODES * sizeof(*rn));
	for (uint64_t f = 0; f < nframes && f < POOL; f++)
		for (unsigned i = 0; i < b->rpf; i++) {
			const struct tally_wire_slot *s = &b->slots[f * b->rpf + i];
			size_t at = (size_t)s->index * TALLY_MAX_NODES + s->origin;

			rp[at] = s->p > rp[at] ? s->p : rp[at];
			rn[at] = s->n > rn[at] ? s->n : rn[at];
		}
}

/*
 * The pool: POOL full REPLICATE frames from node 1 to the receiver, built
 * with the project's writer straight into mbufs, records at random over the
 * keys and origins, values below 2^40 so later frames raise some slots.
 */
static int
build_frames(struct bench *b)
{
	struct tally_bench_rng g = { SEED_FRAMES };
	struct tally_wire_addr a = b->from;

	memcpy(a.dst_mac, b->to.src_mac, 6);
	a.dst_ip = b->to.src_ip;
	a.dst_port = b->to.src_port;
	b->fpool = rte_pktmbuf_pool_create("tb_frames", POOL, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	if (b->fpool == NULL) {
		snprintf(b->why, sizeof(b->why), "cannot create the frame pool: %s",
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (unsigned f = 0; f < POOL; f++) {
		struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = SEND_NODE,
					    .epoch = EPOCH, .seq = f + 1 };
		struct rte_mbuf *m = rte_pktmbuf_alloc(b->fpool);
		struct tally_wire_writer w;
		unsigned room;
		size_t len;

		if (m == NULL) {
			snprintf(b->why, sizeof(b->why), "frame pool empty at frame %u", f);
			return -ENOMEM;
		}
		b->mb[f] = m;
		if (tally_wire_begin(&w, rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m),
				     MTU, &a, &h) != 0) {
			snprintf(b->why, sizeof(b->why), "tally_wire_begin failed");
			return -EPROTO;
		}
		/* Full frames: as many records as the MTU takes (21 at 1500). */
		room = tally_wire_room(&w);
		if (f == 0) {
			b->rpf = room;
			b->slots = calloc((size_t)POOL * room, sizeof(*b->slots));
			if (b->slots == NULL) {
				snprintf(b->why, sizeof(b->why), "%s", strerror(ENOMEM));
				return -ENOMEM;
			}
		}
		if (room != b->rpf || room == 0) {
			snprintf(b->why, sizeof(b->why), "frame %u has room for %u records, not %u",
				 f, room, b->rpf);
			return -EPROTO;
		}
		for (unsigned i = 0; i < b->rpf; i++) {
			struct tally_wire_slot *s = &b->slots[(size_t)f * b->rpf + i];
			uint32_t k = (uint32_t)(tally_bench_rng_next(&g) % KEYS);

			*s = (struct tally_wire_slot){
				.index = k, .kind = TALLY_WIRE_KIND_PNCOUNTER,
				.origin = (uint8_t)(tally_bench_rng_next(&g) % TALLY_MAX_NODES),
				.p = tally_bench_rng_next(&g) >> 24, .n = tally_bench_rng_next(&g) >> 24,
			};
			memcpy(s->key, b->kid[k], TALLY_WIRE_KEY_ID_LEN);
			if (tally_wire_add_slot(&w, s) != 0) {
				snprintf(b->why, sizeof(b->why), "tally_wire_add_slot failed");
				return -EPROTO;
			}
		}
		len = tally_wire_finish(&w, &b->keys);
		if (rte_pktmbuf_append(m, (uint16_t)len) == NULL) {
			snprintf(b->why, sizeof(b->why), "a %zu-byte frame does not fit an mbuf", len);
			return -EPROTO;
		}
		b->data[f] = rte_pktmbuf_mtod(m, const void *);
		b->len[f] = (uint16_t)len;
		b->frame_len = (uint16_t)len;
	}
	for (unsigned i = 0; i < BURST_MAX; i++) {
		b->mb[POOL + i] = b->mb[i % POOL];
		b->data[POOL + i] = b->data[i % POOL];
		b->len[POOL + i] = b->len[i % POOL];
	}
	return 0;
}

/* ---- checks ---- */

/* The table of @p eng against the reference @p rp / @p rn. */
static int
check_table(struct bench *b, tally_offload_t *eng, const uint64_t *rp, const uint64_t *rn)
{
	for (uint32_t k = 0; k < KEYS; k++) {
		tally_pncounter_t c;

		if (tally_offload_read(eng, k, &c) != 0) {
			snprintf(b->why, sizeof(b->why), "row %u is not in use", k);
			return -EPROTO;
		}
		for (unsigned o = 0; o < TALLY_MAX_NODES; o++) {
			size_t at = (size_t)k * TALLY_MAX_NODES + o;

			if (c.p.slot[o] == rp[at] && c.n.slot[o] == rn[at])
				continue;
			snprintf(b->why, sizeof(b->why), "table row %u origin %u holds p=%" PRIu64
				 " n=%" PRIu64 ", the reference (largest sent) says p=%" PRIu64
				 " n=%" PRIu64, k, o, c.p.slot[o], c.n.slot[o], rp[at], rn[at]);
			return -EPROTO;
		}
	}
	return 0;
}

/* Does the merged value @p got answer record @p s (same slot, at least its values)? */
static bool
answers(const struct tally_wire_slot *s, uint32_t index, uint8_t origin, const uint8_t *key,
	uint64_t p, uint64_t n)
{
	return index == s->index && origin == s->origin &&
	       memcmp(key, s->key, TALLY_WIRE_KEY_ID_LEN) == 0 && p >= s->p && n >= s->n;
}

/* Ack @p buf of @p len bytes must answer pool frame @p k, record by record. */
static int
check_ack(struct bench *b, const void *buf, size_t len, unsigned k)
{
	struct tally_wire_frame f;
	enum tally_wire_verdict v = tally_wire_decode(buf, len, &b->keys, &f);

	if (v != TALLY_WIRE_OK) {
		snprintf(b->why, sizeof(b->why), "the ack of frame %u does not decode: %s", k,
			 tally_wire_verdict_name(v));
		return -EPROTO;
	}
	if (f.hdr.type != TALLY_WIRE_REPLICATE_ACK || f.hdr.count != b->rpf ||
	    f.hdr.ref != (uint64_t)k + 1 || f.hdr.sender != RECV_NODE ||
	    f.addr.dst_ip != b->from.src_ip || f.addr.dst_port != b->from.src_port) {
		snprintf(b->why, sizeof(b->why), "the ack of frame %u (seq %u): type %u, %u "
			 "records, ref %" PRIu64 ", sender %u, to %08x:%u; want a REPLICATE_ACK of %u "
			 "records, ref %u, sender %u, to %08x:%u", k, k + 1, f.hdr.type, f.hdr.count,
			 f.hdr.ref, f.hdr.sender, f.addr.dst_ip, f.addr.dst_port, b->rpf, k + 1,
			 RECV_NODE, b->from.src_ip, b->from.src_port);
		return -EPROTO;
	}
	for (unsigned i = 0; i < b->rpf; i++) {
		const struct tally_wire_slot *s = &b->slots[(size_t)k * b->rpf + i];
		struct tally_wire_slot a;

		tally_wire_get_slot(&f, i, &a);
		if (!answers(s, a.index, a.origin, a.key, a.p, a.n)) {
			snprintf(b->why, sizeof(b->why), "the ack of frame %u, record %u: row %u "
				 "origin %u p=%" PRIu64 " n=%" PRIu64 "; the frame sent row %u origin %u "
				 "p=%" PRIu64 " n=%" PRIu64, k, i, a.index, a.origin, a.p, a.n, s->index,
				 s->origin, s->p, s->n);
			return -EPROTO;
		}
	}
	return 0;
}

/* Completions of @p nframes frames from pool frame @p k0 on, in frame order. */
static int
check_compl(struct bench *b, const struct tally_offload_completion *c, unsigned nc,
	    uint64_t k0, unsigned nframes)
{
	if (nc != nframes * b->rpf) {
		snprintf(b->why, sizeof(b->why), "%u completions for %u frames of %u records", nc,
			 nframes, b->rpf);
		return -EPROTO;
	}
	for (unsigned i = 0; i < nc; i++) {
		unsigned fr = i / b->rpf;
		unsigned k = (unsigned)((k0 + fr) % POOL);
		const struct tally_wire_slot *s = &b->slots[(size_t)k * b->rpf + i % b->rpf];

		if (c[i].frame != fr || c[i].sender != SEND_NODE || c[i].seq != (uint64_t)k + 1 ||
		    !answers(s, c[i].index, c[i].origin, c[i].key, c[i].p, c[i].n)) {
			snprintf(b->why, sizeof(b->why), "completion %u (frame %u of the burst, pool "
				 "frame %u): frame %u sender %u seq %" PRIu64 " row %u origin %u p=%" PRIu64
				 "; the frame sent row %u origin %u p=%" PRIu64, i, fr, k, c[i].frame,
				 c[i].sender, c[i].seq, c[i].index, c[i].origin, c[i].p, s->index,
				 s->origin, s->p);
			return -EPROTO;
		}
	}
	return 0;
}

/* ---- one pass of each layer; @p check: the untimed pass that checks all ---- */

static int
pass_path(struct bench *b, struct row *r, uint64_t frames, bool check, uint64_t *ns)
{
	struct rte_mbuf *ack[ACK_DRAIN];
	uint64_t sent = 0, acks = 0, fold = r->fold, t0, t1;
	int err = 0;

	t0 = tally_bench_now_ns();
	while (sent < frames) {
		unsigned k = (unsigned)(sent % POOL), n = r->burst, got, nack;
		struct rte_mbuf **m = &b->mb[k];

		if (frames - sent < n)
			n = (unsigned)(frames - sent);
		/* The runtime frees what it received; the extra reference keeps
		 * the frame in the pool for its next turn. */
		for (unsigned i = 0; i < n; i++)
			rte_mbuf_refcnt_update(m[i], 1);
		if (rte_ring_sp_enqueue_bulk(r->rx, (void *const *)m, n, NULL) != n) {
			snprintf(b->why, sizeof(b->why), "the rx ring refused a burst of %u", n);
			err = -ENOBUFS;
			break;
		}
		got = tally_dp_poll(r->dp);
		nack = rte_ring_sc_dequeue_burst(r->tx, (void **)ack, ACK_DRAIN, NULL);
		if (got != n) {
			snprintf(b->why, sizeof(b->why), "the runtime received %u of a burst of %u", got, n);
			err = -EPROTO;
			break;
		}
		for (unsigned i = 0; check && err == 0 && i < nack; i++)
			err = check_ack(b, rte_pktmbuf_mtod(ack[i], const void *),
					rte_pktmbuf_data_len(ack[i]), (unsigned)((acks + i) % POOL));
		if (nack > 0)
			fold += rte_pktmbuf_data_len(ack[nack - 1]);
		rte_pktmbuf_free_bulk(ack, nack);
		acks += nack;
		sent += n;
		if (err != 0)
			break;
	}
	t1 = tally_bench_now_ns();
	*ns = t1 - t0;
	r->total_frames += sent;
	r->total_acks += acks;
	r->fold = fold;
	if (err == 0 && acks != frames) {
		snprintf(b->why, sizeof(b->why), "%" PRIu64 " acks for %" PRIu64 " frames", acks, frames);
		err = -EPROTO;
	}
	return err;
}

static int
pass_engine(struct bench *b, struct row *r, uint64_t frames, bool check, uint64_t *ns)
{
	uint64_t sent = 0, compl = 0, t0, t1;
	int err = 0;

	t0 = tally_bench_now_ns();
	while (sent < frames) {
		unsigned k = (unsigned)(sent % POOL), n = r->burst, done = 0;

		if (frames - sent < n)
			n = (unsigned)(frames - sent);
		/* As dp.c: call again for what did not fit (never, with this
		 * buffer; the loop keeps the contract). */
		while (done < n) {
			unsigned nc, got = tally_offload_rx(r->eng, b->data + k + done,
							    b->len + k + done, n - done,
							    b->info + done, b->compl, MAX_COMPL, &nc);

			if (check && err == 0)
				err = check_compl(b, b->compl, nc, k + done, got);
			compl += nc;
			if (got == 0) {
				snprintf(b->why, sizeof(b->why), "the engine processed no frame of %u",
					 n - done);
				err = -EPROTO;
				break;
			}
			done += got;
		}
		sent += done;
		if (err != 0)
			break;
	}
	t1 = tally_bench_now_ns();
	*ns = t1 - t0;
	r->total_frames += sent;
	r->total_compl += compl;
	if (err == 0 && compl != frames * b->rpf) {
		snprintf(b->why, sizeof(b->why), "%" PRIu64 " completions for %" PRIu64 " records",
			 compl, frames * b->rpf);
		err = -EPROTO;
	}
	return err;
}

static int
pass_decode(struct bench *b, struct row *r, uint64_t frames, uint64_t *ns)
{
	uint64_t bad = 0, fold = r->fold, t0, t1;

	t0 = tally_bench_now_ns();
	for (uint64_t i = 0; i < frames; i++) {
		unsigned k = (unsigned)(i % POOL);
		struct tally_wire_frame f;

		bad += tally_wire_decode(b->data[k], b->len[k], &b->keys, &f) != TALLY_WIRE_OK ||
		       f.hdr.count != b->rpf;
		fold += f.hdr.seq;
	}
	t1 = tally_bench_now_ns();
	*ns = t1 - t0;
	r->total_frames += frames;
	r->fold = fold;
	if (bad != 0) {
		snprintf(b->why, sizeof(b->why), "%" PRIu64 " of %" PRIu64 " frames did not decode "
			 "with all their records", bad, frames);
		return -EPROTO;
	}
	return 0;
}

static int
pass_mac(struct bench *b, struct row *r, uint64_t frames, uint64_t *ns)
{
	const size_t covered = (size_t)b->frame_len - TALLY_WIRE_L2L4_LEN - TALLY_WIRE_MAC_LEN;
	uint64_t bad = 0, fold = r->fold, t0, t1;

	t0 = tally_bench_now_ns();
	for (uint64_t i = 0; i < frames; i++) {
		unsigned k = (unsigned)(i % POOL);
		const uint8_t *p = (const uint8_t *)b->data[k] + TALLY_WIRE_L2L4_LEN;
		uint8_t mac[TALLY_WIRE_MAC_LEN];
		uint64_t w;

		crypto_shorthash_siphashx24(mac, p, covered, b->keys.k);
		bad += memcmp(mac, p + covered, sizeof(mac)) != 0;
		memcpy(&w, mac, sizeof(w));
		fold ^= w;
	}
	t1 = tally_bench_now_ns();
	*ns = t1 - t0;
	r->total_frames += frames;
	r->fold = fold;
	if (bad != 0) {
		snprintf(b->why, sizeof(b->why), "%" PRIu64 " of %" PRIu64 " MACs differ from the "
			 "frames' trailers", bad, frames);
		return -EPROTO;
	}
	return 0;
}

/* What tally_dp_send_acks does for one frame's completions, into memory. */
static int
pass_ack(struct bench *b, struct row *r, uint64_t frames, bool check, uint64_t *ns)
{
	struct tally_wire_addr a = b->to;
	uint64_t bad = 0, fold = r->fold, t0, t1;
	int err = 0;

	memcpy(a.dst_mac, b->from.src_mac, 6);
	a.dst_ip = b->from.src_ip;
	a.dst_port = b->from.src_port;
	t0 = tally_bench_now_ns();
	for (uint64_t i = 0; i < frames; i++) {
		unsigned k = (unsigned)(i % POOL);
		const struct tally_wire_slot *s = &b->slots[(size_t)k * b->rpf];
		struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE_ACK, .sender = RECV_NODE,
					    .epoch = EPOCH, .seq = ++b->ack_seq, .ref = k + 1 };
		struct tally_wire_writer w;
		size_t len;

		bad += tally_wire_begin(&w, b->ackbuf, sizeof(b->ackbuf), MTU, &a, &h) != 0;
		for (unsigned j = 0; j < b->rpf; j++) {
			/* dp.c copies each completion into a slot record this way. */
			struct tally_wire_slot rec = {
				.index = s[j].index, .kind = TALLY_WIRE_KIND_PNCOUNTER,
				.origin = s[j].origin, .p = s[j].p, .n = s[j].n,
			};
			memcpy(rec.key, s[j].key, TALLY_WIRE_KEY_ID_LEN);
			bad += tally_wire_add_slot(&w, &rec) != 0;
		}
		len = tally_wire_finish(&w, &b->keys);
		bad += len != b->frame_len;
		fold += len;
		if (check && err == 0)
			err = check_ack(b, b->ackbuf, len, k);
	}
	t1 = tally_bench_now_ns();
	*ns = t1 - t0;
	r->total_frames += frames;
	r->fold = fold;
	if (err == 0 && bad != 0) {
		snprintf(b->why, sizeof(b->why), "%" PRIu64 " writer calls failed or gave a frame "
			 "other than %u B", bad, b->frame_len);
		err = -EPROTO;
	}
	return err;
}

/* The harness's own share: what injecting a burst and taking it back costs
 * without a runtime in between (the runtime's free is rte_pktmbuf_free). */
static int
pass_ring(struct bench *b, struct row *r, uint64_t frames, uint64_t *ns)
{
	struct rte_mbuf *got[BURST_MAX];
	uint64_t sent = 0, t0, t1;
	int err = 0;

	t0 = tally_bench_now_ns();
	while (sent < frames) {
		unsigned k = (unsigned)(sent % POOL), n = r->burst, m;

		if (frames - sent < n)
			n = (unsigned)(frames - sent);
		for (unsigned i = 0; i < n; i++)
			rte_mbuf_refcnt_update(b->mb[k + i], 1);
		if (rte_ring_sp_enqueue_bulk(r->rx, (void *const *)&b->mb[k], n, NULL) != n) {
			snprintf(b->why, sizeof(b->why), "the ring refused a burst of %u", n);
			err = -ENOBUFS;
			break;
		}
		m = rte_ring_sc_dequeue_burst(r->rx, (void **)got, BURST_MAX, NULL);
		for (unsigned i = 0; i < m; i++)
			rte_pktmbuf_free(got[i]);
		if (m != n) {
			snprintf(b->why, sizeof(b->why), "the ring gave back %u of %u", m, n);
			err = -EPROTO;
			break;
		}
		sent += n;
	}
	t1 = tally_bench_now_ns();
	*ns = t1 - t0;
	r->total_frames += sent;
	return err;
}

/*
 * One pass of @p frames frames through row @p r, timed into *ns. Engines
 * start from a zero table and must end equal to the reference of the frames
 * sent (the whole pool for a check pass). Says what is wrong in b->why.
 */
static int
run_pass(struct bench *b, struct row *r, uint64_t frames, bool check, uint64_t *ns)
{
	int err;

	if (r->eng != NULL && (err = reset_table(b, r->eng)) != 0)
		return err;
	switch (r->layer) {
	case L_PATH:
		err = pass_path(b, r, frames, check, ns);
		break;
	case L_ENGINE:
		err = pass_engine(b, r, frames, check, ns);
		break;
	case L_DECODE:
		err = pass_decode(b, r, frames, ns);
		break;
	case L_MAC:
		err = pass_mac(b, r, frames, ns);
		break;
	case L_ACK:
		err = pass_ack(b, r, frames, check, ns);
		break;
	case L_RING:
	default:
		err = pass_ring(b, r, frames, ns);
		break;
	}
	if (err == 0 && r->eng != NULL)
		err = check_table(b, r->eng, check ? b->ref_pool_p : b->ref_run_p,
				  check ? b->ref_pool_n : b->ref_run_n);
	return err;
}

/* After every pass: the engine and runtime counters account for every frame. */
static int
check_counters(struct bench *b, struct row *r)
{
	const struct tally_offload_stats *e = &r->es;
	const struct tally_dp_stats *d = &r->ds;
	uint64_t f = r->total_frames;

	if (r->eng == NULL)
		return 0;
	tally_offload_stats(r->eng, &r->es);
	if (e->frames != f || e->consumed != f || e->dropped != 0 || e->to_host != 0 ||
	    e->records_merged != f * b->rpf || e->records_host != 0) {
		snprintf(b->why, sizeof(b->why), "engine counters: %" PRIu64 " frames, %" PRIu64
			 " consumed, %" PRIu64 " to host, %" PRIu64 " dropped, %" PRIu64 " records "
			 "merged, %" PRIu64 " by the host; %" PRIu64 " frames of %u records were "
			 "injected", e->frames, e->consumed, e->to_host, e->dropped, e->records_merged,
			 e->records_host, f, b->rpf);
		return -EPROTO;
	}
	if (r->dp == NULL)
		return 0;
	tally_dp_stats(r->dp, &r->ds);
	if (d->rx != f || d->rx_other != 0 || d->rx_multiseg != 0 || d->tx != f || d->acks != f ||
	    d->tx_full != 0 || d->tx_nombuf != 0 || d->host != 0 || r->total_acks != f) {
		snprintf(b->why, sizeof(b->why), "runtime counters: rx %" PRIu64 ", not tally %"
			 PRIu64 ", multi-segment %" PRIu64 ", tx %" PRIu64 ", acks %" PRIu64
			 ", tx full %" PRIu64 ", no mbuf %" PRIu64 ", to host %" PRIu64 "; the bench "
			 "drained %" PRIu64 " acks; %" PRIu64 " frames were injected", d->rx,
			 d->rx_other, d->rx_multiseg, d->tx, d->acks, d->tx_full, d->tx_nombuf, d->host,
			 r->total_acks, f);
		return -EPROTO;
	}
	return 0;
}

/* ---- measuring ---- */

static void
row_label(const struct row *r, char *buf, size_t len)
{
	if (r->burst > 0)
		snprintf(buf, len, "%s, burst %u", layer_name[r->layer], r->burst);
	else
		snprintf(buf, len, "%s", layer_name[r->layer]);
}

static void
progress(const struct row *r, const char *what, unsigned run, unsigned runs)
{
	char label[48], step[32];

	row_label(r, label, sizeof(label));
	if (what != NULL)
		snprintf(step, sizeof(step), "%s", what);
	else if (run == 0)
		snprintf(step, sizeof(step), "warm-up");
	else
		snprintf(step, sizeof(step), "run %u/%u", run, runs);
	fprintf(stderr, "%sdataplane: %s %s%s", progress_tty ? "\r\033[K" : "", label, step,
		progress_tty ? "" : "\n");
	fflush(stderr);
}

static int
fail_row(struct bench *b, const struct row *r, const char *when)
{
	char label[48];

	row_label(r, label, sizeof(label));
	fprintf(stderr, "%stally-bench dataplane: %s, %s: %s\n", progress_tty ? "\r\033[K" : "",
		label, when, b->why);
	return -EPROTO;
}

/* The check pass of every row, then the warm-up and timed runs interleaved. */
static int
measure(struct bench *b, struct row *rows, unsigned nrows)
{
	uint64_t ns;

	for (unsigned i = 0; i < nrows; i++) {
		progress(&rows[i], "check pass", 0, 0);
		if (run_pass(b, &rows[i], POOL, true, &ns) != 0 ||
		    check_counters(b, &rows[i]) != 0)
			return fail_row(b, &rows[i], "check pass");
	}
	for (unsigned run = 0; run < WARMUP_RUNS + b->o.runs; run++) {
		for (unsigned i = 0; i < nrows; i++) {
			struct row *r = &rows[i];
			char when[32];

			if (run < WARMUP_RUNS)
				snprintf(when, sizeof(when), "warm-up");
			else
				snprintf(when, sizeof(when), "run %u", run - WARMUP_RUNS + 1);
			progress(r, NULL, run < WARMUP_RUNS ? 0 : run - WARMUP_RUNS + 1, r->runs);
			if (run_pass(b, r, r->frames, false, &ns) != 0 || check_counters(b, r) != 0)
				return fail_row(b, r, when);
			if (run >= WARMUP_RUNS)
				r->run_ns[run - WARMUP_RUNS] = ns;
		}
	}
	if (progress_tty)
		fprintf(stderr, "\r\033[K");
	return 0;
}

static const struct row *
main_row(const struct row *rows, unsigned nrows)
{
	for (unsigned i = 0; i < nrows; i++)
		if (rows[i].main)
			return &rows[i];
	return &rows[0];
}

static const struct row *
find_layer(const struct row *rows, unsigned nrows, enum layer l)
{
	for (unsigned i = 0; i < nrows; i++)
		if (rows[i].layer == l)
			return &rows[i];
	return NULL;
}

static void
finish_rows(struct row *rows, unsigned nrows)
{
	const struct row *m;

	for (unsigned i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		uint64_t sorted[RUNS_MAX];
		double s;

		memcpy(sorted, r->run_ns, r->runs * sizeof(sorted[0]));
		tally_bench_stats(sorted, r->runs, &r->st);
		s = r->st.median_ns * 1e-9;
		r->rec_per_sec = (double)r->records / s;
		r->ns_per_rec = r->st.median_ns / (double)r->records;
		r->frames_per_sec = (double)r->frames / s;
		r->ns_per_frame = r->st.median_ns / (double)r->frames;
	}
	m = main_row(rows, nrows);
	for (unsigned i = 0; i < nrows; i++)
		rows[i].of_path = rows[i].ns_per_rec / m->ns_per_rec;
}

/* Where the main path's time goes, from the layer rows (they nest). */
struct breakdown {
	const char *part;
	const char *how;
	double ns; /* per record */
};

#define NPARTS 5

static void
breakdown(const struct row *rows, unsigned nrows, struct breakdown *out)
{
	const struct row *p = main_row(rows, nrows), *e = find_layer(rows, nrows, L_ENGINE),
			 *d = find_layer(rows, nrows, L_DECODE), *m = find_layer(rows, nrows, L_MAC),
			 *a = find_layer(rows, nrows, L_ACK);

	out[0] = (struct breakdown){ "MAC check of the frame", "mac", m->ns_per_rec };
	out[1] = (struct breakdown){ "rest of decode: headers, record checks", "decode - mac",
				     d->ns_per_rec - m->ns_per_rec };
	out[2] = (struct breakdown){ "merge + completions, engine bookkeeping", "engine - decode",
				     e->ns_per_rec - d->ns_per_rec };
	out[3] = (struct breakdown){ "ack build + MAC", "ack build", a->ns_per_rec };
	out[4] = (struct breakdown){ "DPDK and runtime: ring rx/tx, classify, mbufs, bench "
				     "inject/drain", "path - engine - ack build",
				     p->ns_per_rec - e->ns_per_rec - a->ns_per_rec };
}

/* ---- output ---- */

static void
print_header(const struct bench *b, const char *cpu, const struct row *rows, unsigned nrows)
{
	char pool[32];

	tally_bench_fmt_bytes(pool, sizeof(pool), (uint64_t)POOL * b->fpool->elt_size);
	printf("tally-bench dataplane%s\n",
	       b->o.quick ? " --quick: a smoke test, figures are not a measurement" : "");
	if (b->pinned)
		printf("cpu: %s (pinned to cpu %d by EAL: one lcore; every row below runs on\n"
		       "  this one core)\n", cpu, b->cpu);
	else
		printf("cpu: %s (EAL lcore on cpu %d, but this thread is NOT pinned to it alone: the\n"
		       "  figures may mix cores)\n", cpu, b->cpu);
	printf("EAL: %s, no hugepages:", rte_version());
	for (size_t i = 0; i < NEAL_FIXED; i++)
		printf(" %s", eal_fixed[i]);
	printf(" -l %d\n", b->cpu);
	printf("frames: REPLICATE, %u records of 64 B, %u B each (MTU %u, full); %u distinct frames\n"
	       "  pre-built in mbufs (%s) and cycled, never built or copied while timed\n",
	       b->rpf, b->frame_len, MTU, POOL, pool);
	printf("receiver: tally_dp on a net_ring port, cpu-backend engine, %u keys placed\n"
	       "  beforehand: the engine merges every record (fast path, nothing to the host);\n"
	       "  kernels %s (used by whole-state records only; slot records merge with\n"
	       "  tally_slot_merge, so the choice does not move these figures)\n",
	       KEYS, b->kernels);
	printf("sender: before each poll one burst of frames, refcount raised, enqueued straight\n"
	       "  into the port's rx ring\n");
	printf("acks: generated and counted: the runtime builds and MACs one REPLICATE_ACK of %u\n"
	       "  records (%u B) per frame; the bench drains and frees them inside the timed loop\n",
	       b->rpf, b->frame_len);
	printf("work: %" PRIu64 " records = %" PRIu64 " frame%s a run, every row; bursts of the\n"
	       "  path:", rows[0].records, rows[0].frames, rows[0].frames == 1 ? "" : "s");
	for (unsigned i = 0; i < nrows; i++)
		if (rows[i].layer == L_PATH)
			printf(" %u%s", rows[i].burst, rows[i].main ? " (headline)" : "");
	printf("\nruns: %u timed after %u warm-up, interleaved across rows, median reported,\n"
	       "  CLOCK_MONOTONIC; before them an untimed check pass of each row over all %u frames\n",
	       b->o.runs, WARMUP_RUNS, POOL);
	fflush(stdout);
}

static void
print_table(const struct row *rows, unsigned nrows, const struct breakdown *bd)
{
	const struct row *m = main_row(rows, nrows);

	printf("%-18s %9s %9s %11s %9s %7s %8s\n", "layer", "M rec/s", "ns/rec", "M frames/s",
	       "ns/frame", "spread", "of path");
	for (unsigned i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		double spread = 100.0 * (r->st.max_ns - r->st.min_ns) / r->st.median_ns;
		char label[48];

		row_label(r, label, sizeof(label));
		printf("%-18s %9.2f %9.2f %11.3f %9.1f %6.1f%% %7.1f%%\n", label,
		       r->rec_per_sec / 1e6, r->ns_per_rec, r->frames_per_sec / 1e6, r->ns_per_frame,
		       spread, 100.0 * r->of_path);
	}
	printf("\n");
	for (enum layer l = L_PATH; l <= L_RING; l++)
		printf("%-10s %s\n", layer_name[l], layer_what[l]);
	printf("\nM rec/s: millions of records merged (or decoded, MAC'd, acked) per second on one\n"
	       "core; ns/rec and ns/frame: per record and per %u-record frame; spread: (max - min)\n"
	       "/ median of the timed runs; of path: ns/rec over the path's at burst %u. Layers\n"
	       "nest (path > engine > decode > mac), so shares do not add up across rows.\n\n",
	       (unsigned)(m->records / m->frames), m->burst);
	printf("where the time of the path at burst %u goes, ns per record (from the layers\n"
	       "measured alone, so approximate):\n", m->burst);
	for (unsigned i = 0; i < NPARTS; i++)
		printf("  %-68s %6.2f %6.1f%%  (%s)\n", bd[i].part, bd[i].ns,
		       100.0 * bd[i].ns / m->ns_per_rec, bd[i].how);
	printf("  %-68s %6.2f\n", "whole path", m->ns_per_rec);
}

static bool
goal_met(const struct row *m)
{
	return isfinite(m->rec_per_sec) && m->rec_per_sec >= GOAL_RECORDS_PER_SEC;
}

static void
json_row(FILE *f, const struct row *r)
{
	fprintf(f, "{\"layer\":\"%s\",\"what\":", layer_name[r->layer]);
	tally_bench_json_str(f, layer_what[r->layer]);
	fprintf(f, ",\"burst\":");
	if (r->burst > 0)
		fprintf(f, "%u", r->burst);
	else
		fputs("null", f);
	fprintf(f, ",\"headline\":%s,\"frames_per_run\":%" PRIu64 ",\"records_per_run\":%" PRIu64
		   ",\"run_ns\":[", r->main ? "true" : "false", r->frames, r->records);
	for (unsigned j = 0; j < r->runs; j++)
		fprintf(f, "%s%" PRIu64, j ? "," : "", r->run_ns[j]);
	fprintf(f, "],\"records_per_sec\":");
	tally_bench_json_num(f, r->rec_per_sec);
	fprintf(f, ",\"ns_per_record\":");
	tally_bench_json_num(f, r->ns_per_rec);
	fprintf(f, ",\"ns_per_record_min\":");
	tally_bench_json_num(f, r->st.min_ns / (double)r->records);
	fprintf(f, ",\"ns_per_record_max\":");
	tally_bench_json_num(f, r->st.max_ns / (double)r->records);
	fprintf(f, ",\"frames_per_sec\":");
	tally_bench_json_num(f, r->frames_per_sec);
	fprintf(f, ",\"ns_per_frame\":");
	tally_bench_json_num(f, r->ns_per_frame);
	fprintf(f, ",\"of_path\":");
	tally_bench_json_num(f, r->of_path);
	fprintf(f, ",\"frames_total\":%" PRIu64, r->total_frames);
	if (r->eng != NULL)
		fprintf(f, ",\"engine\":{\"frames\":%" PRIu64 ",\"consumed\":%" PRIu64
			   ",\"to_host\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"records_merged\":%" PRIu64
			   ",\"table_matches_reference\":true}", r->es.frames, r->es.consumed,
			r->es.to_host, r->es.dropped, r->es.records_merged);
	if (r->dp != NULL)
		fprintf(f, ",\"runtime\":{\"rx\":%" PRIu64 ",\"tx\":%" PRIu64 ",\"acks\":%" PRIu64
			   ",\"acks_drained\":%" PRIu64 ",\"tx_full\":%" PRIu64 ",\"tx_nombuf\":%" PRIu64
			   ",\"rx_other\":%" PRIu64 ",\"host\":%" PRIu64 ",\"polls\":%" PRIu64 "}",
			r->ds.rx, r->ds.tx, r->ds.acks, r->total_acks, r->ds.tx_full, r->ds.tx_nombuf,
			r->ds.rx_other, r->ds.host, r->ds.polls);
	fputc('}', f);
}

/* Write the report to @p f and close it; 0 or a negative errno. */
static int
write_json(FILE *f, const struct bench *b, const char *cpu, const struct row *rows,
	   unsigned nrows, const struct breakdown *bd)
{
	const struct row *m = main_row(rows, nrows);
	int err;

	fprintf(f, "{\"bench\":\"dataplane\",\"version\":1,\"quick\":%s,\"cpu\":",
		b->o.quick ? "true" : "false");
	tally_bench_json_str(f, cpu);
	fprintf(f, ",\"pinned_cpu\":");
	if (b->pinned)
		fprintf(f, "%d", b->cpu);
	else
		fputs("null", f);
	fprintf(f, ",\"lcores\":1,\"cores\":1,\"dpdk\":");
	tally_bench_json_str(f, rte_version());
	fprintf(f, ",\"eal_args\":[");
	for (size_t i = 0; i < NEAL_FIXED; i++) {
		tally_bench_json_str(f, eal_fixed[i]);
		fputc(',', f);
	}
	fprintf(f, "\"-l\",\"%d\"],\"port\":\"net_ring (rte_eth_from_rings)\",\"backend\":\"cpu\","
		   "\"kernels\":", b->cpu);
	tally_bench_json_str(f, b->kernels);
	fprintf(f, ",\"kernels_note\":\"used by whole-state records only; REPLICATE slot records "
		   "merge with tally_slot_merge\",\"max_nodes\":%d,\"mtu\":%u,\"frame_type\":"
		   "\"REPLICATE\",\"frame_bytes\":%u,\"records_per_frame\":%u,\"record_bytes\":64,"
		   "\"ack_bytes\":%u,\"acks_per_frame\":1,\"acks\":\"generated by the runtime, "
		   "drained, counted and freed by the bench inside the timed loop\","
		   "\"pool_frames\":%u,\"keys\":%u,\"frames_per_run\":%" PRIu64
		   ",\"records_per_run\":%" PRIu64 ",\"burst\":%u,\"runs\":%u,\"warmup_runs\":%u,"
		   "\"statistic\":\"median\",\"clock\":\"CLOCK_MONOTONIC\",\"rows\":[",
		TALLY_MAX_NODES, MTU, b->frame_len, b->rpf, b->frame_len, POOL, KEYS,
		b->frames_per_run, b->frames_per_run * b->rpf, b->o.burst, b->o.runs, WARMUP_RUNS);
	for (unsigned i = 0; i < nrows; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_row(f, &rows[i]);
	}
	fprintf(f, "],\"path\":{\"burst\":%u,\"records_per_sec\":", m->burst);
	tally_bench_json_num(f, m->rec_per_sec);
	fprintf(f, ",\"ns_per_record\":");
	tally_bench_json_num(f, m->ns_per_rec);
	fprintf(f, ",\"frames_per_sec\":");
	tally_bench_json_num(f, m->frames_per_sec);
	fprintf(f, "},\"breakdown_ns_per_record\":[");
	for (unsigned i = 0; i < NPARTS; i++) {
		fprintf(f, "%s{\"part\":", i ? "," : "");
		tally_bench_json_str(f, bd[i].part);
		fprintf(f, ",\"from\":");
		tally_bench_json_str(f, bd[i].how);
		fprintf(f, ",\"ns\":");
		tally_bench_json_num(f, bd[i].ns);
		fputc('}', f);
	}
	fprintf(f, "],\"checks\":{\"acks_and_completions_compared\":true,"
		   "\"table_matches_reference_after_every_pass\":true,\"every_frame_consumed\":true},"
		   "\"goal\":{\"goal\":\"records_per_sec_per_core\",\"text\":\"path >= 10 M records/s "
		   "on one core\",\"burst\":%u,\"threshold\":", m->burst);
	tally_bench_json_num(f, GOAL_RECORDS_PER_SEC);
	fprintf(f, ",\"value\":");
	tally_bench_json_num(f, m->rec_per_sec);
	fprintf(f, ",\"met\":%s}}\n", goal_met(m) ? "true" : "false");
	err = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && err == 0)
		err = -errno;
	return err;
}

/* ---- the rows ---- */

/* The path at each burst variant and at --burst, ascending, then the layers. */
static unsigned
plan_rows(struct row *rows, const struct opts *o)
{
	unsigned bursts[NVARIANTS + 1], nb = 0, n = 0;
	bool have = false;

	for (size_t i = 0; i < NVARIANTS; i++) {
		if (!have && o->burst < burst_variants[i]) {
			bursts[nb++] = o->burst;
			have = true;
		}
		have = have || burst_variants[i] == o->burst;
		bursts[nb++] = burst_variants[i];
	}
	if (!have)
		bursts[nb++] = o->burst;
	for (unsigned i = 0; i < nb; i++)
		rows[n++] = (struct row){ .layer = L_PATH, .burst = bursts[i],
					  .main = bursts[i] == o->burst };
	rows[n++] = (struct row){ .layer = L_ENGINE, .burst = o->burst };
	rows[n++] = (struct row){ .layer = L_DECODE };
	rows[n++] = (struct row){ .layer = L_MAC };
	rows[n++] = (struct row){ .layer = L_ACK };
	rows[n++] = (struct row){ .layer = L_RING, .burst = o->burst };
	return n;
}

#define MAX_ROWS (NVARIANTS + 1 + 5)

int
tally_bench_dataplane_main(int argc, char **argv)
{
	struct row rows[MAX_ROWS];
	struct breakdown bd[NPARTS];
	struct bench *b = NULL;
	bool eal = false;
	unsigned nrows = 0;
	FILE *json = NULL;
	char cpu[256];
	struct opts o;
	int rc, ret = TALLY_BENCH_EXIT_FAIL;

	rc = parse_opts(argc, argv, &o);
	if (rc > 0)
		return TALLY_BENCH_EXIT_OK;
	if (rc < 0) {
		fprintf(stderr, "see: tally-bench dataplane --help\n");
		return TALLY_BENCH_EXIT_USAGE;
	}
	progress_tty = isatty(STDERR_FILENO);
	tally_bench_cpu_model(cpu, sizeof(cpu));

	/* Everything that can fail cheaply first: the kernels, memory, the
	 * report; then EAL and the ports. */
	if (o.kernels != NULL && tally_kernels_by_name(o.kernels) == NULL) {
		fprintf(stderr, "tally-bench dataplane: --kernels %s: this CPU or build cannot run "
				"them\n", o.kernels);
		return TALLY_BENCH_EXIT_FAIL;
	}
	b = calloc(1, sizeof(*b));
	if (b != NULL) {
		b->kid = calloc(KEYS, sizeof(*b->kid));
		b->compl = calloc(MAX_COMPL, sizeof(*b->compl));
		b->ref_pool_p = calloc(KEYS * TALLY_MAX_NODES, sizeof(uint64_t));
		b->ref_pool_n = calloc(KEYS * TALLY_MAX_NODES, sizeof(uint64_t));
		b->ref_run_p = calloc(KEYS * TALLY_MAX_NODES, sizeof(uint64_t));
		b->ref_run_n = calloc(KEYS * TALLY_MAX_NODES, sizeof(uint64_t));
	}
	if (b == NULL || b->kid == NULL || b->compl == NULL || b->ref_pool_p == NULL ||
	    b->ref_pool_n == NULL || b->ref_run_p == NULL || b->ref_run_n == NULL) {
		fprintf(stderr, "tally-bench dataplane: %s\n", strerror(ENOMEM));
		goto out;
	}
	b->o = o;
	b->kernels = o.kernels != NULL ? o.kernels : tally_kernels_best()->name;
	json = fopen(o.json, "w");
	if (json == NULL) {
		fprintf(stderr, "tally-bench dataplane: cannot write %s: %s\n", o.json, strerror(errno));
		goto out;
	}
	{
		uint8_t cluster[32] = { 't', 'a', 'l', 'l', 'y', '-', 'b', 'e', 'n', 'c', 'h' };

		if (tally_wire_node_key(&b->keys, cluster) != 0) {
			fprintf(stderr, "tally-bench dataplane: cannot derive wire keys (libsodium)\n");
			goto out;
		}
	}
	for (unsigned k = 0; k < KEYS; k++) {
		char name[32];

		snprintf(name, sizeof(name), "bench-key:%u", k);
		tally_wire_key_id(name, strlen(name), b->kid[k]);
	}

	if (progress_tty)
		fprintf(stderr, "dataplane: EAL init");
	else
		fprintf(stderr, "dataplane: EAL init\n");
	if (eal_start(b) != 0)
		goto out;
	eal = true;

	nrows = plan_rows(rows, &o);
	for (unsigned i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		int err = 0;

		r->runs = o.runs;
		if (r->layer == L_PATH) {
			err = make_path(b, r, i);
		} else if (r->layer == L_ENGINE) {
			err = make_engine(b, &r->eng);
		} else if (r->layer == L_RING) {
			r->rx = rte_ring_create("tb_harness", RING_SIZE, (int)rte_socket_id(),
						RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (r->rx == NULL) {
				snprintf(b->why, sizeof(b->why), "cannot create a ring: %s",
					 rte_strerror(rte_errno));
				err = -ENOMEM;
			}
		}
		if (err != 0) {
			fail_row(b, r, "setup");
			goto out;
		}
	}
	/* The frames go from node 1 to the headline runtime's port (the others
	 * take them too: nothing on the path checks the destination). */
	b->from = (struct tally_wire_addr){ .src_mac = { 0x02, 0, 0, 0, 0, SEND_NODE },
					    .src_ip = SEND_IP, .src_port = TALLY_WIRE_DEFAULT_PORT };
	tally_dp_addr(main_row(rows, nrows)->dp, &b->to);
	if (build_frames(b) != 0) {
		fprintf(stderr, "tally-bench dataplane: %s\n", b->why);
		goto out;
	}
	b->frames_per_run = (o.records + b->rpf - 1) / b->rpf;
	for (unsigned i = 0; i < nrows; i++) {
		rows[i].frames = b->frames_per_run;
		rows[i].records = b->frames_per_run * b->rpf;
	}
	fill_ref(b, POOL, b->ref_pool_p, b->ref_pool_n);
	fill_ref(b, b->frames_per_run, b->ref_run_p, b->ref_run_n);
	if (progress_tty)
		fprintf(stderr, "\r\033[K");

	print_header(b, cpu, rows, nrows);
	if (measure(b, rows, nrows) != 0)
		goto out;
	finish_rows(rows, nrows);
	breakdown(rows, nrows, bd);

	printf("\n");
	print_table(rows, nrows, bd);
	{
		const struct row *m = main_row(rows, nrows);

		printf("\nchecks: every ack and completion of the check passes matched its frame; after\n"
		       "  every pass the table equalled the reference; path at burst %u, all passes:\n"
		       "  %" PRIu64 " frames injected, %" PRIu64 " consumed by the engine, %" PRIu64
		       " dropped, %" PRIu64 " to host,\n  %" PRIu64 " records merged, %" PRIu64
		       " acks sent and drained\n\n",
		       m->burst, m->total_frames, m->es.consumed, m->es.dropped, m->es.to_host,
		       m->es.records_merged, m->total_acks);
		printf("goal: path >= %.0f M records/s/core (burst %u): %.2f M records/s, %.2f ns/record"
		       " (%s)\n", GOAL_RECORDS_PER_SEC / 1e6, m->burst, m->rec_per_sec / 1e6,
		       m->ns_per_rec, goal_met(m) ? "met" : "not met");
	}

	rc = write_json(json, b, cpu, rows, nrows, bd);
	json = NULL; /* closed by write_json */
	if (rc < 0) {
		fprintf(stderr, "tally-bench dataplane: cannot write %s: %s\n", o.json, strerror(-rc));
		goto out;
	}
	printf("json: wrote %s\n", o.json);
	ret = TALLY_BENCH_EXIT_OK;
out:
	if (json != NULL)
		fclose(json);
	for (unsigned i = 0; i < nrows; i++) {
		tally_dp_destroy(rows[i].dp);
		tally_offload_destroy(rows[i].eng);
	}
	if (eal)
		rte_eal_cleanup();
	if (b != NULL) {
		free(b->kid);
		free(b->compl);
		free(b->slots);
		free(b->ref_pool_p);
		free(b->ref_pool_n);
		free(b->ref_run_p);
		free(b->ref_run_n);
		free(b);
	}
	return ret;
}
