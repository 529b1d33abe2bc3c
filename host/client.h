/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * libtallyclient: send counter operations to a tally node over UDP
 * (CLIENT_REQUEST frames, docs/wire.md), many per datagram.
 *
 * Every operation gets an op id (this client's random 64-bit id and a
 * sequence number). An operation not answered within @c retry_ms is sent
 * again with the same op id, which the cluster applies at most once, until
 * its deadline; then it completes as TALLY_E_INDETERMINATE (it may or may
 * not have been applied; submitting it again with tally_client_submit_id()
 * and the same op id is safe within the cluster's retry window of its first
 * send: `retry_window_ms`, 10 s by default, docs/cluster.md#the-retry-window).
 *
 * A node keeps the op ids of a bounded number of clients and forgets the
 * least recently active. It then answers this client's later writes
 * TALLY_E_UNKNOWN_CLIENT, and the library recovers by itself: it takes a new
 * random client id (tally_client_id() changes, stats count new_ids) and
 * sends again, under it, each write it numbered itself that one datagram
 * carried (the answer proves it was not applied; result @c renewed says
 * so). A write it sent more than once, or one given its op id with
 * tally_client_submit_id(), completes as TALLY_E_UNKNOWN_CLIENT: whether an
 * earlier send was applied is unknown.
 *
 * Two ways to use it:
 *   - one at a time: tally_client_incr(), tally_client_get();
 *   - at rate: tally_client_submit() queues operations into datagrams of up
 *     to @c batch records (sent when full, or by tally_client_flush()), and
 *     tally_client_poll() returns completions in any order.
 * A client is not thread-safe: use one per thread.
 */

#ifndef TALLY_CLIENT_H
#define TALLY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/** Operations in flight at most (half the node's dedup window). */
#define TALLY_CLIENT_MAX_IN_FLIGHT 512

struct tally_client_opts {
	const char *host;     /**< node address, dotted IPv4; NULL = 127.0.0.1 */
	uint16_t port;        /**< its client port; 0 = 7471 */
	uint8_t key[16];      /**< the client's credential (tallyctl keygen --client; docs/security.md) */
	uint32_t key_id;      /**< and its id */
	unsigned timeout_ms;  /**< deadline of an operation; 0 = 1000; at most the cluster's retry_window_ms */
	unsigned retry_ms;    /**< resend an unanswered operation after; 0 = timeout / 4 */
	unsigned batch;       /**< records per datagram, 1..138 (what a 9000-byte datagram holds of one-beat
				   records: a key of at most 24 bytes and no token; fewer of larger ones); 0 = 138 */
	uint64_t client_id;   /**< 0 = random */
	bool session;         /**< keep a session: send each key's latest token, keep the tokens of answers */
	bool tokens;          /**< ask for a session token in every answer without keeping a session (a
				   session asks anyway); otherwise answers carry none, and the node computes none */
	bool fail_unreachable; /**< complete operations at once as TALLY_CLIENT_E_UNREACHABLE when the
				    node's port answers "port unreachable" (no tallyd listens there); else
				    keep resending until the deadline, as a node that restarts wants */
};

/**
 * Credential @p id's key, for a party that holds the cluster key (a node's
 * operator, the embedded cluster's tests): what `tallyctl keygen --client`
 * writes into a client file. @return 0, or -EIO when libsodium fails.
 */
int tally_client_credential(const uint8_t cluster_key[32], uint32_t id, uint8_t key[16]);

/**
 * A result status of the library's own, never sent by a node (so outside
 * enum tally_status): with @c fail_unreachable, the node's client port
 * answered ICMP port unreachable, so no tallyd listens there. The kernel does
 * not say which datagram was refused: an operation that was sent once
 * (result @c sends == 1) while nothing else was in flight was not applied;
 * otherwise an earlier datagram may have reached a tallyd that has stopped
 * since, and the operation is as uncertain as TALLY_E_INDETERMINATE.
 */
#define TALLY_CLIENT_E_UNREACHABLE 0x100

/** Siblings of an MV-register a result holds; more are counted, not kept. */
#define TALLY_CLIENT_MAX_SIBLINGS 16

/** One value of an MV-register. */
struct tally_client_value {
	uint8_t len;
	uint8_t v[64];
};

/** A finished operation. */
struct tally_client_result {
	uint8_t op;        /**< enum tally_wire_op */
	uint16_t status;   /**< enum tally_status */
	int64_t value;     /**< the counter's value (after a write: as its origin saw it) */
	uint64_t client, seq; /**< its op id */
	uint8_t sends;     /**< datagrams that carried it (1 + resends; at most 255 counted) */
	bool renewed;      /**< the node had forgotten this client (unknown_client): the library took a new
			        client id and sent the operation again under it; client, seq are the new op id */
	void *user;        /**< as given to submit */
	uint8_t token_len; /**< the answer's session token (docs/sessions.md), with opts.session or opts.tokens */
	uint8_t token[192];
	uint8_t nsib;      /**< a get of an MV-register: its siblings (sib_count of the answer) */
	struct tally_client_value sib[TALLY_CLIENT_MAX_SIBLINGS];
};

typedef struct tally_client tally_client_t;

/** @return a client, or NULL with *err = -EINVAL (bad options), -ENOMEM, or a socket errno. */
tally_client_t *tally_client_open(const struct tally_client_opts *o, int *err);

void tally_client_close(tally_client_t *c);

/**
 * Queue an operation: @p op is TALLY_WIRE_OP_INCR, _DECR (amount @p delta > 0)
 * or _GET (of a counter or an MV-register; a register's siblings come in the
 * result); tally_client_put() writes a register; @p quorum is W for writes, R for reads (0 = the cluster's default).
 * @return 0; -EINVAL (bad op, key of 0 or over 64 bytes, delta 0 for a
 * write, quorum over 8); -EAGAIN when TALLY_CLIENT_MAX_IN_FLIGHT are in flight
 * (poll first).
 */
int tally_client_submit(tally_client_t *c, unsigned op, const void *key, size_t keylen, uint64_t delta,
			unsigned quorum, void *user);

/** As tally_client_submit() with a given op id (a retry of an indeterminate operation). */
int tally_client_submit_id(tally_client_t *c, unsigned op, const void *key, size_t keylen, uint64_t delta,
			   unsigned quorum, uint64_t client, uint64_t seq, void *user);

/** Keys a session keeps tokens for; beyond that an old key's token is forgotten. */
#define TALLY_CLIENT_SESSION_KEYS 1024

/**
 * The session's token for a key (what tallyctl --token-file saves).
 * @return its length (0 if none) and the bytes in @p out (192 bytes of room).
 */
unsigned tally_client_token_get(const tally_client_t *c, const void *key, size_t keylen, uint8_t *out);

/** Set the session's token for a key (what tallyctl --token-file loads). @return 0 or -EINVAL. */
int tally_client_token_set(tally_client_t *c, const void *key, size_t keylen, const uint8_t *tok, size_t len);

/**
 * A causal write: incr/decr @p key after what the session has seen of key
 * @p after (its token is sent as the write's dependency; docs/sessions.md).
 * No replica exposes the write before it holds that state of @p after.
 * @return as tally_client_submit(), or -ENOENT if the session has no token
 * for @p after (read it first).
 */
int tally_client_submit_after(tally_client_t *c, unsigned op, const void *key, size_t keylen, uint64_t delta,
			      unsigned quorum, const void *after, size_t afterlen, void *user);

/**
 * Queue a put of @p value (0..64 bytes) into the MV-register @p key. With a
 * session, the key's token (from the last get) is the put's context: the put
 * replaces exactly the siblings that get saw; without one it is a blind write
 * and joins them as a sibling.
 */
int tally_client_put(tally_client_t *c, const void *key, size_t keylen, const void *value, size_t vlen,
		     unsigned w, void *user);

/** Send the datagram being filled. @return 0 or -errno. */
int tally_client_flush(tally_client_t *c);

/**
 * Receive answers, resend what is overdue, expire what is past its deadline;
 * wait up to @p timeout_ms (0: do not wait) for at least one completion.
 * @return completions written to @p out (at most @p max), or -errno.
 */
int tally_client_poll(tally_client_t *c, struct tally_client_result *out, unsigned max, int timeout_ms);

/** Operations submitted and not yet completed. */
unsigned tally_client_in_flight(const tally_client_t *c);

/** This client's id (the first half of its op ids). It changes when a node answers unknown_client:
 * the node's dedup table forgot this client while it was idle, and refuses its later op ids. */
uint64_t tally_client_id(const tally_client_t *c);

/**
 * Counters: datagrams sent and received, resends, answers that matched
 * nothing; client ids taken because a node had forgotten this client
 * (unknown_client), and operations sent again under the new one.
 */
struct tally_client_stats {
	/* stray: answers that completed nothing (a late answer to a resend, or
	 * one whose op id a newer operation of another op or key reuses) */
	uint64_t sent, received, resent, stray;
	uint64_t new_ids, renewed;
};
void tally_client_stats(const tally_client_t *c, struct tally_client_stats *out);

/**
 * One operation, waiting for its answer (none other may be in flight).
 * @return its enum tally_status (value in *value when TALLY_OK), or -errno.
 */
int tally_client_incr(tally_client_t *c, const char *key, int64_t delta, unsigned w, int64_t *value);
int tally_client_get(tally_client_t *c, const char *key, unsigned r, int64_t *value);

#endif /* TALLY_CLIENT_H */
