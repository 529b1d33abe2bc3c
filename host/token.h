/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Session tokens (docs/sessions.md): what a session has written and read of
 * one key, as the key's state (P and N vectors) at least that recent, issued
 * by a node and authenticated with HMAC-SHA-512-256 (libsodium crypto_auth)
 * under a key derived from the cluster key. Opaque to clients.
 *
 *   0   1   version (1)
 *   1   1   kind (1: a PN-Counter's state; 2: an MV-register's context, in P)
 *   2   2   flags (0)
 *   4   4   issued, Unix seconds
 *   8   16  key id
 *   24  8M  P vector (M = TALLY_MAX_NODES)
 *   .   8M  N vector
 *   .   32  MAC over everything before it
 *
 * 56 + 16 M bytes: 184 at the default of 8 nodes, within the wire's 192.
 */

#ifndef TALLY_TOKEN_H
#define TALLY_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "gcounter.h"

#define TALLY_TOKEN_VERSION 1
#define TALLY_TOKEN_LEN (56 + 16 * TALLY_MAX_NODES)

/** A token's contents. */
/** Token kinds. */
enum tally_token_kind {
	TALLY_TOKEN_COUNTER = 1,  /**< s: a PN-Counter state the session has seen */
	TALLY_TOKEN_REGISTER = 2, /**< s.p: an MV-register's context the session has read (s.n zero) */
};

struct tally_token {
	uint8_t kind;          /**< enum tally_token_kind; 0 is taken as 1 */
	uint32_t issued;       /**< Unix seconds */
	uint8_t key[16];       /**< the key id it is about */
	tally_pncounter_t s;   /**< a state the session has seen: its reads must dominate it */
};

/** Why a token was refused. */
enum tally_token_error {
	TALLY_TOKEN_OK = 0,
	TALLY_TOKEN_TRUNCATED,  /**< not TALLY_TOKEN_LEN bytes */
	TALLY_TOKEN_FORGED,     /**< the MAC does not verify (altered, or another cluster's) */
	TALLY_TOKEN_VERSION_BAD, /**< authentic, but a version or kind this node does not know */
	TALLY_TOKEN_EXPIRED,    /**< older than the cluster's token lifetime, or issued in the future */
	TALLY_TOKEN_OTHER_KEY,  /**< authentic, but about another key than the request's */
};

/** Derive the token key from the 32-byte cluster key (KDF subkey 3, context "tallywir"). @return 0 or -EIO. */
int tally_token_key(uint8_t out[32], const uint8_t cluster_key[32]);

/** Encode and authenticate @p t into @p out (TALLY_TOKEN_LEN bytes). */
void tally_token_encode(const struct tally_token *t, const uint8_t key[32], uint8_t out[TALLY_TOKEN_LEN]);

/**
 * Check and decode @p len bytes at @p in: its MAC under @p key, its version,
 * and that it was issued within @p ttl_s seconds before @p now (60 s of
 * clock skew allowed either way). @return an enum tally_token_error.
 */
int tally_token_decode(const uint8_t *in, size_t len, const uint8_t key[32], uint32_t now, uint32_t ttl_s,
		       struct tally_token *out);

/** A short name of an error ("forged", "expired", ...). */
const char *tally_token_error_name(int e);

#endif /* TALLY_TOKEN_H */
