/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tally-bench all: every bench, one after the other, each in its own
 * process (the dataplane bench owns DPDK's EAL; cluster and redis start
 * servers), with a progress line; then one comparison table from their JSON,
 * all.json, and plots drawn by gnuplot into a results folder.
 *
 *   results/bench-YYYYMMDD-HHMMSS/
 *     NAME.json, NAME.txt   each bench's figures and its own table
 *     all.json              the comparison table's figures
 *     *.dat, plots.gp       the plots' data and the gnuplot script
 *     *.png                 the plots
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"

static const char *const benches[] = { "kernels", "rtl", "dataplane", "nic", "cluster", "netns", "redis" };
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

/* Run "tally-bench NAME [--quick] --json DIR/NAME.json" with its table in DIR/NAME.txt. */
static int
run_bench(const char *self, const char *dir, const char *name, bool quick, double *secs)
{
	char json[PATH_MAX], txt[PATH_MAX];
	uint64_t t0 = tally_bench_now_ns();

	snprintf(json, sizeof(json), "%s/%s.json", dir, name);
	snprintf(txt, sizeof(txt), "%s/%s.txt", dir, name);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		FILE *out = freopen(txt, "w", stdout);
		if (out == NULL)
			_exit(127);
		if (strcmp(name, "netns") == 0) {
			/* The cluster bench on three tallyd processes in network namespaces. */
			char script[PATH_MAX], build[PATH_MAX];
			snprintf(script, sizeof(script), "%s/bench/netns_cluster.py", TALLY_SOURCE_DIR);
			snprintf(build, sizeof(build), "%s", self);
			char *slash = strrchr(build, '/');
			if (slash != NULL)
				strcpy(slash, "/..");
			if (quick)
				execlp("python3", "python3", script, build, "--quick", "--json", json, (char *)NULL);
			else
				execlp("python3", "python3", script, build, "--json", json, (char *)NULL);
			_exit(127);
		}
		if (quick)
			execl(self, self, name, "--quick", "--json", json, (char *)NULL);
		else
			execl(self, self, name, "--json", json, (char *)NULL);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -errno;
	*secs = (double)(tally_bench_now_ns() - t0) / 1e9;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* A number at a path of object keys and array indexes ("rows", "0", "per_sec"), or NAN. */
static double
num(json_t *j, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k != NULL && j != NULL; k = strtok_r(NULL, ".", &save))
		j = json_is_array(j) ? json_array_get(j, strtoul(k, NULL, 10)) : json_object_get(j, k);
	return json_is_number(j) ? json_number_value(j) : NAN;
}

/* The first element of array @p a whose string field @p k is @p v (and @p k2 is @p v2, if given). */
static json_t *
find(json_t *a, const char *k, const char *v, const char *k2, const char *v2)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e) {
		const char *x = json_string_value(json_object_get(e, k));
		const char *y = k2 ? json_string_value(json_object_get(e, k2)) : NULL;
		if (x != NULL && strcmp(x, v) == 0 && (k2 == NULL || (y != NULL && strcmp(y, v2) == 0)))
			return e;
	}
	return NULL;
}

/* The kernels bench at @p width slots: configure and build tally-bench in
 * TALLY_SOURCE_DIR/build-width-W with max_nodes = W (once; later runs only
 * rebuild what changed), run "kernels", load its JSON. NULL on failure. */
static json_t *
kernels_at_width(const char *dir, unsigned width, bool quick)
{
	char bdir[PATH_MAX], json[PATH_MAX], log[PATH_MAX];
	static char cmd[16 * PATH_MAX];

	snprintf(bdir, sizeof(bdir), "%s/build-width-%u", TALLY_SOURCE_DIR, width);
	snprintf(json, sizeof(json), "%s/kernels-w%u.json", dir, width);
	snprintf(log, sizeof(log), "%s/kernels-w%u.txt", dir, width);
	(void)snprintf(cmd, sizeof(cmd),
		 "{ [ -f '%s/build.ninja' ] || meson setup '%s' '%s' -Dmax_nodes=%u; } >'%s' 2>&1 && "
		 "ninja -C '%s' bench/tally-bench >>'%s' 2>&1 && '%s/bench/tally-bench' kernels %s--json '%s' >>'%s'",
		 bdir, bdir, TALLY_SOURCE_DIR, width, log, bdir, log, bdir, quick ? "--quick " : "", json, log);
	if (system(cmd) != 0)
		return NULL;
	json_error_t je;
	return json_load_file(json, 0, &je);
}

