/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The status port of one node: GET /status (what tallyctl status shows,
 * built from each part's stats), /local/KEY (one replica's state), /fault
 * (fault injection, for tests), and whatever tallyd adds (the embedded
 * cluster's /partition).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "state.h"

/* ---- status ---- */

struct out {
	char *p;
	size_t cap, len;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->len >= o->cap)
		return;
	va_start(ap, fmt);
	int k = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->len = o->len + (size_t)k < o->cap ? o->len + (size_t)k : o->cap;
}

/* " node 1, node 2 (down)" for the members in @m. */
static void
put_nodes(struct tally_node *n, struct out *o, tally_nodemask_t m)
{
	bool first = true;

	for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
		if (m & NODE_BIT(t)) {
			put(o, "%snode %u%s", first ? "" : ", ", t, members_up(n, t) ? "" : " (down)");
			first = false;
		}
}

/*
 * Whether the node can serve its default quorums: it is not recovering a
 * lost directory, and it hears from at least max(w, r) nodes, itself
 * included. Otherwise @detail says what it waits for.
 */
static bool
ready(struct tally_node *n, char *detail, size_t cap)
{
	struct out o = { detail, cap, 0 };
	unsigned need = n->cfg.w > n->cfg.r ? n->cfg.w : n->cfg.r, up = members_up_count(n);

	detail[0] = '\0';
	if (n->log.error != 0) {
		put(&o, "the write-ahead log failed (%s): restart the node once its disk is fixed", strerror(-n->log.error));
		return false;
	}
	if (n->recovering_mode) {
		put(&o, "recovering this node's counts after a lost data directory: waiting for ");
		put_nodes(n, &o, recovery_waiting(n));
		put(&o, " to answer");
		return false;
	}
	if (members_unconfirmed(n) != 0) {
		put(&o, "confirming its log position and op-id notes with ");
		put_nodes(n, &o, members_unconfirmed(n));
		return false;
	}
	if (up >= need)
		return true;
	tally_nodemask_t down = 0;
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
		if (n->members.m[t].present && !members_up(n, t))
			down |= NODE_BIT(t);
	put(&o, "hears from %u of the %u nodes its default quorums need (w = %u, r = %u): waiting for ", up, need,
	    n->cfg.w, n->cfg.r);
	put_nodes(n, &o, down);
	return false;
}

