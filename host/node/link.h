/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The cluster link of a node: where each member is (its addresses, its
 * MAC once heard), and the frames being filled for each peer and type,
 * sent through the output commit (out.h). Knows nothing of what the
 * records mean.
 */

#ifndef TALLY_NODE_LINK_H
#define TALLY_NODE_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "base.h"
#include "dp.h"
#include "offload.h"
#include "wire.h"

/** A frame being filled for one peer and type. */
struct txb {
	bool open;
	bool listed; /* in the node_link's open list since the last link_flush_all() */
	uint64_t dep; /* the log position its records' state depends on (out.h): out_now() when the
			 last record carrying state was added; OUT_NO_STATE if none did */
	struct tally_wire_writer w;
	uint64_t seq;
	/* REPLICATE: where each key and origin's record is in the frame (record
	 * number + 1, by open addressing on the key id), so a later state of
	 * the slot raises that record instead of adding one (link_add_slot) */
	uint8_t slot_at[256];
	uint8_t buf[FRAME_BUF];
};

struct link_stats {
	uint64_t slots_coalesced; /* REPLICATE records that raised one already in the frame */
};

struct node_link {
	struct tally_dp *dp;
	struct link_stats stats;
	struct tally_wire_addr me;                    /* our own addresses (src_*) */
	struct tally_wire_addr addr[TALLY_MAX_NODES]; /* from us to each member (dst_*) */
	bool mac_known[TALLY_MAX_NODES];
	struct txb tx[TALLY_MAX_NODES][TALLY_WIRE_TYPE_END];
	/* The frames opened since the last link_flush_all(), which flushes just
	 * these: tx is about a megabyte, too much to walk every round. */
	uint16_t open_list[TALLY_MAX_NODES * TALLY_WIRE_TYPE_END];
	unsigned nopen;
};

/** Begin a frame of @p type with @p ref to @p peer in @p buf; *seq (if given) is its sequence. */
void link_frame_begin(struct tally_node *n, struct tally_wire_writer *w, uint8_t *buf, unsigned peer, unsigned type,
		      uint64_t ref, uint64_t *seq);

/** Finish a frame begun with link_frame_begin() and send it once the log holds what is in memory now (out.h). */
void link_send(struct tally_node *n, struct tally_wire_writer *w, uint8_t *buf);

/** Ship slot state @p s to @p peer in its open REPLICATE frame: raise the record of the same key
 * and origin if the frame has one (one record per key and origin per frame), else add one. */
void link_add_slot(struct tally_node *n, unsigned peer, const struct tally_wire_slot *s);

/** The frame of @p type open to @p peer, with room for a record (which may carry state: the
 * frame waits for the log like any other). */
struct txb *link_txb(struct tally_node *n, unsigned peer, unsigned type);

/** As link_txb(), for a record that carries no state (a refusal): it alone does not make the frame wait. */
struct txb *link_txb_no_state(struct tally_node *n, unsigned peer, unsigned type);

/** Ack @p cnt merged records of the frame (@p from, @p hdr), back where it came from, once the log holds them. */
void link_acks(struct tally_node *n, const struct tally_wire_addr *from, const struct tally_wire_hdr *hdr,
	       const struct tally_offload_completion *c, unsigned cnt);

/** Send the open frame of @p type to @p peer, if it holds records. */
void link_txb_flush(struct tally_node *n, unsigned peer, unsigned type);

/** Send every open frame, then the dataplane's burst. */
void link_flush_all(struct tally_node *n);

/** Member @p peer's frames come from @p mac: address it there from now on. */
void link_learn_mac(struct tally_node *n, unsigned peer, const uint8_t mac[6]);

/** A heartbeat to @p peer: a DIGEST frame with no records. */
void link_heartbeat(struct tally_node *n, unsigned peer);

/** An MV-register ack to @p peer: we hold @p key's register up to @p ctx. */
void link_mv_ack(struct tally_node *n, unsigned peer, const uint8_t key[16], const tally_vec_t *ctx);

#endif /* TALLY_NODE_LINK_H */
