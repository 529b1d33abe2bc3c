/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The DPDK poll loop of one node, modelled on DPDK's l2fwd: bursts of 32,
 * one rx and one tx queue, transmissions buffered and flushed per poll. The
 * engine verifies and merges; this file only moves frames and builds acks.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/if_packet.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dp.h"

#define MAX_BURST 256
#define DELAY_RULES 8
#define DELAY_RING 8192 /* frames held back by delay rules, at most */
/* Completions of one burst: every frame full of records. */
#define MAX_COMPL (MAX_BURST * TALLY_WIRE_MAX_SLOTS)

struct tally_dp {
	struct tally_dp_config cfg;
	struct rte_mempool *pool;
	struct rte_ether_addr mac;
	uint64_t seq;                 /* of frames this node originates */
	struct rte_mbuf *txq[MAX_BURST];
	unsigned ntx;
	struct tally_dp_stats st;
	/* fault injection on frames to some addresses (tally_dp_set_fault) */
	struct { bool used; uint32_t ip; struct tally_dp_fault f; } rule[DELAY_RULES];
	uint64_t rng;
	struct rte_mbuf *dq[DELAY_RING]; /* held back, in the order they were sent */
	uint64_t ddue[DELAY_RING];
	unsigned dlen;
	struct tally_offload_completion compl[MAX_COMPL];
};

static uint64_t
dp_now_ns(void)
{
	return rte_get_timer_cycles() * 1000000000.0 / rte_get_timer_hz();
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* net_af_packet (TPACKET_V2) puts a received frame at tp_mac in its ring
 * frame: the kernel's header padded to 16 bytes, then room for a link header
 * of at least 16 bytes, so that the IP header starts at AFP_NETOFF. The PMD
 * copies tp_snaplen bytes into one mbuf and refuses an rx queue whose mbufs
 * hold less than framesz - AFP_DATA_OFF bytes, the room its tx side uses.
 * The PMD finds frame i at i * framesz from the start of the ring, so a
 * block must hold a whole number of frames with nothing left over (the
 * kernel starts each block's frames at the block's start). */
#define AFP_NETOFF TPACKET_ALIGN(TPACKET2_HDRLEN + 16)
#define AFP_DATA_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))
#define AFP_FRAMES 512 /* per ring, about */
#define AFP_MAX_BLOCK_PAGES 16

int
tally_dp_af_packet_geometry(unsigned mtu, struct tally_dp_af_packet *g)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned need, best = 0, best_block = 0;

	if (mtu < 128 || mtu > 9000 || page <= 0)
		return -EINVAL;
	need = TPACKET_ALIGN(AFP_NETOFF + mtu);
	/* The smallest frame of at least @need bytes, a multiple of 16, that
	 * divides a block of 1..16 pages; the smallest such block. */
	for (unsigned pages = 1; pages <= AFP_MAX_BLOCK_PAGES; pages++) {
		unsigned block = pages * (unsigned)page;
		for (unsigned k = block / need; k >= 1; k--) {
			unsigned f = block / k;
			if (block % k != 0 || f % TPACKET_ALIGNMENT != 0)
				continue;
			if (best == 0 || f < best) {
				best = f;
				best_block = block;
			}
			break; /* larger k gave no whole frame; smaller k, larger frames */
		}
	}
	if (best == 0)
		return -EINVAL;
	g->framesz = best;
	g->blocksz = best_block;
	unsigned per = best_block / best;
	g->framecnt = (AFP_FRAMES + per - 1) / per * per;
	return 0;
}

unsigned
tally_dp_data_room(unsigned mtu)
{
	struct tally_dp_af_packet g;
	unsigned room = RTE_MBUF_DEFAULT_DATAROOM;

	if (mtu == 0)
		mtu = 1500;
	if (14 + mtu > room)
		room = 14 + mtu;
	if (tally_dp_af_packet_geometry(mtu, &g) == 0 && g.framesz - AFP_DATA_OFF > room)
		room = (unsigned)(g.framesz - AFP_DATA_OFF);
	return room;
}

