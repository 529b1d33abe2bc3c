/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The sim backend of the offload engine: the NIC's job done by the NIC
 * itself, rtl/nic_top.sv Verilated and clocked in-process (rtl/sim/nic_sim.h).
 * Received frames go into its rx stream unchanged; the NIC parses, checks
 * and merges them, and its events become the rx results and completions.
 * The host's table calls are NIC commands. Nothing here reads a frame or
 * merges a value: if this backend and the cpu backend agree, the RTL does
 * what the C reference does.
 *
 * The model is clocked only inside these calls; a burst is pushed whole, so
 * frames overlap in the NIC's pipeline as they would on the wire.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nic_sim.h"
#include "offload_backend.h"
#include "tally_csr.h"

/* Watchdog: clocks a burst or command may take before the NIC is declared
 * stalled. Far above any legal time (a 9 KB frame hashes in ~2,500 clocks). */
#define SIM_WATCHDOG_BASE 100000u
#define SIM_WATCHDOG_PER_FRAME 10000u

/* One frame's completions among those collected for a burst. */
struct frame_run {
	unsigned first, count;
};

struct sim {
	tally_nsim_t *nic;
	unsigned nodes;
	bool broken;         /* the NIC stalled once: nothing it says can be trusted */
	uint16_t next_frame; /* the arrival number the NIC gives the next frame */
	struct tally_nsim_cmd cmd;
	struct tally_nsim_event ev;
	/* a burst's completions as they come, and where each frame's are */
	struct tally_offload_completion *pend;
	struct frame_run *runs;
	unsigned cap;
};

static void *
sim_create(const struct tally_offload_config *cfg, int *err)
{
	struct sim *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	s->nic = tally_nsim_create(NULL, err);
	if (s->nic == NULL) {
		free(s);
		return NULL;
	}
	s->nodes = tally_nsim_nodes(s->nic);
	if (s->nodes != TALLY_MAX_NODES || cfg->table_entries > tally_nsim_depth(s->nic)) {
		*err = -EINVAL; /* a model built for other sizes, or a table larger than the NIC's */
		goto fail;
	}
	if (tally_nsim_load_key(s->nic, cfg->key.k) != 0) {
		*err = -EIO;
		goto fail;
	}
	*err = 0;
	return s;
fail:
	tally_nsim_free(s->nic);
	free(s);
	return NULL;
}

static void
sim_destroy(void *b)
{
	struct sim *s = b;

	tally_nsim_free(s->nic);
	free(s->pend);
	free(s->runs);
	free(s);
}

/* Run one command to its event (s->ev). @return 0, or -EIO if the NIC stalled. */
static int
command(struct sim *s, uint8_t op, uint32_t index, const uint8_t *key, const uint64_t *p,
	const uint64_t *n)
{
	struct tally_nsim_cmd *c = &s->cmd;

	if (s->broken)
		return -EIO;
	c->op = op;
	c->index = index;
	if (key != NULL)
		memcpy(c->key, key, sizeof(c->key));
	else
		memset(c->key, 0, sizeof(c->key));
	memset(c->p, 0, sizeof(c->p));
	memset(c->n, 0, sizeof(c->n));
	if (p != NULL)
		memcpy(c->p, p, s->nodes * sizeof(uint64_t));
	if (n != NULL)
		memcpy(c->n, n, s->nodes * sizeof(uint64_t));
	tally_nsim_cmd_push(s->nic, c);
	if (tally_nsim_run(s->nic, SIM_WATCHDOG_BASE) != 0 || tally_nsim_event_pop(s->nic, &s->ev) != 0 ||
	    s->ev.kind != TALLY_NSIM_EVT_CMD) {
		s->broken = true;
		return -EIO;
	}
	return 0;
}

static int
sim_row_set(void *b, uint32_t index, const uint8_t *key)
{
	struct sim *s = b;

	return command(s, key != NULL ? TALLY_NSIM_OP_SET : TALLY_NSIM_OP_CLEAR, index, key, NULL, NULL);
}

