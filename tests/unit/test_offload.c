/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The offload engine through its public interface, on the backend named by
 * --backend (cpu, the default, or sim: the Verilated NIC):
 * configuration errors, the key table (a full table is an error, never an
 * overwrite), random bursts of REPLICATE frames with duplicates, reordering
 * and replays ending equal to the reference merge of everything sent, the
 * host path for records the engine cannot place, dispositions and drop
 * counters, completions and their back-pressure, state merges and compare.
 */

#include <errno.h>
#include <string.h>

#include "cmocka_prelude.h"
#include "offload.h"
#include "prop.h"

#define KEYS 64
#define FRAME_MAX 1600

static struct tally_wire_key keys;
static const char *backend = "cpu";
static const struct tally_wire_addr addr = { .src_ip = 1, .dst_ip = 2, .src_port = 7470, .dst_port = 7470 };

static int
setup(void **state)
{
	uint8_t cluster[32] = { 1, 2, 3 };

	(void)state;
	return tally_wire_node_key(&keys, cluster);
}

static tally_offload_t *
make(uint32_t entries)
{
	struct tally_offload_config cfg = { .backend = backend, .table_entries = entries, .key = keys };
	int err = 1;
	tally_offload_t *o = tally_offload_create(&cfg, &err);

	assert_non_null(o);
	assert_int_equal(err, 0);
	return o;
}

static void
key_of(unsigned k, uint8_t out[16])
{
	char name[32];

	snprintf(name, sizeof(name), "key:%u", k);
	tally_wire_key_id(name, strlen(name), out);
}

static void
test_config_errors(void **state)
{
	struct tally_offload_config cfg = { .backend = "fpga", .table_entries = 8, .key = keys };
	int err = 0;

	(void)state;
	assert_null(tally_offload_create(&cfg, &err));
	assert_int_equal(err, -ENOENT);
	cfg.backend = NULL; /* the default is cpu */
	cfg.table_entries = 0;
	assert_null(tally_offload_create(&cfg, &err));
	assert_int_equal(err, -EINVAL);
	cfg.table_entries = (1u << 24) + 1;
	assert_null(tally_offload_create(&cfg, &err));
	assert_int_equal(err, -EINVAL);
	cfg.table_entries = 8;
	cfg.kernels = "sse9";
	assert_null(tally_offload_create(&cfg, &err));
	assert_int_equal(err, -ENOENT);
	cfg.kernels = "scalar";
	tally_offload_t *o = tally_offload_create(&cfg, &err);
	assert_non_null(o);
	assert_string_equal(tally_offload_backend(o), "cpu");
	tally_offload_destroy(o);
	cfg.backend = backend;
	cfg.kernels = NULL;
	o = tally_offload_create(&cfg, &err);
	assert_non_null(o);
	assert_string_equal(tally_offload_backend(o), backend);
	tally_offload_destroy(o);
	tally_offload_destroy(NULL);
}

static void
test_key_table(void **state)
{
	tally_offload_t *o = make(4);
	uint8_t k[6][16];
	uint32_t idx[6], again;
	struct tally_offload_stats st;
	tally_pncounter_t c;

	(void)state;
	for (int i = 0; i < 6; i++)
		key_of((unsigned)i, k[i]);
	for (int i = 0; i < 4; i++)
		assert_int_equal(tally_offload_key_alloc(o, k[i], &idx[i]), 1);
	assert_int_equal(tally_offload_key_alloc(o, k[2], &again), 0); /* existing */
	assert_int_equal(again, idx[2]);
	assert_int_equal(tally_offload_key_alloc(o, k[4], &idx[4]), -ENOSPC); /* full: an error */
	assert_int_equal(tally_offload_key_lookup(o, k[4], &again), -ENOENT);
	for (int i = 0; i < 4; i++) { /* nothing was overwritten */
		assert_int_equal(tally_offload_key_lookup(o, k[i], &again), 0);
		assert_int_equal(again, idx[i]);
		assert_int_equal(tally_offload_read(o, idx[i], &c), 0);
	}
	assert_int_equal(tally_offload_key_free(o, idx[1]), 0);
	assert_int_equal(tally_offload_key_free(o, idx[1]), -EINVAL);
	assert_int_equal(tally_offload_key_free(o, 99), -EINVAL);
	assert_int_equal(tally_offload_read(o, idx[1], &c), -EINVAL);
	assert_int_equal(tally_offload_key_lookup(o, k[1], &again), -ENOENT);
	assert_int_equal(tally_offload_key_alloc(o, k[5], &idx[5]), 1);
	assert_int_equal(idx[5], idx[1]); /* the freed row is reused */
	tally_offload_stats(o, &st);
	assert_int_equal(st.keys_used, 4);
	assert_int_equal(st.keys_capacity, 4);
	tally_offload_destroy(o);
}

