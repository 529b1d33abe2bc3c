/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Session tokens: encoding, MAC and checks (token.h has the layout).
 */

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "token.h"

#define SKEW_S 60

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int
tally_token_key(uint8_t out[32], const uint8_t cluster_key[32])
{
	static const char ctx[crypto_kdf_CONTEXTBYTES] = { 't', 'a', 'l', 'l', 'y', 'w', 'i', 'r' };

	if (sodium_init() < 0 || crypto_kdf_derive_from_key(out, 32, 3, ctx, cluster_key) != 0)
		return -EIO;
	return 0;
}

void
tally_token_encode(const struct tally_token *t, const uint8_t key[32], uint8_t out[TALLY_TOKEN_LEN])
{
	memset(out, 0, TALLY_TOKEN_LEN);
	out[0] = TALLY_TOKEN_VERSION;
	out[1] = t->kind ? t->kind : TALLY_TOKEN_COUNTER;
	put32(out + 4, t->issued);
	memcpy(out + 8, t->key, 16);
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		put64(out + 24 + 8 * i, t->s.p.slot[i]);
		put64(out + 24 + 8 * (TALLY_MAX_NODES + i), t->s.n.slot[i]);
	}
	crypto_auth(out + TALLY_TOKEN_LEN - crypto_auth_BYTES, out, TALLY_TOKEN_LEN - crypto_auth_BYTES, key);
}

int
tally_token_decode(const uint8_t *in, size_t len, const uint8_t key[32], uint32_t now, uint32_t ttl_s,
		   struct tally_token *out)
{
	if (len != TALLY_TOKEN_LEN)
		return TALLY_TOKEN_TRUNCATED;
	if (crypto_auth_verify(in + TALLY_TOKEN_LEN - crypto_auth_BYTES, in, TALLY_TOKEN_LEN - crypto_auth_BYTES,
			       key) != 0)
		return TALLY_TOKEN_FORGED;
	if (in[0] != TALLY_TOKEN_VERSION || (in[1] != TALLY_TOKEN_COUNTER && in[1] != TALLY_TOKEN_REGISTER) ||
	    in[2] != 0 || in[3] != 0)
		return TALLY_TOKEN_VERSION_BAD;
	out->kind = in[1];
	out->issued = (uint32_t)in[4] | (uint32_t)in[5] << 8 | (uint32_t)in[6] << 16 | (uint32_t)in[7] << 24;
	if ((uint64_t)out->issued > (uint64_t)now + SKEW_S || (uint64_t)out->issued + ttl_s + SKEW_S < now)
		return TALLY_TOKEN_EXPIRED;
	memcpy(out->key, in + 8, 16);
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		out->s.p.slot[i] = get64(in + 24 + 8 * i);
		out->s.n.slot[i] = get64(in + 24 + 8 * (TALLY_MAX_NODES + i));
	}
	return TALLY_TOKEN_OK;
}

const char *
tally_token_error_name(int e)
{
	switch (e) {
	case TALLY_TOKEN_OK:
		return "ok";
	case TALLY_TOKEN_TRUNCATED:
		return "truncated";
	case TALLY_TOKEN_FORGED:
		return "forged";
	case TALLY_TOKEN_VERSION_BAD:
		return "unknown version";
	case TALLY_TOKEN_EXPIRED:
		return "expired";
	case TALLY_TOKEN_OTHER_KEY:
		return "for another key";
	}
	return "invalid";
}
