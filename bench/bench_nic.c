/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-bench nic: what the whole NIC pipeline (rtl/nic_top.sv: parser,
 * SipHash frame slots, counter table) would do on the wire, from the two
 * sources there are before hardware: its cycle-accurate Verilated model
 * (rtl/sim/nic_sim.h) and yosys reports the build writes (rtl/meson.build).
 *
 * The question it answers: does the NIC merge REPLICATE records as fast as
 * 100GbE brings them, and how much host CPU does that take off the host?
 *
 *  1. Throughput. Valid REPLICATE frames of three shapes (1 record; full at
 *     a 1500 MTU, 21 records; full at a 9000 MTU, 138 records) offered on
 *     the rx stream on every clock, no bubbles, events always ready. Per
 *     shape: rx beats accepted per clock (1.00: the NIC never pushed back),
 *     records per clock over all beats (header beats and the MAC trailer
 *     cost beats), records per record beat (goal 1.00: the merge engine
 *     takes one 64-byte record per clock), the rate of the merge engine
 *     inside a frame, and the clocks the NIC held s_axis tready low, counted
 *     here and by the NIC itself (CSR RX_STALL_CYCLES).
 *  2. Latency in clocks, on an idle NIC and under that full load: from a
 *     frame's last beat to its FRAME event, from a record's beat to its
 *     RECORD event. The SipHash check of the whole frame (nic_frame_slot's
 *     timing comment) dominates: no record leaves before the MAC verifies.
 *  3. Projection at 250 and 322 MHz: records and frames per second against
 *     what 100GbE carries of the same frames.
 *  4. Synthesis: yosys synth_xilinx reports of the NIC's modules (the
 *     default build makes them), the full-size NIC projected from them, and
 *     the whole nic_top when the opt-in synthesis (minutes) has been run.
 *  5. Host nanoseconds per record through tally_offload_rx() with the cpu
 *     and the sim backends on the same frames, and the host work that
 *     remains with an offload NIC (turning its completion entries into the
 *     engine's results, from cache and from DRAM), so the table says how
 *     much host CPU the offload removes. The sim backend's time is
 *     simulation, not host work, and is reported as such.
 *  6. Model speed: simulated clocks per host second, loaded and idle.
 *
 * Every event the model emits is checked against the C reference: the
 * frames are made by the C codec and verified by tally_wire_decode(), each
 * RECORD event must carry the row the reference table (the maximum of
 * everything merged, recomputed here) says, each FRAME event the frame's
 * header, verdict OK, disposition consumed and its record count; the sim
 * and cpu backends must return identical results and end with identical
 * tables. A wrong, missing or extra event fails the run (exit 1): a fast
 * wrong result is never reported. Goals are printed as measured, never
 * asserted.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "nic_sim.h"
#include "offload.h"
#include "tally_csr.h"
#include "wire.h"

/* Where meson wrote the yosys reports, and the sizes of the NIC it built
 * (rtl/meson.build: nic_slots, nic_depth). */
#ifndef TALLY_SYNTH_DIR
#define TALLY_SYNTH_DIR "rtl"
#endif
#ifndef TALLY_NIC_SLOTS
#define TALLY_NIC_SLOTS 20
#endif
#ifndef TALLY_NIC_DEPTH
#define TALLY_NIC_DEPTH 4096
#endif

/* Records a stream run of each shape, rounded up to whole frames. */
#define RECORDS_DEFAULT 100000ull
#define RECORDS_QUICK 3000ull
#define RECORDS_MAX (1ull << 32)
/* Records a host run of the cpu backend and of the completion handling;
 * the sim backend's host runs do --records, as the stream runs. */
#define HOST_RECORDS_DEFAULT (1ull << 20)
#define HOST_RECORDS_QUICK (1ull << 14)
#define RUNS_DEFAULT 5u
#define RUNS_QUICK 1u
#define RUNS_MAX 1000u
#define WARMUP_RUNS 1u
/* Clocks of an idle-model run: the model with nothing to do. */
#define IDLE_CLOCKS_DEFAULT 200000ull
#define IDLE_CLOCKS_QUICK 50000ull
/* The completion ring the "from DRAM" row reads: larger than any one
 * core's last-level cache today (the figure a VM reports can be the host's
 * whole cache, so it is not asked). */
#define BIG_RING_DEFAULT (256ull << 20)
#define BIG_RING_QUICK (16ull << 20)
#define JSON_DEFAULT "tally-bench-nic.json"

/* Distinct frames per shape, cycled (values repeat, merges are idempotent). */
#define POOL 64u
/* Frames kept queued at the rx stream, so it never runs dry. */
#define QUEUE 3u
/* Frames tracked between their first beat and their FRAME event; far more
 * than the NIC holds (its slots and one frame arriving). */
#define RING 256u
/* Clocks with work outstanding and neither a beat accepted nor an event:
 * a hung NIC (a 9 KB frame's MAC check takes about 2,500). */
#define STALL_LIMIT 100000u
/* Frames a tally_offload_rx() call is given, as tally_dp gives it. */
#define BURST 32u
#define MAX_RECORDS TALLY_WIRE_MAX_SLOTS
/* Beats of the largest frame: 128 B of headers, records, 16 B of MAC. */
#define MAX_BEATS ((128u + 64u * MAX_RECORDS + 16u + 63u) / 64u)

#define GOAL_RECORDS_PER_RECORD_BEAT 1.0
#define GOAL_MODEL_CPS 2e6

#define SEED_FRAMES 0x74616c6c796e6963ull

#define SEND_NODE 1u
#define EPOCH 7u

/* 100GbE: 100e9 b/s; per frame on the wire also its 4-byte FCS (the frames
 * here are as the MAC hands them over, without it) and 20 bytes of
 * preamble, start delimiter and inter-frame gap. */
#define LINE_BPS 100e9
#define WIRE_EXTRA 24u

static const double clock_mhz[] = { 250.0, 322.0 };
#define NCLOCKS (sizeof(clock_mhz) / sizeof(clock_mhz[0]))

/* The frame shapes: records 0 means as many as the MTU takes. */
struct shape_def {
	const char *name;
	unsigned mtu;
	unsigned records;
};

static const struct shape_def shape_defs[] = {
	{ "1 record", 1500, 1 },
	{ "1500 MTU", 1500, 0 },
	{ "9000 MTU", 9000, 0 },
};
#define NSHAPES (sizeof(shape_defs) / sizeof(shape_defs[0]))
/* The shape the host rows use: full frames on the common MTU. */
#define HOST_SHAPE 1u

struct opts {
	bool quick;
	unsigned runs;
	uint64_t records;
	uint64_t host_records;
	uint64_t idle_clocks;
	uint64_t big_ring_bytes; /* the completion ring read from DRAM */
	const char *json;
	const char *synth_dir;
};

/* One pre-built frame and what it carries. */
struct frame {
	uint8_t *data;
	uint16_t len;
	struct tally_wire_hdr hdr;
	struct tally_wire_slot *slots; /* rpf records */
};

/* Median, minimum and maximum of a set of clock counts. */
struct lat {
	double median;
	uint64_t min, max;
};

/* One stream run of a shape; clocks count from the run's first clock. */
struct stream {
	uint64_t frames, records, beats;
	uint64_t first_accept, last_accept; /* rx beats */
	uint64_t last_event;                /* the last FRAME event */
	uint64_t stall;                     /* clocks a frame was offered and not taken */
	uint64_t merge_clocks;              /* per frame, first to last RECORD event, summed */
	uint64_t cycles, ns;                /* of the timed loop */
	uint64_t csr_stall, csr_frames, csr_consumed, csr_merged; /* counter deltas */
	struct lat frame_lat;               /* last beat -> FRAME event */
	struct lat record_lat;              /* record beat -> RECORD event */
	struct lat resid;                   /* first beat -> FRAME event */
};

/* A timed host row of the backend comparison. */
struct host_row {
	const char *name;
	const char *what;
	uint64_t frames, records; /* per run */
	unsigned runs;
	uint64_t run_ns[RUNS_MAX];
	struct tally_bench_stats st;
	double ns_per_rec, ns_per_frame;
};

enum { H_CPU, H_CQE, H_CQE_DRAM, H_SIM, NHOST };

/* What a synthesis report says. */
struct synth {
	const char *module; /* the module as named in the report */
	const char *file;   /* synth_<file>.stat / .ltp */
	char params[64];    /* for people */
	bool present;
	uint64_t luts, ffs, carry4, ramb36, ramb18, dsp, lutram, muxf, cells;
	int64_t ltp; /* -1: none found */
	double seconds; /* how long yosys took, from synth_<file>.time; NAN unknown */
};

/* The reports the build writes (rtl/meson.build) and the opt-in one. */
enum { Y_SIP, Y_SLOT, Y_TABLE, Y_RX2, Y_RX4, Y_CSR, Y_TOP, NSYNTH };

struct shape {
	const struct shape_def *def;
	char label[48];
	unsigned rpf, beats;
	uint16_t len;
	struct frame pool[POOL];
	struct stream idle; /* one frame through the idle NIC */
	unsigned runs;
	uint64_t run_ns[RUNS_MAX];
	struct tally_bench_stats st;
	struct stream s; /* the last run; the model is deterministic */
	double cycles_per_sec;
	double beats_per_clock, rec_per_clock_rx, rec_per_clock_all, rec_per_record_beat;
	double merge_rate, frames_per_clock;
	unsigned slots_needed;
};

struct bench {
	struct opts o;
	struct tally_wire_key keys;
	struct tally_wire_addr addr;
	unsigned keys_n; /* rows used: the model's depth */
	uint8_t (*kid)[TALLY_WIRE_KEY_ID_LEN];
	unsigned nodes, depth, slots;
	uint32_t build_id;
	tally_nsim_t *nic;
	uint64_t *ref_p, *ref_n; /* keys_n x nodes: the reference table */
	struct shape sh[NSHAPES];
	uint32_t *lat_buf; /* scratch for latency medians */
	size_t lat_cap;
	double idle_cps;
	uint64_t idle_run_ns[RUNS_MAX];
	struct host_row host[NHOST];
	uint64_t big_ring_bytes; /* as allocated */
	bool host_tables_equal;
	struct synth y[NSYNTH];
	char why[512];
};

static bool progress_tty;

static void
progress(const char *what, const char *step, unsigned run, unsigned runs)
{
	char r[32] = "";

	if (runs > 0)
		snprintf(r, sizeof(r), run == 0 ? " warm-up" : " run %u/%u", run, runs);
	fprintf(stderr, "%snic: %s%s%s%s%s", progress_tty ? "\r\033[K" : "", what,
		step != NULL ? " " : "", step != NULL ? step : "", r, progress_tty ? "" : "\n");
	fflush(stderr);
}

static void
progress_done(void)
{
	if (progress_tty)
		fprintf(stderr, "\r\033[K");
}

/* ---- frames ---- */

/* Build the pool of shape @p sh from the C codec and check each frame with
 * the C decoder: the model is fed exactly what the reference accepts. */
static int
build_shape(struct bench *b, struct shape *sh, struct tally_bench_rng *g)
{
	static uint8_t buf[TALLY_WIRE_L2L4_LEN + TALLY_WIRE_MAX_PAYLOAD];
	const struct shape_def *d = sh->def;

	for (unsigned f = 0; f < POOL; f++) {
		struct frame *fr = &sh->pool[f];
		struct tally_wire_writer w;
		struct tally_wire_frame dec;
		enum tally_wire_verdict v;
		unsigned room;
		size_t len;

		fr->hdr = (struct tally_wire_hdr){ .type = TALLY_WIRE_REPLICATE, .sender = SEND_NODE,
						   .epoch = EPOCH,
						   .seq = (uint64_t)(sh - b->sh) << 32 | (f + 1) };
		if (tally_wire_begin(&w, buf, sizeof(buf), d->mtu, &b->addr, &fr->hdr) != 0) {
			snprintf(b->why, sizeof(b->why), "%s: tally_wire_begin failed", d->name);
			return -EPROTO;
		}
		room = tally_wire_room(&w);
		if (f == 0)
			sh->rpf = d->records != 0 && d->records < room ? d->records : room;
		fr->slots = calloc(sh->rpf, sizeof(*fr->slots));
		if (fr->slots == NULL) {
			snprintf(b->why, sizeof(b->why), "%s", strerror(ENOMEM));
			return -ENOMEM;
		}
		for (unsigned i = 0; i < sh->rpf; i++) {
			struct tally_wire_slot *s = &fr->slots[i];
			uint32_t k = (uint32_t)(tally_bench_rng_next(g) % b->keys_n);

			*s = (struct tally_wire_slot){
				.index = k, .kind = TALLY_WIRE_KIND_PNCOUNTER,
				.origin = (uint8_t)(tally_bench_rng_next(g) % TALLY_MAX_NODES),
				.p = tally_bench_rng_next(g) >> 24, .n = tally_bench_rng_next(g) >> 24,
			};
			memcpy(s->key, b->kid[k], TALLY_WIRE_KEY_ID_LEN);
			if (tally_wire_add_slot(&w, s) != 0) {
				snprintf(b->why, sizeof(b->why), "%s: tally_wire_add_slot failed", d->name);
				return -EPROTO;
			}
		}
		fr->hdr.count = (uint16_t)sh->rpf;
		len = tally_wire_finish(&w, &b->keys);
		fr->data = malloc(len);
		if (fr->data == NULL) {
			snprintf(b->why, sizeof(b->why), "%s", strerror(ENOMEM));
			return -ENOMEM;
		}
		memcpy(fr->data, buf, len);
		fr->len = (uint16_t)len;
		v = tally_wire_decode(fr->data, len, &b->keys, &dec);
		if (v != TALLY_WIRE_OK || dec.hdr.count != sh->rpf) {
			snprintf(b->why, sizeof(b->why), "%s: pool frame %u: the C decoder says %s",
				 d->name, f, tally_wire_verdict_name(v));
			return -EPROTO;
		}
	}
	sh->len = sh->pool[0].len;
	sh->beats = (sh->len + 63u) / 64u;
	snprintf(sh->label, sizeof(sh->label), "%s", d->name);
	return 0;
}

/* ---- the NIC model ---- */

/* A NIC with the wire keys loaded and every row holding its key, zero. */
static int
nic_open(struct bench *b)
{
	struct tally_nsim_cmd *c = calloc(1, sizeof(*c));
	struct tally_nsim_event *e = calloc(1, sizeof(*e));
	int err;

	if (c == NULL || e == NULL) {
		free(c);
		free(e);
		snprintf(b->why, sizeof(b->why), "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	err = tally_nsim_load_key(b->nic, b->keys.k);
	if (err != 0) {
		snprintf(b->why, sizeof(b->why), "cannot load the wire keys over the CSR bus");
		goto out;
	}
	for (unsigned k = 0; k < b->keys_n; k++) {
		c->op = TALLY_NSIM_OP_SET;
		c->index = k;
		memcpy(c->key, b->kid[k], TALLY_WIRE_KEY_ID_LEN);
		tally_nsim_cmd_push(b->nic, c);
	}
	if (tally_nsim_run(b->nic, 16ull * b->keys_n + 1000) != 0) {
		snprintf(b->why, sizeof(b->why), "the NIC did not finish %u SET commands", b->keys_n);
		err = -ETIMEDOUT;
		goto out;
	}
	for (unsigned k = 0; k < b->keys_n; k++)
		if (tally_nsim_event_pop(b->nic, e) != 0 || e->kind != TALLY_NSIM_EVT_CMD ||
		    e->op != TALLY_NSIM_OP_SET || e->index != k || !e->hit) {
			snprintf(b->why, sizeof(b->why), "SET of row %u: no or a wrong event", k);
			err = -EPROTO;
			goto out;
		}
	if (tally_nsim_events(b->nic) != 0) {
		snprintf(b->why, sizeof(b->why), "events nobody asked for after the SETs");
		err = -EPROTO;
	}
out:
	free(c);
	free(e);
	return err;
}

static int
csr64(struct bench *b, uint32_t lo, uint64_t *v)
{
	if (tally_nsim_csr_read64(b->nic, lo, v) != 0) {
		snprintf(b->why, sizeof(b->why), "CSR read at 0x%02x failed", lo);
		return -EIO;
	}
	return 0;
}

/* The four counters a run is checked with, in order: stalls, frames,
 * consumed, records merged. */
static int
read_counters(struct bench *b, uint64_t v[4])
{
	static const uint32_t at[4] = { TALLY_CSR_RX_STALL_CYCLES_LO, TALLY_CSR_FRAMES_LO,
					TALLY_CSR_CONSUMED_LO, TALLY_CSR_RECORDS_MERGED_LO };

	for (unsigned i = 0; i < 4; i++)
		if (csr64(b, at[i], &v[i]) != 0)
			return -EIO;
	return 0;
}

/* ---- stream: frames back to back, every event checked ---- */

/* A frame between its first beat and its FRAME event. */
struct flight {
	unsigned pool;           /* its pool frame */
	uint64_t beat[MAX_BEATS]; /* the clock each beat was accepted */
	unsigned beats;          /* accepted so far */
	unsigned records;        /* RECORD events so far */
	uint64_t first_record;   /* clock of its first RECORD event */
};

struct run {
	struct bench *b;
	struct shape *sh;
	struct stream *out;
	struct flight *ring;
	uint64_t started, done; /* frames: last beat seen; FRAME event seen */
	unsigned cur_beats;     /* beats of the frame arriving */
	uint32_t *frame_lat, *record_lat, *resid;
	uint64_t nrec_lat;
	struct tally_nsim_event ev;
};

/* Check one event against the frame it must belong to (the oldest not yet
 * finished) and the reference table; keep its latencies. */
static int
check_event(struct run *r, uint64_t start)
{
	struct bench *b = r->b;
	struct shape *sh = r->sh;
	const struct tally_nsim_event *e = &r->ev;
	struct flight *fl = &r->ring[r->done % RING];
	const struct frame *fr;
	uint64_t clk = e->cycle - start;

	if (r->done >= r->started) {
		snprintf(b->why, sizeof(b->why), "%s: an event (kind %u) at clock %" PRIu64
			 " with no frame in flight", sh->label, e->kind, clk);
		return -EPROTO;
	}
	fr = &sh->pool[fl->pool];
	if (e->kind == TALLY_NSIM_EVT_RECORD) {
		const struct tally_wire_slot *s;
		size_t row;

		if (fl->records >= sh->rpf) {
			snprintf(b->why, sizeof(b->why), "%s: frame %" PRIu64 ": a RECORD event beyond "
				 "its %u records", sh->label, r->done, sh->rpf);
			return -EPROTO;
		}
		s = &fr->slots[fl->records];
		if (!e->hit || e->index != s->index || e->origin != s->origin ||
		    memcmp(e->key, s->key, TALLY_WIRE_KEY_ID_LEN) != 0) {
			snprintf(b->why, sizeof(b->why), "%s: frame %" PRIu64 " record %u: event row %u "
				 "origin %u hit %u, the frame has row %u origin %u", sh->label, r->done,
				 fl->records, e->index, e->origin, e->hit, s->index, s->origin);
			return -EPROTO;
		}
		row = (size_t)s->index * b->nodes;
		if (s->p > b->ref_p[row + s->origin])
			b->ref_p[row + s->origin] = s->p;
		if (s->n > b->ref_n[row + s->origin])
			b->ref_n[row + s->origin] = s->n;
		for (unsigned j = 0; j < b->nodes; j++)
			if (e->p[j] != b->ref_p[row + j] || e->n[j] != b->ref_n[row + j]) {
				snprintf(b->why, sizeof(b->why), "%s: frame %" PRIu64 " record %u: row %u "
					 "slot %u after the merge is P %" PRIu64 " N %" PRIu64 ", the C "
					 "reference says P %" PRIu64 " N %" PRIu64 " (clock %" PRIu64 ")",
					 sh->label, r->done, fl->records, s->index, j, e->p[j], e->n[j],
					 b->ref_p[row + j], b->ref_n[row + j], clk);
				return -EPROTO;
			}
		if (fl->records == 0)
			fl->first_record = clk;
		if (r->record_lat != NULL)
			r->record_lat[r->nrec_lat++] = (uint32_t)(clk - fl->beat[2 + fl->records]);
		fl->records++;
		if (fl->records == sh->rpf)
			r->out->merge_clocks += clk - fl->first_record + 1;
		return 0;
	}
	if (e->kind != TALLY_NSIM_EVT_FRAME) {
		snprintf(b->why, sizeof(b->why), "%s: an event of kind %u in a stream of frames",
			 sh->label, e->kind);
		return -EPROTO;
	}
	if (fl->records != sh->rpf || fl->beats != sh->beats || e->verdict != TALLY_WIRE_OK ||
	    e->disposition != TALLY_OFFLOAD_CONSUMED || e->merged != sh->rpf ||
	    e->type != TALLY_WIRE_REPLICATE || e->sender != fr->hdr.sender ||
	    e->count != fr->hdr.count || e->epoch != fr->hdr.epoch || e->seq != fr->hdr.seq ||
	    e->ref != fr->hdr.ref || memcmp(e->src_mac, b->addr.src_mac, 6) != 0 ||
	    memcmp(e->dst_mac, b->addr.dst_mac, 6) != 0 || e->src_ip != b->addr.src_ip ||
	    e->dst_ip != b->addr.dst_ip || e->src_port != b->addr.src_port ||
	    e->dst_port != b->addr.dst_port) {
		snprintf(b->why, sizeof(b->why), "%s: frame %" PRIu64 " (pool %u): FRAME event with "
			 "verdict %s, disposition %u, merged %u, seq %" PRIu64 " after %u RECORD events "
			 "and %u beats; the C reference says ok, consumed, %u, seq %" PRIu64 " (clock %"
			 PRIu64 ")", sh->label, r->done, fl->pool, tally_wire_verdict_name(e->verdict),
			 e->disposition, e->merged, e->seq, fl->records, fl->beats, sh->rpf,
			 fr->hdr.seq, clk);
		return -EPROTO;
	}
	if (r->frame_lat != NULL) {
		r->frame_lat[r->done] = (uint32_t)(clk - fl->beat[sh->beats - 1]);
		r->resid[r->done] = (uint32_t)(clk - fl->beat[0]);
	}
	r->out->last_event = clk;
	r->done++;
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Median, min and max of @p n values (sorted in place). */
static struct lat
lat_of(uint32_t *v, uint64_t n)
{
	struct lat l = { NAN, 0, 0 };

	if (n == 0)
		return l;
	qsort(v, n, sizeof(v[0]), cmp_u32);
	l.min = v[0];
	l.max = v[n - 1];
	l.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
	return l;
}

/*
 * Stream @p frames frames of shape @p sh through the NIC with a beat
 * offered on every clock and events always ready, checking every event.
 * With @p lat set, keep every frame's and record's latency in @p out.
 */
static int
stream_run(struct bench *b, struct shape *sh, uint64_t frames, bool lat, struct stream *out)
{
	struct run r = { .b = b, .sh = sh, .out = out };
	uint64_t pushed = 0, idle = 0, start, t0, t1, c0[4], c1[4];
	int err = 0;

	*out = (struct stream){ .frames = frames, .records = frames * sh->rpf,
				.beats = frames * sh->beats };
	r.ring = malloc(RING * sizeof(*r.ring));
	if (lat) {
		r.frame_lat = malloc(frames * sizeof(uint32_t));
		r.resid = malloc(frames * sizeof(uint32_t));
		r.record_lat = malloc(out->records * sizeof(uint32_t));
	}
	if (r.ring == NULL || (lat && (r.frame_lat == NULL || r.resid == NULL ||
				       r.record_lat == NULL))) {
		snprintf(b->why, sizeof(b->why), "%s", strerror(ENOMEM));
		err = -ENOMEM;
		goto out;
	}
	if (read_counters(b, c0) != 0) {
		err = -EIO;
		goto out;
	}

	start = tally_nsim_cycles(b->nic);
	t0 = tally_bench_now_ns();
	while (r.done < frames) {
		uint64_t clk = tally_nsim_cycles(b->nic) - start, beats;
		bool offered, progress = false;

		while (pushed < frames && tally_nsim_rx_queued(b->nic) < QUEUE) {
			const struct frame *fr = &sh->pool[pushed % POOL];

			if (tally_nsim_rx_push(b->nic, fr->data, fr->len) != 0) {
				snprintf(b->why, sizeof(b->why), "%s", strerror(ENOMEM));
				err = -ENOMEM;
				goto timed_out;
			}
			pushed++;
		}
		offered = tally_nsim_rx_queued(b->nic) > 0;
		beats = tally_nsim_rx_beats(b->nic);
		tally_nsim_step(b->nic, true, true);
		if (tally_nsim_rx_beats(b->nic) != beats) {
			struct flight *fl = &r.ring[r.started % RING];

			if (r.cur_beats == 0) {
				/* the first beat of the next frame */
				if (r.started - r.done >= RING) {
					snprintf(b->why, sizeof(b->why), "%s: over %u frames in flight",
						 sh->label, RING);
					err = -EPROTO;
					goto timed_out;
				}
				fl->pool = (unsigned)(r.started % POOL);
				fl->beats = 0;
				fl->records = 0;
				if (r.started == 0)
					out->first_accept = clk;
			}
			fl->beat[fl->beats++] = clk;
			if (++r.cur_beats == sh->beats) {
				r.started++;
				r.cur_beats = 0;
			}
			out->last_accept = clk;
			progress = true;
		} else if (offered) {
			out->stall++;
		}
		while (tally_nsim_event_pop(b->nic, &r.ev) == 0) {
			err = check_event(&r, start);
			if (err != 0)
				goto timed_out;
			progress = true;
		}
		idle = progress ? 0 : idle + 1;
		if (idle >= STALL_LIMIT) {
			snprintf(b->why, sizeof(b->why), "%s: no beat taken and no event for %u clocks "
				 "with %" PRIu64 " of %" PRIu64 " frames finished (clock %" PRIu64 ")",
				 sh->label, STALL_LIMIT, r.done, frames, clk);
			err = -ETIMEDOUT;
			goto timed_out;
		}
	}
timed_out:
	t1 = tally_bench_now_ns();
	out->cycles = tally_nsim_cycles(b->nic) - start;
	out->ns = t1 - t0;
	if (err != 0)
		goto out;
	/* A NIC that emits an event nobody caused is as wrong as one that
	 * loses one: idle clocks must emit nothing. */
	for (unsigned i = 0; i < 16; i++)
		tally_nsim_step(b->nic, false, true);
	if (tally_nsim_events(b->nic) != 0) {
		snprintf(b->why, sizeof(b->why), "%s: an event after every frame had finished",
			 sh->label);
		err = -EPROTO;
		goto out;
	}
	if (read_counters(b, c1) != 0) {
		err = -EIO;
		goto out;
	}
	out->csr_stall = c1[0] - c0[0];
	out->csr_frames = c1[1] - c0[1];
	out->csr_consumed = c1[2] - c0[2];
	out->csr_merged = c1[3] - c0[3];
	if (out->csr_frames != frames || out->csr_consumed != frames ||
	    out->csr_merged != out->records) {
		snprintf(b->why, sizeof(b->why), "%s: the NIC's counters say %" PRIu64 " frames, %"
			 PRIu64 " consumed, %" PRIu64 " records merged; %" PRIu64 " frames of %u "
			 "records were sent", sh->label, out->csr_frames, out->csr_consumed,
			 out->csr_merged, frames, sh->rpf);
		err = -EPROTO;
		goto out;
	}
	if (lat) {
		out->frame_lat = lat_of(r.frame_lat, frames);
		out->resid = lat_of(r.resid, frames);
		out->record_lat = lat_of(r.record_lat, r.nrec_lat);
	}
out:
	free(r.ring);
	free(r.frame_lat);
	free(r.resid);
	free(r.record_lat);
	return err;
}

/* Stream runs of every shape: one frame on the idle NIC (latency alone),
 * then the warm-up and timed runs; every event checked in every run. */
static int
measure_streams(struct bench *b)
{
	for (unsigned i = 0; i < NSHAPES; i++) {
		struct shape *sh = &b->sh[i];
		uint64_t frames = (b->o.records + sh->rpf - 1) / sh->rpf, sorted[RUNS_MAX];
		struct stream *s = &sh->s;
		int err;

		progress(sh->label, "one frame, idle NIC", 0, 0);
		err = stream_run(b, sh, 1, true, &sh->idle);
		sh->runs = b->o.runs;
		for (unsigned run = 0; err == 0 && run < WARMUP_RUNS + b->o.runs; run++) {
			progress(sh->label, "stream", run < WARMUP_RUNS ? 0 : run - WARMUP_RUNS + 1,
				 b->o.runs);
			/* latencies from the last run: the model is deterministic */
			err = stream_run(b, sh, frames, run + 1 == WARMUP_RUNS + b->o.runs, s);
			if (err == 0 && run >= WARMUP_RUNS)
				sh->run_ns[run - WARMUP_RUNS] = s->ns;
		}
		if (err != 0)
			return err;
		memcpy(sorted, sh->run_ns, sh->runs * sizeof(sorted[0]));
		tally_bench_stats(sorted, sh->runs, &sh->st);
		sh->cycles_per_sec = (double)s->cycles / (sh->st.median_ns * 1e-9);
		{
			double rx_span = (double)(s->last_accept - s->first_accept + 1);
			double all_span = (double)(s->last_event - s->first_accept + 1);
			double other = (double)(s->beats - s->records);

			sh->beats_per_clock = (double)s->beats / rx_span;
			sh->frames_per_clock = (double)s->frames / rx_span;
			sh->rec_per_clock_rx = (double)s->records / rx_span;
			sh->rec_per_clock_all = (double)s->records / all_span;
			/* the clocks of the rx span not spent on header and MAC beats */
			sh->rec_per_record_beat = (double)s->records / (rx_span - other);
			sh->merge_rate = (double)s->records / (double)s->merge_clocks;
		}
		/* A slot is held from a frame's first beat to about its FRAME
		 * event; back to back, a frame arrives every `beats` clocks. */
		sh->slots_needed = (unsigned)ceil(s->resid.median / (double)sh->beats);
	}
	return 0;
}

/* Clocks per second of the model with nothing to do. */
static int
measure_idle(struct bench *b)
{
	uint64_t sorted[RUNS_MAX];
	struct tally_bench_stats st;

	for (unsigned run = 0; run < WARMUP_RUNS + b->o.runs; run++) {
		uint64_t t0, t1;

		progress("idle model", NULL, run < WARMUP_RUNS ? 0 : run - WARMUP_RUNS + 1, b->o.runs);
		t0 = tally_bench_now_ns();
		for (uint64_t i = 0; i < b->o.idle_clocks; i++)
			tally_nsim_step(b->nic, false, true);
		t1 = tally_bench_now_ns();
		if (run >= WARMUP_RUNS)
			b->idle_run_ns[run - WARMUP_RUNS] = t1 - t0;
	}
	if (tally_nsim_events(b->nic) != 0) {
		snprintf(b->why, sizeof(b->why), "the idle NIC emitted an event");
		return -EPROTO;
	}
	memcpy(sorted, b->idle_run_ns, b->o.runs * sizeof(sorted[0]));
	tally_bench_stats(sorted, b->o.runs, &st);
	b->idle_cps = (double)b->o.idle_clocks / (st.median_ns * 1e-9);
	return 0;
}

/* ---- host work: cpu backend, sim backend, completion handling ---- */

/*
 * A completion as an offload NIC would write it into host memory: one
 * 64-byte entry per merged record and one per frame, holding the fields of
 * nic_top's events that the host uses (struct tally_nsim_event without the
 * whole row, which the host does not need to ack).
 */
struct cqe {
	_Alignas(64) uint8_t kind; /* TALLY_NSIM_EVT_RECORD or _FRAME */
	uint8_t origin;            /* RECORD */
	uint8_t verdict;           /* FRAME */
	uint8_t disposition;       /* FRAME */
	uint16_t merged;           /* FRAME */
	uint16_t sender;           /* FRAME */
	union {
		struct {
			uint32_t index;
			uint8_t key[TALLY_WIRE_KEY_ID_LEN];
			uint64_t p, n;
		} rec;
		struct {
			uint8_t dst_mac[6], src_mac[6];
			uint16_t src_port, dst_port;
			uint32_t src_ip, dst_ip;
			uint32_t epoch;
			uint16_t count;
			uint8_t type;
			uint64_t seq, ref;
		} frame;
	} u;
};

_Static_assert(sizeof(struct cqe) == 64, "a completion entry is one cache line");

/* What the host side of an offload NIC does with a burst of @p n frames'
 * completion entries at @p q: turn them into the engine's rx results and
 * completions (as offload_sim.c does with the model's events). @return
 * entries read. */
static size_t
cqe_consume(const struct cqe *q, unsigned n, struct tally_offload_rxinfo *info,
	    struct tally_offload_completion *compl, unsigned *ncompl)
{
	unsigned nc = 0, done = 0, first = 0;
	size_t i = 0;

	while (done < n) {
		const struct cqe *e = &q[i++];

		if (e->kind == TALLY_NSIM_EVT_RECORD) {
			struct tally_offload_completion *c = &compl[nc++];

			c->frame = (uint16_t)done;
			c->index = e->u.rec.index;
			c->origin = e->origin;
			memcpy(c->key, e->u.rec.key, TALLY_WIRE_KEY_ID_LEN);
			c->p = e->u.rec.p;
			c->n = e->u.rec.n;
			continue;
		}
		struct tally_offload_rxinfo *in = &info[done];

		in->disposition = e->disposition;
		in->verdict = e->verdict;
		in->merged = e->merged;
		memcpy(in->addr.dst_mac, e->u.frame.dst_mac, 6);
		memcpy(in->addr.src_mac, e->u.frame.src_mac, 6);
		in->addr.src_ip = e->u.frame.src_ip;
		in->addr.dst_ip = e->u.frame.dst_ip;
		in->addr.src_port = e->u.frame.src_port;
		in->addr.dst_port = e->u.frame.dst_port;
		in->hdr = (struct tally_wire_hdr){ .type = e->u.frame.type, .sender = e->sender,
						   .count = e->u.frame.count, .epoch = e->u.frame.epoch,
						   .seq = e->u.frame.seq, .ref = e->u.frame.ref };
		for (unsigned j = first; j < nc; j++) {
			compl[j].sender = e->sender;
			compl[j].seq = e->u.frame.seq;
		}
		first = nc;
		done++;
	}
	*ncompl = nc;
	return i;
}

/* The host rows' state. */
struct host {
	struct shape *sh;
	const void *data[POOL];
	uint16_t len[POOL];
	tally_offload_t *eng[2]; /* cpu, sim */
	struct cqe *ring;        /* POOL frames' entries, in order */
	size_t per_frame;        /* entries a frame: its records and itself */
	struct cqe *big;         /* the same entries repeated, far beyond the LLC */
	uint64_t big_frames;     /* frames in big, a multiple of BURST */
	uint64_t big_pos;        /* where the next run reads big: runs go on around it */
	struct tally_offload_rxinfo info[2][BURST];
	struct tally_offload_completion *compl[2]; /* BURST x MAX_RECORDS each */
	uint64_t fold;
};

static int
make_engine(struct bench *b, const char *backend, tally_offload_t **out)
{
	struct tally_offload_config c = { .backend = backend, .table_entries = b->keys_n,
					  .key = b->keys };
	int err;

	*out = tally_offload_create(&c, &err);
	if (*out == NULL) {
		snprintf(b->why, sizeof(b->why), "cannot create the %s engine: %s", backend,
			 strerror(-err));
		return err;
	}
	for (uint32_t k = 0; k < b->keys_n; k++) {
		uint32_t ix;

		if (tally_offload_key_alloc(*out, b->kid[k], &ix) != 1 || ix != k) {
			snprintf(b->why, sizeof(b->why), "%s engine: key %u was not placed at row %u",
				 backend, k, k);
			return -EPROTO;
		}
	}
	return 0;
}

/* Frames k0..k0+n-1 of the pool through engine @p e; @return 0 or -EPROTO. */
static int
host_rx(struct bench *b, struct host *h, unsigned e, unsigned k0, unsigned n, unsigned *nc)
{
	unsigned got = tally_offload_rx(h->eng[e], h->data + k0, h->len + k0, n, h->info[e],
					h->compl[e], BURST * MAX_RECORDS, nc);

	if (got != n) {
		snprintf(b->why, sizeof(b->why), "the %s engine took %u of %u frames",
			 e == 0 ? "cpu" : "sim", got, n);
		return -EPROTO;
	}
	return 0;
}

static bool
compl_equal(const struct tally_offload_completion *a, const struct tally_offload_completion *c)
{
	return a->frame == c->frame && a->sender == c->sender && a->seq == c->seq &&
	       a->index == c->index && a->origin == c->origin && a->p == c->p && a->n == c->n &&
	       memcmp(a->key, c->key, TALLY_WIRE_KEY_ID_LEN) == 0;
}

static bool
info_equal(const struct tally_offload_rxinfo *a, const struct tally_offload_rxinfo *c)
{
	return a->disposition == c->disposition && a->verdict == c->verdict &&
	       a->merged == c->merged && memcmp(a->addr.dst_mac, c->addr.dst_mac, 6) == 0 &&
	       memcmp(a->addr.src_mac, c->addr.src_mac, 6) == 0 && a->addr.src_ip == c->addr.src_ip &&
	       a->addr.dst_ip == c->addr.dst_ip && a->addr.src_port == c->addr.src_port &&
	       a->addr.dst_port == c->addr.dst_port && a->hdr.type == c->hdr.type &&
	       a->hdr.sender == c->hdr.sender && a->hdr.count == c->hdr.count &&
	       a->hdr.epoch == c->hdr.epoch && a->hdr.seq == c->hdr.seq && a->hdr.ref == c->hdr.ref;
}

/* Compare one burst's results of two producers; says which differs. */
static int
compare_burst(struct bench *b, const char *what, unsigned k0, unsigned n,
	      const struct tally_offload_rxinfo *ia, const struct tally_offload_completion *ca,
	      unsigned na, const struct tally_offload_rxinfo *ib,
	      const struct tally_offload_completion *cb, unsigned nb)
{
	if (na != nb) {
		snprintf(b->why, sizeof(b->why), "%s: %u completions against the cpu backend's %u "
			 "(frames %u..%u)", what, nb, na, k0, k0 + n - 1);
		return -EPROTO;
	}
	for (unsigned i = 0; i < n; i++)
		if (!info_equal(&ia[i], &ib[i]) || ia[i].disposition != TALLY_OFFLOAD_CONSUMED) {
			snprintf(b->why, sizeof(b->why), "%s: frame %u: disposition %u verdict %s "
				 "merged %u; the cpu backend: disposition %u verdict %s merged %u", what,
				 k0 + i, ib[i].disposition, tally_wire_verdict_name(ib[i].verdict),
				 ib[i].merged, ia[i].disposition, tally_wire_verdict_name(ia[i].verdict),
				 ia[i].merged);
			return -EPROTO;
		}
	for (unsigned i = 0; i < na; i++)
		if (!compl_equal(&ca[i], &cb[i])) {
			snprintf(b->why, sizeof(b->why), "%s: completion %u of frames %u..%u: row %u "
				 "origin %u P %" PRIu64 " N %" PRIu64 "; the cpu backend: row %u origin %u "
				 "P %" PRIu64 " N %" PRIu64, what, i, k0, k0 + n - 1, cb[i].index,
				 cb[i].origin, cb[i].p, cb[i].n, ca[i].index, ca[i].origin, ca[i].p,
				 ca[i].n);
			return -EPROTO;
		}
	return 0;
}

/* The completion entries an offload NIC writes for one frame's results. */
static size_t
cqe_fill(struct cqe *q, const struct tally_offload_rxinfo *in,
	 const struct tally_offload_completion *c, unsigned nc)
{
	size_t i = 0;

	for (unsigned j = 0; j < nc; j++, i++) {
		memset(&q[i], 0, sizeof(q[i]));
		q[i].kind = TALLY_NSIM_EVT_RECORD;
		q[i].origin = c[j].origin;
		q[i].u.rec.index = c[j].index;
		memcpy(q[i].u.rec.key, c[j].key, TALLY_WIRE_KEY_ID_LEN);
		q[i].u.rec.p = c[j].p;
		q[i].u.rec.n = c[j].n;
	}
	memset(&q[i], 0, sizeof(q[i]));
	q[i].kind = TALLY_NSIM_EVT_FRAME;
	q[i].verdict = in->verdict;
	q[i].disposition = in->disposition;
	q[i].merged = in->merged;
	q[i].sender = in->hdr.sender;
	memcpy(q[i].u.frame.dst_mac, in->addr.dst_mac, 6);
	memcpy(q[i].u.frame.src_mac, in->addr.src_mac, 6);
	q[i].u.frame.src_port = in->addr.src_port;
	q[i].u.frame.dst_port = in->addr.dst_port;
	q[i].u.frame.src_ip = in->addr.src_ip;
	q[i].u.frame.dst_ip = in->addr.dst_ip;
	q[i].u.frame.epoch = in->hdr.epoch;
	q[i].u.frame.count = in->hdr.count;
	q[i].u.frame.type = in->hdr.type;
	q[i].u.frame.seq = in->hdr.seq;
	q[i].u.frame.ref = in->hdr.ref;
	return i + 1;
}

/*
 * The untimed check pass: every pool frame through both engines, burst by
 * burst; the sim backend's results must equal the cpu backend's, and the
 * completion entries made from them must convert back to the same.
 */
static int
host_check(struct bench *b, struct host *h)
{
	struct tally_offload_rxinfo info[BURST];
	struct tally_offload_completion *c = h->compl[1];
	size_t at = 0;

	for (unsigned k0 = 0; k0 < POOL; k0 += BURST) {
		unsigned na, nb, nq, first = 0;
		size_t used, start = at;

		if (host_rx(b, h, 0, k0, BURST, &na) != 0 || host_rx(b, h, 1, k0, BURST, &nb) != 0)
			return -EPROTO;
		if (compare_burst(b, "sim backend", k0, BURST, h->info[0], h->compl[0], na,
				  h->info[1], h->compl[1], nb) != 0)
			return -EPROTO;
		if (na != BURST * h->sh->rpf) {
			snprintf(b->why, sizeof(b->why), "cpu backend: %u completions for %u frames of "
				 "%u records", na, BURST, h->sh->rpf);
			return -EPROTO;
		}
		for (unsigned i = 0; i < BURST; i++) {
			at += cqe_fill(&h->ring[at], &h->info[0][i], &h->compl[0][first],
				       h->info[0][i].merged);
			first += h->info[0][i].merged;
		}
		used = cqe_consume(&h->ring[start], BURST, info, c, &nq);
		if (used != at - start || at != (k0 + BURST) * h->per_frame) {
			snprintf(b->why, sizeof(b->why), "completion handling read %zu entries of %zu",
				 used, at - start);
			return -EPROTO;
		}
		if (compare_burst(b, "completion handling", k0, BURST, h->info[0], h->compl[0], na,
				  info, c, nq) != 0)
			return -EPROTO;
	}
	return 0;
}

/* One timed run of host row @p r over @p frames frames; @return 0 or -EPROTO. */
static int
host_run(struct bench *b, struct host *h, unsigned r, uint64_t frames, uint64_t *ns)
{
	uint64_t t0, t1, k = 0, fold = 0;

	t0 = tally_bench_now_ns();
	for (uint64_t done = 0; done < frames;) {
		unsigned n = frames - done < BURST ? (unsigned)(frames - done) : BURST, nc;
		unsigned k0 = (unsigned)(k % POOL);

		if (r == H_CQE) {
			cqe_consume(&h->ring[k0 * h->per_frame], n, h->info[0], h->compl[0], &nc);
		} else if (r == H_CQE_DRAM) {
			/* sequentially through the big ring, as a NIC's ring is read */
			cqe_consume(&h->big[((h->big_pos + k) % h->big_frames) * h->per_frame], n,
				    h->info[0], h->compl[0], &nc);
		} else if (host_rx(b, h, r == H_CPU ? 0 : 1, k0, n, &nc) != 0) {
			return -EPROTO;
		}
		fold += nc + h->compl[r == H_SIM][nc - 1].p;
		done += n;
		k += BURST;
	}
	t1 = tally_bench_now_ns();
	if (r == H_CQE_DRAM)
		h->big_pos = (h->big_pos + k) % h->big_frames;
	h->fold ^= fold;
	*ns = t1 - t0;
	return 0;
}

/* Both engines' tables must equal each other and the reference: the
 * largest value of every pool record per row and origin. */
static int
host_tables(struct bench *b, struct host *h)
{
	uint64_t *rp = calloc((size_t)b->keys_n * b->nodes, sizeof(uint64_t));
	uint64_t *rn = calloc((size_t)b->keys_n * b->nodes, sizeof(uint64_t));
	int err = 0;

	if (rp == NULL || rn == NULL) {
		snprintf(b->why, sizeof(b->why), "%s", strerror(ENOMEM));
		err = -ENOMEM;
		goto out;
	}
	for (unsigned f = 0; f < POOL; f++)
		for (unsigned i = 0; i < h->sh->rpf; i++) {
			const struct tally_wire_slot *s = &h->sh->pool[f].slots[i];
			size_t at = (size_t)s->index * b->nodes + s->origin;

			rp[at] = s->p > rp[at] ? s->p : rp[at];
			rn[at] = s->n > rn[at] ? s->n : rn[at];
		}
	for (uint32_t k = 0; k < b->keys_n && err == 0; k++) {
		tally_pncounter_t t[2];

		for (unsigned e = 0; e < 2; e++)
			if (tally_offload_read(h->eng[e], k, &t[e]) != 0) {
				snprintf(b->why, sizeof(b->why), "cannot read row %u of the %s engine", k,
					 e == 0 ? "cpu" : "sim");
				err = -EPROTO;
			}
		for (unsigned j = 0; err == 0 && j < b->nodes; j++)
			if (t[0].p.slot[j] != rp[(size_t)k * b->nodes + j] ||
			    t[0].n.slot[j] != rn[(size_t)k * b->nodes + j] ||
			    t[1].p.slot[j] != t[0].p.slot[j] || t[1].n.slot[j] != t[0].n.slot[j]) {
				snprintf(b->why, sizeof(b->why), "row %u slot %u: cpu engine P %" PRIu64
					 ", sim engine P %" PRIu64 ", reference P %" PRIu64, k, j,
					 t[0].p.slot[j], t[1].p.slot[j], rp[(size_t)k * b->nodes + j]);
				err = -EPROTO;
			}
	}
out:
	free(rp);
	free(rn);
	return err;
}

static int
measure_host(struct bench *b)
{
	struct host *h = calloc(1, sizeof(*h));
	struct shape *sh = &b->sh[HOST_SHAPE];
	uint64_t frames[NHOST];
	int err = -ENOMEM;

	if (h == NULL)
		goto nomem;
	h->sh = sh;
	for (unsigned f = 0; f < POOL; f++) {
		h->data[f] = sh->pool[f].data;
		h->len[f] = sh->pool[f].len;
	}
	h->compl[0] = calloc(BURST * MAX_RECORDS, sizeof(struct tally_offload_completion));
	h->compl[1] = calloc(BURST * MAX_RECORDS, sizeof(struct tally_offload_completion));
	h->per_frame = sh->rpf + 1u;
	h->ring = calloc((size_t)POOL * h->per_frame, sizeof(struct cqe));
	/* Whole bursts of whole frames, about big_ring_bytes. */
	h->big_frames = (b->o.big_ring_bytes / (h->per_frame * sizeof(struct cqe)) + BURST - 1) /
			BURST * BURST;
	if (h->big_frames < POOL)
		h->big_frames = POOL;
	b->big_ring_bytes = h->big_frames * h->per_frame * sizeof(struct cqe);
	h->big = malloc(h->big_frames * h->per_frame * sizeof(struct cqe));
	if (h->compl[0] == NULL || h->compl[1] == NULL || h->ring == NULL || h->big == NULL)
		goto nomem;
	b->host[H_CPU] = (struct host_row){
		.name = "cpu backend",
		.what = "tally_offload_rx, cpu backend: MAC, parse, merge, completions" };
	b->host[H_CQE] = (struct host_row){
		.name = "offload: completions",
		.what = "an offload NIC's 64 B completions -> rx results, completions" };
	b->host[H_CQE_DRAM] = (struct host_row){
		.name = "  from DRAM",
		.what = "the same, read in order from a ring far larger than the LLC" };
	b->host[H_SIM] = (struct host_row){
		.name = "sim backend",
		.what = "tally_offload_rx, sim backend: simulation, NOT host work" };
	frames[H_CPU] = frames[H_CQE] = frames[H_CQE_DRAM] =
		(b->o.host_records + sh->rpf - 1) / sh->rpf;
	frames[H_SIM] = (b->o.records + sh->rpf - 1) / sh->rpf;
	for (unsigned r = 0; r < NHOST; r++) {
		b->host[r].frames = frames[r];
		b->host[r].records = frames[r] * sh->rpf;
		b->host[r].runs = b->o.runs;
	}

	progress("host", "engines", 0, 0);
	err = make_engine(b, "cpu", &h->eng[0]);
	if (err == 0)
		err = make_engine(b, "sim", &h->eng[1]);
	if (err == 0) {
		progress("host", "check pass", 0, 0);
		err = host_check(b, h);
	}
	/* The big ring: the checked entries, over and over. */
	for (uint64_t f = 0; err == 0 && f < h->big_frames; f += POOL)
		memcpy(&h->big[f * h->per_frame], h->ring,
		       (size_t)(h->big_frames - f < POOL ? h->big_frames - f : POOL) * h->per_frame *
			       sizeof(struct cqe));
	/* Runs interleaved across rows, so drift lands on every row alike. */
	for (unsigned run = 0; err == 0 && run < WARMUP_RUNS + b->o.runs; run++)
		for (unsigned r = 0; err == 0 && r < NHOST; r++) {
			uint64_t ns;

			progress("host", b->host[r].name,
				 run < WARMUP_RUNS ? 0 : run - WARMUP_RUNS + 1, b->o.runs);
			err = host_run(b, h, r, frames[r], &ns);
			if (err == 0 && run >= WARMUP_RUNS)
				b->host[r].run_ns[run - WARMUP_RUNS] = ns;
		}
	if (err == 0) {
		progress("host", "tables", 0, 0);
		err = host_tables(b, h);
		b->host_tables_equal = err == 0;
	}
	for (unsigned r = 0; err == 0 && r < NHOST; r++) {
		struct host_row *hr = &b->host[r];
		uint64_t sorted[RUNS_MAX];

		memcpy(sorted, hr->run_ns, hr->runs * sizeof(sorted[0]));
		tally_bench_stats(sorted, hr->runs, &hr->st);
		hr->ns_per_rec = hr->st.median_ns / (double)hr->records;
		hr->ns_per_frame = hr->st.median_ns / (double)hr->frames;
	}
	goto out;
nomem:
	snprintf(b->why, sizeof(b->why), "%s", strerror(ENOMEM));
out:
	if (h != NULL) {
		tally_offload_destroy(h->eng[0]);
		tally_offload_destroy(h->eng[1]);
		free(h->compl[0]);
		free(h->compl[1]);
		free(h->ring);
		free(h->big);
		TALLY_BENCH_CLOBBER(&h->fold);
		free(h);
	}
	return err;
}

/* ---- synthesis reports ---- */

static const struct {
	const char *file, *module, *params;
	bool opt_in;
} synth_defs[NSYNTH] = {
	[Y_SIP] = { "siphash24", "siphash24", "one SipHash-2-4-128 engine", false },
	[Y_SLOT] = { "nic_frame_slot", "nic_frame_slot", "BEATS 141: 9 KB frame RAM + SipHash", false },
	[Y_TABLE] = { "nic_table", "nic_table", "NODES %d, DEPTH %d", false },
	[Y_RX2] = { "nic_rx_s2", "nic_rx", "NODES %d, SLOTS 2", false },
	[Y_RX4] = { "nic_rx_s4", "nic_rx", "NODES %d, SLOTS 4", false },
	[Y_CSR] = { "nic_csr", "nic_csr", "the register map of rtl/csr.toml", false },
	[Y_TOP] = { "nic_top", "nic_top", "NODES %d, SLOTS %d, DEPTH %d", true },
};

/* Cell counts from a yosys "stat" report of a flattened synth_xilinx netlist. */
static int
parse_stat(struct synth *y, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	bool any = false;

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		char type[128];
		unsigned long long n;

		if (sscanf(line, " Number of cells: %llu", &n) == 1) {
			y->cells = n;
			continue;
		}
		if (sscanf(line, " %127s %llu", type, &n) != 2)
			continue;
		if (strncmp(type, "LUT", 3) == 0 && type[3] >= '1' && type[3] <= '6' && type[4] == '\0')
			y->luts += n;
		else if (strcmp(type, "FDRE") == 0 || strcmp(type, "FDSE") == 0 ||
			 strcmp(type, "FDCE") == 0 || strcmp(type, "FDPE") == 0)
			y->ffs += n;
		else if (strcmp(type, "CARRY4") == 0)
			y->carry4 += n;
		else if (strcmp(type, "RAMB36E1") == 0)
			y->ramb36 += n;
		else if (strcmp(type, "RAMB18E1") == 0)
			y->ramb18 += n;
		else if (strncmp(type, "DSP48", 5) == 0)
			y->dsp += n;
		else if (strncmp(type, "RAM32", 5) == 0 || strncmp(type, "RAM64", 5) == 0 ||
			 strncmp(type, "RAM128", 6) == 0 || strncmp(type, "RAM256", 6) == 0 ||
			 strncmp(type, "SRL", 3) == 0)
			y->lutram += n;
		else if (strncmp(type, "MUXF", 4) == 0)
			y->muxf += n;
		else
			continue;
		any = true;
	}
	fclose(f);
	return any && y->cells > 0 ? 0 : -EINVAL;
}

/* "Longest topological path in <module> (length=N):" from yosys "ltp". */
static int
parse_ltp(struct synth *y, const char *path)
{
	static const char want[] = "Longest topological path in ";
	FILE *f = fopen(path, "r");
	char line[1024];
	int err = -EINVAL;

	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, want);
		long long v;
		char *end;

		if (p == NULL || (p = strstr(p, "(length=")) == NULL)
			continue;
		p += strlen("(length=");
		v = strtoll(p, &end, 10);
		if (end != p && *end == ')' && v >= 0) {
			y->ltp = v;
			err = 0;
		}
		break;
	}
	fclose(f);
	return err;
}

/* Seconds yosys took, written by rtl/yosys_synth.py; NAN when unknown. */
static double
parse_time(const char *path)
{
	FILE *f = fopen(path, "r");
	double s = NAN;

	if (f == NULL)
		return NAN;
	if (fscanf(f, "%lf", &s) != 1)
		s = NAN;
	fclose(f);
	return s;
}

/*
 * Read every report from @p dir. A missing report of the default build is
 * an error (says so on stderr); the opt-in ones may be absent.
 */
static int
read_synth(struct bench *b, const char *dir)
{
	for (unsigned i = 0; i < NSYNTH; i++) {
		struct synth *y = &b->y[i];
		char stat[4096], ltp[4096], tm[4096];
		int err;

		*y = (struct synth){ .module = synth_defs[i].module, .file = synth_defs[i].file,
				     .ltp = -1 };
		/* the build's sizes into the labels that name them */
		if (i == Y_TABLE)
			snprintf(y->params, sizeof(y->params), synth_defs[i].params, TALLY_MAX_NODES,
				 TALLY_NIC_DEPTH);
		else if (i == Y_TOP)
			snprintf(y->params, sizeof(y->params), synth_defs[i].params, TALLY_MAX_NODES,
				 TALLY_NIC_SLOTS, TALLY_NIC_DEPTH);
		else
			snprintf(y->params, sizeof(y->params), synth_defs[i].params, TALLY_MAX_NODES);
		snprintf(stat, sizeof(stat), "%s/synth_%s.stat", dir, y->file);
		snprintf(ltp, sizeof(ltp), "%s/synth_%s.ltp", dir, y->file);
		snprintf(tm, sizeof(tm), "%s/synth_%s.time", dir, y->file);
		err = parse_stat(y, stat);
		if (err == 0)
			err = parse_ltp(y, ltp);
		if (err == -ENOENT && synth_defs[i].opt_in)
			continue;
		if (err == -ENOENT) {
			fprintf(stderr, "tally-bench nic: synthesis report not found at %s or %s "
					"(build the project first: ninja -C BUILDDIR; or name the "
					"folder with --synth-dir)\n", stat, ltp);
			return err;
		}
		if (err != 0) {
			fprintf(stderr, "tally-bench nic: %s, %s: not yosys stat and ltp reports "
					"of %s (%s)\n", stat, ltp, y->module, strerror(-err));
			return err;
		}
		y->present = true;
		y->seconds = parse_time(tm);
	}
	return 0;
}

/*
 * The full-size NIC (TALLY_NIC_SLOTS slots, TALLY_NIC_DEPTH rows) from the
 * default build's reports: the receive path at 2 slots, the other slots at
 * the cost per slot
 * that going from 2 to 4 slots adds (frame RAM, SipHash engine, per-slot
 * metadata and the read-back mux: slots scale linearly), the table at the
 * default depth and the CSR block. nic_top's own glue (the command/record
 * mux and the event logic) is not in any of them: the opt-in synthesis of
 * nic_top measures it.
 */
#define FULL_SLOTS ((unsigned)TALLY_NIC_SLOTS)

static void
project_full(const struct bench *b, struct synth *p)
{
	const struct synth *r2 = &b->y[Y_RX2], *r4 = &b->y[Y_RX4], *t = &b->y[Y_TABLE],
			   *c = &b->y[Y_CSR];
	const double k = (FULL_SLOTS - 2) / 2.0;

	*p = (struct synth){ .module = "nic_top", .file = "projected", .present = true };
	snprintf(p->params, sizeof(p->params), "NODES %d, SLOTS %u, DEPTH %d", TALLY_MAX_NODES,
		 FULL_SLOTS, TALLY_NIC_DEPTH);
#define PROJ(f) p->f = (uint64_t)llround((double)r2->f + k * ((double)r4->f - (double)r2->f) + \
					  (double)t->f + (double)c->f)
	PROJ(luts);
	PROJ(ffs);
	PROJ(carry4);
	PROJ(ramb36);
	PROJ(ramb18);
	PROJ(dsp);
	PROJ(lutram);
	PROJ(muxf);
	PROJ(cells);
#undef PROJ
	/* the longest path of the parts: nic_top's glue may add a cell or two */
	{
		const struct synth *parts[] = { r2, r4, t, c };

		p->ltp = -1;
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
			if (parts[i]->ltp > p->ltp)
				p->ltp = parts[i]->ltp;
	}
	p->seconds = NAN;
}

