/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The write-ahead log as a node uses it: the records it appends, and the
 * commit after which the acks and writes that waited for it are released.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int
log_init(struct node_log *l)
{
	l->commit_ops = calloc(MAX_OPS, sizeof(*l->commit_ops));
	l->cap_acks = 65536;
	l->acks = calloc(l->cap_acks, sizeof(*l->acks));
	l->cap_ackq = 4096;
	l->ackq = calloc(l->cap_ackq, sizeof(*l->ackq));
	l->mvacks = calloc(MV_ACKS, sizeof(*l->mvacks));
	return l->commit_ops && l->acks && l->ackq && l->mvacks ? 0 : -ENOMEM;
}

void
log_fini(struct node_log *l)
{
	tally_wal_close(l->wal);
	l->wal = NULL;
	free(l->commit_ops);
	free(l->acks);
	free(l->ackq);
	free(l->mvacks);
}

static void
append(struct tally_node *n, struct tally_wal_rec *r, const uint8_t key[16])
{
	if (key != NULL)
		memcpy(r->key, key, 16);
	(void)tally_wal_append(n->log.wal, r);
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
	return tally_wal_append(n->log.wal, &r);
}

bool
log_failed(const struct tally_node *n)
{
	return tally_wal_failed(n->log.wal);
}

void
log_ack_later(struct tally_node *n, const struct tally_wire_addr *from, const struct tally_wire_hdr *hdr,
	      const struct tally_offload_completion *c, unsigned cnt)
{
	struct node_log *l = &n->log;
	unsigned first = l->nacks;

	/* Unacked records are not lost: their sender resends them. */
	for (unsigned i = 0; i < cnt && l->nacks < l->cap_acks; i++)
		l->acks[l->nacks++] = c[i];
	if (l->nacks > first && l->nackq < l->cap_ackq)
		l->ackq[l->nackq++] = (struct ackq){ *from, *hdr, first, l->nacks - first };
	else
		l->nacks = first;
}

void
log_mvack_later(struct tally_node *n, unsigned peer, const uint8_t key[16], const tally_vec_t *ctx)
{
	struct node_log *l = &n->log;

	if (l->nmvacks == MV_ACKS)
		return; /* unacked: the sender resends */
	struct mvack *a = &l->mvacks[l->nmvacks++];
	a->peer = peer;
	memcpy(a->key, key, 16);
	a->ctx = *ctx;
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

	if (tally_wal_pending(l->wal) && tally_wal_commit(l->wal) != 0) {
		/* Nothing after this can be made durable: answer everything waiting
		 * (their writes are in memory only), ack nothing, take no more writes. */
		node_note(n, "write-ahead log failed: refusing writes from now on");
		for (unsigned i = 0; i < l->ncommit_ops; i++) {
			reply_op(n, &n->ops.v[l->commit_ops[i]], TALLY_E_IO, 0);
			op_free(n, l->commit_ops[i]);
		}
		l->ncommit_ops = l->nacks = l->nackq = l->nmvacks = 0;
		return -EIO;
	}
	for (unsigned i = 0; i < l->nackq; i++)
		(void)tally_dp_send_acks(n->link.dp, &l->ackq[i].from, &l->ackq[i].hdr, &l->acks[l->ackq[i].first],
					 l->ackq[i].n);
	for (unsigned i = 0; i < l->nmvacks; i++)
		link_mv_ack(n, l->mvacks[i].peer, l->mvacks[i].key, &l->mvacks[i].ctx);
	l->nmvacks = l->nackq = l->nacks = 0;
	for (unsigned i = 0; i < l->ncommit_ops; i++) {
		n->ops.v[l->commit_ops[i]].state = ST_COMMITTED;
		op_ready(n, l->commit_ops[i]);
	}
	l->ncommit_ops = 0;
	return 0;
}
