/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The write-ahead log as a node uses it: the records it appends, and the
 * commit after which the acks and writes that waited for it are released.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

int
log_init(struct node_log *l, uint32_t ops)
{
	l->commit_ops = calloc(ops, sizeof(*l->commit_ops));
	return l->commit_ops ? 0 : -ENOMEM;
}

void
log_fini(struct node_log *l)
{
	tally_wal_close(l->wal);
	l->wal = NULL;
	free(l->commit_ops);
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

void
log_op_later(struct tally_node *n, uint32_t oi)
{
	n->ops.v[oi].state = ST_COMMIT;
	n->log.commit_ops[n->log.ncommit_ops++] = oi;
}

int
log_commit(struct tally_node *n)
{
	struct node_log *l = &n->log;
	int rc = 0;

	if (l->error == 0 && tally_wal_pending(l->wal)) {
		if (l->stall_ms > 0) /* tests only: a slow disk, for a kill inside the commit */
			usleep(l->stall_ms * 1000u);
		rc = tally_wal_commit(l->wal);
		if (rc != 0)
			fail(n, rc, "write and fdatasync");
	}
	if (l->error != 0) {
		/* Nothing after this can be made durable: answer the writes that
		 * waited (their effect is in memory only, and never leaves). */
		for (unsigned i = 0; i < l->ncommit_ops; i++) {
			reply_op(n, &n->ops.v[l->commit_ops[i]], TALLY_E_IO, 0);
			op_free(n, l->commit_ops[i]);
		}
		l->ncommit_ops = 0;
		return -EIO;
	}
	out_durable(n);
	for (unsigned i = 0; i < l->ncommit_ops; i++) {
		n->ops.v[l->commit_ops[i]].state = ST_COMMITTED;
		op_ready(n, l->commit_ops[i]);
	}
	l->ncommit_ops = 0;
	return 0;
}
