/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * kv679 recovery: a node that lost its data directory learns its own slot
 * of a key from every member before it raises it (docs/durability.md).
 */

#include <string.h>

#include "state.h"

void
recovery_start(struct tally_node *n, uint32_t wi)
{
	struct op *w = &n->ops.v[wi];

	/* One recovery per key: join it if it runs. */
	for (uint32_t i = op_bucket(n, w->key); i != NIL; i = n->ops.v[i].hnext) {
		struct op *o = &n->ops.v[i];
		if (o->kind == OP_READ && o->recover && o->state != ST_DONE && memcmp(o->key, w->key, 16) == 0) {
			w->state = ST_RECOVER;
			w->next_parked = o->parked;
			o->parked = wi;
			return;
		}
	}
	uint32_t ri = op_new(n, OP_READ, w->key);
	if (ri == NIL) {
		reply_op(n, w, TALLY_E_BUSY, 0);
		op_free(n, wi);
		return;
	}
	struct op *r = &n->ops.v[ri];
	r->recover = true;
	r->deadline = w->deadline;
	r->targets = members_all(n);
	r->r = (uint8_t)mask_count(r->targets);
	w->state = ST_RECOVER;
	r->parked = wi;
	reads_send(n, ri);
}

void
recovery_finish(struct tally_node *n, uint32_t ri)
{
	struct op *o = &n->ops.v[ri];
	int rc = TALLY_E_RECOVERING;
	uint32_t ix;

	if (o->answered == o->targets) {
		/* Every member answered: our slot of this key is now the highest anywhere. */
		rc = table_merge_state(n, o->key, &o->merged, &ix);
		if (rc == 0) {
			log_recovered(n, o->key);
			n->table.meta[ix].recovered = true;
			n->recovery.recoveries++;
		}
	}
	for (uint32_t w = o->parked; w != NIL;) {
		struct op *wo = &n->ops.v[w];
		uint32_t next = wo->next_parked;
		wo->next_parked = NIL;
		if (rc != 0) {
			reply_op(n, wo, (unsigned)rc, 0);
			op_free(n, w);
		} else {
			wo->state = ST_NEW;
			op_ready(n, w);
		}
		w = next;
	}
	op_free(n, ri);
}
