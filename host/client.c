/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * libtallyclient. Operations in flight live in a ring indexed by their
 * sequence number, so an answer finds its operation in one step; a
 * sequence's slot is reused only after its operation completed.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "wire.h"

#define RING 1024 /* > TALLY_CLIENT_MAX_IN_FLIGHT, a power of two */
/* The most client records one datagram carries (a 9000-byte MTU, one-beat records). */
#define MAX_BATCH ((TALLY_WIRE_MAX_PAYLOAD - TALLY_WIRE_HDR_LEN - TALLY_WIRE_MAC_LEN) / 64)

struct pending {
	bool busy;
	uint8_t got;               /* sibling records received so far */
	uint8_t nsib;
	struct tally_client_value sib[TALLY_CLIENT_MAX_SIBLINGS];
	bool custom;               /* op id given by the caller (submit_id): never renewed */
	bool renewed;              /* sent again under a new client id (unknown_client) */
	uint8_t sends;             /* datagrams that carried it, up to 255 */
	struct tally_wire_client r;
	uint64_t sent, deadline;
	void *user;
};

/* A session's token for one key. */
struct sess {
	bool used;
	uint8_t id[TALLY_WIRE_KEY_ID_LEN];
	uint8_t len;
	uint8_t tok[TALLY_WIRE_TOKEN_MAX];
};

struct tally_client {
	int fd;
	bool session, tokens;     /* tokens: ask for one in every answer */
	bool fail_unreachable, refused; /* refused: the kernel reported ICMP port unreachable */
	struct sess *sess;        /* TALLY_CLIENT_SESSION_KEYS entries, open addressing */
	struct tally_wire_key keys; /* the credential's key */
	uint32_t key_id;
	uint64_t id, next_seq;
	unsigned timeout_ms, retry_ms, batch;
	struct pending ring[RING];
	unsigned in_flight;
	/* the datagram being filled */
	struct tally_wire_writer w;
	bool open;
	uint8_t buf[TALLY_WIRE_L2L4_LEN + TALLY_WIRE_MAX_PAYLOAD];
	uint64_t frame_seq;
	/* completions found while resending, handed out by the next poll */
	struct tally_client_result done[RING];
	unsigned ndone;
	struct tally_client_stats st;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
random_id(void)
{
	uint64_t id = 0;

	while (id == 0)
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = now_ns() ^ (uint64_t)getpid() << 32;
	return id;
}

int
tally_client_credential(const uint8_t cluster_key[32], uint32_t id, uint8_t key[16])
{
	struct tally_wire_key k;

	if (tally_wire_client_key(&k, cluster_key, id) != 0)
		return -EIO;
	memcpy(key, k.k, sizeof(k.k));
	return 0;
}

tally_client_t *
tally_client_open(const struct tally_client_opts *o, int *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(o->port ? o->port : 7471) };
	tally_client_t *c;
	int sz = 4 << 20;

	if (inet_pton(AF_INET, o->host ? o->host : "127.0.0.1", &sa.sin_addr) != 1 || o->batch > MAX_BATCH) {
		*err = -EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(c->keys.k, o->key, sizeof(c->keys.k)); /* its credential: it holds no other key */
	c->key_id = o->key_id;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : 1000;
	c->retry_ms = o->retry_ms ? o->retry_ms : (c->timeout_ms / 4 ? c->timeout_ms / 4 : 1);
	c->batch = o->batch ? o->batch : MAX_BATCH;
	c->session = o->session;
	c->tokens = o->session || o->tokens;
	c->fail_unreachable = o->fail_unreachable;
	c->sess = calloc(TALLY_CLIENT_SESSION_KEYS, sizeof(*c->sess));
	if (c->sess == NULL) {
		free(c);
		*err = -ENOMEM;
		return NULL;
	}
	c->id = o->client_id ? o->client_id : random_id();
	c->next_seq = 1;
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		*err = -errno;
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return NULL;
	}
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return c;
}

void
tally_client_close(tally_client_t *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->sess);
	free(c);
}