/* How far @p a is from @p b, in percent of b. */
static double
pct(uint64_t a, uint64_t b)
{
	return 100.0 * ((double)a - (double)b) / (double)b;
}

/* RAMB36 equivalents: a RAMB18 is half a RAMB36. */
static double
bram36(const struct synth *y)
{
	return (double)y->ramb36 + (double)y->ramb18 / 2.0;
}

/* ---- projection ---- */

/* 100GbE frames per second of @p len-byte frames (as the MAC hands them over). */
static double
line_fps(unsigned len)
{
	return LINE_BPS / ((double)(len + WIRE_EXTRA) * 8.0);
}

/* ---- output ---- */

static const char *
met_str(bool met)
{
	return met ? "met" : "not met";
}

static void
print_header(const struct bench *b, const char *cpu, int pinned)
{
	printf("tally-bench nic%s\n",
	       b->o.quick ? " --quick: a smoke test, figures are not a measurement" : "");
	printf("cpu: %s", cpu);
	if (pinned >= 0)
		printf(" (pinned to cpu %d)\n", pinned);
	else
		printf(" (not pinned: %s)\n", strerror(-pinned));
	printf("model: Verilated nic_top (rtl/sim/nic_sim.h), cycle-accurate: NODES %u, %u frame\n"
	       "  slots (a SipHash engine each), %u table rows, build id %08x\n",
	       b->nodes, b->slots, b->depth, b->build_id);
	printf("frames: valid REPLICATE frames made by the C codec and accepted by\n"
	       "  tally_wire_decode; %u distinct frames a shape, cycled; each record names one of\n"
	       "  %u keys placed beforehand, at random, so every record merges on the NIC\n",
	       POOL, b->keys_n);
	printf("stream: a beat offered on every clock (no bubbles), events always ready; every\n"
	       "  event checked against the C reference; %" PRIu64 " records a run, whole frames\n",
	       b->o.records);
	printf("runs: %u timed after %u warm-up, median reported, CLOCK_MONOTONIC\n", b->o.runs,
	       WARMUP_RUNS);
	fflush(stdout);
}

