/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * make_seeds DIR: write one valid frame of every wire type into DIR, under
 * the fuzzers' test key, as the starting corpus of fuzz_wire.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_keys.h"
#include "wire.h"

int
main(int argc, char **argv)
{
	static uint8_t buf[TALLY_WIRE_L2L4_LEN + TALLY_WIRE_MAX_PAYLOAD];
	const struct tally_wire_addr addr = { .src_ip = 0x0a000001, .dst_ip = 0x0a000002,
					      .src_port = 7470, .dst_port = 7470 };
	struct tally_wire_key keys;

	if (argc != 2) {
		fprintf(stderr, "usage: make_seeds DIR\n");
		return 2;
	}
	if ((mkdir(argv[1], 0755) != 0 && errno != EEXIST) ||
	    tally_wire_node_key(&keys, tally_fuzz_cluster_key) != 0) {
		perror(argv[1]);
		return 1;
	}
	for (uint8_t type = 1; type < TALLY_WIRE_TYPE_END; type++) {
		struct tally_wire_hdr h = {
			.type = type, .seq = type, .ref = 1,
			.sender = type == TALLY_WIRE_CLIENT_REQUEST ? TALLY_WIRE_SENDER_CLIENT : 0,
		};
		struct tally_wire_writer w;
		int rc = tally_wire_begin(&w, buf, sizeof(buf), 1500, &addr, &h);

		for (unsigned i = 0; i < 2 && rc == 0; i++) {
			struct tally_wire_slot s = { .index = i, .kind = 1, .origin = 0, .p = 5, .n = i };
			struct tally_wire_keyrec k = { .index = i, .kind = 1 };
			struct tally_wire_state st = { .index = i, .kind = 1, .status = 0 };
			struct tally_wire_digest d = { .partition = i, .kind = 1, .keys = 3 };
			struct tally_wire_client c = { .op = 1, .key_len = 3, .key = "abc", .delta = 1,
						       .client = 9, .seq = i + 1 };

			st.p.slot[0] = 7;
			d.vv.slot[0] = 2;
			if (i == 1) { /* v2: a long key, a value, a token, each its own beats */
				c.op = TALLY_WIRE_OP_PUT;
				c.key_len = 30;
				memcpy(c.key, "abcdefghijklmnopqrstuvwxyz0123", 30);
				c.value_len = 5;
				memcpy(c.val, "hello", 5);
				c.token_len = 70;
				memset(c.token, 0x5a, 70);
				c.flags = TALLY_WIRE_CLIENT_FLAG_TOKEN;
			}
			if (type == TALLY_WIRE_CLIENT_REPLY)
				c.delta = 0, c.value = 42, c.flags = 0;
			switch (type) {
			case TALLY_WIRE_REPLICATE:
			case TALLY_WIRE_REPLICATE_ACK:
				rc = tally_wire_add_slot(&w, &s);
				break;
			case TALLY_WIRE_READ_REQUEST:
				rc = tally_wire_add_keyrec(&w, &k);
				break;
			case TALLY_WIRE_READ_REPLY:
			case TALLY_WIRE_REPAIR:
				rc = tally_wire_add_state(&w, &st);
				break;
			case TALLY_WIRE_DIGEST:
				rc = tally_wire_add_digest(&w, &d);
				break;
			case TALLY_WIRE_MVSTATE: {
				struct tally_wire_mvstate mv = { .sib_count = 2, .sib_index = (uint8_t)i, .value_len = 5,
								 .value = "hello", .dot_counter = i + 1 };
				mv.ctx.slot[0] = i + 1;
				rc = tally_wire_add_mvstate(&w, &mv);
				break;
			}
			case TALLY_WIRE_CAUSAL: {
				struct tally_wire_causal ca = { .slot = s, .dep_len = 4, .dep = { 1, 2, 3, 4 } };
				rc = tally_wire_add_causal(&w, &ca);
				break;
			}
			case TALLY_WIRE_NOTE: {
				struct tally_wire_note nt = { .op = (uint8_t)(1 + i), .client = 9, .seq = i + 1, .index = 10 + i,
							      .base = 10, .skip_from = 4 };
				rc = tally_wire_add_note(&w, &nt);
				break;
			}
			default:
				rc = tally_wire_add_client(&w, &c);
			}
		}
		if (rc != 0) {
			fprintf(stderr, "make_seeds: type %u: %s\n", type, strerror(-rc));
			return 1;
		}
		size_t len = tally_wire_finish(&w, &keys);
		char path[4096];
		snprintf(path, sizeof(path), "%s/type%u.frame", argv[1], type);
		FILE *f = fopen(path, "wb");
		if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
			perror(path);
			return 1;
		}
	}
	return 0;
}
