/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The write-ahead log (host/wal.c): records of every type read back exactly
 * after a reopen; only committed records survive; a log cut at every byte
 * of its last record (a torn write) reopens with the whole records before
 * it and takes appends after, and so does one whose last commit has a hole;
 * a bad record with a later commit after it is corruption, refused with
 * its offset; a snapshot replaces the old log; a snapshot left unfinished
 * by a crash (snap.tmp) is ignored, a newest snapshot that is incomplete or
 * rotted, or missing under its log, is refused and nothing is removed; the
 * log position counts commits across reopens and snapshots; the commit
 * pipeline makes durable, on its own thread, what was pending when each
 * commit began and nothing later; a missing directory is a clear error.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmocka_prelude.h"
#include "wal.h"

#define MAXREC 4096

/* What a replay saw. */
struct seen {
	struct tally_wal_rec r[MAXREC];
	uint64_t bits[MAXREC][4];
	tally_mvreg_t mv[MAXREC];
	unsigned n;
};

static struct seen seen;
static char dir[64];

static int
collect(void *ctx, const struct tally_wal_rec *r)
{
	struct seen *s = ctx;

	assert_true(s->n < MAXREC);
	s->r[s->n] = *r;
	if (r->type == TALLY_WAL_DEDUP) {
		assert_true(r->words <= 4);
		memcpy(s->bits[s->n], r->bits, 8 * r->words);
		s->r[s->n].bits = s->bits[s->n];
	}
	if (r->type == TALLY_WAL_MVREG) {
		/* the register is the decoder's until the callback returns: keep a copy */
		tally_mvreg_fini(&s->mv[s->n]);
		tally_mvreg_init(&s->mv[s->n]);
		assert_int_equal(tally_mvreg_copy(&s->mv[s->n], r->mv), 0);
		s->r[s->n].mv = &s->mv[s->n];
	}
	s->n++;
	return 0;
}

static unsigned snap_records;
static int fill(void *ctx, struct tally_wal *w);

static struct tally_wal *
open_wal(void)
{
	struct tally_wal *w = NULL;
	char err[256] = "";

	seen.n = 0;
	int rc = tally_wal_open(dir, collect, &seen, &w, err, sizeof(err));
	if (rc != 0)
		fail_msg("open: %s", err);
	return w;
}

static unsigned count_files(void);

/* The open fails as corrupt, with @what in its message, and changes no file. */
static void
assert_open_refused(const char *what)
{
	struct tally_wal *w = NULL;
	char err[512] = "";
	unsigned files = count_files();

	seen.n = 0;
	assert_int_equal(tally_wal_open(dir, collect, &seen, &w, err, sizeof(err)), -EBADMSG);
	assert_null(w);
	if (strstr(err, what) == NULL)
		fail_msg("open refused with \"%s\", want \"%s\"", err, what);
	assert_int_equal(count_files(), files);
}

