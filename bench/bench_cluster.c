/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-bench cluster: the embedded cluster (tallyd with no configuration:
 * three nodes, n = 3, in one process over ring ports) measured from outside,
 * through libtallyclient over UDP on loopback, as a service would use it.
 *
 *  1. Write latency: one increment at a time through node 0, to keys spread
 *     over the ring (so about a third are applied at node 0 and the rest
 *     forwarded to their origin), at W = 1, W = 2 (majority) and W = 3. Each
 *     round trip includes the origin's log commit (write and fdatasync) and,
 *     for W > 1, the replicas' commits before their acks.
 *  2. Increments per second: one client keeping up to 512 operations in
 *     flight, up to 138 per datagram, over 1000 keys, at W = 1, 2 and 3.
 *
 * Both run for each offload backend asked for (default: sim, the Verilated
 * NIC the embedded cluster uses by default, then cpu), each on a fresh
 * cluster. Every answer is checked: a write that does not come back OK, or a
 * final count that differs from the acknowledged increments, fails the run.
 * Nothing about speed is asserted.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "bench.h"
#include "client.h"
#include "config.h"
#include "wire.h"

#define MAX_LAT 20000
#define BENCH_NODES 8 /* status ports a run reads: every member of a cluster of up to 8 */

struct lat_row {
	unsigned w, n;
	double p50_us, p99_us, mean_us, max_us;
};

struct rate_row {
	unsigned w;
	uint64_t ops;
	double secs, per_sec;
	/* Host time per acknowledged increment, over every node: the poll
	 * rounds that did work (busy), and of that the offload engine's calls;
	 * negative when a status page did not answer. */
	double busy_ns, engine_ns, busy_share;
};

/* Session tokens: the same operations with and without a token. */
struct tok_row {
	const char *what;
	struct lat_row l;
};

struct run {
	const char *backend;
	const char *commit; /* sync, or interval (10 ms) */
	const char *lcores; /* "one": one thread polls every node; "node": each node on an lcore of its own */
	struct lat_row lat[3];
	struct rate_row rate[3];
	struct tok_row tok[4];
};

/* Where the clients go: the embedded cluster's node 0, or node 0 of a
 * running cluster's configuration (--config); and a prefix that keeps this
 * run's keys apart from any earlier run's on that cluster. */
static struct {
	char host[INET_ADDRSTRLEN];
	uint16_t port;
	uint8_t key[32];
	char prefix[24];
	unsigned replicas; /* of the embedded cluster: 3 (three nodes), or 1 (two nodes, n = 1) */
	const char *commit; /* its commit policy (tallyd --commit), NULL: the default, sync */
	bool lcore_per_node; /* tallyd --lcore-per-node */
	unsigned keys;       /* the rate runs' keys (--keys) */
	/* the nodes' status ports, whose poll-loop figures the rate sums */
	char admin_host[BENCH_NODES][INET_ADDRSTRLEN];
	uint16_t admin_port[BENCH_NODES];
	unsigned nadmin;
} target = { "127.0.0.1", 7471, { 0 }, "", 3, NULL, false, 1000, { "127.0.0.1", "127.0.0.1", "127.0.0.1" }, { 7472, 7482, 7492 }, 3 };

/* Every node's poll-loop figures summed. @return 0, or -1 when one did not answer. */
static int
loops(struct tally_bench_loop *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < target.nadmin; i++) {
		struct tally_bench_loop l;
		if (tally_bench_node_loop(target.admin_host[i], target.admin_port[i], &l) != 0)
			return -1;
		sum->rounds += l.rounds;
		sum->busy_rounds += l.busy_rounds;
		sum->busy_cycles += l.busy_cycles;
		sum->engine_cycles += l.engine_cycles;
		sum->tsc_hz = l.tsc_hz;
	}
	return 0;
}

