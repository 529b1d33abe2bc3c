/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Result codes of client operations: the `status` of a CLIENT_REPLY record
 * (docs/wire.md), what the client library returns, and (plus 10) the exit
 * code of tallyctl. docs/cluster.md says what each means for the operation:
 * applied, not applied, or unknown.
 */

#ifndef TALLY_STATUS_H
#define TALLY_STATUS_H

enum tally_status {
	TALLY_OK = 0,              /**< done: a write is held by W replicas; a read merged R */
	TALLY_E_INDETERMINATE = 1, /**< the deadline passed first: a write may or may not be applied; retry it with the same op id */
	TALLY_E_UNAVAILABLE = 2,   /**< fewer live nodes than the quorum asks for: not applied */
	TALLY_E_BAD_REQUEST = 3,   /**< malformed or unsupported request: not applied */
	TALLY_E_TABLE_FULL = 4,    /**< the node's counter table has no room for a new key: not applied */
	TALLY_E_OVERFLOW = 5,      /**< the counter would leave its range: not applied */
	TALLY_E_OP_REFUSED = 6,    /**< op id too old for the dedup window, or applied by another origin: unknown whether applied (and held by W) */
	TALLY_E_BUSY = 7,          /**< too many requests in flight at the node: not applied */
	TALLY_E_IO = 8,            /**< the node's log or NIC failed: not durable (treat as indeterminate); the node takes no more writes */
	TALLY_E_RECOVERING = 9,    /**< the node is recovering its own slot of this key from every member and one did not answer: not applied */
	TALLY_E_BAD_TOKEN = 10,    /**< the session token is forged, truncated, expired or of an unknown version (reason in value): not applied */
	TALLY_E_NOT_YET = 11,      /**< no reachable state dominates the token before the deadline: nothing older is returned; a write is not applied */
	TALLY_E_OUT_OF_RANGE = 12, /**< the counter's state already sums P or N past 2^63 - 1 (an older node's or a forged frame's): a read gives no value (0), a write is not applied */
	TALLY_E_UNKNOWN_CLIENT = 13, /**< the origin no longer holds this client (its dedup table evicted it) and the sequence is past the client's first window: not applied there; an earlier send's fate is unknown. Ops under a new client id are taken (libtallyclient takes one itself) */
	TALLY_STATUS_END,
};

/** A short, stable name ("ok", "indeterminate", ...), for messages and scripts. */
static inline const char *
tally_status_name(unsigned s)
{
	static const char *const names[TALLY_STATUS_END] = {
		"ok", "indeterminate", "unavailable", "bad_request", "table_full",
		"overflow", "op_refused", "busy", "io_error", "recovering", "bad_token", "not_yet",
		"out_of_range", "unknown_client",
	};
	return s < TALLY_STATUS_END ? names[s] : "unknown";
}

#endif /* TALLY_STATUS_H */