static void
print_throughput(const struct bench *b)
{
	printf("throughput, frames back to back (clocks of the NIC):\n");
	printf("%-9s %5s %5s %5s %9s %9s %9s %9s %9s %11s %6s\n", "shape", "rec", "bytes",
	       "beats", "beats/clk", "rec/clk", "rec/clk", "rec/rec-", "merge", "stall clks",
	       "slots");
	printf("%-9s %5s %5s %5s %9s %9s %9s %9s %9s %11s %6s\n", "", "/frame", "", "/frame", "(rx)",
	       "(rx)", "(+fill)", "beat", "rec/clk", "bench/CSR", "needed");
	for (unsigned i = 0; i < NSHAPES; i++) {
		const struct shape *sh = &b->sh[i];
		char st[32];

		snprintf(st, sizeof(st), "%" PRIu64 "/%" PRIu64, sh->s.stall, sh->s.csr_stall);
		printf("%-9s %5u %5u %5u %9.6f %9.6f %9.6f %9.6f %9.6f %11s %6u\n", sh->label, sh->rpf,
		       sh->len, sh->beats, sh->beats_per_clock, sh->rec_per_clock_rx,
		       sh->rec_per_clock_all, sh->rec_per_record_beat, sh->merge_rate, st,
		       sh->slots_needed);
	}
	printf("\nbeats/clk (rx): rx beats accepted over the clocks from the first to the last\n"
	       "  (1.000000: s_axis tready never fell); rec/clk (rx): records over those clocks,\n"
	       "  at most records/beats of the frame, since the two header beats and the MAC\n"
	       "  trailer's beat carry no record; rec/clk (+fill): over the clocks from the first\n"
	       "  beat to the last FRAME event, pipeline fill and drain included; rec/rec-beat:\n"
	       "  records over the rx clocks less the header and trailer beats (goal %.2f: the\n"
	       "  merge engine takes one 64-byte record a clock and the rx stream never waits);\n"
	       "  merge rec/clk: records over the clocks from each frame's first to last RECORD\n"
	       "  event; stall clks: clocks a beat was offered and not taken, counted by the bench\n"
	       "  and by the NIC (RX_STALL_CYCLES); slots needed: a frame holds a slot from its\n"
	       "  first beat to about its FRAME event (median), over the clocks a frame takes on\n"
	       "  the wire, rounded up: the slots back to back frames of the shape need (%u here).\n\n",
	       GOAL_RECORDS_PER_RECORD_BEAT, b->slots);
}

