/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The write-ahead log as a node uses it: the records it appends, and the
 * commit pipeline after whose commits what waited for them is released.
 */

#include <errno.h>
#include <string.h>

#include "state.h"

void
log_fini(struct node_log *l)
{
	tally_wal_close(l->wal);
	l->wal = NULL;
}

/* The log cannot hold what it was given: say so once, and from now on
 * nothing that depends on it leaves (out.h). */
static void
fail(struct tally_node *n, int rc, const char *what)
{
	struct node_log *l = &n->log;

	if (l->error != 0)
		return;
	l->error = rc;
	l->failed_at = n->now;
	node_note(n, "write-ahead log in %s failed (%s: %s): this node takes no more writes and sends nothing "
		     "that includes what the log did not hold; restart it once the disk is fixed (docs/durability.md)",
		  n->cfg.data_dir, what, strerror(-rc));
	out_failed(n);
}

static void
append(struct tally_node *n, struct tally_wal_rec *r, const uint8_t key[16])
{
	if (key != NULL)
		memcpy(r->key, key, 16);
	int rc = tally_wal_append(n->log.wal, r);
	out_appended(n); /* in memory now, whether or not the log took it */
	if (rc != 0)
		fail(n, rc, "append");
}

void
log_slot(struct tally_node *n, const uint8_t key[16], unsigned origin, uint64_t p, uint64_t nv)
{
	struct tally_wal_rec r = { .type = TALLY_WAL_SLOT, .origin = (uint8_t)origin, .p = p, .n = nv };

	append(n, &r, key);
}

void
log_state(struct tally_node *n, const uint8_t key[16], const tally_pncounter_t *s)
{
	struct tally_wal_rec r = { .type = TALLY_WAL_STATE, .state = *s };

	append(n, &r, key);
}

void
log_opid(struct tally_node *n, uint64_t client, uint64_t seq)
{
	struct tally_wal_rec r = { .type = TALLY_WAL_OPID, .client = client, .seq = seq };

	append(n, &r, NULL);
}

void
log_mvreg(struct tally_node *n, const uint8_t key[16], tally_mvreg_t *reg, bool lww)
{
	struct tally_wal_rec r = { .type = TALLY_WAL_MVREG, .mv = reg, .mv_lww = lww };

	append(n, &r, key);
}

void
log_recovered(struct tally_node *n, const uint8_t key[16])
{
	struct tally_wal_rec r = { .type = TALLY_WAL_RECOVERED };

	append(n, &r, key);
}

int
log_drop(struct tally_node *n, const uint8_t key[16])
{
	struct tally_wal_rec r = { .type = TALLY_WAL_DROP };

	memcpy(r.key, key, 16);
	int rc = tally_wal_append(n->log.wal, &r);
	out_appended(n);
	if (rc != 0)
		fail(n, rc, "append");
	return rc;
}

void
log_pin(struct tally_node *n, uint64_t client, uint64_t seq, unsigned origin, uint64_t unix_ms)
{
	struct tally_wal_rec r = { .type = TALLY_WAL_PIN, .client = client, .seq = seq, .origin = (uint8_t)origin,
				   .p = unix_ms };

	append(n, &r, NULL);
}

void
log_peer(struct tally_node *n, unsigned peer, uint64_t pos)
{
	struct tally_wal_rec r = { .type = TALLY_WAL_PEER, .origin = (uint8_t)peer, .p = pos };

	append(n, &r, NULL);
}

bool
log_failed(const struct tally_node *n)
{
	return n->log.error != 0 || tally_wal_failed(n->log.wal);
}

int
log_commit(struct tally_node *n)
{
	struct node_log *l = &n->log;

	/* The commit in flight, if it is over. A snapshot (a commit in this
	 * thread) may have ended it already: the wal says so. */
	if (l->error == 0 && l->flight) {
		int rc = tally_wal_commit_poll(l->wal, false);
		if (rc == 0 && tally_wal_failed(l->wal))
			rc = -EIO; /* it failed inside a snapshot's commit */
		if (rc < 0) {
			fail(n, rc, "write and fdatasync");
		} else if (!tally_wal_in_flight(l->wal)) {
			l->flight = false;
			out_durable(n, l->flight_out);
		}
	}
	if (l->error != 0)
		return -EIO;
	if (l->flight)
		return 0; /* the next commit starts once it is over, with all that came meanwhile */
	if (!tally_wal_pending(l->wal)) {
		out_durable(n, out_now(n)); /* every record appended is durable */
		return 0;
	}
	if (n->now < l->next_start)
		return 0; /* commit = interval: not yet */
	l->next_start = n->now + l->interval_ns;
	/* Hand what is pending to the log thread; the loop goes on. */
	uint64_t out = out_now(n);
	int rc = tally_wal_commit_start(l->wal);
	if (rc < 0) {
		fail(n, rc, "commit");
		return -EIO;
	}
	l->flight = true;
	l->flight_out = out;
	return 0;
}

bool
log_durable(const struct tally_node *n, uint64_t pos)
{
	return n->out.durable >= pos;
}
