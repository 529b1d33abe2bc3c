/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * rtl/nic_table.sv, the NIC's counter table, against a C model of the cpu
 * backend's table (dataplane/offload_cpu.c), in lockstep through the
 * Verilator harness (nic_table_sim.h).
 *
 * The model applies each request when the table accepts it and queues the
 * response it expects; every response the table emits must equal the head of
 * that queue, tag included, so nothing is dropped, duplicated, reordered or
 * mis-merged. The table is built with DEPTH 16 so rows collide all the time.
 *
 * Tests: latency and throughput counted in clocks; back-to-back merges on
 * one index (the running maximum); every sequence of three ops on one index
 * at every spacing (each forwarding path); reset; and random ops biased to a
 * few indices, out-of-range indices and wrong keys, crossed with input
 * bubbles x output back-pressure {always, random, bursty}. A watchdog fails
 * when a response or an acceptance is overdue.
 *
 * The first mismatch stops the test and prints the seed, the op number, the
 * request and both responses.
 *
 *   test_nic_table [--ops N] [--fst FILE]
 */

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmocka_prelude.h"
#include "nic_table_sim.h"
#include "gate.h"
#include "prop.h"
#include "vclock.h"

#define DEPTH NTSIM_DEPTH /* the RTL's DEPTH: meson passes both */
#define LATENCY 3         /* clocks from acceptance to m_valid */
#define FIFO_DEPTH 4      /* ops the table holds without m_ready */
#define QCAP 64           /* responses expected and not yet seen */
#define NKEYS 4

static struct {
	unsigned long ops;
	const char *fst;
} opt = { 108000, NULL };

static ntsim_t *sim;

/* ------------------------------------------------------------ the model */

struct row {
	bool valid;
	uint8_t key[16];
	tally_vec_t p, n;
};

static struct row model[DEPTH];

struct expect {
	unsigned long opno;
	struct ntsim_req req;
	struct ntsim_resp resp;
};

static struct {
	struct expect q[QCAP];
	unsigned head, len;
	unsigned long opno; /* ops accepted since the start: the next op's number */
} expq;

/* What is running, for failure messages. */
static char phase[128] = "start";

/* What the cpu backend does with @p q; the response the table must give. */
static void
model_apply(const struct ntsim_req *q, struct ntsim_resp *r)
{
	bool in = q->index < DEPTH;
	struct row *w = in ? &model[q->index] : NULL;
	bool match = in && w->valid && memcmp(w->key, q->key, 16) == 0;
	bool row_op = false;

	memset(r, 0, sizeof(*r));
	r->op = q->op;
	r->index = q->index;
	r->tag = q->tag;
	switch (q->op) {
	case NTSIM_SET: /* cpu_row_set(index, key) */
		if (in) {
			memset(w, 0, sizeof(*w));
			w->valid = true;
			memcpy(w->key, q->key, 16);
		}
		r->hit = in;
		break;
	case NTSIM_CLEAR: /* cpu_row_set(index, NULL) */
		if (in)
			memset(w, 0, sizeof(*w));
		r->hit = in;
		break;
	case NTSIM_MERGE: /* cpu_merge_state; a slot record is a sparse state */
		if (match) {
			for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
				w->p.slot[i] = w->p.slot[i] > q->p[i] ? w->p.slot[i] : q->p[i];
				w->n.slot[i] = w->n.slot[i] > q->n[i] ? w->n.slot[i] : q->n[i];
			}
		}
		/* fall through */
	case NTSIM_READ:
	case NTSIM_COMPARE:
		r->hit = match;
		row_op = true;
		break;
	default: /* NOP, and 6 and 7 as NOP */
		break;
	}
	/* The row after the op: all zero when invalid or out of range. */
	tally_vec_t p, n, sp, sn;
	tally_vec_zero(&p);
	tally_vec_zero(&n);
	if (row_op && in && w->valid) {
		p = w->p;
		n = w->n;
	}
	memcpy(r->p, p.slot, sizeof(r->p));
	memcpy(r->n, n.slot, sizeof(r->n));
	if (q->op == NTSIM_COMPARE) { /* cpu_compare */
		memcpy(sp.slot, q->p, sizeof(sp.slot));
		memcpy(sn.slot, q->n, sizeof(sn.slot));
		r->order_p = (uint8_t)tally_vv_compare(&p, &sp);
		r->order_n = (uint8_t)tally_vv_compare(&n, &sn);
	}
}