static void
print_latency(const struct bench *b)
{
	printf("latency in NIC clocks, one frame on the idle NIC and (median, min..max) under\n"
	       "the full load above:\n");
	printf("%-9s %12s %12s %24s %24s %18s\n", "shape", "idle: last", "idle: record",
	       "loaded: last beat", "loaded: record beat", "loaded: first");
	printf("%-9s %12s %12s %24s %24s %18s\n", "", "beat->FRAME", "beat->RECORD", "-> FRAME event",
	       "-> RECORD event", "beat -> FRAME");
	for (unsigned i = 0; i < NSHAPES; i++) {
		const struct shape *sh = &b->sh[i];
		char a[40], c[40], d[40];

		snprintf(a, sizeof(a), "%.0f (%" PRIu64 "..%" PRIu64 ")", sh->s.frame_lat.median,
			 sh->s.frame_lat.min, sh->s.frame_lat.max);
		snprintf(c, sizeof(c), "%.0f (%" PRIu64 "..%" PRIu64 ")", sh->s.record_lat.median,
			 sh->s.record_lat.min, sh->s.record_lat.max);
		snprintf(d, sizeof(d), "%.0f", sh->s.resid.median);
		printf("%-9s %12" PRIu64 " %12.0f %24s %24s %18s\n", sh->label,
		       sh->idle.frame_lat.min, sh->idle.record_lat.median, a, c, d);
	}
	printf("\nA record leaves the NIC only after its frame's MAC has verified, so the SipHash\n"
	       "check of the whole frame (nic_frame_slot: 16 clocks a beat) sets both latencies;\n"
	       "every record of a frame then waits about equally (one record a clock in, one a\n"
	       "clock out). Frames retire as their MACs finish; frames of one size finish in\n"
	       "arrival order, so under this load none waits for another.\n\n");
}