struct tally_dp *
tally_dp_create(const struct tally_dp_config *in, int *err)
{
	struct rte_eth_conf conf = { 0 };
	struct tally_dp *dp;
	char name[RTE_MEMPOOL_NAMESIZE];
	int socket, rc;

	if (in->engine == NULL || in->self >= TALLY_MAX_NODES || in->burst > MAX_BURST ||
	    (in->mtu != 0 && (in->mtu < 128 || in->mtu > 9000))) {
		*err = -EINVAL;
		return NULL;
	}
	if (!rte_eth_dev_is_valid_port(in->port_id)) {
		*err = -ENODEV;
		return NULL;
	}
	dp = rte_zmalloc("tally_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	if (dp == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	dp->cfg = *in;
	if (dp->cfg.udp_port == 0)
		dp->cfg.udp_port = TALLY_WIRE_DEFAULT_PORT;
	if (dp->cfg.burst == 0)
		dp->cfg.burst = 32;
	if (dp->cfg.rx_desc == 0)
		dp->cfg.rx_desc = 1024;
	if (dp->cfg.tx_desc == 0)
		dp->cfg.tx_desc = 1024;
	if (dp->cfg.mbufs == 0)
		dp->cfg.mbufs = 8191;
	if (dp->cfg.mtu == 0)
		dp->cfg.mtu = 1500;

	socket = rte_eth_dev_socket_id(in->port_id);
	if (socket < 0)
		socket = (int)rte_socket_id();
	snprintf(name, sizeof(name), "tally_mb_%u", in->port_id);
	/* Room for a whole frame in one segment (the codec reads it contiguously). */
	dp->pool = rte_pktmbuf_pool_create(name, dp->cfg.mbufs, 256, 0,
					   (uint16_t)(RTE_PKTMBUF_HEADROOM + tally_dp_data_room(dp->cfg.mtu)), socket);
	if (dp->pool == NULL) {
		rc = -rte_errno;
		goto fail;
	}
	if ((rc = rte_eth_dev_configure(in->port_id, 1, 1, &conf)) != 0)
		goto fail;
	uint16_t rxd = (uint16_t)dp->cfg.rx_desc, txd = (uint16_t)dp->cfg.tx_desc;
	if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(in->port_id, &rxd, &txd)) != 0 ||
	    (rc = rte_eth_rx_queue_setup(in->port_id, 0, rxd, (unsigned)socket, NULL, dp->pool)) != 0 ||
	    (rc = rte_eth_tx_queue_setup(in->port_id, 0, txd, (unsigned)socket, NULL)) != 0 ||
	    (rc = rte_eth_dev_start(in->port_id)) != 0)
		goto fail;
	/* Ring and af_packet ports may refuse; a missing promiscuous mode only
	 * matters when peers address this port by a MAC it does not own. */
	(void)rte_eth_promiscuous_enable(in->port_id);
	if ((rc = rte_eth_macaddr_get(in->port_id, &dp->mac)) != 0)
		goto fail;
	return dp;
fail:
	rte_mempool_free(dp->pool);
	rte_free(dp);
	*err = rc < 0 ? rc : -EIO;
	return NULL;
}

void
tally_dp_destroy(struct tally_dp *dp)
{
	if (dp == NULL)
		return;
	tally_dp_flush(dp);
	rte_pktmbuf_free_bulk(dp->txq, dp->ntx);
	for (unsigned i = 0; i < dp->dlen; i++)
		rte_pktmbuf_free(dp->dq[i]);
	(void)rte_eth_dev_stop(dp->cfg.port_id);
	rte_mempool_free(dp->pool);
	rte_free(dp);
}