/* The session slot of key @id: where it is, or where it would go (an old key's, when full). */
static struct sess *
sess_slot(const tally_client_t *c, const uint8_t id[TALLY_WIRE_KEY_ID_LEN])
{
	uint32_t h;

	memcpy(&h, id, 4);
	for (unsigned i = 0; i < TALLY_CLIENT_SESSION_KEYS; i++) {
		struct sess *e = &c->sess[(h + i) % TALLY_CLIENT_SESSION_KEYS];
		if (!e->used || memcmp(e->id, id, TALLY_WIRE_KEY_ID_LEN) == 0)
			return e;
	}
	return &c->sess[h % TALLY_CLIENT_SESSION_KEYS];
}

unsigned
tally_client_token_get(const tally_client_t *c, const void *key, size_t keylen, uint8_t *out)
{
	uint8_t id[TALLY_WIRE_KEY_ID_LEN];

	tally_wire_key_id(key, keylen, id);
	const struct sess *e = sess_slot(c, id);
	if (!e->used || memcmp(e->id, id, sizeof(id)) != 0)
		return 0;
	memcpy(out, e->tok, e->len);
	return e->len;
}

int
tally_client_token_set(tally_client_t *c, const void *key, size_t keylen, const uint8_t *tok, size_t len)
{
	uint8_t id[TALLY_WIRE_KEY_ID_LEN];

	if (len == 0 || len > TALLY_WIRE_TOKEN_MAX)
		return -EINVAL;
	tally_wire_key_id(key, keylen, id);
	struct sess *e = sess_slot(c, id);
	e->used = true;
	memcpy(e->id, id, sizeof(id));
	e->len = (uint8_t)len;
	memcpy(e->tok, tok, len);
	return 0;
}

uint64_t
tally_client_id(const tally_client_t *c)
{
	return c->id;
}

unsigned
tally_client_in_flight(const tally_client_t *c)
{
	return c->in_flight;
}

void
tally_client_stats(const tally_client_t *c, struct tally_client_stats *out)
{
	*out = c->st;
}

int
tally_client_flush(tally_client_t *c)
{
	if (!c->open)
		return 0;
	c->open = false;
	size_t len = tally_wire_finish(&c->w, &c->keys);
	ssize_t n = send(c->fd, c->buf + TALLY_WIRE_L2L4_LEN, len - TALLY_WIRE_L2L4_LEN, 0);
	if (n < 0) {
		/* An earlier datagram met "port unreachable": the node is not
		 * there (yet). Without fail_unreachable the resend tries again. */
		if (errno != ECONNREFUSED)
			return -errno;
		c->refused = true;
		return 0;
	}
	c->st.sent++;
	return 0;
}

static int
add(tally_client_t *c, const struct tally_wire_client *r)
{
	for (unsigned tries = 0;; tries++) {
		if (c->open && c->w.count >= c->batch) {
			int rc = tally_client_flush(c);
			if (rc != 0)
				return rc;
		}
		if (!c->open) {
			struct tally_wire_addr a = { 0 };
			struct tally_wire_hdr h = { .type = TALLY_WIRE_CLIENT_REQUEST, .sender = TALLY_WIRE_SENDER_CLIENT,
						    .epoch = c->key_id, .seq = ++c->frame_seq }; /* epoch: the credential's id */
			if (tally_wire_begin(&c->w, c->buf, sizeof(c->buf), 0, &a, &h) != 0)
				return -EINVAL;
			c->open = true;
		}
		int rc = tally_wire_add_client(&c->w, r);
		if (rc != -ENOSPC || tries > 0)
			return rc == 0 ? 0 : -EINVAL;
		rc = tally_client_flush(c); /* records take 1 to 6 beats: this one needs a datagram of its own */
		if (rc != 0)
			return rc;
	}
}

