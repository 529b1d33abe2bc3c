/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * rtl/nic_csr.sv against a C model of the register map (tally_csr.h), in
 * lockstep, clock by clock, under Verilator (csr_sim.h).
 *
 * A bus-functional master drives the five AXI4-Lite channels with its own
 * gates: valid on AW, W and AR and ready on B and R each follow a pattern
 * (always, random, bursty), crossed as Corundum's testbenches do, and a
 * write can hold back its address or its data so AW comes before W, W
 * before AW, or both together. The model holds what the block must hold
 * (CONTROL, the keys, every 64-bit counter and its latched high half) and
 * predicts every response:
 *
 *  - a read returns the state of the clock its address is accepted;
 *  - a write takes effect at the edge at which its response becomes valid,
 *    and a STATS_CLEAR there zeroes the counters before that clock's events;
 *  - unmapped addresses, and writes to read-only registers, get SLVERR and
 *    change nothing; the keys read 0 with OKAY;
 *  - responses stay valid and stable until taken, and come in order, one per
 *    accepted request, never before the request's address and data.
 *
 * cnt_inc is driven with random patterns (none, all, random, sparse, one at a
 * time) and every counter read is compared with the model exactly. The carry
 * from LO into HI and the wrap at 2^64 are reached with two more builds of
 * the block whose counters start 256 events below them (the test-only
 * parameter CNT_RESET, set by meson.build, which passes the same values here
 * as CSR_TEST_*_RESET); a LO-then-HI read must return the 64-bit value of
 * the LO read's clock, also while counting across the carry.
 *
 * The first mismatch stops the test and prints the seed (TALLY_TEST_SEED
 * reruns it), the build, the gate patterns and the clock.
 *
 *   test_nic_csr [--cycles N] [--fst PREFIX]
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmocka_prelude.h"
#include "csr_sim.h"
#include "gate.h"
#include "prop.h"
#include "tally_csr.h"

#define OKAY 0
#define SLVERR 2
#define QN 64          /* ring size of every queue (a power of two) */
#define MAX_WRITES 8   /* writes in flight in the random test */
#define MAX_READS 8
#define STALL_LIMIT 4000 /* clocks without any handshake while work is queued */

static struct {
	unsigned long cycles;
	const char *fst;
} opt = { 20000, NULL };

static const uint64_t cnt_reset[CSR_SIM_VARIANTS] = {
	[CSR_SIM_PLAIN] = CSR_TEST_PLAIN_RESET,
	[CSR_SIM_CARRY] = CSR_TEST_CARRY_RESET,
	[CSR_SIM_WRAP] = CSR_TEST_WRAP_RESET,
};

/* ---- the reference model ------------------------------------------------ */

struct model {
	bool merge_enable;
	uint8_t node_key[16];
	uint64_t cnt[TALLY_CSR_CNT_COUNT];
	uint32_t latch[TALLY_CSR_CNT_COUNT];
};

static void
model_reset(struct model *m, uint64_t preset)
{
	memset(m, 0, sizeof(*m));
	m->merge_enable = (TALLY_CSR_CONTROL_RESET & TALLY_CSR_CONTROL_MERGE_ENABLE) != 0;
	for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++)
		m->cnt[i] = preset;
}

static bool
is_key(uint32_t a, uint8_t **key, unsigned *word, struct model *m)
{
	if (a >= TALLY_CSR_NODE_KEY(0) && a < TALLY_CSR_NODE_KEY(TALLY_CSR_NODE_KEY_COUNT)) {
		*key = m->node_key;
		*word = (a - TALLY_CSR_NODE_KEY(0)) / 4;
		return true;
	}
	return false;
}

static bool
is_counter(uint32_t a, unsigned *i, bool *hi)
{
	if (a < TALLY_CSR_CNT_LO(0) || a >= TALLY_CSR_CNT_LO(TALLY_CSR_CNT_COUNT))
		return false;
	*i = (a - TALLY_CSR_CNT_BASE) / TALLY_CSR_CNT_STRIDE;
	*hi = a == TALLY_CSR_CNT_HI(*i);
	return true;
}

