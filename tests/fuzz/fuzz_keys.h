/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The cluster key the fuzzers and their seed generator share, so seeds
 * carry valid MACs. A test key: never use it for a cluster.
 */
#ifndef TALLY_FUZZ_KEYS_H
#define TALLY_FUZZ_KEYS_H
#include <stdint.h>
static const uint8_t tally_fuzz_cluster_key[32] = {
	'f', 'u', 'z', 'z', '-', 'o', 'n', 'l', 'y', '-', 'n', 'o', 't', '-', 'a', '-',
	'c', 'l', 'u', 's', 't', 'e', 'r', '-', 'k', 'e', 'y', '.', '.', '.', '.', '.',
};
#endif
