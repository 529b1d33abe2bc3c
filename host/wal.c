/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The write-ahead log and snapshots of one node. Files in the data directory:
 *
 *   snap-G   the whole state at the start of generation G (none for G = 0)
 *   wal-G    records appended during generation G
 *
 * Both are a 16-byte header ("TALLYSNP" or "TALLYWL2", then G) and records:
 *
 *   u32 body length | u8 type | 3 zero bytes | body | u64 XXH3-64 of all before
 *
 * Each commit ends with a COMMIT record: where the commit began in the file
 * and the log position it makes durable. A snapshot holds a MARK record
 * (the position when it was taken) and ends with an END record holding its
 * record count. The state is snap-G plus wal-G for the highest G any file
 * is named with; snap-G is renamed into place only once complete, so one
 * that is not is corruption, never a crash's leftover (that is snap.tmp).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "wal.h"

#define REC_HDR 8
#define REC_SUM 8
#define MAX_BODY (1u << 20)
#define TYPE_END 255    /* snapshot: its record count */
#define TYPE_COMMIT 254 /* log: where this commit began, and its position */
#define TYPE_MARK 253   /* snapshot: the position it was taken at */
#define FILE_HDR 16
#define LOG_MAGIC "TALLYWL2" /* a log with COMMIT records; TALLYWAL: one from before them */
#define MV_HDR (16 + 8 * TALLY_MAX_NODES + 8) /* key, context, sibling count */
#define MV_SIB (8 + 8 + 8 + TALLY_MVREG_VALUE_MAX) /* dot node, dot counter, length, value */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

/* Where each key and origin's SLOT record is in pending (its offset + 1), by
 * open addressing on the key id: a later SLOT of the same slot rewrites that
 * record instead of adding one. Entries of an older batch (map_gen) are empty. */
#define SLOT_MAP 4096
#define SLOT_PROBE 8

struct tally_wal {
	char dir[256];
	int dirfd;
	int fd;              /* the current log */
	uint64_t gen;
	struct buf pending;  /* records not yet written */
	uint32_t slot_at[SLOT_MAP], slot_gen[SLOT_MAP];
	uint32_t map_gen;    /* of pending's batch: moves on each time pending starts anew */
	int snap_fd;         /* the snapshot being written, -1 outside one */
	struct buf snap;
	uint64_t snap_count;
	int failed;          /* sticky: a write or sync failed */
	uint64_t position;   /* of the last durable commit */
	uint64_t advance;    /* the next commit's position is at least this */
	struct tally_wal_stats st;

	/* The commit pipeline (tally_wal_commit_start): the log thread writes
	 * and syncs flight while the caller appends to pending. One commit is
	 * in flight at a time; done reaches started when it is over. */
	struct buf flight;
	bool in_flight;
	uint64_t flight_pos;     /* the position the commit in flight makes durable */
	bool thread_up;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	uint64_t started;        /* commits handed to the thread (under mu) */
	bool quit;               /* under mu */
	_Atomic uint64_t done;   /* commits the thread finished: flight_rc and flight_ns are its results */
	int flight_rc;
	uint64_t flight_ns;
	_Atomic unsigned stall_ms; /* tests only: the thread waits this long before each commit */
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* little-endian hosts only, as the wire codec */
}

