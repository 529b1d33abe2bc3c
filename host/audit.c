/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The history checker (audit.h, docs/history.md). Parsing keeps every event
 * (about 100 bytes each) and checks what one line can show; tally_audit_run()
 * sorts them stably by TIME, pairs each session's invokes with their
 * completions in one sweep, then checks every read against per-key prefix
 * sums of the writes (sorted by first invoke for what a read may have seen,
 * by first ok for what it must have seen), found by binary search.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

#define NONE UINT32_MAX
#define TOKENS_MAX 256
/* w=, r= and n= above this are refused: no cluster has that many replicas */
#define QUORUM_MAX 255

enum ev_kind { EV_INVOKE, EV_OK, EV_FAIL, EV_INFO, EV_START, EV_STOP, EV_CONFIG };
enum role { ROLE_SESSION, ROLE_NEMESIS, ROLE_CLUSTER };

#define F_KEY 0x01u
#define F_DELTA 0x02u
#define F_ID 0x04u
#define F_VALUE 0x08u
#define F_PN 0x10u
#define F_NODE 0x20u

/* One line of a history. */
struct ev {
	int64_t t;
	int64_t delta, value, p, n;
	uint64_t cid, cseq;
	uint32_t file, line;
	uint32_t proc;  /* interned process */
	uint32_t key;   /* interned key, or NONE */
	uint32_t str;   /* interned status (completions) or fault kind (nemesis) */
	uint32_t nodes; /* interned nodes= of a nemesis line, or NONE */
	uint32_t write; /* index in a->wr for incr/decr, NONE until matched */
	uint16_t w, r, node;
	uint8_t kind, op, flags, token;
};

/* One write operation: every event with its op id. */
struct wr {
	uint64_t cid, cseq;
	int64_t delta;
	int64_t first_inv, first_ok;
	uint32_t key, inv_ev, ok_ev, ok_proc;
	uint32_t ninv, nok, nfail, ninfo, nopen;
	unsigned wq; /* the acknowledged attempt's W (the cluster's w when not given); 0 unknown */
	uint8_t op, outcome;
};

enum { OUT_ACKED, OUT_FAILED, OUT_UNRESOLVED };

/* Open-addressing map from a pair of u64 to a u32. */
struct map2 {
	uint64_t *ka, *kb;
	uint32_t *v;
	size_t cap, n;
};

/* Interned strings. */
struct strtab {
	char **s;
	size_t n, cap;
	uint32_t *slot; /* hash slots holding string ids, NONE when empty */
	size_t scap;
};

/* One get ok: a quorum read. */
struct rd {
	uint32_t inv_ev, ok_ev, proc, key;
	int64_t own_i, own_d;   /* the session's own acknowledged writes of the key before it */
	uint32_t own_last_ev;   /* the last of them, NONE if none */
	uint32_t prev;          /* the session's previous read of the key, NONE if none */
};

/* Per session and key, during the sweep. */
struct pstate {
	int64_t own_i, own_d;
	uint32_t own_last_ev, last_read;
};

/* A fault: active from start to stop, extended by the settle time. */
struct interval {
	int64_t s, e;
	uint32_t start_ev;
};

/* Writes of one key of one direction, sorted by a time, with prefix sums. */
struct wlist {
	size_t n;
	int64_t *t;     /* sort time: first invoke (possible) or first ok (acknowledged) */
	int64_t *cum;   /* n + 1 prefix sums of delta */
	int64_t *inv;   /* first invoke of each */
	uint32_t *w;    /* write index of each */
	int64_t **st;   /* sparse table of min(inv) for range queries, built when asked */
	unsigned levels;
};

struct gset {
	struct wlist inc, dec;
};

/* Per key. */
struct keyd {
	uint32_t str;
	bool has_decr, written;
	uint32_t *wids;
	size_t nw;
	struct wlist pinc, pdec; /* possible: not definitely failed, by first invoke */
	uint32_t gall;           /* gset of every acknowledged write */
	int64_t a_i, a_d, u_i, u_d; /* acknowledged and unresolved writes' sums */
	uint32_t locals;         /* head of this key's (key, node) states after the heal */
	bool fpn;                /* the final state has p and n */
	int64_t f, pf, nf;       /* the final state the replicas agree on */
};

/* Latest local read of a (key, node) after the last heal. */
struct lstate {
	uint32_t key, latest, next;
	int64_t t0;
	bool matching;
};

struct kindq {
	uint32_t str;
	uint64_t starts;
	uint32_t *q;
	size_t head, n, cap;
};

struct errrec {
	uint64_t at; /* file << 32 | line */
	uint32_t seq;
	char *s;
};

struct anom {
	struct tally_audit_anomaly a;
	uint32_t seq;
};

struct tally_audit {
	struct tally_audit_opts o;
	bool ran, oom;
	char **files;
	size_t nfiles, cfiles;
	struct ev *ev;
	size_t nev, cev;
	struct strtab st;
	struct map2 ids;
	struct wr *wr;
	size_t nwr, cwr;
	uint32_t s_nemesis, s_cluster;

	bool have_cfg, cfg_has_settle;
	unsigned cfg_n, cfg_w, cfg_r;
	int64_t cfg_settle;
	uint32_t cfg_ev;

	struct errrec *erec; /* the errors kept, in the order found */
	char **errs;         /* the same texts by FILE:LINE, for the report */
	size_t nerrs_kept, cerrs;
	uint64_t nerrs;
	unsigned max_errors;

	/* per process (string id): its last event in the order read, to catch time going back */
	uint32_t *last_of_proc;
	size_t nlast, clast;

	/* tally_audit_run() */
	unsigned n, w, r;
	int64_t settle_us;
	uint32_t *order;
	struct rd *rd;
	size_t nrd, crd;
	struct pstate *ps;
	size_t nps, cps;
	struct map2 psmap, ackmap, gmap, lmap;
	uint32_t *locals;
	size_t nlocals, clocals;
	struct interval *iv;
	size_t niv, civ;
	int64_t *ivmax;
	struct kindq *kinds;
	size_t nkinds, ckinds;
	struct keyd *keys;
	size_t nkeys;
	uint32_t *keyidx; /* string id -> key index */
	struct gset *gs;
	size_t ngs, cgs;
	struct lstate *ls;
	size_t nls, cls;
	struct anom *an;
	size_t nan, can;
	char **texts;
	size_t ntexts, ctexts;
	const char **warn;
	size_t nwarn, cwarn;
	const char **unchecked;
	size_t nunchecked, cunchecked;

	bool have_heal;
	int64_t last_heal;
	uint32_t heal_ev, active_at_end; /* the last stop that left no fault active; a start never stopped */
	struct tally_audit_session *sess;
	size_t nsess, csess;
	uint32_t *sess_of; /* string id -> session index */
	struct tally_audit_anomaly *rep_anoms;
	struct tally_audit_session *rep_sessions;
	struct tally_audit_fault *rep_faults;
};

/* ---- small helpers ---- */

static bool
grow(struct tally_audit *a, void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * elem);
	if (q == NULL) {
		a->oom = true;
		return false;
	}
	*p = q;
	*cap = c;
	return true;
}

#define PUSH(a, arr, n, cap) (grow((a), (void **)&(arr), &(cap), (n) + 1, sizeof(*(arr))) ? &(arr)[(n)++] : NULL)

static const char *
keep(struct tally_audit *a, char *s)
{
	char **slot;

	if (s == NULL) {
		a->oom = true;
		return "";
	}
	slot = PUSH(a, a->texts, a->ntexts, a->ctexts);
	if (slot == NULL) {
		free(s);
		return "";
	}
	*slot = s;
	return s;
}

__attribute__((format(printf, 2, 3))) static const char *
fmt(struct tally_audit *a, const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return keep(a, s);
}

/* qsort, which must not be given a NULL array even when empty */
static void
sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static uint32_t
map2_get(const struct map2 *m, uint64_t ka, uint64_t kb)
{
	if (m->cap == 0)
		return NONE;
	size_t i = (size_t)(mix(ka * 31 + mix(kb)) & (m->cap - 1));
	for (;; i = (i + 1) & (m->cap - 1)) {
		if (m->v[i] == NONE)
			return NONE;
		if (m->ka[i] == ka && m->kb[i] == kb)
			return m->v[i];
	}
}

static bool
map2_put(struct tally_audit *a, struct map2 *m, uint64_t ka, uint64_t kb, uint32_t v)
{
	if (2 * (m->n + 1) > m->cap) {
		struct map2 g = { .cap = m->cap ? 2 * m->cap : 64 };
		g.ka = malloc(g.cap * sizeof(*g.ka));
		g.kb = malloc(g.cap * sizeof(*g.kb));
		g.v = malloc(g.cap * sizeof(*g.v));
		if (g.ka == NULL || g.kb == NULL || g.v == NULL) {
			free(g.ka);
			free(g.kb);
			free(g.v);
			a->oom = true;
			return false;
		}
		memset(g.v, 0xff, g.cap * sizeof(*g.v));
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i] != NONE)
				(void)map2_put(a, &g, m->ka[i], m->kb[i], m->v[i]);
		free(m->ka);
		free(m->kb);
		free(m->v);
		*m = g;
	}
	size_t i = (size_t)(mix(ka * 31 + mix(kb)) & (m->cap - 1));
	while (m->v[i] != NONE && !(m->ka[i] == ka && m->kb[i] == kb))
		i = (i + 1) & (m->cap - 1);
	if (m->v[i] == NONE)
		m->n++;
	m->ka[i] = ka;
	m->kb[i] = kb;
	m->v[i] = v;
	return true;
}

static void
map2_free(struct map2 *m)
{
	free(m->ka);
	free(m->kb);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static uint64_t
strhash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return mix(h);
}