/* What a read of @p addr returns this clock; *lo_of is the counter whose LO it reads, or -1. */
static uint8_t
model_read(struct model *m, uint32_t addr, bool idle, uint32_t *data, int *lo_of)
{
	uint32_t a = addr & ~3u;
	uint8_t *key;
	unsigned i;
	bool hi;

	*data = 0;
	*lo_of = -1;
	switch (a) {
	case TALLY_CSR_ID:
		*data = TALLY_CSR_ID_VALUE;
		return OKAY;
	case TALLY_CSR_BUILD_ID:
		*data = CSR_TEST_BUILD_ID;
		return OKAY;
	case TALLY_CSR_CONTROL:
		*data = m->merge_enable ? TALLY_CSR_CONTROL_MERGE_ENABLE : 0;
		return OKAY;
	case TALLY_CSR_STATUS:
		*data = idle ? TALLY_CSR_STATUS_IDLE : 0;
		return OKAY;
	case TALLY_CSR_TABLE_DEPTH:
		*data = CSR_TEST_TABLE_DEPTH;
		return OKAY;
	case TALLY_CSR_NODES:
		*data = CSR_TEST_NODES;
		return OKAY;
	case TALLY_CSR_MAC_ENGINES:
		*data = CSR_TEST_MAC_ENGINES;
		return OKAY;
	default:
		break;
	}
	if (is_key(a, &key, &i, m))
		return OKAY; /* write-only: reads 0 */
	if (is_counter(a, &i, &hi)) {
		if (hi) {
			*data = m->latch[i];
		} else {
			*data = (uint32_t)m->cnt[i];
			*lo_of = (int)i;
		}
		return OKAY;
	}
	return SLVERR;
}

/* A write taking effect; *clear says it wrote STATS_CLEAR. */
static uint8_t
model_write(struct model *m, uint32_t addr, uint32_t data, uint8_t strb, bool *clear)
{
	uint32_t a = addr & ~3u, mask = 0;
	uint8_t *key;
	unsigned w;

	for (unsigned b = 0; b < 4; b++)
		if (strb >> b & 1)
			mask |= 0xffu << (8 * b);
	*clear = false;
	if (a == TALLY_CSR_CONTROL) {
		if (mask & TALLY_CSR_CONTROL_MERGE_ENABLE)
			m->merge_enable = (data & TALLY_CSR_CONTROL_MERGE_ENABLE) != 0;
		*clear = (mask & data & TALLY_CSR_CONTROL_STATS_CLEAR) != 0;
		return OKAY;
	}
	if (is_key(a, &key, &w, m)) {
		for (unsigned b = 0; b < 4; b++)
			if (strb >> b & 1)
				key[4 * w + b] = (uint8_t)(data >> (8 * b));
		return OKAY;
	}
	return SLVERR;
}

/* ---- the bus-functional master ------------------------------------------ */


struct wr_op {
	uint32_t addr, data;
	uint8_t strb;
	uint64_t aw_at, w_at;        /* earliest clock to offer each */
	uint64_t aw_done, w_done;    /* clock of each handshake */
};

struct rd_op {
	uint32_t addr;
	uint64_t at;
};

struct rd_exp {
	uint32_t addr, data;
	uint8_t resp;
};

/* cnt_inc patterns, changed every few hundred clocks */
enum inc_mode { INC_NONE, INC_ALL, INC_RANDOM, INC_SPARSE, INC_ONE, INC_MODES };

struct bfm {
	csr_sim_t *sim;
	enum csr_sim_variant variant;
	struct prng g;
	struct model m;
	struct gate gaw, gw, gar, gb, gr;
	uint64_t cycle;

	struct wr_op wq[QN];
	unsigned wq_tail, aw_next, w_next, wr_done; /* indices, free-running */
	bool awvalid, wvalid;
	struct rd_op rq[QN];
	unsigned rq_tail, ar_next;
	bool arvalid;
	struct rd_exp rexp[QN];
	unsigned rexp_tail, rexp_head, r_shown;

	/* AXI rules: a response held for the next clock */
	bool b_hold, r_hold;
	uint8_t b_hold_resp, r_hold_resp;
	uint32_t r_hold_data;

	enum inc_mode inc;
	unsigned inc_left;
	bool idle;
	bool inc_off;   /* directed tests: cnt_inc held at 0 */
	bool inc_all;   /* directed tests: cnt_inc all ones */

	uint64_t last_progress;
	unsigned long writes_done, reads_done;
	uint8_t last_bresp, last_rresp;
	uint32_t last_rdata;
	unsigned long aw_first, w_first, together;

	char msg[1024];
};

static void
bfm_init(struct bfm *b, enum csr_sim_variant v, uint64_t salt)
{
	static unsigned seq;
	char path[512];
	int err;

	memset(b, 0, sizeof(*b));
	b->variant = v;
	prop_init(&b->g, salt * 4 + v);
	if (opt.fst != NULL)
		snprintf(path, sizeof(path), "%s.%u.%s.fst", opt.fst, seq++, csr_sim_variant_name(v));
	b->sim = csr_sim_create(v, opt.fst != NULL ? path : NULL, &err);
	if (b->sim == NULL)
		fail_msg("csr_sim_create(%s): %s", csr_sim_variant_name(v), strerror(-err));
	model_reset(&b->m, cnt_reset[v]);
	b->idle = true;
}