/* Merges per second of the best non-scalar kernel (cache) of a kernels JSON; its name in *name. */
static double
best_simd(json_t *kern, const char **name)
{
	double best = NAN;
	size_t k;
	json_t *r;

	json_array_foreach(json_object_get(kern, "rows"), k, r) {
		const char *kn = json_string_value(json_object_get(r, "kernel"));
		const char *op = json_string_value(json_object_get(r, "op"));
		const char *res = json_string_value(json_object_get(r, "residency"));
		if (kn == NULL || op == NULL || res == NULL || strcmp(op, "merge") != 0 || strcmp(res, "cache") != 0 ||
		    strcmp(kn, "scalar") == 0)
			continue;
		if (isnan(best) || num(r, "ops_per_sec") > best) {
			best = num(r, "ops_per_sec");
			*name = kn;
		}
	}
	return best;
}

struct line {
	const char *what, *source;
	double value;
	const char *unit;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: tally-bench all [--quick] [--out DIR] [--skip NAME,...]\n"
		"\n"
		"Run every bench (kernels, rtl, dataplane, nic, cluster, netns, redis), each in\n"
		"its own process with its progress on stderr, then print one comparison table and\n"
		"write into DIR (default results/bench-DATE-TIME). netns is the cluster bench on\n"
		"three tallyd processes in network namespaces (bench/netns_cluster.py): it needs\n"
		"root, and without root it is reported as not run and the exit status is 1\n"
		"unless --skip netns says so.\n"
		"  NAME.json, NAME.txt   each bench's figures and its table\n"
		"  all.json              the comparison table\n"
		"  merge-width.png       merges per second against vector width (2, 4, 8, 16\n"
		"                        nodes): CPU scalar and best SIMD, the RTL kernel at\n"
		"                        322 MHz, and the 100GbE minimum-frame rate. Each width is\n"
		"                        measured: the kernels bench is built with max_nodes = W\n"
		"                        in build-width-W beside the source (a minute each, once);\n"
		"                        --skip widths scales this build's width instead\n"
		"  host-ns.png           host nanoseconds per replicated increment: cpu backend,\n"
		"                        an offload NIC's completions, the sim backend\n"
		"  cluster.png           increments per second and p50/p99 latency by W\n"
		"  redis.png             tally against redis-server, same increments\n"
		"  plots.gp, *.dat       the gnuplot script and its data\n"
		"Plots need gnuplot (scripts/ installs gnuplot-nox); without it, the rest is\n"
		"written and the command says so. A bench that fails is reported and the others\n"
		"still run; the exit status is then 1.\n"
		"\n"
		"  --quick       every bench in its quick mode (a smoke test; the width builds\n"
		"                still take about a minute each the first time)\n"
		"  --out DIR     the results folder\n"
		"  --skip LIST   benches not to run (e.g. redis,dataplane), and 'widths'\n");
}

static bool
skipped(const char *list, const char *name)
{
	if (list == NULL)
		return false;
	size_t n = strlen(name);
	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

static FILE *
open_in(const char *dir, const char *name)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		fprintf(stderr, "tally-bench all: %s: %s\n", path, strerror(errno));
	return f;
}