size_t
tally_node_status_json(struct tally_node *n, char *buf, size_t cap)
{
	char detail[256];
	struct out o = { buf, cap, 0 };
	struct tally_offload_stats es;
	struct tally_dp_stats ds;
	struct tally_wal_stats ws;
	struct tally_dedup_stats dd;
	uint64_t lag_ops[TALLY_MAX_NODES] = { 0 }, lag_age[TALLY_MAX_NODES] = { 0 };
	uint64_t hints[TALLY_MAX_NODES] = { 0 };
	unsigned primary = 0, replica = 0, count;

	n->now = node_now_ns();
	tally_offload_stats(n->table.engine, &es);
	tally_dp_stats(n->link.dp, &ds);
	tally_wal_stats(n->log.wal, &ws);
	tally_dedup_stats(n->opids.dedup, &dd);
	origin_lag(n, lag_ops, lag_age);
	handoff_hints(n, hints);
	for (uint32_t p = 0; p < tally_placement_partitions(n->pl); p++) {
		const uint8_t *ring = tally_placement_nodes(n->pl, p, &count);
		primary += ring[0] == n->self;
		for (unsigned i = 0; i < tally_placement_n(n->pl); i++)
			replica += ring[i] == n->self;
	}
	put(&o, "{\"node\":%u,\"epoch\":%" PRIu32 ",\"mode\":\"%s\",\"backend\":\"%s\",\"uptime_ms\":%" PRIu64 ",",
	    n->self, n->epoch, n->recovering_mode ? "recovering" : "normal", tally_offload_backend(n->table.engine),
	    (n->now - n->started) / 1000000u);
	bool is_ready = ready(n, detail, sizeof(detail));
	put(&o, "\"ready\":%s,\"ready_detail\":\"%s\",", is_ready ? "true" : "false", detail);
	put(&o, "\"admin_refused\":%" PRIu64 ",", n->admin.refused);
	put(&o, "\"recovery\":{\"waiting_for\":[");
	tally_nodemask_t waiting = recovery_waiting(n);
	for (unsigned t = 0, k = 0; t < TALLY_MAX_NODES; t++)
		if (waiting & NODE_BIT(t))
			put(&o, "%s%u", k++ ? "," : "", t);
	put(&o, "],\"keys_recovered\":%" PRIu64 ",\"sweep_pages\":%" PRIu64 ",\"sweep_states\":%" PRIu64 "},",
	    n->recovery.stats.recoveries, n->recovery.stats.sweep_pages, n->recovery.stats.sweep_states);
	put(&o, "\"quorum\":{\"n\":%u,\"w\":%u,\"r\":%u},", n->cfg.n, n->cfg.w, n->cfg.r);
	put(&o, "\"partitions\":{\"total\":%" PRIu32 ",\"primary\":%u,\"replica\":%u},",
	    tally_placement_partitions(n->pl), primary, replica);
	put(&o, "\"members\":[");
	bool first = true;
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++) {
		const struct member *m = &n->members.m[i];
		const struct ae_peer *ae = &n->ae.peer[i];
		char ip[INET_ADDRSTRLEN];
		struct in_addr a;
		if (!m->present && i != n->self)
			continue;
		a.s_addr = htonl(i == n->self ? n->link.me.src_ip : n->link.addr[i].dst_ip);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		put(&o, "%s{\"id\":%u,\"addr\":\"%s:%u\",\"state\":\"%s\",", first ? "" : ",", i, ip,
		    i == n->self ? n->link.me.src_port : n->link.addr[i].dst_port,
		    i == n->self ? "self" : m->up ? "up" : "down");
		if (i == n->self)
			put(&o, "\"epoch\":%" PRIu32, n->epoch);
		else
			put(&o, "\"epoch\":%" PRIu32 ",\"last_heard_ms\":%" PRId64 ",\"unacked_writes\":%" PRIu64
				",\"oldest_unacked_ms\":%" PRIu64 ",\"hints\":%" PRIu64 ",\"ae_last_sync_ms\":%" PRId64
				",\"ae_partitions_to_ship\":%u,\"ae_digests_in\":%" PRIu64 ",\"ae_digests_differ\":%" PRIu64
				",\"ae_records_sent\":%" PRIu64 ",\"notes_unacked\":%" PRIu64 ",\"notes_held\":%" PRIu64
				",\"notes_caught_up\":%s",
			    m->epoch, m->last_heard ? (int64_t)((n->now - m->last_heard) / 1000000u) : -1, lag_ops[i],
			    lag_age[i] / 1000000u, hints[i],
			    ae->last_sync ? (int64_t)((n->now - ae->last_sync) / 1000000u) : -1, ae->len, ae->digests_in,
			    ae->differ, ae->records, n->opids.tx[i].sent - n->opids.tx[i].acked,
			    n->opids.rx[i].next - n->opids.rx[i].base, m->notes_caught ? "true" : "false");
		put(&o, "}");
		first = false;
	}
	put(&o, "],\"keys\":{\"used\":%" PRIu64 ",\"capacity\":%" PRIu64 "},", es.keys_used, es.keys_capacity);
	put(&o, "\"registers\":{\"used\":%" PRIu32 ",\"puts\":%" PRIu64 ",\"merges\":%" PRIu64
		",\"most_siblings\":%" PRIu64 "},",
	    n->regs.used, n->origin.mv_puts, n->regs.stats.merges, n->origin.mv_siblings_max);
	put(&o, "\"requests\":{\"in_flight\":%" PRIu32 ",\"capacity\":%" PRIu32 ",\"handed_off\":%" PRIu64
		",\"client_frames\":%" PRIu64 ",\"client_records\":%" PRIu64
		",\"forwarded\":%" PRIu64 ",\"applied\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"reads\":%" PRIu64
		",\"read_repairs_sent\":%" PRIu64 ",\"repairs_applied\":%" PRIu64 ",\"handoff_records\":%" PRIu64
		",\"handoff_dropped_keys\":%" PRIu64 ",\"recoveries\":%" PRIu64 ",\"table_full\":%" PRIu64
		",\"tokens_in\":%" PRIu64 ",\"tokens_refused\":%" PRIu64 ",\"token_waits\":%" PRIu64
		",\"not_yet\":%" PRIu64 ",\"token_checks_nic\":%" PRIu64 ",\"causal_writes\":%" PRIu64
		",\"causal_in\":%" PRIu64 ",\"held_now\":%u,\"held_total\":%" PRIu64 ",\"held_dropped\":%" PRIu64
		",\"held_bad_dependency\":%" PRIu64 ",\"held_longest_ms\":%" PRIu64 ",\"dependency_fetches\":%" PRIu64
		",\"pinned_retries\":%" PRIu64 ",\"notes_sent\":%" PRIu64
		",\"notes_in\":%" PRIu64 ",\"noted_refused\":%" PRIu64 ",",
	    n->ops.nops, n->ops.cap, n->origin.handed_off, n->clients.stats.frames, n->coord.client_records, n->coord.forwarded, n->origin.applied,
	    n->origin.duplicates, n->reads.reads, n->reads.repairs_sent, n->reads.repairs_applied,
	    n->handoff.stats.records, n->handoff.stats.dropped_keys, n->recovery.stats.recoveries, n->table.stats.table_full,
	    n->coord.tokens_in, n->coord.tokens_refused, n->reads.token_waits, n->reads.not_yet + n->origin.not_yet,
	    n->reads.token_checks_nic + n->causal.stats.token_checks_nic, n->causal.stats.causal_writes,
	    n->causal.stats.causal_in, n->causal.nheld, n->causal.stats.held_total, n->causal.stats.held_dropped,
	    n->causal.stats.held_bad_dep, n->causal.stats.held_max_ns / 1000000u, n->causal.stats.fetches,
	    n->coord.pinned_retries, n->opids.stats.notes_sent, n->opids.stats.notes_in,
	    n->opids.stats.noted_refused);
	const struct node_opids *od = &n->opids;
	uint64_t unacked = 0;
	for (unsigned t = 0; t < TALLY_MAX_NODES; t++)
		if (n->members.m[t].present)
			unacked += od->tx[t].sent - od->tx[t].acked;
	put(&o, "\"retry_window\":{\"window_ms\":%u,\"capacity\":%" PRIu32 ",\"pins\":%" PRIu64
		",\"full\":%" PRIu64 ",\"notes_overrun\":%" PRIu64 ",\"noted_evicted_refused\":%" PRIu64
		",\"notes_unacked\":%" PRIu64 ",\"notes_resent\":%" PRIu64 ",\"streams_reset\":%" PRIu64 "},",
	    n->cfg.retry_window_ms, od->cap, od->pins_head - od->pins_tail, od->stats.window_full,
	    od->stats.notes_overrun, od->stats.noted_evicted_refused, unacked, od->stats.notes_resent,
	    od->stats.streams_reset);
	put(&o, "\"replies\":{");
	for (unsigned s = 0; s < TALLY_STATUS_END; s++)
		put(&o, "%s\"%s\":%" PRIu64, s ? "," : "", tally_status_name(s), n->reply.stats.replies[s]);
	put(&o, "},\"client_drops\":{");
	for (unsigned v = 1; v < TALLY_WIRE_VERDICT_END; v++)
		put(&o, "%s\"%s\":%" PRIu64, v > 1 ? "," : "", tally_wire_verdict_name(v), n->clients.stats.drops[v]);
	put(&o, "}},");
	put(&o, "\"offload\":{\"frames\":%" PRIu64 ",\"consumed\":%" PRIu64 ",\"to_host\":%" PRIu64
		",\"dropped\":%" PRIu64 ",\"records_merged\":%" PRIu64 ",\"records_host\":%" PRIu64 ",\"drops\":{",
	    es.frames, es.consumed, es.to_host, es.dropped, es.records_merged, es.records_host);
	for (unsigned v = 1; v < TALLY_WIRE_VERDICT_END; v++)
		put(&o, "%s\"%s\":%" PRIu64, v > 1 ? "," : "", tally_wire_verdict_name(v), es.drops[v]);
	put(&o, "}},\"dataplane\":{\"rx\":%" PRIu64 ",\"tx\":%" PRIu64 ",\"rx_other\":%" PRIu64
		",\"tx_full\":%" PRIu64 ",\"tx_nombuf\":%" PRIu64 ",\"acks\":%" PRIu64 ",\"engine_fail\":%" PRIu64 "},",
	    ds.rx, ds.tx, ds.rx_other, ds.tx_full, ds.tx_nombuf, ds.acks, ds.rx_engine_fail);
	put(&o, "\"wal\":{\"generation\":%" PRIu64 ",\"records\":%" PRIu64 ",\"commits\":%" PRIu64
		",\"log_bytes\":%" PRIu64 ",\"snapshots\":%" PRIu64 ",\"replayed\":%" PRIu64 ",\"torn_bytes\":%" PRIu64
		",\"commit_us_avg\":%" PRIu64 ",\"failed\":%s,\"error\":\"%s\",\"failed_ms_ago\":%" PRId64
		",\"position\":%" PRIu64 ",\"commit\":\"%s\",\"commit_interval_ms\":%u,\"coalesced\":%" PRIu64 "},",
	    ws.generation, ws.records, ws.commits, ws.log_bytes, ws.snapshots, ws.replayed, ws.torn_bytes,
	    ws.commits ? ws.commit_ns / ws.commits / 1000u : 0, n->log.error ? "true" : "false",
	    n->log.error ? strerror(-n->log.error) : "",
	    n->log.error ? (int64_t)((n->now - n->log.failed_at) / 1000000u) : -1, ws.position,
	    n->cfg.commit_interval_ms ? "interval" : "sync", n->cfg.commit_interval_ms, ws.coalesced);
	put(&o, "\"output\":{\"direct\":%" PRIu64 ",\"held\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"held_max_bytes\":%" PRIu64 ",\"slots_coalesced\":%" PRIu64 "},",
	    n->out.stats.direct, n->out.stats.held, n->out.stats.dropped, n->out.stats.held_max,
	    n->link.stats.slots_coalesced);
	put(&o, "\"loop\":{\"rounds\":%" PRIu64 ",\"busy_rounds\":%" PRIu64 ",\"busy_cycles\":%" PRIu64
		",\"engine_cycles\":%" PRIu64 ",\"tsc_hz\":%" PRIu64 "},",
	    n->loop.rounds, n->loop.busy_rounds, n->loop.busy_cycles, es.engine_cycles, n->loop.tsc_hz);
	put(&o, "\"dedup\":{\"clients\":%" PRIu64 ",\"evictions\":%" PRIu64 "}}\n", dd.clients, dd.evictions);
	return o.len;
}

