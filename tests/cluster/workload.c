/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-workload: the client side of the fault suite (docs/faults.md).
 * Concurrent sessions issue incr, decr and get against every node of a
 * cluster, one operation at a time each, with varied W and R, and log every
 * invoke and completion to a history (docs/history.md) that
 * `tallyctl audit` checks.
 *
 *   tally-workload --config FILE --history FILE [--sessions S] [--keys K]
 *                  [--rate OPS] [--duration S | --ops N] [--seed N]
 *                  [--w-set 2,3] [--r-set 1,2,3] [--no-tokens]
 *                  [--resubmit PCT] [--drain S]
 *
 * Every session has its own op ids (a client id and a sequence) and its own
 * session tokens, which it carries from node to node. A write that ends
 * indeterminate (not op_refused: the cluster cannot tell) is retried later
 * with the same op id through the same node, as long as its answer would
 * still come within the cluster's retry window
 * (the rules docs/cluster.md gives clients), and a small share of
 * acknowledged writes is sent again as if the answer had been lost: the
 * cluster must apply each op id once. On SIGTERM (or at --duration/--ops) it
 * stops starting operations, retries what is still indeterminate for up to
 * --drain seconds, and exits; a second SIGTERM or SIGINT exits at once.
 * Reads log the read state's totals (p, n) from the answer's token, which
 * this test tool can open because it holds the cluster key.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "token.h"
#include "wire.h"

#define MAXSESS 64
#define MAXKEYS 64
#define MAXRETRY 64

static const char usage[] =
	"usage: tally-workload --config FILE --history FILE [OPTIONS]\n"
	"\n"
	"Concurrent client sessions against every node of the cluster in FILE,\n"
	"each one operation at a time; every invoke and completion goes to the\n"
	"history (docs/history.md) for `tallyctl audit`.\n"
	"\n"
	"  --sessions S     concurrent sessions (default 10, at most 64)\n"
	"  --keys K         counters k0..k(K-1) (default 12, at most 64)\n"
	"  --rate OPS       operations per second started, all sessions together\n"
	"                   (default 1000; 0 = as fast as answers come)\n"
	"  --duration S     stop starting operations after S seconds (default: at\n"
	"                   SIGTERM only)\n"
	"  --ops N          stop starting operations after N\n"
	"  --seed N         the random choices (default: from the clock, printed)\n"
	"  --w-set LIST     write quorums to pick from (default 1,2,3)\n"
	"  --r-set LIST     read quorums to pick from (default 1,2,3)\n"
	"  --no-tokens      sessions do not present their tokens (reads may then\n"
	"                   break read-your-writes: the checker must see it)\n"
	"  --resubmit PCT   share of acknowledged writes sent again with the same op\n"
	"                   id, as after a lost answer (default 2)\n"
	"  --drain S        after stopping, retry indeterminate writes for up to S\n"
	"                   seconds (default 30)\n"
	"  --timeout MS     an operation's deadline (default 2500)\n"
	"\n"
	"Prints a progress line every 5 s and a summary at the end on stderr.\n"
	"Exit status: 0 done; 1 could not run; 2 bad usage.\n";

struct wop { /* a write to retry */
	uint64_t seq;
	uint64_t first_us;       /* its first send: it may be retried only within the retry window */
	uint8_t op;
	uint16_t key;
	uint64_t delta;
	unsigned w, node;
};

struct session {
	unsigned id;
	uint64_t cid, seq;
	tally_client_t *c[TALLY_MAX_NODES];
	uint8_t tok[MAXKEYS][192];
	uint8_t toklen[MAXKEYS];
	unsigned node;           /* the node it talks to now */
	bool busy;
	struct wop cur;          /* the operation in flight (op, key, ...) */
	bool cur_write, cur_retry;
	struct wop retry[MAXRETRY];
	unsigned nretry;
	uint64_t retry_after_us; /* not before: let the fault pass */
};

static struct {
	const char *config, *history;
	unsigned sessions, keys, rate, resubmit, timeout_ms;
	double duration, drain;
	uint64_t ops, seed;
	unsigned wset[8], nw, rset[8], nr;
	bool no_tokens;
} opt = { .sessions = 10, .keys = 12, .rate = 1000, .resubmit = 2, .timeout_ms = 2500, .drain = 30,
	  .wset = { 1, 2, 3 }, .nw = 3, .rset = { 1, 2, 3 }, .nr = 3 };