static void
print_projection(const struct bench *b)
{
	printf("projection: the measured clocks per frame at a NIC clock, against what 100GbE\n"
	       "carries of the same frames (100e9 b/s over frame + 4 B FCS + 20 B preamble,\n"
	       "start delimiter and inter-frame gap):\n");
	printf("%-9s %6s %12s %12s %12s %12s %9s\n", "shape", "clock", "NIC Mrec/s", "NIC Mfr/s",
	       "100GbE Mrec/s", "100GbE Mfr/s", "NIC/line");
	for (unsigned i = 0; i < NSHAPES; i++) {
		const struct shape *sh = &b->sh[i];
		double lf = line_fps(sh->len);

		for (unsigned c = 0; c < NCLOCKS; c++) {
			double fps = sh->frames_per_clock * clock_mhz[c] * 1e6;
			char clk[16];

			snprintf(clk, sizeof(clk), "%.0f", clock_mhz[c]);
			printf("%-9s %6s %12.2f %12.3f %12.2f %12.3f %8.2fx\n", c == 0 ? sh->label : "",
			       clk, fps * sh->rpf / 1e6, fps / 1e6, lf * sh->rpf / 1e6, lf / 1e6,
			       fps / lf);
		}
	}
	printf("\nNIC: frames per clock as measured (rx beats/clk x 1 / beats per frame) x clock;\n"
	       "the clocks are assumptions (250 MHz: Corundum-style NIC core clock; 322 MHz:\n"
	       "the 100G MAC's user clock): yosys gives no Fmax (see the longest path below).\n\n");
}

