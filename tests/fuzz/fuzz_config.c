/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * libFuzzer target for the node configuration reader (host/config.c, over
 * inih), under ASan and UBSan. Each input is a configuration file.
 *
 * The oracle, beyond "does not crash": a file the reader accepts satisfies
 * every rule docs/config.md states for a whole configuration, and a file it
 * refuses gets a message that starts with the file's name and says
 * something. A reader that accepts a contradiction, or refuses in silence,
 * aborts.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

static void
check_accepted(const struct tally_config *c)
{
	unsigned members = 0;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		if (c->members[i].present) {
			members++;
			if (c->members[i].port == 0)
				abort();
			for (unsigned j = i + 1; j < TALLY_MAX_NODES; j++)
				if (c->members[j].present && c->members[j].ip == c->members[i].ip &&
				    c->members[j].port == c->members[i].port)
					abort();
		}
	if (members == 0 || members != c->nmembers || c->self < 0 || c->self >= TALLY_MAX_NODES ||
	    !c->members[c->self].present || !c->key_set)
		abort();
	if (c->n < 1 || c->n > members || c->w < 1 || c->w > c->n || c->r < 1 || c->r > c->n)
		abort();
	if (c->partitions < 1 || c->partitions > 65536 || c->failure_ms <= c->heartbeat_ms ||
	    c->client_port == c->admin_port || c->mtu < 576 || c->mtu > 9000)
		abort();
	if (strcmp(c->backend, "cpu") != 0 && strcmp(c->backend, "sim") != 0)
		abort();
	if (c->data_dir[0] == '\0' || memchr(c->data_dir, '\0', sizeof(c->data_dir)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally_config c;
	char path[64], err[512];
	int fd = memfd_create("config", 0);

	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	tally_config_defaults(&c);
	err[0] = '\0';
	int rc = tally_config_load(&c, path, err, sizeof(err));
	close(fd);
	if (rc == 0) {
		check_accepted(&c);
	} else if (strncmp(err, path, strlen(path)) != 0 || strlen(err) <= strlen(path) + 2) {
		abort();
	}
	return 0;
}