static void
bfm_gates(struct bfm *b, enum pattern valid, enum pattern ready)
{
	b->gaw.p = b->gw.p = b->gar.p = valid;
	b->gb.p = b->gr.p = ready;
}

static bool __attribute__((format(printf, 2, 3)))
bfm_fail(struct bfm *b, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(b->msg, sizeof(b->msg),
			 "seed %" PRIu64 " (TALLY_TEST_SEED), build %s, valid %s, ready %s, clock %" PRIu64 ": ",
			 prop_seed(), csr_sim_variant_name(b->variant), pattern_name[b->gaw.p],
			 pattern_name[b->gb.p], b->cycle);

	va_start(ap, fmt);
	vsnprintf(b->msg + n, sizeof(b->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static void
bfm_write(struct bfm *b, uint32_t addr, uint32_t data, uint8_t strb, unsigned aw_delay,
	  unsigned w_delay)
{
	struct wr_op *op = &b->wq[b->wq_tail++ % QN];

	op->addr = addr;
	op->data = data;
	op->strb = strb;
	op->aw_at = b->cycle + aw_delay;
	op->w_at = b->cycle + w_delay;
}

static void
bfm_read(struct bfm *b, uint32_t addr, unsigned delay)
{
	struct rd_op *op = &b->rq[b->rq_tail++ % QN];

	op->addr = addr;
	op->at = b->cycle + delay;
}

static unsigned
bfm_writes_queued(const struct bfm *b)
{
	return b->wq_tail - b->wr_done;
}

static unsigned
bfm_reads_queued(const struct bfm *b)
{
	return b->rq_tail - b->ar_next + (b->rexp_tail - b->rexp_head);
}

static uint32_t
next_inc(struct bfm *b)
{
	const uint32_t all = (UINT32_C(1) << TALLY_CSR_CNT_COUNT) - 1;
	uint32_t v = 0;

	if (b->inc_off)
		return 0;
	if (b->inc_all)
		return all;
	if (b->inc_left == 0) {
		b->inc = (enum inc_mode)prng_below(&b->g, INC_MODES);
		b->inc_left = 1 + (unsigned)prng_below(&b->g, 600);
	}
	b->inc_left--;
	switch (b->inc) {
	case INC_NONE:
		return 0;
	case INC_ALL:
		return all;
	case INC_RANDOM:
		return (uint32_t)prng_next(&b->g) & all;
	case INC_SPARSE:
		for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++)
			if (prng_below(&b->g, 16) == 0)
				v |= UINT32_C(1) << i;
		return v;
	default:
		return UINT32_C(1) << prng_below(&b->g, TALLY_CSR_CNT_COUNT);
	}
}

/* One clock in lockstep with the model; false (and b->msg) at the first mismatch. */
static bool
bfm_step(struct bfm *b)
{
	struct csr_sim_in in = { 0 };
	struct csr_sim_out o, a;
	struct wr_op *wop;
	struct rd_op *rop;
	uint32_t poison = 0xdead0000u ^ (uint32_t)(b->cycle * 977);

	/* Offer the next address or data when its time and its gate come; hold it until taken. */
	wop = &b->wq[b->aw_next % QN];
	if (!b->awvalid && b->aw_next != b->wq_tail && b->cycle >= wop->aw_at && gate_next(&b->gaw, &b->g))
		b->awvalid = true;
	in.awvalid = b->awvalid;
	in.awaddr = b->awvalid ? wop->addr : poison & 0xff;

	wop = &b->wq[b->w_next % QN];
	if (!b->wvalid && b->w_next != b->wq_tail && b->cycle >= wop->w_at && gate_next(&b->gw, &b->g))
		b->wvalid = true;
	in.wvalid = b->wvalid;
	in.wdata = b->wvalid ? wop->data : poison;
	in.wstrb = b->wvalid ? wop->strb : (uint8_t)(poison >> 3 & 0xf);

	rop = &b->rq[b->ar_next % QN];
	if (!b->arvalid && b->ar_next != b->rq_tail && b->cycle >= rop->at && gate_next(&b->gar, &b->g))
		b->arvalid = true;
	in.arvalid = b->arvalid;
	in.araddr = b->arvalid ? rop->addr : (poison >> 8) & 0xff;

	in.bready = gate_next(&b->gb, &b->g);
	in.rready = gate_next(&b->gr, &b->g);
	in.cnt_inc = next_inc(b);
	if (prng_below(&b->g, 8) == 0)
		b->idle = !b->idle;
	in.status_idle = b->idle;

	csr_sim_eval(b->sim, &in, &o);

	/* A response, once shown, stays valid and unchanged until taken. */
	if (b->b_hold && (!o.bvalid || o.bresp != b->b_hold_resp))
		return bfm_fail(b, "B response dropped or changed before it was taken");
	if (b->r_hold && (!o.rvalid || o.rresp != b->r_hold_resp || o.rdata != b->r_hold_data))
		return bfm_fail(b, "R response dropped or changed before it was taken");

	bool aw_hs = in.awvalid && o.awready;
	bool w_hs = in.wvalid && o.wready;
	bool ar_hs = in.arvalid && o.arready;
	bool b_hs = o.bvalid && in.bready;
	bool r_hs = o.rvalid && in.rready;
	int lo_of = -1;
	uint32_t lo_hi = 0;

	if (ar_hs) {
		struct rd_exp *e = &b->rexp[b->rexp_tail++ % QN];

		e->addr = rop->addr;
		e->resp = model_read(&b->m, rop->addr, in.status_idle, &e->data, &lo_of);
		if (lo_of >= 0)
			lo_hi = (uint32_t)(b->m.cnt[lo_of] >> 32);
		b->ar_next++;
		b->arvalid = false;
	}
	if (r_hs) {
		if (b->rexp_head == b->rexp_tail)
			return bfm_fail(b, "R response without a read");
		struct rd_exp *e = &b->rexp[b->rexp_head++ % QN];

		if (o.rresp != e->resp || o.rdata != e->data)
			return bfm_fail(b, "read of %#04x returned %#010x resp %u, want %#010x resp %u",
					e->addr, o.rdata, o.rresp, e->data, e->resp);
		b->last_rdata = o.rdata;
		b->last_rresp = o.rresp;
		b->reads_done++;
	}
	if (aw_hs) {
		b->wq[b->aw_next++ % QN].aw_done = b->cycle;
		b->awvalid = false;
	}
	if (w_hs) {
		b->wq[b->w_next++ % QN].w_done = b->cycle;
		b->wvalid = false;
	}
	if (b_hs) {
		b->last_bresp = o.bresp;
		b->writes_done++;
	}

	csr_sim_edge(b->sim, &a);

	/* A new write response: the oldest accepted write took effect at this edge. */
	bool clear = false;

	if (a.bvalid && (!o.bvalid || b_hs)) {
		if (b->wr_done == b->aw_next || b->wr_done == b->w_next)
			return bfm_fail(b, "write response before the write's address and data were accepted");
		wop = &b->wq[b->wr_done++ % QN];
		uint8_t want = model_write(&b->m, wop->addr, wop->data, wop->strb, &clear);

		if (a.bresp != want)
			return bfm_fail(b, "write of %#010x (strobes %#x) to %#04x answered resp %u, want %u",
					wop->data, wop->strb, wop->addr, a.bresp, want);
		if (wop->aw_done < wop->w_done)
			b->aw_first++;
		else if (wop->aw_done > wop->w_done)
			b->w_first++;
		else
			b->together++;
	}
	if (a.rvalid && (!o.rvalid || r_hs)) {
		if (b->r_shown == b->rexp_tail)
			return bfm_fail(b, "R response before its read address was accepted");
		b->r_shown++;
	}

	/* The counters: a clear, the latch of a LO read, then this clock's events. */
	if (clear) {
		memset(b->m.cnt, 0, sizeof(b->m.cnt));
		memset(b->m.latch, 0, sizeof(b->m.latch));
	}
	if (lo_of >= 0)
		b->m.latch[lo_of] = lo_hi;
	for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++)
		b->m.cnt[i] += in.cnt_inc >> i & 1;

	if (a.ctrl_merge_enable != b->m.merge_enable)
		return bfm_fail(b, "ctrl_merge_enable is %d, want %d", a.ctrl_merge_enable, b->m.merge_enable);
	for (unsigned j = 0; j < 16; j++) {
		if (a.node_key[j] != b->m.node_key[j])
			return bfm_fail(b, "node_key byte %u is %#04x, want %#04x", j, a.node_key[j],
					b->m.node_key[j]);
	}

	b->b_hold = o.bvalid && !in.bready;
	b->b_hold_resp = o.bresp;
	b->r_hold = o.rvalid && !in.rready;
	b->r_hold_resp = o.rresp;
	b->r_hold_data = o.rdata;

	if (aw_hs || w_hs || ar_hs || b_hs || r_hs || (bfm_writes_queued(b) == 0 && bfm_reads_queued(b) == 0))
		b->last_progress = b->cycle;
	else if (b->cycle - b->last_progress > STALL_LIMIT)
		return bfm_fail(b, "no handshake for %d clocks with %u writes and %u reads queued",
				STALL_LIMIT, bfm_writes_queued(b), bfm_reads_queued(b));
	b->cycle++;
	return true;
}

/* Run until every queued request has its response. */
static void
bfm_drain(struct bfm *b)
{
	while (bfm_writes_queued(b) != 0 || bfm_reads_queued(b) != 0 || b->writes_done != b->wr_done)
		if (!bfm_step(b))
			fail_msg("%s", b->msg);
}

static void
bfm_run(struct bfm *b, unsigned long clocks)
{
	for (unsigned long i = 0; i < clocks; i++)
		if (!bfm_step(b))
			fail_msg("%s", b->msg);
}

/* Blocking accesses for the directed tests (every response is also checked by the model). */
static uint32_t
rd(struct bfm *b, uint32_t addr, uint8_t *resp)
{
	bfm_read(b, addr, 0);
	bfm_drain(b);
	if (resp != NULL)
		*resp = b->last_rresp;
	return b->last_rdata;
}

static uint64_t
rd64(struct bfm *b, unsigned counter)
{
	uint32_t lo = rd(b, TALLY_CSR_CNT_LO(counter), NULL);

	return (uint64_t)rd(b, TALLY_CSR_CNT_HI(counter), NULL) << 32 | lo;
}

static uint8_t
wr(struct bfm *b, uint32_t addr, uint32_t data, uint8_t strb)
{
	bfm_write(b, addr, data, strb, 0, 0);
	bfm_drain(b);
	return b->last_bresp;
}

static void
bfm_free(struct bfm *b)
{
	csr_sim_free(b->sim);
	b->sim = NULL;
}

/* ---- directed tests ------------------------------------------------------ */

static void
test_identity_and_reset(void **state)
{
	struct bfm b;
	uint8_t resp;

	(void)state;
	bfm_init(&b, CSR_SIM_PLAIN, 1);
	b.inc_off = true;
	bfm_gates(&b, ALWAYS, ALWAYS);

	assert_int_equal(rd(&b, TALLY_CSR_ID, &resp), 0x54414c59u);
	assert_int_equal(resp, OKAY);
	assert_int_equal(rd(&b, TALLY_CSR_BUILD_ID, NULL), CSR_TEST_BUILD_ID);
	assert_int_equal(rd(&b, TALLY_CSR_TABLE_DEPTH, NULL), CSR_TEST_TABLE_DEPTH);
	assert_int_equal(rd(&b, TALLY_CSR_NODES, NULL), CSR_TEST_NODES);
	assert_int_equal(rd(&b, TALLY_CSR_MAC_ENGINES, NULL), CSR_TEST_MAC_ENGINES);
	assert_int_equal(rd(&b, TALLY_CSR_CONTROL, NULL), TALLY_CSR_CONTROL_MERGE_ENABLE);
	for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++)
		assert_int_equal(rd64(&b, i), 0);
	/* STATUS follows status_idle (the model drives it at random and checks every read). */
	for (unsigned i = 0; i < 32; i++)
		assert_int_equal(rd(&b, TALLY_CSR_STATUS, &resp) & ~TALLY_CSR_STATUS_IDLE, 0);
	bfm_free(&b);
}