static void
print_synth_row(const struct synth *y, const char *name)
{
	char t[24], l[24];

	if (isfinite(y->seconds))
		snprintf(t, sizeof(t), "%.0f s", y->seconds);
	else
		snprintf(t, sizeof(t), "-");
	if (y->ltp >= 0)
		snprintf(l, sizeof(l), "%" PRId64, y->ltp);
	else
		snprintf(l, sizeof(l), "-");
	printf("%-16s %-36s %7" PRIu64 " %7" PRIu64 " %6" PRIu64 " %6.1f %4" PRIu64 " %6" PRIu64
	       " %4s %6s\n", name, y->params, y->luts, y->ffs, y->carry4, bram36(y), y->dsp,
	       y->lutram, l, t);
}

static void
print_synth(const struct bench *b, const struct synth *proj)
{
	const struct synth *full = &b->y[Y_TOP];

	printf("synthesis: yosys synth_xilinx -flatten -noiopad (a 7-series-like mapping; no\n"
	       "placement, no timing closure, not a vendor flow):\n");
	printf("%-16s %-36s %7s %7s %6s %6s %4s %6s %4s %6s\n", "module", "parameters", "LUTs",
	       "FFs", "CARRY4", "BRAM36", "DSP", "LUTRAM", "ltp", "yosys");
	for (unsigned i = 0; i < NSYNTH; i++) {
		const struct synth *y = &b->y[i];

		if (y->present)
			print_synth_row(y, y->file);
		else
			printf("%-16s %-36s %7s  (opt-in, not run: ninja -C BUILDDIR synth-nic)\n", y->file,
			       y->params, "-");
	}
	print_synth_row(proj, "projected");
	printf("\nBRAM36: RAMB36E1 + RAMB18E1 / 2; LUTRAM: distributed RAM and SRL cells; ltp: cells\n"
	       "on the longest combinational path between registers (yosys ltp -noff over every\n"
	       "cell but flip-flops and RAMs, whose writes are clocked; the rtl kernels' figures\n"
	       "also count the flip-flop, so they read one higher); yosys: seconds it took when\n"
	       "the build ran it.\n"
	       "projected: the full-size nic_top from the default build's reports alone: nic_rx\n"
	       "at 2 slots + %u x (nic_rx at 4 slots - at 2) / 2 (slots scale linearly: frame RAM,\n"
	       "SipHash engine, per-slot state, read-back mux) + nic_table + nic_csr; nic_top's own\n"
	       "glue (command/record mux, events) is not in it. ltp is the longest of the parts'.\n",
	       FULL_SLOTS - 2);
	if (full->present)
		printf("The opt-in synthesis of the whole nic_top is in the table: the projection is\n"
		       "off by %+.1f%% LUTs, %+.1f%% FFs, %+.1f%% CARRY4, %+.1f%% BRAM36.\n",
		       pct(proj->luts, full->luts), pct(proj->ffs, full->ffs),
		       pct(proj->carry4, full->carry4), 100.0 * (bram36(proj) - bram36(full)) / bram36(full));
	else
		printf("The whole nic_top (opt-in: ninja -C BUILDDIR synth-nic, about 5.5 minutes and\n"
		       "2.5 GB here) was not synthesized; with its reports present this table shows it.\n");
	printf("\n");
}

static void
print_host(const struct bench *b)
{
	const struct host_row *cpu = &b->host[H_CPU], *cqe = &b->host[H_CQE],
			      *dram = &b->host[H_CQE_DRAM], *sim = &b->host[H_SIM];
	const struct shape *sh = &b->sh[HOST_SHAPE];

	printf("host time per record, %s frames (%u records), bursts of %u, through the\n"
	       "engine's interface, the same frames for every row:\n", sh->label, sh->rpf, BURST);
	printf("%-22s %10s %11s %7s %10s  %s\n", "row", "ns/record", "ns/frame", "spread", "records",
	       "what");
	for (unsigned r = 0; r < NHOST; r++) {
		const struct host_row *h = &b->host[r];

		printf("%-22s %10.2f %11.1f %6.1f%% %10" PRIu64 "  %s\n", h->name, h->ns_per_rec,
		       h->ns_per_frame, 100.0 * (h->st.max_ns - h->st.min_ns) / h->st.median_ns,
		       h->records, h->what);
	}
	printf("\nhost CPU per record the offload removes: %.2f ns (cpu backend) - %.2f ns (handling\n"
	       "  the NIC's completions) = %.2f ns, %.1fx less host work on this path; with the\n"
	       "  completions read from DRAM, %.2f ns (%.1fx).\n",
	       cpu->ns_per_rec, cqe->ns_per_rec, cpu->ns_per_rec - cqe->ns_per_rec,
	       cpu->ns_per_rec / cqe->ns_per_rec, cpu->ns_per_rec - dram->ns_per_rec,
	       cpu->ns_per_rec / dram->ns_per_rec);
	printf("What this counts: with the cpu backend the host verifies the MAC, parses and\n"
	       "  merges (real host work, measured). With an offload NIC that work is done in the\n"
	       "  NIC, and the host only reads its completions: one 64-byte entry per merged\n"
	       "  record and one per frame, turned into the same rx results and completions;\n"
	       "  measured with the entries in cache (as DMA into the LLC leaves them) and read\n"
	       "  from a %" PRIu64 " MiB ring in DRAM (a bound the other way). Not modelled: descriptor\n"
	       "  rings, doorbells, PCIe. Not removed by the offload, so in neither row: building\n"
	       "  and MACing the acks (tally-bench dataplane: ack build), and the work on frames\n"
	       "  the NIC hands the host (unknown keys, other types; here every record merges on\n"
	       "  the NIC). The sim backend's %.0f ns/record (%.0fx the cpu backend) is the\n"
	       "  Verilated NIC computing in software: the cost of simulating, NOT host work on\n"
	       "  hardware, shown because it is what the sim backend costs tests and users today.\n"
	       "  Every row's results were checked equal to the cpu backend's, and both engines'\n"
	       "  tables equal to the reference at the end.\n\n",
	       b->big_ring_bytes >> 20, sim->ns_per_rec, sim->ns_per_rec / cpu->ns_per_rec);
}

static bool
model_met(double cps)
{
	return isfinite(cps) && cps >= GOAL_MODEL_CPS;
}

static void
print_model(const struct bench *b)
{
	printf("model speed, simulated NIC clocks per host second (model, harness and the\n"
	       "bench's checks of every event):\n");
	for (unsigned i = 0; i < NSHAPES; i++) {
		const struct shape *sh = &b->sh[i];

		printf("  loaded, %-9s %8.3f M clocks/s (spread %.1f%%, %" PRIu64 " clocks a run)\n",
		       sh->label, sh->cycles_per_sec / 1e6,
		       100.0 * (sh->st.max_ns - sh->st.min_ns) / sh->st.median_ns, sh->s.cycles);
	}
	printf("  idle              %8.3f M clocks/s (%" PRIu64 " clocks a run)\n\n", b->idle_cps / 1e6,
	       b->o.idle_clocks);
}

static void
print_goals(const struct bench *b)
{
	for (unsigned i = 0; i < NSHAPES; i++) {
		const struct shape *sh = &b->sh[i];

		printf("goal: %s frames, >= %.2f records per record beat: %.6f (%s); rx "
		       "back-pressure: %" PRIu64 " stall clocks\n", sh->label,
		       GOAL_RECORDS_PER_RECORD_BEAT, sh->rec_per_record_beat,
		       met_str(sh->rec_per_record_beat >= GOAL_RECORDS_PER_RECORD_BEAT),
		       sh->s.csr_stall);
	}
	for (unsigned i = 0; i < NSHAPES; i++)
		printf("goal: model >= %.1f M clocks/s loaded with %s frames: %.3f M (%s)\n",
		       GOAL_MODEL_CPS / 1e6, b->sh[i].label, b->sh[i].cycles_per_sec / 1e6,
		       met_str(model_met(b->sh[i].cycles_per_sec)));
	printf("goal: model >= %.1f M clocks/s idle: %.3f M (%s)\n", GOAL_MODEL_CPS / 1e6,
	       b->idle_cps / 1e6, met_str(model_met(b->idle_cps)));
}

