/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The operations in flight at a node: the pool, its by-key index and the
 * ready queue the poll loop drains.
 */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int
ops_init(struct node_ops *p, uint32_t cap)
{
	p->cap = cap;
	p->v = node_calloc(cap, sizeof(*p->v));
	p->live = node_calloc(cap, sizeof(*p->live));
	if (p->v == NULL || p->live == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < OP_HASH; i++)
		p->bucket[i] = NIL;
	for (uint32_t i = 0; i < cap; i++)
		p->v[i].hnext = i + 1 < cap ? i + 1 : NIL;
	p->free_op = 0;
	p->ready_head = p->ready_tail = NIL;
	return 0;
}

void
ops_fini(struct node_ops *p)
{
	for (uint32_t i = 0; p->v != NULL && i < p->cap; i++)
		if (p->v[i].kind != OP_FREE && p->v[i].mvr != NULL) {
			tally_mvreg_fini(p->v[i].mvr);
			free(p->v[i].mvr);
		}
	free(p->v);
	free(p->live);
	p->v = NULL;
	p->live = NULL;
}

uint32_t
op_new(struct tally_node *n, unsigned kind, const uint8_t key[16])
{
	struct node_ops *p = &n->ops;
	uint32_t i = p->free_op;

	if (i == NIL)
		return NIL;
	struct op *o = &p->v[i];
	p->free_op = o->hnext;
	memset(o, 0, offsetof(struct op, got)); /* the rest is written before it is read */
	o->kind = (uint8_t)kind;
	memcpy(o->key, key, 16);
	o->parked = o->next_parked = NIL;
	o->rprev = o->rnext = NIL;
	o->started = n->now;
	o->gen = ++p->gen;
	uint32_t b = key_hash(key);
	o->hnext = p->bucket[b];
	p->bucket[b] = i;
	o->live_ix = p->nops;
	p->live[p->nops++] = i;
	return i;
}

static void
ready_unlink(struct node_ops *p, uint32_t i)
{
	struct op *o = &p->v[i];

	if (o->rprev != NIL)
		p->v[o->rprev].rnext = o->rnext;
	else
		p->ready_head = o->rnext;
	if (o->rnext != NIL)
		p->v[o->rnext].rprev = o->rprev;
	else
		p->ready_tail = o->rprev;
	o->rprev = o->rnext = NIL;
	o->queued = false;
}

void
op_free(struct tally_node *n, uint32_t i)
{
	struct node_ops *p = &n->ops;
	struct op *o = &p->v[i];
	uint32_t *pp = &p->bucket[key_hash(o->key)];

	if (o->queued)
		ready_unlink(p, i);
	if (o->mvr != NULL) {
		tally_mvreg_fini(o->mvr);
		free(o->mvr);
		o->mvr = NULL;
	}
	while (*pp != i)
		pp = &p->v[*pp].hnext;
	*pp = o->hnext;
	o->kind = OP_FREE;
	o->hnext = p->free_op;
	p->free_op = i;
	/* The last live op takes its place. */
	uint32_t last = p->live[--p->nops];
	p->live[o->live_ix] = last;
	p->v[last].live_ix = o->live_ix;
}

uint32_t
op_bucket(const struct tally_node *n, const uint8_t key[16])
{
	return n->ops.bucket[key_hash(key)];
}

void
op_ready(struct tally_node *n, uint32_t i)
{
	struct node_ops *p = &n->ops;
	struct op *o = &p->v[i];

	if (o->queued)
		return;
	o->queued = true;
	o->rnext = NIL;
	o->rprev = p->ready_tail;
	if (p->ready_tail != NIL)
		p->v[p->ready_tail].rnext = i;
	else
		p->ready_head = i;
	p->ready_tail = i;
}

uint32_t
op_ready_pop(struct tally_node *n)
{
	uint32_t i = n->ops.ready_head;

	if (i != NIL)
		ready_unlink(&n->ops, i);
	return i;
}
