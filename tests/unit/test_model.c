/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * State-machine model tests in the style of riak_dt's QuickCheck suites.
 * Random programs of operations run against K replicas and against a model
 * that is obviously right; invariants are checked after every step. A failing
 * program is shrunk (operations removed one at a time while it still fails)
 * and printed with the seed.
 *
 * Counter model: the total is the sum of every increment minus every
 * decrement. No replica may ever show more increments or decrements than
 * were made, and after a final full merge every replica's value is the total.
 *
 * MV-register model: each write records the set of writes its writer had
 * seen. A replica's siblings must be exactly the writes it knows that no
 * other write it knows has seen.
 */

#include <stdlib.h>
#include <string.h>

#include "cmocka_prelude.h"
#include "gcounter.h"
#include "mvreg.h"
#include "prop.h"

#define MAX_OPS 200
#define MAX_REPLICAS (TALLY_MAX_NODES < 5 ? TALLY_MAX_NODES : 5)

enum op_kind { OP_INCR, OP_DECR, OP_MERGE, OP_WRITE, OP_WRITE_BLIND };

struct op {
	enum op_kind kind;
	unsigned r;      /* replica acted on (merge destination, write node) */
	unsigned from;   /* merge source; replica whose context a write read */
	uint64_t delta;
};

struct program {
	unsigned replicas;
	size_t n;
	struct op op[MAX_OPS];
};

/* Write a failure description into @msg; returns false for use in returns. */
static bool __attribute__((format(printf, 3, 4)))
failf(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return false;
}

/* Runs @p; on failure writes what went wrong into @msg and returns false. */
typedef bool (*run_fn)(const struct program *p, char *msg, size_t len);

static int
fmt_program(const struct program *p, char *buf, size_t len)
{
	static const char *names[] = { "incr", "decr", "merge", "write", "blind-write" };
	int n = snprintf(buf, len, "%u replicas, %zu ops:", p->replicas, p->n);

	for (size_t i = 0; i < p->n && (size_t)n < len; i++) {
		const struct op *o = &p->op[i];

		if (o->kind == OP_MERGE)
			n += snprintf(buf + n, len - n, "\n  merge r%u <- r%u", o->r, o->from);
		else if (o->kind == OP_WRITE)
			n += snprintf(buf + n, len - n, "\n  write at r%u, context read at r%u", o->r, o->from);
		else if (o->kind == OP_WRITE_BLIND)
			n += snprintf(buf + n, len - n, "\n  blind-write at r%u", o->r);
		else
			n += snprintf(buf + n, len - n, "\n  %s r%u %" PRIu64, names[o->kind], o->r, o->delta);
	}
	return n;
}

/* Remove operations one at a time while the program still fails. */
static void
shrink_program(struct program *p, run_fn run)
{
	char scratch[512];
	bool progress = true;

	while (progress) {
		progress = false;
		for (size_t i = 0; i < p->n; i++) {
			struct program q = *p;

			memmove(&q.op[i], &q.op[i + 1], (q.n - i - 1) * sizeof(q.op[0]));
			q.n--;
			if (!run(&q, scratch, sizeof(scratch))) {
				*p = q;
				progress = true;
				i--;
			}
		}
		/* Then make each delta as small as it can be. */
		for (size_t i = 0; i < p->n; i++) {
			uint64_t orig = p->op[i].delta;
			const uint64_t cand[] = { 0, 1, orig / 2 };

			for (size_t c = 0; c < 3; c++) {
				if (cand[c] >= p->op[i].delta)
					continue;
				p->op[i].delta = cand[c];
				if (!run(p, scratch, sizeof(scratch))) {
					progress = true;
					break;
				}
				p->op[i].delta = orig;
			}
		}
	}
}