static void
model_reset(void)
{
	memset(model, 0, sizeof(model));
}

/* ------------------------------------------------------------ reports */

static const char *
op_name(unsigned op)
{
	static const char *const names[] = { "NOP", "SET", "CLEAR", "MERGE", "READ", "COMPARE",
					     "op6", "op7" };
	return names[op & 7];
}

static int
fmt_slots(char *buf, size_t len, const uint64_t *s)
{
	tally_vec_t v;

	memcpy(v.slot, s, sizeof(v.slot));
	return prop_fmt_vec(buf, len, &v);
}

static void
fmt_req(char *buf, size_t len, const struct ntsim_req *q)
{
	char p[1024], n[1024];

	fmt_slots(p, sizeof(p), q->p);
	fmt_slots(n, sizeof(n), q->n);
	snprintf(buf, len, "%s index %" PRIu32 " tag %u key %02x%02x..%02x p %s n %s", op_name(q->op),
		 q->index, q->tag, q->key[0], q->key[1], q->key[15], p, n);
}

static void
fmt_resp(char *buf, size_t len, const struct ntsim_resp *r)
{
	char p[1024], n[1024];

	fmt_slots(p, sizeof(p), r->p);
	fmt_slots(n, sizeof(n), r->n);
	snprintf(buf, len, "%s index %" PRIu32 " tag %u hit %d order_p %s order_n %s p %s n %s",
		 op_name(r->op), r->index, r->tag, r->hit,
		 tally_vv_order_name((tally_vv_order_t)r->order_p),
		 tally_vv_order_name((tally_vv_order_t)r->order_n), p, n);
}

static bool
resp_equal(const struct ntsim_resp *a, const struct ntsim_resp *b)
{
	return a->op == b->op && a->index == b->index && a->hit == b->hit &&
	       a->order_p == b->order_p && a->order_n == b->order_n && a->tag == b->tag &&
	       memcmp(a->p, b->p, sizeof(a->p)) == 0 && memcmp(a->n, b->n, sizeof(a->n)) == 0;
}

/* ------------------------------------------------------------ lockstep */

/* The table took @p q this clock: apply it to the model, expect its response. */
static void
accepted(const struct ntsim_req *q)
{
	struct expect *e;

	assert_true(expq.len < QCAP);
	e = &expq.q[(expq.head + expq.len++) % QCAP];
	e->opno = expq.opno++;
	e->req = *q;
	model_apply(q, &e->resp);
}

/* The table emitted @p got: it must be the oldest response expected. */
static void
emitted(const struct ntsim_resp *got)
{
	char sq[4096], sw[4096], sg[4096];

	if (expq.len == 0) {
		fmt_resp(sg, sizeof(sg), got);
		fail_msg("nic_table: %s: a response came with none expected (clock %" PRIu64
			 ", seed %" PRIu64 ")\n  RTL     %s",
			 phase, ntsim_cycles(sim), prop_seed(), sg);
	}
	const struct expect *e = &expq.q[expq.head];
	if (!resp_equal(&e->resp, got)) {
		fmt_req(sq, sizeof(sq), &e->req);
		fmt_resp(sw, sizeof(sw), &e->resp);
		fmt_resp(sg, sizeof(sg), got);
		fail_msg("nic_table: %s: response differs from the model at op %lu (clock %" PRIu64
			 ", seed %" PRIu64 ")\n  request %s\n  model   %s\n  RTL     %s\n"
			 "  reproduce: TALLY_TEST_SEED=%" PRIu64 " test_nic_table --fst wave.fst",
			 phase, e->opno, ntsim_cycles(sim), prop_seed(), sq, sw, sg, prop_seed());
	}
	expq.head = (expq.head + 1) % QCAP;
	expq.len--;
}


/* Watchdog state: clocks of m_ready with a response due and none coming,
 * and clocks of an offer with m_ready and no acceptance. */
static unsigned wd_out, wd_in;

/*
 * One clock: offer @p q (NULL: a bubble), m_ready = @p ready, and check.
 * @return the ntsim_step() bits.
 */