static void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static int
buf_reserve(struct buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 65536;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (p == NULL)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static size_t
body_len(const struct tally_wal_rec *r)
{
	switch (r->type) {
	case TALLY_WAL_SLOT:
		return 16 + 8 + 16;
	case TALLY_WAL_STATE:
		return 16 + 2 * 8 * TALLY_MAX_NODES;
	case TALLY_WAL_OPID:
		return 16;
	case TALLY_WAL_DEDUP:
		return 24 + 8 * (size_t)r->words;
	case TALLY_WAL_RECOVERED:
	case TALLY_WAL_DROP:
		return 16;
	case TALLY_WAL_EVICTED:
	case TYPE_END:
	case TYPE_MARK:
		return 8;
	case TALLY_WAL_PEER:
	case TYPE_COMMIT:
		return 16;
	case TALLY_WAL_PIN:
		return 32;
	case TALLY_WAL_MVREG:
		return r->mv == NULL ? 0 : MV_HDR + MV_SIB * (size_t)r->mv->count;
	}
	return 0;
}

/* Encode @r at the end of @b. */
static int
encode(struct buf *b, const struct tally_wal_rec *r)
{
	size_t bl = body_len(r);
	uint8_t *p;

	if (bl == 0 || bl > MAX_BODY || (r->type == TALLY_WAL_DEDUP && (r->words == 0 || r->bits == NULL)) ||
	    ((r->type == TALLY_WAL_SLOT || r->type == TALLY_WAL_PEER || r->type == TALLY_WAL_PIN) &&
	     r->origin >= TALLY_MAX_NODES))
		return -EINVAL;
	if (buf_reserve(b, REC_HDR + bl + REC_SUM) != 0)
		return -ENOMEM;
	p = b->p + b->len;
	memset(p, 0, REC_HDR + bl);
	put32(p, (uint32_t)bl);
	p[4] = r->type;
	uint8_t *q = p + REC_HDR;
	switch (r->type) {
	case TALLY_WAL_SLOT:
		memcpy(q, r->key, 16);
		q[16] = r->origin;
		put64(q + 24, r->p);
		put64(q + 32, r->n);
		break;
	case TALLY_WAL_STATE:
		memcpy(q, r->key, 16);
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
			put64(q + 16 + 8 * i, r->state.p.slot[i]);
			put64(q + 16 + 8 * (TALLY_MAX_NODES + i), r->state.n.slot[i]);
		}
		break;
	case TALLY_WAL_OPID:
	case TALLY_WAL_EVICTED:
	case TYPE_END:
	case TYPE_MARK:
	case TYPE_COMMIT:
		put64(q, r->client);
		if (r->type == TALLY_WAL_OPID || r->type == TYPE_COMMIT)
			put64(q + 8, r->seq);
		break;
	case TALLY_WAL_PEER:
		q[0] = r->origin;
		put64(q + 8, r->p);
		break;
	case TALLY_WAL_PIN:
		put64(q, r->client);
		put64(q + 8, r->seq);
		q[16] = r->origin;
		put64(q + 24, r->p);
		break;
	case TALLY_WAL_DEDUP:
		put64(q, r->client);
		put64(q + 8, r->seq);
		put32(q + 16, r->words);
		memcpy(q + 24, r->bits, 8 * (size_t)r->words);
		break;
	case TALLY_WAL_RECOVERED:
	case TALLY_WAL_DROP:
		memcpy(q, r->key, 16);
		break;
	case TALLY_WAL_MVREG:
		memcpy(q, r->key, 16);
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
			put64(q + 16 + 8 * i, r->mv->ctx.slot[i]);
		put64(q + 16 + 8 * TALLY_MAX_NODES, r->mv->count | (uint64_t)r->mv_lww << 63);
		for (uint32_t i = 0; i < r->mv->count; i++) {
			uint8_t *sb = q + MV_HDR + MV_SIB * (size_t)i;
			put64(sb, r->mv->sib[i].dot.node);
			put64(sb + 8, r->mv->sib[i].dot.counter);
			put64(sb + 16, r->mv->sib[i].len);
			memcpy(sb + 24, r->mv->sib[i].value, r->mv->sib[i].len);
		}
		break;
	}
	put64(p + REC_HDR + bl, XXH3_64bits(p, REC_HDR + bl));
	b->len += REC_HDR + bl + REC_SUM;
	return 0;
}