static void
test_control(void **state)
{
	struct bfm b;

	(void)state;
	bfm_init(&b, CSR_SIM_PLAIN, 2);
	bfm_gates(&b, ALWAYS, ALWAYS);

	assert_int_equal(wr(&b, TALLY_CSR_CONTROL, 0, 0xf), OKAY);
	assert_int_equal(rd(&b, TALLY_CSR_CONTROL, NULL), 0);
	/* Strobes: the field is in byte 0; writes without it change nothing. */
	assert_int_equal(wr(&b, TALLY_CSR_CONTROL, 0xffffffffu, 0xe), OKAY);
	assert_int_equal(rd(&b, TALLY_CSR_CONTROL, NULL), 0);
	assert_int_equal(wr(&b, TALLY_CSR_CONTROL, 0xffffffffu, 0x1), OKAY);
	/* STATS_CLEAR and the undefined bits read 0. */
	assert_int_equal(rd(&b, TALLY_CSR_CONTROL, NULL), TALLY_CSR_CONTROL_MERGE_ENABLE);
	assert_int_equal(wr(&b, TALLY_CSR_CONTROL | 3, 0, 0xf), OKAY); /* low address bits ignored */
	assert_int_equal(rd(&b, TALLY_CSR_CONTROL | 2, NULL), 0);
	bfm_free(&b);
}