static void
fresh_dir(void)
{
	strcpy(dir, "/tmp/tally-wal-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void
remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];

	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static unsigned
count_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static const uint64_t dedup_bits[2] = { 0x8000000000000001u, 0x5u };
static tally_mvreg_t sample_mv;

/* A register with two concurrent siblings and a third write over one. */
static tally_mvreg_t *
mv_sample(void)
{
	static bool made;
	tally_vec_t none = { 0 }, seen = { 0 };

	if (!made) {
		tally_mvreg_init(&sample_mv);
		assert_int_equal(tally_mvreg_write(&sample_mv, 0, &none, "value-from-A", 12), 0);
		assert_int_equal(tally_mvreg_write(&sample_mv, 1, &none, "value-from-B", 12), 0);
		seen.slot[0] = 1;
		assert_int_equal(tally_mvreg_write(&sample_mv, 2, &seen, "over A", 6), 0);
		made = true;
	}
	return &sample_mv;
}

/* Record @i of a fixed sequence that cycles through every type. */
static struct tally_wal_rec
rec(unsigned i)
{
	struct tally_wal_rec r;

	memset(&r, 0, sizeof(r));
	r.type = (uint8_t)(1 + i % (TALLY_WAL_TYPE_END - 1));
	for (unsigned b = 0; b < 16; b++)
		r.key[b] = (uint8_t)(i * 7 + b);
	switch (r.type) {
	case TALLY_WAL_SLOT:
		r.origin = (uint8_t)(i % TALLY_MAX_NODES);
		r.p = i * 1000003u;
		r.n = i;
		break;
	case TALLY_WAL_STATE:
		for (unsigned s = 0; s < TALLY_MAX_NODES; s++) {
			r.state.p.slot[s] = i + s;
			r.state.n.slot[s] = i * s;
		}
		break;
	case TALLY_WAL_OPID:
		r.client = 0xc0ffee00u + i;
		r.seq = i + 1;
		break;
	case TALLY_WAL_DEDUP:
		r.client = 77 + i;
		r.seq = 128 + i;
		r.words = 2;
		r.bits = dedup_bits;
		break;
	case TALLY_WAL_EVICTED:
		r.client = 5 + i;
		break;
	case TALLY_WAL_MVREG:
		r.mv = mv_sample();
		break;
	case TALLY_WAL_PEER:
		r.origin = (uint8_t)(i % TALLY_MAX_NODES);
		r.p = i * 31u;
		break;
	case TALLY_WAL_PIN:
		r.client = 0xfeed0000u + i;
		r.seq = 3 * i + 1;
		r.origin = (uint8_t)((i + 3) % TALLY_MAX_NODES);
		r.p = UINT64_C(1796669000000) + i;
		break;
	}
	return r;
}

static void
assert_rec_equal(const struct tally_wal_rec *a, const struct tally_wal_rec *b)
{
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case TALLY_WAL_SLOT:
		assert_memory_equal(a->key, b->key, 16);
		assert_int_equal(a->origin, b->origin);
		assert_int_equal(a->p, b->p);
		assert_int_equal(a->n, b->n);
		break;
	case TALLY_WAL_STATE:
		assert_memory_equal(a->key, b->key, 16);
		assert_memory_equal(&a->state, &b->state, sizeof(a->state));
		break;
	case TALLY_WAL_OPID:
		assert_int_equal(a->client, b->client);
		assert_int_equal(a->seq, b->seq);
		break;
	case TALLY_WAL_DEDUP:
		assert_int_equal(a->client, b->client);
		assert_int_equal(a->seq, b->seq);
		assert_int_equal(a->words, b->words);
		assert_memory_equal(a->bits, b->bits, 8 * a->words);
		break;
	case TALLY_WAL_EVICTED:
		assert_int_equal(a->client, b->client);
		break;
	case TALLY_WAL_MVREG:
		assert_memory_equal(a->key, b->key, 16);
		assert_true(tally_mvreg_equal(a->mv, b->mv));
		break;
	case TALLY_WAL_PEER:
		assert_int_equal(a->origin, b->origin);
		assert_int_equal(a->p, b->p);
		break;
	case TALLY_WAL_PIN:
		assert_int_equal(a->client, b->client);
		assert_int_equal(a->seq, b->seq);
		assert_int_equal(a->origin, b->origin);
		assert_int_equal(a->p, b->p);
		break;
	default:
		assert_memory_equal(a->key, b->key, 16);
	}
}

static void
test_round_trip(void **state)
{
	struct tally_wal *w;
	struct tally_wal_stats st;

	(void)state;
	fresh_dir();
	w = open_wal();
	assert_int_equal(seen.n, 0);
	for (unsigned i = 0; i < 300; i++) {
		struct tally_wal_rec r = rec(i);
		assert_int_equal(tally_wal_append(w, &r), 0);
		if (i % 50 == 49)
			assert_int_equal(tally_wal_commit(w), 0);
	}
	assert_false(tally_wal_pending(w));
	tally_wal_stats(w, &st);
	assert_int_equal(st.commits, 6);
	assert_int_equal(st.records, 300);
	tally_wal_close(w);

	w = open_wal();
	assert_int_equal(seen.n, 300);
	for (unsigned i = 0; i < 300; i++) {
		struct tally_wal_rec r = rec(i);
		assert_rec_equal(&seen.r[i], &r);
	}
	/* A bad record is refused and appends nothing. */
	struct tally_wal_rec bad = rec(0);
	bad.origin = TALLY_MAX_NODES;
	assert_int_equal(tally_wal_append(w, &bad), -EINVAL);
	bad.type = TALLY_WAL_TYPE_END;
	assert_int_equal(tally_wal_append(w, &bad), -EINVAL);
	assert_false(tally_wal_pending(w));
	tally_wal_close(w);
	remove_dir();
}