/* The id of string @s, added if new; NONE when out of memory. */
static uint32_t
intern(struct tally_audit *a, const char *s)
{
	struct strtab *t = &a->st;

	if (2 * (t->n + 1) > t->scap) {
		size_t cap = t->scap ? 2 * t->scap : 256;
		uint32_t *slot = malloc(cap * sizeof(*slot));
		if (slot == NULL) {
			a->oom = true;
			return NONE;
		}
		memset(slot, 0xff, cap * sizeof(*slot));
		for (size_t k = 0; k < t->n; k++) {
			size_t i = (size_t)(strhash(t->s[k]) & (cap - 1));
			while (slot[i] != NONE)
				i = (i + 1) & (cap - 1);
			slot[i] = (uint32_t)k;
		}
		free(t->slot);
		t->slot = slot;
		t->scap = cap;
	}
	size_t i = (size_t)(strhash(s) & (t->scap - 1));
	for (; t->slot[i] != NONE; i = (i + 1) & (t->scap - 1))
		if (strcmp(t->s[t->slot[i]], s) == 0)
			return t->slot[i];
	char *copy = strdup(s);
	if (copy == NULL || !grow(a, (void **)&t->s, &t->cap, t->n + 1, sizeof(*t->s))) {
		free(copy);
		a->oom = true;
		return NONE;
	}
	t->s[t->n] = copy;
	t->slot[i] = (uint32_t)t->n;
	return (uint32_t)t->n++;
}

static const char *
S(const struct tally_audit *a, uint32_t id)
{
	return id == NONE ? "-" : a->st.s[id];
}