int
tally_bench_all_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' }, { "out", required_argument, NULL, 'o' },
		{ "skip", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quick = false;
	const char *skip = NULL;
	char dir[PATH_MAX] = "";
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'q': quick = true; break;
		case 'o': snprintf(dir, sizeof(dir), "%s", optarg); break;
		case 's': skip = optarg; break;
		case 'h': usage(stdout); return TALLY_BENCH_EXIT_OK;
		default: usage(stderr); return TALLY_BENCH_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return TALLY_BENCH_EXIT_USAGE;
	}
	for (const char *p = skip; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ",");
		bool known = false;
		for (size_t i = 0; i < NBENCH; i++)
			known |= strlen(benches[i]) == n && strncmp(p, benches[i], n) == 0;
		known |= n == 6 && strncmp(p, "widths", 6) == 0;
		if (!known) {
			fprintf(stderr, "tally-bench all: --skip: unknown bench '%.*s'\n", (int)n, p);
			return TALLY_BENCH_EXIT_USAGE;
		}
		p += n + (p[n] == ',');
	}
	if (dir[0] == '\0') {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(dir, sizeof(dir), "results/bench-%Y%m%d-%H%M%S", &tm);
	}
	char mk[PATH_MAX + 16];
	snprintf(mk, sizeof(mk), "%s", dir);
	for (char *p = mk + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			(void)mkdir(mk, 0755);
			*p = '/';
		}
	if (mkdir(mk, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "tally-bench all: %s: %s\n", dir, strerror(errno));
		return TALLY_BENCH_EXIT_FAIL;
	}
	char self[PATH_MAX];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return TALLY_BENCH_EXIT_FAIL;
	self[sl] = '\0';

	json_t *res[NBENCH] = { 0 };
	int failed = 0;
	uint64_t t_all = tally_bench_now_ns();
	for (size_t i = 0; i < NBENCH; i++) {
		if (skipped(skip, benches[i])) {
			fprintf(stderr, "tally-bench all: [%zu/%zu] %s: skipped (--skip)\n", i + 1, NBENCH, benches[i]);
			continue;
		}
		if (strcmp(benches[i], "netns") == 0 && geteuid() != 0) {
			fprintf(stderr, "tally-bench all: [%zu/%zu] netns: NOT RUN: the namespace cluster needs root "
					"(run as root, or --skip netns)\n", i + 1, NBENCH);
			failed++;
			continue;
		}
		fprintf(stderr, "tally-bench all: [%zu/%zu] %s%s (%.0f s so far)\n", i + 1, NBENCH, benches[i],
			quick ? " --quick" : "", (double)(tally_bench_now_ns() - t_all) / 1e9);
		double secs = 0;
		int rc = run_bench(self, dir, benches[i], quick, &secs);
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s.json", dir, benches[i]);
		json_error_t je;
		res[i] = rc == 0 ? json_load_file(path, 0, &je) : NULL;
		if (rc != 0 || res[i] == NULL) {
			fprintf(stderr, "tally-bench all: [%zu/%zu] %s FAILED (exit %d; its output: %s/%s.txt)\n", i + 1,
				NBENCH, benches[i], rc, dir, benches[i]);
			failed++;
		} else {
			fprintf(stderr, "tally-bench all: [%zu/%zu] %s done in %.1f s\n", i + 1, NBENCH, benches[i], secs);
		}
	}
	json_t *kern = res[0], *rtl = res[1], *dp = res[2], *nic = res[3], *clu = res[4], *ns = res[5], *red = res[6];
	json_t *clusters = json_array(); /* the runs of both cluster benches */
	json_array_extend(clusters, clu ? json_object_get(clu, "runs") : NULL);
	json_array_extend(clusters, ns ? json_object_get(ns, "runs") : NULL);

	/* ---- the comparison table ---- */
	struct line lines[128];
	unsigned nl = 0;