static void
test_stats_clear(void **state)
{
	struct bfm b;

	(void)state;
	bfm_init(&b, CSR_SIM_PLAIN, 3);
	bfm_gates(&b, ALWAYS, ALWAYS);

	b.inc_all = true;
	bfm_run(&b, 1000);
	for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++)
		assert_true(rd64(&b, i) >= 1000);
	(void)rd(&b, TALLY_CSR_CNT_LO(0), NULL); /* leaves a latch behind */

	/* Quiet: every counter and latch reads 0 after the clear. */
	b.inc_all = false;
	b.inc_off = true;
	bfm_run(&b, 4);
	assert_int_equal(wr(&b, TALLY_CSR_CONTROL,
			    TALLY_CSR_CONTROL_STATS_CLEAR | TALLY_CSR_CONTROL_MERGE_ENABLE, 0xf), OKAY);
	assert_int_equal(rd(&b, TALLY_CSR_CNT_HI(0), NULL), 0);
	for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++)
		assert_int_equal(rd64(&b, i), 0);
	assert_int_equal(rd(&b, TALLY_CSR_CONTROL, NULL), TALLY_CSR_CONTROL_MERGE_ENABLE);

	/* While counting: the model checks the clock of the clear exactly. */
	b.inc_off = false;
	b.inc_all = true;
	bfm_run(&b, 100);
	assert_int_equal(wr(&b, TALLY_CSR_CONTROL, TALLY_CSR_CONTROL_STATS_CLEAR, 0xf), OKAY);
	for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++)
		assert_true(rd64(&b, i) < 100);
	bfm_free(&b);
}

