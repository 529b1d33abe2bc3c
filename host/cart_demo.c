/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-cart-demo: why tally counts with PN-Counters and not with
 * last-write-wins, shown on one shopping cart kept by three replicas that
 * live through a network partition. Everything runs in memory and is
 * deterministic, so a newcomer sees the same story every time.
 *
 * One table of events (story[]) drives both acts, so the two ways of
 * merging are compared on exactly the same history:
 *   1. last-write-wins: each replica keeps a plain integer per item and the
 *      stamp of the write that produced it; merge keeps the later stamp;
 *   2. PN-Counter: the real tally_pn_* functions from the dataplane.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gcounter.h"
#include "vec.h"

/* Replicas are node ids 0..2, so each one owns the PN-Counter slot of its id. */
enum { NODE_A, NODE_B, NODE_C, N_REPLICAS };
static const char node_name[N_REPLICAS] = { 'A', 'B', 'C' };

enum item { SOCKS, MUGS, N_ITEMS };
static const char *const item_name[N_ITEMS] = { "socks", "mugs" };

/* One change the customer makes to the cart, on one replica. */
struct event {
	unsigned t;		/* logical clock; LWW stamps writes with (t, node) */
	unsigned node;		/* the replica the device talks to */
	enum item item;
	int64_t delta;		/* items added (> 0) or removed (< 0) */
	const char *device;
	bool partitioned;	/* A is cut off from B and C when it happens */
};

/*
 * The story. After each change the replica sends its state to every replica
 * it can reach; during the partition that is nobody for A, and each other for
 * B and C. After the last change the partition heals and everyone exchanges
 * state.
 */
static const struct event story[] = {
	{ 1, NODE_A, SOCKS, +1, "phone",  false },
	{ 2, NODE_A, MUGS,  +2, "phone",  false },
	{ 3, NODE_B, SOCKS, +3, "laptop", true },
	{ 4, NODE_A, SOCKS, +2, "phone",  true },
	{ 5, NODE_B, MUGS,  +1, "laptop", true },
	{ 6, NODE_C, SOCKS, -1, "tablet", true },
};
#define N_EVENTS (sizeof(story) / sizeof(story[0]))

/* struct lww_reg tracks which events it reflects in a 32-bit mask. */
_Static_assert(N_EVENTS <= 32, "story[] longer than lww_reg.seen can track");

/* Terminal escapes, or empty strings when output is not for a human's TTY. */
struct style {
	const char *bold, *red, *green, *reset;
};

/* Which side of the partition a replica is on: A alone, B and C together. */
static const unsigned partition_side[N_REPLICAS] = { 0, 1, 1 };

/* True when replica @p to receives the state @p ev's replica sends after it. */
static bool
receives(const struct event *ev, unsigned to)
{
	if (to == ev->node)
		return false;
	return !ev->partitioned ||
	       partition_side[to] == partition_side[ev->node];
}

/* --- Act 1: last-write-wins ------------------------------------------- */

struct lww_reg {
	int64_t value;
	unsigned t, node;	/* stamp of the write that produced value */
	/*
	 * Demo bookkeeping, not part of LWW: bit i is set when story[i] is
	 * reflected in value. It is what lets us name the changes that vanish.
	 */
	uint32_t seen;
};

struct lww_cart {
	struct lww_reg item[N_ITEMS];
};

static bool
lww_later(const struct lww_reg *a, const struct lww_reg *b)
{
	return a->t != b->t ? a->t > b->t : a->node > b->node;
}

/*
 * The device reads the count its replica shows and writes back that count
 * plus its change: the new value replaces the old one, with a new stamp.
 */
static void
lww_apply(struct lww_cart *c, size_t idx)
{
	const struct event *ev = &story[idx];
	struct lww_reg *r = &c->item[ev->item];

	r->value += ev->delta;
	r->t = ev->t;
	r->node = ev->node;
	r->seen |= UINT32_C(1) << idx;
}

/* Keep whichever whole value carries the later stamp. */
static void
lww_merge(struct lww_cart *dst, const struct lww_cart *src)
{
	for (unsigned i = 0; i < N_ITEMS; i++)
		if (lww_later(&src->item[i], &dst->item[i]))
			dst->item[i] = src->item[i];
}

/* Replays the story into @p heal (state when the partition heals) and @p end. */
static void
lww_replay(struct lww_cart heal[N_REPLICAS], struct lww_cart end[N_REPLICAS])
{
	memset(heal, 0, N_REPLICAS * sizeof(heal[0]));
	for (size_t e = 0; e < N_EVENTS; e++) {
		lww_apply(&heal[story[e].node], e);
		for (unsigned to = 0; to < N_REPLICAS; to++)
			if (receives(&story[e], to))
				lww_merge(&heal[to], &heal[story[e].node]);
	}
	/* Everyone sends the state it had at the heal to everyone else. */
	memcpy(end, heal, N_REPLICAS * sizeof(end[0]));
	for (unsigned dst = 0; dst < N_REPLICAS; dst++)
		for (unsigned src = 0; src < N_REPLICAS; src++)
			lww_merge(&end[dst], &heal[src]);
}