/* SLOTs of one key and origin in one commit become one record, with the
 * highest values; a DROP of the key between them keeps them apart. */
static void
test_coalesce(void **state)
{
	struct tally_wal *w;
	struct tally_wal_stats st;
	struct tally_wal_rec a = { .type = TALLY_WAL_SLOT, .origin = 2, .p = 5, .n = 1 }, b = a, d = { .type = TALLY_WAL_DROP };

	(void)state;
	memset(a.key, 0xa1, 16);
	memset(b.key, 0xb2, 16);
	memcpy(d.key, a.key, 16);
	fresh_dir();
	w = open_wal();
	assert_int_equal(tally_wal_append(w, &a), 0); /* a: 5, 1 */
	assert_int_equal(tally_wal_append(w, &b), 0);
	a.p = 9;
	a.n = 0;
	assert_int_equal(tally_wal_append(w, &a), 0); /* into the first: 9, 1 */
	a.origin = 3;
	assert_int_equal(tally_wal_append(w, &a), 0); /* another origin: a record of its own */
	assert_int_equal(tally_wal_commit(w), 0);
	a.origin = 2;
	a.p = 11;
	assert_int_equal(tally_wal_append(w, &a), 0); /* a new commit: a new record */
	assert_int_equal(tally_wal_append(w, &d), 0);
	a.p = 1;
	assert_int_equal(tally_wal_append(w, &a), 0); /* after the drop: not into the one before it */
	assert_int_equal(tally_wal_commit(w), 0);
	tally_wal_stats(w, &st);
	assert_int_equal(st.records, 7);
	assert_int_equal(st.coalesced, 1);
	tally_wal_close(w);

	w = open_wal();
	assert_int_equal(seen.n, 6);
	unsigned want_origin[6] = { 2, 2, 3, 2, 0, 2 };
	uint64_t want_p[6] = { 9, 5, 9, 11, 0, 1 }, want_n[6] = { 1, 1, 0, 0, 0, 0 };
	uint8_t want_type[6] = { TALLY_WAL_SLOT, TALLY_WAL_SLOT, TALLY_WAL_SLOT, TALLY_WAL_SLOT, TALLY_WAL_DROP,
				 TALLY_WAL_SLOT };
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(seen.r[i].type, want_type[i]);
		if (want_type[i] != TALLY_WAL_SLOT)
			continue;
		assert_int_equal(seen.r[i].origin, want_origin[i]);
		assert_int_equal(seen.r[i].p, want_p[i]);
		assert_int_equal(seen.r[i].n, want_n[i]);
		assert_int_equal(seen.r[i].key[0], i == 1 ? 0xb2 : 0xa1);
	}
	tally_wal_close(w);
	remove_dir();
}