static struct tally_config cfg;
static uint8_t token_key[32];
static FILE *hist;
static struct session sess[MAXSESS];
static volatile sig_atomic_t stop_requests;

static uint64_t rng;
static uint64_t
prng(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static unsigned
pick(unsigned n)
{
	return (unsigned)(prng() % n);
}

static uint64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
on_signal(int sig)
{
	(void)sig;
	if (++stop_requests >= 2 || sig == SIGINT) {
		if (hist != NULL)
			fflush(hist);
		_exit(130);
	}
}

static int
parse_set(const char *s, unsigned *out, unsigned *n)
{
	char *end;
	*n = 0;
	for (;;) {
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || v < 1 || v > TALLY_MAX_NODES || *n == 8)
			return -1;
		out[(*n)++] = (unsigned)v;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

static const char *
op_name(unsigned op)
{
	return op == TALLY_WIRE_OP_INCR ? "incr" : op == TALLY_WIRE_OP_DECR ? "decr" : "get";
}

static void
open_clients(struct session *s)
{
	for (unsigned i = 0; i < cfg.nmembers; i++) {
		struct tally_client_opts o = { .port = cfg.client_port, .timeout_ms = opt.timeout_ms,
					       .client_id = s->cid, .session = !opt.no_tokens,
					       .tokens = true /* reads log their totals from the token */ };
		char ip[INET_ADDRSTRLEN];
		struct in_addr a = { htonl(cfg.members[i].ip) };
		int err;

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		o.host = ip;
		(void)tally_client_credential(cfg.key, 0, o.key);
		s->c[i] = tally_client_open(&o, &err);
		if (s->c[i] == NULL) {
			fprintf(stderr, "tally-workload: session %u, client to node %u (%s): %s\n", s->id, i, ip,
				strerror(-err));
			exit(1);
		}
	}
}

static struct {
	uint64_t started, ok, fail, info, retries, resubmits, reads_ok, no_token_totals, expired;
} st;

/* Drop the retries whose answer could come after the cluster's retry window
 * (docs/cluster.md#the-retry-window): the cluster promises a retry counts
 * once only within it. They stay indeterminate in the history. */
static void
expire_retries(struct session *s, uint64_t t)
{
	uint64_t window = (uint64_t)cfg.retry_window_ms * 1000u, deadline = (uint64_t)opt.timeout_ms * 1000u;

	for (unsigned i = 0; i < s->nretry;) {
		if (t - s->retry[i].first_us + deadline > window) {
			s->retry[i] = s->retry[--s->nretry];
			st.expired++;
		} else {
			i++;
		}
	}
}

/* Start the session's next operation: a pending retry, or a new one. */
static void
start(struct session *s, bool stopping, uint64_t t)
{
	char key[16];
	int rc;

	expire_retries(s, t);
	bool retry = s->nretry > 0 && t >= s->retry_after_us && (stopping || pick(100) < 30);
	if (!retry && stopping)
		return;
	if (retry) {
		unsigned i = pick(s->nretry);
		s->cur = s->retry[i];
		s->retry[i] = s->retry[--s->nretry];
		s->cur_write = true;
		s->cur_retry = true;
		s->node = s->cur.node;
		st.retries++;
	} else {
		if (pick(100) >= 80)
			s->node = pick(cfg.nmembers);
		unsigned r = pick(100);
		s->cur.op = r < 45 ? TALLY_WIRE_OP_INCR : r < 60 ? TALLY_WIRE_OP_DECR : TALLY_WIRE_OP_GET;
		s->cur.key = (uint16_t)pick(opt.keys);
		s->cur.node = s->node;
		s->cur_write = s->cur.op != TALLY_WIRE_OP_GET;
		s->cur_retry = false;
		s->cur.first_us = t;
		if (s->cur_write) {
			s->cur.seq = ++s->seq;
			s->cur.delta = 1 + pick(5);
			s->cur.w = opt.wset[pick(opt.nw)];
		} else {
			s->cur.w = opt.rset[pick(opt.nr)];
		}
		st.started++;
	}
	snprintf(key, sizeof(key), "k%u", s->cur.key);
	tally_client_t *c = s->c[s->node];
	if (!opt.no_tokens) /* carry the session's token for this key to this node's client */
		(void)tally_client_token_set(c, key, strlen(key), s->tok[s->cur.key], s->toklen[s->cur.key]);
	bool tok = !opt.no_tokens && s->toklen[s->cur.key] > 0;
	if (s->cur_write)
		rc = tally_client_submit_id(c, s->cur.op, key, strlen(key), s->cur.delta, s->cur.w, s->cid, s->cur.seq,
					    NULL);
	else
		rc = tally_client_submit(c, s->cur.op, key, strlen(key), 0, s->cur.w, NULL);
	if (rc == 0)
		rc = tally_client_flush(c);
	if (rc != 0) {
		fprintf(stderr, "tally-workload: session %u: submit: %s\n", s->id, strerror(-rc));
		exit(1);
	}
	s->busy = true;
	if (s->cur_write)
		fprintf(hist, "%" PRIu64 " s%u invoke %s key=%s delta=%" PRIu64 " id=%" PRIx64 ":%" PRIu64
			      " w=%u node=%u token=%d%s\n",
			t, s->id, op_name(s->cur.op), key, s->cur.delta, s->cid, s->cur.seq, s->cur.w, s->node, tok,
			s->cur_retry ? " retry=1" : "");
	else
		fprintf(hist, "%" PRIu64 " s%u invoke get key=k%u r=%u node=%u token=%d\n", t, s->id, s->cur.key,
			s->cur.w, s->node, tok);
}

static void
complete(struct session *s, const struct tally_client_result *r, uint64_t t)
{
	char key[16];

	snprintf(key, sizeof(key), "k%u", s->cur.key);
	s->busy = false;
	if (r->status == TALLY_OK && r->token_len > 0 && !opt.no_tokens) {
		memcpy(s->tok[s->cur.key], r->token, r->token_len);
		s->toklen[s->cur.key] = r->token_len;
	}
	if (!s->cur_write) {
		if (r->status != TALLY_OK) {
			st.fail++;
			fprintf(hist, "%" PRIu64 " s%u fail get key=%s status=%s\n", t, s->id, key,
				tally_status_name(r->status));
			return;
		}
		st.ok++;
		st.reads_ok++;
		struct tally_token tk;
		if (r->token_len > 0 &&
		    tally_token_decode(r->token, r->token_len, token_key, (uint32_t)(t / 1000000u), 86400, &tk) == 0) {
			uint64_t p = 0, n = 0;
			for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
				p += tk.s.p.slot[i];
				n += tk.s.n.slot[i];
			}
			fprintf(hist, "%" PRIu64 " s%u ok get key=%s value=%" PRId64 " p=%" PRIu64 " n=%" PRIu64 "\n", t,
				s->id, key, r->value, p, n);
		} else {
			st.no_token_totals++;
			fprintf(hist, "%" PRIu64 " s%u ok get key=%s value=%" PRId64 "\n", t, s->id, key, r->value);
		}
		return;
	}
	const char *name = op_name(s->cur.op);
	switch (r->status) {
	case TALLY_OK:
		st.ok++;
		fprintf(hist, "%" PRIu64 " s%u ok %s key=%s id=%" PRIx64 ":%" PRIu64 " value=%" PRId64 "\n", t, s->id,
			name, key, s->cid, s->cur.seq, r->value);
		if (!s->cur_retry && s->nretry < MAXRETRY && pick(100) < opt.resubmit) {
			s->retry[s->nretry++] = s->cur; /* as if the answer had been lost */
			st.resubmits++;
		}
		return;
	case TALLY_E_INDETERMINATE:
	case TALLY_E_IO:
	case TALLY_E_OP_REFUSED: /* maybe applied */
	case TALLY_E_UNKNOWN_CLIENT: /* maybe, by an earlier send: the library gave up on our op id */
		st.info++;
		fprintf(hist, "%" PRIu64 " s%u info %s key=%s id=%" PRIx64 ":%" PRIu64 " status=%s\n", t, s->id, name,
			key, s->cid, s->cur.seq, tally_status_name(r->status));
		/* Retry with the same op id; op_refused is the cluster saying it
		 * cannot tell (docs/cluster.md), and asking again will not help. */
		if (r->status != TALLY_E_OP_REFUSED && r->status != TALLY_E_UNKNOWN_CLIENT && s->nretry < MAXRETRY) {
			s->retry[s->nretry++] = s->cur;
			s->retry_after_us = t + 200000;
		}
		return;
	default: /* not applied */
		st.fail++;
		fprintf(hist, "%" PRIu64 " s%u fail %s key=%s id=%" PRIx64 ":%" PRIu64 " status=%s\n", t, s->id, name,
			key, s->cid, s->cur.seq, tally_status_name(r->status));
		return;
	}
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },   { "history", required_argument, NULL, 'H' },
		{ "sessions", required_argument, NULL, 's' }, { "keys", required_argument, NULL, 'k' },
		{ "rate", required_argument, NULL, 'r' },     { "duration", required_argument, NULL, 'd' },
		{ "ops", required_argument, NULL, 'o' },      { "seed", required_argument, NULL, 'S' },
		{ "w-set", required_argument, NULL, 'W' },    { "r-set", required_argument, NULL, 'R' },
		{ "no-tokens", no_argument, NULL, 'T' },      { "resubmit", required_argument, NULL, 'u' },
		{ "drain", required_argument, NULL, 'D' },    { "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },           { 0 }
	};
	int ch;
	char err[256];
	bool seeded = false;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		char *end = NULL;
		switch (ch) {
		case 'c': opt.config = optarg; break;
		case 'H': opt.history = optarg; break;
		case 's': opt.sessions = (unsigned)strtoul(optarg, &end, 10); break;
		case 'k': opt.keys = (unsigned)strtoul(optarg, &end, 10); break;
		case 'r': opt.rate = (unsigned)strtoul(optarg, &end, 10); break;
		case 'd': opt.duration = strtod(optarg, &end); break;
		case 'o': opt.ops = strtoull(optarg, &end, 10); break;
		case 'S': opt.seed = strtoull(optarg, &end, 10); seeded = true; break;
		case 'u': opt.resubmit = (unsigned)strtoul(optarg, &end, 10); break;
		case 'D': opt.drain = strtod(optarg, &end); break;
		case 't': opt.timeout_ms = (unsigned)strtoul(optarg, &end, 10); break;
		case 'T': opt.no_tokens = true; break;
		case 'W':
		case 'R':
			if (parse_set(optarg, ch == 'W' ? opt.wset : opt.rset, ch == 'W' ? &opt.nw : &opt.nr) != 0) {
				fprintf(stderr, "tally-workload: --%c-set: want a list like 1,2,3 of 1..%u\n%s",
					ch == 'W' ? 'w' : 'r', TALLY_MAX_NODES, usage);
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
		if (end != NULL && (*end != '\0' || end == optarg)) {
			fprintf(stderr, "tally-workload: bad number '%s'\n%s", optarg, usage);
			return 2;
		}
	}
	if (opt.config == NULL || opt.history == NULL || optind != argc || opt.sessions < 1 ||
	    opt.sessions > MAXSESS || opt.keys < 1 || opt.keys > MAXKEYS || opt.resubmit > 100) {
		fprintf(stderr, "tally-workload: want --config and --history, 1..%u sessions, 1..%u keys\n%s", MAXSESS,
			MAXKEYS, usage);
		return 2;
	}
	tally_config_defaults(&cfg);
	if (tally_config_load(&cfg, opt.config, err, sizeof(err)) != 0) {
		fprintf(stderr, "tally-workload: %s\n", err);
		return 1;
	}
	if (tally_token_key(token_key, cfg.key) != 0) {
		fprintf(stderr, "tally-workload: cannot derive the token key\n");
		return 1;
	}
	if (!seeded)
		opt.seed = now_us();
	rng = opt.seed * 0x9e3779b97f4a7c15ull | 1;
	fprintf(stderr, "tally-workload: seed %" PRIu64 ", %u sessions, %u keys, %u nodes\n", opt.seed, opt.sessions,
		opt.keys, cfg.nmembers);
	hist = fopen(opt.history, "w");
	if (hist == NULL) {
		fprintf(stderr, "tally-workload: %s: %s\n", opt.history, strerror(errno));
		return 1;
	}
	setvbuf(hist, NULL, _IOFBF, 1 << 20);
	fprintf(hist, "# tally history v1: tally-workload seed %" PRIu64 "%s\n", opt.seed,
		opt.no_tokens ? ", tokens not presented" : "");
	fprintf(hist, "%" PRIu64 " cluster config - n=%u w=%u r=%u nodes=%u\n", now_us(), cfg.n, cfg.w, cfg.r,
		cfg.nmembers);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	for (unsigned i = 0; i < opt.sessions; i++) {
		sess[i].id = i;
		sess[i].cid = prng() | 1;
		sess[i].node = i % cfg.nmembers;
		open_clients(&sess[i]);
	}

	uint64_t t0 = now_us(), last_progress = t0, stop_at = 0;
	double credit = 0;
	uint64_t last = t0;
	for (;;) {
		uint64_t t = now_us();
		bool stopping = stop_requests > 0 || (opt.duration > 0 && t - t0 >= (uint64_t)(opt.duration * 1e6)) ||
				(opt.ops > 0 && st.started >= opt.ops);
		if (stopping && stop_at == 0) {
			stop_at = t;
			fprintf(stderr, "tally-workload: stopping; retrying what is indeterminate for up to %.0f s\n",
				opt.drain);
		}
		bool pending = false;
		for (unsigned i = 0; i < opt.sessions; i++)
			pending |= sess[i].busy || sess[i].nretry > 0;
		if (stopping && (!pending || t - stop_at >= (uint64_t)(opt.drain * 1e6)))
			break;
		if (opt.rate > 0) {
			credit += (double)(t - last) * opt.rate / 1e6;
			if (credit > opt.sessions)
				credit = opt.sessions;
		}
		last = t;
		bool progress = false;
		for (unsigned k = 0; k < opt.sessions; k++) {
			struct session *s = &sess[(k + t) % opt.sessions];
			if (s->busy) {
				struct tally_client_result r;
				int n = tally_client_poll(s->c[s->node], &r, 1, 0);
				if (n < 0) {
					fprintf(stderr, "tally-workload: session %u: poll: %s\n", s->id, strerror(-n));
					return 1;
				}
				if (n == 1) {
					complete(s, &r, now_us());
					progress = true;
				}
			}
			if (!s->busy && (stopping || opt.rate == 0 || credit >= 1)) {
				start(s, stopping, now_us());
				if (s->busy) {
					credit -= 1;
					progress = true;
				}
			}
		}
		if (t - last_progress >= 5000000u) {
			last_progress = t;
			fprintf(stderr, "tally-workload: %.0f s: %" PRIu64 " started, %" PRIu64 " ok, %" PRIu64
					" failed, %" PRIu64 " indeterminate, %" PRIu64 " retries\n",
				(t - t0) / 1e6, st.started, st.ok, st.fail, st.info, st.retries);
		}
		if (!progress)
			usleep(200);
	}
	unsigned left = 0;
	for (unsigned i = 0; i < opt.sessions; i++) {
		left += sess[i].nretry;
		for (unsigned j = 0; j < cfg.nmembers; j++)
			tally_client_close(sess[i].c[j]);
	}
	if (fclose(hist) != 0) {
		fprintf(stderr, "tally-workload: %s: %s\n", opt.history, strerror(errno));
		return 1;
	}
	fprintf(stderr, "tally-workload: done in %.1f s: %" PRIu64 " operations, %" PRIu64 " ok, %" PRIu64
			" failed, %" PRIu64 " indeterminate, %" PRIu64 " retries (%" PRIu64 " of acknowledged writes), "
			"%u writes still indeterminate\n",
		(now_us() - t0) / 1e6, st.started, st.ok, st.fail, st.info, st.retries, st.resubmits, left);
	if (st.no_token_totals)
		fprintf(stderr, "tally-workload: %" PRIu64 " reads without a readable token (logged without p, n)\n",
			st.no_token_totals);
	if (st.expired)
		fprintf(stderr, "tally-workload: %" PRIu64 " writes not retried again: an answer could come after the "
				"cluster's retry window (%u ms); they stay indeterminate\n",
			st.expired, cfg.retry_window_ms);
	return 0;
}