#define ADD(w, s, v, u) (nl < 128 ? (void)(lines[nl++] = (struct line){ (w), (s), (v), (u) }) : (void)0)
	double scalar = NAN, simd = NAN, rtl322 = NAN, line = TALLY_BENCH_100GBE_MIN_PPS;
	const char *simd_name = "simd";
	if (kern != NULL) {
		json_t *rows = json_object_get(kern, "rows");
		json_t *s = find(rows, "kernel", "scalar", "residency", "cache");
		scalar = s ? num(s, "ops_per_sec") : NAN;
		simd = best_simd(kern, &simd_name);
		ADD("merge, 8 slots, cache: CPU scalar", "kernels", scalar, "merges/s");
		ADD("merge, 8 slots, cache: CPU best SIMD", "kernels", simd, "merges/s");
		json_t *d = find(rows, "kernel", simd_name, "residency", "dram");
		ADD("merge, 8 slots, DRAM: CPU best SIMD", "kernels", d ? num(d, "gbytes_per_sec") : NAN, "GB/s");
		json_t *m = find(rows, "kernel", "memcpy", "residency", "dram");
		ADD("memcpy, DRAM (the bound)", "kernels", m ? num(m, "gbytes_per_sec") : NAN, "GB/s");
	}
	if (rtl != NULL) {
		json_t *g = find(json_object_get(rtl, "kernels"), "kernel", "gcounter_merge", NULL, NULL);
		double mpc = g ? num(g, "merges_per_cycle") : NAN;
		rtl322 = mpc * 322e6;
		ADD("merge, RTL gcounter_merge: merges per clock", "rtl", mpc, "merges/clock");
		ADD("merge, RTL at 322 MHz", "rtl", rtl322, "merges/s");
	}
	ADD("100GbE minimum-size frames", "line rate", line, "frames/s");
	if (dp != NULL) {
		json_t *h = NULL;
		size_t k;
		json_t *r;
		json_array_foreach(json_object_get(dp, "rows"), k, r)
			if (json_is_true(json_object_get(r, "headline")))
				h = r;
		ADD("dataplane: records merged, one core (cpu)", "dataplane", h ? num(h, "records_per_sec") : NAN,
		    "records/s");
	}
	double ns_cpu = NAN, ns_nic = NAN, ns_sim = NAN;
	if (nic != NULL) {
		json_t *rows = json_object_get(json_object_get(nic, "host"), "rows");
		json_t *a = find(rows, "row", "cpu backend", NULL, NULL), *b = find(rows, "row", "offload: completions", NULL, NULL),
		       *c = find(rows, "row", "sim backend", NULL, NULL);
		ns_cpu = a ? num(a, "ns_per_record") : NAN;
		ns_nic = b ? num(b, "ns_per_record") : NAN;
		ns_sim = c ? num(c, "ns_per_record") : NAN;
		ADD("host ns per replicated increment: cpu backend", "nic", ns_cpu, "ns");
		ADD("host ns per replicated increment: offload NIC", "nic", ns_nic, "ns");
		ADD("host ns per replicated increment: sim backend", "nic", ns_sim, "ns (Verilator)");
		json_t *s = find(json_object_get(nic, "shapes"), "shape", "1500 MTU", NULL, NULL);
		ADD("NIC pipeline, 1500 MTU frames: records per clock", "nic", s ? num(s, "records_per_clock_rx") : NAN,
		    "records/clock");
	}
	{
		size_t k;
		json_t *r;
		json_array_foreach(clusters, k, r) {
			const char *b = json_string_value(json_object_get(r, "backend"));
			const char *c = json_string_value(json_object_get(r, "commit"));
			static char names[8][8][80];
			unsigned bi = k < 8 ? (unsigned)k : 7;
			for (unsigned w = 0; w < 3; w++) {
				snprintf(names[bi][w], 80, "cluster (%s, %s): write p50 at W=%u", b, c ? c : "sync", w + 1);
				ADD(names[bi][w], "cluster", num(r, w == 0 ? "latency.0.p50_us" : w == 1 ? "latency.1.p50_us" : "latency.2.p50_us"), "us");
			}
			for (unsigned w = 0; w < 3; w++) {
				char path[32];
				snprintf(path, sizeof(path), "rate.%u.per_sec", w);
				snprintf(names[bi][3 + w], 80, "cluster (%s, %s): increments/s at W=%u", b, c ? c : "sync", w + 1);
				ADD(names[bi][3 + w], "cluster", num(r, path), "incr/s");
			}
			snprintf(names[bi][6], 80, "cluster (%s, %s): host ns per increment at W=1", b, c ? c : "sync");
			ADD(names[bi][6], "cluster", num(r, "rate.0.host_ns_per_incr"), "ns");
		}
	}
	if (red != NULL) {
		json_t *rows = json_object_get(red, "rows");
		static const char *const what[8] = {
			"redis INCR, 50 clients, in memory", "redis INCR, 50 clients, AOF fsync always",
			"tally W=1 (n=3), 50 in flight", "tally (n=1, one copy), 50 in flight",
			"redis INCR, 50 clients -P 16, in memory", "redis INCR, 50 clients -P 16, AOF always",
			"tally W=1 (n=3), 512 in flight, up to 138 a datagram", "tally (n=1), 512 in flight, up to 138 a datagram",
		};
		for (unsigned i = 0; i < 8; i++) {
			char p[32];
			snprintf(p, sizeof(p), "%u.per_sec", i);
			ADD(what[i], "redis", num(rows, p), "incr/s");
			if (i % 4 >= 2) {
				static char vs[8][48];
				snprintf(p, sizeof(p), "%u.vs_redis_aof", i);
				snprintf(vs[i], sizeof(vs[i]), "  that / redis with AOF fsync always");
				ADD(vs[i], "redis", num(rows, p), "x");
			}
		}
	}

	char cpu[128];
	tally_bench_cpu_model(cpu, sizeof(cpu));
	printf("tally-bench all%s: %s, %ld cores; results in %s\n\n", quick ? " --quick (smoke test: figures are rough)" : "",
	       cpu, sysconf(_SC_NPROCESSORS_ONLN), dir);
	printf("%-52s %-10s %16s  %s\n", "figure", "bench", "value", "unit");
	for (unsigned i = 0; i < nl; i++)
		printf("%-56s %-10s %16.4g  %s\n", lines[i].what, lines[i].source, lines[i].value, lines[i].unit);

	FILE *f = open_in(dir, "all.json");
	if (f != NULL) {
		fprintf(f, "{\"bench\":\"all\",\"quick\":%s,\"cpu\":", quick ? "true" : "false");
		tally_bench_json_str(f, cpu);
		fprintf(f, ",\"figures\":[");
		for (unsigned i = 0; i < nl; i++) {
			fprintf(f, "%s{\"what\":", i ? "," : "");
			tally_bench_json_str(f, lines[i].what);
			fprintf(f, ",\"bench\":");
			tally_bench_json_str(f, lines[i].source);
			fprintf(f, ",\"value\":");
			tally_bench_json_num(f, lines[i].value);
			fprintf(f, ",\"unit\":");
			tally_bench_json_str(f, lines[i].unit);
			fprintf(f, "}");
		}
		fprintf(f, "]}\n");
		fclose(f);
	}

	/* ---- plot data and the gnuplot script ---- */
	/* Merge throughput against vector width: the kernels bench built at
	 * each width (max_nodes), CPU kernels and the RTL kernel's merges per
	 * clock both measured there (in --quick, with the kernels bench's
	 * --quick). With --skip widths the build's own width is scaled by slot
	 * count instead, and the plot says which. */
	static const unsigned widths[] = { 2, 4, 8, 16 };
	bool measured = kern != NULL && !skipped(skip, "widths");
	f = open_in(dir, "merge-width.dat");
	if (f != NULL && kern != NULL) {
		fprintf(f, "# nodes cpu_scalar cpu_best_simd rtl_322mhz line_100gbe_min_frames (merges/s); %s\n",
			measured ? "measured at each width" : "measured at the build's width, scaled by slots");
		for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
			unsigned w = widths[i];
			double sc = scalar * TALLY_MAX_NODES / w, si = simd * TALLY_MAX_NODES / w, rt = rtl322;
			if (measured) {
				json_t *kw = w == TALLY_MAX_NODES ? json_incref(kern) : NULL;
				if (kw == NULL) {
					fprintf(stderr, "tally-bench all: widths: building and running the kernels bench at %u slots\n",
						w);
					kw = kernels_at_width(dir, w, quick);
				}
				if (kw == NULL) {
					fprintf(stderr, "tally-bench all: widths: %u slots FAILED (see %s/kernels-w%u.txt)\n", w,
						dir, w);
					failed++;
					sc = si = rt = NAN;
				} else {
					const char *nm = "";
					json_t *sr = find(json_object_get(kw, "rows"), "kernel", "scalar", "residency", "cache");
					sc = sr ? num(sr, "ops_per_sec") : NAN;
					si = best_simd(kw, &nm);
					rt = num(kw, "rtl.merges_per_cycle") * 322e6;
					json_decref(kw);
				}
			}
			fprintf(f, "%u %g %g %g %g\n", w, sc, si, rt, line);
		}
	}
	if (f != NULL)
		fclose(f);
	f = open_in(dir, "host-ns.dat");
	if (f != NULL) {
		fprintf(f, "# path ns_per_replicated_increment\n\"cpu backend\" %g\n\"offload NIC (completions)\" %g\n"
			   "\"sim backend (Verilator)\" %g\n", ns_cpu, ns_nic, ns_sim);
		fclose(f);
	}
	f = open_in(dir, "cluster.dat");
	if (f != NULL) {
		fprintf(f, "# backend W incr_per_sec p50_us p99_us\n");
		size_t k;
		json_t *r;
		json_array_foreach(clusters, k, r)
			for (unsigned w = 0; w < 3; w++) {
				char a[32], b[32], c[32];
				snprintf(a, sizeof(a), "rate.%u.per_sec", w);
				snprintf(b, sizeof(b), "latency.%u.p50_us", w);
				snprintf(c, sizeof(c), "latency.%u.p99_us", w);
				const char *cm = json_string_value(json_object_get(r, "commit"));
				fprintf(f, "\"%s %s W=%u\" %g %g %g\n", json_string_value(json_object_get(r, "backend")),
					cm != NULL && strcmp(cm, "interval") == 0 ? "intv" : "sync", w + 1, num(r, a), num(r, b),
					num(r, c));
			}
		fclose(f);
	}

	f = open_in(dir, "redis.dat");
	if (f != NULL) {
		fprintf(f, "# load redis_memory redis_aof_always tally_n3_w1 tally_n1 (increments/s)\n");
		if (red != NULL) {
			json_t *rows = json_object_get(red, "rows");
			fprintf(f, "\"50 in flight\" %g %g %g %g\n\"pipelined (-P 16) / batched (up to 138)\" %g %g %g %g\n",
				num(rows, "0.per_sec"), num(rows, "1.per_sec"), num(rows, "2.per_sec"), num(rows, "3.per_sec"),
				num(rows, "4.per_sec"), num(rows, "5.per_sec"), num(rows, "6.per_sec"), num(rows, "7.per_sec"));
		}
		fclose(f);
	}
	/* Each plot only when its bench ran. */
	f = open_in(dir, "plots.gp");
	if (f != NULL) {
		fprintf(f, "# gnuplot plots.gp (in this folder): the plots of tally-bench all\n"
			   "set terminal pngcairo size 1000,600 font 'sans,12' background '#ffffff'\n"
			   "set grid\n");
		if (kern != NULL)
			fprintf(f,
				"set output 'merge-width.png'\nset key outside bottom center horizontal\n"
				"set title 'G-Counter merge throughput against vector width (%s)'\n"
				"set xlabel 'nodes (slots per vector)'\nset ylabel 'merges per second'\n"
				"set logscale y\nset logscale x 2\nset format y '%%.0e'\nset xrange [2:16]\nset xtics (2, 4, 8, 16)\n"
				"plot 'merge-width.dat' u 1:2 w lp lw 2 t 'CPU scalar (1 core)', "
				"'' u 1:3 w lp lw 2 t 'CPU best SIMD, %s (1 core)', "
				"%s'' u 1:5 w l lw 2 dt 2 lc rgb '#cc0000' t '100GbE minimum-size frames'\n"
				"unset logscale y\nunset logscale x\nset format y '%%g'\nunset xrange\nset xtics auto\nset xlabel ''\n",
				cpu, measured ? "each width measured" : "scaled by slots from the width of this build",
				measured ? "'' u 1:4 w lp lw 2 t 'RTL gcounter\\_merge at 322 MHz (merges/clock measured)', "
				: rtl != NULL ? "'' u 1:4 w lp lw 2 t 'RTL at 322 MHz (one merge per clock)', " : "");
		fprintf(f, "set style data histograms\nset style fill solid 0.8 border -1\nset boxwidth 0.8\n");
		if (nic != NULL)
			fprintf(f, "set output 'host-ns.png'\nset key off\n"
				   "set title 'Host CPU time per replicated increment'\n"
				   "set ylabel 'nanoseconds (log scale)'\nset logscale y\n"
				   "plot 'host-ns.dat' u 2:xtic(1) t ''\nunset logscale y\n");
		if (json_array_size(clusters) > 0)
			fprintf(f, "set output 'cluster.png'\nset key outside bottom center horizontal\n"
				   "set title 'Write latency by W: embedded cluster (one thread) and namespace cluster (3 processes)'\n"
				   "set ylabel 'microseconds'\nset yrange [0:*]\n"
				   "plot 'cluster.dat' u 3:xtic(1) t 'p50', '' u 4 t 'p99'\n"
				   "set output 'cluster-rate.png'\nset key off\n"
				   "set title 'Increments per second, one client, 512 in flight, up to 138 per datagram'\n"
				   "set ylabel 'increments per second'\n"
				   "plot 'cluster.dat' u 2:xtic(1) t ''\nset autoscale y\n");
		if (red != NULL)
			fprintf(f, "set output 'redis.png'\nset key outside bottom center horizontal\n"
				   "set title 'Increments per second: redis-server against tally (W = 1)'\n"
				   "set ylabel 'increments per second (log scale)'\nset logscale y\n"
				   "plot 'redis.dat' u 2:xtic(1) t 'redis-server INCR, in memory', "
				   "'' u 3 t 'redis-server INCR, AOF fsync always', '' u 4 t 'tally, W = 1 of n = 3 (logged)', "
				   "'' u 5 t 'tally, n = 1 (one copy, logged)'\n");
		fclose(f);
	}
	int prc = system("command -v gnuplot >/dev/null 2>&1");
	if (prc != 0) {
		fprintf(stderr, "tally-bench all: no gnuplot: plots not drawn (apt-get install gnuplot-nox; then "
				"cd %s && gnuplot plots.gp)\n", dir);
		failed++;
	} else {
		char cmd[PATH_MAX + 64];
		snprintf(cmd, sizeof(cmd), "cd '%s' && gnuplot plots.gp", dir);
		if (system(cmd) != 0) {
			fprintf(stderr, "tally-bench all: gnuplot failed on %s/plots.gp\n", dir);
			failed++;
		} else {
			printf("\nplots (of the benches that ran): %s/merge-width.png, host-ns.png, cluster.png,\n"
			       "cluster-rate.png, redis.png\n", dir);
		}
	}
	json_decref(clusters);
	for (size_t i = 0; i < NBENCH; i++)
		json_decref(res[i]);
	if (failed)
		fprintf(stderr, "tally-bench all: %d step%s failed\n", failed, failed == 1 ? "" : "s");
	return failed ? TALLY_BENCH_EXIT_FAIL : TALLY_BENCH_EXIT_OK;
}