static pid_t
spawn(const char *tallyd, const char *backend)
{
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[16];
		unsigned a = 0;
		argv[a++] = (char *)tallyd;
		argv[a++] = "--backend";
		argv[a++] = (char *)backend;
		if (target.replicas == 1) { /* one copy of each key: two nodes, n = 1 */
			argv[a++] = "--nodes";
			argv[a++] = "2";
			argv[a++] = "--replicas";
			argv[a++] = "1";
		}
		if (target.commit != NULL) {
			argv[a++] = "--commit";
			argv[a++] = (char *)target.commit;
		}
		if (target.lcore_per_node)
			argv[a++] = "--lcore-per-node";
		argv[a++] = "-q";
		argv[a] = NULL;
		execv(tallyd, argv);
		fprintf(stderr, "tally-bench cluster: cannot run %s: %s\n", tallyd, strerror(errno));
		_exit(127);
	}
	return pid;
}

static void
stop(pid_t pid)
{
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

static tally_client_t *
client_s(unsigned batch, bool session)
{
	struct tally_client_opts o = { .host = target.host, .port = target.port, .timeout_ms = 2000, .batch = batch,
				       .session = session };
	int err;

	(void)tally_client_credential(target.key, 0, o.key);
	return tally_client_open(&o, &err);
}

static tally_client_t *
client(unsigned batch)
{
	return client_s(batch, false);
}

/* Until every node answers a read at R = 3 (all up and seeing each other). */
static int
wait_ready(pid_t pid)
{
	tally_client_t *c = client(1);
	int64_t v;

	for (int i = 0; i < 300; i++) {
		int st;
		if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (tally_client_get(c, "ready", target.replicas, &v) == TALLY_OK) {
			tally_client_close(c);
			return 0;
		}
		usleep(100000);
	}
	tally_client_close(c);
	return -1;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int
latency(unsigned w, unsigned n, struct lat_row *row)
{
	static uint64_t ns[MAX_LAT];
	tally_client_t *c = client(1);
	char key[48];
	double sum = 0;
	int64_t v;

	for (unsigned i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%slat-w%u-%u", target.prefix, w, i % 97);
		uint64_t t0 = tally_bench_now_ns();
		int rc = tally_client_incr(c, key, 1, w, &v);
		ns[i] = tally_bench_now_ns() - t0;
		if (rc != TALLY_OK) {
			fprintf(stderr, "tally-bench cluster: incr at W=%u: %s\n", w,
				rc < 0 ? strerror(-rc) : tally_status_name((unsigned)rc));
			tally_client_close(c);
			return -1;
		}
		sum += (double)ns[i];
	}
	tally_client_close(c);
	qsort(ns, n, sizeof(ns[0]), cmp_u64);
	row->w = w;
	row->n = n;
	row->p50_us = (double)ns[n / 2] / 1e3;
	row->p99_us = (double)ns[(size_t)n * 99 / 100] / 1e3;
	row->max_us = (double)ns[n - 1] / 1e3;
	row->mean_us = sum / n / 1e3;
	return 0;
}

static void
summarise(uint64_t *ns, unsigned n, double sum, unsigned w, struct lat_row *row)
{
	qsort(ns, n, sizeof(ns[0]), cmp_u64);
	row->w = w;
	row->n = n;
	row->p50_us = (double)ns[n / 2] / 1e3;
	row->p99_us = (double)ns[(size_t)n * 99 / 100] / 1e3;
	row->max_us = (double)ns[n - 1] / 1e3;
	row->mean_us = sum / n / 1e3;
}

/* Alternate incr (W = 2) and get (R = 2) on 97 keys, with a session (each
 * request carries the key's token, each answer brings one) or without;
 * time the incrs and the gets apart. */
static int
tokens(bool session, unsigned n, struct lat_row *incr_row, struct lat_row *get_row)
{
	static uint64_t wi[MAX_LAT], ri[MAX_LAT];
	tally_client_t *c = client_s(1, session);
	double ws = 0, rs = 0;
	char key[48];
	int64_t v;

	for (unsigned i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%stok-%d-%u", target.prefix, session, i % 97);
		uint64_t t0 = tally_bench_now_ns();
		int rc = tally_client_incr(c, key, 1, 2, &v);
		uint64_t t1 = tally_bench_now_ns();
		int rc2 = tally_client_get(c, key, 2, &v);
		uint64_t t2 = tally_bench_now_ns();
		if (rc != TALLY_OK || rc2 != TALLY_OK) {
			fprintf(stderr, "tally-bench cluster: session %d: %s / %s\n", session,
				rc < 0 ? strerror(-rc) : tally_status_name((unsigned)rc),
				rc2 < 0 ? strerror(-rc2) : tally_status_name((unsigned)rc2));
			tally_client_close(c);
			return -1;
		}
		wi[i] = t1 - t0;
		ri[i] = t2 - t1;
		ws += (double)wi[i];
		rs += (double)ri[i];
	}
	tally_client_close(c);
	summarise(wi, n, ws, 2, incr_row);
	summarise(ri, n, rs, 2, get_row);
	return 0;
}

/* Increments per second: keep up to @p inflight in flight, @p batch per
 * datagram (0 = as many as fit); every one must be acknowledged and counted. */
static int
rate(unsigned w, uint64_t total, unsigned inflight, unsigned batch, struct rate_row *row)
{
	tally_client_t *c = client(batch);
	struct tally_client_result res[512];
	struct tally_bench_loop l0, l1;
	bool have_loops = loops(&l0) == 0;
	uint64_t sent = 0, acked = 0, t0 = tally_bench_now_ns();
	char key[48];
	int rc = 0;

	while (acked < total) {
		while (sent < total && tally_client_in_flight(c) < inflight) {
			snprintf(key, sizeof(key), "%srate-w%u-%" PRIu64, target.prefix, w, sent % target.keys);
			if (tally_client_submit(c, TALLY_WIRE_OP_INCR, key, strlen(key), 1, w, NULL) != 0)
				break;
			sent++;
		}
		if (tally_client_flush(c) != 0) {
			rc = -1;
			break;
		}
		int n = tally_client_poll(c, res, 512, 1000);
		if (n < 0) {
			rc = -1;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (res[i].status != TALLY_OK) {
				fprintf(stderr, "tally-bench cluster: increment at W=%u: %s\n", w,
					tally_status_name(res[i].status));
				rc = -1;
			}
			acked++;
		}
		if (rc != 0)
			break;
	}
	double secs = (double)(tally_bench_now_ns() - t0) / 1e9;
	tally_client_close(c);
	if (rc != 0)
		return rc;
	row->busy_ns = row->engine_ns = row->busy_share = -1;
	if (have_loops && loops(&l1) == 0 && total > 0) {
		double hz = (double)l1.tsc_hz;
		row->busy_ns = (double)(l1.busy_cycles - l0.busy_cycles) / hz * 1e9 / (double)total;
		row->engine_ns = (double)(l1.engine_cycles - l0.engine_cycles) / hz * 1e9 / (double)total;
		row->busy_share = l1.rounds > l0.rounds ? (double)(l1.busy_rounds - l0.busy_rounds) /
								  (double)(l1.rounds - l0.rounds)
							: 0;
	}
	/* Every acknowledged increment is there: the keys sum to the total. */
	c = client(1);
	int64_t sum = 0, v;
	for (unsigned k = 0; k < target.keys && k < total; k++) {
		snprintf(key, sizeof(key), "%srate-w%u-%u", target.prefix, w, k);
		int rc2 = tally_client_get(c, key, target.replicas, &v);
		if (rc2 != TALLY_OK) {
			fprintf(stderr, "tally-bench cluster: reading %s back: %s\n", key,
				rc2 < 0 ? strerror(-rc2) : tally_status_name((unsigned)rc2));
			tally_client_close(c);
			return -1;
		}
		sum += v;
	}
	tally_client_close(c);
	if ((uint64_t)sum != total) {
		fprintf(stderr, "tally-bench cluster: W=%u: %" PRIu64 " increments acknowledged, the keys sum to %" PRId64 "\n",
			w, total, sum);
		return -1;
	}
	row->w = w;
	row->ops = total;
	row->secs = secs;
	row->per_sec = (double)total / secs;
	return 0;
}

static const char *
target_lcores_text(const char *lcores)
{
	return strcmp(lcores, "node") == 0 ? "an lcore per node" : strcmp(lcores, "one") == 0 ? "one lcore" : lcores;
}

static int
run_backend(const char *tallyd, const char *backend, const char *commit, const char *lcores, unsigned nlat,
	    uint64_t nrate, struct run *r)
{
	static const unsigned ws[3] = { 1, 2, 3 };
	target.commit = commit != NULL && strcmp(commit, "sync") != 0 ? commit : NULL;
	target.lcore_per_node = lcores != NULL && strcmp(lcores, "node") == 0;
	pid_t pid = tallyd != NULL ? spawn(tallyd, backend) : 0;
	target.commit = NULL;
	target.lcore_per_node = false;

	r->backend = backend;
	r->commit = commit != NULL ? commit : "config";
	r->lcores = lcores != NULL ? lcores : "config";
	if (tallyd != NULL)
		fprintf(stderr, "tally-bench cluster: starting the embedded cluster (%s backend, commit = %s, %s)\n",
			backend, r->commit, target_lcores_text(r->lcores));
	if (wait_ready(pid) != 0) {
		fprintf(stderr, "tally-bench cluster: %s did not come up (is port %u free?)\n",
			tallyd != NULL ? "the embedded cluster" : "the cluster", target.port);
		stop(pid);
		return -1;
	}
	for (unsigned i = 0; i < 3; i++) {
		fprintf(stderr, "tally-bench cluster: %s: latency at W=%u (%u increments)\n", backend, ws[i], nlat);
		if (latency(ws[i], nlat, &r->lat[i]) != 0) {
			stop(pid);
			return -1;
		}
	}
	fprintf(stderr, "tally-bench cluster: %s: session tokens (%u incr and get, with and without)\n", backend, nlat);
	r->tok[0].what = "incr W=2, no token";
	r->tok[1].what = "get R=2, no token";
	r->tok[2].what = "incr W=2, token";
	r->tok[3].what = "get R=2, token";
	if (tokens(false, nlat, &r->tok[0].l, &r->tok[1].l) != 0 || tokens(true, nlat, &r->tok[2].l, &r->tok[3].l) != 0) {
		stop(pid);
		return -1;
	}
	for (unsigned i = 0; i < 3; i++) {
		fprintf(stderr, "tally-bench cluster: %s: increments per second at W=%u (%" PRIu64 ")\n", backend, ws[i],
			nrate);
		if (rate(ws[i], nrate, TALLY_CLIENT_MAX_IN_FLIGHT, 0, &r->rate[i]) != 0) {
			stop(pid);
			return -1;
		}
	}
	stop(pid);
	return 0;
}

int
tally_bench_cluster_rate(const char *tallyd, const char *backend, unsigned replicas, const char *commit, unsigned w,
			 uint64_t total, unsigned inflight, unsigned batch, double *per_sec)
{
	struct rate_row row;

	target.replicas = replicas;
	target.nadmin = replicas == 1 ? 2 : 3;
	target.commit = commit;
	pid_t pid = spawn(tallyd, backend);
	target.commit = NULL;

	if (wait_ready(pid) != 0) {
		fprintf(stderr, "tally-bench: the embedded cluster did not come up (is port 7471 free?)\n");
		stop(pid);
		return -1;
	}
	int rc = rate(w, total, inflight, batch, &row);
	stop(pid);
	if (rc == 0)
		*per_sec = row.per_sec;
	return rc;
}

int
tally_bench_tallyd_path(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -errno;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return -EINVAL;
	*slash = '\0';
	snprintf(out, len, "%.4000s/../host/tallyd", self);
	return 0;
}

/* The disk's own fdatasync, measured in the same run. */
struct disk {
	char dir[256];
	unsigned n;
	bool ok;
	double p50_us, p99_us;
};

static void
measure_disk(const char *dir, bool quick, struct disk *d)
{
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	d->n = quick ? 50 : 500;
	fprintf(stderr, "tally-bench cluster: the disk's own fdatasync in %s (%u times)\n", dir, d->n);
	int rc = tally_bench_fdatasync(dir, d->n, &d->p50_us, &d->p99_us);
	d->ok = rc == 0;
	if (rc != 0)
		snprintf(d->dir, sizeof(d->dir), "%s: %s", dir, strerror(-rc));
}

/* The directory that holds @p path (a node's data directory): where its log's disk is. */
static const char *
parent_dir(const char *path)
{
	static char dir[256];

	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return ".";
	if (slash == dir)
		return "/";
	*slash = '\0';
	return dir;
}

/* Print the tables of @p nb runs and write them to @p json (when given). */
static int
report(const struct run *runs, unsigned nb, const char *where, const struct disk *disk, const char *json)
{
	char cpu[128];
	tally_bench_cpu_model(cpu, sizeof(cpu));
	printf("tally-bench cluster: %s;\n%s, %ld cores\n\n", where, cpu, sysconf(_SC_NPROCESSORS_ONLN));
	if (disk->ok)
		printf("the disk's own commit (64-byte append + fdatasync in %s, %u times): p50 %.0f us, p99 %.0f us\n\n",
		       disk->dir, disk->n, disk->p50_us, disk->p99_us);
	else
		printf("the disk's own commit: not measured (%s)\n\n", disk->dir);
	printf("write latency, one increment at a time through node 0 (microseconds)\n");
	printf("%-8s %-9s %-6s %-4s %8s %8s %8s %8s %8s %10s\n", "backend", "commit", "lcores", "W", "n", "p50", "p99",
	       "mean", "max", "p50/fsync");
	for (unsigned i = 0; i < nb; i++)
		for (unsigned k = 0; k < 3; k++) {
			const struct lat_row *l = &runs[i].lat[k];
			char ratio[16] = "-";
			if (disk->ok && disk->p50_us > 0)
				snprintf(ratio, sizeof(ratio), "%.2fx", l->p50_us / disk->p50_us);
			printf("%-8s %-9s %-6s %-4u %8u %8.0f %8.0f %8.0f %8.0f %10s\n", runs[i].backend, runs[i].commit,
			       runs[i].lcores, l->w, l->n, l->p50_us, l->p99_us, l->mean_us, l->max_us, ratio);
		}
	printf("\nsession tokens: incr then get on one key, alternating, through node 0 (microseconds)\n");
	printf("%-8s %-9s %-6s %-20s %8s %8s %8s\n", "backend", "commit", "lcores", "operation", "p50", "p99", "mean");
	for (unsigned i = 0; i < nb; i++)
		for (unsigned k = 0; k < 4; k++)
			printf("%-8s %-9s %-6s %-20s %8.0f %8.0f %8.0f\n", runs[i].backend, runs[i].commit, runs[i].lcores,
			       runs[i].tok[k].what,
			       runs[i].tok[k].l.p50_us, runs[i].tok[k].l.p99_us, runs[i].tok[k].l.mean_us);
	printf("\nincrements per second, one client, 512 in flight, up to 138 per datagram, %u keys;\n"
	       "host ns per increment: the nodes' busy poll rounds (all nodes summed) over the increments,\n"
	       "and of that the offload engine's calls (on sim, the Verilated NIC: a real card's work)\n", target.keys);
	printf("%-8s %-9s %-6s %-4s %10s %8s %12s %10s %10s %10s %8s\n", "backend", "commit", "lcores", "W", "ops",
	       "seconds", "incr/s", "host ns", "engine ns", "host-eng", "busy");
	for (unsigned i = 0; i < nb; i++)
		for (unsigned k = 0; k < 3; k++) {
			const struct rate_row *r = &runs[i].rate[k];
			if (r->busy_ns >= 0)
				printf("%-8s %-9s %-6s %-4u %10" PRIu64 " %8.2f %12.0f %10.0f %10.0f %10.0f %7.0f%%\n",
				       runs[i].backend, runs[i].commit, runs[i].lcores, r->w, r->ops, r->secs, r->per_sec, r->busy_ns,
				       r->engine_ns, r->busy_ns - r->engine_ns, r->busy_share * 100);
			else
				printf("%-8s %-9s %-6s %-4u %10" PRIu64 " %8.2f %12.0f %10s %10s %10s %8s\n", runs[i].backend,
				       runs[i].commit, runs[i].lcores, r->w, r->ops, r->secs, r->per_sec, "-", "-", "-", "-");
		}
	printf("\nEvery write answered ok and every key summed to the acknowledged increments.\n");

	if (json != NULL) {
		FILE *f = fopen(json, "w");
		if (f == NULL) {
			fprintf(stderr, "tally-bench cluster: %s: %s\n", json, strerror(errno));
			return TALLY_BENCH_EXIT_FAIL;
		}
		fprintf(f, "{\"bench\":\"cluster\",\"cpu\":");
		tally_bench_json_str(f, cpu);
		fprintf(f, ",\"cluster\":");
		tally_bench_json_str(f, where);
		fprintf(f, ",\"keys\":%u", target.keys);
		if (disk->ok) {
			fprintf(f, ",\"fdatasync\":{\"p50_us\":");
			tally_bench_json_num(f, disk->p50_us);
			fprintf(f, ",\"p99_us\":");
			tally_bench_json_num(f, disk->p99_us);
			fprintf(f, "}");
		}
		fprintf(f, ",\"runs\":[");
		for (unsigned i = 0; i < nb; i++) {
			fprintf(f, "%s{\"backend\":\"%s\",\"commit\":\"%s\",\"lcores\":\"%s\",\"latency\":[", i ? "," : "",
				runs[i].backend, runs[i].commit, runs[i].lcores);
			for (unsigned k = 0; k < 3; k++) {
				const struct lat_row *l = &runs[i].lat[k];
				fprintf(f, "%s{\"w\":%u,\"n\":%u,\"p50_us\":", k ? "," : "", l->w, l->n);
				tally_bench_json_num(f, l->p50_us);
				fprintf(f, ",\"p99_us\":");
				tally_bench_json_num(f, l->p99_us);
				fprintf(f, ",\"mean_us\":");
				tally_bench_json_num(f, l->mean_us);
				if (disk->ok && disk->p50_us > 0) {
					fprintf(f, ",\"p50_vs_fdatasync\":");
					tally_bench_json_num(f, l->p50_us / disk->p50_us);
				}
				fprintf(f, "}");
			}
			fprintf(f, "],\"tokens\":[");
			for (unsigned k = 0; k < 4; k++) {
				fprintf(f, "%s{\"what\":", k ? "," : "");
				tally_bench_json_str(f, runs[i].tok[k].what);
				fprintf(f, ",\"p50_us\":");
				tally_bench_json_num(f, runs[i].tok[k].l.p50_us);
				fprintf(f, ",\"p99_us\":");
				tally_bench_json_num(f, runs[i].tok[k].l.p99_us);
				fprintf(f, "}");
			}
			fprintf(f, "],\"rate\":[");
			for (unsigned k = 0; k < 3; k++) {
				const struct rate_row *r = &runs[i].rate[k];
				fprintf(f, "%s{\"w\":%u,\"ops\":%" PRIu64 ",\"per_sec\":", k ? "," : "", r->w, r->ops);
				tally_bench_json_num(f, r->per_sec);
				if (r->busy_ns >= 0) {
					fprintf(f, ",\"host_ns_per_incr\":");
					tally_bench_json_num(f, r->busy_ns);
					fprintf(f, ",\"engine_ns_per_incr\":");
					tally_bench_json_num(f, r->engine_ns);
					fprintf(f, ",\"busy_round_share\":");
					tally_bench_json_num(f, r->busy_share);
				}
				fprintf(f, "}");
			}
			fprintf(f, "]}");
		}
		fprintf(f, "]}\n");
		fclose(f);
	}
	return TALLY_BENCH_EXIT_OK;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tally-bench cluster [--backend sim|cpu|both] [--commit sync|interval|both]\n"
		"                           [--lcores one|node|both] [--quick] [--requests N] [--json FILE]\n"
		"                           [--tallyd PATH]\n"
		"       tally-bench cluster --config FILE [--label NAME] [--quick] [--requests N] [--json FILE]\n"
		"\n"
		"Start tallyd's embedded cluster (3 nodes, n = 3) and measure it through\n"
		"libtallyclient over loopback: write latency p50/p99 at W = 1, 2, 3 (one\n"
		"increment at a time through node 0) beside the disk's own fdatasync p50,\n"
		"measured first in the same run; and increments per second with one client\n"
		"keeping 512 in flight, up to 138 per datagram, with the host's nanoseconds per\n"
		"increment (the nodes' busy poll rounds, read from their status pages).\n"
		"Each backend runs with each commit policy and lcore layout asked for, on a\n"
		"fresh cluster.\n"
		"Needs ports 7471..7492 free.\n"
		"\n"
		"  --backend B   sim (the Verilated NIC), cpu, or both (default)\n"
		"  --commit P    sync, interval (10 ms), or both (default)\n"
		"  --lcores L    one (default: one thread polls every node and the switch),\n"
		"                node (tallyd --lcore-per-node), or both\n"
		"  --quick       fewer operations (a smoke test)\n"
		"  --requests N  increments per rate run (default 100000; --quick: 5000)\n"
		"  --keys K      the rate runs spread their increments over K keys (default\n"
		"                1000; fewer keys are hotter, and more of their updates coalesce)\n"
		"  --json FILE   write the figures as JSON\n"
		"  --tallyd PATH the tallyd to start (default: the one built beside tally-bench)\n"
		"  --config FILE measure the running cluster of this configuration instead\n"
		"                (its key and members; clients go to node 0), e.g. the namespace\n"
		"                cluster of bench/netns_cluster.py\n"
		"  --label NAME  its name in the tables and the JSON (default: config)\n");
}

int
tally_bench_cluster_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' }, { "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },    { "tallyd", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' },  { "label", required_argument, NULL, 'l' },
		{ "commit", required_argument, NULL, 'm' },  { "requests", required_argument, NULL, 'r' },
		{ "lcores", required_argument, NULL, 'L' },  { "keys", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	const char *backend = "both", *commit = "both", *lcores = "one", *json = NULL, *config = NULL, *label = "config";
	uint64_t requests = 0;
	char tallyd[PATH_MAX] = "";
	bool quick = false;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			backend = optarg;
			break;
		case 'q':
			quick = true;
			break;
		case 'j':
			json = optarg;
			break;
		case 't':
			snprintf(tallyd, sizeof(tallyd), "%s", optarg);
			break;
		case 'c':
			config = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'm':
			commit = optarg;
			break;
		case 'L':
			lcores = optarg;
			break;
		case 'k': {
			uint64_t k;
			if (tally_bench_opt_u64("cluster", "keys", optarg, 1, 100000, &k) != 0)
				return TALLY_BENCH_EXIT_USAGE;
			target.keys = (unsigned)k;
			break;
		}
		case 'r':
			if (tally_bench_opt_u64("cluster", "requests", optarg, 1000, 100000000, &requests) != 0)
				return TALLY_BENCH_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return TALLY_BENCH_EXIT_OK;
		default:
			usage(stderr);
			return TALLY_BENCH_EXIT_USAGE;
		}
	}
	if (strcmp(backend, "sim") != 0 && strcmp(backend, "cpu") != 0 && strcmp(backend, "both") != 0) {
		fprintf(stderr, "tally-bench cluster: --backend: want sim, cpu or both, not '%s'\n", backend);
		return TALLY_BENCH_EXIT_USAGE;
	}
	if (strcmp(lcores, "one") != 0 && strcmp(lcores, "node") != 0 && strcmp(lcores, "both") != 0) {
		fprintf(stderr, "tally-bench cluster: --lcores: want one, node or both, not '%s'\n", lcores);
		return TALLY_BENCH_EXIT_USAGE;
	}
	if (strcmp(commit, "sync") != 0 && strcmp(commit, "interval") != 0 && strcmp(commit, "both") != 0) {
		fprintf(stderr, "tally-bench cluster: --commit: want sync, interval or both, not '%s'\n", commit);
		return TALLY_BENCH_EXIT_USAGE;
	}
	snprintf(target.prefix, sizeof(target.prefix), "b%x-", (unsigned)getpid());
	if (config != NULL) {
		/* A running cluster: its node 0 coordinates, as the embedded one's does. */
		struct tally_config cfg;
		char err[256];
		tally_config_defaults(&cfg);
		if (tally_config_load(&cfg, config, err, sizeof(err)) != 0) {
			fprintf(stderr, "tally-bench cluster: %s\n", err);
			return TALLY_BENCH_EXIT_USAGE;
		}
		struct in_addr a = { htonl(cfg.members[0].ip) };
		inet_ntop(AF_INET, &a, target.host, sizeof(target.host));
		target.port = cfg.client_port;
		memcpy(target.key, cfg.key, 32);
		target.nadmin = 0;
		for (unsigned i = 0; i < TALLY_MAX_NODES && target.nadmin < BENCH_NODES; i++) {
			if (!cfg.members[i].present)
				continue;
			struct in_addr m = { htonl(cfg.admin_bind_set ? cfg.admin_ip : cfg.members[i].ip) };
			inet_ntop(AF_INET, &m, target.admin_host[target.nadmin], sizeof(target.admin_host[0]));
			target.admin_port[target.nadmin++] = cfg.admin_port;
		}
		unsigned nlat = quick ? 200 : 2000;
		uint64_t nrate = requests ? requests : quick ? 5000 : 100000;
		struct run r;
		struct disk disk;
		fprintf(stderr, "tally-bench cluster: the cluster of %s (%u members, n = %u), through node 0 at %s:%u\n",
			config, cfg.nmembers, cfg.n, target.host, target.port);
		measure_disk(parent_dir(cfg.data_dir), quick, &disk);
		if (run_backend(NULL, label, cfg.commit_interval_ms ? "interval" : "sync", NULL, nlat, nrate, &r) != 0)
			return TALLY_BENCH_EXIT_FAIL;
		char where[512];
		snprintf(where, sizeof(where), "the cluster of %.200s (%u members, n = %u), client to node 0 at %s:%u",
			 config, cfg.nmembers, cfg.n, target.host, target.port);
		return report(&r, 1, where, &disk, json);
	}
	if (tallyd[0] == '\0' && tally_bench_tallyd_path(tallyd, sizeof(tallyd)) != 0)
		return TALLY_BENCH_EXIT_FAIL;
	if (access(tallyd, X_OK) != 0) {
		fprintf(stderr, "tally-bench cluster: %s: %s (build it, or give --tallyd)\n", tallyd, strerror(errno));
		return TALLY_BENCH_EXIT_FAIL;
	}
	signal(SIGPIPE, SIG_IGN);

	const char *list[2];
	unsigned nb = 0;
	if (strcmp(backend, "cpu") != 0)
		list[nb++] = "sim";
	if (strcmp(backend, "sim") != 0)
		list[nb++] = "cpu";
	const char *commits[2];
	unsigned nc = 0;
	if (strcmp(commit, "interval") != 0)
		commits[nc++] = "sync";
	if (strcmp(commit, "sync") != 0)
		commits[nc++] = "interval";
	unsigned nlat = quick ? 200 : 2000;
	uint64_t nrate = requests ? requests : quick ? 5000 : 100000;
	const char *threads[2];
	unsigned nt = 0;
	if (strcmp(lcores, "node") != 0)
		threads[nt++] = "one";
	if (strcmp(lcores, "one") != 0)
		threads[nt++] = "node";
	struct run runs[8];
	struct disk disk;
	measure_disk("/tmp", quick, &disk); /* where the embedded cluster keeps its logs */
	unsigned nr = 0;
	for (unsigned i = 0; i < nb; i++)
		for (unsigned k = 0; k < nc; k++)
			for (unsigned t = 0; t < nt; t++)
				if (run_backend(tallyd, list[i], commits[k], threads[t], nlat, nrate, &runs[nr++]) != 0)
					return TALLY_BENCH_EXIT_FAIL;

	return report(runs, nr,
		      "embedded cluster of 3 nodes (n = 3) in one tallyd (lcores one: one thread polls all three and "
		      "the switch; node: each node on an lcore of its own); client over UDP loopback",
		      &disk, json);
}
