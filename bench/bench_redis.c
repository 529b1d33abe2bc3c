/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-bench redis: what users pick today for a counter, measured in the
 * same run as tally. Debian's redis-server (one thread, pinned to CPU 0, no
 * persistence) and redis-benchmark -t incr (pinned to CPU 1), 50 clients
 * without and with pipelining; then tally's embedded cluster (its one
 * thread on CPU 0, the cpu backend) and tally's load generator (pinned to
 * CPU 1) doing the same number of increments at W = 1, first with 50 in
 * flight one per datagram, then 512 in flight up to 138 per datagram, under each
 * commit policy (sync, and interval 10 ms). Both sides
 * are checked: redis's counter must read the number of requests after each
 * run, and tally's keys must sum to the acknowledged increments.
 *
 * What is compared, and where it is unfair, is in docs/performance.md.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "client.h"

struct row {
	const char *system, *mode, *acks;
	double per_sec;
	double vs, vs_aof; /* tally rows: over redis in memory, and with AOF always, same load */
	const char *commit; /* tally rows: the commit policy */
	unsigned n;        /* tally rows: replicas of each key (W is 1) */
};
#define NROWS 12

/* Run @p argv with stdout captured into @p out (NUL-terminated). @return its exit status or -1. */
static int
capture(char *const argv[], char *out, size_t cap)
{
	int fd[2];

	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2); /* its complaints are part of what we read */
		close(fd[0]);
		close(fd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	/* Keep the tail: redis-benchmark writes progress lines (ending in \r)
	 * before its answer, more than fit. */
	size_t n = 0;
	ssize_t k;
	while ((k = read(fd[0], out + n, cap - 1 - n)) > 0) {
		n += (size_t)k;
		if (n == cap - 1) {
			memmove(out, out + n / 2, n - n / 2);
			n -= n / 2;
		}
	}
	out[n] = '\0';
	close(fd[0]);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool
have(const char *prog)
{
	char *argv[] = { "sh", "-c", NULL, NULL };
	char cmd[128], out[16];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null", prog);
	argv[2] = cmd;
	return capture(argv, out, sizeof(out)) == 0;
}

static bool
port_free(uint16_t port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	bool ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

static int
redis_cli(uint16_t port, const char *a1, const char *a2, char *out, size_t cap)
{
	char p[8];
	snprintf(p, sizeof(p), "%u", port);
	char *argv[] = { "redis-cli", "-p", p, (char *)a1, (char *)a2, NULL };
	return capture(argv, out, cap);
}

/* redis-benchmark -t incr: requests per second, and the counter must then read @p n more. */
static int
redis_run(uint16_t port, uint64_t n, unsigned pipeline, double *per_sec)
{
	char p[8], ns[24], ps[8], out[16384], before[64], after[64];

	snprintf(p, sizeof(p), "%u", port);
	snprintf(ns, sizeof(ns), "%" PRIu64, n);
	snprintf(ps, sizeof(ps), "%u", pipeline);
	if (redis_cli(port, "GET", "counter:__rand_int__", before, sizeof(before)) != 0)
		return -1;
	char *argv[] = { "taskset", "-c", "1", "redis-benchmark", "-p", p, "-t", "incr", "-n", ns, "-c", "50",
			 "-P", ps, "-q", NULL };
	if (capture(argv, out, sizeof(out)) != 0) {
		fprintf(stderr, "tally-bench redis: redis-benchmark failed: %s\n", out);
		return -1;
	}
	/* "INCR: 61728.39 requests per second, p50=0.407 msec" (after progress lines ending in \r) */
	char *at = strstr(out, "INCR: ");
	char *last = at;
	while (at != NULL) {
		last = at;
		at = strstr(at + 1, "INCR: ");
	}
	if (last == NULL || sscanf(last, "INCR: %lf requests per second", per_sec) != 1) {
		fprintf(stderr, "tally-bench redis: cannot read redis-benchmark's answer: %s\n", out);
		return -1;
	}
	if (redis_cli(port, "GET", "counter:__rand_int__", after, sizeof(after)) != 0)
		return -1;
	if (strtoull(after, NULL, 10) - strtoull(before, NULL, 10) != n) {
		fprintf(stderr, "tally-bench redis: the counter went from %s to %s, not by %" PRIu64 "\n", before, after, n);
		return -1;
	}
	return 0;
}

/* redis-server on CPU 0; with @p aof_dir, every write fsynced to its AOF there. */
static pid_t
start_redis(uint16_t port, const char *aof_dir)
{
	pid_t pid = fork();

	if (pid == 0) {
		char p[8];
		snprintf(p, sizeof(p), "%u", port);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 1);
		if (aof_dir != NULL)
			execlp("taskset", "taskset", "-c", "0", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save",
			       "", "--appendonly", "yes", "--appendfsync", "always", "--dir", aof_dir, "--daemonize", "no",
			       (char *)NULL);
		else
			execlp("taskset", "taskset", "-c", "0", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save",
			       "", "--appendonly", "no", "--daemonize", "no", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static bool
wait_redis(uint16_t port)
{
	char out[256];

	for (int i = 0; i < 100; i++) {
		if (redis_cli(port, "PING", NULL, out, sizeof(out)) == 0 && strncmp(out, "PONG", 4) == 0)
			return true;
		usleep(50000);
	}
	return false;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tally-bench redis [--quick] [--requests N] [--json FILE] [--tallyd PATH]\n"
		"\n"
		"Debian's redis-server (pinned to CPU 0), in memory (--save '' --appendonly\n"
		"no) and then fsyncing every write (--appendonly yes --appendfsync always),\n"
		"with redis-benchmark -t incr (pinned to CPU 1, 50 clients) without and with\n"
		"pipelining (-P 16); then tally's embedded cluster (cpu backend, its thread on\n"
		"CPU 0; three nodes with n = 3, and two nodes with n = 1, one copy of each\n"
		"key) and tally's load generator (CPU 1) doing the same number of increments\n"
		"at W = 1: 50 in flight, one per datagram; then 512 in flight, up to 138\n"
		"per datagram; each with commit = sync (an ack after the log's fdatasync) and\n"
		"commit = interval 10 (an ack after the write is applied, the log synced\n"
		"every 10 ms). Prints increments per second and tally's ratio to redis in\n"
		"each mode. Both sides' counts are checked. Needs redis-server and\n"
		"redis-tools (scripts/ installs them) and ports 6390 and 7471..7492 free.\n"
		"docs/performance.md says what is compared and where it is unfair.\n"
		"\n"
		"  --requests N  increments per run (default 500000; --quick: 20000)\n"
		"  --json FILE   write the figures as JSON\n"
		"  --tallyd PATH the tallyd to start (default: the one built beside tally-bench)\n");
}

int
tally_bench_redis_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },  { "requests", required_argument, NULL, 'n' },
		{ "json", required_argument, NULL, 'j' }, { "tallyd", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },   { NULL, 0, NULL, 0 },
	};
	const char *json = NULL;
	char tallyd[PATH_MAX] = "";
	uint64_t n = 0;
	bool quick = false;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'q': quick = true; break;
		case 'n':
			if (tally_bench_parse_u64(optarg, 1000, 100000000, &n) != 0) {
				fprintf(stderr, "tally-bench redis: --requests: want 1000..100000000, not '%s'\n", optarg);
				return TALLY_BENCH_EXIT_USAGE;
			}
			break;
		case 'j': json = optarg; break;
		case 't': snprintf(tallyd, sizeof(tallyd), "%s", optarg); break;
		case 'h': usage(stdout); return TALLY_BENCH_EXIT_OK;
		default: usage(stderr); return TALLY_BENCH_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return TALLY_BENCH_EXIT_USAGE;
	}
	if (n == 0)
		n = quick ? 20000 : 500000;
	if (tallyd[0] == '\0' && tally_bench_tallyd_path(tallyd, sizeof(tallyd)) != 0)
		return TALLY_BENCH_EXIT_FAIL;
	if (!have("redis-server") || !have("redis-benchmark") || !have("redis-cli") || !have("taskset")) {
		fprintf(stderr, "tally-bench redis: needs redis-server, redis-benchmark and redis-cli "
				"(apt-get install redis-server redis-tools; scripts/test installs them)\n");
		return TALLY_BENCH_EXIT_FAIL;
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "tally-bench redis: needs 2 CPUs (server on one, load generator on the other)\n");
		return TALLY_BENCH_EXIT_FAIL;
	}
	const uint16_t port = 6390;
	if (!port_free(port)) {
		fprintf(stderr, "tally-bench redis: port %u is taken\n", port);
		return TALLY_BENCH_EXIT_FAIL;
	}
	signal(SIGPIPE, SIG_IGN);

	char version[256] = "redis-server";
	{
		char *vargv[] = { "redis-server", "--version", NULL };
		if (capture(vargv, version, sizeof(version)) == 0)
			version[strcspn(version, "\n")] = '\0';
	}
	/* Rows: per load, redis in memory, redis with every write fsynced to its
	 * append-only file before the answer (the durability of tally's W = 1),
	 * tally at W = 1. */
	/* Rows 0..7 as they always were (tally-bench all reads them by place);
	 * 8..11 tally under commit = interval 10, for the same two loads. */
	struct row rows[NROWS] = {
		{ "redis", "50 clients, 1 in flight each", "in memory, no persistence", 0, 0, 0, NULL, 0 },
		{ "redis", "50 clients, 1 in flight each", "AOF, appendfsync always", 0, 0, 0, NULL, 0 },
		{ "tally", "50 in flight, 1 per datagram", "W=1 of n=3: origin's log", 0, 0, 0, "sync", 3 },
		{ "tally", "50 in flight, 1 per datagram", "n=1: the one copy's log", 0, 0, 0, "sync", 1 },
		{ "redis", "50 clients, pipelined 16 (-P 16)", "in memory, no persistence", 0, 0, 0, NULL, 0 },
		{ "redis", "50 clients, pipelined 16 (-P 16)", "AOF, appendfsync always", 0, 0, 0, NULL, 0 },
		{ "tally", "512 in flight, 138 a datagram", "W=1 of n=3: origin's log", 0, 0, 0, "sync", 3 },
		{ "tally", "512 in flight, 138 a datagram", "n=1: the one copy's log", 0, 0, 0, "sync", 1 },
		{ "tally", "50 in flight, 1 per datagram", "W=1 of n=3, interval 10 ms", 0, 0, 0, "interval=10", 3 },
		{ "tally", "50 in flight, 1 per datagram", "n=1, interval 10 ms", 0, 0, 0, "interval=10", 1 },
		{ "tally", "512 in flight, 138 a datagram", "W=1 of n=3, interval 10 ms", 0, 0, 0, "interval=10", 3 },
		{ "tally", "512 in flight, 138 a datagram", "n=1, interval 10 ms", 0, 0, 0, "interval=10", 1 },
	};
	char aof_dir[] = "/tmp/tally-bench-redis.XXXXXX";
	if (mkdtemp(aof_dir) == NULL) {
		fprintf(stderr, "tally-bench redis: mkdtemp: %s\n", strerror(errno));
		return TALLY_BENCH_EXIT_FAIL;
	}
	int rc = 0;
	for (unsigned aof = 0; aof < 2 && rc == 0; aof++) {
		fprintf(stderr, "tally-bench redis: starting %s on CPU 0, port %u, %s\n", version, port,
			aof ? "appendonly yes, appendfsync always" : "no persistence");
		pid_t rs = start_redis(port, aof ? aof_dir : NULL);
		if (rs < 0 || !wait_redis(port)) {
			fprintf(stderr, "tally-bench redis: redis-server did not answer PING\n");
			rc = -1;
		}
		for (unsigned m = 0; m < 2 && rc == 0; m++) {
			unsigned pipeline = m ? 16 : 1;
			fprintf(stderr, "tally-bench redis: redis-benchmark -t incr -n %" PRIu64 " -c 50 -P %u (CPU 1)\n", n,
				pipeline);
			rc = redis_run(port, n, pipeline, &rows[4 * m + aof].per_sec);
		}
		if (rs > 0) {
			kill(rs, SIGTERM);
			waitpid(rs, NULL, 0);
		}
	}
	char rm[64];
	snprintf(rm, sizeof(rm), "rm -rf %s", aof_dir);
	(void)system(rm);
	if (rc != 0)
		return TALLY_BENCH_EXIT_FAIL;

	/* tally's load generator on CPU 1; tallyd runs on lcore 0 (its default). */
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
	for (unsigned iv = 0; iv < 2; iv++)
		for (unsigned m = 0; m < 2; m++)
			for (unsigned one = 0; one < 2; one++) {
				struct row *r = &rows[iv ? 8 + 2 * m + one : 4 * m + 2 + one];
				fprintf(stderr, "tally-bench redis: tally (cpu backend, %s, commit %s), W=1: %" PRIu64
						" increments, %s\n",
					one ? "2 nodes, n = 1" : "3 nodes, n = 3", r->commit, n, r->mode);
				if (tally_bench_cluster_rate(tallyd, "cpu", one ? 1 : 3, iv ? r->commit : NULL, 1, n,
							     m ? TALLY_CLIENT_MAX_IN_FLIGHT : 50, m ? 0 : 1,
							     &r->per_sec) != 0)
					return TALLY_BENCH_EXIT_FAIL;
				r->vs = r->per_sec / rows[4 * m].per_sec;
				r->vs_aof = r->per_sec / rows[4 * m + 1].per_sec;
			}

	char cpu[128];
	tally_bench_cpu_model(cpu, sizeof(cpu));
	printf("tally-bench redis: %" PRIu64 " increments a run; %s; %s, %ld cores\n"
	       "redis-server on CPU 0, redis-benchmark on CPU 1; tallyd's embedded cluster (3 nodes,\n"
	       "n = 3; or 2 nodes, n = 1: one copy of each key) in one thread on CPU 0, tally's load\n"
	       "generator on CPU 1; all over loopback\n\n",
	       n, version, cpu, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-6s %-34s %-27s %10s %9s %9s\n", "system", "load", "acknowledged after", "incr/s", "/memory", "/AOF");
	for (unsigned i = 0; i < NROWS; i++) {
		char vs[16] = "", va[16] = "";
		if (rows[i].vs > 0) {
			snprintf(vs, sizeof(vs), "%.2fx", rows[i].vs);
			snprintf(va, sizeof(va), "%.2fx", rows[i].vs_aof);
		}
		printf("%-6s %-34s %-27s %10.0f %9s %9s\n", rows[i].system, rows[i].mode, rows[i].acks, rows[i].per_sec, vs,
		       va);
	}
	printf("\n/memory, /AOF: tally over redis in memory, and over redis fsyncing every write.\n"
	       "redis's counter read exactly the requests more after each run; every tally\n"
	       "increment was acknowledged and the keys summed to them.\n");

	if (json != NULL) {
		FILE *f = fopen(json, "w");
		if (f == NULL) {
			fprintf(stderr, "tally-bench redis: %s: %s\n", json, strerror(errno));
			return TALLY_BENCH_EXIT_FAIL;
		}
		fprintf(f, "{\"bench\":\"redis\",\"cpu\":");
		tally_bench_json_str(f, cpu);
		fprintf(f, ",\"redis\":");
		tally_bench_json_str(f, version);
		fprintf(f, ",\"requests\":%" PRIu64 ",\"rows\":[", n);
		for (unsigned i = 0; i < NROWS; i++) {
			fprintf(f, "%s{\"system\":", i ? "," : "");
			tally_bench_json_str(f, rows[i].system);
			fprintf(f, ",\"load\":");
			tally_bench_json_str(f, rows[i].mode);
			fprintf(f, ",\"acks\":");
			tally_bench_json_str(f, rows[i].acks);
			fprintf(f, ",\"per_sec\":");
			tally_bench_json_num(f, rows[i].per_sec);
			fprintf(f, ",\"vs_redis_memory\":");
			tally_bench_json_num(f, rows[i].vs > 0 ? rows[i].vs : NAN);
			fprintf(f, ",\"vs_redis_aof\":");
			tally_bench_json_num(f, rows[i].vs > 0 ? rows[i].vs_aof : NAN);
			if (rows[i].commit != NULL) {
				fprintf(f, ",\"commit\":");
				tally_bench_json_str(f, strncmp(rows[i].commit, "interval", 8) == 0 ? "interval" : "sync");
				fprintf(f, ",\"commit_interval_ms\":%u,\"n\":%u,\"w\":1",
					strncmp(rows[i].commit, "interval", 8) == 0 ? 10u : 0u, rows[i].n);
			}
			fprintf(f, "}");
		}
		fprintf(f, "]}\n");
		fclose(f);
	}
	return TALLY_BENCH_EXIT_OK;
}