/* Decode the record at @p (@avail bytes). @return its length, 0 if torn or corrupt. */
static size_t
decode(const uint8_t *p, size_t avail, struct tally_wal_rec *r)
{
	if (avail < REC_HDR)
		return 0;
	uint32_t bl = get32(p);
	if (bl > MAX_BODY || avail < REC_HDR + (size_t)bl + REC_SUM || p[5] || p[6] || p[7])
		return 0;
	if (get64(p + REC_HDR + bl) != XXH3_64bits(p, REC_HDR + bl))
		return 0;
	memset(r, 0, sizeof(*r));
	r->type = p[4];
	const uint8_t *q = p + REC_HDR;
	switch (r->type) {
	case TALLY_WAL_DEDUP:
		if (bl < 24)
			return 0;
		r->words = get32(q + 16);
		break;
	case TALLY_WAL_MVREG: {
		/* One register, rebuilt here for the replay callback (which copies it). */
		static tally_mvreg_t mv;
		static bool init;
		if (!init) {
			tally_mvreg_init(&mv);
			init = true;
		}
		if (bl < MV_HDR)
			return 0;
		uint64_t count = get64(q + 16 + 8 * TALLY_MAX_NODES);
		r->mv_lww = count >> 63;
		count &= ~(UINT64_C(1) << 63);
		if (count > TALLY_MVREG_MAX_SIBLINGS * 4 || bl != MV_HDR + MV_SIB * count)
			return 0;
		tally_mvreg_fini(&mv);
		if (count > 0 && (mv.sib = calloc(count, sizeof(*mv.sib))) == NULL)
			return 0;
		mv.cap = mv.count = (uint32_t)count;
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
			mv.ctx.slot[i] = get64(q + 16 + 8 * i);
		for (uint64_t i = 0; i < count; i++) {
			const uint8_t *sb = q + MV_HDR + MV_SIB * i;
			uint64_t node = get64(sb), len = get64(sb + 16);
			if (node >= TALLY_MAX_NODES || len > TALLY_MVREG_VALUE_MAX)
				return 0;
			mv.sib[i].dot.node = (uint32_t)node;
			mv.sib[i].dot.counter = get64(sb + 8);
			mv.sib[i].len = (uint32_t)len;
			memcpy(mv.sib[i].value, sb + 24, len);
		}
		r->mv = &mv;
		memcpy(r->key, q, 16);
		return REC_HDR + bl + REC_SUM;
	}
	case TALLY_WAL_SLOT:
	case TALLY_WAL_STATE:
	case TALLY_WAL_OPID:
	case TALLY_WAL_RECOVERED:
	case TALLY_WAL_DROP:
	case TALLY_WAL_EVICTED:
	case TALLY_WAL_PEER:
	case TALLY_WAL_PIN:
	case TYPE_END:
	case TYPE_MARK:
	case TYPE_COMMIT:
		break;
	default:
		return 0;
	}
	if (bl != body_len(r))
		return 0;
	switch (r->type) {
	case TALLY_WAL_SLOT:
		memcpy(r->key, q, 16);
		r->origin = q[16];
		if (r->origin >= TALLY_MAX_NODES)
			return 0;
		r->p = get64(q + 24);
		r->n = get64(q + 32);
		break;
	case TALLY_WAL_STATE:
		memcpy(r->key, q, 16);
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
			r->state.p.slot[i] = get64(q + 16 + 8 * i);
			r->state.n.slot[i] = get64(q + 16 + 8 * (TALLY_MAX_NODES + i));
		}
		break;
	case TALLY_WAL_OPID:
		r->client = get64(q);
		r->seq = get64(q + 8);
		break;
	case TALLY_WAL_EVICTED:
	case TYPE_END:
	case TYPE_MARK:
		r->client = get64(q);
		break;
	case TYPE_COMMIT:
		r->client = get64(q);
		r->seq = get64(q + 8);
		break;
	case TALLY_WAL_PEER:
		r->origin = q[0];
		if (r->origin >= TALLY_MAX_NODES)
			return 0;
		r->p = get64(q + 8);
		break;
	case TALLY_WAL_PIN:
		r->client = get64(q);
		r->seq = get64(q + 8);
		r->origin = q[16];
		if (r->origin >= TALLY_MAX_NODES)
			return 0;
		r->p = get64(q + 24);
		break;
	case TALLY_WAL_DEDUP:
		r->client = get64(q);
		r->seq = get64(q + 8);
		r->bits = (const uint64_t *)(const void *)(q + 24); /* 8-aligned: records are multiples of 8 */
		break;
	case TALLY_WAL_RECOVERED:
	case TALLY_WAL_DROP:
		memcpy(r->key, q, 16);
		break;
	}
	return REC_HDR + bl + REC_SUM;
}

static int __attribute__((format(printf, 4, 5)))
errmsg(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* Read a whole file into memory. */
static int
slurp(int dirfd, const char *name, uint8_t **out, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	uint8_t *p;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) != 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	p = malloc((size_t)sb.st_size + 1);
	if (p == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, p + got, (size_t)sb.st_size - got);
		if (n <= 0) {
			int e = n < 0 ? -errno : -EIO;
			free(p);
			close(fd);
			return e;
		}
		got += (size_t)n;
	}
	close(fd);
	*out = p;
	*len = got;
	return 0;
}

static void
file_name(char *out, size_t len, const char *kind, uint64_t gen)
{
	snprintf(out, len, "%s-%016" PRIx64, kind, gen);
}

