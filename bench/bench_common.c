/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * Helpers every tally-bench subcommand uses: clock, statistics, parsing,
 * input generators, CPU identification and pinning, JSON scalars, and the
 * CPU-versus-offload merge table. See bench.h.
 */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <jansson.h>

#include "bench.h"

uint64_t
tally_bench_now_ns(void)
{
	struct timespec ts;

	/* MONOTONIC, not MONOTONIC_RAW: the vDSO serves it without a syscall. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
tally_bench_fill_random(tally_vec_t *v, size_t n, uint64_t seed)
{
	struct tally_bench_rng r = { seed };

	for (size_t i = 0; i < n; i++)
		for (unsigned j = 0; j < TALLY_MAX_NODES; j++)
			v[i].slot[j] = tally_bench_rng_next(&r);
}

void
tally_bench_fill_orders(tally_vec_t *a, tally_vec_t *b, size_t n, uint64_t seed)
{
	struct tally_bench_rng r = { seed };

	/* The four orders in equal shares at random, so a kernel that branches
	 * on the result pays for mispredictions as it would on real traffic. */
	for (size_t i = 0; i < n; i++) {
		uint64_t cls = tally_bench_rng_next(&r) & 3;
		unsigned up = (unsigned)(tally_bench_rng_next(&r) % TALLY_MAX_NODES);
		unsigned down = up;

		for (unsigned j = 0; j < TALLY_MAX_NODES; j++)
			a[i].slot[j] = (tally_bench_rng_next(&r) >> 2) + 1;
		b[i] = a[i];
#if TALLY_MAX_NODES > 1
		/* Any slot but the raised one; with one slot CONCURRENT cannot exist. */
		down = (up + 1 + (unsigned)(tally_bench_rng_next(&r) % (TALLY_MAX_NODES - 1))) %
		       TALLY_MAX_NODES;
#endif
		if (cls & 1)
			b[i].slot[up]++;
		if ((cls & 2) && down != up)
			b[i].slot[down]--;
	}
}

uint64_t
tally_bench_fold(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i = 0;

	/* Eight bytes at a time so folding 128 MiB takes milliseconds, not seconds. */
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void
tally_bench_stats(uint64_t *ns, unsigned n, struct tally_bench_stats *st)
{
	qsort(ns, n, sizeof(ns[0]), cmp_u64);
	if (n % 2)
		st->median_ns = (double)ns[n / 2];
	else
		st->median_ns = ((double)ns[n / 2 - 1] + (double)ns[n / 2]) / 2.0;
	st->min_ns = (double)ns[0];
	st->max_ns = (double)ns[n - 1];
}

int
tally_bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	/* strtoull accepts "-1" as a huge number and leading blanks; refuse both. */
	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

void
tally_bench_cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon;
		size_t n;

		if (strncmp(line, "model name", 10) != 0)
			continue;
		colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		n = strcspn(colon, "\n");
		snprintf(buf, len, "%.*s", (int)n, colon);
		break;
	}
	fclose(f);
}

/* Read one short line of a sysfs file into @p buf; 0 or a negative errno. */
static int
read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int err = 0;

	if (f == NULL)
		return -errno;
	if (fgets(buf, (int)len, f) == NULL)
		err = -EIO;
	fclose(f);
	return err;
}

uint64_t
tally_bench_l3_bytes(void)
{
	/* index0..: L1d, L1i, L2, L3 on current CPUs; look a little further. */
	for (unsigned i = 0; i < 8; i++) {
		char path[96], buf[32];
		unsigned long long v;
		char *end;

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%u/level", i);
		if (read_line(path, buf, sizeof(buf)) != 0)
			break;
		if (atoi(buf) != 3)
			continue;
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%u/size", i);
		if (read_line(path, buf, sizeof(buf)) != 0)
			return 0;
		v = strtoull(buf, &end, 10);
		if (*end == 'K')
			v <<= 10;
		else if (*end == 'M')
			v <<= 20;
		return v;
	}
	return 0;
}