/* ---- JSON ---- */

static void
json_lat(FILE *f, const char *name, const struct lat *l)
{
	fprintf(f, "\"%s\":{\"median\":", name);
	tally_bench_json_num(f, l->median);
	fprintf(f, ",\"min\":%" PRIu64 ",\"max\":%" PRIu64 "}", l->min, l->max);
}

static void
json_shape(FILE *f, const struct shape *sh)
{
	const struct stream *s = &sh->s;
	double lf = line_fps(sh->len);

	fprintf(f, "{\"shape\":");
	tally_bench_json_str(f, sh->label);
	fprintf(f, ",\"mtu\":%u,\"records_per_frame\":%u,\"frame_bytes\":%u,\"beats_per_frame\":%u,"
		   "\"frames_per_run\":%" PRIu64 ",\"records_per_run\":%" PRIu64 ",\"beats_per_run\":%"
		   PRIu64 ",\"first_accept_clock\":%" PRIu64 ",\"last_accept_clock\":%" PRIu64
		   ",\"last_event_clock\":%" PRIu64 ",\"events_checked\":%" PRIu64
		   ",\"events_agree\":true,\"rx_beats_per_clock\":",
		sh->def->mtu, sh->rpf, sh->len, sh->beats, s->frames, s->records, s->beats,
		s->first_accept, s->last_accept, s->last_event, s->frames + s->records);
	tally_bench_json_num(f, sh->beats_per_clock);
	fprintf(f, ",\"records_per_clock_rx\":");
	tally_bench_json_num(f, sh->rec_per_clock_rx);
	fprintf(f, ",\"records_per_clock_with_fill\":");
	tally_bench_json_num(f, sh->rec_per_clock_all);
	fprintf(f, ",\"records_per_record_beat\":");
	tally_bench_json_num(f, sh->rec_per_record_beat);
	fprintf(f, ",\"merge_records_per_clock\":");
	tally_bench_json_num(f, sh->merge_rate);
	fprintf(f, ",\"frames_per_clock\":");
	tally_bench_json_num(f, sh->frames_per_clock);
	fprintf(f, ",\"stall_clocks_bench\":%" PRIu64 ",\"stall_clocks_csr\":%" PRIu64
		   ",\"csr_frames\":%" PRIu64 ",\"csr_consumed\":%" PRIu64 ",\"csr_records_merged\":%"
		   PRIu64 ",\"slots_needed\":%u,\"latency_idle\":{\"last_beat_to_frame\":%" PRIu64
		   ",\"first_beat_to_frame\":%" PRIu64 ",\"record_beat_to_record\":",
		s->stall, s->csr_stall, s->csr_frames, s->csr_consumed, s->csr_merged, sh->slots_needed,
		sh->idle.frame_lat.min, sh->idle.resid.min);
	tally_bench_json_num(f, sh->idle.record_lat.median);
	fprintf(f, "},\"latency_loaded\":{");
	json_lat(f, "last_beat_to_frame", &s->frame_lat);
	fputc(',', f);
	json_lat(f, "record_beat_to_record", &s->record_lat);
	fputc(',', f);
	json_lat(f, "first_beat_to_frame", &s->resid);
	fprintf(f, "},\"run_ns\":[");
	for (unsigned j = 0; j < sh->runs; j++)
		fprintf(f, "%s%" PRIu64, j ? "," : "", sh->run_ns[j]);
	fprintf(f, "],\"cycles_per_run\":%" PRIu64 ",\"model_cycles_per_sec\":", s->cycles);
	tally_bench_json_num(f, sh->cycles_per_sec);
	fprintf(f, ",\"projected\":[");
	for (unsigned c = 0; c < NCLOCKS; c++) {
		double fps = sh->frames_per_clock * clock_mhz[c] * 1e6;

		fprintf(f, "%s{\"clock_mhz\":", c ? "," : "");
		tally_bench_json_num(f, clock_mhz[c]);
		fprintf(f, ",\"records_per_sec\":");
		tally_bench_json_num(f, fps * sh->rpf);
		fprintf(f, ",\"frames_per_sec\":");
		tally_bench_json_num(f, fps);
		fprintf(f, ",\"vs_100gbe\":");
		tally_bench_json_num(f, fps / lf);
		fputc('}', f);
	}
	fprintf(f, "],\"line_rate_100gbe\":{\"frames_per_sec\":");
	tally_bench_json_num(f, lf);
	fprintf(f, ",\"records_per_sec\":");
	tally_bench_json_num(f, lf * sh->rpf);
	fprintf(f, "}}");
}

static void
json_synth(FILE *f, const struct synth *y)
{
	fprintf(f, "{\"report\":");
	tally_bench_json_str(f, y->file);
	fprintf(f, ",\"module\":");
	tally_bench_json_str(f, y->module);
	fprintf(f, ",\"parameters\":");
	tally_bench_json_str(f, y->params);
	fprintf(f, ",\"present\":%s", y->present ? "true" : "false");
	if (y->present) {
		fprintf(f, ",\"luts\":%" PRIu64 ",\"ffs\":%" PRIu64 ",\"carry4\":%" PRIu64
			   ",\"ramb36\":%" PRIu64 ",\"ramb18\":%" PRIu64 ",\"dsp\":%" PRIu64
			   ",\"lutram\":%" PRIu64 ",\"muxf\":%" PRIu64 ",\"cells\":%" PRIu64
			   ",\"ltp_length\":%" PRId64 ",\"yosys_seconds\":",
			y->luts, y->ffs, y->carry4, y->ramb36, y->ramb18, y->dsp, y->lutram, y->muxf,
			y->cells, y->ltp);
		tally_bench_json_num(f, y->seconds);
	}
	fputc('}', f);
}

static int
write_json(FILE *f, const struct bench *b, const char *cpu, int pinned, const struct synth *proj)
{
	const struct host_row *cpu_row = &b->host[H_CPU], *cqe = &b->host[H_CQE];
	int err;

	fprintf(f, "{\"bench\":\"nic\",\"version\":1,\"quick\":%s,\"cpu\":",
		b->o.quick ? "true" : "false");
	tally_bench_json_str(f, cpu);
	fprintf(f, ",\"pinned_cpu\":");
	if (pinned >= 0)
		fprintf(f, "%d", pinned);
	else
		fputs("null", f);
	fprintf(f, ",\"model\":{\"simulator\":\"verilator\",\"nodes\":%u,\"frame_slots\":%u,"
		   "\"table_rows\":%u,\"build_id\":\"%08x\"},\"keys\":%u,\"pool_frames\":%u,"
		   "\"records_per_run\":%" PRIu64 ",\"host_records_per_run\":%" PRIu64
		   ",\"runs\":%u,\"warmup_runs\":%u,\"statistic\":\"median\",\"clock\":"
		   "\"CLOCK_MONOTONIC\",\"line_rate\":{\"bits_per_sec\":",
		b->nodes, b->slots, b->depth, b->build_id, b->keys_n, POOL, b->o.records,
		b->o.host_records, b->o.runs, WARMUP_RUNS);
	tally_bench_json_num(f, LINE_BPS);
	fprintf(f, ",\"bytes_per_frame_besides_frame\":%u,\"note\":\"4 B FCS + 20 B preamble, SFD "
		   "and inter-frame gap\"},\"clocks_mhz\":[", WIRE_EXTRA);
	for (unsigned c = 0; c < NCLOCKS; c++) {
		fputs(c ? "," : "", f);
		tally_bench_json_num(f, clock_mhz[c]);
	}
	fprintf(f, "],\"shapes\":[");
	for (unsigned i = 0; i < NSHAPES; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_shape(f, &b->sh[i]);
	}
	fprintf(f, "],\"model_idle\":{\"cycles_per_run\":%" PRIu64 ",\"model_cycles_per_sec\":",
		b->o.idle_clocks);
	tally_bench_json_num(f, b->idle_cps);
	fprintf(f, "},\"synthesis\":{\"flow\":\"yosys synth_xilinx -flatten -noiopad: a 7-series-"
		   "like mapping, no timing closure, not a vendor flow\",\"ltp\":\"ltp -noff over "
		   "every cell but FD*, RAM* and SRL*: combinational cells between registers\","
		   "\"synth_dir\":");
	tally_bench_json_str(f, b->o.synth_dir);
	fprintf(f, ",\"reports\":[");
	for (unsigned i = 0; i < NSYNTH; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_synth(f, &b->y[i]);
	}
	fprintf(f, "],\"projected_full\":");
	json_synth(f, proj);
	fprintf(f, ",\"projection\":\"nic_rx(SLOTS 2) + %u / 2 x (nic_rx(SLOTS 4) - nic_rx(SLOTS 2)) "
		   "+ nic_table + nic_csr; nic_top glue not included\"},\"host\":{\"shape\":",
		FULL_SLOTS - 2);
	tally_bench_json_str(f, b->sh[HOST_SHAPE].label);
	fprintf(f, ",\"burst\":%u,\"rows\":[", BURST);
	for (unsigned r = 0; r < NHOST; r++) {
		const struct host_row *h = &b->host[r];

		fprintf(f, "%s{\"row\":", r ? ",\n" : "\n");
		tally_bench_json_str(f, h->name);
		fprintf(f, ",\"what\":");
		tally_bench_json_str(f, h->what);
		fprintf(f, ",\"host_work\":%s,\"frames_per_run\":%" PRIu64 ",\"records_per_run\":%"
			   PRIu64 ",\"run_ns\":[", r == H_SIM ? "false" : "true", h->frames, h->records);
		for (unsigned j = 0; j < h->runs; j++)
			fprintf(f, "%s%" PRIu64, j ? "," : "", h->run_ns[j]);
		fprintf(f, "],\"ns_per_record\":");
		tally_bench_json_num(f, h->ns_per_rec);
		fprintf(f, ",\"ns_per_frame\":");
		tally_bench_json_num(f, h->ns_per_frame);
		fputc('}', f);
	}
	fprintf(f, "],\"removed_ns_per_record\":");
	tally_bench_json_num(f, cpu_row->ns_per_rec - cqe->ns_per_rec);
	fprintf(f, ",\"host_work_ratio\":");
	tally_bench_json_num(f, cpu_row->ns_per_rec / cqe->ns_per_rec);
	fprintf(f, ",\"dram_ring_bytes\":%" PRIu64 ",\"removed_ns_per_record_dram\":",
		b->big_ring_bytes);
	tally_bench_json_num(f, cpu_row->ns_per_rec - b->host[H_CQE_DRAM].ns_per_rec);
	fprintf(f, ",\"host_work_ratio_dram\":");
	tally_bench_json_num(f, cpu_row->ns_per_rec / b->host[H_CQE_DRAM].ns_per_rec);
	fprintf(f, ",\"results_equal\":true,\"tables_equal\":%s,\"not_counted\":\"ack build and "
		   "MAC (the same with or without offload); DMA, rings, doorbells, PCIe\"},\"goals\":[",
		b->host_tables_equal ? "true" : "false");
	for (unsigned i = 0; i < NSHAPES; i++) {
		const struct shape *sh = &b->sh[i];

		fprintf(f, "%s{\"goal\":\"records_per_record_beat\",\"shape\":", i ? "," : "");
		tally_bench_json_str(f, sh->label);
		fprintf(f, ",\"threshold\":%.2f,\"value\":", GOAL_RECORDS_PER_RECORD_BEAT);
		tally_bench_json_num(f, sh->rec_per_record_beat);
		fprintf(f, ",\"met\":%s},{\"goal\":\"model_cycles_per_sec_loaded\",\"shape\":",
			sh->rec_per_record_beat >= GOAL_RECORDS_PER_RECORD_BEAT ? "true" : "false");
		tally_bench_json_str(f, sh->label);
		fprintf(f, ",\"threshold\":%.0f,\"value\":", GOAL_MODEL_CPS);
		tally_bench_json_num(f, sh->cycles_per_sec);
		fprintf(f, ",\"met\":%s}", model_met(sh->cycles_per_sec) ? "true" : "false");
	}
	fprintf(f, ",{\"goal\":\"model_cycles_per_sec_idle\",\"threshold\":%.0f,\"value\":",
		GOAL_MODEL_CPS);
	tally_bench_json_num(f, b->idle_cps);
	fprintf(f, ",\"met\":%s}]}\n", model_met(b->idle_cps) ? "true" : "false");
	err = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && err == 0)
		err = -errno;
	return err;
}