/* A REPLICATE frame of @n slot records into @buf; returns its length. */
static uint16_t
replicate_frame(uint8_t *buf, uint16_t sender, uint64_t seq, const struct tally_wire_slot *r, unsigned n)
{
	struct tally_wire_hdr h = { .type = TALLY_WIRE_REPLICATE, .sender = sender, .seq = seq };
	struct tally_wire_writer w;

	assert_int_equal(tally_wire_begin(&w, buf, FRAME_MAX, 1500, &addr, &h), 0);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(tally_wire_add_slot(&w, &r[i]), 0);
	return (uint16_t)tally_wire_finish(&w, &keys);
}

/* Random bursts, with duplicated, reordered and replayed frames, end in the
 * table the reference merge of every record sent gives. */
static void
test_rx_equals_reference(void **state)
{
	static uint8_t frames[64][FRAME_MAX];
	static struct tally_offload_completion compl[TALLY_WIRE_MAX_SLOTS * 4];
	tally_offload_t *o = make(KEYS);
	tally_pncounter_t model[KEYS];
	uint32_t idx[KEYS];
	uint8_t kid[KEYS][16];
	struct prng g;

	(void)state;
	prop_init(&g, 2000);
	for (unsigned k = 0; k < KEYS; k++) {
		key_of(k, kid[k]);
		assert_int_equal(tally_offload_key_alloc(o, kid[k], &idx[k]), 1);
		tally_pn_init(&model[k]);
	}
	for (int round = 0; round < 200; round++) {
		const void *ptr[64];
		uint16_t len[64];
		struct tally_offload_rxinfo info[64];
		unsigned nf = 1 + (unsigned)prng_below(&g, 32), nc, done = 0;

		for (unsigned f = 0; f < nf; f++) {
			if (f > 0 && prng_below(&g, 4) == 0) { /* duplicate an earlier frame of the burst */
				unsigned from = (unsigned)prng_below(&g, f);
				memcpy(frames[f], frames[from], len[from]);
				len[f] = len[from];
			} else {
				struct tally_wire_slot r[21];
				unsigned n = 1 + (unsigned)prng_below(&g, 21);
				for (unsigned i = 0; i < n; i++) {
					unsigned k = (unsigned)prng_below(&g, KEYS);
					r[i] = (struct tally_wire_slot){ .index = idx[k], .kind = 1,
									 .origin = (uint8_t)prng_below(&g, TALLY_MAX_NODES),
									 .p = prng_below(&g, 1000), .n = prng_below(&g, 1000) };
					memcpy(r[i].key, kid[k], 16);
					/* the reference, written independently of the kernels:
					 * each origin slot keeps the largest value it was sent */
					uint64_t *mp = &model[k].p.slot[r[i].origin];
					uint64_t *mn = &model[k].n.slot[r[i].origin];
					*mp = r[i].p > *mp ? r[i].p : *mp;
					*mn = r[i].n > *mn ? r[i].n : *mn;
				}
				len[f] = replicate_frame(frames[f], 1, (uint64_t)round * 100 + f, r, n);
			}
			ptr[f] = frames[f];
		}
		while (done < nf) { /* completions are drained between calls */
			unsigned got = tally_offload_rx(o, ptr + done, len + done, nf - done, info + done,
							compl, sizeof(compl) / sizeof(compl[0]), &nc);
			assert_true(got > 0);
			for (unsigned i = 0; i < nc; i++) {
				tally_pncounter_t now;
				assert_int_equal(tally_offload_read(o, compl[i].index, &now), 0);
				/* a completion reports at least what its record carried */
				assert_true(compl[i].p <= now.p.slot[compl[i].origin]);
			}
			done += got;
		}
		for (unsigned f = 0; f < nf; f++)
			assert_int_equal(info[f].disposition, TALLY_OFFLOAD_CONSUMED);
	}
	for (unsigned k = 0; k < KEYS; k++) {
		tally_pncounter_t got;
		assert_int_equal(tally_offload_read(o, idx[k], &got), 0);
		if (!tally_vec_equal(&got.p, &model[k].p) || !tally_vec_equal(&got.n, &model[k].n))
			fail_msg("key %u differs from the reference merge (seed %" PRIu64 ")", k, prop_seed());
	}
	tally_offload_destroy(o);
}

