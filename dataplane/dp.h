/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The DPDK port runtime of one node: an l2fwd-style poll loop over one
 * ethdev port (any PMD: net_ring, net_null, net_af_packet, net_tap, real
 * NICs). Each poll receives a burst, keeps tally frames (IPv4/UDP to the
 * cluster port) and drops the rest, hands the burst to the offload engine,
 * acknowledges what the engine merged, passes what needs judgement (client,
 * control, unplaceable records) to the host's callback, and flushes queued
 * transmissions in bursts.
 *
 * The runtime owns its mbuf pool and its port's queues; it never decides
 * quorums or sessions, and it never prints: counters are in tally_dp_stats().
 * EAL must be initialised first (rte_eal_init, with --no-huge where there
 * are no hugepages); one lcore polls one runtime.
 */

#ifndef TALLY_DP_H
#define TALLY_DP_H

#include <stdint.h>

#include "offload.h"
#include "wire.h"

struct tally_dp;

/** A frame the engine returned to the host (disposition TO_HOST). */
struct tally_dp_host_frame {
	const uint8_t *data;                  /**< the whole Ethernet frame */
	uint16_t len;
	const struct tally_wire_frame *frame; /**< verified by the engine; records point into data */
	uint16_t merged;                      /**< records the engine already merged */
};

/** Called for each frame the host must act on, during tally_dp_poll(). */
typedef void (*tally_dp_host_fn)(void *ctx, struct tally_dp *dp, const struct tally_dp_host_frame *f);

/**
 * Called instead of sending acks, with the completions of one frame the
 * engine consumed (@p n of them, all from the frame with @p info's addresses
 * and header). A host that must make merged state durable before a sender
 * may count it (tallyd's write-ahead log) logs them and sends the acks
 * itself with tally_dp_send_acks() once they are durable.
 */
typedef void (*tally_dp_compl_fn)(void *ctx, struct tally_dp *dp, const struct tally_offload_rxinfo *info,
				  const struct tally_offload_completion *c, unsigned n);

struct tally_dp_config {
	uint16_t port_id;           /**< the DPDK port to drive */
	uint16_t self;              /**< this node's id */
	uint32_t epoch;             /**< this node's incarnation, stamped on its frames */
	uint32_t ip;                /**< this node's IPv4 address, host order */
	uint16_t udp_port;          /**< cluster port; 0 = TALLY_WIRE_DEFAULT_PORT */
	unsigned burst;             /**< rx and tx burst, 1..256; 0 = 32 */
	unsigned rx_desc, tx_desc;  /**< descriptors per queue; 0 = 1024 */
	unsigned mbufs;             /**< mbuf pool size; 0 = 8191 */
	unsigned mtu;               /**< IP MTU of the link, 128..9000; 0 = 1500 */
	struct tally_wire_key key; /**< the cluster link's: MACs every frame */
	tally_offload_t *engine;    /**< merges; owned by the caller */
	tally_dp_host_fn host;      /**< may be NULL: host frames are then counted and dropped */
	tally_dp_compl_fn compl;    /**< may be NULL: the runtime then acks merged records at once */
	void *host_ctx;             /**< passed to host and compl */
};

struct tally_dp_stats {
	uint64_t rx;              /**< frames received */
	uint64_t rx_other;        /**< not tally (not IPv4/UDP to the cluster port): dropped */
	uint64_t rx_multiseg;     /**< tally frames in several segments: dropped */
	uint64_t rx_engine_fail;  /**< tally frames the offload engine failed to process: dropped */
	uint64_t tx;              /**< frames sent */
	uint64_t tx_full;         /**< frames dropped: transmit queue full */
	uint64_t tx_nombuf;       /**< frames not built: mbuf pool empty */
	uint64_t tx_delayed;      /**< frames held back by a fault rule's delay (fault injection) */
	uint64_t tx_fault_lost, tx_fault_duplicated, tx_fault_corrupted; /**< by fault rules */
	uint64_t acks;            /**< REPLICATE_ACK frames sent by the runtime */
	uint64_t host;            /**< frames given to the host callback */
	uint64_t polls, idle_polls;
};

/**
 * The ring geometry of a net_af_packet port on a link of IP MTU @p mtu: the
 * vdev's framesz, blocksz and framecnt arguments. A frame holds the kernel's
 * TPACKET_V2 header and the whole Ethernet frame (framesz a multiple of 16);
 * a block is a multiple of the page size holding whole frames, chosen to
 * waste little; framecnt is a whole number of blocks, about 512 frames.
 */