static void
test_keys(void **state)
{
	struct bfm b;
	uint32_t node[4];
	uint8_t resp;

	(void)state;
	bfm_init(&b, CSR_SIM_PLAIN, 4);
	bfm_gates(&b, ALWAYS, ALWAYS);

	for (unsigned i = 0; i < 4; i++) {
		node[i] = (uint32_t)prng_next(&b.g);
		assert_int_equal(wr(&b, TALLY_CSR_NODE_KEY(i), node[i], 0xf), OKAY);
		/* Where a client key was (0x30..0x3c): nothing now; every frame
		 * on the cluster link is checked with NODE_KEY. */
		assert_int_equal(wr(&b, 0x30 + 4 * i, (uint32_t)prng_next(&b.g), 0xf), SLVERR);
	}
	/* Byte 4i+j of a key is byte j (little-endian) of word i: the model holds it that way. */
	for (unsigned j = 0; j < 16; j++) {
		assert_int_equal(b.m.node_key[j], (uint8_t)(node[j / 4] >> (8 * (j % 4))));
	}
	/* Never readable. */
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(rd(&b, TALLY_CSR_NODE_KEY(i), &resp), 0);
		assert_int_equal(resp, OKAY);
		(void)rd(&b, 0x30 + 4 * i, &resp);
		assert_int_equal(resp, SLVERR);
	}
	/* One byte at a time. */
	assert_int_equal(wr(&b, TALLY_CSR_NODE_KEY(2), 0xa5a5a5a5u, 0x4), OKAY);
	assert_int_equal(b.m.node_key[10], 0xa5);
	assert_int_equal(b.m.node_key[9], (uint8_t)(node[2] >> 8));
	bfm_free(&b);
}

static void
test_errors(void **state)
{
	static const uint32_t ro[] = {
		TALLY_CSR_ID, TALLY_CSR_BUILD_ID, TALLY_CSR_STATUS, TALLY_CSR_TABLE_DEPTH,
		TALLY_CSR_NODES, TALLY_CSR_MAC_ENGINES, TALLY_CSR_FRAMES_LO, TALLY_CSR_FRAMES_HI,
		TALLY_CSR_DROP_BAD_RECORD_LO, TALLY_CSR_DROP_BAD_RECORD_HI,
	};
	static const uint32_t unmapped[] = { 0x1c, TALLY_CSR_CNT_LO(TALLY_CSR_CNT_COUNT), 0xfc };
	struct bfm b;
	uint8_t resp;

	(void)state;
	bfm_init(&b, CSR_SIM_PLAIN, 5);
	bfm_gates(&b, ALWAYS, ALWAYS);
	b.inc_off = true;

	for (size_t i = 0; i < sizeof(unmapped) / sizeof(unmapped[0]); i++) {
		assert_int_equal(rd(&b, unmapped[i], &resp), 0);
		assert_int_equal(resp, SLVERR);
		assert_int_equal(wr(&b, unmapped[i], 0, 0xf), SLVERR);
	}
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		assert_int_equal(wr(&b, ro[i], 0x12345678u, 0xf), SLVERR);
	/* ...and changed nothing. */
	assert_int_equal(rd(&b, TALLY_CSR_ID, NULL), TALLY_CSR_ID_VALUE);
	assert_int_equal(rd(&b, TALLY_CSR_CONTROL, NULL), TALLY_CSR_CONTROL_MERGE_ENABLE);
	assert_int_equal(rd64(&b, TALLY_CSR_CNT_FRAMES), 0);
	bfm_free(&b);
}