static int
submit(tally_client_t *c, unsigned op, const void *key, size_t keylen, uint64_t delta, unsigned quorum,
       uint64_t client, uint64_t seq, bool custom, const uint8_t *tok, unsigned toklen, const void *val,
       size_t vlen, void *user)
{
	bool write = op == TALLY_WIRE_OP_INCR || op == TALLY_WIRE_OP_DECR, put = op == TALLY_WIRE_OP_PUT;
	struct pending *p;

	if ((!write && !put && op != TALLY_WIRE_OP_GET) || keylen == 0 || keylen > TALLY_WIRE_CLIENT_STR_MAX ||
	    (write && delta == 0) || quorum > TALLY_MAX_NODES || seq == 0 || client == 0 ||
	    vlen > TALLY_WIRE_CLIENT_STR_MAX || (vlen > 0 && !put))
		return -EINVAL;
	write = write || put;
	if (c->in_flight + c->ndone >= TALLY_CLIENT_MAX_IN_FLIGHT || c->ring[seq % RING].busy)
		return -EAGAIN;
	p = &c->ring[seq % RING];
	memset(p, 0, sizeof(*p));
	p->r.op = (uint8_t)op;
	p->r.w = write ? (uint8_t)quorum : 0;
	p->r.r = write ? 0 : (uint8_t)quorum;
	p->r.client = client;
	p->r.seq = seq;
	p->r.delta = write ? delta : 0;
	p->r.deadline_ms = c->timeout_ms;
	p->r.flags = c->tokens ? TALLY_WIRE_CLIENT_FLAG_TOKEN : 0;
	p->r.key_len = (uint8_t)keylen;
	memcpy(p->r.key, key, keylen);
	p->r.value_len = (uint8_t)vlen;
	if (vlen > 0)
		memcpy(p->r.val, val, vlen);
	if (tok != NULL) {
		p->r.token_len = (uint8_t)toklen;
		memcpy(p->r.token, tok, toklen);
	} else if (c->session) {
		p->r.token_len = (uint8_t)tally_client_token_get(c, key, keylen, p->r.token);
	}
	p->custom = custom;
	p->user = user;
	p->sent = now_ns();
	p->deadline = p->sent + (uint64_t)c->timeout_ms * 1000000u;
	p->sends = 1;
	int rc = add(c, &p->r);
	if (rc != 0)
		return rc;
	p->busy = true;
	c->in_flight++;
	return 0;
}

int
tally_client_submit_id(tally_client_t *c, unsigned op, const void *key, size_t keylen, uint64_t delta,
		       unsigned quorum, uint64_t client, uint64_t seq, void *user)
{
	return submit(c, op, key, keylen, delta, quorum, client, seq, true, NULL, 0, NULL, 0, user);
}

int
tally_client_submit_after(tally_client_t *c, unsigned op, const void *key, size_t keylen, uint64_t delta,
			  unsigned quorum, const void *after, size_t afterlen, void *user)
{
	uint8_t tok[TALLY_WIRE_TOKEN_MAX];
	unsigned len;

	if (op == TALLY_WIRE_OP_GET || afterlen == 0 || afterlen > TALLY_WIRE_CLIENT_STR_MAX)
		return -EINVAL;
	len = tally_client_token_get(c, after, afterlen, tok);
	if (len == 0)
		return -ENOENT;
	int rc = submit(c, op, key, keylen, delta, quorum, c->id, c->next_seq, false, tok, len, NULL, 0, user);
	if (rc == 0)
		c->next_seq++;
	return rc;
}

int
tally_client_put(tally_client_t *c, const void *key, size_t keylen, const void *value, size_t vlen, unsigned w,
		 void *user)
{
	int rc = submit(c, TALLY_WIRE_OP_PUT, key, keylen, 0, w, c->id, c->next_seq, false, NULL, 0, value, vlen,
			user);

	if (rc == 0)
		c->next_seq++;
	return rc;
}

int
tally_client_submit(tally_client_t *c, unsigned op, const void *key, size_t keylen, uint64_t delta,
		    unsigned quorum, void *user)
{
	int rc = submit(c, op, key, keylen, delta, quorum, c->id, c->next_seq, false, NULL, 0, NULL, 0, user);

	if (rc == 0)
		c->next_seq++;
	return rc;
}