void
tally_dp_flush(struct tally_dp *dp)
{
	uint16_t sent;

	/* Held frames whose time has come join the burst, in the order they were
	 * sent; with jitter, a later frame may be due before an earlier one. */
	if (dp->dlen > 0) {
		uint64_t now = dp_now_ns();
		unsigned keep = 0;
		for (unsigned i = 0; i < dp->dlen; i++) {
			if (dp->ddue[i] <= now && dp->ntx < MAX_BURST) {
				dp->txq[dp->ntx++] = dp->dq[i];
				continue;
			}
			dp->dq[keep] = dp->dq[i];
			dp->ddue[keep++] = dp->ddue[i];
		}
		dp->dlen = keep;
	}
	if (dp->ntx == 0)
		return;
	sent = rte_eth_tx_burst(dp->cfg.port_id, 0, dp->txq, (uint16_t)dp->ntx);
	dp->st.tx += sent;
	if (sent < dp->ntx) {
		dp->st.tx_full += dp->ntx - sent;
		rte_pktmbuf_free_bulk(dp->txq + sent, dp->ntx - sent);
	}
	dp->ntx = 0;
}

static void
queue_now(struct tally_dp *dp, struct rte_mbuf *m)
{
	dp->txq[dp->ntx++] = m;
	if (dp->ntx >= dp->cfg.burst)
		tally_dp_flush(dp);
}

/* xorshift64*: the faults' dice, seeded by tally_dp_set_fault() */
static uint32_t
fault_ppm(struct tally_dp *dp)
{
	dp->rng ^= dp->rng >> 12;
	dp->rng ^= dp->rng << 25;
	dp->rng ^= dp->rng >> 27;
	return (uint32_t)((dp->rng * 0x2545F4914F6CDD1Dull) >> 32) % 1000000u;
}

/* Hold @m back until @due (ordered by sending time). @return false if full. */
static bool
hold(struct tally_dp *dp, struct rte_mbuf *m, uint64_t due)
{
	if (dp->dlen == DELAY_RING)
		return false;
	dp->dq[dp->dlen] = m;
	dp->ddue[dp->dlen++] = due;
	dp->st.tx_delayed++;
	return true;
}

static void
queue_tx(struct tally_dp *dp, struct rte_mbuf *m)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t len = rte_pktmbuf_data_len(m);
	const struct tally_dp_fault *r = NULL;

	if (dp->rule[0].used && len >= 34) {
		uint32_t dst = (uint32_t)f[30] << 24 | (uint32_t)f[31] << 16 | (uint32_t)f[32] << 8 | f[33];
		for (unsigned i = 0; i < DELAY_RULES && dp->rule[i].used; i++)
			if (dp->rule[i].ip == dst)
				r = &dp->rule[i].f;
	}
	if (r == NULL) {
		queue_now(dp, m);
		return;
	}
	if (r->loss_ppm && fault_ppm(dp) < r->loss_ppm) {
		dp->st.tx_fault_lost++;
		rte_pktmbuf_free(m);
		return;
	}
	if (r->corrupt_ppm && fault_ppm(dp) < r->corrupt_ppm && len > TALLY_WIRE_L2L4_LEN) {
		/* one byte of the payload: the receiver's MAC check must catch it */
		f[TALLY_WIRE_L2L4_LEN + fault_ppm(dp) % (len - TALLY_WIRE_L2L4_LEN)] ^= (uint8_t)(1 + fault_ppm(dp) % 255);
		dp->st.tx_fault_corrupted++;
	}
	unsigned copies = 1;
	if (r->dup_ppm && fault_ppm(dp) < r->dup_ppm)
		copies = 2;
	for (unsigned c = 0; c < copies; c++) {
		struct rte_mbuf *x = m;
		if (c > 0) {
			x = rte_pktmbuf_copy(m, dp->pool, 0, UINT32_MAX);
			if (x == NULL)
				break;
			dp->st.tx_fault_duplicated++;
		}
		uint64_t wait = r->delay_ns + (r->jitter_ns ? (uint64_t)fault_ppm(dp) * r->jitter_ns / 1000000u : 0);
		if (wait == 0) {
			queue_now(dp, x);
		} else if (!hold(dp, x, dp_now_ns() + wait)) {
			dp->st.tx_full++;
			rte_pktmbuf_free(x);
		}
	}
}