static void
check_programs(const char *name, uint64_t salt, unsigned count, bool registers, run_fn run)
{
	static struct program p; /* large; one at a time */
	struct prng g;
	char why[512];

	prop_init(&g, salt);
	for (unsigned c = 0; c < count; c++) {
		p.replicas = 2 + (unsigned)prng_below(&g, MAX_REPLICAS - 1);
		p.n = 1 + prng_below(&g, registers ? 60 : MAX_OPS);
		for (size_t i = 0; i < p.n; i++) {
			struct op *o = &p.op[i];

			o->r = (unsigned)prng_below(&g, p.replicas);
			o->from = (unsigned)prng_below(&g, p.replicas);
			o->delta = prng_below(&g, 4) ? prng_below(&g, 10) : prng_next(&g) >> 40;
			if (registers)
				o->kind = (enum op_kind[]){ OP_MERGE, OP_WRITE, OP_WRITE, OP_WRITE_BLIND }
					[prng_below(&g, 4)];
			else
				o->kind = (enum op_kind)prng_below(&g, 3);
		}
		if (run(&p, why, sizeof(why)))
			continue;
		shrink_program(&p, run);
		run(&p, why, sizeof(why));
		char prog[8192];
		fmt_program(&p, prog, sizeof(prog));
		fail_msg("%s: program %u fails (seed %" PRIu64 "): %s\nsmallest failing program: %s",
			 name, c, prop_seed(), why, prog);
	}
}

/* ---- PN-Counter ---- */

static unsigned __int128
slot_sum(const tally_vec_t *v)
{
	unsigned __int128 s = 0;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		s += v->slot[i];
	return s;
}

static bool
run_counter(const struct program *p, char *msg, size_t len)
{
	tally_pncounter_t rep[MAX_REPLICAS];
	unsigned __int128 inc = 0, dec = 0; /* the model */

	for (unsigned r = 0; r < p->replicas; r++)
		tally_pn_init(&rep[r]);
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->op[i];

		switch (o->kind) {
		case OP_INCR:
			if (tally_pn_incr(&rep[o->r], o->r, o->delta) != 0)
				return failf(msg, len, "incr failed at op %zu", i);
			inc += o->delta;
			break;
		case OP_DECR:
			if (tally_pn_decr(&rep[o->r], o->r, o->delta) != 0)
				return failf(msg, len, "decr failed at op %zu", i);
			dec += o->delta;
			break;
		default:
			tally_pn_merge(&rep[o->r], &rep[o->from]);
			break;
		}
		/* Nothing is invented: no replica has seen more than was done. */
		for (unsigned r = 0; r < p->replicas; r++)
			if (slot_sum(&rep[r].p) > inc || slot_sum(&rep[r].n) > dec)
				return failf(msg, len, "replica %u exceeds the model after op %zu", r, i);
	}
	/* Final full merge: everyone into 0, then 0 into everyone. */
	for (unsigned r = 1; r < p->replicas; r++)
		tally_pn_merge(&rep[0], &rep[r]);
	for (unsigned r = 1; r < p->replicas; r++)
		tally_pn_merge(&rep[r], &rep[0]);
	for (unsigned r = 0; r < p->replicas; r++) {
		if (slot_sum(&rep[r].p) != inc || slot_sum(&rep[r].n) != dec)
			return failf(msg, len, "after full merge replica %u != model total", r);
		if (!tally_vec_equal(&rep[r].p, &rep[0].p) || !tally_vec_equal(&rep[r].n, &rep[0].n))
			return failf(msg, len, "after full merge replicas 0 and %u differ", r);
	}
	return true;
}

static void
test_counter_model(void **state)
{
	(void)state;
	check_programs("PN-Counter model", 500, 5000, false, run_counter);
}

/* ---- MV-register ---- */

#define MAX_WRITES 64 /* fits a uint64_t set; programs are at most 60 ops */

typedef uint64_t wset_t; /* a set of write numbers */

struct reg_model {
	tally_mvreg_t rep[MAX_REPLICAS];
	wset_t known[MAX_REPLICAS]; /* writes each replica has seen */
	wset_t saw[MAX_WRITES];     /* writes each write's writer had seen */
	tally_dot_t dot[MAX_WRITES];
	unsigned writes;
};