/* A log cut anywhere in its last record keeps exactly the records before. */
static void
test_torn_tail(void **state)
{
	char log[128];
	struct stat sb;
	off_t whole;

	(void)state;
	fresh_dir();
	struct tally_wal *w = open_wal();
	for (unsigned i = 0; i < 10; i++) {
		struct tally_wal_rec r = rec(i);
		assert_int_equal(tally_wal_append(w, &r), 0);
	}
	assert_int_equal(tally_wal_commit(w), 0);
	assert_int_equal(stat(dir, &sb), 0);
	snprintf(log, sizeof(log), "%s/wal-0000000000000000", dir);
	assert_int_equal(stat(log, &sb), 0);
	whole = sb.st_size;
	struct tally_wal_rec last = rec(1); /* a STATE record: 160 bytes */
	assert_int_equal(tally_wal_append(w, &last), 0);
	assert_int_equal(tally_wal_commit(w), 0);
	tally_wal_close(w);
	assert_int_equal(stat(log, &sb), 0);
	off_t full = sb.st_size;

	for (off_t cut = whole; cut < full; cut += 7) {
		assert_int_equal(truncate(log, cut), 0);
		w = open_wal();
		/* A whole record of the torn commit is read too (it was never
		 * acknowledged: applying it is harmless); its COMMIT is what was cut. */
		off_t kept = cut >= whole + 160 ? whole + 160 : whole;
		unsigned n = kept == whole ? 10 : 11;
		assert_int_equal(seen.n, n);
		struct tally_wal_stats st;
		tally_wal_stats(w, &st);
		assert_int_equal(st.torn_bytes, (uint64_t)(cut - kept));
		/* Appending after the cut works and survives another reopen. */
		assert_int_equal(tally_wal_append(w, &last), 0);
		tally_wal_close(w);
		w = open_wal();
		assert_int_equal(seen.n, n + 1);
		assert_rec_equal(&seen.r[n], &last);
		tally_wal_close(w);
	}
	/* A flipped bit in a record of the first commit, with the second
	 * commit after it: corruption, refused, and the file left as it is. */
	int fd = open(log, O_RDWR);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, whole - 60), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, whole - 60), 1);
	close(fd);
	assert_int_equal(stat(log, &sb), 0);
	off_t before = sb.st_size;
	assert_open_refused("is corrupt and committed records follow it");
	assert_int_equal(stat(log, &sb), 0);
	assert_int_equal(sb.st_size, before);
	remove_dir();
}

/* A crash inside the last commit can leave any of its pages unwritten, a
 * hole with sound records after it: a torn tail still, cut at the hole. A
 * hole in a commit that a later one follows is corruption. */
static void
test_torn_hole(void **state)
{
	char log[128];
	struct stat sb;

	(void)state;
	fresh_dir();
	snprintf(log, sizeof(log), "%s/wal-0000000000000000", dir);
	struct tally_wal *w = open_wal();
	struct tally_wal_rec r = rec(1);
	assert_int_equal(tally_wal_append(w, &r), 0);
	assert_int_equal(tally_wal_commit(w), 0);
	assert_int_equal(stat(log, &sb), 0);
	off_t first = sb.st_size;
	for (unsigned i = 0; i < 6; i++) {
		r = rec(10 + i);
		assert_int_equal(tally_wal_append(w, &r), 0);
	}
	assert_int_equal(tally_wal_commit(w), 0);
	tally_wal_close(w);
	/* zero 8 bytes inside the second commit's first record */
	int fd = open(log, O_RDWR);
	static const uint8_t zero[8];
	assert_int_equal(pwrite(fd, zero, 8, first + 8), 8);
	close(fd);
	w = open_wal();
	assert_int_equal(seen.n, 1);
	struct tally_wal_stats st;
	tally_wal_stats(w, &st);
	assert_int_equal(st.position, 1);
	assert_int_equal(st.log_bytes, (uint64_t)first);
	/* a third commit after the cut; then the same hole in the first one */
	r = rec(20);
	assert_int_equal(tally_wal_append(w, &r), 0);
	assert_int_equal(tally_wal_commit(w), 0);
	tally_wal_close(w);
	fd = open(log, O_RDWR);
	assert_int_equal(pwrite(fd, zero, 8, 16 + 8), 8);
	close(fd);
	assert_open_refused("at offset 16 is corrupt and committed records follow it");
	remove_dir();
}

/* The log position counts commits, survives a reopen and a snapshot, and
 * can be moved ahead (a node that learns it was behind). */