int
tally_dp_set_fault(struct tally_dp *dp, uint32_t dst_ip, const struct tally_dp_fault *f)
{
	static const struct tally_dp_fault none;
	unsigned i;

	for (i = 0; i < DELAY_RULES && dp->rule[i].used && dp->rule[i].ip != dst_ip; i++)
		;
	if (f != NULL && memcmp(f, &none, sizeof(none)) != 0) {
		if (i == DELAY_RULES)
			return -ENOSPC;
		if (f->loss_ppm > 1000000 || f->dup_ppm > 1000000 || f->corrupt_ppm > 1000000)
			return -EINVAL;
		dp->rule[i].used = true;
		dp->rule[i].ip = dst_ip;
		dp->rule[i].f = *f;
		dp->rng = f->seed ? f->seed : 0x9e3779b97f4a7c15ull ^ dst_ip;
		return 0;
	}
	if (i == DELAY_RULES || !dp->rule[i].used)
		return 0;
	/* Remove the rule, keeping the others packed. */
	for (; i + 1 < DELAY_RULES; i++)
		dp->rule[i] = dp->rule[i + 1];
	dp->rule[DELAY_RULES - 1].used = false;
	return 0;
}

int
tally_dp_set_delay(struct tally_dp *dp, uint32_t dst_ip, uint64_t delay_ns)
{
	struct tally_dp_fault f = { .delay_ns = delay_ns };

	return tally_dp_set_fault(dp, dst_ip, &f);
}

int
tally_dp_send(struct tally_dp *dp, const void *frame, uint16_t len)
{
	struct rte_mbuf *m;
	void *d;

	if (len > 14 + dp->cfg.mtu)
		return -EMSGSIZE;
	m = rte_pktmbuf_alloc(dp->pool);
	if (m == NULL) {
		dp->st.tx_nombuf++;
		return -ENOBUFS;
	}
	d = rte_pktmbuf_append(m, len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return -EMSGSIZE;
	}
	memcpy(d, frame, len);
	queue_tx(dp, m);
	return 0;
}

void
tally_dp_addr(const struct tally_dp *dp, struct tally_wire_addr *self)
{
	memset(self, 0, sizeof(*self));
	memcpy(self->src_mac, dp->mac.addr_bytes, 6);
	self->src_ip = dp->cfg.ip;
	self->src_port = dp->cfg.udp_port;
}

int
tally_dp_send_acks(struct tally_dp *dp, const struct tally_wire_addr *from,
		   const struct tally_wire_hdr *hdr, const struct tally_offload_completion *c,
		   unsigned n)
{
	struct tally_wire_hdr h = {
		.type = TALLY_WIRE_REPLICATE_ACK,
		.sender = dp->cfg.self,
		.epoch = dp->cfg.epoch,
		.ref = hdr->seq,
	};
	struct tally_wire_addr a;
	unsigned i = 0;

	/* Back to where the frame came from. */
	memcpy(a.src_mac, dp->mac.addr_bytes, 6);
	memcpy(a.dst_mac, from->src_mac, 6);
	a.src_ip = dp->cfg.ip;
	a.dst_ip = from->src_ip;
	a.src_port = dp->cfg.udp_port;
	a.dst_port = from->src_port;
	while (i < n) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
		struct tally_wire_writer w;

		if (m == NULL) {
			dp->st.tx_nombuf++;
			return -ENOBUFS;
		}
		h.seq = ++dp->seq;
		if (tally_wire_begin(&w, rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m),
				     dp->cfg.mtu, &a, &h) != 0) {
			rte_pktmbuf_free(m);
			return -EINVAL;
		}
		for (; i < n; i++) {
			struct tally_wire_slot s = {
				.index = c[i].index, .kind = TALLY_WIRE_KIND_PNCOUNTER,
				.origin = c[i].origin, .p = c[i].p, .n = c[i].n,
			};
			memcpy(s.key, c[i].key, TALLY_WIRE_KEY_ID_LEN);
			if (tally_wire_add_slot(&w, &s) != 0)
				break; /* full: the rest go in the next frame */
		}
		size_t len = tally_wire_finish(&w, &dp->cfg.key);
		rte_pktmbuf_append(m, (uint16_t)len);
		queue_tx(dp, m);
		dp->st.acks++;
	}
	return 0;
}