/* The writes known at replica r that no write known there has seen. */
static wset_t
survivors(const struct reg_model *m, unsigned r)
{
	wset_t covered = 0;

	for (unsigned w = 0; w < m->writes; w++)
		if (m->known[r] >> w & 1)
			covered |= m->saw[w];
	return m->known[r] & ~covered;
}

static bool
reg_matches(const struct reg_model *m, unsigned r, char *msg, size_t len)
{
	wset_t want = survivors(m, r), got = 0;
	size_t n;
	const struct tally_mvreg_sibling *s = tally_mvreg_read(&m->rep[r], &n, NULL);

	for (size_t i = 0; i < n; i++) {
		uint32_t w;

		if (s[i].len != sizeof(w))
			return failf(msg, len, "replica %u: sibling of length %u", r, s[i].len);
		memcpy(&w, s[i].value, sizeof(w));
		if (w >= m->writes || m->dot[w].node != s[i].dot.node ||
		    m->dot[w].counter != s[i].dot.counter)
			return failf(msg, len, "replica %u: sibling with a foreign dot", r);
		if (i > 0 && (s[i - 1].dot.node > s[i].dot.node ||
			      (s[i - 1].dot.node == s[i].dot.node && s[i - 1].dot.counter >= s[i].dot.counter)))
			return failf(msg, len, "replica %u: siblings not sorted by dot", r);
		got |= UINT64_C(1) << w;
	}
	if (got != want)
		return failf(msg, len, "replica %u: siblings %#" PRIx64 ", model says %#" PRIx64,
				r, got, want);
	return true;
}

static bool
run_register(const struct program *p, char *msg, size_t len)
{
	struct reg_model m;
	bool ok = true;

	memset(&m, 0, sizeof(m));
	for (unsigned r = 0; r < p->replicas; r++)
		tally_mvreg_init(&m.rep[r]);
	for (size_t i = 0; i < p->n && ok; i++) {
		const struct op *o = &p->op[i];

		if (o->kind == OP_MERGE) {
			if (tally_mvreg_merge(&m.rep[o->r], &m.rep[o->from]) != 0)
				ok = failf(msg, len, "merge failed");
			m.known[o->r] |= m.known[o->from];
		} else {
			tally_vec_t ctx;
			size_t n;
			uint32_t w = m.writes++;

			tally_vec_zero(&ctx);
			m.saw[w] = 0;
			if (o->kind == OP_WRITE) {
				tally_mvreg_read(&m.rep[o->from], &n, &ctx);
				m.saw[w] = m.known[o->from];
			}
			if (tally_mvreg_write(&m.rep[o->r], o->r, &ctx, &w, sizeof(w)) != 0) {
				ok = failf(msg, len, "write failed at op %zu", i);
				break;
			}
			m.dot[w] = (tally_dot_t){ o->r, m.rep[o->r].ctx.slot[o->r] };
			m.known[o->r] |= m.saw[w] | UINT64_C(1) << w;
		}
		for (unsigned r = 0; r < p->replicas && ok; r++)
			ok = reg_matches(&m, r, msg, len);
	}
	/* Full merge: all replicas end equal, holding the global survivors. */
	for (unsigned r = 1; r < p->replicas && ok; r++) {
		ok = tally_mvreg_merge(&m.rep[0], &m.rep[r]) == 0;
		m.known[0] |= m.known[r];
	}
	for (unsigned r = 1; r < p->replicas && ok; r++) {
		ok = tally_mvreg_merge(&m.rep[r], &m.rep[0]) == 0;
		m.known[r] |= m.known[0];
	}
	for (unsigned r = 0; r < p->replicas && ok; r++) {
		ok = reg_matches(&m, r, msg, len);
		if (ok && !tally_mvreg_equal(&m.rep[r], &m.rep[0]))
			ok = failf(msg, len, "after full merge replicas 0 and %u differ", r);
	}
	for (unsigned r = 0; r < p->replicas; r++)
		tally_mvreg_fini(&m.rep[r]);
	return ok;
}

static void
test_register_model(void **state)
{
	(void)state;
	check_programs("MV-register model", 600, 5000, true, run_register);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_model),
		cmocka_unit_test(test_register_model),
	};

	prop_seed();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