static void
test_position(void **state)
{
	struct tally_wal_rec r = rec(3);

	(void)state;
	fresh_dir();
	struct tally_wal *w = open_wal();
	assert_int_equal(tally_wal_position(w), 0);
	assert_int_equal(tally_wal_commit(w), 0); /* nothing pending: no commit */
	assert_int_equal(tally_wal_position(w), 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(tally_wal_append(w, &r), 0);
		assert_int_equal(tally_wal_commit(w), 0);
	}
	assert_int_equal(tally_wal_position(w), 3);
	tally_wal_close(w);
	w = open_wal();
	assert_int_equal(tally_wal_position(w), 3);
	tally_wal_advance(w, 100);
	assert_true(tally_wal_pending(w));
	assert_int_equal(tally_wal_commit(w), 0);
	assert_int_equal(tally_wal_position(w), 100);
	snap_records = 2;
	assert_int_equal(tally_wal_snapshot(w, fill, NULL), 0);
	tally_wal_close(w);
	w = open_wal();
	assert_int_equal(tally_wal_position(w), 100);
	assert_int_equal(seen.n, 2);
	assert_int_equal(tally_wal_append(w, &r), 0);
	tally_wal_close(w); /* commits */
	w = open_wal();
	assert_int_equal(tally_wal_position(w), 101);
	tally_wal_close(w);
	remove_dir();
}

/*
 * The commit pipeline: a commit handed to the log thread makes durable what
 * was pending when it began, nothing of what is appended while it runs;
 * the next one holds all of that at once; a slow disk (the stall) keeps the
 * commit in flight without blocking the caller; a commit in the caller's
 * thread or a snapshot waits for the one in flight; what every commit
 * made durable reads back, in order, after a reopen.
 */
static void
test_pipeline(void **state)
{
	struct tally_wal_rec r;
	unsigned next = 0;

	(void)state;
	fresh_dir();
	struct tally_wal *w = open_wal();
	assert_int_equal(tally_wal_commit_start(w), 0); /* nothing pending */
	assert_int_equal(tally_wal_commit_poll(w, false), 0);
	for (unsigned i = 0; i < 5; i++) {
		r = rec(next++);
		assert_int_equal(tally_wal_append(w, &r), 0);
	}
	tally_wal_set_stall(w, 200);
	assert_int_equal(tally_wal_commit_start(w), 1);
	assert_true(tally_wal_in_flight(w));
	assert_int_equal(tally_wal_commit_start(w), -EBUSY);
	for (unsigned i = 0; i < 7; i++) { /* while it runs: the next commit's */
		r = rec(next++);
		assert_int_equal(tally_wal_append(w, &r), 0);
	}
	assert_int_equal(tally_wal_commit_poll(w, false), 0); /* still on the slow disk */
	assert_int_equal(tally_wal_position(w), 0);
	assert_int_equal(tally_wal_commit_poll(w, true), 1);
	assert_false(tally_wal_in_flight(w));
	assert_int_equal(tally_wal_position(w), 1);
	assert_true(tally_wal_pending(w)); /* the seven */
	tally_wal_set_stall(w, 0);
	assert_int_equal(tally_wal_commit_start(w), 1);
	while (tally_wal_commit_poll(w, false) == 0)
		usleep(100);
	assert_int_equal(tally_wal_position(w), 2);
	assert_false(tally_wal_pending(w));
	/* One in flight, then a commit in this thread and a snapshot: each waits for it. */
	r = rec(next++);
	assert_int_equal(tally_wal_append(w, &r), 0);
	assert_int_equal(tally_wal_commit_start(w), 1);
	r = rec(next++);
	assert_int_equal(tally_wal_append(w, &r), 0);
	assert_int_equal(tally_wal_commit(w), 0);
	assert_false(tally_wal_in_flight(w));
	assert_int_equal(tally_wal_position(w), 4);
	r = rec(next++);
	assert_int_equal(tally_wal_append(w, &r), 0);
	assert_int_equal(tally_wal_commit_start(w), 1);
	snap_records = 0;
	assert_int_equal(tally_wal_snapshot(w, fill, NULL), 0);
	assert_int_equal(tally_wal_position(w), 5);
	r = rec(next++);
	assert_int_equal(tally_wal_append(w, &r), 0);
	assert_int_equal(tally_wal_commit_start(w), 1);
	tally_wal_close(w); /* waits for it */
	w = open_wal();
	assert_int_equal(tally_wal_position(w), 6);
	assert_int_equal(seen.n, 1); /* the snapshot held the rest; the log the last */
	assert_int_equal(seen.r[0].type, rec(next - 1).type);
	tally_wal_close(w);
	remove_dir();
}