static int
clock_once(const struct ntsim_req *q, bool ready)
{
	struct ntsim_resp got;
	bool due = expq.len > 0;
	int ev = ntsim_step(sim, q, ready, &got);

	if (ev & NTSIM_ACCEPTED)
		accepted(q);
	if (ev & NTSIM_EMITTED)
		emitted(&got);

	/* With m_ready high a response is never more than LATENCY - 1 clocks
	 * away, and an offer waits at most one clock (a full FIFO drains one). */
	wd_out = ready && due && !(ev & NTSIM_EMITTED) ? wd_out + 1 : 0;
	if (wd_out >= LATENCY)
		fail_msg("nic_table: %s: watchdog: no response for %u clocks of m_ready with op %lu"
			 " due (clock %" PRIu64 ", seed %" PRIu64 ")",
			 phase, wd_out, expq.q[expq.head].opno, ntsim_cycles(sim), prop_seed());
	wd_in = ready && q != NULL && !(ev & NTSIM_ACCEPTED) ? wd_in + 1 : 0;
	if (wd_in > 1)
		fail_msg("nic_table: %s: watchdog: an offer not accepted for %u clocks of m_ready"
			 " (clock %" PRIu64 ", seed %" PRIu64 ")",
			 phase, wd_in, ntsim_cycles(sim), prop_seed());
	return ev;
}

/* Take every response still due, then check that nothing more comes. */
static void
drain(void)
{
	for (int i = 0; expq.len > 0; i++) {
		assert_true(i < 100);
		clock_once(NULL, true);
	}
	for (int i = 0; i < LATENCY + 2; i++)
		assert_int_equal(clock_once(NULL, true), 0);
}

/* Reset the table and the model; responses still due (after an earlier
 * test failed) are forgotten, so each test starts clean. */
static void
reset_all(void)
{
	ntsim_reset(sim);
	model_reset();
	expq.head = expq.len = 0;
	wd_in = wd_out = 0;
}

/* A source of requests; next() may look at the model (it runs after the
 * previous request was applied). */
struct source {
	void (*next)(struct source *s, struct ntsim_req *q);
	struct prng g;
};

/* Stream @p n requests from @p src with the given offer and ready patterns. */
static void
run(struct source *src, unsigned long n, enum pattern offer_p, enum pattern ready_p,
    uint64_t salt)
{
	struct gate offer = { .p = offer_p }, ready = { .p = ready_p };
	struct ntsim_req q;
	bool have = false;
	unsigned long sent = 0;
	struct prng g;

	prop_init(&g, salt);
	snprintf(phase, sizeof(phase), "random ops, offer %s, ready %s", pattern_name[offer_p],
		 pattern_name[ready_p]);
	while (sent < n) {
		if (!have) {
			src->next(src, &q);
			q.tag = (uint16_t)expq.opno;
			have = true;
		}
		bool o = gate_next(&offer, &g), r = gate_next(&ready, &g);
		if (clock_once(o ? &q : NULL, r) & NTSIM_ACCEPTED) {
			have = false;
			sent++;
		}
	}
	drain();
}

/* ------------------------------------------------------------ generators */

