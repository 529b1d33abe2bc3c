/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * What a node keeps across restarts: the identity file of its data
 * directory, its snapshots, and the replay of log and snapshot at start.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state.h"

struct dedup_fill {
	struct tally_wal *w;
	int rc;
};

static void
dedup_visit(void *ctx, uint64_t client, uint64_t highest, const uint64_t *bits, uint32_t words)
{
	struct dedup_fill *d = ctx;
	struct tally_wal_rec r = { .type = TALLY_WAL_DEDUP, .client = client, .seq = highest, .words = words,
				   .bits = bits };

	if (d->rc == 0)
		d->rc = tally_wal_snapshot_add(d->w, &r);
}

static int
pin_visit(void *ctx, uint64_t client, uint64_t seq, unsigned origin, uint64_t unix_ms)
{
	struct tally_wal_rec r = { .type = TALLY_WAL_PIN, .client = client, .seq = seq, .origin = (uint8_t)origin,
				   .p = unix_ms };

	return tally_wal_snapshot_add(ctx, &r);
}

static int
snapshot_fill(void *ctx, struct tally_wal *w)
{
	struct tally_node *n = ctx;
	struct dedup_fill d = { w, 0 };

	for (uint32_t ix = 0; ix < n->table.entries; ix++) {
		struct tally_wal_rec r = { .type = TALLY_WAL_STATE };
		int rc;

		if (!n->table.meta[ix].used)
			continue;
		if (tally_offload_read(n->table.engine, ix, &r.state) != 0)
			return -EIO;
		memcpy(r.key, n->table.meta[ix].key, 16);
		rc = tally_wal_snapshot_add(w, &r);
		if (rc == 0 && n->table.meta[ix].recovered && n->recovering_mode) {
			r.type = TALLY_WAL_RECOVERED;
			rc = tally_wal_snapshot_add(w, &r);
		}
		if (rc != 0)
			return rc;
	}
	for (uint32_t i = 0; i < n->regs.entries && d.rc == 0; i++) {
		struct mventry *e = &n->regs.mv[i];
		if (!e->used)
			continue;
		struct tally_wal_rec r = { .type = TALLY_WAL_MVREG, .mv = &e->reg, .mv_lww = e->lww };
		memcpy(r.key, e->key, 16);
		d.rc = tally_wal_snapshot_add(w, &r);
	}
	for (unsigned i = 0; i < TALLY_MAX_NODES && d.rc == 0; i++) {
		struct tally_wal_rec r = { .type = TALLY_WAL_PEER, .origin = (uint8_t)i, .p = n->members.m[i].pos_seen };
		if (r.p > 0)
			d.rc = tally_wal_snapshot_add(w, &r);
	}
	if (d.rc == 0)
		d.rc = opids_pins_foreach(n, pin_visit, w);
	tally_dedup_foreach(n->opids.dedup, dedup_visit, &d);
	if (d.rc == 0 && tally_dedup_has_evicted(n->opids.dedup)) {
		struct tally_wal_rec r = { .type = TALLY_WAL_EVICTED, .client = 1 };
		d.rc = tally_wal_snapshot_add(w, &r);
	}
	return d.rc;
}

int
persist_snapshot(struct tally_node *n)
{
	return tally_wal_snapshot(n->log.wal, snapshot_fill, n);
}