static void
test_host_path_and_dispositions(void **state)
{
	static uint8_t buf[3][FRAME_MAX];
	static struct tally_offload_completion compl[TALLY_WIRE_MAX_SLOTS];
	tally_offload_t *o = make(8);
	uint8_t ka[16], kb[16];
	uint32_t ia, ib;
	struct tally_wire_slot r[2];
	struct tally_offload_rxinfo info[3];
	struct tally_offload_stats st;
	unsigned nc;

	(void)state;
	key_of(1, ka);
	key_of(2, kb);
	assert_int_equal(tally_offload_key_alloc(o, ka, &ia), 1);
	r[0] = (struct tally_wire_slot){ .index = ia, .kind = 1, .origin = 0, .p = 5, .n = 1 };
	memcpy(r[0].key, ka, 16);
	r[1] = (struct tally_wire_slot){ .index = TALLY_WIRE_INDEX_UNKNOWN, .kind = 1, .origin = 0, .p = 7 };
	memcpy(r[1].key, kb, 16);

	uint16_t len[3];
	len[0] = replicate_frame(buf[0], 1, 1, r, 2);
	struct tally_wire_hdr h = { .type = TALLY_WIRE_READ_REQUEST, .sender = 1 };
	struct tally_wire_writer w;
	struct tally_wire_keyrec kr = { .index = ia, .kind = 1 };
	assert_int_equal(tally_wire_begin(&w, buf[1], FRAME_MAX, 0, &addr, &h), 0);
	assert_int_equal(tally_wire_add_keyrec(&w, &kr), 0);
	len[1] = (uint16_t)tally_wire_finish(&w, &keys);
	memcpy(buf[2], buf[0], len[0]);
	buf[2][len[0] - 1] ^= 1; /* bad MAC */
	len[2] = len[0];

	const void *ptr[3] = { buf[0], buf[1], buf[2] };
	assert_int_equal(tally_offload_rx(o, ptr, len, 3, info, compl, TALLY_WIRE_MAX_SLOTS, &nc), 3);
	/* record 0 merged by the engine; record 1 has no row yet: the frame goes to the host */
	assert_int_equal(info[0].disposition, TALLY_OFFLOAD_TO_HOST);
	assert_int_equal(info[0].merged, 1);
	assert_int_equal(nc, 1);
	assert_int_equal(compl[0].index, ia);
	assert_true(compl[0].p == 5 && compl[0].n == 1 && compl[0].seq == 1 && compl[0].sender == 1);
	assert_int_equal(info[1].disposition, TALLY_OFFLOAD_TO_HOST);
	assert_int_equal(info[2].disposition, TALLY_OFFLOAD_DROPPED);
	assert_int_equal(info[2].verdict, TALLY_WIRE_DROP_BAD_MAC);

	/* The host resolves the key and re-applies the whole frame: idempotent. */
	assert_int_equal(tally_offload_key_alloc(o, kb, &ib), 1);
	r[1].index = ib;
	assert_int_equal(tally_offload_apply_slots(o, r, 2, compl), 2);
	assert_true(compl[1].p == 7);
	tally_pncounter_t c;
	int64_t v;
	assert_int_equal(tally_offload_read(o, ia, &c), 0);
	assert_int_equal(tally_pn_value(&c, &v), 0);
	assert_int_equal(v, 4); /* 5 - 1, once, although applied twice */

	/* A record naming another key's row is refused, not merged there. */
	struct tally_wire_slot wrong = r[1];
	wrong.index = ia;
	assert_int_equal(tally_offload_apply_slots(o, &wrong, 1, NULL), 0);
	wrong.index = 1000;
	assert_int_equal(tally_offload_apply_slots(o, &wrong, 1, NULL), 0);

	tally_offload_stats(o, &st);
	assert_int_equal(st.frames, 3);
	assert_int_equal(st.consumed, 0);
	assert_int_equal(st.to_host, 2);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.drops[TALLY_WIRE_DROP_BAD_MAC], 1);
	assert_int_equal(st.records_merged, 1);
	assert_int_equal(st.records_host, 2);
	tally_offload_destroy(o);
}

/* Completions that do not fit stop the burst before the frame, never inside it. */
static void
test_completion_backpressure(void **state)
{
	static uint8_t buf[2][FRAME_MAX];
	static struct tally_offload_completion compl[2 * TALLY_WIRE_MAX_SLOTS];
	tally_offload_t *o = make(4);
	struct tally_wire_slot r[21];
	struct tally_offload_rxinfo info[2];
	uint8_t k[16];
	uint32_t ix;
	unsigned nc;

	(void)state;
	key_of(7, k);
	assert_int_equal(tally_offload_key_alloc(o, k, &ix), 1);
	for (unsigned i = 0; i < 21; i++) {
		r[i] = (struct tally_wire_slot){ .index = ix, .kind = 1, .origin = (uint8_t)(i % TALLY_MAX_NODES), .p = i };
		memcpy(r[i].key, k, 16);
	}
	uint16_t len[2] = { replicate_frame(buf[0], 0, 1, r, 21), replicate_frame(buf[1], 0, 2, r, 21) };
	const void *ptr[2] = { buf[0], buf[1] };
	assert_int_equal(tally_offload_rx(o, ptr, len, 2, info, compl, TALLY_WIRE_MAX_SLOTS, &nc), 2);
	assert_int_equal(nc, 42);
	assert_int_equal(tally_offload_rx(o, ptr, len, 2, info, compl, 30, &nc), 1);
	assert_int_equal(nc, 21);
	tally_offload_destroy(o);
}