/* ---- options and main ---- */

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tally-bench nic [--quick] [--runs N] [--records N] [--host-records N]\n"
		"                       [--json FILE] [--synth-dir DIR]\n"
		"\n"
		"Measure the whole NIC pipeline (rtl/nic_top.sv: parser, SipHash frame slots,\n"
		"counter table) through its cycle-accurate Verilator model (rtl/sim, as the\n"
		"build makes it: 20 slots, 4096 rows), read its yosys reports, and compare host\n"
		"time per record with the cpu and sim backends.\n"
		"Frames: valid REPLICATE frames of 1 record (208 B), full at a 1500 MTU (21\n"
		"records, 1488 B, 24 beats) and full at a 9000 MTU (138 records, 8976 B, 141\n"
		"beats), made by the C codec and accepted by tally_wire_decode; %u distinct\n"
		"frames a shape, cycled; every record merges on the NIC (its key is placed).\n"
		"\n"
		"  throughput    frames back to back, a beat offered every clock, events always\n"
		"                ready: rx beats/clock (1.00: no back-pressure), records/clock\n"
		"                over all beats, records per record beat (goal %.2f: one 64-byte\n"
		"                record merged a clock), the merge rate inside a frame, stall\n"
		"                clocks counted by the bench and by the NIC (RX_STALL_CYCLES), and\n"
		"                the frame slots back-to-back frames need\n"
		"  latency       clocks from a frame's last beat to its FRAME event and from a\n"
		"                record's beat to its RECORD event, on the idle NIC and under load\n"
		"  projection    measured frames/clock x 250 and x 322 MHz, as records and frames\n"
		"                per second, against 100GbE carrying the same frames (frame + 4 B\n"
		"                FCS + 20 B preamble, delimiter and gap per frame)\n"
		"  synthesis     from DIR/synth_<report>.{stat,ltp,time} (rtl/meson.build): yosys\n"
		"                synth_xilinx of siphash24, nic_frame_slot, nic_table (4096 rows),\n"
		"                nic_rx (2 and 4 slots), nic_csr; the full-size nic_top projected\n"
		"                from them; nic_top itself when the opt-in synthesis has been run\n"
		"                (ninja -C BUILDDIR synth-nic: several minutes)\n"
		"  host          ns/record through tally_offload_rx() with the cpu backend (host\n"
		"                work), the host's work left with an offload NIC (handling its\n"
		"                completions: from cache, and from a %llu MiB ring in DRAM), and\n"
		"                the sim backend (simulation, not host work)\n"
		"  model speed   simulated clocks per second, loaded and idle (goal %.1f M/s)\n"
		"Every event is checked against the C reference and the sim backend's results\n"
		"against the cpu backend's; a wrong, missing or extra one fails the run. Goals\n"
		"are reported as measured; a missed goal never fails the run.\n"
		"\n"
		"Options:\n"
		"  --quick             %llu records a stream run, %llu a host run, %u timed run,\n"
		"                      a short idle run, a %llu MiB ring (about a second): a smoke\n"
		"                      test, not a measurement\n"
		"  --runs N            timed runs after %u warm-up, 1..%u (default %u)\n"
		"  --records N         records a stream run of each shape and a sim backend run,\n"
		"                      rounded up to whole frames, 1..%llu (default %llu)\n"
		"  --host-records N    records a cpu backend and completion-handling run,\n"
		"                      1..%llu (default %llu)\n"
		"  --json FILE         write the JSON report to FILE (default %s)\n"
		"  --synth-dir DIR     folder of the synthesis reports (default: the build's,\n"
		"                      %s)\n"
		"  -h, --help          print this help and exit\n"
		"\n"
		"Progress goes to stderr. Exit status: 0 success, 1 runtime failure (a synthesis\n"
		"report missing or unreadable, the simulation, a wrong result, the JSON file),\n"
		"2 usage error.\n",
		POOL, GOAL_RECORDS_PER_RECORD_BEAT, BIG_RING_DEFAULT >> 20, GOAL_MODEL_CPS / 1e6,
		(unsigned long long)RECORDS_QUICK, (unsigned long long)HOST_RECORDS_QUICK, RUNS_QUICK,
		(unsigned long long)(BIG_RING_QUICK >> 20),
		WARMUP_RUNS, RUNS_MAX, RUNS_DEFAULT, (unsigned long long)RECORDS_MAX,
		(unsigned long long)RECORDS_DEFAULT, (unsigned long long)RECORDS_MAX,
		(unsigned long long)HOST_RECORDS_DEFAULT, JSON_DEFAULT, TALLY_SYNTH_DIR);
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
		{ "host-records", required_argument, NULL, 'H' },
		{ "json", required_argument, NULL, 'j' },
		{ "synth-dir", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool runs_set = false, records_set = false, host_set = false;
	uint64_t v;
	int c;

	*o = (struct opts){ .runs = RUNS_DEFAULT, .records = RECORDS_DEFAULT,
			    .host_records = HOST_RECORDS_DEFAULT, .idle_clocks = IDLE_CLOCKS_DEFAULT,
			    .big_ring_bytes = BIG_RING_DEFAULT,
			    .json = JSON_DEFAULT, .synth_dir = TALLY_SYNTH_DIR };
	/* As the other subcommands: our own messages, and getopt's state reset. */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'r':
			if (tally_bench_opt_u64("nic", "runs", optarg, 1, RUNS_MAX, &v) != 0)
				return -EINVAL;
			o->runs = (unsigned)v;
			runs_set = true;
			break;
		case 'n':
			if (tally_bench_opt_u64("nic", "records", optarg, 1, RECORDS_MAX, &v) != 0)
				return -EINVAL;
			o->records = v;
			records_set = true;
			break;
		case 'H':
			if (tally_bench_opt_u64("nic", "host-records", optarg, 1, RECORDS_MAX, &v) != 0)
				return -EINVAL;
			o->host_records = v;
			host_set = true;
			break;
		case 'j':
			if (tally_bench_opt_file("nic", "json", optarg, &o->json) != 0)
				return -EINVAL;
			break;
		case 's':
			if (optarg[0] == '\0') {
				fprintf(stderr, "tally-bench nic: --synth-dir: want a folder name\n");
				return -EINVAL;
			}
			o->synth_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return tally_bench_opt_error("nic", c, argv);
		}
	}
	if (tally_bench_opt_end("nic", argc, argv) != 0)
		return -EINVAL;
	if (o->quick) {
		if (!runs_set)
			o->runs = RUNS_QUICK;
		if (!records_set)
			o->records = RECORDS_QUICK;
		if (!host_set)
			o->host_records = HOST_RECORDS_QUICK;
		o->idle_clocks = IDLE_CLOCKS_QUICK;
		o->big_ring_bytes = BIG_RING_QUICK;
	}
	return 0;
}

static void
bench_free(struct bench *b)
{
	if (b == NULL)
		return;
	tally_nsim_free(b->nic);
	for (unsigned i = 0; i < NSHAPES; i++)
		for (unsigned f = 0; f < POOL; f++) {
			free(b->sh[i].pool[f].data);
			free(b->sh[i].pool[f].slots);
		}
	free(b->kid);
	free(b->ref_p);
	free(b->ref_n);
	free(b);
}

int
tally_bench_nic_main(int argc, char **argv)
{
	struct tally_bench_rng g = { SEED_FRAMES };
	struct bench *b = NULL;
	struct synth proj;
	FILE *json = NULL;
	struct opts o;
	char cpu[256];
	int pinned, rc, err, ret = TALLY_BENCH_EXIT_FAIL;

	rc = parse_opts(argc, argv, &o);
	if (rc > 0)
		return TALLY_BENCH_EXIT_OK;
	if (rc < 0) {
		fprintf(stderr, "see: tally-bench nic --help\n");
		return TALLY_BENCH_EXIT_USAGE;
	}
	progress_tty = isatty(STDERR_FILENO);
	tally_bench_cpu_model(cpu, sizeof(cpu));
	pinned = tally_bench_pin();

	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		fprintf(stderr, "tally-bench nic: %s\n", strerror(ENOMEM));
		return TALLY_BENCH_EXIT_FAIL;
	}
	b->o = o;
	/* The reports and the JSON file first: a bad path fails in
	 * milliseconds, not after the simulation. */
	if (read_synth(b, o.synth_dir) != 0)
		goto out;
	project_full(b, &proj);
	json = fopen(o.json, "w");
	if (json == NULL) {
		fprintf(stderr, "tally-bench nic: cannot write %s: %s\n", o.json, strerror(errno));
		goto out;
	}

	progress("model", "reset, keys, table", 0, 0);
	b->nic = tally_nsim_create(NULL, &err);
	if (b->nic == NULL) {
		fprintf(stderr, "tally-bench nic: cannot create the NIC simulation: %s\n",
			strerror(-err));
		goto out;
	}
	b->nodes = tally_nsim_nodes(b->nic);
	b->depth = tally_nsim_depth(b->nic);
	b->slots = tally_nsim_slots(b->nic);
	if (b->nodes != TALLY_MAX_NODES || b->depth < 2) {
		fprintf(stderr, "tally-bench nic: the model has %u slots per vector and %u rows; "
				"this build has %d slots per vector\n", b->nodes, b->depth,
			TALLY_MAX_NODES);
		goto out;
	}
	if (tally_nsim_csr_read(b->nic, TALLY_CSR_BUILD_ID, &b->build_id) != 0) {
		fprintf(stderr, "tally-bench nic: cannot read the model's build id\n");
		goto out;
	}
	b->keys_n = b->depth;
	b->kid = calloc(b->keys_n, sizeof(*b->kid));
	b->ref_p = calloc((size_t)b->keys_n * b->nodes, sizeof(uint64_t));
	b->ref_n = calloc((size_t)b->keys_n * b->nodes, sizeof(uint64_t));
	if (b->kid == NULL || b->ref_p == NULL || b->ref_n == NULL) {
		fprintf(stderr, "tally-bench nic: %s\n", strerror(ENOMEM));
		goto out;
	}
	{
		uint8_t cluster[32] = { 't', 'a', 'l', 'l', 'y', '-', 'b', 'e', 'n', 'c', 'h', '-',
					'n', 'i', 'c' };

		if (tally_wire_node_key(&b->keys, cluster) != 0) {
			fprintf(stderr, "tally-bench nic: cannot derive wire keys (libsodium)\n");
			goto out;
		}
	}
	for (unsigned k = 0; k < b->keys_n; k++) {
		char name[32];

		snprintf(name, sizeof(name), "nic-bench-key:%u", k);
		tally_wire_key_id(name, strlen(name), b->kid[k]);
	}
	b->addr = (struct tally_wire_addr){
		.src_mac = { 0x02, 0, 0, 0, 0, SEND_NODE }, .dst_mac = { 0x02, 0, 0, 0, 0, 0 },
		.src_ip = 0x0a000002u, .dst_ip = 0x0a000001u,
		.src_port = TALLY_WIRE_DEFAULT_PORT, .dst_port = TALLY_WIRE_DEFAULT_PORT,
	};
	for (unsigned i = 0; i < NSHAPES; i++) {
		b->sh[i].def = &shape_defs[i];
		if (build_shape(b, &b->sh[i], &g) != 0) {
			fprintf(stderr, "tally-bench nic: %s\n", b->why);
			goto out;
		}
	}
	if (nic_open(b) != 0) {
		fprintf(stderr, "%stally-bench nic: %s\n", progress_tty ? "\r\033[K" : "", b->why);
		goto out;
	}

	print_header(b, cpu, pinned);
	if (measure_streams(b) != 0 || measure_idle(b) != 0 || measure_host(b) != 0) {
		fprintf(stderr, "%stally-bench nic: %s\n", progress_tty ? "\r\033[K" : "", b->why);
		goto out;
	}
	progress_done();

	printf("\n");
	print_throughput(b);
	print_latency(b);
	print_projection(b);
	print_synth(b, &proj);
	print_host(b);
	print_model(b);
	print_goals(b);

	rc = write_json(json, b, cpu, pinned, &proj);
	json = NULL; /* closed by write_json */
	if (rc < 0) {
		fprintf(stderr, "tally-bench nic: cannot write %s: %s\n", o.json, strerror(-rc));
		goto out;
	}
	printf("json: wrote %s\n", o.json);
	ret = TALLY_BENCH_EXIT_OK;
out:
	if (json != NULL)
		fclose(json);
	bench_free(b);
	return ret;
}