static bool
parse_name(const char *name, const char *kind, uint64_t *gen)
{
	size_t k = strlen(kind);
	char *end;

	if (strncmp(name, kind, k) != 0 || name[k] != '-' || strlen(name + k + 1) != 16)
		return false;
	*gen = strtoull(name + k + 1, &end, 16);
	return *end == '\0';
}

static bool
header_ok(const uint8_t *p, size_t len, const char *magic, uint64_t gen)
{
	return len >= FILE_HDR && memcmp(p, magic, 8) == 0 && get64(p + 8) == gen;
}

/* Whether snap-@gen is complete: a valid header, whole records, an END
 * record with their count. If not, *@bad is where it stops being one. */
static bool
snapshot_complete(const uint8_t *p, size_t len, uint64_t gen, size_t *bad)
{
	struct tally_wal_rec r;
	size_t off = FILE_HDR, n;
	uint64_t count = 0;

	*bad = 0;
	if (!header_ok(p, len, "TALLYSNP", gen))
		return false;
	while ((n = decode(p + off, len - off, &r)) != 0) {
		off += n;
		if (r.type == TYPE_END) {
			*bad = off;
			return r.client == count && off == len;
		}
		count++;
	}
	*bad = off;
	return false;
}

/* Replay the records of @p from its header on, up to the first that is not
 * whole and sound (*@good: where it is). The position grows with each
 * COMMIT and MARK. */
static int
replay(const uint8_t *p, size_t len, size_t *good, tally_wal_replay_fn fn, void *ctx, uint64_t *nrec,
       uint64_t *position)
{
	struct tally_wal_rec r;
	size_t off = FILE_HDR, n;

	while ((n = decode(p + off, len - off, &r)) != 0) {
		if (r.type == TYPE_COMMIT || r.type == TYPE_MARK) {
			uint64_t pos = r.type == TYPE_COMMIT ? r.seq : r.client;
			*position = pos > *position ? pos : *position;
		} else if (r.type != TYPE_END) {
			int rc = fn(ctx, &r);
			if (rc != 0)
				return rc;
			(*nrec)++;
		}
		off += n;
	}
	*good = off;
	return 0;
}

/* The first sound record at or after @from (records start 8-aligned). */
static size_t
next_sound(const uint8_t *p, size_t len, size_t from, struct tally_wal_rec *r)
{
	for (size_t off = from; off + REC_HDR + REC_SUM <= len; off += 8)
		if (decode(p + off, len - off, r) != 0)
			return off;
	return 0;
}

/*
 * The log reads well up to @bad and not there. Torn or corrupt? Commits are
 * written one after another, each only once the one before it is durable,
 * so only the last commit can be torn. The record at @bad is in the last
 * commit unless a sound record follows the end of its commit: the COMMIT
 * after @bad, when it began after @bad (then @bad's own commit was
 * complete) or when anything sound follows it. A @legacy log (header
 * TALLYWAL: written before COMMITs were) is corrupt when anything sound
 * follows @bad. @return where committed records resume (corrupt), or 0 (a
 * torn tail).
 */