/* ---- the admin port: GET /status, /local/KEY (and whatever tallyd adds) ---- */

static int
hexdigit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* GET /local/KEY (percent-encoded): this node's own replica of KEY, no
 * quorum, no repair; for operators and tests that look at one replica. */
static int
local_json(struct tally_node *n, const char *enc, char *buf, size_t cap)
{
	uint8_t key[TALLY_WIRE_CLIENT_STR_MAX], id[16];
	size_t len = 0;
	tally_pncounter_t s;
	struct out o = { buf, cap, 0 };

	for (const char *p = enc; *p != '\0'; p++) {
		int c = (unsigned char)*p;
		if (*p == '%') {
			int hi = hexdigit(p[1]), lo = hi < 0 ? -1 : hexdigit(p[2]);
			if (lo < 0)
				return snprintf(buf, cap, "{\"error\":\"bad percent-encoding\"}\n"), 400;
			c = hi << 4 | lo;
			p += 2;
		}
		if (len == sizeof(key))
			return snprintf(buf, cap, "{\"error\":\"a key is 1..64 bytes\"}\n"), 400;
		key[len++] = (uint8_t)c;
	}
	if (len == 0)
		return snprintf(buf, cap, "{\"error\":\"a key is 1..64 bytes\"}\n"), 400;
	if (n->log.error != 0)
		return snprintf(buf, cap, "{\"error\":\"the write-ahead log failed (%s): this node shows nothing it "
					  "holds\"}\n", strerror(-n->log.error)), 503;
	tally_wire_key_id(key, len, id);
	for (uint32_t i = 0; i < n->table.entries; i++) {
		const struct mventry *e = &n->regs.mv[i];
		if (!e->used || memcmp(e->key, id, 16) != 0)
			continue;
		/* an MV-register: its values (printable bytes as they are, others as \u00XX) */
		put(&o, "{\"node\":%u,\"found\":true,\"register\":true,\"values\":[", n->self);
		for (uint32_t j = 0; j < e->reg.count; j++) {
			put(&o, "%s\"", j ? "," : "");
			for (uint32_t b = 0; b < e->reg.sib[j].len; b++) {
				unsigned char ch = e->reg.sib[j].value[b];
				put(&o, ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\' ? "%c" : "\\u%04x", ch);
			}
			put(&o, "\"");
		}
		put(&o, "]}\n");
		return 200;
	}
	uint32_t ix = table_find(n, id);
	if (table_state(n, ix, &s) != 0)
		return snprintf(buf, cap, "{\"error\":\"the offload engine failed\"}\n"), 500;
	unsigned status = TALLY_OK;
	int64_t v = reply_value_of(&s, &status);
	put(&o, "{\"node\":%u,\"found\":%s,\"replica\":%s,\"status\":\"%s\",", n->self, ix == NIL ? "false" : "true",
	    preferred_here(n, id) ? "true" : "false", tally_status_name(status));
	if (status == TALLY_OK)
		put(&o, "\"value\":%" PRId64 ",\"p\":[", v);
	else
		put(&o, "\"value\":null,\"p\":["); /* over range: no value (docs/crdt.md#range) */
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		put(&o, "%s%" PRIu64, i ? "," : "", s.p.slot[i]);
	put(&o, "],\"n\":[");
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		put(&o, "%s%" PRIu64, i ? "," : "", s.n.slot[i]);
	put(&o, "]}\n");
	return 200;
}

/* GET /fault?delay=PEER&ms=MS, /fault?peer=PEER&delay=MS&jitter=MS&loss=PCT&dup=PCT&corrupt=PCT,
 * /fault?clear: fault injection on the cluster link (configuration:
 * fault_injection = 1). /fault?break=dedup|tokens makes the node
 * deliberately wrong (until /fault?clear), for the fault suite's must-fail runs.
 * /fault?sync_ms=MS makes every log commit wait MS ms before it writes (a
 * slow disk: a test kills the node inside the wait). */
static int
fault_json(struct tally_node *n, const char *q, char *buf, size_t cap)
{
	struct tally_dp_fault f = { 0 };
	unsigned peer = TALLY_MAX_NODES, ms;

	if (!n->cfg.fault_injection)
		return snprintf(buf, cap, "{\"error\":\"fault injection is off ([node] fault_injection = 0)\"}\n"), 403;
	if (strcmp(q, "clear") == 0) {
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
			if (n->members.m[i].present)
				(void)tally_dp_set_fault(n->link.dp, n->link.addr[i].dst_ip, NULL);
		n->broken_dedup = n->broken_tokens = false;
		tally_wal_set_stall(n->log.wal, 0);
		node_note(n, "fault injection: cleared");
		return snprintf(buf, cap, "{\"faults\":\"cleared\"}\n"), 200;
	}
	if (strcmp(q, "break=dedup") == 0 || strcmp(q, "break=tokens") == 0) {
		/* A deliberately broken node, for showing that the fault suite's
		 * checker catches one (docs/faults.md). */
		bool dedup = strcmp(q, "break=dedup") == 0;
		if (dedup)
			n->broken_dedup = true;
		else
			n->broken_tokens = true;
		node_note(n, "fault injection: BROKEN on purpose: %s", dedup ? "retried op ids are applied again"
									   : "session tokens are ignored");
		return snprintf(buf, cap, "{\"broken\":\"%s\"}\n", dedup ? "dedup" : "tokens"), 200;
	}
	if (sscanf(q, "sync_ms=%u", &ms) == 1) {
		tally_wal_set_stall(n->log.wal, ms);
		node_note(n, "fault injection: every log commit waits %u ms first", ms);
		return snprintf(buf, cap, "{\"sync_ms\":%u}\n", ms), 200;
	}
	if (sscanf(q, "delay=%u&ms=%u", &peer, &ms) == 2) {
		f.delay_ns = (uint64_t)ms * 1000000u;
	} else {
		/* key=value pairs; rates in percent, times in milliseconds */
		char copy[256];
		snprintf(copy, sizeof(copy), "%s", q);
		for (char *save = NULL, *kv = strtok_r(copy, "&", &save); kv != NULL; kv = strtok_r(NULL, "&", &save)) {
			char k[16];
			double v;
			if (sscanf(kv, "%15[a-z]=%lf", k, &v) != 2 || v < 0)
				return snprintf(buf, cap, "{\"error\":\"bad '%s'\"}\n", kv), 400;
			if (strcmp(k, "peer") == 0)
				peer = (unsigned)v;
			else if (strcmp(k, "delay") == 0 && v <= 60000)
				f.delay_ns = (uint64_t)(v * 1e6);
			else if (strcmp(k, "jitter") == 0 && v <= 60000)
				f.jitter_ns = (uint64_t)(v * 1e6);
			else if (strcmp(k, "loss") == 0 && v <= 100)
				f.loss_ppm = (uint32_t)(v * 1e4);
			else if (strcmp(k, "dup") == 0 && v <= 100)
				f.dup_ppm = (uint32_t)(v * 1e4);
			else if (strcmp(k, "corrupt") == 0 && v <= 100)
				f.corrupt_ppm = (uint32_t)(v * 1e4);
			else
				return snprintf(buf, cap, "{\"error\":\"unknown or out of range: '%s'\"}\n", kv), 400;
		}
	}
	if (peer >= TALLY_MAX_NODES || !n->members.m[peer].present)
		return snprintf(buf, cap, "{\"error\":\"want /fault?peer=N&delay=MS&jitter=MS&loss=PCT&dup=PCT&"
					"corrupt=PCT, /fault?delay=N&ms=MS, /fault?sync_ms=MS or /fault?clear\"}\n"), 400;
	if (tally_dp_set_fault(n->link.dp, n->link.addr[peer].dst_ip, &f) != 0)
		return snprintf(buf, cap, "{\"error\":\"too many fault rules\"}\n"), 400;
	node_note(n, "fault injection: frames to node %u: delay %.1f ms, jitter %.1f ms, loss %.2f%%, duplicated "
		     "%.2f%%, corrupted %.2f%%", peer, f.delay_ns / 1e6, f.jitter_ns / 1e6, f.loss_ppm / 1e4,
		  f.dup_ppm / 1e4, f.corrupt_ppm / 1e4);
	return snprintf(buf, cap, "{\"peer\":%u,\"delay_ms\":%.1f,\"jitter_ms\":%.1f,\"loss_pct\":%.2f,"
				 "\"dup_pct\":%.2f,\"corrupt_pct\":%.2f}\n", peer, f.delay_ns / 1e6, f.jitter_ns / 1e6,
			f.loss_ppm / 1e4, f.dup_ppm / 1e4, f.corrupt_ppm / 1e4), 200;
}

/* The request's X-Tally-Admin header: the MAC of its path under the
 * operator's key (tally_config_admin_mac). */
static bool
admin_credential(const struct tally_node *n, const char *req, const char *path)
{
	static const char name[] = "\r\nX-Tally-Admin: ";
	char want[65];
	const char *h = strstr(req, name);

	if (h == NULL || tally_config_admin_mac(&n->cfg, path, want) != 0)
		return false;
	h += sizeof(name) - 1;
	return strlen(h) >= 64 && sodium_memcmp(h, want, 64) == 0;
}

static void
admin_respond(struct tally_node *n, struct admin_conn *c)
{
	static _Thread_local char body[65536]; /* a node per lcore: one per thread */
	char head[256], path[256] = "";
	int code = 404;
	size_t len = 0;

	if (sscanf(c->req, "GET %255s HTTP/", path) != 1) {
		code = 400;
		len = (size_t)snprintf(body, sizeof(body), "{\"error\":\"want GET /status\"}\n");
	} else if (strchr(path, '?') != NULL && !c->local && !admin_credential(n, c->req, path)) {
		/* A change (fault injection, a partition): from this machine only,
		 * or with the operator's credential (docs/security.md). */
		code = 403;
		n->admin.refused++;
		len = (size_t)snprintf(body, sizeof(body),
				       "{\"error\":\"%s changes the node: only from this machine, or with the "
				       "credential tallyctl -c NODE-FILE sends (X-Tally-Admin)\"}\n",
				       path);
	} else if (strcmp(path, "/status") == 0) {
		code = 200;
		len = tally_node_status_json(n, body, sizeof(body));
	} else if (strncmp(path, "/local/", 7) == 0) {
		code = local_json(n, path + 7, body, sizeof(body));
		len = strlen(body);
	} else if (strncmp(path, "/fault?", 7) == 0) {
		code = fault_json(n, path + 7, body, sizeof(body));
		len = strlen(body);
	} else if (n->admin.fn != NULL) {
		code = n->admin.fn(n->admin.ctx, path, body, sizeof(body));
		len = strlen(body);
	} else {
		len = (size_t)snprintf(body, sizeof(body), "{\"error\":\"no such path; try /status or /local/KEY\"}\n");
	}
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.0 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n",
			  code, code == 200 ? "OK" : code == 400 ? "Bad Request" : code == 403 ? "Forbidden"
						  : code == 404 ? "Not Found" : "Error",
			  len);
	/* Small answers to a local tool: a blocking write with a short timeout suffices. */
	int fl = fcntl(c->fd, F_GETFL);
	(void)fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	struct timeval tv = { 0, 200000 };
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)!write(c->fd, head, (size_t)hl);
	(void)!write(c->fd, body, len);
	close(c->fd);
	c->fd = -1;
}