int
persist_replay(void *ctx, const struct tally_wal_rec *r)
{
	struct tally_node *n = ctx;
	uint32_t ix;
	int rc;

	switch (r->type) {
	case TALLY_WAL_SLOT: {
		struct tally_wire_slot s = { .kind = TALLY_WIRE_KIND_PNCOUNTER, .origin = r->origin, .p = r->p, .n = r->n };
		memcpy(s.key, r->key, 16);
		rc = table_get(n, r->key, &ix);
		if (rc != 0)
			return rc == TALLY_E_TABLE_FULL ? -ENOSPC : -EIO;
		s.index = ix;
		return tally_offload_apply_slots(n->table.engine, &s, 1, NULL) == 1 ? 0 : -EIO;
	}
	case TALLY_WAL_STATE: {
		struct tally_wire_state st = { .kind = TALLY_WIRE_KIND_PNCOUNTER, .p = r->state.p, .n = r->state.n };
		memcpy(st.key, r->key, 16);
		rc = table_get(n, r->key, &ix);
		if (rc != 0)
			return rc == TALLY_E_TABLE_FULL ? -ENOSPC : -EIO;
		st.index = ix;
		return tally_offload_apply_states(n->table.engine, &st, 1) == 1 ? 0 : -EIO;
	}
	case TALLY_WAL_OPID:
		(void)tally_dedup_record(n->opids.dedup, (tally_opid_t){ r->client, r->seq });
		return 0;
	case TALLY_WAL_DEDUP:
		return tally_dedup_restore(n->opids.dedup, r->client, r->seq, r->bits, r->words);
	case TALLY_WAL_RECOVERED:
		ix = table_find(n, r->key);
		if (ix != NIL)
			n->table.meta[ix].recovered = true;
		return 0;
	case TALLY_WAL_EVICTED:
		tally_dedup_mark_evicted(n->opids.dedup);
		return 0;
	case TALLY_WAL_MVREG: {
		struct mventry *e = regs_find(n, r->key, true);
		if (e == NULL)
			return -ENOSPC;
		e->lww = e->lww || r->mv_lww;
		return tally_mvreg_merge(&e->reg, r->mv) == 0 ? 0 : -ENOMEM;
	}
	case TALLY_WAL_DROP:
		ix = table_find(n, r->key);
		if (ix != NIL)
			(void)table_free(n, ix);
		return 0;
	case TALLY_WAL_PEER:
		if (r->origin < TALLY_MAX_NODES && r->p > n->members.m[r->origin].pos_seen)
			n->members.m[r->origin].pos_seen = n->members.m[r->origin].pos_logged = r->p;
		return 0;
	case TALLY_WAL_PIN: {
		/* Its age by the wall clock: pins outlive the process, not the window. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
		opids_pin_restore(n, r->client, r->seq, r->origin, now_ms > r->p ? (now_ms - r->p) * 1000000u : 0);
		return 0;
	}
	}
	return 0;
}

/* Write the identity file @dir/identity (durably: file, then directory). */
static int
write_identity(const char *dir, unsigned self, unsigned epoch, unsigned recovering, unsigned unsynced, char *err,
	       size_t errlen)
{
	char path[TALLY_CONFIG_PATH_MAX + 32], tmp[TALLY_CONFIG_PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/identity", dir);
	snprintf(tmp, sizeof(tmp), "%s/identity.tmp", dir);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "tally node %u epoch %u recovering %u unsynced %u\n", self, epoch, recovering,
				 unsynced) < 0 ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		return -EIO;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int
persist_identity(struct tally_node *n, bool bootstrap, char *err, size_t errlen)
{
	char path[TALLY_CONFIG_PATH_MAX + 32];
	unsigned id = 0, epoch = 0, recovering = 0, unsynced = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/identity", n->cfg.data_dir);
	f = fopen(path, "r");
	if (f != NULL) {
		int got = fscanf(f, "tally node %u epoch %u recovering %u unsynced %u", &id, &epoch, &recovering,
				 &unsynced);
		fclose(f);
		if (got < 3) {
			snprintf(err, errlen, "%s: not a tally identity file", path);
			return -EINVAL;
		}
		if (id != n->self) {
			snprintf(err, errlen, "%s: this data directory belongs to node %u, not node %u", path, id, n->self);
			return -EINVAL;
		}
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	} else {
		/* No identity: a new node, or one whose directory was lost. Only the
		 * operator knows which (tallyd init says new); unless told, assume
		 * the worst. */
		recovering = !bootstrap;
		if (recovering) {
			node_note(n, "%s has no identity file: taking it for a lost data directory and recovering this "
				     "node's counts from every member (a node of a new cluster is made with tallyd init)",
				  n->cfg.data_dir);
			/* Its old incarnations' numbers are lost with the directory:
			 * counting from 0 again could repeat the epoch the others know
			 * it by, and they would take it for the node they knew (keep
			 * its table indexes, its stream of op-id notes). A random
			 * start cannot repeat one. */
			uint32_t r = 0;
			if (getrandom(&r, sizeof(r), 0) != sizeof(r))
				r = (uint32_t)time(NULL) ^ (uint32_t)getpid();
			epoch = (1u << 20) + r % (1u << 30);
		}
	}
	if (unsynced && !recovering) {
		/* It ran with commit = interval and did not stop cleanly: its log
		 * may be behind what it acknowledged and shipped, and raising its
		 * slots from there would reuse values the others hold (kv679). */
		recovering = 1;
		node_note(n, "%s: the last run used commit = interval and did not stop cleanly, so its log may be "
			     "behind what it shipped: recovering this node's counts from every member, as after a "
			     "lost disk (docs/durability.md#commit-policies)",
			  n->cfg.data_dir);
	}
	n->epoch = epoch + 1;
	n->recovering_mode = recovering != 0;
	/* Marked unsynced while it runs with commit = interval: only a clean
	 * stop (persist_clean_stop) clears it. */
	return write_identity(n->cfg.data_dir, n->self, n->epoch, recovering, n->cfg.commit_interval_ms > 0, err,
			      errlen);
}

int
persist_clean_stop(struct tally_node *n)
{
	char err[320];

	if (n->cfg.commit_interval_ms == 0)
		return 0;
	int rc = write_identity(n->cfg.data_dir, n->self, n->epoch, n->recovering_mode, 0, err, sizeof(err));
	if (rc != 0)
		node_note(n, "stopped with its log synced, but %s: the next start recovers from every member", err);
	return rc;
}

int
persist_recovered(struct tally_node *n)
{
	char err[320];
	int rc = write_identity(n->cfg.data_dir, n->self, n->epoch, 0, n->cfg.commit_interval_ms > 0, err, sizeof(err));

	if (rc != 0)
		node_note(n, "recovery is complete but %s; still recovering", err);
	else
		node_note(n, "recovery complete: every key's own slot is the highest anywhere; normal mode");
	return rc;
}

int
persist_recovering(struct tally_node *n)
{
	char err[320];
	int rc = write_identity(n->cfg.data_dir, n->self, n->epoch, 1, n->cfg.commit_interval_ms > 0, err, sizeof(err));

	if (rc != 0)
		node_note(n, "cannot mark the data directory recovering: %s", err);
	return rc;
}

int
tally_node_recover_dir(const struct tally_config *cfg, char *aside, size_t asidelen, char *err, size_t errlen)
{
	char path[TALLY_CONFIG_PATH_MAX + 64], from[TALLY_CONFIG_PATH_MAX + 300], to[TALLY_CONFIG_PATH_MAX + 400];
	unsigned id = (unsigned)cfg->self, epoch = 0, recovering = 0;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	snprintf(path, sizeof(path), "%s/identity", cfg->data_dir);
	if ((f = fopen(path, "r")) != NULL) {
		int got = fscanf(f, "tally node %u epoch %u recovering %u", &id, &epoch, &recovering);
		fclose(f);
		if (got != 3) {
			snprintf(err, errlen, "%s: not a tally identity file; nothing changed", path);
			return -EINVAL;
		}
		if (id != (unsigned)cfg->self) {
			snprintf(err, errlen, "%s: this data directory belongs to node %u, not node %d; nothing changed", path,
				 id, cfg->self);
			return -EINVAL;
		}
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s; nothing changed", path, strerror(errno));
		return -errno;
	}
	DIR *d = opendir(cfg->data_dir);
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s; nothing changed", cfg->data_dir, strerror(errno));
		return -errno;
	}
	gmtime_r(&now, &tm);
	snprintf(aside, asidelen, "%s/aside-%04d%02d%02dT%02d%02d%02dZ", cfg->data_dir, tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (mkdir(aside, 0700) != 0) {
		snprintf(err, errlen, "%s: %s; nothing changed", aside, strerror(errno));
		closedir(d);
		return -errno;
	}
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
		if (strncmp(e->d_name, "wal-", 4) != 0 && strncmp(e->d_name, "snap-", 5) != 0 &&
		    strcmp(e->d_name, "snap.tmp") != 0)
			continue;
		snprintf(from, sizeof(from), "%s/%s", cfg->data_dir, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", aside, e->d_name);
		if (rename(from, to) != 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot move %s to %s: %s", from, to, strerror(errno));
		}
	}
	closedir(d);
	if (rc != 0)
		return rc;
	/* The moves are durable before the identity says recovering. */
	int dfd = open(cfg->data_dir, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return write_identity(cfg->data_dir, (unsigned)cfg->self, epoch, 1, 0, err, errlen);
}

int
tally_node_init_dir(const struct tally_config *cfg, char *err, size_t errlen)
{
	char path[TALLY_CONFIG_PATH_MAX + 32];
	unsigned id = 0, epoch = 0, recovering = 0;
	FILE *f;

	if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create the data directory: %s", cfg->data_dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/identity", cfg->data_dir);
	if ((f = fopen(path, "r")) != NULL) {
		int got = fscanf(f, "tally node %u epoch %u recovering %u", &id, &epoch, &recovering);
		fclose(f);
		if (got == 3 && epoch == 0)
			snprintf(err, errlen, "%s is already the data directory of node %u (made, never started); nothing "
					      "changed", cfg->data_dir, id);
		else if (got == 3)
			snprintf(err, errlen, "%s is already the data directory of node %u (started %u times); nothing "
					      "changed", cfg->data_dir, id, epoch);
		else
			snprintf(err, errlen, "%s: not a tally identity file; nothing changed", path);
		return -EEXIST;
	}
	DIR *d = opendir(cfg->data_dir);
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", cfg->data_dir, strerror(errno));
		return -EIO;
	}
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			snprintf(err, errlen, "%s holds files (%s) but no identity: not a new node's directory; nothing changed",
				 cfg->data_dir, e->d_name);
			closedir(d);
			return -ENOTEMPTY;
		}
	closedir(d);
	return write_identity(cfg->data_dir, (unsigned)cfg->self, 0, 0, 0, err, errlen);
}