static size_t
committed_after(const uint8_t *p, size_t len, size_t bad, bool legacy)
{
	struct tally_wal_rec r;
	size_t off = bad + 8;

	while ((off = next_sound(p, len, off, &r)) != 0) {
		size_t n = decode(p + off, len - off, &r);
		if (legacy)
			return off;
		if (r.type == TYPE_COMMIT)
			return r.client > bad ? r.client : next_sound(p, len, off + n, &r);
		off += n;
	}
	return 0;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create @name with a header for @gen, durable with its directory entry. */
static int
create_file(struct tally_wal *w, const char *name, const char *magic, uint64_t gen, int *fdout)
{
	uint8_t hdr[FILE_HDR];
	int fd = openat(w->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc;

	if (fd < 0)
		return -errno;
	memcpy(hdr, magic, 8);
	put64(hdr + 8, gen);
	rc = write_all(fd, hdr, sizeof(hdr));
	if (rc == 0 && fdatasync(fd) != 0)
		rc = -errno;
	if (rc == 0 && fsync(w->dirfd) != 0)
		rc = -errno;
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*fdout = fd;
	return 0;
}

int
tally_wal_open(const char *dir, tally_wal_replay_fn fn, void *ctx, struct tally_wal **out, char *err,
	       size_t errlen)
{
	struct tally_wal *w = calloc(1, sizeof(*w));
	uint64_t gen = 0, g;
	char name[64];
	uint8_t *data = NULL;
	size_t len = 0, good;
	DIR *d;
	struct dirent *de;
	int rc;

	if (w == NULL)
		return -ENOMEM;
	w->fd = w->snap_fd = -1;
	w->map_gen = 1; /* every slot_gen is 0: empty */
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0) {
		rc = errmsg(err, errlen, -errno, "%s: cannot open the data directory: %s", dir, strerror(errno));
		free(w);
		return rc;
	}

	/* The newest generation any file is named with is the one in force. */
	d = fdopendir(dup(w->dirfd));
	if (d == NULL) {
		rc = errmsg(err, errlen, -errno, "%s: cannot list: %s", dir, strerror(errno));
		goto fail;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if ((parse_name(de->d_name, "snap", &g) || parse_name(de->d_name, "wal", &g)) && g > gen)
			gen = g;
	closedir(d);
	w->gen = gen;

	if (gen > 0) {
		file_name(name, sizeof(name), "snap", gen);
		rc = slurp(w->dirfd, name, &data, &len);
		if (rc == -ENOENT) {
			rc = errmsg(err, errlen, -EBADMSG, "%s: wal-%016" PRIx64 " has no snapshot %s: the data directory "
					     "is incomplete", dir, gen, name);
			goto fail;
		}
		if (rc != 0) {
			rc = errmsg(err, errlen, rc, "%s/%s: cannot read the snapshot: %s", dir, name, strerror(-rc));
			goto fail;
		}
		if (!snapshot_complete(data, len, gen, &good)) {
			rc = errmsg(err, errlen, -EBADMSG, "%s/%s: the newest snapshot is corrupt or incomplete at offset "
					     "%zu of %zu bytes", dir, name, good, len);
			goto fail;
		}
		rc = replay(data, len, &good, fn, ctx, &w->st.replayed, &w->position);
		free(data);
		data = NULL;
		if (rc != 0) {
			rc = errmsg(err, errlen, rc, "%s/%s: replay failed: %s", dir, name, strerror(-rc));
			goto fail;
		}
	}

	file_name(name, sizeof(name), "wal", gen);
	rc = slurp(w->dirfd, name, &data, &len);
	if (rc == 0) {
		bool legacy = header_ok(data, len, "TALLYWAL", gen);
		if (!legacy && !header_ok(data, len, LOG_MAGIC, gen)) {
			rc = errmsg(err, errlen, -EBADMSG, "%s/%s: not a tally log of this generation", dir, name);
			goto fail;
		}
		rc = replay(data, len, &good, fn, ctx, &w->st.replayed, &w->position);
		size_t resume = good < len ? committed_after(data, len, good, legacy) : 0;
		free(data);
		data = NULL;
		if (rc != 0) {
			rc = errmsg(err, errlen, rc, "%s/%s: replay failed: %s", dir, name, strerror(-rc));
			goto fail;
		}
		if (resume != 0) {
			rc = errmsg(err, errlen, -EBADMSG, "%s/%s: the record at offset %zu is corrupt and committed records "
					     "follow it from offset %zu: not a torn tail", dir, name, good, resume);
			goto fail;
		}
		w->fd = openat(w->dirfd, name, O_WRONLY | O_CLOEXEC);
		if (w->fd < 0 || (good < len && (ftruncate(w->fd, (off_t)good) != 0 || fdatasync(w->fd) != 0)) ||
		    lseek(w->fd, 0, SEEK_END) < 0) {
			rc = errmsg(err, errlen, -errno, "%s/%s: cannot open for append: %s", dir, name, strerror(errno));
			goto fail;
		}
		w->st.torn_bytes = len - good;
		w->st.log_bytes = good;
	} else if (rc == -ENOENT) {
		rc = create_file(w, name, LOG_MAGIC, gen, &w->fd);
		if (rc != 0) {
			rc = errmsg(err, errlen, rc, "%s/%s: cannot create the log: %s", dir, name, strerror(-rc));
			goto fail;
		}
		w->st.log_bytes = FILE_HDR;
	} else {
		rc = errmsg(err, errlen, rc, "%s/%s: cannot read the log: %s", dir, name, strerror(-rc));
		goto fail;
	}
	w->st.position = w->position;

	/* Older generations and unfinished snapshots are no longer needed. */
	d = fdopendir(dup(w->dirfd));
	if (d != NULL) {
		rewinddir(d); /* the dup shares the first listing's offset */
		while ((de = readdir(d)) != NULL) {
			bool old = (parse_name(de->d_name, "snap", &g) && g != gen) ||
				   (parse_name(de->d_name, "wal", &g) && g != gen) ||
				   strcmp(de->d_name, "snap.tmp") == 0;
			if (old)
				(void)unlinkat(w->dirfd, de->d_name, 0);
		}
		closedir(d);
	}
	w->st.generation = gen;
	*out = w;
	return 0;
fail:
	free(data);
	if (w->fd >= 0)
		close(w->fd);
	close(w->dirfd);
	free(w);
	return rc;
}

/* The SLOT map forgets every entry: a new generation (0 never is one). */
static void
map_reset(struct tally_wal *w)
{
	if (++w->map_gen == 0) {
		memset(w->slot_gen, 0, sizeof(w->slot_gen));
		w->map_gen = 1;
	}
}

/* pending is empty again: a new batch, whose SLOT map starts empty. */
static void
pending_clear(struct tally_wal *w)
{
	w->pending.len = 0;
	map_reset(w);
}

/* A SLOT of a key and origin already in pending: rewrite it to the higher
 * values (slot states only grow; replay merges with max). @return whether
 * it was there; else *slot_j is where to remember the new one (or SLOT_MAP). */
static bool
slot_coalesce(struct tally_wal *w, const struct tally_wal_rec *r, unsigned *slot_j)
{
	uint32_t h;

	memcpy(&h, r->key, sizeof(h)); /* a key id is a hash already */
	h ^= (uint32_t)r->origin * 0x9e3779b1u;
	*slot_j = SLOT_MAP;
	for (unsigned k = 0; k < SLOT_PROBE; k++) {
		unsigned j = (h + k) & (SLOT_MAP - 1);
		if (w->slot_gen[j] != w->map_gen) {
			*slot_j = j;
			return false;
		}
		uint8_t *p = w->pending.p + w->slot_at[j] - 1, *q = p + REC_HDR;
		if (memcmp(q, r->key, 16) != 0 || q[16] != r->origin)
			continue;
		uint64_t op, on;
		memcpy(&op, q + 24, 8);
		memcpy(&on, q + 32, 8);
		put64(q + 24, r->p > op ? r->p : op);
		put64(q + 32, r->n > on ? r->n : on);
		put64(q + get32(p), XXH3_64bits(p, REC_HDR + get32(p)));
		return true;
	}
	return false; /* the probe is full: a record of its own */
}

int
tally_wal_append(struct tally_wal *w, const struct tally_wal_rec *r)
{
	unsigned j = SLOT_MAP;

	if (r->type == 0 || r->type >= TALLY_WAL_TYPE_END)
		return -EINVAL;
	if (w->failed)
		return w->failed; /* nothing can be made durable: hold nothing more */
	if (r->type == TALLY_WAL_SLOT && r->origin < TALLY_MAX_NODES && slot_coalesce(w, r, &j)) {
		w->st.records++;
		w->st.coalesced++;
		return 0;
	}
	/* A record whose meaning depends on its place among a key's SLOTs (a
	 * drop, a recovery mark, a dedup page...): no later SLOT may move
	 * before it, so the batch's map starts again. */
	if (r->type != TALLY_WAL_SLOT && r->type != TALLY_WAL_STATE && r->type != TALLY_WAL_OPID &&
	    r->type != TALLY_WAL_PIN && r->type != TALLY_WAL_PEER)
		map_reset(w);
	size_t at = w->pending.len;
	int rc = encode(&w->pending, r);
	if (rc == 0) {
		w->st.records++;
		if (j < SLOT_MAP) {
			w->slot_at[j] = (uint32_t)at + 1;
			w->slot_gen[j] = w->map_gen;
		}
	}
	return rc;
}

bool
tally_wal_pending(const struct tally_wal *w)
{
	return w->pending.len > 0 || w->advance > w->position;
}

/* End what is pending with its COMMIT record. @return the position it makes durable, in *pos. */
static int
seal(struct tally_wal *w, uint64_t *pos)
{
	*pos = w->position + 1 > w->advance ? w->position + 1 : w->advance;
	struct tally_wal_rec c = { .type = TYPE_COMMIT, .client = w->st.log_bytes, .seq = *pos };
	return encode(&w->pending, &c);
}

/* Write @b and make it durable. @return 0 or -errno; the time taken in *ns. */
static int
flush(struct tally_wal *w, const struct buf *b, uint64_t *ns)
{
	unsigned stall = atomic_load_explicit(&w->stall_ms, memory_order_relaxed);
	uint64_t t0 = now_ns();

	if (stall > 0)
		usleep(stall * 1000u);
	int rc = write_all(w->fd, b->p, b->len);
	if (rc == 0 && fdatasync(w->fd) != 0)
		rc = -errno;
	*ns = now_ns() - t0;
	return rc;
}

/* A commit of @len bytes at @pos is over with @rc. */
static int
finish(struct tally_wal *w, int rc, size_t len, uint64_t pos, uint64_t ns)
{
	w->st.commit_ns += ns;
	if (rc != 0) {
		/* The file's end is now unknown: refuse everything after, and
		 * let go of what will never be written. */
		w->failed = rc;
		pending_clear(w);
		return rc;
	}
	w->st.commits++;
	w->st.log_bytes += len;
	w->position = w->st.position = pos;
	return 0;
}

/* The log thread: it sleeps until a commit is handed to it, writes and
 * syncs it, and says so through done; the poll loop never waits on the disk. */
static void *
log_thread(void *arg)
{
	struct tally_wal *w = arg;
	uint64_t seen = 0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->started == seen && !w->quit)
			pthread_cond_wait(&w->work_cv, &w->mu);
		if (w->started == seen)
			break; /* quit, and nothing left */
		seen = w->started;
		pthread_mutex_unlock(&w->mu);
		w->flight_rc = flush(w, &w->flight, &w->flight_ns);
		pthread_mutex_lock(&w->mu);
		atomic_store_explicit(&w->done, seen, memory_order_release);
		pthread_cond_broadcast(&w->done_cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int
thread_start(struct tally_wal *w)
{
	if (w->thread_up)
		return 0;
	if (pthread_mutex_init(&w->mu, NULL) != 0 || pthread_cond_init(&w->work_cv, NULL) != 0 ||
	    pthread_cond_init(&w->done_cv, NULL) != 0)
		return -ENOMEM;
	int rc = pthread_create(&w->thread, NULL, log_thread, w);
	if (rc != 0)
		return -rc;
	/* Not on the poll loop's core (a DPDK lcore pins its thread, and a new
	 * thread inherits that): the log thread sleeps in the disk and may run
	 * wherever the kernel likes. */
	cpu_set_t all;
	CPU_ZERO(&all);
	for (long c = 0, nc = sysconf(_SC_NPROCESSORS_ONLN); c < nc && c < CPU_SETSIZE; c++)
		CPU_SET((int)c, &all);
	(void)pthread_setaffinity_np(w->thread, sizeof(all), &all);
	(void)pthread_setname_np(w->thread, "tally-log");
	w->thread_up = true;
	return 0;
}

int
tally_wal_commit_start(struct tally_wal *w)
{
	uint64_t pos;
	int rc;

	if (w->failed)
		return w->failed;
	if (w->in_flight)
		return -EBUSY;
	if (!tally_wal_pending(w))
		return 0;
	if ((rc = thread_start(w)) != 0 || (rc = seal(w, &pos)) != 0)
		return rc;
	struct buf b = w->flight;
	w->flight = w->pending;
	w->pending = b;
	pending_clear(w);
	w->flight_pos = pos;
	w->in_flight = true;
	pthread_mutex_lock(&w->mu);
	w->started++;
	pthread_cond_signal(&w->work_cv);
	pthread_mutex_unlock(&w->mu);
	return 1;
}

int
tally_wal_commit_poll(struct tally_wal *w, bool wait)
{
	if (!w->in_flight)
		return 0;
	if (atomic_load_explicit(&w->done, memory_order_acquire) != w->started) {
		if (!wait)
			return 0;
		pthread_mutex_lock(&w->mu);
		while (atomic_load_explicit(&w->done, memory_order_relaxed) != w->started)
			pthread_cond_wait(&w->done_cv, &w->mu);
		pthread_mutex_unlock(&w->mu);
	}
	w->in_flight = false;
	int rc = finish(w, w->flight_rc, w->flight.len, w->flight_pos, w->flight_ns);
	w->flight.len = 0;
	return rc == 0 ? 1 : rc;
}

bool
tally_wal_in_flight(const struct tally_wal *w)
{
	return w->in_flight;
}

void
tally_wal_set_stall(struct tally_wal *w, unsigned ms)
{
	atomic_store_explicit(&w->stall_ms, ms, memory_order_relaxed);
}

int
tally_wal_commit(struct tally_wal *w)
{
	uint64_t pos, ns;
	int rc = tally_wal_commit_poll(w, true);

	if (rc < 0)
		return rc;
	if (w->failed)
		return w->failed;
	if (!tally_wal_pending(w))
		return 0;
	if ((rc = seal(w, &pos)) != 0)
		return rc;
	rc = flush(w, &w->pending, &ns);
	size_t len = w->pending.len;
	pending_clear(w);
	return finish(w, rc, len, pos, ns);
}

uint64_t
tally_wal_position(const struct tally_wal *w)
{
	return w->position;
}

void
tally_wal_advance(struct tally_wal *w, uint64_t pos)
{
	if (pos > w->advance)
		w->advance = pos;
}

int
tally_wal_snapshot_add(struct tally_wal *w, const struct tally_wal_rec *r)
{
	if (w->snap_fd < 0 || r->type == 0 || r->type >= TALLY_WAL_TYPE_END)
		return -EINVAL;
	int rc = encode(&w->snap, r);
	if (rc != 0)
		return rc;
	w->snap_count++;
	if (w->snap.len >= (1u << 20)) {
		rc = write_all(w->snap_fd, w->snap.p, w->snap.len);
		w->snap.len = 0;
	}
	return rc;
}

int
tally_wal_snapshot(struct tally_wal *w, int (*fill)(void *ctx, struct tally_wal *w), void *ctx)
{
	char snap[64], log[64], old[64];
	uint64_t next = w->gen + 1;
	struct tally_wal_rec end = { .type = TYPE_END };
	int rc, fd = -1;

	rc = tally_wal_commit(w);
	if (rc != 0)
		return rc;
	rc = create_file(w, "snap.tmp", "TALLYSNP", next, &w->snap_fd);
	if (rc != 0)
		return rc;
	w->snap.len = 0;
	w->snap_count = 0;
	struct tally_wal_rec mark = { .type = TYPE_MARK, .client = w->position };
	rc = encode(&w->snap, &mark);
	w->snap_count += rc == 0;
	if (rc == 0)
		rc = fill(ctx, w);
	if (rc == 0) {
		end.client = w->snap_count;
		rc = encode(&w->snap, &end);
	}
	if (rc == 0)
		rc = write_all(w->snap_fd, w->snap.p, w->snap.len);
	if (rc == 0 && fdatasync(w->snap_fd) != 0)
		rc = -errno;
	close(w->snap_fd);
	w->snap_fd = -1;
	file_name(snap, sizeof(snap), "snap", next);
	if (rc == 0 && renameat(w->dirfd, "snap.tmp", w->dirfd, snap) != 0)
		rc = -errno;
	if (rc == 0 && fsync(w->dirfd) != 0)
		rc = -errno;
	if (rc != 0) {
		(void)unlinkat(w->dirfd, "snap.tmp", 0);
		return rc;
	}
	/* From here the new snapshot is in force; a crash now reopens at next. */
	file_name(log, sizeof(log), "wal", next);
	rc = create_file(w, log, LOG_MAGIC, next, &fd);
	if (rc != 0) {
		w->failed = rc;
		return rc;
	}
	close(w->fd);
	w->fd = fd;
	file_name(old, sizeof(old), "wal", w->gen);
	(void)unlinkat(w->dirfd, old, 0);
	file_name(old, sizeof(old), "snap", w->gen);
	(void)unlinkat(w->dirfd, old, 0);
	w->gen = next;
	w->st.generation = next;
	w->st.log_bytes = FILE_HDR;
	w->st.snapshots++;
	return 0;
}

void
tally_wal_close(struct tally_wal *w)
{
	if (w == NULL)
		return;
	(void)tally_wal_commit(w);
	if (w->thread_up) {
		pthread_mutex_lock(&w->mu);
		w->quit = true;
		pthread_cond_signal(&w->work_cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
		pthread_cond_destroy(&w->work_cv);
		pthread_cond_destroy(&w->done_cv);
		pthread_mutex_destroy(&w->mu);
	}
	if (w->fd >= 0)
		close(w->fd);
	close(w->dirfd);
	free(w->pending.p);
	free(w->flight.p);
	free(w->snap.p);
	free(w);
}

bool
tally_wal_failed(const struct tally_wal *w)
{
	return w->failed != 0;
}

void
tally_wal_stats(const struct tally_wal *w, struct tally_wal_stats *out)
{
	*out = w->st;
}