static void
complete(tally_client_t *c, struct pending *p, unsigned status, int64_t value, const uint8_t *tok, unsigned toklen)
{
	struct tally_client_result *d = &c->done[c->ndone++];

	d->token_len = (uint8_t)toklen;
	if (toklen > 0)
		memcpy(d->token, tok, toklen);
	d->nsib = p->nsib;
	memcpy(d->sib, p->sib, sizeof(d->sib));
	p->got = p->nsib = 0;
	if (c->session && status == TALLY_OK && toklen > 0)
		(void)tally_client_token_set(c, p->r.key, p->r.key_len, tok, toklen);

	d->op = p->r.op;
	d->status = (uint16_t)status;
	d->value = value;
	d->client = p->r.client;
	d->seq = p->r.seq;
	d->sends = p->sends;
	d->renewed = p->renewed;
	d->user = p->user;
	p->busy = false;
	c->in_flight--;
}

/*
 * @p p was answered unknown_client: the node no longer holds this client's
 * op ids (its dedup table evicted the client while it was idle), so it
 * would refuse every later one too. Take a new client id, once, and send
 * the operation again under it when that is safe: the library gave it its
 * op id, and one datagram carried it, whose answer says the origin did not
 * apply it (the coordinator pins it to that origin). @return whether it was
 * sent again (else it completes as unknown_client).
 */
static bool
renew(tally_client_t *c, struct pending *p)
{
	if (p->custom)
		return false;
	if (p->r.client == c->id) {
		c->id = random_id();
		c->next_seq = 1;
		c->st.new_ids++;
	}
	if (p->sends != 1)
		return false;
	/* A sequence whose ring slot is free: fewer than RING are in flight. */
	uint64_t seq = c->next_seq;
	while (c->ring[seq % RING].busy)
		seq++;
	c->next_seq = seq + 1;
	struct pending *q = &c->ring[seq % RING];
	uint64_t now = now_ns(), left = p->deadline > now ? (p->deadline - now) / 1000000u : 0;
	*q = *p;
	p->busy = false;
	q->r.client = c->id;
	q->r.seq = seq;
	q->r.deadline_ms = left ? (uint32_t)left : 1;
	q->sent = now;
	q->renewed = true;
	q->got = q->nsib = 0;
	if (add(c, &q->r) != 0) {
		complete(c, q, TALLY_E_UNKNOWN_CLIENT, 0, NULL, 0); /* not sent: as the node answered */
		return true;
	}
	c->st.renewed++;
	return true;
}

static void
receive(tally_client_t *c)
{
	static uint8_t buf[TALLY_WIRE_MAX_PAYLOAD + 64];
	struct tally_wire_frame f;

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == ECONNREFUSED)
				c->refused = true;
			return;
		}
		c->st.received++;
		if (tally_wire_decode_payload(buf, (size_t)n, &c->keys, &f) != TALLY_WIRE_OK ||
		    f.hdr.type != TALLY_WIRE_CLIENT_REPLY) {
			c->st.stray++;
			continue;
		}
		for (unsigned i = 0; i < f.hdr.count; i++) {
			struct tally_wire_client r;
			struct pending *p;

			tally_wire_get_client(&f, i, &r);
			p = &c->ring[r.seq % RING];
			/* A late answer to a resend is stray: its operation is done.
			 * So is one whose op id a newer operation reuses: a caller's
			 * own op ids (submit_id) and the library's numbering may
			 * meet, and a write's old answer must not complete a read
			 * (its token would take the session back in time). An answer
			 * names the op and, but for a refused datagram, the key. */
			if (!p->busy || p->r.seq != r.seq || p->r.client != r.client || p->r.op != r.op ||
			    (r.key_len > 0 && (r.key_len != p->r.key_len || memcmp(r.key, p->r.key, r.key_len) != 0))) {
				c->st.stray++;
				continue;
			}
			if (r.sib_count > 0) {
				/* An MV-register's siblings: one record each, maybe in several datagrams. */
				if (r.sib_index < TALLY_CLIENT_MAX_SIBLINGS) {
					p->sib[r.sib_index].len = r.value_len;
					memcpy(p->sib[r.sib_index].v, r.val, r.value_len);
				}
				p->nsib = r.sib_count < TALLY_CLIENT_MAX_SIBLINGS ? r.sib_count : TALLY_CLIENT_MAX_SIBLINGS;
				if (++p->got < r.sib_count)
					continue;
			}
			if (r.status == TALLY_E_UNKNOWN_CLIENT && renew(c, p))
				continue;
			complete(c, p, r.status, r.value, r.token, r.token_len);
		}
	}
}