static int
fill(void *ctx, struct tally_wal *w)
{
	(void)ctx;
	for (unsigned i = 0; i < snap_records; i++) {
		struct tally_wal_rec r = rec(1000 + i);
		int rc = tally_wal_snapshot_add(w, &r);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void
test_snapshot(void **state)
{
	struct tally_wal_stats st;
	struct tally_wal_rec r;

	(void)state;
	fresh_dir();
	struct tally_wal *w = open_wal();
	for (unsigned i = 0; i < 20; i++) {
		r = rec(i);
		assert_int_equal(tally_wal_append(w, &r), 0);
	}
	/* The snapshot commits what is pending first. */
	snap_records = 3000;
	assert_int_equal(tally_wal_snapshot(w, fill, NULL), 0);
	assert_false(tally_wal_pending(w));
	r = rec(5000);
	assert_int_equal(tally_wal_append(w, &r), 0);
	tally_wal_stats(w, &st);
	assert_int_equal(st.generation, 1);
	tally_wal_close(w);
	assert_int_equal(count_files(), 2); /* snap-1 and wal-1 */

	w = open_wal();
	assert_int_equal(seen.n, 3001);
	for (unsigned i = 0; i < 3000; i++) {
		r = rec(1000 + i);
		assert_rec_equal(&seen.r[i], &r);
	}
	r = rec(5000);
	assert_rec_equal(&seen.r[3000], &r);

	/* A crash while writing the next snapshot leaves snap.tmp: ignored. */
	char p[128];
	snprintf(p, sizeof(p), "%s/snap.tmp", dir);
	FILE *f = fopen(p, "w");
	fputs("TALLYSNP partial", f);
	fclose(f);
	tally_wal_close(w);
	w = open_wal();
	assert_int_equal(seen.n, 3001);
	tally_wal_close(w);
	assert_int_equal(count_files(), 2); /* the debris is gone */

	/* A snapshot of a later generation without its end record is not a
	 * crash's leftover (snapshots are renamed into place once complete):
	 * refused, naming it, and generation 1 is kept. */
	snprintf(p, sizeof(p), "%s/snap-0000000000000002", dir);
	char src[128];
	snprintf(src, sizeof(src), "%s/snap-0000000000000001", dir);
	struct stat sb;
	assert_int_equal(stat(src, &sb), 0);
	{
		int in = open(src, O_RDONLY), out = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		static uint8_t buf[1 << 20];
		ssize_t n = read(in, buf, sizeof(buf));
		assert_true(n > 100);
		buf[8] = 2; /* generation 2 in its header */
		assert_int_equal(write(out, buf, (size_t)n - 16), n - 16); /* the end record cut */
		close(in);
		close(out);
	}
	assert_open_refused("snap-0000000000000002: the newest snapshot is corrupt or incomplete at offset");
	assert_int_equal(count_files(), 3);
	/* A log whose snapshot is missing is refused too. */
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/wal-0000000000000002", dir);
	FILE *lf = fopen(p, "w");
	fputs("TALLYWL2........", lf);
	fclose(lf);
	assert_open_refused("wal-0000000000000002 has no snapshot snap-0000000000000002");
	assert_int_equal(unlink(p), 0);
	w = open_wal();
	assert_int_equal(seen.n, 3001);
	tally_wal_stats(w, &st);
	assert_int_equal(st.generation, 1);
	tally_wal_close(w);

	/* An empty snapshot is a snapshot too. */
	w = open_wal();
	snap_records = 0;
	assert_int_equal(tally_wal_snapshot(w, fill, NULL), 0);
	tally_wal_close(w);
	w = open_wal();
	assert_int_equal(seen.n, 0);
	tally_wal_close(w);
	remove_dir();
}

static void
test_bad_dir(void **state)
{
	struct tally_wal *w = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(tally_wal_open("/nonexistent/tally", collect, &seen, &w, err, sizeof(err)), -ENOENT);
	assert_null(w);
	assert_non_null(strstr(err, "/nonexistent/tally: cannot open the data directory"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_coalesce),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_torn_hole),
		cmocka_unit_test(test_position),
		cmocka_unit_test(test_pipeline),
		cmocka_unit_test(test_bad_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