static void
test_write_orderings(void **state)
{
	struct bfm b;

	(void)state;
	bfm_init(&b, CSR_SIM_PLAIN, 6);
	bfm_gates(&b, ALWAYS, ALWAYS);

	for (unsigned d = 0; d < 8; d++) {
		bfm_write(&b, TALLY_CSR_NODE_KEY(d % 4), (uint32_t)prng_next(&b.g), 0xf, 0, d);
		bfm_drain(&b);
		bfm_write(&b, TALLY_CSR_NODE_KEY((d + 1) % 4), (uint32_t)prng_next(&b.g), 0xf, d, 0);
		bfm_drain(&b);
		bfm_write(&b, TALLY_CSR_CONTROL, d & 1, 0xf, d, d);
		bfm_drain(&b);
		/* Back to back, both directions at once: the second AW waits for the first write. */
		bfm_write(&b, TALLY_CSR_NODE_KEY(0), d, 0xf, 0, d);
		bfm_write(&b, TALLY_CSR_NODE_KEY(1), d, 0xf, d, 0);
		bfm_drain(&b);
	}
	assert_true(b.aw_first >= 7);
	assert_true(b.w_first >= 7);
	assert_true(b.together >= 8);
	bfm_free(&b);
}

/* LO then HI while every counter counts every clock, across the carry or the wrap. */
static void
check_atomic(enum csr_sim_variant v)
{
	struct bfm b;
	uint64_t prev[TALLY_CSR_CNT_COUNT];
	unsigned carries = 0;

	bfm_init(&b, v, 7);
	bfm_gates(&b, ALWAYS, ALWAYS);
	b.inc_all = true;
	for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++)
		prev[i] = cnt_reset[v];
	/* The first read could be accepted in the clock after reset, before any count. */
	bfm_run(&b, 4);
	for (unsigned round = 0; round < 12; round++) {
		for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++) {
			uint64_t x = rd64(&b, i); /* the model has checked it is exact */

			if (x >> 32 != prev[i] >> 32)
				carries++;
			if (v == CSR_SIM_PLAIN && x <= prev[i])
				fail_msg("round %u counter %u: %#llx after %#llx", round, i, (unsigned long long)x, (unsigned long long)prev[i]);
			prev[i] = x;
		}
	}
	if (v == CSR_SIM_CARRY) {
		assert_int_equal(carries, TALLY_CSR_CNT_COUNT);
		for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++)
			assert_true(prev[i] > (UINT64_C(2) << 32));
	} else if (v == CSR_SIM_WRAP) {
		assert_int_equal(carries, TALLY_CSR_CNT_COUNT);
		for (unsigned i = 0; i < TALLY_CSR_CNT_COUNT; i++)
			assert_true(prev[i] < 0x1000);
	}
	bfm_free(&b);
}

static void
test_atomic_plain(void **state)
{
	(void)state;
	check_atomic(CSR_SIM_PLAIN);
}

static void
test_atomic_carry(void **state)
{
	(void)state;
	check_atomic(CSR_SIM_CARRY);
}

static void
test_atomic_wrap(void **state)
{
	(void)state;
	check_atomic(CSR_SIM_WRAP);
}

/* ---- the random test ----------------------------------------------------- */

static uint32_t
random_addr(struct prng *g, bool for_write)
{
	uint32_t a;

	switch (prng_below(g, for_write ? 5 : 6)) {
	case 0:
		a = TALLY_CSR_CONTROL;
		break;
	case 1:
		a = TALLY_CSR_NODE_KEY(prng_below(g, 4));
		break;
	case 2: /* read-only registers, counters included */
		a = (uint32_t)prng_below(g, TALLY_CSR_CNT_LO(TALLY_CSR_CNT_COUNT) / 4) * 4;
		break;
	case 3: /* unmapped */
		a = prng_below(g, 2) ? 0x1c : TALLY_CSR_CNT_LO(TALLY_CSR_CNT_COUNT) +
			(uint32_t)prng_below(g, (TALLY_CSR_SIZE - TALLY_CSR_CNT_LO(TALLY_CSR_CNT_COUNT)) / 4) * 4;
		break;
	default:
		a = TALLY_CSR_CNT_LO(prng_below(g, TALLY_CSR_CNT_COUNT)) + 4 * (uint32_t)prng_below(g, 2);
		break;
	}
	if (prng_below(g, 4) == 0)
		a |= (uint32_t)prng_below(g, 4);
	return a;
}