static void
test_states_and_compare(void **state)
{
	tally_offload_t *o = make(4);
	struct tally_wire_state s = { .kind = 1 };
	tally_pncounter_t c;
	tally_vv_order_t op, on;
	uint32_t ix;

	(void)state;
	key_of(3, s.key);
	assert_int_equal(tally_offload_key_alloc(o, s.key, &ix), 1);
	s.index = ix;
	s.p.slot[0] = 10;
	s.n.slot[TALLY_MAX_NODES - 1] = 3;
	assert_int_equal(tally_offload_apply_states(o, &s, 1), 1);
	assert_int_equal(tally_offload_read(o, ix, &c), 0);
	assert_true(tally_vec_equal(&c.p, &s.p) && tally_vec_equal(&c.n, &s.n));

	tally_vec_t tp = s.p, tn = s.n;
	assert_int_equal(tally_offload_compare(o, ix, &tp, &tn, &op, &on), 0);
	assert_int_equal(op, TALLY_VV_EQUAL);
	tp.slot[0] = 11; /* the token has seen more than the entry holds */
	assert_int_equal(tally_offload_compare(o, ix, &tp, &tn, &op, &on), 0);
	assert_int_equal(op, TALLY_VV_BEFORE);
	tn.slot[TALLY_MAX_NODES - 1] = 0;
	assert_int_equal(tally_offload_compare(o, ix, &tp, &tn, &op, &on), 0);
	assert_int_equal(on, TALLY_VV_AFTER);
	assert_int_equal(tally_offload_compare(o, 3, &tp, &tn, &op, &on), -EINVAL);
	s.index = 2; /* a free row */
	assert_int_equal(tally_offload_apply_states(o, &s, 1), 0);
	tally_offload_destroy(o);
}

/* A burst of reads gives what the reads one by one give, in order; a free row refuses the burst. */
static void
test_read_many(void **state)
{
	tally_offload_t *o = make(64);
	uint32_t ix[40];
	tally_pncounter_t one, many[40];

	(void)state;
	for (unsigned k = 0; k < 40; k++) {
		struct tally_wire_state s = { .kind = 1 };
		key_of(100 + k, s.key);
		assert_int_equal(tally_offload_key_alloc(o, s.key, &ix[k]), 1);
		s.index = ix[k];
		s.p.slot[k % TALLY_MAX_NODES] = 1000 + k;
		s.n.slot[(k + 1) % TALLY_MAX_NODES] = k;
		assert_int_equal(tally_offload_apply_states(o, &s, 1), 1);
	}
	/* out of order, with a row twice */
	uint32_t want[40];
	for (unsigned k = 0; k < 40; k++)
		want[k] = ix[(k * 7) % 40];
	want[39] = want[0];
	assert_int_equal(tally_offload_read_many(o, want, 40, many), 0);
	for (unsigned k = 0; k < 40; k++) {
		assert_int_equal(tally_offload_read(o, want[k], &one), 0);
		assert_true(tally_vec_equal(&one.p, &many[k].p) && tally_vec_equal(&one.n, &many[k].n));
	}
	assert_int_equal(tally_offload_read_many(o, want, 0, many), 0);
	uint32_t free_row = 0;
	for (bool used = true; used; free_row += used) {
		used = false;
		for (unsigned k = 0; k < 40; k++)
			used = used || ix[k] == free_row;
	}
	want[5] = free_row; /* not in use */
	assert_int_equal(tally_offload_read_many(o, want, 40, many), -EINVAL);
	tally_offload_destroy(o);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--backend") == 0) {
		backend = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--backend cpu|sim]\n", argv[0]);
		return 2;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_rx_equals_reference),
		cmocka_unit_test(test_host_path_and_dispositions),
		cmocka_unit_test(test_completion_backpressure),
		cmocka_unit_test(test_states_and_compare),
		cmocka_unit_test(test_read_many),
	};

	prop_seed();
	return cmocka_run_group_tests(tests, setup, NULL);
}
