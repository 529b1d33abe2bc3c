/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * One tally node (docs/cluster.md): its life (create, destroy) and its
 * poll loop. The parts, in the order a write meets them:
 *
 *   clients.c    CLIENT_REQUEST datagrams from the client library
 *   coord.c      the coordinator: picks the key's origin (the first live
 *                node of its preference list) and forwards the request
 *                there, or gathers R replicas' states for a read (reads.c)
 *   origin.c     checks the op id (opids.c), raises its own slot, logs it
 *                (log.c), and after the commit ships the slot's state to
 *                the other replicas; answers once W replicas hold it
 *   dispatch.c   frames from the cluster link; at a replica the NIC merges
 *                REPLICATE records, and the node logs what was merged and
 *                acks after the commit, so an ack means durable
 *   members.c    heartbeats mark peers up or down; writes skip down nodes
 *                (sloppy quorum) and handoff.c pays what they owe
 *   recovery.c   a node that lost its data directory recovers its own slot
 *                of a key from every member before it raises it (kv679)
 *
 * Everything runs in tally_node_poll(), which never blocks. Operations that
 * waited for something are resumed here, from the ready queue (ops.h).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "cycles.h"
#include "dispatch.h"
#include "persist.h"
#include "state.h"

/* Resume what waited: committed writes are shipped, parked writes applied
 * again, finished internal reads concluded by their owner. */
static void
drain_ready(struct tally_node *n)
{
	uint32_t i;

	while ((i = op_ready_pop(n)) != NIL) {
		struct op *o = &n->ops.v[i];

		if (o->kind == OP_READ && o->state == ST_DONE) {
			if (o->recover)
				recovery_finish(n, i);
			else
				causal_fetch_finish(n, i);
		} else if (o->kind == OP_WRITE && o->state == ST_NEW) {
			origin_apply(n, i);
		}
	}
}

static void
commit(struct tally_node *n)
{
	if (log_commit(n) == 0 && n->recovery.complete && log_durable(n, n->recovery.complete_at) &&
	    persist_recovered(n) == 0)
		recovery_complete(n); /* the sweep's states are durable now */
	drain_ready(n);
}

/* Deadlines and retransmissions of every op in flight. A scan of the table
 * is cheap next to a round of the sim NIC; a timer wheel can replace it when
 * it is not. */
static void
scan_ops(struct tally_node *n)
{
	origin_scan_begin(n);
	/* The ops in use only, from the end: an op freed by its tick gives its
	 * place to the last one, which was visited already. */
	for (uint32_t j = n->ops.nops; j-- > 0;) {
		if (j >= n->ops.nops)
			continue;
		uint32_t i = n->ops.live[j];
		switch (n->ops.v[i].kind) {
		case OP_WRITE:
			origin_tick(n, i);
			break;
		case OP_FORWARD:
			coord_tick(n, i);
			break;
		case OP_READ:
			reads_tick(n, i);
			break;
		default:
			break;
		}
	}
}

static void
timers(struct tally_node *n)
{
	members_tick(n);
	recovery_tick(n);
	/* Ops: deadlines and retransmissions, at most once a millisecond (they
	 * are 20 ms and more apart). */
	if (n->now >= n->next_scan) {
		n->next_scan = n->now + 1000000u;
		scan_ops(n);
	}
	handoff_tick(n);
	ae_tick(n);
	drain_ready(n);
}

static void
snapshot_when_due(struct tally_node *n)
{
	struct tally_wal_stats ws;

	tally_wal_stats(n->log.wal, &ws);
	if (ws.log_bytes > SNAPSHOT_LOG_BYTES ||
	    (ws.log_bytes > SNAPSHOT_MIN_BYTES && n->now - n->last_snapshot > SNAPSHOT_AGE_NS)) {
		commit(n);
		int rc = persist_snapshot(n);
		if (rc != 0)
			node_note(n, "snapshot failed: %s", strerror(-rc));
		n->last_snapshot = n->now;
	}
}

unsigned
tally_node_poll(struct tally_node *n)
{
	unsigned work = 0;
	uint64_t t0 = tally_cycles(), sent = n->out.stats.sent;

	n->now = node_now_ns();
	work += tally_dp_poll(n->link.dp);
	drain_ready(n);
	opids_tick(n);
	work += clients_poll(n);
	drain_ready(n);
	causal_recheck(n);
	commit(n);
	timers(n);
	work += admin_poll(n);
	/* What the timers queued (retransmissions, repairs) needs no commit. */
	link_flush_all(n);
	reply_flush_all(n);
	snapshot_when_due(n);
	n->loop.rounds++;
	if (work > 0 || n->out.stats.sent != sent) {
		n->loop.busy_rounds++;
		n->loop.busy_cycles += tally_cycles() - t0;
	}
	return work;
}