/* --- Act 2: PN-Counter ---------------------------------------------- */

struct pn_cart {
	tally_pncounter_t item[N_ITEMS];
};

/* Report a tally_pn_* error the way the user can act on it. */
static int
pn_error(const char *call, unsigned node, int rc)
{
	fprintf(stderr, "tally-cart-demo: %s (replica %c, node %u): %s\n",
		call, node_name[node], node, strerror(-rc));
	if (rc == -EINVAL)
		fprintf(stderr, "tally-cart-demo: this build has TALLY_MAX_NODES=%d; the demo needs %d (meson configure -Dmax_nodes=...)\n",
			TALLY_MAX_NODES, N_REPLICAS);
	return rc;
}

/* The replica adds the change to its own slot: P for adds, N for removes. */
static int
pn_apply(struct pn_cart *c, const struct event *ev)
{
	tally_pncounter_t *pn = &c->item[ev->item];
	int rc;

	if (ev->delta >= 0) {
		rc = tally_pn_incr(pn, ev->node, (uint64_t)ev->delta);
		if (rc < 0)
			return pn_error("tally_pn_incr", ev->node, rc);
	} else {
		/* Negate in unsigned arithmetic: -INT64_MIN does not fit int64_t. */
		rc = tally_pn_decr(pn, ev->node, -(uint64_t)ev->delta);
		if (rc < 0)
			return pn_error("tally_pn_decr", ev->node, rc);
	}
	return 0;
}

static void
pn_cart_merge(struct pn_cart *dst, const struct pn_cart *src)
{
	for (unsigned i = 0; i < N_ITEMS; i++)
		tally_pn_merge(&dst->item[i], &src->item[i]);
}

/* Identical state, slot by slot, not merely the same values. */
static bool
pn_cart_equal(const struct pn_cart *a, const struct pn_cart *b)
{
	for (unsigned i = 0; i < N_ITEMS; i++)
		if (!tally_vec_equal(&a->item[i].p, &b->item[i].p) ||
		    !tally_vec_equal(&a->item[i].n, &b->item[i].n))
			return false;
	return true;
}

/*
 * Everyone sends the state it had at the heal (@p sent) to everyone else;
 * each replica merges what it receives in the order @p order lists senders.
 */
static void
pn_heal(struct pn_cart rep[N_REPLICAS], const struct pn_cart sent[N_REPLICAS],
	const unsigned order[N_REPLICAS])
{
	for (unsigned dst = 0; dst < N_REPLICAS; dst++)
		for (unsigned k = 0; k < N_REPLICAS; k++)
			pn_cart_merge(&rep[dst], &sent[order[k]]);
}

/* Replays the story into @p heal (state when the partition heals). */
static int
pn_replay(struct pn_cart heal[N_REPLICAS])
{
	for (unsigned r = 0; r < N_REPLICAS; r++)
		for (unsigned i = 0; i < N_ITEMS; i++)
			tally_pn_init(&heal[r].item[i]);
	for (size_t e = 0; e < N_EVENTS; e++) {
		int rc = pn_apply(&heal[story[e].node], &story[e]);

		if (rc < 0)
			return rc;
		for (unsigned to = 0; to < N_REPLICAS; to++)
			if (receives(&story[e], to))
				pn_cart_merge(&heal[to], &heal[story[e].node]);
	}
	return 0;
}

/* The first N_REPLICAS slots as "[3 3 0]"; the others stay 0 in this story. */
static void
fmt_slots(char *buf, size_t len, const tally_vec_t *v)
{
	size_t off = 0;

	off += (size_t)snprintf(buf + off, len - off, "[");
	for (unsigned i = 0; i < N_REPLICAS && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%" PRIu64,
					i ? " " : "", v->slot[i]);
	if (off < len)
		snprintf(buf + off, len - off, "]");
}