/* After "port unreachable": with fail_unreachable, every operation in flight
 * completes as TALLY_CLIENT_E_UNREACHABLE (its sends say how sure that is). */
static void
unreachable(tally_client_t *c)
{
	if (!c->refused)
		return;
	c->refused = false;
	if (!c->fail_unreachable)
		return;
	for (unsigned i = 0; i < RING && c->in_flight > 0; i++)
		if (c->ring[i].busy)
			complete(c, &c->ring[i], TALLY_CLIENT_E_UNREACHABLE, 0, NULL, 0);
}

static void
resend_expire(tally_client_t *c)
{
	uint64_t now = now_ns();

	if (c->in_flight == 0)
		return;
	for (unsigned i = 0; i < RING; i++) {
		struct pending *p = &c->ring[i];
		if (!p->busy)
			continue;
		if (now >= p->deadline) {
			complete(c, p, TALLY_E_INDETERMINATE, 0, NULL, 0);
		} else if (now - p->sent >= (uint64_t)c->retry_ms * 1000000u) {
			uint64_t left = (p->deadline - now) / 1000000u;
			p->r.deadline_ms = left ? (uint32_t)left : 1;
			p->sent = now;
			if (add(c, &p->r) == 0) {
				c->st.resent++;
				if (p->sends < UINT8_MAX)
					p->sends++;
			}
		}
	}
	(void)tally_client_flush(c);
}

int
tally_client_poll(tally_client_t *c, struct tally_client_result *out, unsigned max, int timeout_ms)
{
	uint64_t until = now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
	int rc = tally_client_flush(c);

	if (rc != 0)
		return rc;
	for (;;) {
		receive(c);
		unreachable(c);
		resend_expire(c);
		if (c->ndone > 0 || c->in_flight == 0)
			break;
		uint64_t now = now_ns();
		if (now >= until)
			break;
		/* Wake for an answer, a resend or the caller's limit, whichever is first. */
		uint64_t wait = until - now, r = (uint64_t)c->retry_ms * 1000000u;
		if (wait > r)
			wait = r;
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		(void)poll(&pfd, 1, (int)(wait / 1000000u) + 1);
	}
	unsigned n = c->ndone < max ? c->ndone : max;
	memcpy(out, c->done, n * sizeof(*out));
	memmove(c->done, c->done + n, (c->ndone - n) * sizeof(*out));
	c->ndone -= n;
	return (int)n;
}

static int
one(tally_client_t *c, unsigned op, const char *key, uint64_t delta, unsigned quorum, int64_t *value)
{
	struct tally_client_result r;
	int rc;

	if (c->in_flight > 0 || c->ndone > 0)
		return -EBUSY;
	rc = tally_client_submit(c, op, key, strlen(key), delta, quorum, NULL);
	if (rc != 0)
		return rc;
	do {
		rc = tally_client_poll(c, &r, 1, (int)c->timeout_ms + 100);
	} while (rc == 0);
	if (rc < 0)
		return rc;
	if (r.status == TALLY_OK && value != NULL)
		*value = r.value;
	return r.status;
}

int
tally_client_incr(tally_client_t *c, const char *key, int64_t delta, unsigned w, int64_t *value)
{
	if (delta == 0 || delta == INT64_MIN)
		return -EINVAL;
	return one(c, delta > 0 ? TALLY_WIRE_OP_INCR : TALLY_WIRE_OP_DECR, key,
		   delta > 0 ? (uint64_t)delta : (uint64_t)-delta, w, value);
}

int
tally_client_get(tally_client_t *c, const char *key, unsigned r, int64_t *value)
{
	return one(c, TALLY_WIRE_OP_GET, key, 0, r, value);
}