static int
sim_merge_slot(void *b, const struct tally_wire_slot *r, struct tally_offload_completion *out)
{
	struct sim *s = b;
	uint64_t p[TALLY_NSIM_MAX_NODES] = { 0 }, n[TALLY_NSIM_MAX_NODES] = { 0 };

	if (r->origin >= s->nodes)
		return -EINVAL;
	p[r->origin] = r->p;
	n[r->origin] = r->n;
	if (command(s, TALLY_NSIM_OP_MERGE, r->index, r->key, p, n) != 0)
		return -EIO;
	if (!s->ev.hit)
		return -EINVAL;
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->index = r->index;
		out->origin = r->origin;
		memcpy(out->key, r->key, TALLY_WIRE_KEY_ID_LEN);
		out->p = s->ev.p[r->origin];
		out->n = s->ev.n[r->origin];
	}
	return 0;
}

static int
sim_merge_state(void *b, const struct tally_wire_state *st)
{
	struct sim *s = b;

	if (command(s, TALLY_NSIM_OP_MERGE, st->index, st->key, st->p.slot, st->n.slot) != 0)
		return -EIO;
	return s->ev.hit ? 0 : -EINVAL;
}

static int
sim_read(const void *b, uint32_t index, tally_pncounter_t *out)
{
	struct sim *s = (struct sim *)b; /* clocking the model is not a logical change */

	memset(out, 0, sizeof(*out));
	if (command(s, TALLY_NSIM_OP_READ, index, NULL, NULL, NULL) != 0)
		return -EIO;
	memcpy(out->p.slot, s->ev.p, s->nodes * sizeof(uint64_t));
	memcpy(out->n.slot, s->ev.n, s->nodes * sizeof(uint64_t));
	return 0;
}

/* Reads back to back: the NIC takes a command a clock, so n reads cost n
 * clocks and one pipeline's latency, not n latencies. */
static int
sim_read_many(const void *b, const uint32_t *index, unsigned n, tally_pncounter_t *out)
{
	struct sim *s = (struct sim *)b; /* clocking the model is not a logical change */
	struct tally_nsim_cmd *c = &s->cmd;

	if (s->broken)
		return -EIO;
	memset(c, 0, sizeof(*c));
	c->op = TALLY_NSIM_OP_READ;
	for (unsigned i = 0; i < n; i++) {
		c->index = index[i];
		tally_nsim_cmd_push(s->nic, c);
	}
	if (tally_nsim_run(s->nic, SIM_WATCHDOG_BASE + n) != 0) {
		s->broken = true;
		return -EIO;
	}
	for (unsigned i = 0; i < n; i++) {
		if (tally_nsim_event_pop(s->nic, &s->ev) != 0 || s->ev.kind != TALLY_NSIM_EVT_CMD ||
		    s->ev.index != index[i]) {
			s->broken = true;
			return -EIO;
		}
		memset(&out[i], 0, sizeof(out[i]));
		memcpy(out[i].p.slot, s->ev.p, s->nodes * sizeof(uint64_t));
		memcpy(out[i].n.slot, s->ev.n, s->nodes * sizeof(uint64_t));
	}
	return 0;
}

static int
sim_compare(const void *b, uint32_t index, const tally_vec_t *p, const tally_vec_t *n,
	    tally_vv_order_t *op, tally_vv_order_t *on)
{
	struct sim *s = (struct sim *)b;

	*op = *on = TALLY_VV_CONCURRENT;
	if (command(s, TALLY_NSIM_OP_COMPARE, index, NULL, p->slot, n->slot) != 0)
		return -EIO;
	*op = (tally_vv_order_t)s->ev.order_p;
	*on = (tally_vv_order_t)s->ev.order_n;
	return 0;
}

/* The most records a frame of @p len bytes can carry. */
static unsigned
max_records(uint16_t len)
{
	unsigned min = TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN + TALLY_WIRE_MAC_LEN;
	unsigned r = len < min ? 0 : (len - min) / 64;

	return r < TALLY_WIRE_MAX_SLOTS ? r : TALLY_WIRE_MAX_SLOTS;
}

/* Make room for @p n completions of the burst in flight. @return 0 or -ENOMEM. */
static int
reserve(struct sim *s, unsigned n)
{
	if (n <= s->cap)
		return 0;
	struct tally_offload_completion *c = realloc(s->pend, n * sizeof(*c));
	struct frame_run *r = realloc(s->runs, n * sizeof(*r));

	if (c != NULL)
		s->pend = c;
	if (r != NULL)
		s->runs = r;
	if (c == NULL || r == NULL)
		return -ENOMEM;
	s->cap = n;
	return 0;
}