/* A tally frame: IPv4, UDP, to the cluster port. Anything else is not ours. */
static bool
is_tally(const struct tally_dp *dp, const uint8_t *f, uint16_t len)
{
	return len >= TALLY_WIRE_L2L4_LEN && be16(f + 12) == 0x0800 && (f[14] & 0xf0) == 0x40 &&
	       f[23] == 17 && be16(f + 14 + (f[14] & 0x0f) * 4 + 2) == dp->cfg.udp_port;
}

unsigned
tally_dp_poll(struct tally_dp *dp)
{
	struct rte_mbuf *pkts[MAX_BURST], *keep[MAX_BURST];
	const void *data[MAX_BURST];
	uint16_t len[MAX_BURST];
	struct tally_offload_rxinfo info[MAX_BURST];
	unsigned nrx, n = 0, done = 0;

	dp->st.polls++;
	nrx = rte_eth_rx_burst(dp->cfg.port_id, 0, pkts, (uint16_t)dp->cfg.burst);
	if (nrx == 0) {
		dp->st.idle_polls++;
		tally_dp_flush(dp);
		return 0;
	}
	dp->st.rx += nrx;
	for (unsigned i = 0; i < nrx; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		uint16_t l = rte_pktmbuf_data_len(pkts[i]);

		if (is_tally(dp, f, l) && pkts[i]->nb_segs == 1) {
			keep[n] = pkts[i];
			data[n] = f;
			len[n] = l;
			n++;
			continue;
		}
		if (pkts[i]->nb_segs != 1)
			dp->st.rx_multiseg++;
		else
			dp->st.rx_other++;
		rte_pktmbuf_free(pkts[i]);
	}

	while (done < n) {
		unsigned nc, got = tally_offload_rx(dp->cfg.engine, data + done, len + done, n - done,
						    info + done, dp->compl, MAX_COMPL, &nc);
		if (got == 0) {
			/* A failed engine: drop the rest, never spin. */
			dp->st.rx_engine_fail += n - done;
			for (unsigned i = done; i < n; i++)
				info[i].disposition = TALLY_OFFLOAD_DROPPED;
			break;
		}
		/* Completions come in frame order: ack each consumed frame's run. */
		for (unsigned c = 0; c < nc;) {
			unsigned fi = done + dp->compl[c].frame, e = c;

			while (e < nc && dp->compl[e].frame == dp->compl[c].frame)
				e++;
			bool consumed = info[fi].disposition == TALLY_OFFLOAD_CONSUMED;

			if (consumed && dp->cfg.compl != NULL)
				dp->cfg.compl(dp->cfg.host_ctx, dp, &info[fi], &dp->compl[c], e - c);
			else if (consumed)
				(void)tally_dp_send_acks(dp, &info[fi].addr, &info[fi].hdr,
							 &dp->compl[c], e - c);
			c = e;
		}
		done += got;
	}

	for (unsigned i = 0; i < n; i++) {
		if (info[i].disposition == TALLY_OFFLOAD_TO_HOST) {
			/* The engine verified it; its records sit at a fixed offset. */
			struct tally_wire_frame f = {
				.addr = info[i].addr,
				.hdr = info[i].hdr,
				.records = (const uint8_t *)data[i] + TALLY_WIRE_L2L4_LEN + TALLY_WIRE_HDR_LEN,
				.record_size = tally_wire_record_size(info[i].hdr.type),
			};
			struct tally_dp_host_frame hf = { data[i], len[i], &f, info[i].merged };

			dp->st.host++;
			if (dp->cfg.host != NULL)
				dp->cfg.host(dp->cfg.host_ctx, dp, &hf);
		}
		rte_pktmbuf_free(keep[i]);
	}
	tally_dp_flush(dp);
	return nrx;
}

uint64_t
tally_dp_next_seq(struct tally_dp *dp)
{
	return ++dp->seq;
}

void
tally_dp_stats(const struct tally_dp *dp, struct tally_dp_stats *out)
{
	*out = dp->st;
}

const struct tally_dp_config *
tally_dp_config(const struct tally_dp *dp)
{
	return &dp->cfg;
}