/* --- Output ----------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tally-cart-demo [--help]\n"
		"\n"
		"Replays one shopping cart kept by three in-memory replicas (A, B, C)\n"
		"through a network partition that cuts A off from B and C, twice on the\n"
		"same events:\n"
		"  1. last-write-wins: the cart each replica ends with, the true totals,\n"
		"     and exactly which adds or removes were silently lost;\n"
		"  2. tally's PN-Counter (tally_pn_incr/decr/merge): the P and N vectors\n"
		"     of every replica, that all reach the true totals with identical\n"
		"     state, and that merging again or in another order changes nothing.\n"
		"No network, NIC or files are involved; the output is deterministic.\n"
		"\n"
		"Colors only when stdout is a terminal and NO_COLOR is unset or empty.\n"
		"\n"
		"Exit status: 0 when the PN-Counters converge to the true totals, merging\n"
		"again changes nothing, and LWW loses at least one change (all facts of\n"
		"this story); 1 when one of these checks fails (the output says which)\n"
		"or a tally_pn_* call returns an error; 2 on a usage error.\n");
}

static void
print_story(const struct style *s, const int64_t truth[N_ITEMS])
{
	printf("%sThe story%s (one table of events drives both acts)\n",
	       s->bold, s->reset);
	printf("  after each change, a replica sends its state to every replica it can reach\n");
	printf("    t  replica  device  change\n");
	for (size_t e = 0; e < N_EVENTS; e++) {
		const struct event *ev = &story[e];

		if (ev->partitioned && (e == 0 || !story[e - 1].partitioned)) {
			printf("   --  in sync: A created the cart and all three replicas hold it\n");
			printf("   --  partition: A is cut off; B and C still reach each other\n");
		}
		printf("  %3u  %-7c  %-6s  %+" PRId64 " %s\n", ev->t,
		       node_name[ev->node], ev->device, ev->delta,
		       item_name[ev->item]);
	}
	printf("   --  heal: every replica sends its state to every other and merges\n");
	printf("  true totals (sum of every change):");
	for (unsigned i = 0; i < N_ITEMS; i++)
		printf("%s %s %" PRId64, i ? "," : "", item_name[i], truth[i]);
	printf("\n\n");
}

/*
 * Act 1. Returns how many changes vanished from the healed carts, or 0 when
 * no healed value differs from the truth (nothing was observed lost).
 */
static unsigned
act_lww(const struct style *s, const int64_t truth[N_ITEMS])
{
	struct lww_cart heal[N_REPLICAS], end[N_REPLICAS];
	bool any_wrong = false;
	unsigned lost = 0;

	lww_replay(heal, end);

	printf("%sAct 1: last-write-wins%s (one integer per item, stamped (t, node); merge keeps the later)\n",
	       s->bold, s->reset);
	printf("  value @ t.node of the write that set it\n");
	printf("             at the heal               after the exchange\n");
	printf("    replica  %-10s  %-10s    %-10s  %s\n",
	       item_name[SOCKS], item_name[MUGS], item_name[SOCKS], item_name[MUGS]);
	for (unsigned r = 0; r < N_REPLICAS; r++) {
		char cell[N_ITEMS][32];

		for (unsigned i = 0; i < N_ITEMS; i++)
			snprintf(cell[i], sizeof(cell[i]), "%" PRId64 " @t%u.%c",
				 heal[r].item[i].value, heal[r].item[i].t,
				 node_name[heal[r].item[i].node]);
		printf("    %-7c  %-10s  %-10s  ", node_name[r], cell[SOCKS], cell[MUGS]);
		for (unsigned i = 0; i < N_ITEMS; i++) {
			const struct lww_reg *g = &end[r].item[i];
			bool wrong = g->value != truth[i];

			any_wrong |= wrong;
			snprintf(cell[i], sizeof(cell[i]), "%" PRId64 " @t%u.%c",
				 g->value, g->t, node_name[g->node]);
			/* Pad every column but the last: no trailing blanks. */
			printf("  %s%-*s%s", wrong ? s->red : "",
			       i + 1 < N_ITEMS ? 10 : 0, cell[i],
			       wrong ? s->reset : "");
		}
		printf("\n");
	}
	printf("    %-7s  %-10s  %-10s    %-10" PRId64 "  %" PRId64 "\n",
	       "true", "", "", truth[SOCKS], truth[MUGS]);

	/* Every replica ends with the same registers; read the losses off A's. */
	for (size_t e = 0; e < N_EVENTS; e++) {
		const struct event *ev = &story[e];

		if (end[NODE_A].item[ev->item].seen & (UINT32_C(1) << e))
			continue;
		printf("  %slost:%s %+" PRId64 " %s %s at %c (%s) at t=%u\n",
		       s->red, s->reset, ev->delta, item_name[ev->item],
		       ev->delta >= 0 ? "added" : "removed",
		       node_name[ev->node], ev->device, ev->t);
		lost++;
	}
	printf("  why: LWW keeps one replica's whole value, so changes made concurrently elsewhere vanish.\n\n");
	return any_wrong ? lost : 0;
}

/* Outcome of act 2, for the checks at the end. */
struct pn_result {
	bool converged;		/* every replica holds the true totals, identically */
	bool stable;		/* merging again or in another order changes nothing */
};