struct tally_dp_af_packet {
	unsigned framesz, blocksz, framecnt;
};

/**
 * Fill @p g for @p mtu (128..9000). @return 0, or -EINVAL.
 */
int tally_dp_af_packet_geometry(unsigned mtu, struct tally_dp_af_packet *g);

/**
 * Bytes of mbuf data room (after the headroom) a port of IP MTU @p mtu
 * needs, so that every PMD tallyd drives can put a whole frame in one
 * segment: the Ethernet frame, what net_af_packet's rx queue demands for the
 * frame size tally_dp_af_packet_geometry() picks, and never less than DPDK's
 * default. tally_dp_create() sizes its pool with it.
 */
unsigned tally_dp_data_room(unsigned mtu);

/**
 * Configure and start @p cfg->port_id (one rx and one tx queue, promiscuous).
 * @return the runtime, or NULL with *err: -EINVAL (bad config), -ENODEV (no
 * such port), -ENOMEM, or DPDK's negative error from configuring the port.
 */
struct tally_dp *tally_dp_create(const struct tally_dp_config *cfg, int *err);

/** Stop the port and free the runtime (NULL allowed). */
void tally_dp_destroy(struct tally_dp *dp);

/**
 * One iteration of the poll loop: receive a burst, process it, flush
 * transmissions. @return frames received (0 when idle).
 */
unsigned tally_dp_poll(struct tally_dp *dp);

/**
 * Queue a frame of @p len bytes for transmission (copied into an mbuf); it
 * leaves at the next flush or when a burst is full.
 * @return 0, -EMSGSIZE (over the MTU), -ENOBUFS (mbuf pool empty).
 */
int tally_dp_send(struct tally_dp *dp, const void *frame, uint16_t len);

/** Send whatever is queued now. */
void tally_dp_flush(struct tally_dp *dp);

/**
 * Queue REPLICATE_ACKs answering a frame from @p from with header @p hdr
 * (back to its addresses, ref = its sequence) for @p n completions, in as
 * many frames as they need. @return 0, or -ENOBUFS.
 */
int tally_dp_send_acks(struct tally_dp *dp, const struct tally_wire_addr *from,
		       const struct tally_wire_hdr *hdr, const struct tally_offload_completion *c,
		       unsigned n);

/**
 * The next sequence number of a frame this node originates. Frames the host
 * builds take theirs here, so that one node's frames share one sequence.
 */
uint64_t tally_dp_next_seq(struct tally_dp *dp);

/** What a fault rule does to the frames it matches (netem's job, where the kernel has none). */
struct tally_dp_fault {
	uint64_t delay_ns;     /**< every frame leaves this late */
	uint64_t jitter_ns;    /**< plus up to this much more, at random: frames may overtake each other */
	uint32_t loss_ppm;     /**< frames dropped, per million */
	uint32_t dup_ppm;      /**< frames sent twice, per million */
	uint32_t corrupt_ppm;  /**< frames with one payload byte flipped, per million */
	uint64_t seed;         /**< of the dice; 0 = from the address */
};

/**
 * Fault injection on frames to IPv4 address @p dst_ip (host order); an
 * all-zero or NULL @p f removes the rule. At most 8 rules and 8192 frames
 * held back; beyond that a frame is dropped and counted in tx_full.
 * @return 0, -EINVAL (a rate over a million), or -ENOSPC (no rule left).
 */
int tally_dp_set_fault(struct tally_dp *dp, uint32_t dst_ip, const struct tally_dp_fault *f);

/** tally_dp_set_fault() with a delay alone (0 removes the rule). */
int tally_dp_set_delay(struct tally_dp *dp, uint32_t dst_ip, uint64_t delay_ns);

/** This node's addresses on the port: its MAC, IP and UDP port. */
void tally_dp_addr(const struct tally_dp *dp, struct tally_wire_addr *self);

/** Current counters. */
void tally_dp_stats(const struct tally_dp *dp, struct tally_dp_stats *out);

/** The configuration the runtime runs with, defaults filled in. */
const struct tally_dp_config *tally_dp_config(const struct tally_dp *dp);

#endif /* TALLY_DP_H */