static unsigned
sim_rx(void *b, const void *const *frames, const uint16_t *lens, unsigned n,
       struct tally_offload_rxinfo *info, struct tally_offload_completion *compl, unsigned max_compl,
       unsigned *ncompl)
{
	struct sim *s = b;
	unsigned pushed = 0, room = max_compl, npend = 0, done = 0, nc = 0;
	uint16_t base = s->next_frame;

	*ncompl = 0;
	if (s->broken)
		return 0;
	/* Push the frames whose completions surely fit, all at once. */
	while (pushed < n && max_records(lens[pushed]) <= room)
		room -= max_records(lens[pushed++]);
	if (reserve(s, pushed > max_compl ? pushed : max_compl) != 0)
		return 0;
	for (unsigned i = 0; i < pushed; i++) {
		if (tally_nsim_rx_push(s->nic, frames[i], lens[i]) != 0) {
			s->broken = true; /* a frame we cannot hand over: the NIC is out of step */
			return 0;
		}
		s->runs[i].count = 0;
	}
	s->next_frame = (uint16_t)(base + pushed);
	if (tally_nsim_run(s->nic, SIM_WATCHDOG_BASE + (uint64_t)pushed * SIM_WATCHDOG_PER_FRAME) != 0) {
		s->broken = true;
		return 0;
	}
	/*
	 * Frames finish as their MACs complete, so a short frame may overtake a
	 * long one: a frame's records come just before its FRAME event, and the
	 * event's frame number says which frame of the burst it is. Collect
	 * them, then hand the completions out in frame order.
	 */
	while (done < pushed && tally_nsim_event_pop(s->nic, &s->ev) == 0) {
		const struct tally_nsim_event *e = &s->ev;
		unsigned f = (uint16_t)(e->frame - base);

		if (e->kind == TALLY_NSIM_EVT_CMD)
			continue;
		if (f >= pushed || npend >= s->cap) {
			s->broken = true; /* an event for a frame we did not push */
			return 0;
		}
		if (e->kind == TALLY_NSIM_EVT_RECORD) {
			struct tally_offload_completion *c = &s->pend[npend++];

			memset(c, 0, sizeof(*c));
			c->frame = (uint16_t)f;
			c->index = e->index;
			c->origin = e->origin;
			memcpy(c->key, e->key, TALLY_WIRE_KEY_ID_LEN);
			c->p = e->p[e->origin];
			c->n = e->n[e->origin];
			if (s->runs[f].count++ == 0)
				s->runs[f].first = npend - 1;
			continue;
		}
		struct tally_offload_rxinfo *in = &info[f];

		for (unsigned i = 0; i < s->runs[f].count; i++) {
			s->pend[s->runs[f].first + i].sender = e->sender;
			s->pend[s->runs[f].first + i].seq = e->seq;
		}
		memset(in, 0, sizeof(*in));
		in->disposition = e->disposition;
		in->verdict = e->verdict;
		in->merged = e->merged;
		if (e->verdict == TALLY_WIRE_OK) {
			memcpy(in->addr.dst_mac, e->dst_mac, 6);
			memcpy(in->addr.src_mac, e->src_mac, 6);
			in->addr.src_ip = e->src_ip;
			in->addr.dst_ip = e->dst_ip;
			in->addr.src_port = e->src_port;
			in->addr.dst_port = e->dst_port;
			in->hdr = (struct tally_wire_hdr){
				.type = e->type,
				.sender = e->sender,
				.count = e->count,
				.epoch = e->epoch,
				.seq = e->seq,
				.ref = e->ref,
			};
		}
		done++;
	}
	if (done != pushed) {
		s->broken = true;
		return 0;
	}
	for (unsigned f = 0; f < pushed; f++) {
		memcpy(&compl[nc], &s->pend[s->runs[f].first], s->runs[f].count * sizeof(*compl));
		nc += s->runs[f].count;
	}
	*ncompl = nc;
	return pushed;
}

const struct tally_offload_backend tally_offload_sim = {
	.name = "sim",
	.create = sim_create,
	.destroy = sim_destroy,
	.row_set = sim_row_set,
	.rx = sim_rx,
	.merge_slot = sim_merge_slot,
	.merge_state = sim_merge_state,
	.read = sim_read,
	.read_many = sim_read_many,
	.compare = sim_compare,
};