int
tally_bench_pin(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return -errno;
	return cpu;
}

void
tally_bench_fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (bytes >> (10 * (u + 1)) != 0 && u + 1 < sizeof(unit) / sizeof(unit[0]))
		u++;
	/* Whole numbers print without a fraction: "32 KiB", not "32.0 KiB". */
	if (bytes % (1ull << (10 * u)) == 0)
		snprintf(buf, len, "%" PRIu64 " %s", bytes >> (10 * u), unit[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)bytes / (double)(1ull << (10 * u)), unit[u]);
}

void
tally_bench_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			/* Other control characters are not allowed raw in JSON. */
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void
tally_bench_json_num(FILE *f, double v)
{
	/* JSON has no inf or nan; a run too short to time would produce them.
	 * Ten digits: six would print 0.999999046 merges/cycle as 0.999999 and
	 * the 100GbE rate, 148809523.8, as 148810000. */
	if (!isfinite(v))
		fputs("null", f);
	else
		fprintf(f, "%.10g", v);
}

void
tally_bench_fmt_ratio(char *buf, size_t len, double v)
{
	if (isfinite(v))
		snprintf(buf, len, "%.2fx", v);
	else
		snprintf(buf, len, "-");
}

static double
scalar_rate(const struct tally_bench_merge_rate *rows, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(rows[i].kernel, "scalar") == 0)
			return rows[i].merges_per_sec;
	return NAN;
}

/* The line-rate row both outputs end with: a reference, not a kernel. */
static const struct tally_bench_merge_rate line_rate_row = {
	.kernel = "100GbE",
	.where = "line rate",
	.basis = "64 B frames: 100e9 / ((64 + 20) x 8) per s",
	.merges_per_sec = TALLY_BENCH_100GBE_MIN_PPS,
};

void
tally_bench_print_merge_table(const struct tally_bench_merge_rate *rows, unsigned n)
{
	double scalar = scalar_rate(rows, n);

	printf("%-14s %-16s %10s %10s %10s  %s\n", "kernel", "runs on", "Mmerges/s", "vs scalar",
	       "vs 100GbE", "figure");
	for (unsigned i = 0; i <= n; i++) {
		const struct tally_bench_merge_rate *r = i < n ? &rows[i] : &line_rate_row;
		char vs[16], vl[16];

		tally_bench_fmt_ratio(vs, sizeof(vs), r->merges_per_sec / scalar);
		tally_bench_fmt_ratio(vl, sizeof(vl), r->merges_per_sec / TALLY_BENCH_100GBE_MIN_PPS);
		printf("%-14s %-16s %10.2f %10s %10s  %s\n", r->kernel, r->where,
		       r->merges_per_sec / 1e6, vs, vl, r->basis);
	}
}

void
tally_bench_json_merge_table(FILE *f, const struct tally_bench_merge_rate *rows, unsigned n)
{
	double scalar = scalar_rate(rows, n);

	fputc('[', f);
	for (unsigned i = 0; i <= n; i++) {
		const struct tally_bench_merge_rate *r = i < n ? &rows[i] : &line_rate_row;

		fprintf(f, "%s{\"kernel\":", i ? ",\n" : "\n");
		tally_bench_json_str(f, r->kernel);
		fprintf(f, ",\"where\":");
		tally_bench_json_str(f, r->where);
		fprintf(f, ",\"basis\":");
		tally_bench_json_str(f, r->basis);
		fprintf(f, ",\"merges_per_sec\":");
		tally_bench_json_num(f, r->merges_per_sec);
		fprintf(f, ",\"vs_scalar\":");
		tally_bench_json_num(f, r->merges_per_sec / scalar);
		fprintf(f, ",\"vs_100gbe_line_rate\":");
		tally_bench_json_num(f, r->merges_per_sec / TALLY_BENCH_100GBE_MIN_PPS);
		fputc('}', f);
	}
	fputc(']', f);
}

