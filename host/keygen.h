/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tallyctl keygen --client NAME: a client file (docs/security.md).
 */
#ifndef TALLY_KEYGEN_H
#define TALLY_KEYGEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/**
 * Write the client file of credential @p id, for client @p name, to @p out:
 * the credential's id and key, derived from the cluster key of @p node (a
 * node's configuration), and what a client needs of the cluster: its members,
 * client and status ports, ring and quorum defaults. Never the cluster key.
 * @return 0, or -EINVAL (with @p err) for a bad name or a file that holds
 *   no cluster key, -EIO when writing fails.
 */
int tally_keygen_client(const struct tally_config *node, const char *name, uint32_t id, FILE *out, char *err,
			size_t errlen);

#endif