static int
act_pn(const struct style *s, const int64_t truth[N_ITEMS], struct pn_result *res)
{
	static const unsigned forward[N_REPLICAS] = { NODE_A, NODE_B, NODE_C };
	static const unsigned reverse[N_REPLICAS] = { NODE_C, NODE_B, NODE_A };
	struct pn_cart heal[N_REPLICAS], end[N_REPLICAS];
	struct pn_cart again[N_REPLICAS], other[N_REPLICAS];
	int rc;

	rc = pn_replay(heal);
	if (rc < 0)
		return rc;
	memcpy(end, heal, sizeof(end));
	pn_heal(end, heal, forward);

	printf("%sAct 2: PN-Counter%s (tally_pn_*: each node counts in its own slot; merge = max per slot)\n",
	       s->bold, s->reset);
	printf("  after the exchange (slots [A B C])\n");
	printf("    replica  item   P         N         value  true\n");
	res->converged = true;
	for (unsigned r = 0; r < N_REPLICAS; r++) {
		for (unsigned i = 0; i < N_ITEMS; i++) {
			char p[64], n[64];
			int64_t v;
			bool wrong;

			rc = tally_pn_value(&end[r].item[i], &v);
			if (rc < 0)
				return pn_error("tally_pn_value", r, rc);
			wrong = v != truth[i];
			if (wrong || !pn_cart_equal(&end[r], &end[NODE_A]))
				res->converged = false;
			fmt_slots(p, sizeof(p), &end[r].item[i].p);
			fmt_slots(n, sizeof(n), &end[r].item[i].n);
			printf("    %-7c  %-5s  %-8s  %-8s  %s%5" PRId64 "%s  %4" PRId64 "\n",
			       i == 0 ? node_name[r] : ' ', item_name[i], p, n,
			       wrong ? s->red : "", v, wrong ? s->reset : "",
			       truth[i]);
		}
	}
	if (res->converged)
		printf("  %snothing lost:%s every replica shows the true totals, and A, B, C are identical (P and N)\n",
		       s->green, s->reset);
	else
		printf("  %snot converged:%s a value differs from the true total, or the replicas differ\n",
		       s->red, s->reset);

	/*
	 * Replication frames can be duplicated and reordered, so merging must
	 * be idempotent and commutative: merge the healed states into every
	 * replica once more, and redo the heal with senders in reverse order.
	 */
	memcpy(again, end, sizeof(again));
	pn_heal(again, end, forward);
	memcpy(other, heal, sizeof(other));
	pn_heal(other, heal, reverse);
	res->stable = true;
	for (unsigned r = 0; r < N_REPLICAS; r++)
		if (!pn_cart_equal(&again[r], &end[r]) ||
		    !pn_cart_equal(&other[r], &end[r]))
			res->stable = false;
	printf("  merge again, and in reverse order (C, B, A): %s%s%s\n",
	       res->stable ? s->green : s->red,
	       res->stable ? "no slot changes (idempotent, commutative)" :
			     "SLOTS CHANGED",
	       s->reset);
	printf("  why: each node owns a slot and merge takes each slot's maximum, so every node's changes survive.\n\n");
	return 0;
}

static bool
check(const struct style *s, bool ok, const char *what)
{
	printf("  %s%-4s%s  %s\n", ok ? s->green : s->red, ok ? "ok" : "FAIL",
	       s->reset, what);
	return ok;
}

int
main(int argc, char **argv)
{
	const char *no_color = getenv("NO_COLOR");
	bool color = isatty(STDOUT_FILENO) && (no_color == NULL || no_color[0] == '\0');
	const struct style s = color ?
		(struct style){ "\033[1m", "\033[31m", "\033[32m", "\033[0m" } :
		(struct style){ "", "", "", "" };
	int64_t truth[N_ITEMS] = { 0 };
	struct pn_result pn;
	unsigned lost;
	bool ok = true;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "tally-cart-demo: unknown argument '%s'\n\n", argv[i]);
		usage(stderr);
		return 2;
	}

	/* The truth is what the customer did: every change, counted once. */
	for (size_t e = 0; e < N_EVENTS; e++)
		truth[story[e].item] += story[e].delta;

	printf("%stally cart demo: one cart, three replicas, a network partition, two ways to merge%s\n\n",
	       s.bold, s.reset);
	print_story(&s, truth);
	lost = act_lww(&s, truth);
	if (act_pn(&s, truth, &pn) < 0)
		return 1;

	printf("%sChecks%s\n", s.bold, s.reset);
	ok &= check(&s, pn.converged, "PN-Counter replicas converged to the true totals, with identical P and N");
	ok &= check(&s, pn.stable, "PN-Counter merge is idempotent and commutative here");
	ok &= check(&s, lost > 0, "last-write-wins lost at least one change");
	return ok ? 0 : 1;
}