unsigned
admin_poll(struct tally_node *n)
{
	unsigned work = 0;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = accept4(n->admin.fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd >= 0) {
		unsigned i;
		for (i = 0; i < ADMIN_CONNS && n->admin.conn[i].fd >= 0; i++)
			;
		if (i == ADMIN_CONNS) {
			close(fd);
		} else {
			n->admin.conn[i].fd = fd;
			n->admin.conn[i].got = 0;
			n->admin.conn[i].local = sa.sin_family == AF_INET && ntohl(sa.sin_addr.s_addr) >> 24 == 127;
		}
		work++;
	}
	for (unsigned i = 0; i < ADMIN_CONNS; i++) {
		struct admin_conn *c = &n->admin.conn[i];
		if (c->fd < 0)
			continue;
		ssize_t k = read(c->fd, c->req + c->got, sizeof(c->req) - 1 - c->got);
		if (k == 0 || (k < 0 && errno != EAGAIN)) {
			close(c->fd);
			c->fd = -1;
			continue;
		}
		if (k < 0)
			continue;
		c->got += (size_t)k;
		c->req[c->got] = '\0';
		if (strstr(c->req, "\r\n\r\n") != NULL || strstr(c->req, "\n\n") != NULL ||
		    c->got == sizeof(c->req) - 1)
			admin_respond(n, c);
		work++;
	}
	return work;
}

void
tally_node_set_admin(struct tally_node *n, tally_node_admin_fn fn, void *ctx)
{
	n->admin.fn = fn;
	n->admin.ctx = ctx;
}