bool
tally_node_committing(const struct tally_node *n)
{
	return n->log.flight;
}

/* ---- life ---- */

static int
bind_socket(int type, uint32_t ip, uint16_t port, int *out, char *err, size_t errlen, const char *what)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip) };
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0) {
		snprintf(err, errlen, "%s socket: %s", what, strerror(errno));
		return -errno;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || (type == SOCK_STREAM && listen(fd, 16) != 0)) {
		int e = errno;
		snprintf(err, errlen, "%s port %u: %s", what, port, strerror(e));
		close(fd);
		return -e;
	}
	if (type == SOCK_DGRAM) {
		int sz = 4 << 20;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	*out = fd;
	return 0;
}

/* The members, their addresses, and the placement over them. */
static int
create_members(struct tally_node *n, char *err, size_t errlen)
{
	bool member[TALLY_MAX_NODES] = { false };
	int rc;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		const struct tally_config_member *cm = &n->cfg.members[i];
		member[i] = cm->present;
		if (!cm->present)
			continue;
		n->members.count++;
		n->members.m[i].present = i != n->self;
		memset(n->link.addr[i].dst_mac, 0xff, 6); /* broadcast until we hear from it */
		n->link.addr[i].dst_ip = cm->ip;
		n->link.addr[i].dst_port = cm->port;
	}
	n->pl = tally_placement_create(n->cfg.partitions, n->cfg.n, member, &rc);
	if (n->pl == NULL) {
		snprintf(err, errlen, "placement: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* The parts' memory. */
static int
create_parts(struct tally_node *n, char *err, size_t errlen)
{
	int rc;
	struct tally_offload_config oc = { .backend = n->cfg.backend, .table_entries = n->cfg.table_entries,
					   .key = n->link_key };

	n->table.engine = tally_offload_create(&oc, &rc);
	if (n->table.engine == NULL) {
		snprintf(err, errlen, "offload backend '%s' with %" PRIu32 " entries: %s", n->cfg.backend,
			 n->cfg.table_entries, strerror(-rc));
		return rc;
	}
	n->table.entries = n->cfg.table_entries;
	n->table.meta = node_calloc(n->table.entries, sizeof(*n->table.meta));
	uint32_t ops = tally_config_ops(&n->cfg);
	if (n->table.meta == NULL || regs_init(&n->regs, n->table.entries) != 0 || ops_init(&n->ops, ops) != 0 ||
	    causal_init(&n->causal) != 0 ||
	    opids_init(&n->opids, n->cfg.retry_capacity, n->cfg.retry_window_ms, n->cfg.heartbeat_ms) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

struct tally_node *
tally_node_create(const struct tally_node_params *p, char *err, size_t errlen)
{
	struct tally_node *n = calloc(1, sizeof(*n));
	char werr[256];
	int rc;

	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->cfg = *p->cfg;
	n->log_stream = p->log;
	snprintf(n->name, sizeof(n->name), "%s", p->name ? p->name : "node");
	n->self = (unsigned)n->cfg.self;
	n->reply.client_fd = n->admin.fd = n->sink_fd = -1;
	for (unsigned i = 0; i < ADMIN_CONNS; i++)
		n->admin.conn[i].fd = -1;
	n->now = n->started = n->last_snapshot = n->ae.last_refill = node_now_ns();
	n->loop.tsc_hz = tally_cycles_are_ns() ? 1000000000u : rte_get_tsc_hz();
	if (tally_wire_node_key(&n->link_key, n->cfg.key) != 0 || tally_token_key(n->token_key, n->cfg.key) != 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		goto fail;
	}
	if (create_members(n, err, errlen) != 0 || create_parts(n, err, errlen) != 0)
		goto fail;
	if (mkdir(n->cfg.data_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create the data directory: %s", n->cfg.data_dir, strerror(errno));
		goto fail;
	}
	if (persist_identity(n, p->bootstrap, err, errlen) != 0)
		goto fail;
	n->table.new_recovered = !n->recovering_mode;
	rc = tally_wal_open(n->cfg.data_dir, persist_replay, n, &n->log.wal, werr, sizeof(werr));
	if (rc != 0) {
		if (rc == -ENOSPC)
			snprintf(err, errlen, "%s: holds more keys than table_entries = %" PRIu32, n->cfg.data_dir,
				 n->cfg.table_entries);
		else if (rc == -EBADMSG)
			snprintf(err, errlen, "%s. Nothing was changed. Restore the file, or run tallyd recover --config "
					      "FILE to set the log aside and recover this node's counts from every member "
					      "(docs/durability.md#corrupt-data)", werr);
		else
			snprintf(err, errlen, "%s", werr);
		goto fail;
	}

	struct tally_dp_config dc = {
		.port_id = p->port_id, .self = (uint16_t)n->self, .epoch = n->epoch,
		.ip = n->cfg.members[n->self].ip, .udp_port = n->cfg.members[n->self].port, .mtu = n->cfg.mtu,
		.key = n->link_key, .engine = n->table.engine, .host = dispatch_host_frame, .compl = dispatch_merged,
		.host_ctx = n,
	};
	n->link.dp = tally_dp_create(&dc, &rc);
	if (n->link.dp == NULL) {
		snprintf(err, errlen, "DPDK port %u: %s", p->port_id, strerror(-rc));
		goto fail;
	}
	n->out.dp = n->link.dp;
	n->out.interval = n->cfg.commit_interval_ms > 0;
	n->log.interval_ns = (uint64_t)n->cfg.commit_interval_ms * 1000000u;
	tally_dp_addr(n->link.dp, &n->link.me);
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		memcpy(n->link.addr[i].src_mac, n->link.me.src_mac, 6);
		n->link.addr[i].src_ip = n->link.me.src_ip;
		n->link.addr[i].src_port = n->link.me.src_port;
	}
	if (bind_socket(SOCK_DGRAM, p->client_ip, n->cfg.client_port, &n->reply.client_fd, err, errlen, "client") != 0 ||
	    bind_socket(SOCK_STREAM, n->cfg.admin_bind_set ? n->cfg.admin_ip : p->client_ip, n->cfg.admin_port, &n->admin.fd, err, errlen, "admin") != 0)
		goto fail;
	/* With an af_packet port the kernel sees the cluster's frames too; a socket
	 * that never reads keeps it from answering them with ICMP port
	 * unreachable. Where the node's address is not local (the embedded
	 * cluster), there is nothing to keep quiet. */
	{
		char ignore[256];
		if (bind_socket(SOCK_DGRAM, n->cfg.members[n->self].ip, n->cfg.members[n->self].port, &n->sink_fd,
				ignore, sizeof(ignore), "sink") == 0) {
			int one = 1;
			(void)setsockopt(n->sink_fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
		}
	}
	struct tally_wal_stats ws;
	tally_wal_stats(n->log.wal, &ws);
	node_note(n, "up: epoch %" PRIu32 ", %s, %" PRIu64 " log records replayed%s, backend %s, clients on port %u",
		  n->epoch, n->recovering_mode ? "recovering its own slots from peers (data directory was empty)" : "normal",
		  ws.replayed, ws.torn_bytes ? " (a torn tail was cut)" : "", tally_offload_backend(n->table.engine),
		  n->cfg.client_port);
	return n;
fail:
	tally_node_destroy(n);
	return NULL;
}

void
tally_node_destroy(struct tally_node *n)
{
	if (n == NULL)
		return;
	if (n->log.wal != NULL && n->table.engine != NULL && n->link.dp != NULL) {
		n->now = node_now_ns();
		commit(n);
		link_flush_all(n);
		if (persist_snapshot(n) == 0 && !log_failed(n))
			(void)persist_clean_stop(n); /* everything it shipped is in its log */
		/* The snapshot made everything durable: send what waited for it
		 * (the last answers and acks), then go. */
		commit(n);
		link_flush_all(n);
		reply_flush_all(n);
	}
	log_fini(&n->log);
	out_fini(&n->out);
	tally_dp_destroy(n->link.dp);
	tally_offload_destroy(n->table.engine);
	tally_placement_free(n->pl);
	if (n->reply.client_fd >= 0)
		close(n->reply.client_fd);
	if (n->admin.fd >= 0)
		close(n->admin.fd);
	if (n->sink_fd >= 0)
		close(n->sink_fd);
	for (unsigned i = 0; i < ADMIN_CONNS; i++)
		if (n->admin.conn[i].fd >= 0)
			close(n->admin.conn[i].fd);
	free(n->table.meta);
	ops_fini(&n->ops);
	causal_fini(&n->causal);
	opids_fini(&n->opids);
	regs_fini(&n->regs);
	free(n);
}