static const uint8_t keys[NKEYS][16] = {
	{ 0 }, /* the key of a cleared row: must still miss */
	{ 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 1, 2, 3, 4, 5, 6, 7, 8 },
	{ 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 1, 2, 3, 4, 5, 6, 7, 9 }, /* one bit off */
	{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
};

/* A slot near @p base: mostly small steps, some near 2^64. */
static uint64_t
gen_slot(struct prng *g, uint64_t base)
{
	switch (prng_below(g, 10)) {
	case 0:
	case 1:
		return base;
	case 2:
	case 3:
		return base + (base != UINT64_MAX);
	case 4:
		return base - (base != 0);
	case 5:
	case 6:
		return prng_below(g, 8);
	case 7:
		return UINT64_MAX - prng_below(g, 3);
	default:
		return prop_slot(g);
	}
}

/* A vector near @p base (equal, one slot moved, every slot moved, or any). */
static void
gen_vec(struct prng *g, const tally_vec_t *base, uint64_t *out)
{
	unsigned k = (unsigned)prng_below(g, TALLY_MAX_NODES);

	memcpy(out, base->slot, sizeof(base->slot));
	switch (prng_below(g, 8)) {
	case 0: /* equal */
		break;
	case 1:
		out[k] = gen_slot(g, base->slot[k]);
		break;
	case 2: /* above */
		out[k] += out[k] != UINT64_MAX;
		break;
	case 3: /* below */
		out[k] -= out[k] != 0;
		break;
	case 4: /* below or equal everywhere */
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
			out[i] -= out[i] != 0 && prng_below(g, 2) ? 1 + prng_below(g, out[i]) : 0;
		break;
	default:
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
			out[i] = gen_slot(g, base->slot[i]);
	}
}

struct random_source {
	struct source s;
	uint32_t hot[3];
	unsigned long merges, merge_hits, row_hits, orders[4], out_of_range, forwarded[4];
	uint32_t last[3]; /* indices of the last three requests */
};

static uint32_t
gen_index(struct random_source *rs)
{
	struct prng *g = &rs->s.g;
	uint64_t x = prng_below(g, 100);

	if (x < 60)
		return rs->hot[prng_below(g, 3)];
	if (x < 85)
		return (uint32_t)prng_below(g, DEPTH);
	switch (prng_below(g, 4)) { /* out of range; some alias a hot row's low bits */
	case 0:
		return rs->hot[prng_below(g, 3)] + DEPTH * (uint32_t)(1 + prng_below(g, 3));
	case 1:
		return rs->hot[prng_below(g, 3)] | 0x80000000u;
	case 2:
		return UINT32_MAX - (uint32_t)prng_below(g, 2);
	default:
		return DEPTH + (uint32_t)prng_below(g, UINT32_MAX - DEPTH);
	}
}

static void
random_next(struct source *s, struct ntsim_req *q)
{
	struct random_source *rs = (struct random_source *)s;
	struct prng *g = &s->g;
	static const uint8_t op_weights[8] = { 8, 12, 6, 40, 14, 14, 3, 3 };
	uint64_t x = prng_below(g, 100);
	unsigned op = 0;

	while (x >= op_weights[op])
		x -= op_weights[op++];
	memset(q, 0, sizeof(*q));
	q->op = (uint8_t)op;
	q->index = gen_index(rs);

	const struct row *w = q->index < DEPTH ? &model[q->index] : NULL;
	static const struct row zero;
	if (w == NULL)
		w = &zero;
	/* mostly the row's own key, so most row ops hit */
	if (w->valid && prng_below(g, 4) != 0)
		memcpy(q->key, w->key, 16);
	else
		memcpy(q->key, keys[prng_below(g, NKEYS)], 16);

	if (op == NTSIM_MERGE && prng_below(g, 2)) { /* a slot record: one slot of each */
		unsigned o = (unsigned)prng_below(g, TALLY_MAX_NODES);
		q->p[o] = gen_slot(g, w->p.slot[o]);
		q->n[o] = gen_slot(g, w->n.slot[o]);
	} else if (op != NTSIM_NOP || prng_below(g, 2)) { /* NOPs carry junk half the time */
		gen_vec(g, &w->p, q->p);
		gen_vec(g, &w->n, q->n);
	}

	/* statistics, so the test can insist the interesting cases happened */
	bool hit = q->index < DEPTH && w->valid && memcmp(w->key, q->key, 16) == 0;
	if (op == NTSIM_MERGE) {
		rs->merges++;
		rs->merge_hits += hit;
	}
	if (op >= NTSIM_MERGE && op <= NTSIM_COMPARE)
		rs->row_hits += hit;
	if (op == NTSIM_COMPARE) {
		tally_vec_t sp;
		memcpy(sp.slot, q->p, sizeof(sp.slot));
		rs->orders[tally_vv_compare(&w->p, &sp)]++;
	}
	rs->out_of_range += q->index >= DEPTH;
	unsigned d = 0;
	while (d < 3 && rs->last[d] != q->index)
		d++;
	rs->forwarded[d]++;
	rs->last[2] = rs->last[1];
	rs->last[1] = rs->last[0];
	rs->last[0] = q->index;
}

static void
random_init(struct random_source *rs, uint64_t salt)
{
	memset(rs, 0, sizeof(*rs));
	rs->s.next = random_next;
	prop_init(&rs->s.g, salt);
	for (int i = 0; i < 3; i++)
		rs->hot[i] = (uint32_t)prng_below(&rs->s.g, DEPTH);
	rs->last[0] = rs->last[1] = rs->last[2] = UINT32_MAX - 7;
}

/* ------------------------------------------------------------ tests */

static void
make_req(struct ntsim_req *q, unsigned op, uint32_t index, const uint8_t *key)
{
	memset(q, 0, sizeof(*q));
	q->op = (uint8_t)op;
	q->index = index;
	memcpy(q->key, key, 16);
	q->tag = (uint16_t)expq.opno;
}

/* Latency LATENCY, one op per clock, FIFO_DEPTH ops held under back-pressure. */
static void
test_latency_and_throughput(void **state)
{
	const unsigned long n = 1000;
	struct random_source rs;
	struct ntsim_req q;

	(void)state;
	snprintf(phase, sizeof(phase), "latency and throughput");
	reset_all();

	/* One op: accepted on one clock, on m_* LATENCY clocks later. */
	make_req(&q, NTSIM_SET, 3, keys[1]);
	assert_int_equal(clock_once(&q, true), NTSIM_ACCEPTED);
	for (int i = 1; i < LATENCY; i++)
		assert_int_equal(clock_once(NULL, true), 0);
	assert_int_equal(clock_once(NULL, true), NTSIM_EMITTED);

	/* n ops back to back on few rows: n + LATENCY clocks in all. */
	random_init(&rs, 1001);
	uint64_t start = ntsim_cycles(sim);
	unsigned long out = 0;
	for (unsigned long i = 0; i < n + LATENCY; i++) {
		int ev;
		if (i < n) {
			rs.s.next(&rs.s, &q);
			q.tag = (uint16_t)expq.opno;
		}
		ev = clock_once(i < n ? &q : NULL, true);
		if (i < n && !(ev & NTSIM_ACCEPTED))
			fail_msg("nic_table: op %lu of a back-to-back stream not accepted (clock %" PRIu64
				 ")", i, ntsim_cycles(sim));
		if ((i >= LATENCY) != !!(ev & NTSIM_EMITTED))
			fail_msg("nic_table: clock %lu of a back-to-back stream: emitted %d, want %d",
				 i, !!(ev & NTSIM_EMITTED), i >= LATENCY);
		out += !!(ev & NTSIM_EMITTED);
	}
	assert_int_equal(ntsim_cycles(sim) - start, n + LATENCY);
	assert_int_equal(out, n);
	assert_int_equal(expq.len, 0);

	/* Held back-pressure: FIFO_DEPTH ops accepted, then s_ready low and
	 * nothing out; then each leaves exactly once, in order, one per clock. */
	int took = 0;
	rs.s.next(&rs.s, &q);
	q.tag = (uint16_t)expq.opno;
	for (int i = 0; i < FIFO_DEPTH + 8; i++) {
		int ev = clock_once(&q, false);
		assert_int_equal(ev & NTSIM_EMITTED, 0);
		if (ev & NTSIM_ACCEPTED) {
			took++;
			rs.s.next(&rs.s, &q);
			q.tag = (uint16_t)expq.opno;
		}
	}
	assert_int_equal(took, FIFO_DEPTH);
	assert_false(ntsim_s_ready(sim));
	assert_int_equal(expq.len, FIFO_DEPTH);
	for (int i = 0; i < FIFO_DEPTH; i++)
		assert_int_equal(clock_once(NULL, true), NTSIM_EMITTED);
	drain();
}

/* The case that names the issue: merges on one index on consecutive clocks;
 * response k holds the maximum of merges 0..k, checked by the model and
 * again here against a running maximum kept apart from it. */
#define RUN_MERGES 512

static void
test_running_max(void **state)
{
	static tally_vec_t maxp[RUN_MERGES], maxn[RUN_MERGES];
	tally_vec_t curp, curn;
	struct ntsim_req q;
	struct ntsim_resp got;
	struct prng g;
	unsigned long out = 0;

	(void)state;
	snprintf(phase, sizeof(phase), "back-to-back merges on one index");
	reset_all();
	prop_init(&g, 2001);
	make_req(&q, NTSIM_SET, 5, keys[1]);
	assert_int_equal(clock_once(&q, true), NTSIM_ACCEPTED);
	tally_vec_zero(&curp);
	tally_vec_zero(&curn);

	/* Slot records (even merges) and whole states (odd); values climb with
	 * noise so most merges raise something and some lower nothing; the last
	 * ones are near 2^64. */
	for (unsigned i = 0; i < RUN_MERGES + LATENCY; i++) {
		const bool offer = i < RUN_MERGES;
		if (offer) {
			make_req(&q, NTSIM_MERGE, 5, keys[1]);
			unsigned o = (unsigned)prng_below(&g, TALLY_MAX_NODES);
			for (unsigned k = 0; k < TALLY_MAX_NODES; k++) {
				if (i % 2 == 0 && k != o)
					continue;
				q.p[k] = i * 3 + prng_below(&g, 16) + (i > 480 ? UINT64_MAX - 2000 : 0);
				q.n[k] = i + prng_below(&g, 16);
			}
			for (unsigned k = 0; k < TALLY_MAX_NODES; k++) {
				curp.slot[k] = curp.slot[k] > q.p[k] ? curp.slot[k] : q.p[k];
				curn.slot[k] = curn.slot[k] > q.n[k] ? curn.slot[k] : q.n[k];
			}
			maxp[i] = curp;
			maxn[i] = curn;
		}
		int ev = ntsim_step(sim, offer ? &q : NULL, true, &got);
		if (offer && !(ev & NTSIM_ACCEPTED))
			fail_msg("nic_table: merge %u on one index not accepted at full rate", i);
		if (ev & NTSIM_ACCEPTED)
			accepted(&q);
		if (ev & NTSIM_EMITTED) {
			unsigned long opno = expq.q[expq.head].opno;
			emitted(&got);
			if (out > 0 && (memcmp(got.p, maxp[out - 1].slot, sizeof(got.p)) != 0 ||
					memcmp(got.n, maxn[out - 1].slot, sizeof(got.n)) != 0))
				fail_msg("nic_table: back-to-back merge %lu (op %lu) does not hold the"
					 " running max (seed %" PRIu64 ")", out - 1, opno, prop_seed());
			out++;
		}
	}
	assert_int_equal(out, RUN_MERGES + 1); /* the SET and the merges */
	drain();
}

/* Every sequence of three ops on one index at every spacing, the gaps filled
 * with bubbles, with ops on another row, or with out-of-range ops whose low
 * bits alias the row: each forwarding path and each op after each other. */
enum kind { K_SET, K_CLEAR, K_MERGE, K_MERGE_WRONG, K_READ, K_COMPARE, KINDS };

static void
make_kind(struct ntsim_req *q, enum kind k, uint32_t index, struct prng *g)
{
	static const unsigned ops[KINDS] = { NTSIM_SET, NTSIM_CLEAR, NTSIM_MERGE, NTSIM_MERGE,
					      NTSIM_READ, NTSIM_COMPARE };
	const struct row *w = &model[index % DEPTH];

	make_req(q, ops[k], index, keys[k == K_MERGE_WRONG ? 2 : 1]);
	gen_vec(g, &w->p, q->p);
	gen_vec(g, &w->n, q->n);
	if (k == K_MERGE) { /* raise something: a merge that changes the row */
		unsigned o = (unsigned)prng_below(g, TALLY_MAX_NODES);
		q->p[o] = w->p.slot[o] + 1 + prng_below(g, 5);
		q->n[(o + 1) % TALLY_MAX_NODES] += 1 + prng_below(g, 5);
	}
}

static void
test_interleavings(void **state)
{
	const uint32_t idx = 7, other = 8;
	struct ntsim_req q;
	struct prng g;
	unsigned long seqs = 0;

	(void)state;
	snprintf(phase, sizeof(phase), "three-op sequences on one row");
	reset_all();
	prop_init(&g, 3001);
	for (int fill = 0; fill < 3; fill++) {
		for (int s = 0; s < KINDS * KINDS * KINDS; s++) {
			for (int gaps = 0; gaps < 16; gaps++) {
				enum kind seq[3] = { s % KINDS, s / KINDS % KINDS, s / (KINDS * KINDS) };
				int gap[2] = { gaps % 4, gaps / 4 };

				for (int j = 0; j < 3; j++) {
					make_kind(&q, seq[j], idx, &g);
					assert_true(clock_once(&q, true) & NTSIM_ACCEPTED);
					for (int b = 0; j < 2 && b < gap[j]; b++) {
						if (fill == 0) {
							clock_once(NULL, true);
							continue;
						}
						make_kind(&q, (enum kind)prng_below(&g, KINDS),
							  fill == 1 ? other : idx + DEPTH * (1 + b), &g);
						assert_true(clock_once(&q, true) & NTSIM_ACCEPTED);
					}
				}
				seqs++;
			}
		}
	}
	drain();
	print_message("nic_table: %lu three-op sequences on one row matched the model\n", seqs);
}

/* After rst every row reads invalid (hit 0, all zero) whatever memory holds. */
static void
test_reset(void **state)
{
	struct ntsim_req q;
	struct prng g;

	(void)state;
	snprintf(phase, sizeof(phase), "reset");
	reset_all();
	prop_init(&g, 4001);
	for (uint32_t i = 0; i < DEPTH; i++) { /* fill every row */
		make_kind(&q, K_SET, i, &g);
		clock_once(&q, true);
		make_kind(&q, K_MERGE, i, &g);
		clock_once(&q, true);
	}
	drain();
	reset_all();
	for (uint32_t i = 0; i < DEPTH + 2; i++) {
		make_kind(&q, K_READ, i, &g);
		clock_once(&q, true);
		make_kind(&q, K_MERGE, i, &g);
		clock_once(&q, true);
		make_kind(&q, K_COMPARE, i, &g);
		clock_once(&q, true);
	}
	drain();
}

static void
test_random(void **state)
{
	unsigned long per = (opt.ops + PATTERNS * PATTERNS - 1) / (PATTERNS * PATTERNS);
	struct random_source rs;
	uint64_t start = ntsim_cycles(sim);

	(void)state;
	reset_all();
	random_init(&rs, 5001);
	for (int o = 0; o < PATTERNS; o++)
		for (int r = 0; r < PATTERNS; r++)
			run(&rs.s, per, o, r, 5100 + o * PATTERNS + r);

	/* the generator must have made the cases that matter */
	unsigned long total = per * PATTERNS * PATTERNS;
	print_message("nic_table: %lu random ops (x %d offer/ready patterns) matched the model in %" PRIu64
		      " clocks: %lu merges (%lu hits), %lu row-op hits, %lu out of range;"
		      " same index as 1/2/3 ops before: %lu/%lu/%lu;"
		      " compare orders EQUAL/BEFORE/AFTER/CONCURRENT %lu/%lu/%lu/%lu\n",
		      total, PATTERNS * PATTERNS, ntsim_cycles(sim) - start, rs.merges, rs.merge_hits,
		      rs.row_hits, rs.out_of_range, rs.forwarded[0], rs.forwarded[1], rs.forwarded[2],
		      rs.orders[0], rs.orders[1], rs.orders[2], rs.orders[3]);
	assert_true(rs.merge_hits > total / 20);
	assert_true(rs.merges - rs.merge_hits > total / 100);
	assert_true(rs.out_of_range > total / 50);
	for (int d = 0; d < 3; d++)
		assert_true(rs.forwarded[d] > total / 50);
	for (int k = 0; k < 4; k++)
		assert_true(rs.orders[k] > total / 500);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: test_nic_table [--ops N] [--fst FILE]\n"
		   "  --ops N          random ops to check (default 108000)\n"
		   "  --fst FILE       write a waveform of the whole run (FST, for GTKWave)\n"
		   "  TALLY_TEST_SEED  environment: the seed to reproduce\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ops", required_argument, NULL, 'n' },
		{ "fst", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latency_and_throughput),
		cmocka_unit_test(test_running_max),
		cmocka_unit_test(test_interleavings),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_random),
	};
	int c, err, rc;
	char *end;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			opt.ops = strtoul(optarg, &end, 0);
			if (*end != '\0' || opt.ops == 0)
				return usage(stderr), 2;
			break;
		case 'f':
			opt.fst = optarg;
			break;
		case 'h':
			return usage(stdout), 0;
		default:
			return usage(stderr), 2;
		}
	}
	if (optind != argc)
		return usage(stderr), 2;

	sim = ntsim_create(opt.fst, prop_seed(), &err);
	if (sim == NULL) {
		fprintf(stderr, "test_nic_table: cannot create the simulation: %s\n", strerror(-err));
		return 1;
	}
	rc = cmocka_run_group_tests_name("nic_table", tests, NULL, NULL);
	ntsim_free(sim);
	return rc;
}
