/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tallyctl keygen --client NAME: a client file. Its key is credential id's
 * subkey of the cluster key (tally_client_credential); a node derives the
 * same from the id each request names, so nothing is stored on the nodes.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "client.h"
#include "keygen.h"

int
tally_keygen_client(const struct tally_config *node, const char *name, uint32_t id, FILE *out, char *err,
		    size_t errlen)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	uint8_t key[16];

	if (!node->key_set || node->is_client) {
		snprintf(err, errlen, "the configuration holds no [cluster] key: give a node's file with -c");
		return -EINVAL;
	}
	if (*name == '\0' || strlen(name) > 63 || strspn(name, ok) != strlen(name)) {
		snprintf(err, errlen, "--client: a name is 1..63 letters, digits, '.', '_' or '-', not '%s'", name);
		return -EINVAL;
	}
	if (tally_client_credential(node->key, id, key) != 0) {
		snprintf(err, errlen, "libsodium failed to start");
		return -EIO;
	}
	fprintf(out,
		"; tally client file of %s (tallyctl keygen --client; docs/security.md).\n"
		"; Its key is this client's credential alone: it cannot act as a node, forge\n"
		"; replication traffic or mint session tokens. Keep it readable by %s only.\n"
		"; Use it with tallyctl -c FILE, or give the library its id and key.\n\n"
		"[client]\nname = %s\nid = %u\nkey = ",
		name, name, name, id);
	for (unsigned i = 0; i < sizeof(key); i++)
		fprintf(out, "%02x", key[i]);
	fprintf(out, "\n\n[cluster]\npartitions = %u\nn = %u\nw = %u\nr = %u\nretry_window_ms = %u\n\n"
		     "[node]\nclient_port = %u\nadmin_port = %u\n\n[members]\n",
		node->partitions, node->n, node->w, node->r, node->retry_window_ms, node->client_port,
		node->admin_port);
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		if (!node->members[i].present)
			continue;
		char ip[INET_ADDRSTRLEN];
		struct in_addr a = { htonl(node->members[i].ip) };
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		fprintf(out, "%u = %s:%u\n", i, ip, node->members[i].port);
	}
	sodium_memzero(key, sizeof(key));
	if (fflush(out) != 0 || ferror(out)) {
		snprintf(err, errlen, "writing the client file: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}
