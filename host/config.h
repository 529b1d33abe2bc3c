/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The configuration of one tally node: an INI file (docs/config.md), read
 * with inih. Every option has a default; an unknown section or key, a bad
 * value, or options that contradict each other is an error that names the
 * file and, where there is one, the line. This module only reads and checks
 * the file: it starts nothing and opens no other file.
 */

#ifndef TALLY_CONFIG_H
#define TALLY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vec.h"

/** Longest path a configuration holds (data_dir). */
#define TALLY_CONFIG_PATH_MAX 256

/** Key prefixes whose MV-registers are last-writer-wins, at most. */
#define TALLY_CONFIG_LWW_MAX 8
#define TALLY_CONFIG_LWW_LEN 32

/** A member of the cluster. */
struct tally_config_member {
	bool present;
	uint32_t ip;   /**< IPv4 address, host order */
	uint16_t port; /**< its cluster UDP port */
};

struct tally_config {
	/* [cluster] */
	uint32_t partitions;  /**< P: partitions of the ring, 1..65536 */
	unsigned n, w, r;     /**< replicas per key, write and read quorums (defaults) */
	uint8_t key[32];      /**< the cluster key (MACs, tokens) */
	bool key_set;         /**< key given; false only in the embedded default */
	uint16_t port;        /**< cluster UDP port (default 7470) */
	char lww[TALLY_CONFIG_LWW_MAX][TALLY_CONFIG_LWW_LEN + 1]; /**< LWW register key prefixes */
	unsigned nlww;
	unsigned retry_window_ms; /**< how long after its first send a client may send an op id again */
	unsigned commit_interval_ms; /**< commit = interval MS: sync the log every MS, acks count replicas
				      that applied in memory; 0 = commit = sync (acks count logged replicas) */
	/* [client]: a client file (tallyctl keygen --client) instead of a node's */
	bool is_client;
	char client_name[64];  /**< who holds it, for the operator */
	uint32_t client_id;    /**< the credential's id */
	uint8_t client_key[16]; /**< its key: MACs this client's requests and their replies */
	bool client_id_set, client_key_set;
	/* [node] */
	int self;             /**< this node's id; -1 when not given */
	char data_dir[TALLY_CONFIG_PATH_MAX];
	char backend[8];      /**< offload backend: "cpu" or "sim" */
	uint32_t table_entries; /**< keys the counter table holds */
	uint16_t client_port; /**< UDP port clients send to */
	uint16_t admin_port;  /**< TCP port of the status page (tallyctl status) */
	uint32_t admin_ip;    /**< the address it binds to; 0 = every address */
	bool admin_bind_set;  /**< admin_bind given */
	unsigned mtu;         /**< IP MTU of the cluster link */
	unsigned fault_injection; /**< 1: the status port takes /fault requests (tests only) */
	/* [limits] */
	unsigned request_timeout_ms; /**< a client request's default deadline */
	unsigned heartbeat_ms;       /**< heartbeat period */
	unsigned failure_ms;         /**< silence after which a peer is down */
	unsigned anti_entropy_ms;    /**< one partition's digest exchange every this often; 0 = off */
	unsigned repair_rate;        /**< anti-entropy repair records per second per peer, at most */
	unsigned token_ttl_s;        /**< a session token's lifetime */
	unsigned retry_capacity;     /**< op ids a node keeps for the retry window (pins, and notes) */
	unsigned write_rate;         /**< writes per second a node is sized for: its op table (tally_config_ops) */
	/* [members] */
	struct tally_config_member members[TALLY_MAX_NODES];
	unsigned nmembers;
};

/** Fill @p c with every default (the embedded three-node cluster's). */
void tally_config_defaults(struct tally_config *c);

/**
 * Read @p path over the defaults in @p c, then check the whole.
 * @return 0; or -ENOENT / -EACCES / -EIO (the file cannot be read) or
 * -EINVAL (an error in it), with a one-line message in @p err that starts
 * with "PATH:LINE: " or, for a check of the whole, "PATH: ".
 */
int tally_config_load(struct tally_config *c, const char *path, char *err, size_t errlen);

/** Entries of a node's op table: what write_rate writes a second hold for request_timeout_ms, twice
 * (a gray peer can hold each until its deadline), at least 4096 and at most 4,194,304. */
unsigned tally_config_ops(const struct tally_config *c);

/**
 * The credential a request to change a node through its status port
 * (/fault?..., /partition?...) carries when it does not come from the node's
 * own machine: HMAC-SHA-512-256 of @p path under a key derived from the
 * cluster key of @p c, as 64 hex digits in @p hex (docs/security.md).
 * @return 0, or -EINVAL when @p c holds no cluster key.
 */
int tally_config_admin_mac(const struct tally_config *c, const char *path, char hex[65]);

#endif /* TALLY_CONFIG_H */