/* A parse error at @file:@line; the first max_errors keep their text. */
__attribute__((format(printf, 4, 5))) static void
perr(struct tally_audit *a, uint32_t file, uint32_t line, const char *f, ...)
{
	va_list ap;
	char *msg = NULL, *s = NULL;

	a->nerrs++;
	if (a->nerrs_kept >= a->max_errors)
		return;
	va_start(ap, f);
	if (vasprintf(&msg, f, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL || asprintf(&s, "%s:%u: %s", a->files[file], line, msg) < 0)
		s = NULL;
	free(msg);
	struct errrec *slot = PUSH(a, a->erec, a->nerrs_kept, a->cerrs);
	if (slot == NULL || s == NULL) {
		free(s);
		if (slot != NULL)
			a->nerrs_kept--;
		a->oom = true;
		return;
	}
	*slot = (struct errrec){ (uint64_t)file << 32 | line, (uint32_t)(a->nerrs_kept - 1), s };
}

/* "FILE:LINE" of event @e into @buf. */
static char *
locs(const struct tally_audit *a, uint32_t e, char *buf, size_t len)
{
	if (e == NONE)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s:%u", a->files[a->ev[e].file], a->ev[e].line);
	return buf;
}

/* ---- parsing ---- */

static bool
parse_i64(const char *s, int64_t *out)
{
	char *end;

	if (*s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static bool
parse_id(const char *s, uint64_t *c, uint64_t *q)
{
	const char *colon = strchr(s, ':');
	char *end;

	if (colon == NULL || colon == s || colon - s > 16)
		return false;
	for (const char *p = s; p < colon; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
			return false;
	*c = strtoull(s, &end, 16);
	return end == colon && parse_u64(colon + 1, UINT64_MAX, q);
}

static const char *const op_names[] = { "incr", "decr", "get", "local" };

static uint32_t
file_index(struct tally_audit *a, const char *name)
{
	for (size_t i = a->nfiles; i-- > 0;)
		if (strcmp(a->files[i], name) == 0)
			return (uint32_t)i;
	char *copy = strdup(name);
	char **slot = copy ? PUSH(a, a->files, a->nfiles, a->cfiles) : NULL;
	if (slot == NULL) {
		free(copy);
		a->oom = true;
		return NONE;
	}
	*slot = copy;
	return (uint32_t)(a->nfiles - 1);
}

static const char *
wdesc(const struct tally_audit *a, uint8_t op, uint32_t key, int64_t delta, char *buf, size_t len)
{
	snprintf(buf, len, "%s key=%s delta=%" PRId64, op_names[op], S(a, key), delta);
	return buf;
}

/* Check an event carrying an op id against the write of that id; create it from an invoke. */
static void
parse_id_event(struct tally_audit *a, struct ev *e, uint32_t self)
{
	uint32_t w = map2_get(&a->ids, e->cid, e->cseq);
	char b1[192], b2[192], l[256];

	if (w == NONE) {
		if (e->kind != EV_INVOKE)
			return; /* matched through the process's open invoke in the sweep */
		struct wr *x = PUSH(a, a->wr, a->nwr, a->cwr);
		if (x == NULL || !map2_put(a, &a->ids, e->cid, e->cseq, (uint32_t)(a->nwr - 1)))
			return;
		memset(x, 0, sizeof(*x));
		x->cid = e->cid;
		x->cseq = e->cseq;
		x->key = e->key;
		x->op = e->op;
		x->delta = e->delta;
		x->inv_ev = self;
		x->ok_ev = NONE;
		x->ok_proc = NONE;
		x->first_inv = INT64_MAX;
		x->first_ok = INT64_MAX;
		e->write = (uint32_t)(a->nwr - 1);
		return;
	}
	const struct wr *x = &a->wr[w];
	if (x->op != e->op || ((e->flags & F_KEY) && x->key != e->key) ||
	    ((e->flags & F_DELTA) && x->delta != e->delta)) {
		snprintf(l, sizeof(l), "%s:%u", a->files[a->ev[x->inv_ev].file], a->ev[x->inv_ev].line);
		perr(a, e->file, e->line, "op id %" PRIx64 ":%" PRIu64 " is %s at %s, here %s%s", e->cid, e->cseq,
		     wdesc(a, x->op, x->key, x->delta, b1, sizeof(b1)), l,
		     wdesc(a, e->op, (e->flags & F_KEY) ? e->key : x->key, (e->flags & F_DELTA) ? e->delta : x->delta,
			   b2, sizeof(b2)),
		     ": one id is one operation");
		return;
	}
	if (e->kind == EV_INVOKE)
		e->write = w;
}

static void
parse_line(struct tally_audit *a, uint32_t file, uint32_t line, char *s)
{
	char *tok[TOKENS_MAX];
	size_t nt = 0;

	for (char *p = s;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		if (nt == TOKENS_MAX) {
			perr(a, file, line, "more than %d fields", TOKENS_MAX);
			return;
		}
		tok[nt++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	if (nt == 0 || tok[0][0] == '#')
		return;
	if (nt < 4) {
		perr(a, file, line, "want TIME PROCESS EVENT OP [FIELD=VALUE ...], not %zu field%s", nt,
		     nt == 1 ? "" : "s");
		return;
	}

	struct ev e = { .file = file, .line = line, .key = NONE, .str = NONE, .nodes = NONE, .write = NONE };
	if (!parse_i64(tok[0], &e.t)) {
		perr(a, file, line, "TIME: want integer microseconds, not '%s'", tok[0]);
		return;
	}
	e.proc = intern(a, tok[1]);
	if (e.proc == NONE)
		return;
	enum role role = e.proc == a->s_nemesis ? ROLE_NEMESIS : e.proc == a->s_cluster ? ROLE_CLUSTER : ROLE_SESSION;
	const char *evn = tok[2], *opn = tok[3];

	switch (role) {
	case ROLE_NEMESIS:
		if (strcmp(evn, "start") == 0)
			e.kind = EV_START;
		else if (strcmp(evn, "stop") == 0)
			e.kind = EV_STOP;
		else {
			perr(a, file, line, "unknown event '%s' for nemesis: want start or stop", evn);
			return;
		}
		e.str = intern(a, opn);
		break;
	case ROLE_CLUSTER:
		if (strcmp(evn, "config") != 0) {
			perr(a, file, line, "unknown event '%s' for cluster: want config", evn);
			return;
		}
		if (strcmp(opn, "-") != 0) {
			perr(a, file, line, "cluster config: OP is '-', not '%s'", opn);
			return;
		}
		e.kind = EV_CONFIG;
		break;
	default:
		if (strcmp(evn, "invoke") == 0)
			e.kind = EV_INVOKE;
		else if (strcmp(evn, "ok") == 0)
			e.kind = EV_OK;
		else if (strcmp(evn, "fail") == 0)
			e.kind = EV_FAIL;
		else if (strcmp(evn, "info") == 0)
			e.kind = EV_INFO;
		else {
			perr(a, file, line, "unknown event '%s' for session %s: want invoke, ok, fail or info", evn,
			     tok[1]);
			return;
		}
		unsigned op;
		for (op = 0; op < TALLY_AUDIT_NOPS; op++)
			if (strcmp(opn, op_names[op]) == 0)
				break;
		if (op == TALLY_AUDIT_NOPS) {
			perr(a, file, line, "unknown op '%s': want incr, decr, get or local", opn);
			return;
		}
		e.op = (uint8_t)op;
		break;
	}

	/* fields */
	bool have_p = false, have_n = false, have_w = false, have_r = false, have_settle = false;
	uint64_t u;
	int64_t settle = 0;
	for (size_t i = 4; i < nt; i++) {
		char *eq = strchr(tok[i], '=');
		if (eq == NULL || eq == tok[i]) {
			perr(a, file, line, "want FIELD=VALUE, not '%s'", tok[i]);
			return;
		}
		*eq = '\0';
		const char *name = tok[i], *val = eq + 1;
		bool bad = false;
		if (role == ROLE_NEMESIS) {
			if (strcmp(name, "nodes") == 0)
				e.nodes = intern(a, val);
		} else if (role == ROLE_CLUSTER) {
			if (strcmp(name, "n") == 0 || strcmp(name, "w") == 0 || strcmp(name, "r") == 0) {
				bad = !parse_u64(val, QUORUM_MAX, &u) || u == 0;
				if (name[0] == 'n') {
					e.n = (int64_t)u;
					have_n = true;
				} else if (name[0] == 'w') {
					e.w = (uint16_t)u;
					have_w = true;
				} else {
					e.r = (uint16_t)u;
					have_r = true;
				}
			} else if (strcmp(name, "nodes") == 0) {
				bad = !parse_u64(val, 65535, &u) || u == 0;
				e.node = (uint16_t)u;
			} else if (strcmp(name, "settle_ms") == 0) {
				bad = !parse_u64(val, INT64_MAX / 1000, &u);
				settle = (int64_t)u;
				have_settle = true;
			}
		} else if (strcmp(name, "key") == 0) {
			bad = *val == '\0';
			e.key = intern(a, val);
			e.flags |= F_KEY;
		} else if (strcmp(name, "delta") == 0) {
			bad = !parse_u64(val, INT64_MAX, &u) || u == 0;
			e.delta = (int64_t)u;
			e.flags |= F_DELTA;
		} else if (strcmp(name, "id") == 0) {
			bad = !parse_id(val, &e.cid, &e.cseq);
			e.flags |= F_ID;
		} else if (strcmp(name, "w") == 0 || strcmp(name, "r") == 0) {
			bad = !parse_u64(val, QUORUM_MAX, &u);
			if (name[0] == 'w')
				e.w = (uint16_t)u;
			else
				e.r = (uint16_t)u;
		} else if (strcmp(name, "node") == 0) {
			bad = !parse_u64(val, 65535, &u);
			e.node = (uint16_t)u;
			e.flags |= F_NODE;
		} else if (strcmp(name, "token") == 0) {
			bad = !parse_u64(val, 1, &u);
			e.token = (uint8_t)u;
		} else if (strcmp(name, "value") == 0) {
			bad = !parse_i64(val, &e.value);
			e.flags |= F_VALUE;
		} else if (strcmp(name, "p") == 0 || strcmp(name, "n") == 0) {
			bad = !parse_u64(val, INT64_MAX, &u);
			if (name[0] == 'p') {
				e.p = (int64_t)u;
				have_p = true;
			} else {
				e.n = (int64_t)u;
				have_n = true;
			}
		} else if (strcmp(name, "status") == 0) {
			e.str = intern(a, val);
		}
		if (bad) {
			perr(a, file, line, "bad %s=%s", name, val);
			return;
		}
	}
	if (a->oom)
		return;

	if (role == ROLE_CLUSTER) {
		if (!have_n || !have_w || !have_r) {
			perr(a, file, line, "cluster config needs n=, w= and r=");
			return;
		}
		if (a->have_cfg && (a->cfg_n != (unsigned)e.n || a->cfg_w != e.w || a->cfg_r != e.r ||
				    (have_settle && a->cfg_has_settle && a->cfg_settle != settle))) {
			perr(a, file, line, "a second cluster config, different from the one at %s:%u",
			     a->files[a->ev[a->cfg_ev].file], a->ev[a->cfg_ev].line);
			return;
		}
		a->have_cfg = true;
		a->cfg_n = (unsigned)e.n;
		a->cfg_w = e.w;
		a->cfg_r = e.r;
		if (have_settle) {
			a->cfg_has_settle = true;
			a->cfg_settle = settle;
		}
		a->cfg_ev = (uint32_t)a->nev;
	} else if (role == ROLE_SESSION) {
		if (have_p != have_n) {
			perr(a, file, line, "p= and n= go together");
			return;
		}
		if (have_p) {
			e.flags |= F_PN;
			if ((e.flags & F_VALUE) && e.value != e.p - e.n) {
				perr(a, file, line, "value=%" PRId64 " is not p - n = %" PRId64, e.value, e.p - e.n);
				return;
			}
			e.value = e.p - e.n;
			e.flags |= F_VALUE;
		}
		bool is_write = e.op == TALLY_AUDIT_OP_INCR || e.op == TALLY_AUDIT_OP_DECR;
		if (e.op == TALLY_AUDIT_OP_LOCAL) {
			if (e.kind != EV_OK) {
				perr(a, file, line, "local is only an ok event (a replica's own state, no invoke)");
				return;
			}
			if (!(e.flags & F_KEY) || !(e.flags & F_NODE) || !(e.flags & F_VALUE)) {
				perr(a, file, line, "local ok needs key=, node= and value= (or p= and n=)");
				return;
			}
		} else if (e.kind == EV_INVOKE && !(e.flags & F_KEY)) {
			perr(a, file, line, "%s invoke needs key=", opn);
			return;
		} else if (e.kind == EV_INVOKE && is_write && (!(e.flags & F_DELTA) || !(e.flags & F_ID))) {
			perr(a, file, line, "%s invoke needs delta= and id=", opn);
			return;
		} else if (e.op == TALLY_AUDIT_OP_GET && e.kind == EV_OK && !(e.flags & F_VALUE)) {
			perr(a, file, line, "get ok needs value= (or p= and n=)");
			return;
		}
		if (is_write && (e.flags & F_ID))
			parse_id_event(a, &e, (uint32_t)a->nev);
	}
	if (a->oom)
		return;

	/* a session's own times never go back within one file: its operations are sequential */
	if (role == ROLE_SESSION) {
		if (!grow(a, (void **)&a->last_of_proc, &a->clast, a->st.n, sizeof(*a->last_of_proc)))
			return;
		while (a->nlast < a->st.n)
			a->last_of_proc[a->nlast++] = NONE;
		uint32_t prev = a->last_of_proc[e.proc];
		if (prev != NONE && a->ev[prev].file == file && a->ev[prev].t > e.t) {
			perr(a, file, line, "time goes back for %s: %" PRId64 " after %" PRId64 " at line %u", tok[1],
			     e.t, a->ev[prev].t, a->ev[prev].line);
			return;
		}
		a->last_of_proc[e.proc] = (uint32_t)a->nev;
	}

	struct ev *slot = PUSH(a, a->ev, a->nev, a->cev);
	if (slot != NULL)
		*slot = e;
}

int
tally_audit_add_line(struct tally_audit *a, const char *name, unsigned lineno, const char *line)
{
	if (a->ran)
		return -EBUSY;
	uint32_t f = file_index(a, name);
	char *copy = strdup(line);
	if (f == NONE || copy == NULL) {
		free(copy);
		return -ENOMEM;
	}
	parse_line(a, f, lineno, copy);
	free(copy);
	return a->oom ? -ENOMEM : 0;
}

int
tally_audit_add_file(struct tally_audit *a, const char *name, FILE *f)
{
	char *buf = NULL;
	size_t cap = 0;
	unsigned lineno = 0;

	if (a->ran)
		return -EBUSY;
	uint32_t fi = file_index(a, name);
	if (fi == NONE)
		return -ENOMEM;
	while (getline(&buf, &cap, f) >= 0) {
		parse_line(a, fi, ++lineno, buf);
		if (a->oom)
			break;
	}
	free(buf);
	if (a->oom)
		return -ENOMEM;
	return ferror(f) ? -EIO : 0;
}

struct tally_audit *
tally_audit_new(const struct tally_audit_opts *o)
{
	struct tally_audit *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	if (o != NULL)
		a->o = *o;
	a->max_errors = a->o.max_errors ? a->o.max_errors : TALLY_AUDIT_MAX_ERRORS_DEFAULT;
	a->s_nemesis = intern(a, "nemesis");
	a->s_cluster = intern(a, "cluster");
	if (a->oom) {
		tally_audit_free(a);
		return NULL;
	}
	return a;
}

/* ---- tally_audit_run(): merge and pair ---- */

struct tpair {
	int64_t t;
	uint32_t i;
};

static int
cmp_tpair(const void *x, const void *y)
{
	const struct tpair *p = x, *q = y;

	if (p->t != q->t)
		return p->t < q->t ? -1 : 1;
	return p->i < q->i ? -1 : p->i > q->i;
}

static int
cmp_interval(const void *x, const void *y)
{
	const struct interval *p = x, *q = y;

	if (p->s != q->s)
		return p->s < q->s ? -1 : 1;
	return p->start_ev < q->start_ev ? -1 : p->start_ev > q->start_ev;
}

static int64_t
sat_add(int64_t x, int64_t y)
{
	int64_t z;

	return __builtin_add_overflow(x, y, &z) ? INT64_MAX : z;
}

/* Stable order of the events by TIME (ties: the order they were read). */
static bool
sort_events(struct tally_audit *a)
{
	struct tpair *tp = malloc((a->nev + 1) * sizeof(*tp));

	a->order = malloc((a->nev + 1) * sizeof(*a->order));
	if (tp == NULL || a->order == NULL) {
		free(tp);
		a->oom = true;
		return false;
	}
	for (size_t i = 0; i < a->nev; i++)
		tp[i] = (struct tpair){ a->ev[i].t, (uint32_t)i };
	sort(tp, a->nev, sizeof(*tp), cmp_tpair);
	for (size_t i = 0; i < a->nev; i++)
		a->order[i] = tp[i].i;
	free(tp);
	return true;
}

static uint32_t *
table(struct tally_audit *a, size_t n)
{
	uint32_t *t = malloc((n + 1) * sizeof(*t));

	if (t == NULL)
		a->oom = true;
	else
		memset(t, 0xff, (n + 1) * sizeof(*t));
	return t;
}

static uint32_t
session_of(struct tally_audit *a, uint32_t proc)
{
	if (a->sess_of[proc] == NONE) {
		struct tally_audit_session *s = PUSH(a, a->sess, a->nsess, a->csess);
		if (s == NULL)
			return NONE;
		memset(s, 0, sizeof(*s));
		s->name = a->st.s[proc];
		a->sess_of[proc] = (uint32_t)(a->nsess - 1);
	}
	return a->sess_of[proc];
}

static uint32_t
pstate_of(struct tally_audit *a, uint32_t proc, uint32_t key)
{
	uint32_t i = map2_get(&a->psmap, proc, key);

	if (i != NONE)
		return i;
	struct pstate *p = PUSH(a, a->ps, a->nps, a->cps);
	if (p == NULL || !map2_put(a, &a->psmap, proc, key, (uint32_t)(a->nps - 1)))
		return NONE;
	*p = (struct pstate){ .own_last_ev = NONE, .last_read = NONE };
	return (uint32_t)(a->nps - 1);
}

static void
nemesis_event(struct tally_audit *a, uint32_t i, uint32_t *kind_of, int *active)
{
	const struct ev *e = &a->ev[i];
	struct kindq *k;

	if (kind_of[e->str] == NONE) {
		if (e->kind == EV_STOP) {
			perr(a, e->file, e->line, "nemesis stop %s with no %s fault active", S(a, e->str),
			     S(a, e->str));
			return;
		}
		k = PUSH(a, a->kinds, a->nkinds, a->ckinds);
		if (k == NULL)
			return;
		memset(k, 0, sizeof(*k));
		k->str = e->str;
		kind_of[e->str] = (uint32_t)(a->nkinds - 1);
	}
	k = &a->kinds[kind_of[e->str]];
	if (e->kind == EV_START) {
		uint32_t *q = PUSH(a, k->q, k->n, k->cap);
		if (q == NULL)
			return;
		*q = i;
		k->starts++;
		(*active)++;
		return;
	}
	if (k->head == k->n) {
		perr(a, e->file, e->line, "nemesis stop %s with no %s fault active", S(a, e->str), S(a, e->str));
		return;
	}
	uint32_t s = k->q[k->head++];
	struct interval *v = PUSH(a, a->iv, a->niv, a->civ);
	if (v == NULL)
		return;
	*v = (struct interval){ a->ev[s].t, sat_add(e->t, a->settle_us), s };
	if (--(*active) == 0) {
		a->have_heal = true;
		a->last_heal = e->t;
		a->heal_ev = i;
	}
}

/* A session's ok for write @wi: the write's outcome, and the session's own acknowledged sums. */
static void
write_ok(struct tally_audit *a, uint32_t i, const struct ev *inv, uint32_t wi)
{
	const struct ev *e = &a->ev[i];
	struct wr *w = &a->wr[wi];
	bool first_for_proc;

	w->nok++;
	if (w->ok_proc == NONE) {
		w->first_ok = e->t;
		w->ok_ev = i;
		w->ok_proc = e->proc;
		w->wq = inv->w ? inv->w : a->w;
		first_for_proc = true;
	} else if (w->ok_proc == e->proc) {
		first_for_proc = false;
	} else {
		/* acknowledged again, to another session: count it once for that one too */
		first_for_proc = map2_get(&a->ackmap, wi, e->proc) == NONE;
		if (first_for_proc && !map2_put(a, &a->ackmap, wi, e->proc, 1))
			return;
	}
	if (!first_for_proc)
		return;
	uint32_t p = pstate_of(a, e->proc, w->key);
	if (p == NONE)
		return;
	if (w->op == TALLY_AUDIT_OP_INCR)
		a->ps[p].own_i = sat_add(a->ps[p].own_i, w->delta);
	else
		a->ps[p].own_d = sat_add(a->ps[p].own_d, w->delta);
	a->ps[p].own_last_ev = i;
}

static void
completion(struct tally_audit *a, struct tally_audit_report *r, uint32_t i, uint32_t *open)
{
	struct ev *e = &a->ev[i];
	char l[256];
	uint32_t o = open[e->proc];

	if (o == NONE) {
		perr(a, e->file, e->line, "%s %s without an open invoke of %s",
		     e->kind == EV_OK ? "ok" : e->kind == EV_FAIL ? "fail" : "info", op_names[e->op], S(a, e->proc));
		return;
	}
	open[e->proc] = NONE;
	const struct ev *inv = &a->ev[o];
	locs(a, o, l, sizeof(l));
	if (inv->op != e->op) {
		perr(a, e->file, e->line, "%s completion, but the open invoke of %s at %s is a %s", op_names[e->op],
		     S(a, e->proc), l, op_names[inv->op]);
		return;
	}
	if ((e->flags & F_KEY) && e->key != inv->key) {
		perr(a, e->file, e->line, "key=%s, but its invoke at %s has key=%s", S(a, e->key), l, S(a, inv->key));
		return;
	}
	e->key = inv->key;
	e->r = inv->r;
	e->w = inv->w;
	e->token = inv->token;
	bool is_write = e->op == TALLY_AUDIT_OP_INCR || e->op == TALLY_AUDIT_OP_DECR;
	if (is_write) {
		if ((e->flags & F_ID) && (e->cid != inv->cid || e->cseq != inv->cseq)) {
			perr(a, e->file, e->line,
			     "id=%" PRIx64 ":%" PRIu64 ", but its invoke at %s has id=%" PRIx64 ":%" PRIu64, e->cid,
			     e->cseq, l, inv->cid, inv->cseq);
			return;
		}
		if ((e->flags & F_DELTA) && e->delta != inv->delta) {
			perr(a, e->file, e->line, "delta=%" PRId64 ", but its invoke at %s has delta=%" PRId64,
			     e->delta, l, inv->delta);
			return;
		}
		e->write = inv->write;
	}
	struct tally_audit_op_counts *c = &r->ops[e->op];
	if (e->kind == EV_OK)
		c->ok++;
	else if (e->kind == EV_FAIL)
		c->fail++;
	else
		c->info++;
	if (is_write) {
		if (e->write == NONE)
			return; /* its invoke had an error */
		struct wr *w = &a->wr[e->write];
		w->nopen--;
		if (e->kind == EV_OK)
			write_ok(a, i, inv, e->write);
		else if (e->kind == EV_FAIL)
			w->nfail++;
		else
			w->ninfo++;
		return;
	}
	if (e->kind != EV_OK)
		return;
	uint32_t p = pstate_of(a, e->proc, e->key);
	struct rd *d = p == NONE ? NULL : PUSH(a, a->rd, a->nrd, a->crd);
	if (d == NULL)
		return;
	*d = (struct rd){ .inv_ev = o, .ok_ev = i, .proc = e->proc, .key = e->key, .own_i = a->ps[p].own_i,
			  .own_d = a->ps[p].own_d, .own_last_ev = a->ps[p].own_last_ev, .prev = a->ps[p].last_read };
	a->ps[p].last_read = (uint32_t)(a->nrd - 1);
}

/* Pair invokes with completions in time order; collect writes' outcomes, reads, local reads and faults. */
static void
sweep(struct tally_audit *a, struct tally_audit_report *r)
{
	uint32_t *open = table(a, a->st.n), *kind_of = table(a, a->st.n);
	int active = 0;

	a->sess_of = table(a, a->st.n);
	a->active_at_end = NONE;
	if (a->oom)
		goto out;
	for (size_t oi = 0; oi < a->nev && !a->oom; oi++) {
		uint32_t i = a->order[oi];
		struct ev *e = &a->ev[i];

		if (e->kind == EV_CONFIG)
			continue;
		if (e->kind == EV_START || e->kind == EV_STOP) {
			nemesis_event(a, i, kind_of, &active);
			continue;
		}
		if (session_of(a, e->proc) == NONE)
			break;
		if (e->op == TALLY_AUDIT_OP_LOCAL) {
			uint32_t *l = PUSH(a, a->locals, a->nlocals, a->clocals);
			if (l != NULL)
				*l = i;
			r->ops[e->op].ok++;
			continue;
		}
		if (e->kind != EV_INVOKE) {
			completion(a, r, i, open);
			continue;
		}
		r->ops[e->op].invoked++;
		if (open[e->proc] != NONE) {
			char l[256];
			perr(a, e->file, e->line,
			     "%s invoke while the %s invoke of %s at %s is still open (no ok, fail or info)",
			     op_names[e->op], op_names[a->ev[open[e->proc]].op], S(a, e->proc),
			     locs(a, open[e->proc], l, sizeof(l)));
		}
		open[e->proc] = i;
		if (e->write != NONE) {
			struct wr *w = &a->wr[e->write];
			w->ninv++;
			w->nopen++;
			if (e->t < w->first_inv)
				w->first_inv = e->t;
		}
	}
	for (size_t k = 0; k < a->nkinds; k++) {
		struct kindq *q = &a->kinds[k];
		for (size_t j = q->head; j < q->n; j++) {
			struct interval *v = PUSH(a, a->iv, a->niv, a->civ);
			if (v == NULL)
				break;
			*v = (struct interval){ a->ev[q->q[j]].t, INT64_MAX, q->q[j] };
			if (a->active_at_end == NONE || a->ev[q->q[j]].t < a->ev[a->active_at_end].t)
				a->active_at_end = q->q[j];
		}
	}
out:
	free(open);
	free(kind_of);
}

/* ---- per-key write lists ---- */

/* Sort @n writes (time, index) and build @l; false on no memory or a sum beyond INT64_MAX. */
static bool
wlist_build(struct tally_audit *a, struct wlist *l, struct tpair *items, size_t n)
{
	sort(items, n, sizeof(*items), cmp_tpair);
	l->n = n;
	l->t = malloc((n + 1) * sizeof(*l->t));
	l->cum = malloc((n + 1) * sizeof(*l->cum));
	l->inv = malloc((n + 1) * sizeof(*l->inv));
	l->w = malloc((n + 1) * sizeof(*l->w));
	if (l->t == NULL || l->cum == NULL || l->inv == NULL || l->w == NULL) {
		a->oom = true;
		return false;
	}
	l->cum[0] = 0;
	for (size_t i = 0; i < n; i++) {
		const struct wr *w = &a->wr[items[i].i];
		l->t[i] = items[i].t;
		l->w[i] = items[i].i;
		l->inv[i] = w->first_inv;
		if (__builtin_add_overflow(l->cum[i], w->delta, &l->cum[i + 1])) {
			perr(a, a->ev[w->inv_ev].file, a->ev[w->inv_ev].line,
			     "key %s: the deltas of its %s sum beyond 2^63 - 1", S(a, w->key), op_names[w->op]);
			return false;
		}
	}
	return true;
}

static void
wlist_free(struct wlist *l)
{
	free(l->t);
	free(l->cum);
	free(l->inv);
	free(l->w);
	if (l->st != NULL)
		for (unsigned k = 0; k < l->levels; k++)
			free(l->st[k]);
	free(l->st);
}

/* Entries with t <= @t. */
static size_t
count_le(const struct wlist *l, int64_t t)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->t[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Entries with t < @t. */
static size_t
count_lt(const struct wlist *l, int64_t t)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->t[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Sparse table of first invokes, for the earliest invoke of a range of writes. */
static bool
wlist_st(struct tally_audit *a, struct wlist *l)
{
	if (l->st != NULL || l->n == 0)
		return true;
	unsigned levels = 1;
	while (((size_t)1 << levels) <= l->n)
		levels++;
	l->st = calloc(levels, sizeof(*l->st));
	if (l->st == NULL) {
		a->oom = true;
		return false;
	}
	l->levels = levels;
	for (unsigned k = 0; k < levels; k++) {
		size_t len = l->n - ((size_t)1 << k) + 1, half = (size_t)1 << (k ? k - 1 : 0);
		l->st[k] = malloc(len * sizeof(**l->st));
		if (l->st[k] == NULL) {
			a->oom = true;
			return false;
		}
		for (size_t i = 0; i < len; i++)
			l->st[k][i] = k == 0 ? l->inv[i]
					     : (l->st[k - 1][i] < l->st[k - 1][i + half] ? l->st[k - 1][i]
											  : l->st[k - 1][i + half]);
	}
	return true;
}

/* min(inv[i..j)), j > i */
static int64_t
range_min(const struct wlist *l, size_t i, size_t j)
{
	unsigned k = 0;

	while (((size_t)2 << k) <= j - i)
		k++;
	int64_t x = l->st[k][i], y = l->st[k][j - ((size_t)1 << k)];
	return x < y ? x : y;
}

/* The acknowledged writes of key @k with W >= @wmin (0: all), sorted by first ok. */
static struct gset *
gset_of(struct tally_audit *a, uint32_t k, unsigned wmin)
{
	uint32_t g = map2_get(&a->gmap, k, wmin);

	if (g != NONE)
		return &a->gs[g];
	const struct keyd *kd = &a->keys[k];
	struct tpair *inc = malloc((kd->nw + 1) * sizeof(*inc)), *dec = malloc((kd->nw + 1) * sizeof(*dec));
	size_t ni = 0, nd = 0;
	struct gset *s = PUSH(a, a->gs, a->ngs, a->cgs);
	if (inc == NULL || dec == NULL || s == NULL) {
		free(inc);
		free(dec);
		a->oom = true;
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	for (size_t j = 0; j < kd->nw; j++) {
		const struct wr *w = &a->wr[kd->wids[j]];
		if (w->outcome != OUT_ACKED || (wmin > 0 && w->wq < wmin))
			continue;
		struct tpair tp = { w->first_ok, kd->wids[j] };
		if (w->op == TALLY_AUDIT_OP_INCR)
			inc[ni++] = tp;
		else
			dec[nd++] = tp;
	}
	bool okb = wlist_build(a, &s->inc, inc, ni) && wlist_build(a, &s->dec, dec, nd) &&
		   (wmin == 0 || (wlist_st(a, &s->inc) && wlist_st(a, &s->dec)));
	free(inc);
	free(dec);
	if (!okb || !map2_put(a, &a->gmap, k, wmin, (uint32_t)(a->ngs - 1)))
		return NULL;
	return s;
}

/* Finish the writes, give keys dense indexes, and build each key's lists. */
static bool
build_keys(struct tally_audit *a, struct tally_audit_report *r)
{
	a->keyidx = table(a, a->st.n);
	if (a->keyidx == NULL)
		return false;
	for (size_t i = 0; i < a->nev; i++) {
		uint32_t k = a->ev[i].key;
		if (k != NONE && a->keyidx[k] == NONE)
			a->keyidx[k] = (uint32_t)a->nkeys++;
	}
	a->keys = calloc(a->nkeys + 1, sizeof(*a->keys));
	size_t *fill = calloc(a->nkeys + 1, sizeof(*fill));
	if (a->keys == NULL || fill == NULL) {
		free(fill);
		a->oom = true;
		return false;
	}
	for (size_t s = 0; s < a->st.n; s++)
		if (a->keyidx[s] != NONE)
			a->keys[a->keyidx[s]].str = (uint32_t)s;
	for (size_t k = 0; k < a->nkeys; k++)
		a->keys[k].locals = NONE;
	for (size_t i = 0; i < a->nwr; i++) {
		struct wr *w = &a->wr[i];
		struct keyd *kd = &a->keys[a->keyidx[w->key]];
		r->write_ids++;
		if (w->ninv > 1)
			r->retried++;
		if (w->nok > 0) {
			w->outcome = OUT_ACKED;
			r->acked++;
		} else if (w->ninfo == 0 && w->nopen == 0 && w->nfail > 0) {
			w->outcome = OUT_FAILED;
			r->failed++;
		} else {
			w->outcome = OUT_UNRESOLVED;
			r->unresolved++;
		}
		kd->nw++;
		kd->written = true;
		if (w->op == TALLY_AUDIT_OP_DECR)
			kd->has_decr = true;
		int64_t *sum = w->outcome == OUT_ACKED ? (w->op == TALLY_AUDIT_OP_INCR ? &kd->a_i : &kd->a_d)
			     : w->outcome == OUT_UNRESOLVED ? (w->op == TALLY_AUDIT_OP_INCR ? &kd->u_i : &kd->u_d)
							    : NULL;
		if (sum != NULL)
			*sum = sat_add(*sum, w->delta);
	}
	for (size_t k = 0; k < a->nkeys; k++) {
		a->keys[k].wids = malloc((a->keys[k].nw + 1) * sizeof(uint32_t));
		if (a->keys[k].wids == NULL) {
			free(fill);
			a->oom = true;
			return false;
		}
	}
	for (size_t i = 0; i < a->nwr; i++) {
		uint32_t k = a->keyidx[a->wr[i].key];
		a->keys[k].wids[fill[k]++] = (uint32_t)i;
	}
	free(fill);

	struct tpair *inc = malloc((a->nwr + 1) * sizeof(*inc)), *dec = malloc((a->nwr + 1) * sizeof(*dec));
	bool ok = inc != NULL && dec != NULL;
	for (size_t k = 0; ok && k < a->nkeys; k++) {
		struct keyd *kd = &a->keys[k];
		size_t ni = 0, nd = 0;
		for (size_t j = 0; j < kd->nw; j++) {
			const struct wr *w = &a->wr[kd->wids[j]];
			if (w->outcome == OUT_FAILED)
				continue;
			struct tpair tp = { w->first_inv, kd->wids[j] };
			if (w->op == TALLY_AUDIT_OP_INCR)
				inc[ni++] = tp;
			else
				dec[nd++] = tp;
		}
		ok = wlist_build(a, &kd->pinc, inc, ni) && wlist_build(a, &kd->pdec, dec, nd) &&
		     gset_of(a, (uint32_t)k, 0) != NULL;
		if (ok)
			kd->gall = map2_get(&a->gmap, (uint32_t)k, 0);
	}
	if (inc == NULL || dec == NULL)
		a->oom = true;
	free(inc);
	free(dec);
	return ok;
}

/* ---- checks ---- */

static struct anom *
anomaly(struct tally_audit *a, enum tally_audit_class c, enum tally_audit_verdict v, uint32_t key, uint32_t proc,
	uint32_t at, const char *reason, const char *text)
{
	struct anom *x = PUSH(a, a->an, a->nan, a->can);

	if (x == NULL)
		return NULL;
	x->seq = (uint32_t)(a->nan - 1);
	x->a = (struct tally_audit_anomaly){
		.cls = c,
		.verdict = v,
		.key = S(a, key),
		.process = proc == NONE ? NULL : a->st.s[proc],
		.file = a->files[a->ev[at].file],
		.line = a->ev[at].line,
		.time = a->ev[at].t,
		.reason = reason,
		.text = text,
	};
	return x;
}

static const struct interval *
fault_overlap(const struct tally_audit *a, int64_t s, int64_t e)
{
	size_t lo = 0, hi = a->niv;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->iv[mid].s <= e)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || a->ivmax[lo - 1] < s)
		return NULL;
	hi = lo - 1;
	lo = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->ivmax[mid] >= s)
			hi = mid;
		else
			lo = mid + 1;
	}
	return &a->iv[lo];
}

/* "p=40 n=3" or "40" */
static const char *
seen(const struct ev *e, char *buf, size_t len)
{
	if (e->flags & F_PN)
		snprintf(buf, len, "p=%" PRId64 " n=%" PRId64, e->p, e->n);
	else
		snprintf(buf, len, "%" PRId64, e->value);
	return buf;
}

/*
 * The writes a stale read must have missed among @l's first @j (sorted by
 * first ok): the fewest latest ones that make up @deficit units. Older
 * writes had more time to reach every replica, so this is the shortest
 * window a fault must overlap to excuse the read. @return the earliest
 * first invoke among them; *@latest the last of them.
 */
static int64_t
missed_from(const struct wlist *l, size_t j, int64_t deficit, uint32_t *latest)
{
	int64_t x = l->cum[j] - deficit;
	size_t lo = 0, hi = j + 1;

	/* the largest i with cum[i] <= x, or 0 */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->cum[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t i = lo > 0 ? lo - 1 : 0;
	if (i >= j)
		i = j - 1;
	*latest = l->w[j - 1];
	return range_min(l, i, j);
}

static void
check_read(struct tally_audit *a, struct tally_audit_report *r, const struct rd *d)
{
	const struct ev *inv = &a->ev[d->inv_ev], *ok = &a->ev[d->ok_ev];
	uint32_t kx = a->keyidx[d->key];
	struct keyd *kd = &a->keys[kx];
	const struct gset *ga = &a->gs[kd->gall];
	struct tally_audit_session *ss = &a->sess[a->sess_of[d->proc]];
	int64_t poss_i = kd->pinc.cum[count_le(&kd->pinc, ok->t)], poss_d = kd->pdec.cum[count_le(&kd->pdec, ok->t)];
	int64_t g_i = ga->inc.cum[count_lt(&ga->inc, inv->t)], g_d = ga->dec.cum[count_lt(&ga->dec, inv->t)];
	bool pn = ok->flags & F_PN;
	int64_t P = ok->p, N = ok->n, V = ok->value;
	unsigned rq = inv->r ? inv->r : a->r;
	char desc[256], saw[64], l1[256];

	r->reads_checked++;
	ss->reads++;
	if (rq)
		snprintf(desc, sizeof(desc), "%s get key=%s r=%u at %s:%u", S(a, d->proc), S(a, d->key), rq,
			 a->files[ok->file], ok->line);
	else
		snprintf(desc, sizeof(desc), "%s get key=%s at %s:%u", S(a, d->proc), S(a, d->key), a->files[ok->file],
			 ok->line);
	seen(ok, saw, sizeof(saw));

	/* above everything invoked (without p and n, a value above what the decr acknowledged
	 * allow but not above every incr invoked may be a missed decr: stale, below) */
	bool ph_i = pn ? P > poss_i : V > poss_i, ph_d = pn ? N > poss_d : V < -poss_d;
	if (ph_i || ph_d)
		anomaly(a, TALLY_AUDIT_PHANTOM, TALLY_AUDIT_VIOLATION, d->key, d->proc, d->ok_ev,
			"read exceeds everything invoked: phantom or double-counted increment",
			fmt(a, "%s saw %s; the incr invoked before it completed sum to %" PRId64
			       ", the decr to %" PRId64, desc, saw, poss_i, poss_d));

	/* session guarantees */
	enum tally_audit_verdict sv =
		inv->token || a->o.expect_sessions ? TALLY_AUDIT_VIOLATION : TALLY_AUDIT_CONVERGENCE;
	const char *sreason = inv->token ? "session token presented"
			    : a->o.expect_sessions ? "--expect-sessions: every read is a session read"
						   : "no session token presented";
	bool ryw_i = pn ? P < d->own_i : d->own_i > 0 && !ph_d && V < d->own_i - poss_d;
	bool ryw_d = pn ? N < d->own_d : d->own_d > 0 && !ph_i && V > poss_i - d->own_d;
	bool ryw = ryw_i || ryw_d;
	if (ryw) {
		locs(a, d->own_last_ev, l1, sizeof(l1));
		const char *t;
		if (!pn && ryw_i && poss_d == 0)
			t = fmt(a, "%s saw %s; its own acknowledged incr before it sum to %" PRId64 " (last at %s)",
				desc, saw, d->own_i, l1);
		else if (!pn && ryw_i)
			t = fmt(a, "%s saw %s; its own acknowledged incr before it sum to %" PRId64
				   ", and at most %" PRId64 " of decr were possible (last at %s)",
				desc, saw, d->own_i, poss_d, l1);
		else if (!pn)
			t = fmt(a, "%s saw %s; its own acknowledged decr before it sum to %" PRId64
				   ", and at most %" PRId64 " of incr were possible (last at %s)",
				desc, saw, d->own_d, poss_i, l1);
		else if (ryw_i && ryw_d)
			t = fmt(a, "%s saw %s; its own acknowledged incr before it sum to %" PRId64 ", decr to %" PRId64
				   " (last at %s)", desc, saw, d->own_i, d->own_d, l1);
		else
			t = fmt(a, "%s saw %s; its own acknowledged %s before it sum to %" PRId64 " (last at %s)", desc,
				saw, ryw_i ? "incr" : "decr", ryw_i ? d->own_i : d->own_d, l1);
		anomaly(a, TALLY_AUDIT_RYW, sv, d->key, d->proc, d->ok_ev, sreason, t);
		ss->ryw[sv]++;
	}
	bool mr = false;
	if (d->prev != NONE) {
		const struct ev *pe = &a->ev[a->rd[d->prev].ok_ev];
		if (pn && (pe->flags & F_PN))
			mr = P < pe->p || N < pe->n;
		else if (!kd->has_decr)
			mr = V < pe->value;
		if (mr) {
			char s2[64];
			const char *t = fmt(a, "%s saw %s after %s at %s (its previous read of the key)", desc, saw,
					    seen(pe, s2, sizeof(s2)), locs(a, a->rd[d->prev].ok_ev, l1, sizeof(l1)));
			anomaly(a, TALLY_AUDIT_MR, sv, d->key, d->proc, d->ok_ev, sreason, t);
			ss->mr[sv]++;
		}
	}

	/* below what was acknowledged before it began (or, on values, above what its decr allow) */
	bool low = pn ? (P < g_i || N < g_d) : !ph_d && V < g_i - poss_d, high = !pn && !ph_i && V > poss_i - g_d;
	if (!low && !high)
		return;
	r->stale_reads++;
	enum tally_audit_verdict qv = TALLY_AUDIT_CONVERGENCE;
	const char *qreason, *qtext = "";
	if (a->n == 0) {
		qreason = "cluster n unknown: quorum not checked";
	} else if (rq == 0) {
		qreason = "read quorum unknown: quorum not checked";
	} else {
		/* only the acknowledged writes with w + r > n must be in it */
		unsigned wmin = rq >= a->n ? 1 : a->n - rq + 1;
		const struct gset *gs = gset_of(a, kx, wmin);
		if (gs == NULL)
			return;
		size_t ji = count_lt(&gs->inc, inv->t), jd = count_lt(&gs->dec, inv->t);
		int64_t di = pn ? gs->inc.cum[ji] - P : gs->inc.cum[ji] - poss_d - V;
		int64_t dd = pn ? gs->dec.cum[jd] - N : V - (poss_i - gs->dec.cum[jd]);
		if (ji == 0)
			di = 0;
		if (jd == 0)
			dd = 0;
		if (di > 0 || dd > 0) {
			int64_t start = INT64_MAX;
			uint32_t latest = NONE, w2;
			if (di > 0)
				start = missed_from(&gs->inc, ji, di, &latest);
			if (dd > 0) {
				int64_t s2 = missed_from(&gs->dec, jd, dd, &w2);
				if (s2 < start)
					start = s2;
				if (latest == NONE || a->wr[w2].first_ok > a->wr[latest].first_ok)
					latest = w2;
			}
			const struct wr *lw = &a->wr[latest];
			const struct interval *f = fault_overlap(a, start, ok->t);
			qtext = fmt(a, "; it missed W + R > N writes, the latest %s id=%" PRIx64 ":%" PRIu64
				       " delta=%" PRId64 " w=%u acknowledged at %s",
				    op_names[lw->op], lw->cid, lw->cseq, lw->delta, lw->wq,
				    locs(a, lw->ok_ev, l1, sizeof(l1)));
			if (f == NULL) {
				qv = TALLY_AUDIT_VIOLATION;
				qreason = "W + R > N with no fault: quorum read missed an acknowledged write";
			} else {
				const struct ev *fs = &a->ev[f->start_ev];
				bool nodes = fs->nodes != NONE;
				qreason = fmt(a, "sloppy quorum during %s%s%s at %s", S(a, fs->str),
					      nodes ? " nodes=" : "", nodes ? S(a, fs->nodes) : "",
					      locs(a, f->start_ev, l1, sizeof(l1)));
			}
		} else {
			qreason = "W + R <= N";
		}
	}
	enum tally_audit_verdict v = qv;
	const char *reason = qreason;
	if ((ryw || mr) && sv == TALLY_AUDIT_VIOLATION && qv != TALLY_AUDIT_VIOLATION) {
		v = TALLY_AUDIT_VIOLATION;
		reason = fmt(a, "%s broken with %s; otherwise %s", ryw ? "read-your-writes" : "monotonic reads",
			     inv->token ? "a session token" : "--expect-sessions", qreason);
	}
	const char *t;
	if (pn)
		t = fmt(a, "%s saw %s; incr acknowledged before it sum to %" PRId64 ", decr to %" PRId64 "%s", desc,
			saw, g_i, g_d, qtext);
	else if (low && poss_d == 0)
		t = fmt(a, "%s saw %s; %" PRId64 " acknowledged before it%s", desc, saw, g_i, qtext);
	else if (low)
		t = fmt(a, "%s saw %s; at least %" PRId64 " expected (%" PRId64 " incr acknowledged before it, "
			   "at most %" PRId64 " decr possible)%s", desc, saw, g_i - poss_d, g_i, poss_d, qtext);
	else
		t = fmt(a, "%s saw %s; at most %" PRId64 " expected (%" PRId64 " decr acknowledged before it, "
			   "at most %" PRId64 " incr possible)%s", desc, saw, poss_i - g_d, g_d, poss_i, qtext);
	anomaly(a, TALLY_AUDIT_STALE, v, d->key, d->proc, d->ok_ev, reason, t);
	r->stale[v]++;
}

static bool
same_state(const struct ev *x, const struct ev *y)
{
	if ((x->flags & F_PN) && (y->flags & F_PN))
		return x->p == y->p && x->n == y->n;
	return x->value == y->value;
}

static bool
is_final(const struct keyd *k, const struct ev *e)
{
	if (k->fpn && (e->flags & F_PN))
		return e->p == k->pf && e->n == k->nf;
	return e->value == k->f;
}

static int
cmp_node(const void *x, const void *y)
{
	uint16_t p = *(const uint16_t *)x, q = *(const uint16_t *)y;

	return p < q ? -1 : p > q;
}

static void
warn(struct tally_audit *a, const char *s)
{
	const char **w = PUSH(a, a->warn, a->nwarn, a->cwarn);

	if (w != NULL)
		*w = s;
}

static int64_t
pos(int64_t x)
{
	return x > 0 ? x : 0;
}

/* Lost and double-counted units of converged key @kd, whose latest local read is event @last. */
static void
final_units(struct tally_audit *a, struct tally_audit_report *r, const struct keyd *kd, uint32_t last,
	    const char *when)
{
	static const char lost_why[] = "final state below the acknowledged writes",
			  dbl_why[] = "final state above every write that may have been applied";
	char s[64], l1[256];
	const char *key = S(a, kd->str);
	int64_t au_i = sat_add(kd->a_i, kd->u_i), au_d = sat_add(kd->a_d, kd->u_d);

	seen(&a->ev[last], s, sizeof(s));
	locs(a, last, l1, sizeof(l1));
	if (kd->fpn) {
		int64_t lost_i = pos(kd->a_i - kd->pf), lost_d = pos(kd->a_d - kd->nf);
		int64_t dbl_i = pos(kd->pf - au_i), dbl_d = pos(kd->nf - au_d);
		if (lost_i > 0 || lost_d > 0) {
			r->lost_units += (uint64_t)lost_i + (uint64_t)lost_d;
			anomaly(a, TALLY_AUDIT_LOST, TALLY_AUDIT_VIOLATION, kd->str, NONE, last, lost_why,
				fmt(a, "key=%s: the replicas agree on %s %s (latest at %s); acknowledged incr sum to "
				       "%" PRId64 ", decr to %" PRId64 ": %" PRId64 " incr and %" PRId64
				       " decr units lost",
				    key, s, when, l1, kd->a_i, kd->a_d, lost_i, lost_d));
		}
		if (dbl_i > 0 || dbl_d > 0) {
			r->double_units += (uint64_t)dbl_i + (uint64_t)dbl_d;
			anomaly(a, TALLY_AUDIT_DOUBLE, TALLY_AUDIT_VIOLATION, kd->str, NONE, last, dbl_why,
				fmt(a, "key=%s: the replicas agree on %s %s (latest at %s); acknowledged and "
				       "unresolved incr sum to %" PRId64 ", decr to %" PRId64 ": %" PRId64
				       " incr and %" PRId64 " decr units counted twice or never invoked",
				    key, s, when, l1, au_i, au_d, dbl_i, dbl_d));
		}
		return;
	}
	int64_t lo = kd->a_i - au_d, hi = au_i - kd->a_d;
	if (kd->f < lo) {
		r->lost_units += (uint64_t)(lo - kd->f);
		anomaly(a, TALLY_AUDIT_LOST, TALLY_AUDIT_VIOLATION, kd->str, NONE, last, lost_why,
			fmt(a, "key=%s: the replicas agree on %s %s (latest at %s); at least %" PRId64 " expected "
			       "(acknowledged incr %" PRId64 ", acknowledged and unresolved decr %" PRId64 "): %" PRId64
			       " units lost",
			    key, s, when, l1, lo, kd->a_i, au_d, lo - kd->f));
	}
	if (kd->f > hi) {
		r->double_units += (uint64_t)(kd->f - hi);
		anomaly(a, TALLY_AUDIT_DOUBLE, TALLY_AUDIT_VIOLATION, kd->str, NONE, last, dbl_why,
			fmt(a, "key=%s: the replicas agree on %s %s (latest at %s); at most %" PRId64 " possible "
			       "(acknowledged and unresolved incr %" PRId64 ", acknowledged decr %" PRId64 "): %" PRId64
			       " units counted twice or never invoked",
			    key, s, when, l1, hi, au_i, kd->a_d, kd->f - hi));
	}
}

/* Final state per key from the local reads after the last heal, and the convergence time. */
static void
final_state(struct tally_audit *a, struct tally_audit_report *r)
{
	char l1[256];

	if (a->active_at_end != NONE) {
		const struct ev *s = &a->ev[a->active_at_end];
		warn(a, fmt(a, "the %s fault started at %s:%u never stops: final state and convergence not checked",
			    S(a, s->str), a->files[s->file], s->line));
		r->convergence_why = "a fault never stops";
		for (size_t k = 0; k < a->nkeys; k++)
			if (a->keys[k].written)
				r->keys_final_unchecked++;
		return;
	}
	int64_t h = a->have_heal ? a->last_heal : INT64_MIN;
	for (size_t j = 0; j < a->nlocals; j++) {
		const struct ev *e = &a->ev[a->locals[j]];
		if (e->t < h)
			continue;
		uint32_t k = a->keyidx[e->key], li = map2_get(&a->lmap, k, e->node);
		if (li == NONE) {
			struct lstate *s = PUSH(a, a->ls, a->nls, a->cls);
			if (s == NULL || !map2_put(a, &a->lmap, k, e->node, (uint32_t)(a->nls - 1)))
				return;
			*s = (struct lstate){ .key = k, .latest = a->locals[j], .next = a->keys[k].locals };
			a->keys[k].locals = (uint32_t)(a->nls - 1);
		} else {
			a->ls[li].latest = a->locals[j];
		}
	}
	const char *when = a->have_heal ? fmt(a, "after the last heal at %s", locs(a, a->heal_ev, l1, sizeof(l1)))
					: "at the end of the history";
	uint64_t unconverged = 0;
	for (size_t k = 0; k < a->nkeys; k++) {
		struct keyd *kd = &a->keys[k];
		if (kd->locals == NONE) {
			if (kd->written) {
				r->keys_final_unchecked++;
				const char **u = PUSH(a, a->unchecked, a->nunchecked, a->cunchecked);
				if (u != NULL)
					*u = a->st.s[kd->str];
			}
			continue;
		}
		r->keys_final_checked++;
		uint32_t last = NONE;
		bool agree = true, allpn = true;
		size_t nn = 0;
		for (uint32_t li = kd->locals; li != NONE; li = a->ls[li].next, nn++) {
			const struct ev *e = &a->ev[a->ls[li].latest];
			if (last == NONE || e->t > a->ev[last].t || (e->t == a->ev[last].t && a->ls[li].latest > last))
				last = a->ls[li].latest;
			if (!same_state(e, &a->ev[a->ls[kd->locals].latest]))
				agree = false;
			if (!(e->flags & F_PN))
				allpn = false;
		}
		if (!agree) {
			/* name each node's latest state, by node */
			uint16_t *nodes = malloc(nn * sizeof(*nodes));
			char *buf = NULL;
			size_t blen = 0;
			FILE *m = open_memstream(&buf, &blen);
			if (nodes == NULL || m == NULL) {
				free(nodes);
				if (m)
					fclose(m);
				free(buf);
				a->oom = true;
				return;
			}
			size_t c = 0;
			for (uint32_t li = kd->locals; li != NONE; li = a->ls[li].next)
				nodes[c++] = a->ev[a->ls[li].latest].node;
			sort(nodes, nn, sizeof(*nodes), cmp_node);
			fprintf(m, "key=%s %s: ", S(a, kd->str), when);
			for (size_t x = 0; x < nn; x++) {
				uint32_t li = map2_get(&a->lmap, k, nodes[x]);
				char s[64];
				fprintf(m, "%snode %u has %s (%s)", x ? ", " : "", nodes[x],
					seen(&a->ev[a->ls[li].latest], s, sizeof(s)),
					locs(a, a->ls[li].latest, l1, sizeof(l1)));
			}
			free(nodes);
			fclose(m);
			anomaly(a, TALLY_AUDIT_NOT_CONVERGED, TALLY_AUDIT_VIOLATION, kd->str, NONE, last,
				"replicas disagree after the last heal", keep(a, buf));
			unconverged++;
			continue;
		}
		const struct ev *fe = &a->ev[last];
		kd->fpn = allpn;
		kd->f = fe->value;
		kd->pf = fe->p;
		kd->nf = fe->n;
		final_units(a, r, kd, last, when);
	}
	if (a->nunchecked > 0) {
		char *buf = NULL;
		size_t blen = 0;
		FILE *m = open_memstream(&buf, &blen);
		if (m == NULL) {
			a->oom = true;
			return;
		}
		fprintf(m, "final value not checked for %zu written key%s with no local read %s: ", a->nunchecked,
			a->nunchecked == 1 ? "" : "s", a->have_heal ? "after the last heal" : "in the history");
		for (size_t x = 0; x < a->nunchecked && x < 10; x++)
			fprintf(m, "%s%s", x ? ", " : "", a->unchecked[x]);
		if (a->nunchecked > 10)
			fprintf(m, " and %zu more", a->nunchecked - 10);
		fclose(m);
		warn(a, keep(a, buf));
	}

	/* convergence: for each (key, node), the first of its trailing reads equal to the final state */
	if (!a->have_heal) {
		r->convergence_why = "no fault healed in the history";
		return;
	}
	if (unconverged > 0) {
		r->convergence_why =
			fmt(a, "%" PRIu64 " key%s did not converge", unconverged, unconverged == 1 ? "" : "s");
		return;
	}
	int64_t worst = INT64_MIN;
	for (size_t j = 0; j < a->nlocals; j++) {
		const struct ev *e = &a->ev[a->locals[j]];
		if (e->t < h)
			continue;
		uint32_t k = a->keyidx[e->key];
		struct lstate *s = &a->ls[map2_get(&a->lmap, k, e->node)];
		if (!is_final(&a->keys[k], e)) {
			s->matching = false;
		} else if (!s->matching) {
			s->matching = true;
			s->t0 = e->t;
		}
	}
	for (size_t x = 0; x < a->nls; x++)
		if (a->ls[x].t0 > worst)
			worst = a->ls[x].t0;
	if (a->nls == 0) {
		r->convergence_why = "no local reads after the last heal";
		return;
	}
	r->convergence_measured = true;
	r->convergence_ms = (worst - h + 999) / 1000;
	/* Writes still finishing after the heal (retries of indeterminate
	 * ones) move the final state: also measure from the last of them. */
	int64_t last = h;
	for (size_t j = 0; j < a->nev; j++) {
		const struct ev *e = &a->ev[j];
		if ((e->op == TALLY_AUDIT_OP_INCR || e->op == TALLY_AUDIT_OP_DECR) && e->kind != EV_INVOKE && e->t > last)
			last = e->t;
	}
	r->last_write = last;
	r->settle_after_write_ms = worst > last ? (worst - last + 999) / 1000 : 0;
}

/* Natural order of names: s2 before s10. */
static int
natcmp(const char *x, const char *y)
{
	while (*x && *y) {
		if (*x >= '0' && *x <= '9' && *y >= '0' && *y <= '9') {
			const char *xs = x, *ys = y;
			while (*xs == '0')
				xs++;
			while (*ys == '0')
				ys++;
			const char *xe = xs, *ye = ys;
			while (*xe >= '0' && *xe <= '9')
				xe++;
			while (*ye >= '0' && *ye <= '9')
				ye++;
			if (xe - xs != ye - ys)
				return xe - xs < ye - ys ? -1 : 1;
			int c = strncmp(xs, ys, (size_t)(xe - xs));
			if (c != 0)
				return c;
			x = xe;
			y = ye;
			continue;
		}
		if (*x != *y)
			return (unsigned char)*x < (unsigned char)*y ? -1 : 1;
		x++;
		y++;
	}
	return *x ? 1 : *y ? -1 : 0;
}

static int
cmp_session(const void *x, const void *y)
{
	return natcmp(((const struct tally_audit_session *)x)->name, ((const struct tally_audit_session *)y)->name);
}

static int
cmp_anom(const void *x, const void *y)
{
	const struct anom *p = x, *q = y;

	if (p->a.time != q->a.time)
		return p->a.time < q->a.time ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

static int
cmp_errrec(const void *x, const void *y)
{
	const struct errrec *p = x, *q = y;

	if (p->at != q->at)
		return p->at < q->at ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

int
tally_audit_run(struct tally_audit *a, struct tally_audit_report *r)
{
	memset(r, 0, sizeof(*r));
	if (a->ran)
		return -EBUSY;
	a->ran = true;
	if (a->oom)
		return -ENOMEM;

	a->n = a->o.n ? a->o.n : a->have_cfg ? a->cfg_n : 0;
	a->w = a->o.w ? a->o.w : a->have_cfg ? a->cfg_w : 0;
	a->r = a->o.r ? a->o.r : a->have_cfg ? a->cfg_r : 0;
	int64_t settle = a->o.have_settle ? a->o.settle_ms
			 : a->cfg_has_settle ? a->cfg_settle
					     : TALLY_AUDIT_SETTLE_MS_DEFAULT;
	a->settle_us = settle > INT64_MAX / 1000 ? INT64_MAX : settle * 1000;
	r->events = a->nev;
	r->nfiles = a->nfiles;
	r->have_cluster = a->n != 0;
	r->cluster_from_history = a->have_cfg && !a->o.n;
	r->n = a->n;
	r->w = a->w;
	r->r = a->r;
	r->settle_ms = settle;

	if (sort_events(a))
		sweep(a, r);
	if (a->nerrs == 0 && !a->oom)
		build_keys(a, r);
	r->nerrors = a->nerrs;
	if (a->nerrs_kept > 0) {
		a->errs = malloc(a->nerrs_kept * sizeof(*a->errs));
		if (a->errs == NULL)
			return -ENOMEM;
		sort(a->erec, a->nerrs_kept, sizeof(*a->erec), cmp_errrec);
		for (size_t i = 0; i < a->nerrs_kept; i++)
			a->errs[i] = a->erec[i].s;
		r->errors = (const char **)a->errs;
		r->nerrors_kept = a->nerrs_kept;
	}
	if (a->oom)
		return -ENOMEM;
	if (a->nerrs > 0)
		return -EINVAL;
	r->keys = a->nkeys;

	/* faults, sorted by start, with the running maximum of their ends */
	sort(a->iv, a->niv, sizeof(*a->iv), cmp_interval);
	a->ivmax = malloc((a->niv + 1) * sizeof(*a->ivmax));
	if (a->ivmax == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < a->niv; i++)
		a->ivmax[i] = i == 0 || a->iv[i].e > a->ivmax[i - 1] ? a->iv[i].e : a->ivmax[i - 1];

	if (a->n == 0)
		warn(a, "no cluster config line and no --replicas: quorums not checked, so every stale read without a "
			"session token counts as within convergence delay");
	for (size_t i = 0; i < a->nrd && !a->oom; i++)
		check_read(a, r, &a->rd[i]);
	if (!a->oom)
		final_state(a, r);
	if (a->oom)
		return -ENOMEM;
	r->have_heal = a->have_heal;
	r->last_heal = a->last_heal;

	/* the report's arrays */
	a->rep_faults = calloc(a->nkinds + 1, sizeof(*a->rep_faults));
	a->rep_sessions = calloc(a->nsess + 1, sizeof(*a->rep_sessions));
	a->rep_anoms = calloc(a->nan + 1, sizeof(*a->rep_anoms));
	if (a->rep_faults == NULL || a->rep_sessions == NULL || a->rep_anoms == NULL)
		return -ENOMEM;
	for (size_t k = 0; k < a->nkinds; k++) {
		a->rep_faults[k] = (struct tally_audit_fault){ a->st.s[a->kinds[k].str], a->kinds[k].starts };
		r->fault_total += a->kinds[k].starts;
	}
	r->faults = a->rep_faults;
	r->nfaults = a->nkinds;
	if (a->nsess > 0)
		memcpy(a->rep_sessions, a->sess, a->nsess * sizeof(*a->sess));
	sort(a->rep_sessions, a->nsess, sizeof(*a->rep_sessions), cmp_session);
	r->sessions = a->rep_sessions;
	r->nsessions = a->nsess;
	sort(a->an, a->nan, sizeof(*a->an), cmp_anom);
	for (size_t i = 0; i < a->nan; i++) {
		a->rep_anoms[i] = a->an[i].a;
		r->count[a->an[i].a.cls][a->an[i].a.verdict]++;
		if (a->an[i].a.verdict == TALLY_AUDIT_VIOLATION)
			r->violations++;
		else
			r->convergence++;
	}
	r->anomalies = a->rep_anoms;
	r->nanomalies = a->nan;
	r->warnings = a->warn;
	r->nwarnings = a->nwarn;
	return 0;
}

void
tally_audit_free(struct tally_audit *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nfiles; i++)
		free(a->files[i]);
	free(a->files);
	free(a->ev);
	for (size_t i = 0; i < a->st.n; i++)
		free(a->st.s[i]);
	free(a->st.s);
	free(a->st.slot);
	map2_free(&a->ids);
	free(a->wr);
	for (size_t i = 0; i < a->nerrs_kept; i++)
		free(a->erec[i].s);
	free(a->erec);
	free(a->errs);
	free(a->last_of_proc);
	free(a->order);
	free(a->rd);
	free(a->ps);
	map2_free(&a->psmap);
	map2_free(&a->ackmap);
	map2_free(&a->gmap);
	map2_free(&a->lmap);
	free(a->locals);
	free(a->iv);
	free(a->ivmax);
	for (size_t k = 0; k < a->nkinds; k++)
		free(a->kinds[k].q);
	free(a->kinds);
	for (size_t k = 0; k < a->nkeys; k++) {
		free(a->keys[k].wids);
		wlist_free(&a->keys[k].pinc);
		wlist_free(&a->keys[k].pdec);
	}
	free(a->keys);
	free(a->keyidx);
	for (size_t g = 0; g < a->ngs; g++) {
		wlist_free(&a->gs[g].inc);
		wlist_free(&a->gs[g].dec);
	}
	free(a->gs);
	free(a->ls);
	free(a->an);
	for (size_t i = 0; i < a->ntexts; i++)
		free(a->texts[i]);
	free(a->texts);
	free(a->warn);
	free(a->unchecked);
	free(a->sess);
	free(a->sess_of);
	free(a->rep_anoms);
	free(a->rep_sessions);
	free(a->rep_faults);
	free(a);
}

static const char *const class_names[] = { "phantom-read", "read-your-writes", "monotonic-reads", "stale-read",
					   "not-converged", "lost-write", "double-counted" };
static const char *const class_titles[] = { "phantom read", "read-your-writes", "monotonic reads", "stale read",
					    "not converged", "lost acknowledged write", "double-counted write" };

const char *
tally_audit_class_name(enum tally_audit_class c)
{
	return (unsigned)c < TALLY_AUDIT_NCLASSES ? class_names[c] : "?";
}

const char *
tally_audit_class_title(enum tally_audit_class c)
{
	return (unsigned)c < TALLY_AUDIT_NCLASSES ? class_titles[c] : "?";
}

const char *
tally_audit_verdict_name(enum tally_audit_verdict v)
{
	return v == TALLY_AUDIT_VIOLATION ? "violation" : v == TALLY_AUDIT_CONVERGENCE ? "convergence delay" : "?";
}

const char *
tally_audit_op_name(enum tally_audit_op op)
{
	return (unsigned)op < TALLY_AUDIT_NOPS ? op_names[op] : "?";
}