static void
random_ops(struct bfm *b, bool clears)
{
	struct prng *g = &b->g;

	if (prng_below(g, 2))
		return;
	if (prng_below(g, 2) && bfm_reads_queued(b) + 2 <= MAX_READS) {
		if (prng_below(g, 3) == 0) { /* a driver's 64-bit read */
			unsigned i = (unsigned)prng_below(g, TALLY_CSR_CNT_COUNT);

			bfm_read(b, TALLY_CSR_CNT_LO(i), 0);
			bfm_read(b, TALLY_CSR_CNT_HI(i), (unsigned)prng_below(g, 4));
		} else {
			bfm_read(b, random_addr(g, false), 0);
		}
	} else if (bfm_writes_queued(b) < MAX_WRITES) {
		uint32_t a = random_addr(g, true), d = (uint32_t)prng_next(g);
		uint8_t strb = prng_below(g, 4) ? 0xf : (uint8_t)prng_below(g, 16);
		unsigned aw = 0, w = 0;

		if ((a & ~3u) == TALLY_CSR_CONTROL && !(clears && prng_below(g, 16) == 0))
			d &= ~TALLY_CSR_CONTROL_STATS_CLEAR;
		if (prng_below(g, 4) == 0)
			*(prng_below(g, 2) ? &aw : &w) = (unsigned)prng_below(g, 8);
		bfm_write(b, a, d, strb, aw, w);
	}
}

static void
check_random(enum csr_sim_variant v, unsigned long clocks)
{
	unsigned long aw_first = 0, w_first = 0, together = 0, writes = 0, reads = 0;

	for (unsigned pv = 0; pv < PATTERNS; pv++) {
		for (unsigned pr = 0; pr < PATTERNS; pr++) {
			struct bfm b;

			bfm_init(&b, v, 100 + pv * PATTERNS + pr);
			bfm_gates(&b, (enum pattern)pv, (enum pattern)pr);
			for (unsigned long i = 0; i < clocks; i++) {
				random_ops(&b, v == CSR_SIM_PLAIN);
				if (!bfm_step(&b))
					fail_msg("%s", b.msg);
			}
			bfm_drain(&b);
			aw_first += b.aw_first;
			w_first += b.w_first;
			together += b.together;
			writes += b.writes_done;
			reads += b.reads_done;
			bfm_free(&b);
		}
	}
	print_message("%s: %lu writes (AW first %lu, W first %lu, together %lu), %lu reads\n",
		      csr_sim_variant_name(v), writes, aw_first, w_first, together, reads);
	assert_true(aw_first > 0 && w_first > 0 && together > 0);
	assert_true(reads > clocks / 4);
}

static void
test_random_plain(void **state)
{
	(void)state;
	check_random(CSR_SIM_PLAIN, opt.cycles);
}

static void
test_random_carry(void **state)
{
	(void)state;
	check_random(CSR_SIM_CARRY, opt.cycles / 5);
}

static void
test_random_wrap(void **state)
{
	(void)state;
	check_random(CSR_SIM_WRAP, opt.cycles / 5);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cycles", required_argument, NULL, 'c' },
		{ "fst", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_and_reset),
		cmocka_unit_test(test_control),
		cmocka_unit_test(test_stats_clear),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_write_orderings),
		cmocka_unit_test(test_atomic_plain),
		cmocka_unit_test(test_atomic_carry),
		cmocka_unit_test(test_atomic_wrap),
		cmocka_unit_test(test_random_plain),
		cmocka_unit_test(test_random_carry),
		cmocka_unit_test(test_random_wrap),
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt.cycles = strtoul(optarg, NULL, 0);
			if (opt.cycles < 100) {
				fprintf(stderr, "test_nic_csr: --cycles must be at least 100\n");
				return 2;
			}
			break;
		case 'f':
			opt.fst = optarg;
			break;
		default:
			fprintf(stderr, "usage: test_nic_csr [--cycles N] [--fst PREFIX]\n");
			return 2;
		}
	}
	(void)prop_seed();
	return cmocka_run_group_tests_name("nic_csr", tests, NULL, NULL);
}
