/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * libFuzzer target for the wire codec (dataplane/wire.c), under ASan and
 * UBSan. Each input is decoded three ways: as a whole frame, as a bare UDP
 * payload, and as a frame whose lengths, IPv4 checksum and MAC have been
 * repaired first, so mutations reach the record checks behind the MAC.
 *
 * The oracle is stronger than "does not crash": any frame the decoder
 * accepts must re-encode, through the writer, to exactly the payload bytes
 * it was decoded from. A field the decoder accepts but cannot represent, or
 * a record check the writer and decoder disagree on, aborts.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz_keys.h"
#include "wire.h"

#define BUF (TALLY_WIRE_L2L4_LEN + TALLY_WIRE_MAX_PAYLOAD + 64)

/* Re-encode @f and compare with the @len payload bytes at @payload. */
static void
check_roundtrip(const struct tally_wire_frame *f, const uint8_t *payload, size_t len,
		const struct tally_wire_key *keys)
{
	static uint8_t out[BUF];
	struct tally_wire_writer w;
	int rc = 0;

	if (tally_wire_begin(&w, out, sizeof(out), 0, &f->addr, &f->hdr) != 0)
		abort(); /* a header the decoder accepts, the writer refuses */
	for (unsigned i = 0; i < f->hdr.count && rc == 0; i++) {
		switch (f->hdr.type) {
		case TALLY_WIRE_REPLICATE:
		case TALLY_WIRE_REPLICATE_ACK: {
			struct tally_wire_slot r;
			tally_wire_get_slot(f, i, &r);
			rc = tally_wire_add_slot(&w, &r);
			break;
		}
		case TALLY_WIRE_READ_REQUEST: {
			struct tally_wire_keyrec r;
			tally_wire_get_keyrec(f, i, &r);
			rc = tally_wire_add_keyrec(&w, &r);
			break;
		}
		case TALLY_WIRE_READ_REPLY:
		case TALLY_WIRE_REPAIR: {
			struct tally_wire_state r;
			tally_wire_get_state(f, i, &r);
			rc = tally_wire_add_state(&w, &r);
			break;
		}
		case TALLY_WIRE_DIGEST: {
			struct tally_wire_digest r;
			tally_wire_get_digest(f, i, &r);
			rc = tally_wire_add_digest(&w, &r);
			break;
		}
		case TALLY_WIRE_MVSTATE: {
			struct tally_wire_mvstate r;
			tally_wire_get_mvstate(f, i, &r);
			rc = tally_wire_add_mvstate(&w, &r);
			break;
		}
		case TALLY_WIRE_CAUSAL: {
			struct tally_wire_causal r;
			tally_wire_get_causal(f, i, &r);
			rc = tally_wire_add_causal(&w, &r);
			break;
		}
		case TALLY_WIRE_NOTE: {
			struct tally_wire_note r;
			tally_wire_get_note(f, i, &r);
			rc = tally_wire_add_note(&w, &r);
			break;
		}
		default: {
			struct tally_wire_client r;
			tally_wire_get_client(f, i, &r);
			rc = tally_wire_add_client(&w, &r);
		}
		}
	}
	if (rc != 0)
		abort(); /* a record the decoder accepts, the writer refuses */
	size_t n = tally_wire_finish(&w, keys);
	if (n - TALLY_WIRE_L2L4_LEN != len || memcmp(out + TALLY_WIRE_L2L4_LEN, payload, len) != 0)
		abort(); /* decode and encode disagree on the bytes */
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Make lengths, the IPv4 checksum and the MAC right; leave the rest alone. */
static void
repair(uint8_t *f, size_t len, const struct tally_wire_key *keys)
{
	uint8_t *ip = f + 14, *udp = f + 34, *p = f + TALLY_WIRE_L2L4_LEN;
	size_t plen = len - TALLY_WIRE_L2L4_LEN;
	uint32_t sum = 0;

	ip[2] = (uint8_t)((len - 14) >> 8);
	ip[3] = (uint8_t)(len - 14);
	udp[4] = (uint8_t)((len - 34) >> 8);
	udp[5] = (uint8_t)(len - 34);
	ip[10] = ip[11] = 0;
	for (int i = 0; i < 20; i += 2)
		sum += be16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	crypto_shorthash_siphashx24(p + plen - TALLY_WIRE_MAC_LEN, p, plen - TALLY_WIRE_MAC_LEN, keys->k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tally_wire_key keys;
	static uint8_t buf[BUF];
	static int ready;
	struct tally_wire_frame f;

	if (!ready) {
		if (tally_wire_node_key(&keys, tally_fuzz_cluster_key) != 0)
			abort();
		ready = 1;
	}
	if (size > sizeof(buf))
		return 0;

	if (tally_wire_decode(data, size, &keys, &f) == TALLY_WIRE_OK)
		check_roundtrip(&f, data + TALLY_WIRE_L2L4_LEN, size - TALLY_WIRE_L2L4_LEN, &keys);
	if (tally_wire_decode_payload(data, size, &keys, &f) == TALLY_WIRE_OK)
		check_roundtrip(&f, data, size, &keys);

	if (size >= TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN + TALLY_WIRE_MAC_LEN) {
		memcpy(buf, data, size);
		repair(buf, size, &keys);
		if (tally_wire_decode(buf, size, &keys, &f) == TALLY_WIRE_OK)
			check_roundtrip(&f, buf + TALLY_WIRE_L2L4_LEN, size - TALLY_WIRE_L2L4_LEN, &keys);
	}
	return 0;
}
