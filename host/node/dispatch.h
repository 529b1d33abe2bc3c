/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * Frames from the cluster link, handed to the part that owns them: the
 * dataplane's callbacks for frames the NIC gives the host, and for the
 * REPLICATE records the NIC merged itself (logged, acked after the commit).
 */

#ifndef TALLY_NODE_DISPATCH_H
#define TALLY_NODE_DISPATCH_H

#include "dp.h"

/** tally_dp_host_fn. */
void dispatch_host_frame(void *ctx, struct tally_dp *dp, const struct tally_dp_host_frame *hf);

/** tally_dp_compl_fn: the NIC merged a REPLICATE frame's records. */
void dispatch_merged(void *ctx, struct tally_dp *dp, const struct tally_offload_rxinfo *info,
		     const struct tally_offload_completion *c, unsigned cnt);

#endif /* TALLY_NODE_DISPATCH_H */