int
tally_bench_opt_u64(const char *cmd, const char *name, const char *arg, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	if (tally_bench_parse_u64(arg, min, max, out) != 0) {
		fprintf(stderr, "tally-bench %s: --%s '%s': want a whole number in %llu..%llu\n", cmd,
			name, arg, (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

int
tally_bench_opt_file(const char *cmd, const char *name, const char *arg, const char **out)
{
	if (arg[0] == '\0') {
		fprintf(stderr, "tally-bench %s: --%s: want a file name\n", cmd, name);
		return -EINVAL;
	}
	*out = arg;
	return 0;
}

int
tally_bench_opt_error(const char *cmd, int c, char **argv)
{
	if (c == ':')
		fprintf(stderr, "tally-bench %s: option '%s' needs a value\n", cmd, argv[optind - 1]);
	else if (optopt != 0) /* names a bad short option even inside "-vx" */
		fprintf(stderr, "tally-bench %s: unknown option '-%c'\n", cmd, optopt);
	else
		fprintf(stderr, "tally-bench %s: unknown option '%s'\n", cmd, argv[optind - 1]);
	return -EINVAL;
}

int
tally_bench_opt_end(const char *cmd, int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr, "tally-bench %s: unexpected argument '%s'\n", cmd, argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int
tally_bench_fdatasync(const char *dir, unsigned n, double *p50_us, double *p99_us)
{
	char path[4200];
	uint64_t *ns = calloc(n, sizeof(*ns));
	uint8_t rec[64];
	int rc = 0;

	snprintf(path, sizeof(path), "%s/tally-bench-fsync-XXXXXX", dir);
	int fd = ns != NULL ? mkstemp(path) : -1;
	if (fd < 0) {
		free(ns);
		return -errno;
	}
	unlink(path);
	memset(rec, 0xa5, sizeof(rec));
	for (unsigned i = 0; i < n && rc == 0; i++) {
		uint64_t t0 = tally_bench_now_ns();
		if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fdatasync(fd) != 0)
			rc = errno ? -errno : -EIO;
		ns[i] = tally_bench_now_ns() - t0;
	}
	close(fd);
	if (rc == 0) {
		qsort(ns, n, sizeof(*ns), cmp_u64);
		*p50_us = (double)ns[n / 2] / 1e3;
		*p99_us = (double)ns[(size_t)n * 99 / 100] / 1e3;
	}
	free(ns);
	return rc;
}

int
tally_bench_node_loop(const char *host, uint16_t port, struct tally_bench_loop *out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	static char buf[1 << 17];
	size_t len = 0;
	ssize_t got;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct timeval tv = { 2, 0 };
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	static const char req[] = "GET /status HTTP/1.0\r\n\r\n";
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || write(fd, req, sizeof(req) - 1) != sizeof(req) - 1) {
		int e = errno;
		close(fd);
		return -e;
	}
	while (len < sizeof(buf) - 1 && (got = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	buf[len] = '\0';
	const char *body = strstr(buf, "\r\n\r\n");
	json_t *st = body != NULL ? json_loads(body + 4, 0, NULL) : NULL;
	json_t *loop = json_object_get(st, "loop");
	const char *names[5] = { "rounds", "busy_rounds", "busy_cycles", "engine_cycles", "tsc_hz" };
	uint64_t *fields[5] = { &out->rounds, &out->busy_rounds, &out->busy_cycles, &out->engine_cycles, &out->tsc_hz };
	int rc = json_is_object(loop) ? 0 : -EPROTO;
	for (unsigned i = 0; i < 5 && rc == 0; i++) {
		json_t *v = json_object_get(loop, names[i]);
		if (!json_is_integer(v))
			rc = -EPROTO;
		else
			*fields[i] = (uint64_t)json_integer_value(v);
	}
	json_decref(st);
	return rc == 0 && out->tsc_hz == 0 ? -EPROTO : rc;
}
