/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tallyctl: the command line client of a tally cluster, built on
 * libtallyclient (client.h). See usage[] and docs/tallyctl.md.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit.h"
#include "client.h"
#include "config.h"
#include "keygen.h"
#include "wire.h"

#define EXIT_USAGE 2
#define EXIT_FAIL 1
#define EXIT_STATUS_BASE 10
/* Below 10 + enum tally_status, which may grow: tallyctl's own. */
#define EXIT_UNKNOWN_NODE 3 /* -n N names no node of the cluster */
#define EXIT_UNREACHABLE 4  /* nothing listens at the node's client port */
#define EXIT_NOT_READY 5    /* wait-ready: a node was not ready by the deadline */
#define WAIT_READY_MS 30000  /* wait-ready's default deadline */

static const char usage[] =
	"usage: tallyctl [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Commands (tallyctl COMMAND --help for each):\n"
	"  incr KEY [DELTA]     add DELTA (default 1) to counter KEY; prints its new value\n"
	"  decr KEY [DELTA]     subtract DELTA (default 1); prints the new value\n"
	"  get KEY [--local]    prints the counter's value, or an MV-register's values,\n"
	"                       one per line (--local: node N's own replica of a counter,\n"
	"                       no quorum, no repair)\n"
	"  put KEY VALUE        write VALUE (up to 64 bytes) into the MV-register KEY;\n"
	"                       prints how many values it holds now\n"
	"  status               the node's members, partitions, replication lag, hints,\n"
	"                       offload telemetry, and whether it is ready\n"
	"  wait-ready [-t MS]   wait until every node (or node -n N) is ready to serve\n"
	"                       (default: up to 30000 ms); progress on standard error\n"
	"  partition isolate N | heal | show\n"
	"                       cut node N off the embedded cluster's switch, or heal it\n"
	"  fault delay PEER MS | set PEER K=V... | sync MS | break dedup|tokens | clear\n"
	"                       faults on node N's frames to PEER (a slow or lossy link),\n"
	"                       a slow log, or none; only where fault_injection = 1 (tests)\n"
	"  audit HISTORY...     check histories of a fault-injection run for anomalies,\n"
	"                       offline: no node or configuration needed (audit --help)\n"
	"  keygen --client NAME [--id N] [--out FILE]\n"
	"                       with -c NODE-FILE: write a client file, NAME's own\n"
	"                       credential and the members, never the cluster key\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE    a client file (keygen --client), or a node's configuration\n"
	"                       (credential 0 of its cluster key); without it, the\n"
	"                       embedded cluster of a bare `tallyd`\n"
	"  -n, --node N         ask node N (default 0)\n"
	"  -W N                 write quorum: replicas that must hold a write (default:\n"
	"                       the cluster's w); 1 = asynchronous, N = synchronous\n"
	"  -R N                 read quorum: replicas merged for a read (the cluster's r)\n"
	"  -t, --timeout MS     deadline of the operation (default 1000; wait-ready 30000)\n"
	"      --op-id C:S      use op id C:S (hex client, decimal sequence): retry an\n"
	"                       operation that ended indeterminate, applied at most once\n"
	"      --token-file F   keep a session in F across invocations: send the key's\n"
	"                       token, store the answer's (read-your-writes, monotonic\n"
	"                       reads; docs/sessions.md)\n"
	"      --after KEY      incr/decr: a causal write after what the session (its\n"
	"                       --token-file) has seen of KEY: no replica shows the\n"
	"                       write before it holds that much of KEY\n"
	"      --json           status: print the node's JSON as it is; audit: a JSON report\n"
	"  -h, --help           print this and exit\n"
	"\n"
	"Exit status: 0 done; 1 could not run (node unreachable for status, bad\n"
	"configuration); 2 bad usage;\n"
	"  3 unknown node    -n N names no node of the cluster: nothing done\n"
	"  4 unreachable     nothing listens at the node's client port (ICMP port\n"
	"                    unreachable: tallyd is not running there): not applied\n"
	"  5 not ready       wait-ready: a node was not ready by the deadline\n"
	"10 + the operation's status when it failed:\n"
	"  11 indeterminate  no answer by the deadline: maybe applied; retry with --op-id\n"
	"  12 unavailable    too few live nodes for the quorum: not applied\n"
	"  13 bad_request    14 table_full    15 overflow    17 busy\n"
	"  18 io_error       the origin's log failed: not durable, treat as indeterminate\n"
	"  16 op_refused     op id outside the node's dedup window, or applied by\n"
	"                    another origin: outcome unknown, never applied twice\n"
	"  19 recovering     the origin is recovering this key, or confirming its log\n"
	"                    position, and a member is silent: not applied\n"
	"  20 bad_token      the session token is forged, truncated, expired or for\n"
	"                    another key: nothing done\n"
	"  21 not_yet        no reachable replica holds what the session has seen yet:\n"
	"                    nothing older is returned, a write is not applied\n"
	"  22 out_of_range   the counter's state sums P or N past 2^63 - 1 (sent by\n"
	"                    an older node or forged): no value, a write not applied\n"
	"  23 unknown_client the origin's dedup table forgot this client (--op-id):\n"
	"                    not applied there; an earlier send's outcome is unknown\n"
	"audit: 0 no violation, 1 a violation, 2 bad usage or a history that does not\n"
	"parse.\n"
	"Errors go to standard error as \"tallyctl: COMMAND KEY: STATUS: explanation\".\n";

static const char usage_incr[] =
	"usage: tallyctl [OPTIONS] incr|decr KEY [DELTA] [-W N] [--op-id C:S]\n"
	"\n"
	"Add (incr) or subtract (decr) DELTA (default 1) to the PN-Counter KEY\n"
	"(1..64 bytes). DELTA is a whole number other than 0, at most 2^63 - 1 either\n"
	"way; a negative one turns round: incr KEY -5 is decr KEY 5, and decr KEY -5\n"
	"is incr KEY 5. The node asked coordinates: the key's first\n"
	"live replica applies it to its own slot, logs it, and ships it; the answer\n"
	"comes once W replicas hold it. Prints the counter's value as the origin\n"
	"sees it then. On exit status 11 (indeterminate) standard error gives the op\n"
	"id; running the same command with --op-id applies it at most once.\n";

static const char usage_get[] =
	"usage: tallyctl [OPTIONS] get KEY [-R N] [--local]\n"
	"\n"
	"Print the value of counter KEY: the merge of R replicas' states (a counter\n"
	"never written is 0). With W + R > N it includes every acknowledged write.\n"
	"Replicas found behind are repaired in the background.\n"
	"\n"
	"--local prints what node N itself holds, asking no other node and\n"
	"repairing nothing (through its status port): to watch one replica converge.\n";

static const char usage_put[] =
	"usage: tallyctl [OPTIONS] put KEY VALUE [-W N] [--token-file F]\n"
	"\n"
	"Write VALUE (0..64 bytes) into the MV-register KEY (a key is a counter or a\n"
	"register, whichever it was first written as). Without a session the put is\n"
	"blind: it joins the values already there as a sibling, as two puts that do\n"
	"not see each other both survive. With --token-file, after a get of KEY in\n"
	"the same session, it replaces exactly the values that get returned.\n"
	"Prints how many values the register holds after it.\n";

static const char usage_wait_ready[] =
	"usage: tallyctl [OPTIONS] wait-ready [-t MS] [-n N]\n"
	"\n"
	"Wait until every member of the cluster (the -c configuration's, or the\n"
	"embedded cluster's, as node 0's status lists them), or node N alone with\n"
	"-n, says it is ready to serve, polling each one's status page. Prints on\n"
	"standard error what each node is waiting for, whenever that changes, and\n"
	"\"node N: ready\". Exit status 0 when all are ready; 5 when one is not by\n"
	"the deadline (-t, default 30000 ms), with what it still waited for; 3 when\n"
	"-n names no node of the cluster. Nodes that start later (tallyd &) are\n"
	"waited for: a status page that does not answer yet is one more thing to\n"
	"wait for.\n";

static const char usage_status[] =
	"usage: tallyctl [OPTIONS] status [--json]\n"
	"\n"
	"Show what node N knows: whether it is ready to serve (and if not, what it\n"
	"waits for), members and whether each is up, this node's\n"
	"partitions, per peer the writes it has not acknowledged yet (replication\n"
	"lag) and the hints held for it, requests by outcome, the offload engine's\n"
	"telemetry and the write-ahead log. Reads the node's status page over TCP\n"
	"(admin_port).\n";

static const char usage_keygen[] =
	"usage: tallyctl -c NODE-FILE keygen --client NAME [--id N] [--out FILE]\n"
	"\n"
	"Write the client file of NAME: its credential (an id, random unless --id N,\n"
	"1..4294967295, and a 16-byte key derived from the cluster key for that id),\n"
	"the members and ports. A client holding it can read and write counters, and\n"
	"nothing more: the key cannot be turned into the cluster key, the node key or\n"
	"the session-token key, so it cannot forge replication frames, heartbeats,\n"
	"op-id notes or tokens (docs/security.md). NODE-FILE must hold the [cluster]\n"
	"key. --out FILE creates FILE (mode 0600; never overwrites); without it the\n"
	"file goes to standard output. Use it as tallyctl -c FILE.\n";

static const char usage_fault[] =
	"usage: tallyctl [OPTIONS] fault delay PEER MS\n"
	"       tallyctl [OPTIONS] fault set PEER [delay=MS] [jitter=MS] [loss=PCT] [dup=PCT] [corrupt=PCT]\n"
	"       tallyctl [OPTIONS] fault sync MS\n"
	"       tallyctl [OPTIONS] fault break dedup|tokens\n"
	"       tallyctl [OPTIONS] fault clear\n"
	"\n"
	"Fault injection, for tests, on node N's frames to node PEER: a delay (frames\n"
	"keep their order), plus up to jitter more at random (frames overtake each\n"
	"other), a percentage lost, sent twice, or with one byte flipped (the\n"
	"receiver's MAC check drops it). set replaces PEER's rule. sync makes each of\n"
	"node N's log commits wait MS ms before it writes (a slow disk: a test kills\n"
	"the node inside the wait; 0 ends it). break makes node N\n"
	"deliberately wrong, to show that a checker catches it: dedup applies retried\n"
	"op ids again, tokens serves reads without honouring session tokens\n"
	"(docs/faults.md). clear removes every rule and break. Refused unless the\n"
	"node runs with [node] fault_injection = 1.\n";

static const char usage_partition[] =
	"usage: tallyctl [OPTIONS] partition isolate N | heal | show\n"
	"\n"
	"Only for the embedded cluster: cut node N off the switch that joins the\n"
	"three nodes (its frames are dropped both ways; its clients still reach it),\n"
	"heal every cut, or show the switch's state.\n";

static const char usage_audit[] =
	"usage: tallyctl audit [--json] [-v] [--expect-sessions] [--settle-ms MS]\n"
	"                      [--replicas N] [-W N] [-R N] HISTORY...\n"
	"\n"
	"Check the histories of a run (history format v1, docs/history.md: client\n"
	"sessions' invokes and completions, local reads, nemesis faults), merged by\n"
	"time, and report each anomaly as a violation (a promise of tally broken) or\n"
	"within convergence delay (a stale read that W, R, a fault and no session\n"
	"token allow): reads above everything invoked, stale reads, read-your-writes\n"
	"and monotonic reads per session, acknowledged writes lost or counted twice\n"
	"in the final state, replicas that disagree after the last heal. Also the\n"
	"counts per operation, the convergence time after the last heal and the\n"
	"faults by kind. Reads only the files (HISTORY - is standard input): no\n"
	"node, no configuration.\n"
	"\n"
	"  --json             a JSON report on standard output instead of the summary\n"
	"  -v, --verbose      list every anomaly (default: 10 per class and verdict);\n"
	"                     with --json, list convergence delays too, not only violations\n"
	"  --expect-sessions  every read was meant as a session read: read-your-writes\n"
	"                     and monotonic reads anomalies are violations even without\n"
	"                     token=1\n"
	"  --settle-ms MS     how long after a fault stops staleness is still expected\n"
	"                     (default: the history's settle_ms, else 5000)\n"
	"  --replicas N, -W N, -R N\n"
	"                     the cluster's n, w and r, over the history's cluster config\n"
	"                     line; without either, quorums are not checked and stale\n"
	"                     reads without a token count as convergence delay\n"
	"\n"
	"Exit status: 0 no violation; 1 a violation; 2 bad usage, a history that\n"
	"cannot be read or does not parse (its first 20 errors are printed as\n"
	"FILE:LINE: problem).\n";

struct opts {
	const char *config;
	unsigned node, w, r, timeout_ms;
	bool json, have_opid, local;
	const char *token_file, *after;
	uint64_t op_client, op_seq;
	bool net_opt;              /* -c, -n or -t given: a cluster to talk to */
	bool have_node, have_timeout; /* -n, -t given */
	bool audit_opt;            /* an option only audit takes */
	bool expect_sessions, verbose, have_settle;
	const char *keygen_client, *keygen_out; /* keygen --client NAME, --out FILE */
	uint32_t keygen_id;
	bool have_keygen_id;
	unsigned replicas;
	int64_t settle_ms;
};

static int
fail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "tallyctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "; try tallyctl --help\n");
	return EXIT_USAGE;
}

static bool
parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && *out <= max;
}

/* Where node N takes client requests and serves its status. */
struct target {
	char ip[INET_ADDRSTRLEN];
	uint16_t client_port, admin_port;
	uint8_t key[16]; /* the client credential: a client file's, or credential 0 of the cluster key */
	uint32_t key_id;
	struct tally_config cfg; /* a node's file: its cluster key signs changes (X-Tally-Admin) */
	bool operator;
};

static int
resolve(const struct opts *o, struct target *t)
{
	struct tally_config c;
	char err[512];

	tally_config_defaults(&c);
	if (o->config == NULL) {
		snprintf(t->ip, sizeof(t->ip), "127.0.0.1");
		t->client_port = (uint16_t)(7471 + 10 * o->node);
		t->admin_port = (uint16_t)(7472 + 10 * o->node);
		uint8_t embedded[32] = { 0 }; /* the embedded cluster's key (tallyd.c) */
		t->key_id = 0;
		return tally_client_credential(embedded, 0, t->key) == 0 ? 0 : EXIT_FAIL;
	}
	if (tally_config_load(&c, o->config, err, sizeof(err)) != 0) {
		fprintf(stderr, "tallyctl: %s\n", err);
		return EXIT_FAIL;
	}
	if (o->node >= TALLY_MAX_NODES || !c.members[o->node].present) {
		char ids[64];
		size_t k = 0;
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
			if (c.members[i].present)
				k += (size_t)snprintf(ids + k, sizeof(ids) - k, "%s%u", k ? ", " : "", i);
		fprintf(stderr, "tallyctl: unknown node %u: %s's [members] are %s\n", o->node, o->config, ids);
		return EXIT_UNKNOWN_NODE;
	}
	struct in_addr a = { htonl(c.members[o->node].ip) };
	inet_ntop(AF_INET, &a, t->ip, sizeof(t->ip));
	t->client_port = c.client_port;
	t->admin_port = c.admin_port;
	if (c.is_client) {
		memcpy(t->key, c.client_key, sizeof(t->key));
		t->key_id = c.client_id;
		return 0;
	}
	/* A node's own file: the operator, credential 0. */
	t->key_id = 0;
	t->cfg = c;
	t->operator = true;
	return tally_client_credential(c.key, 0, t->key) == 0 ? 0 : EXIT_FAIL;
}

/* --token-file: one line per key, "KEY-HEX TOKEN-HEX". */
static void
hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; s[0] && s[1] && n < cap; s += 2) {
		unsigned v;
		if (sscanf(s, "%2x", &v) != 1)
			return 0;
		out[n++] = (uint8_t)v;
	}
	return s[0] == '\0' ? n : 0;
}

/* The token for @key in @path into @tok; @return its length, 0 if none, -1 on a bad file. */
static int
token_load(const char *path, const char *key, uint8_t *tok)
{
	char want[2 * TALLY_WIRE_CLIENT_STR_MAX + 1], line[1024];
	FILE *f = fopen(path, "r");
	int found = 0;
	unsigned lineno = 0;

	if (f == NULL) {
		if (errno == ENOENT)
			return 0; /* a new session */
		fprintf(stderr, "tallyctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	hex((const uint8_t *)key, strlen(key), want);
	while (fgets(line, sizeof(line), f) != NULL) {
		char k[256], t[512];
		lineno++;
		if (sscanf(line, "%255s %511s", k, t) != 2) {
			fprintf(stderr, "tallyctl: %s:%u: want KEY-HEX TOKEN-HEX\n", path, lineno);
			fclose(f);
			return -1;
		}
		if (strcmp(k, want) == 0) {
			size_t n = unhex(t, tok, TALLY_WIRE_TOKEN_MAX);
			if (n == 0) {
				fprintf(stderr, "tallyctl: %s:%u: the token is not hex of at most 192 bytes\n", path, lineno);
				fclose(f);
				return -1;
			}
			found = (int)n;
		}
	}
	fclose(f);
	return found;
}

/* Replace or add @key's token in @path, atomically (write a copy, rename it). */
static int
token_save(const char *path, const char *key, const uint8_t *tok, size_t len)
{
	char want[2 * TALLY_WIRE_CLIENT_STR_MAX + 1], th[2 * TALLY_WIRE_TOKEN_MAX + 1], tmp[4096], line[1024];
	FILE *in = fopen(path, "r"), *out;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	out = fopen(tmp, "w");
	if (out == NULL) {
		if (in)
			fclose(in);
		return -1;
	}
	hex((const uint8_t *)key, strlen(key), want);
	hex(tok, len, th);
	while (in != NULL && fgets(line, sizeof(line), in) != NULL) {
		char k[256];
		if (sscanf(line, "%255s", k) == 1 && strcmp(k, want) != 0)
			fputs(line, out);
	}
	fprintf(out, "%s %s\n", want, th);
	if (in)
		fclose(in);
	if (fclose(out) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

static char *http_get(const struct target *t, const char *path, int *code);

/* The embedded cluster's node ids, as node 0's status page lists its
 * members. @return how many, or -1 when node 0 does not answer. */
static int
embedded_members(unsigned ids[TALLY_MAX_NODES])
{
	struct target t0 = { .ip = "127.0.0.1", .client_port = 7471, .admin_port = 7472 };
	int code = 0, n = 0;
	char *body = http_get(&t0, "/status", &code);
	json_t *s = body != NULL ? json_loads(body, 0, NULL) : NULL;
	json_t *m;
	size_t i;

	free(body);
	if (s == NULL)
		return -1;
	json_array_foreach(json_object_get(s, "members"), i, m) {
		json_int_t id = json_integer_value(json_object_get(m, "id"));
		if (id >= 0 && id < TALLY_MAX_NODES && n < TALLY_MAX_NODES)
			ids[n++] = (unsigned)id;
	}
	json_decref(s);
	return n;
}

/* -n N of the embedded cluster names no node of it (node 0 says so): say
 * so and @return true. A configuration's members are checked by resolve(). */
static bool
embedded_unknown(const struct opts *o, const char *cmd)
{
	unsigned ids[TALLY_MAX_NODES];
	char list[64];
	size_t k = 0;
	int n;

	if (o->config != NULL || o->node == 0 || (n = embedded_members(ids)) < 0)
		return false;
	for (int i = 0; i < n; i++) {
		if (ids[i] == o->node)
			return false;
		k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%u", i ? ", " : "", ids[i]);
	}
	fprintf(stderr, "tallyctl: %s: unknown node %u: the embedded cluster has nodes %s\n", cmd, o->node, list);
	return true;
}

static int
run_op(const struct opts *o, const struct target *t, const char *cmd, const char *key, unsigned op, uint64_t delta,
       const char *value)
{
	struct tally_client_opts co = { .host = t->ip, .port = t->client_port, .timeout_ms = o->timeout_ms,
					.session = o->token_file != NULL, .fail_unreachable = true };
	struct tally_client_result r;
	tally_client_t *c;
	int rc, err;

	memcpy(co.key, t->key, sizeof(co.key));
	co.key_id = t->key_id;
	c = tally_client_open(&co, &err);
	if (c == NULL) {
		fprintf(stderr, "tallyctl: cannot open a client socket to %s:%u: %s\n", t->ip, t->client_port,
			strerror(-err));
		return EXIT_FAIL;
	}
	unsigned quorum = op == TALLY_WIRE_OP_GET ? o->r : o->w;
	if (o->token_file != NULL) {
		uint8_t tok[TALLY_WIRE_TOKEN_MAX];
		int n = token_load(o->token_file, key, tok);
		if (n < 0) {
			tally_client_close(c);
			return EXIT_FAIL;
		}
		if (n > 0)
			(void)tally_client_token_set(c, key, strlen(key), tok, (size_t)n);
		if (o->after != NULL) {
			n = token_load(o->token_file, o->after, tok);
			if (n <= 0) {
				if (n == 0)
					fprintf(stderr, "tallyctl: %s %s --after %s: %s has no token for %s; read it with this "
							"--token-file first\n", cmd, key, o->after, o->token_file, o->after);
				tally_client_close(c);
				return n == 0 ? EXIT_USAGE : EXIT_FAIL;
			}
			(void)tally_client_token_set(c, o->after, strlen(o->after), tok, (size_t)n);
		}
	}
	if (op == TALLY_WIRE_OP_PUT)
		rc = tally_client_put(c, key, strlen(key), value, strlen(value), quorum, NULL);
	else if (o->after != NULL)
		rc = tally_client_submit_after(c, op, key, strlen(key), delta, quorum, o->after, strlen(o->after), NULL);
	else if (o->have_opid)
		rc = tally_client_submit_id(c, op, key, strlen(key), delta, quorum, o->op_client, o->op_seq, NULL);
	else
		rc = tally_client_submit_id(c, op, key, strlen(key), delta, quorum, tally_client_id(c),
					    /* a fresh client id per run: sequence 1 is always new */ 1, NULL);
	if (rc != 0) {
		tally_client_close(c);
		fprintf(stderr, "tallyctl: %s %s: %s\n", cmd, key,
			rc == -EINVAL ? "bad request (a key and a value are at most 64 bytes)" : strerror(-rc));
		return EXIT_USAGE;
	}
	uint64_t cid = o->have_opid && !o->after ? o->op_client : tally_client_id(c),
		 seq = o->have_opid && !o->after ? o->op_seq : 1;
	do {
		rc = tally_client_poll(c, &r, 1, (int)o->timeout_ms + 100);
	} while (rc == 0);
	tally_client_close(c);
	if (rc < 0) {
		fprintf(stderr, "tallyctl: %s %s: %s\n", cmd, key, strerror(-rc));
		return EXIT_FAIL;
	}
	if (r.status == TALLY_OK) {
		if (o->token_file != NULL && r.token_len > 0 && token_save(o->token_file, key, r.token, r.token_len) != 0) {
			fprintf(stderr, "tallyctl: %s: cannot save the session token: %s\n", o->token_file, strerror(errno));
			printf("%" PRId64 "\n", r.value);
			return EXIT_FAIL;
		}
		if (r.nsib > 0) {
			for (unsigned i = 0; i < r.nsib; i++)
				printf("%.*s\n", r.sib[i].len, (const char *)r.sib[i].v);
			return 0;
		}
		printf("%" PRId64 "\n", r.value);
		return 0;
	}
	if (r.status == TALLY_CLIENT_E_UNREACHABLE && r.sends == 1) {
		/* Its one datagram was refused: it reached no tallyd. */
		char what[100];
		snprintf(what, sizeof(what), "%s %s", cmd, key);
		if (embedded_unknown(o, what))
			return EXIT_UNKNOWN_NODE;
		fprintf(stderr,
			"tallyctl: %s %s: unreachable: nothing listens at %s:%u, node %u's client port (ICMP port"
			" unreachable): is tallyd running%s? %s\n",
			cmd, key, t->ip, t->client_port, o->node, o->config ? " there" : "",
			op == TALLY_WIRE_OP_GET ? "nothing read" : "not applied");
		return EXIT_UNREACHABLE;
	}
	if (r.status == TALLY_CLIENT_E_UNREACHABLE) {
		/* Refused after a resend: an earlier datagram may have reached a
		 * tallyd that stopped since. */
		fprintf(stderr,
			"tallyctl: %s %s: indeterminate: node %u (%s:%u) stopped listening (ICMP port unreachable after"
			" %u sends); %s (op id %016" PRIx64 ":%" PRIu64 ")\n",
			cmd, key, o->node, t->ip, t->client_port, r.sends,
			op == TALLY_WIRE_OP_GET ? "try again"
						: "it may or may not be applied: rerun with --op-id to apply it at most once",
			cid, seq);
		return EXIT_STATUS_BASE + TALLY_E_INDETERMINATE;
	}
	switch (r.status) {
	case TALLY_E_INDETERMINATE:
		fprintf(stderr,
			"tallyctl: %s %s: indeterminate: no answer from node %u (%s:%u) within %u ms; %s"
			" (op id %016" PRIx64 ":%" PRIu64 ")\n",
			cmd, key, o->node, t->ip, t->client_port, o->timeout_ms,
			op == TALLY_WIRE_OP_GET ? "try again"
						: "it may or may not be applied: rerun with --op-id to apply it at most once",
			cid, seq);
		break;
	case TALLY_E_UNAVAILABLE:
		fprintf(stderr, "tallyctl: %s %s: unavailable: fewer live replicas than %s asks%s\n", cmd, key,
			op == TALLY_WIRE_OP_GET ? "R" : "W", op == TALLY_WIRE_OP_GET ? "" : "; not applied");
		break;
	case TALLY_E_BAD_REQUEST:
		fprintf(stderr, "tallyctl: %s %s: bad_request: the node refused the request (a quorum over n, a key "
				"used both as a counter and as a register, or a register with too many values); "
				"nothing done\n", cmd, key);
		break;
	case TALLY_E_TABLE_FULL:
		fprintf(stderr, "tallyctl: %s %s: table_full: the origin's counter table has no room for a new key; "
				"not applied\n", cmd, key);
		break;
	case TALLY_E_OVERFLOW:
		fprintf(stderr, "tallyctl: %s %s: overflow: the counter would leave its range; not applied\n", cmd,
			key);
		break;
	case TALLY_E_OUT_OF_RANGE:
		fprintf(stderr, "tallyctl: %s %s: out_of_range: the counter's state sums its increments or its "
				"decrements past 2^63 - 1, which no write this version takes can do (an older node "
				"or a forged frame sent it); %s (docs/crdt.md)\n", cmd, key,
			op == TALLY_WIRE_OP_GET ? "it has no value" : "not applied");
		break;
	case TALLY_E_OP_REFUSED:
		fprintf(stderr, "tallyctl: %s %s: op_refused: the op id is outside the node's dedup window; "
				"whether it was applied before is unknown\n", cmd, key);
		break;
	case TALLY_E_UNKNOWN_CLIENT:
		fprintf(stderr, "tallyctl: %s %s: unknown_client: the origin no longer holds client %016" PRIx64
				" (its dedup table evicted it) and sequence %" PRIu64 " is past its first window; not "
				"applied there, whether an earlier send was applied is unknown\n", cmd, key, cid, seq);
		break;
	case TALLY_E_BAD_TOKEN: {
		static const char *const why[] = { "", "truncated", "forged (or from another cluster)",
						   "of a version this node does not know", "expired", "for another key" };
		fprintf(stderr, "tallyctl: %s %s: bad_token: the session token is %s; nothing done%s\n", cmd, key,
			r.value >= 1 && r.value <= 5 ? why[r.value] : "refused",
			o->token_file ? " (remove its line from the token file to start a new session)" : "");
		break;
	}
	case TALLY_E_NOT_YET:
		fprintf(stderr, "tallyctl: %s %s: not_yet: no replica node %u could reach within %u ms holds what this "
				"session has seen; nothing older was returned%s\n", cmd, key, o->node, o->timeout_ms,
			op == TALLY_WIRE_OP_GET ? "" : ", and the write was not applied");
		break;
	case TALLY_E_RECOVERING: {
		/* The value is the mask of members the origin's recovery waits for. */
		char who[160] = "";
		size_t wl = 0;
		for (unsigned i = 0; i < 64 && wl < sizeof(who); i++)
			if ((uint64_t)r.value & (UINT64_C(1) << i))
				wl += (size_t)snprintf(who + wl, sizeof(who) - wl, "%s%u", wl ? ", " : "", i);
		fprintf(stderr, "tallyctl: %s %s: recovering: the key's origin has just started, or lost or restored its "
				"data, and makes sure of its own counts with every member first%s%s%s; not applied "
				"(docs/durability.md)\n", cmd, key, wl ? ": waiting for node " : "", who, wl ? " to answer" : "");
		break;
	}
	default:
		fprintf(stderr, "tallyctl: %s %s: %s\n", cmd, key, tally_status_name(r.status));
	}
	return EXIT_STATUS_BASE + r.status;
}

/* GET @path from the node's status port; the body in a malloc'd string. */
static char *
http_get(const struct target *t, const char *path, int *code)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(t->admin_port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { 2, 0 };
	char req[400], mac[65], *buf = NULL;
	size_t len = 0, cap = 0;

	inet_pton(AF_INET, t->ip, &sa.sin_addr);
	if (fd < 0)
		return NULL;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return NULL;
	}
	/* A change from another machine needs the operator's credential. */
	bool sign = strchr(path, '?') != NULL && t->operator && tally_config_admin_mac(&t->cfg, path, mac) == 0;
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n%s%s%s\r\n", path, sign ? "X-Tally-Admin: " : "",
			 sign ? mac : "", sign ? "\r\n" : "");
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return NULL;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			char *p = realloc(buf, cap);
			if (p == NULL)
				break;
			buf = p;
		}
		ssize_t k = read(fd, buf + len, cap - len - 1);
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	if (buf == NULL)
		return NULL;
	buf[len] = '\0';
	char *body = strstr(buf, "\r\n\r\n");
	if (body == NULL || sscanf(buf, "HTTP/1.%*d %d", code) != 1) {
		free(buf);
		return NULL;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return buf;
}

static json_int_t
num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* ---- readiness: status, wait-ready ---- */

/* Whether the node whose status is @s is ready to serve, and if not what it
 * waits for (one line in @detail): the node says so in "ready" and
 * "ready_detail" (docs/cluster.md#status). */
static bool
node_ready(json_t *s, char *detail, size_t cap)
{
	json_t *ready = json_object_get(s, "ready");
	const char *d = json_string_value(json_object_get(s, "ready_detail"));

	if (!json_is_boolean(ready)) {
		snprintf(detail, cap, "its status says nothing of readiness (a tallyd older than this tallyctl)");
		return false;
	}
	if (json_is_true(ready))
		detail[0] = '\0';
	else
		snprintf(detail, cap, "%s", d != NULL && *d != '\0' ? d : "not ready (the node says no more)");
	return json_is_true(ready);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* tallyctl wait-ready: poll each node's status page until it says it is
 * ready, one node after the other, all under one deadline. */
static int
run_wait_ready(struct opts *o)
{
	unsigned ids[TALLY_MAX_NODES], n = 0, timeout = o->have_timeout ? o->timeout_ms : WAIT_READY_MS;
	bool learn = false; /* the embedded cluster: node 0's status lists the others */
	uint64_t t0 = mono_ms(), deadline = t0 + timeout;
	struct target t;
	int rc;

	if (o->have_node) {
		ids[n++] = o->node;
	} else if (o->config != NULL) {
		struct tally_config c;
		char err[512];
		tally_config_defaults(&c);
		if (tally_config_load(&c, o->config, err, sizeof(err)) != 0) {
			fprintf(stderr, "tallyctl: %s\n", err);
			return EXIT_FAIL;
		}
		for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
			if (c.members[i].present)
				ids[n++] = i;
	} else {
		ids[n++] = 0;
		learn = true;
	}
	for (unsigned k = 0; k < n; k++) {
		char detail[256], last[256] = "";
		o->node = ids[k];
		if ((rc = resolve(o, &t)) != 0)
			return rc;
		for (;;) {
			int code = 0;
			char *body = http_get(&t, "/status", &code);
			json_t *s = body != NULL && code == 200 ? json_loads(body, 0, NULL) : NULL;
			bool ready = false;
			free(body);
			if (s != NULL) {
				ready = node_ready(s, detail, sizeof(detail));
				if (learn) {
					size_t i;
					json_t *m;
					json_array_foreach(json_object_get(s, "members"), i, m) {
						json_int_t id = num(m, "id");
						if (id > 0 && id < TALLY_MAX_NODES && n < TALLY_MAX_NODES)
							ids[n++] = (unsigned)id;
					}
					learn = false;
				}
				json_decref(s);
			} else {
				if (embedded_unknown(o, "wait-ready"))
					return EXIT_UNKNOWN_NODE;
				snprintf(detail, sizeof(detail), "its status page at %s:%u does not answer yet", t.ip,
					 t.admin_port);
			}
			if (ready) {
				fprintf(stderr, "node %u: ready (%" PRIu64 " ms)\n", o->node, mono_ms() - t0);
				break;
			}
			if (strcmp(detail, last) != 0) {
				fprintf(stderr, "waiting for node %u: %s\n", o->node, detail);
				snprintf(last, sizeof(last), "%s", detail);
			}
			if (mono_ms() >= deadline) {
				fprintf(stderr, "tallyctl: wait-ready: node %u is not ready after %u ms: %s\n", o->node,
					timeout, detail);
				return EXIT_NOT_READY;
			}
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

static int
run_status(const struct opts *o, const struct target *t)
{
	int code = 0;
	char *body = http_get(t, "/status", &code);

	if (body == NULL) {
		fprintf(stderr, "tallyctl: status: no answer from node %u's status page at %s:%u (is tallyd running?)\n",
			o->node, t->ip, t->admin_port);
		return EXIT_FAIL;
	}
	if (o->json) {
		fputs(body, stdout);
		free(body);
		return code == 200 ? 0 : EXIT_FAIL;
	}
	json_error_t je;
	json_t *s = json_loads(body, 0, &je);
	free(body);
	if (s == NULL) {
		fprintf(stderr, "tallyctl: status: node %u sent bad JSON: %s\n", o->node, je.text);
		return EXIT_FAIL;
	}
	json_t *q = json_object_get(s, "quorum"), *p = json_object_get(s, "partitions");
	printf("node %" JSON_INTEGER_FORMAT " (epoch %" JSON_INTEGER_FORMAT ", %s, backend %s, up %" JSON_INTEGER_FORMAT
	       " s): n=%" JSON_INTEGER_FORMAT " w=%" JSON_INTEGER_FORMAT " r=%" JSON_INTEGER_FORMAT "\n",
	       num(s, "node"), num(s, "epoch"), json_string_value(json_object_get(s, "mode")),
	       json_string_value(json_object_get(s, "backend")), num(s, "uptime_ms") / 1000, num(q, "n"), num(q, "w"),
	       num(q, "r"));
	char detail[256];
	if (node_ready(s, detail, sizeof(detail)))
		printf("ready: yes\n");
	else
		printf("ready: no (%s)\n", detail);
	printf("partitions: %" JSON_INTEGER_FORMAT " in the ring; this node is first in %" JSON_INTEGER_FORMAT
	       " and a replica of %" JSON_INTEGER_FORMAT "\n",
	       num(p, "total"), num(p, "primary"), num(p, "replica"));
	printf("\n%-4s %-21s %-6s %-12s %-16s %-18s %s\n", "id", "address", "state", "last heard", "unacked writes",
	       "oldest unacked", "hints held");
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(s, "members"), i, m) {
		const char *st = json_string_value(json_object_get(m, "state"));
		char heard[32] = "-", oldest[32] = "-";
		if (strcmp(st, "self") != 0) {
			if (num(m, "last_heard_ms") >= 0)
				snprintf(heard, sizeof(heard), "%" JSON_INTEGER_FORMAT " ms ago", num(m, "last_heard_ms"));
			else
				snprintf(heard, sizeof(heard), "never");
			snprintf(oldest, sizeof(oldest), "%" JSON_INTEGER_FORMAT " ms", num(m, "oldest_unacked_ms"));
			printf("%-4" JSON_INTEGER_FORMAT " %-21s %-6s %-12s %-16" JSON_INTEGER_FORMAT " %-18s %" JSON_INTEGER_FORMAT "\n",
			       num(m, "id"), json_string_value(json_object_get(m, "addr")), st, heard,
			       num(m, "unacked_writes"), oldest, num(m, "hints"));
		} else {
			printf("%-4" JSON_INTEGER_FORMAT " %-21s %-6s\n", num(m, "id"),
			       json_string_value(json_object_get(m, "addr")), st);
		}
	}
	printf("\n%-4s %-22s %-20s %-18s %s\n", "id", "anti-entropy: in sync", "partitions to ship", "digests (differ)",
	       "repairs sent");
	json_array_foreach(json_object_get(s, "members"), i, m) {
		char sync[32], dg[40];
		if (strcmp(json_string_value(json_object_get(m, "state")), "self") == 0)
			continue;
		if (num(m, "ae_last_sync_ms") >= 0)
			snprintf(sync, sizeof(sync), "%" JSON_INTEGER_FORMAT " ms ago", num(m, "ae_last_sync_ms"));
		else
			snprintf(sync, sizeof(sync), "never");
		snprintf(dg, sizeof(dg), "%" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT ")", num(m, "ae_digests_in"),
			 num(m, "ae_digests_differ"));
		printf("%-4" JSON_INTEGER_FORMAT " %-22s %-20" JSON_INTEGER_FORMAT " %-18s %" JSON_INTEGER_FORMAT "\n",
		       num(m, "id"), sync, num(m, "ae_partitions_to_ship"), dg, num(m, "ae_records_sent"));
	}
	json_t *k = json_object_get(s, "keys"), *r = json_object_get(s, "requests"), *rep = json_object_get(r, "replies");
	printf("\nkeys: %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT "\n", num(k, "used"), num(k, "capacity"));
	printf("requests: %" JSON_INTEGER_FORMAT " in flight, %" JSON_INTEGER_FORMAT " from clients, %" JSON_INTEGER_FORMAT
	       " forwarded to origins, %" JSON_INTEGER_FORMAT " applied here, %" JSON_INTEGER_FORMAT " duplicates\n",
	       num(r, "in_flight"), num(r, "client_records"), num(r, "forwarded"), num(r, "applied"),
	       num(r, "duplicates"));
	printf("replies:");
	const char *name;
	json_t *v;
	json_object_foreach(rep, name, v)
		if (json_integer_value(v) > 0)
			printf(" %s %" JSON_INTEGER_FORMAT, name, json_integer_value(v));
	printf("\nrepairs: %" JSON_INTEGER_FORMAT " sent, %" JSON_INTEGER_FORMAT " applied; hinted handoff: %" JSON_INTEGER_FORMAT
	       " records offered, %" JSON_INTEGER_FORMAT " keys handed off\n",
	       num(r, "read_repairs_sent"), num(r, "repairs_applied"), num(r, "handoff_records"),
	       num(r, "handoff_dropped_keys"));
	printf("sessions: %" JSON_INTEGER_FORMAT " tokens in, %" JSON_INTEGER_FORMAT " refused, %" JSON_INTEGER_FORMAT
	       " reads waited for replicas, %" JSON_INTEGER_FORMAT " not_yet; causal: %" JSON_INTEGER_FORMAT
	       " writes made, %" JSON_INTEGER_FORMAT " received, %" JSON_INTEGER_FORMAT " held now (%" JSON_INTEGER_FORMAT
	       " ever, longest %" JSON_INTEGER_FORMAT " ms), %" JSON_INTEGER_FORMAT " dependency fetches\n",
	       num(r, "tokens_in"), num(r, "tokens_refused"), num(r, "token_waits"), num(r, "not_yet"),
	       num(r, "causal_writes"), num(r, "causal_in"), num(r, "held_now"), num(r, "held_total"),
	       num(r, "held_longest_ms"), num(r, "dependency_fetches"));
	printf("client frames refused:");
	bool any = false;
	json_object_foreach(json_object_get(r, "client_drops"), name, v)
		if (json_integer_value(v) > 0) {
			printf(" %s %" JSON_INTEGER_FORMAT, name, json_integer_value(v));
			any = true;
		}
	printf("%s\n", any ? "" : " none");
	json_t *of = json_object_get(s, "offload"), *dp = json_object_get(s, "dataplane"), *w = json_object_get(s, "wal");
	printf("offload (%s): %" JSON_INTEGER_FORMAT " frames, %" JSON_INTEGER_FORMAT " consumed by the NIC, %" JSON_INTEGER_FORMAT
	       " to host, %" JSON_INTEGER_FORMAT " dropped; %" JSON_INTEGER_FORMAT " records merged on the NIC, %" JSON_INTEGER_FORMAT
	       " on the host\n",
	       json_string_value(json_object_get(s, "backend")), num(of, "frames"), num(of, "consumed"), num(of, "to_host"),
	       num(of, "dropped"), num(of, "records_merged"), num(of, "records_host"));
	printf("dataplane: rx %" JSON_INTEGER_FORMAT ", tx %" JSON_INTEGER_FORMAT ", acks %" JSON_INTEGER_FORMAT
	       ", tx dropped %" JSON_INTEGER_FORMAT "\n",
	       num(dp, "rx"), num(dp, "tx"), num(dp, "acks"), num(dp, "tx_full") + num(dp, "tx_nombuf"));
	printf("log: generation %" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT " bytes, %" JSON_INTEGER_FORMAT
	       " commits (%" JSON_INTEGER_FORMAT " us each), %" JSON_INTEGER_FORMAT " records replayed at start\n",
	       num(w, "generation"), num(w, "log_bytes"), num(w, "commits"), num(w, "commit_us_avg"), num(w, "replayed"));
	const char *policy = json_string_value(json_object_get(w, "commit"));
	if (policy != NULL && strcmp(policy, "interval") == 0)
		printf("commit: interval %" JSON_INTEGER_FORMAT " ms (an ack counts replicas that applied the write "
		       "in memory; the log is synced every interval)\n",
		       num(w, "commit_interval_ms"));
	else if (policy != NULL)
		printf("commit: sync (an ack counts replicas whose log holds the write)\n");
	json_t *lp = json_object_get(s, "loop");
	if (lp != NULL && num(lp, "tsc_hz") > 0 && num(lp, "rounds") > 0)
		printf("poll loop: %.1f %% of %" JSON_INTEGER_FORMAT " rounds did work, taking %.3f s (%.3f s of them in "
		       "the offload engine)\n",
		       100.0 * (double)num(lp, "busy_rounds") / (double)num(lp, "rounds"), num(lp, "rounds"),
		       (double)num(lp, "busy_cycles") / (double)num(lp, "tsc_hz"),
		       (double)num(lp, "engine_cycles") / (double)num(lp, "tsc_hz"));
	json_decref(s);
	return 0;
}

static int
run_local(const struct opts *o, const struct target *t, const char *key)
{
	char path[256];
	size_t k = snprintf(path, sizeof(path), "/local/");
	int code = 0;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0' && k + 4 < sizeof(path); p++)
		k += (size_t)snprintf(path + k, sizeof(path) - k, isalnum(*p) || strchr("-_.~:", *p) ? "%c" : "%%%02X", *p);
	char *body = http_get(t, path, &code);
	if (body == NULL) {
		fprintf(stderr, "tallyctl: get %s --local: no answer from node %u's status page at %s:%u\n", key,
			o->node, t->ip, t->admin_port);
		return EXIT_FAIL;
	}
	json_error_t je;
	json_t *j = json_loads(body, 0, &je);
	if (j == NULL && code == 200) /* slots past 2^63 - 1, which jansson's integers cannot hold */
		j = json_loads(body, JSON_DECODE_INT_AS_REAL, &je);
	free(body);
	if (j == NULL || code != 200) {
		fprintf(stderr, "tallyctl: get %s --local: %s\n", key,
			j ? json_string_value(json_object_get(j, "error")) : "bad answer");
		json_decref(j);
		return EXIT_FAIL;
	}
	const char *status = json_string_value(json_object_get(j, "status"));
	if (status != NULL && strcmp(status, "out_of_range") == 0) {
		fprintf(stderr, "tallyctl: get %s --local: out_of_range: node %u's state of the counter sums its "
				"increments or its decrements past 2^63 - 1 (an older node or a forged frame sent it); "
				"it has no value (docs/crdt.md)\n", key, o->node);
		json_decref(j);
		return EXIT_STATUS_BASE + TALLY_E_OUT_OF_RANGE;
	}
	json_t *values = json_object_get(j, "values");
	if (json_is_array(values)) { /* an MV-register: its values, one per line */
		size_t i;
		json_t *v;
		json_array_foreach(values, i, v)
			printf("%s\n", json_string_value(v));
	} else {
		printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(j, "value")));
	}
	json_decref(j);
	return 0;
}

static int
run_fault(const struct opts *o, const struct target *t, int argc, char **argv)
{
	char path[256];
	unsigned long long peer, ms;
	int code = 0;

	if (argc == 1 && strcmp(argv[0], "clear") == 0) {
		snprintf(path, sizeof(path), "/fault?clear");
	} else if (argc >= 2 && strcmp(argv[0], "set") == 0 && parse_uint(argv[1], TALLY_MAX_NODES - 1, &peer)) {
		size_t k = (size_t)snprintf(path, sizeof(path), "/fault?peer=%llu", peer);
		for (int i = 2; i < argc; i++) {
			if (strchr(argv[i], '=') == NULL || strspn(argv[i], "abcdefghijklmnopqrstuvwxyz=.0123456789") !=
								   strlen(argv[i]))
				return fail_usage("fault set: want KEY=VALUE, not '%s'", argv[i]);
			k += (size_t)snprintf(path + k, sizeof(path) - k, "&%s", argv[i]);
			if (k >= sizeof(path))
				return fail_usage("fault set: too many settings%s", "");
		}
	} else if (argc == 2 && strcmp(argv[0], "break") == 0 &&
		   (strcmp(argv[1], "dedup") == 0 || strcmp(argv[1], "tokens") == 0)) {
		snprintf(path, sizeof(path), "/fault?break=%s", argv[1]);
	} else if (argc == 3 && strcmp(argv[0], "delay") == 0 && parse_uint(argv[1], TALLY_MAX_NODES - 1, &peer) &&
		   parse_uint(argv[2], 60000, &ms)) {
		snprintf(path, sizeof(path), "/fault?delay=%llu&ms=%llu", peer, ms);
	} else if (argc == 2 && strcmp(argv[0], "sync") == 0 && parse_uint(argv[1], 60000, &ms)) {
		snprintf(path, sizeof(path), "/fault?sync_ms=%llu", ms);
	} else {
		return fail_usage("fault: want 'delay PEER MS', 'set PEER K=V...', 'sync MS', 'break dedup|tokens' or "
				  "'clear'%s", "");
	}
	char *body = http_get(t, path, &code);
	if (body == NULL) {
		fprintf(stderr, "tallyctl: fault: no answer from node %u's status page at %s:%u\n", o->node, t->ip,
			t->admin_port);
		return EXIT_FAIL;
	}
	if (code != 200) {
		fprintf(stderr, "tallyctl: fault: %s", body);
		free(body);
		return EXIT_FAIL;
	}
	fputs(body, stdout);
	free(body);
	return 0;
}

static int
run_partition(const struct opts *o, const struct target *t, int argc, char **argv)
{
	char path[64];
	unsigned long long id;
	int code = 0;

	if (argc < 1 || strcmp(argv[0], "show") == 0)
		snprintf(path, sizeof(path), "/partition");
	else if (strcmp(argv[0], "heal") == 0)
		snprintf(path, sizeof(path), "/partition?heal");
	else if (strcmp(argv[0], "isolate") == 0 && argc == 2 && parse_uint(argv[1], TALLY_MAX_NODES - 1, &id))
		snprintf(path, sizeof(path), "/partition?isolate=%llu", id);
	else
		return fail_usage("partition: want 'isolate N' (N a node id), 'heal' or 'show'%s", "");
	char *body = http_get(t, path, &code);
	if (body == NULL) {
		fprintf(stderr, "tallyctl: partition: no answer from node %u's status page at %s:%u\n", o->node, t->ip,
			t->admin_port);
		return EXIT_FAIL;
	}
	if (code == 404) {
		fprintf(stderr, "tallyctl: partition: node %u is not part of an embedded cluster\n", o->node);
		free(body);
		return EXIT_FAIL;
	}
	if (code != 200) {
		fprintf(stderr, "tallyctl: partition: %s", body);
		free(body);
		return EXIT_USAGE;
	}
	fputs(body, stdout);
	free(body);
	return 0;
}

/* ---- audit: the history checker (audit.h, docs/history.md) ---- */

static void
print_ops(const struct tally_audit_report *r)
{
	printf("%-10s %12s %12s %12s %12s\n", "operation", "invoked", "ok", "fail", "info");
	for (unsigned op = 0; op < TALLY_AUDIT_NOPS; op++) {
		const struct tally_audit_op_counts *c = &r->ops[op];
		if (op == TALLY_AUDIT_OP_LOCAL)
			printf("%-10s %12s %12" PRIu64 " %12s %12s\n", "local", "-", c->ok, "-", "-");
		else
			printf("%-10s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64 "\n",
			       tally_audit_op_name(op), c->invoked, c->ok, c->fail, c->info);
	}
}

static void
print_anomaly(const struct tally_audit_anomaly *x)
{
	printf("%s: %s (%s): %s\n", tally_audit_verdict_name(x->verdict), tally_audit_class_title(x->cls), x->reason,
	       x->text);
}

static void
audit_human(const struct opts *o, const struct tally_audit_report *r)
{
	printf("history: %zu file%s, %" PRIu64 " events, %" PRIu64 " key%s, %zu session%s\n", r->nfiles,
	       r->nfiles == 1 ? "" : "s", r->events, r->keys, r->keys == 1 ? "" : "s", r->nsessions,
	       r->nsessions == 1 ? "" : "s");
	if (r->have_cluster)
		printf("cluster: n=%u w=%u r=%u (%s), settle %" PRId64 " ms\n", r->n, r->w, r->r,
		       r->cluster_from_history ? "from the history" : "from the options", r->settle_ms);
	else
		printf("cluster: unknown (no cluster config line, no --replicas), settle %" PRId64 " ms\n", r->settle_ms);
	printf("\n");
	print_ops(r);
	printf("\nwrite ids: %" PRIu64 " (%" PRIu64 " acknowledged, %" PRIu64 " failed, %" PRIu64
	       " unresolved); %" PRIu64 " retried\n",
	       r->write_ids, r->acked, r->failed, r->unresolved, r->retried);
	printf("reads checked: %" PRIu64 "; stale: %" PRIu64 " (%" PRIu64 " violation%s, %" PRIu64
	       " within convergence delay)\n",
	       r->reads_checked, r->stale_reads, r->stale[TALLY_AUDIT_VIOLATION],
	       r->stale[TALLY_AUDIT_VIOLATION] == 1 ? "" : "s", r->stale[TALLY_AUDIT_CONVERGENCE]);
	printf("final state: %" PRIu64 " key%s checked, %" PRIu64 " written key%s not checked; %" PRIu64
	       " units lost, %" PRIu64 " double-counted\n",
	       r->keys_final_checked, r->keys_final_checked == 1 ? "" : "s", r->keys_final_unchecked,
	       r->keys_final_unchecked == 1 ? "" : "s", r->lost_units, r->double_units);
	if (r->convergence_measured)
		printf("convergence: %" PRId64 " ms after the last heal (t=%" PRId64 " us), %" PRId64
		       " ms after the last write completed (%" PRId64 " ms after the heal)\n",
		       r->convergence_ms, r->last_heal, r->settle_after_write_ms, (r->last_write - r->last_heal) / 1000);
	else
		printf("convergence: not measured: %s\n", r->convergence_why ? r->convergence_why : "?");
	if (r->fault_total == 0)
		printf("faults: none\n");
	else
		printf("faults: %" PRIu64, r->fault_total);
	for (size_t i = 0; i < r->nfaults; i++)
		printf("%s%s %" PRIu64 "%s", i ? ", " : " (", r->faults[i].kind, r->faults[i].starts,
		       i + 1 == r->nfaults ? ")\n" : "");

	printf("\n%-26s %10s %18s\n", "anomalies", "violation", "convergence delay");
	for (unsigned c = 0; c < TALLY_AUDIT_NCLASSES; c++)
		printf("%-26s %10" PRIu64 " %18" PRIu64 "\n", tally_audit_class_title(c),
		       r->count[c][TALLY_AUDIT_VIOLATION], r->count[c][TALLY_AUDIT_CONVERGENCE]);

	size_t shown = 0;
	for (size_t i = 0; i < r->nsessions; i++) {
		const struct tally_audit_session *s = &r->sessions[i];
		if (s->ryw[0] + s->ryw[1] + s->mr[0] + s->mr[1] == 0)
			continue;
		if (shown++ == 0)
			printf("\n%-12s %8s %14s %10s %14s %10s\n", "session", "reads", "ryw violation", "ryw delay",
			       "mr violation", "mr delay");
		printf("%-12s %8" PRIu64 " %14" PRIu64 " %10" PRIu64 " %14" PRIu64 " %10" PRIu64 "\n", s->name,
		       s->reads, s->ryw[TALLY_AUDIT_VIOLATION], s->ryw[TALLY_AUDIT_CONVERGENCE], s->mr[TALLY_AUDIT_VIOLATION],
		       s->mr[TALLY_AUDIT_CONVERGENCE]);
	}
	if (shown == 0)
		printf("\nsession guarantees: no anomaly in %zu sessions\n", r->nsessions);

	if (r->nwarnings > 0)
		printf("\n");
	for (size_t i = 0; i < r->nwarnings; i++)
		printf("warning: %s\n", r->warnings[i]);

	/* violations first, then convergence delays; up to 10 of each class unless -v */
	bool blank = false;
	for (unsigned v = 0; v < TALLY_AUDIT_NVERDICTS; v++)
		for (unsigned c = 0; c < TALLY_AUDIT_NCLASSES; c++) {
			uint64_t n = 0;
			for (size_t i = 0; i < r->nanomalies; i++) {
				const struct tally_audit_anomaly *x = &r->anomalies[i];
				if (x->cls != c || x->verdict != v)
					continue;
				if (!blank) {
					printf("\n");
					blank = true;
				}
				if (o->verbose || n < 10)
					print_anomaly(x);
				n++;
			}
			if (!o->verbose && n > 10)
				printf("... %" PRIu64 " more %s: %s (tallyctl audit -v lists them)\n", n - 10,
				       tally_audit_verdict_name(v), tally_audit_class_title(c));
		}
	printf("audit: %" PRIu64 " violation%s, %" PRIu64 " within convergence delay\n", r->violations,
	       r->violations == 1 ? "" : "s", r->convergence);
}

static json_t *
ju(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *
janomaly(const struct tally_audit_anomaly *x)
{
	json_t *j = json_object();

	json_object_set_new(j, "class", json_string(tally_audit_class_name(x->cls)));
	json_object_set_new(j, "classification", json_string(x->verdict == TALLY_AUDIT_VIOLATION ? "violation"
											     : "convergence_delay"));
	json_object_set_new(j, "key", json_string(x->key));
	json_object_set_new(j, "process", x->process ? json_string(x->process) : json_null());
	json_object_set_new(j, "file", json_string(x->file));
	json_object_set_new(j, "line", ju(x->line));
	json_object_set_new(j, "time", json_integer(x->time));
	json_object_set_new(j, "reason", json_string(x->reason));
	json_object_set_new(j, "evidence", json_string(x->text));
	return j;
}

static void
audit_json(const struct opts *o, const struct tally_audit_report *r, char **files, int nfiles)
{
	json_t *j = json_object(), *a = json_array(), *x;

	for (int i = 0; i < nfiles; i++)
		json_array_append_new(a, json_string(files[i]));
	json_object_set_new(j, "files", a);
	json_object_set_new(j, "events", ju(r->events));
	json_object_set_new(j, "keys", ju(r->keys));
	x = json_object();
	json_object_set_new(x, "n", r->n ? ju(r->n) : json_null());
	json_object_set_new(x, "w", r->w ? ju(r->w) : json_null());
	json_object_set_new(x, "r", r->r ? ju(r->r) : json_null());
	json_object_set_new(x, "settle_ms", json_integer(r->settle_ms));
	json_object_set_new(x, "from", json_string(!r->have_cluster ? "unknown" : r->cluster_from_history ? "history"
													     : "options"));
	json_object_set_new(j, "cluster", x);
	x = json_object();
	for (unsigned op = 0; op < TALLY_AUDIT_NOPS; op++) {
		json_t *c = json_object();
		json_object_set_new(c, "invoked", ju(r->ops[op].invoked));
		json_object_set_new(c, "ok", ju(r->ops[op].ok));
		json_object_set_new(c, "fail", ju(r->ops[op].fail));
		json_object_set_new(c, "info", ju(r->ops[op].info));
		json_object_set_new(x, tally_audit_op_name(op), c);
	}
	json_object_set_new(j, "operations", x);
	x = json_object();
	json_object_set_new(x, "total", ju(r->write_ids));
	json_object_set_new(x, "acknowledged", ju(r->acked));
	json_object_set_new(x, "failed", ju(r->failed));
	json_object_set_new(x, "unresolved", ju(r->unresolved));
	json_object_set_new(x, "retried", ju(r->retried));
	json_object_set_new(j, "write_ids", x);
	x = json_object();
	json_object_set_new(x, "checked", ju(r->reads_checked));
	json_object_set_new(x, "stale", ju(r->stale_reads));
	json_object_set_new(x, "stale_violation", ju(r->stale[TALLY_AUDIT_VIOLATION]));
	json_object_set_new(x, "stale_convergence_delay", ju(r->stale[TALLY_AUDIT_CONVERGENCE]));
	json_object_set_new(j, "reads", x);
	x = json_object();
	json_object_set_new(x, "keys_checked", ju(r->keys_final_checked));
	json_object_set_new(x, "keys_not_checked", ju(r->keys_final_unchecked));
	json_object_set_new(x, "lost_units", ju(r->lost_units));
	json_object_set_new(x, "double_counted_units", ju(r->double_units));
	json_object_set_new(j, "final", x);
	json_object_set_new(j, "last_heal", r->have_heal ? json_integer(r->last_heal) : json_null());
	json_object_set_new(j, "convergence_ms", r->convergence_measured ? json_integer(r->convergence_ms) : json_null());
	json_object_set_new(j, "convergence_after_last_write_ms",
			    r->convergence_measured ? json_integer(r->settle_after_write_ms) : json_null());
	if (!r->convergence_measured)
		json_object_set_new(j, "convergence_not_measured", json_string(r->convergence_why ? r->convergence_why : "?"));
	x = json_object();
	json_object_set_new(x, "total", ju(r->fault_total));
	a = json_object();
	for (size_t i = 0; i < r->nfaults; i++)
		json_object_set_new(a, r->faults[i].kind, ju(r->faults[i].starts));
	json_object_set_new(x, "by_kind", a);
	json_object_set_new(j, "faults", x);
	x = json_object();
	for (unsigned c = 0; c < TALLY_AUDIT_NCLASSES; c++) {
		json_t *k = json_object();
		json_object_set_new(k, "violation", ju(r->count[c][TALLY_AUDIT_VIOLATION]));
		json_object_set_new(k, "convergence_delay", ju(r->count[c][TALLY_AUDIT_CONVERGENCE]));
		json_object_set_new(x, tally_audit_class_name(c), k);
	}
	json_object_set_new(j, "classes", x);
	a = json_array();
	for (size_t i = 0; i < r->nsessions; i++) {
		const struct tally_audit_session *s = &r->sessions[i];
		json_t *k = json_object();
		json_object_set_new(k, "name", json_string(s->name));
		json_object_set_new(k, "reads", ju(s->reads));
		json_object_set_new(k, "ryw_violation", ju(s->ryw[TALLY_AUDIT_VIOLATION]));
		json_object_set_new(k, "ryw_convergence_delay", ju(s->ryw[TALLY_AUDIT_CONVERGENCE]));
		json_object_set_new(k, "mr_violation", ju(s->mr[TALLY_AUDIT_VIOLATION]));
		json_object_set_new(k, "mr_convergence_delay", ju(s->mr[TALLY_AUDIT_CONVERGENCE]));
		json_array_append_new(a, k);
	}
	json_object_set_new(j, "sessions", a);
	a = json_array();
	x = json_array();
	for (size_t i = 0; i < r->nanomalies; i++) {
		if (r->anomalies[i].verdict == TALLY_AUDIT_VIOLATION)
			json_array_append_new(a, janomaly(&r->anomalies[i]));
		else if (o->verbose)
			json_array_append_new(x, janomaly(&r->anomalies[i]));
	}
	json_object_set_new(j, "violations", a);
	if (o->verbose)
		json_object_set_new(j, "convergence_delays", x);
	else
		json_decref(x);
	a = json_array();
	for (size_t i = 0; i < r->nwarnings; i++)
		json_array_append_new(a, json_string(r->warnings[i]));
	json_object_set_new(j, "warnings", a);
	json_object_set_new(j, "violations_total", ju(r->violations));
	json_object_set_new(j, "convergence_delay_total", ju(r->convergence));
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("\n");
	json_decref(j);
}

static int
run_audit(const struct opts *o, int nargs, char **args)
{
	struct tally_audit_opts ao = {
		.expect_sessions = o->expect_sessions,
		.have_settle = o->have_settle,
		.settle_ms = o->settle_ms,
		.n = o->replicas,
		.w = o->w,
		.r = o->r,
	};
	struct tally_audit_report r;
	struct tally_audit *a;
	int rc;

	if (nargs < 1)
		return fail_usage("audit: want one or more HISTORY files%s", "");
	a = tally_audit_new(&ao);
	if (a == NULL) {
		fprintf(stderr, "tallyctl: audit: out of memory\n");
		return EXIT_USAGE;
	}
	for (int i = 0; i < nargs; i++) {
		bool in = strcmp(args[i], "-") == 0;
		FILE *f = in ? stdin : fopen(args[i], "r");
		if (f == NULL) {
			fprintf(stderr, "tallyctl: audit: cannot read %s: %s\n", args[i], strerror(errno));
			tally_audit_free(a);
			return EXIT_USAGE;
		}
		rc = tally_audit_add_file(a, in ? "(stdin)" : args[i], f);
		if (!in)
			fclose(f);
		if (rc != 0) {
			fprintf(stderr, "tallyctl: audit: %s: %s\n", args[i], rc == -ENOMEM ? "out of memory" : "read error");
			tally_audit_free(a);
			return EXIT_USAGE;
		}
	}
	rc = tally_audit_run(a, &r);
	if (rc == -EINVAL) {
		for (size_t i = 0; i < r.nerrors_kept; i++)
			fprintf(stderr, "tallyctl: audit: %s\n", r.errors[i]);
		fprintf(stderr, "tallyctl: audit: %" PRIu64 " parse error%s%s; nothing checked\n", r.nerrors,
			r.nerrors == 1 ? "" : "s", r.nerrors > r.nerrors_kept ? " (the first shown)" : "");
		if (o->json) {
			json_t *j = json_object(), *e = json_array();
			for (size_t i = 0; i < r.nerrors_kept; i++)
				json_array_append_new(e, json_string(r.errors[i]));
			json_object_set_new(j, "parse_errors", ju(r.nerrors));
			json_object_set_new(j, "errors", e);
			json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			printf("\n");
			json_decref(j);
		}
		tally_audit_free(a);
		return EXIT_USAGE;
	}
	if (rc != 0) {
		fprintf(stderr, "tallyctl: audit: %s\n", rc == -ENOMEM ? "out of memory" : strerror(-rc));
		tally_audit_free(a);
		return EXIT_USAGE;
	}
	if (o->json)
		audit_json(o, &r, args, nargs);
	else
		audit_human(o, &r);
	rc = r.violations > 0 ? 1 : 0;
	tally_audit_free(a);
	return rc;
}

/* Whether @a is a negative whole number ("-5"), which no option is. */
static bool
negative_number(const char *a)
{
	return a[0] == '-' && a[1] >= '0' && a[1] <= '9' && strspn(a + 1, "0123456789") == strlen(a + 1);
}

/* Whether option argument @a takes the next argument as its value. */
static bool
takes_next(const char *a, const struct option *longopts, const char *with_arg)
{
	if (a[1] == '-') { /* --name or --name=value; getopt takes unique prefixes */
		size_t len = strcspn(a + 2, "=");
		if (a[2 + len] == '=')
			return false;
		for (const struct option *lo = longopts; lo->name != NULL; lo++)
			if (strncmp(lo->name, a + 2, len) == 0 && lo->has_arg == required_argument)
				return true;
		return false;
	}
	for (const char *c = a + 1; *c != '\0'; c++) /* -W2, -hv, -W 2 */
		if (strchr(with_arg, *c) != NULL)
			return c[1] == '\0';
	return false;
}

/* getopt takes a negative DELTA (incr KEY -5) for options ("-5"). When there
 * is one, rebuild the arguments as options first, then "--", then the
 * others in their order (what getopt's own permutation gives), so that a
 * negative number that is not an option's value stays an argument. An
 * explicit "--" ends the options as before. @return the new argc. */
static int
protect_negative(int argc, char **argv, char **out, const struct option *longopts, const char *with_arg)
{
	int n = 0, npos = 0, i;
	char **pos = out + argc + 1; /* scratch after room for argv and "--" */
	bool any = false;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (negative_number(argv[i]) && !(i > 1 && argv[i - 1][0] == '-' && takes_next(argv[i - 1], longopts, with_arg)))
			any = true;
	if (!any) {
		memcpy(out, argv, (size_t)argc * sizeof(*argv));
		out[argc] = NULL;
		return argc;
	}
	out[n++] = argv[0];
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] != '\0' && !negative_number(a)) {
			out[n++] = argv[i];
			if (takes_next(a, longopts, with_arg) && i + 1 < argc)
				out[n++] = argv[++i];
		} else {
			pos[npos++] = argv[i];
		}
	}
	out[n++] = "--";
	memmove(out + n, pos, (size_t)npos * sizeof(*out));
	n += npos;
	for (i++; i < argc; i++) /* after the caller's own "--" */
		out[n++] = argv[i];
	out[n] = NULL;
	return n;
}

/* DELTA of incr/decr: a whole number other than 0, at most 2^63 - 1 either
 * way; a negative one turns the operation round. @return false if not one. */
static bool
parse_delta(const char *a, uint64_t *delta, bool *negative)
{
	unsigned long long v;

	*negative = a[0] == '-';
	if (!parse_uint(a + (*negative ? 1 : 0), INT64_MAX, &v) || v == 0)
		return false;
	*delta = v;
	return true;
}

static int
run_keygen(const struct opts *o)
{
	struct tally_config c;
	char err[512];

	if (o->keygen_client == NULL)
		return fail_usage("keygen: want --client NAME%s", "");
	if (o->config == NULL)
		return fail_usage("keygen: want -c NODE-FILE, a node's configuration with the cluster key%s", "");
	tally_config_defaults(&c);
	if (tally_config_load(&c, o->config, err, sizeof(err)) != 0) {
		fprintf(stderr, "tallyctl: %s\n", err);
		return EXIT_FAIL;
	}
	uint32_t id = o->keygen_id;
	while (!o->have_keygen_id && id == 0)
		id = randombytes_random();
	FILE *out = stdout;
	if (o->keygen_out != NULL) {
		int fd = open(o->keygen_out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
			fprintf(stderr, "tallyctl: keygen: %s: %s\n", o->keygen_out, strerror(errno));
			if (fd >= 0)
				close(fd);
			return EXIT_FAIL;
		}
	}
	int rc = tally_keygen_client(&c, o->keygen_client, id, out, err, sizeof(err));
	if (out != stdout && fclose(out) != 0 && rc == 0) {
		snprintf(err, sizeof(err), "%s: %s", o->keygen_out, strerror(errno));
		rc = -EIO;
	}
	if (rc != 0) {
		fprintf(stderr, "tallyctl: keygen: %s\n", err);
		if (o->keygen_out != NULL)
			unlink(o->keygen_out);
		return rc == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	if (o->keygen_out != NULL)
		fprintf(stderr, "tallyctl: keygen: wrote %s, the client file of %s (credential %u)\n", o->keygen_out,
			o->keygen_client, id);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' }, { "node", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' }, { "op-id", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },          { "help", no_argument, NULL, 'h' },
		{ "local", no_argument, NULL, 'l' },         { "token-file", required_argument, NULL, 'T' },
		{ "after", required_argument, NULL, 'A' },
		{ "expect-sessions", no_argument, NULL, 'E' }, { "settle-ms", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },       { "replicas", required_argument, NULL, 'P' },
		{ "client", required_argument, NULL, 'K' },  { "id", required_argument, NULL, 'I' },
		{ "out", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .timeout_ms = 1000 };
	unsigned long long v;
	bool help = false;
	int ch;
	char **args_in = calloc(2 * (size_t)argc + 2, sizeof(*argv));

	if (args_in == NULL)
		return EXIT_FAIL;
	argc = protect_negative(argc, argv, args_in, longopts, "cnWRt");
	argv = args_in;
	while ((ch = getopt_long(argc, argv, "c:n:W:R:t:hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config = optarg;
			o.net_opt = true;
			break;
		case 'n':
			if (!parse_uint(optarg, TALLY_MAX_NODES - 1, &v))
				return fail_usage("--node: want a node id in 0..7, not '%s'", optarg);
			o.node = (unsigned)v;
			o.net_opt = o.have_node = true;
			break;
		case 'W':
			if (!parse_uint(optarg, TALLY_MAX_NODES, &v) || v == 0)
				return fail_usage("-W: want a quorum in 1..8, not '%s'", optarg);
			o.w = (unsigned)v;
			break;
		case 'R':
			if (!parse_uint(optarg, TALLY_MAX_NODES, &v) || v == 0)
				return fail_usage("-R: want a quorum in 1..8, not '%s'", optarg);
			o.r = (unsigned)v;
			break;
		case 't':
			if (!parse_uint(optarg, 3600000, &v) || v == 0)
				return fail_usage("--timeout: want milliseconds in 1..3600000, not '%s'", optarg);
			o.timeout_ms = (unsigned)v;
			o.net_opt = o.have_timeout = true;
			break;
		case 'o': {
			char *colon = strchr(optarg, ':'), *end;
			errno = 0;
			o.op_client = strtoull(optarg, &end, 16);
			if (colon == NULL || end != colon || o.op_client == 0 || !parse_uint(colon + 1, UINT64_MAX, &v) ||
			    v == 0)
				return fail_usage("--op-id: want CLIENT:SEQ (hex, decimal, both nonzero), not '%s'", optarg);
			o.op_seq = v;
			o.have_opid = true;
			break;
		}
		case 'j':
			o.json = true;
			break;
		case 'l':
			o.local = true;
			break;
		case 'T':
			o.token_file = optarg;
			break;
		case 'A':
			o.after = optarg;
			break;
		case 'E':
			o.expect_sessions = o.audit_opt = true;
			break;
		case 'S':
			if (!parse_uint(optarg, 86400000, &v))
				return fail_usage("--settle-ms: want milliseconds in 0..86400000, not '%s'", optarg);
			o.settle_ms = (int64_t)v;
			o.have_settle = o.audit_opt = true;
			break;
		case 'v':
			o.verbose = o.audit_opt = true;
			break;
		case 'P':
			if (!parse_uint(optarg, 255, &v) || v == 0)
				return fail_usage("--replicas: want the cluster's n in 1..255, not '%s'", optarg);
			o.replicas = (unsigned)v;
			o.audit_opt = true;
			break;
		case 'K':
			o.keygen_client = optarg;
			break;
		case 'I':
			if (!parse_uint(optarg, UINT32_MAX, &v) || v == 0)
				return fail_usage("--id: want a credential id in 1..4294967295, not '%s'", optarg);
			o.keygen_id = (uint32_t)v;
			o.have_keygen_id = true;
			break;
		case 'O':
			o.keygen_out = optarg;
			break;
		case 'h':
			help = true;
			break;
		default:
			fprintf(stderr, "tallyctl: try tallyctl --help\n");
			return EXIT_USAGE;
		}
	}
	const char *cmd = optind < argc ? argv[optind] : NULL;
	int nargs = argc - optind - 1;
	char **args = argv + optind + 1;

	if (cmd == NULL) {
		if (help) {
			fputs(usage, stdout);
			return 0;
		}
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	bool is_write = strcmp(cmd, "incr") == 0 || strcmp(cmd, "decr") == 0;
	bool is_put = strcmp(cmd, "put") == 0;
	if (help) {
		fputs(is_write ? usage_incr : is_put ? usage_put : strcmp(cmd, "get") == 0 ? usage_get
				 : strcmp(cmd, "status") == 0   ? usage_status
				 : strcmp(cmd, "wait-ready") == 0 ? usage_wait_ready
				 : strcmp(cmd, "partition") == 0 ? usage_partition
				 : strcmp(cmd, "fault") == 0     ? usage_fault
				 : strcmp(cmd, "audit") == 0     ? usage_audit
				 : strcmp(cmd, "keygen") == 0    ? usage_keygen
								  : usage,
		      stdout);
		return 0;
	}
	if (strcmp(cmd, "audit") == 0) {
		if (o.net_opt || o.have_opid || o.token_file != NULL || o.after != NULL || o.local)
			return fail_usage("audit: reads files and talks to no node: -c, -n, -t, --op-id, --token-file, "
					  "--after and --local are not for it%s", "");
		return run_audit(&o, nargs, args);
	}
	if (strcmp(cmd, "keygen") == 0) {
		if (nargs != 0)
			return fail_usage("keygen: takes options only (--client NAME [--id N] [--out FILE]), not '%s'",
					  args[0]);
		return run_keygen(&o);
	}
	if (o.keygen_client != NULL || o.keygen_out != NULL || o.have_keygen_id)
		return fail_usage("%s: --client, --id and --out are only for keygen", cmd);
	if (o.audit_opt)
		return fail_usage("%s: --expect-sessions, --settle-ms, --verbose and --replicas are only for audit", cmd);
	struct target t;
	int rc;
	if (is_put) {
		if (nargs != 2)
			return fail_usage("%s: want KEY VALUE", cmd);
		if (strlen(args[0]) < 1 || strlen(args[0]) > TALLY_WIRE_CLIENT_STR_MAX ||
		    strlen(args[1]) > TALLY_WIRE_CLIENT_STR_MAX)
			return fail_usage("%s: a key is 1..64 bytes and a value at most 64", cmd);
		if (o.have_opid || o.after != NULL || o.local)
			return fail_usage("%s: --op-id, --after and --local are not for put", cmd);
		if ((rc = resolve(&o, &t)) != 0)
			return rc;
		return run_op(&o, &t, cmd, args[0], TALLY_WIRE_OP_PUT, 0, args[1]);
	}
	if (is_write || strcmp(cmd, "get") == 0) {
		uint64_t delta = 1;
		bool negative = false;
		if (nargs < 1 || nargs > (is_write ? 2 : 1))
			return fail_usage(is_write ? "%s: want KEY [DELTA]" : "%s: want KEY", cmd);
		if (strlen(args[0]) < 1 || strlen(args[0]) > TALLY_WIRE_CLIENT_STR_MAX)
			return fail_usage("%s: a key is 1..64 bytes", cmd);
		if (nargs == 2 && !parse_delta(args[1], &delta, &negative))
			return fail_usage("DELTA: want a whole number other than 0 (-0 and 0 change nothing), at most "
					  "9223372036854775807 either way, not '%s'", args[1]);
		if (o.after != NULL && (!is_write || o.token_file == NULL || o.have_opid))
			return fail_usage("--after: for incr/decr with --token-file, without --op-id%s", "");
		if ((rc = resolve(&o, &t)) != 0)
			return rc;
		if (o.local) {
			if (strcmp(cmd, "get") != 0)
				return fail_usage("--local: only for get%s", "");
			return run_local(&o, &t, args[0]);
		}
		/* incr KEY -5 is decr KEY 5, and decr KEY -5 is incr KEY 5 */
		bool up = strcmp(cmd, "incr") == 0;
		return run_op(&o, &t, cmd, args[0],
			      !is_write ? TALLY_WIRE_OP_GET : up != negative ? TALLY_WIRE_OP_INCR : TALLY_WIRE_OP_DECR,
			      delta, NULL);
	}
	if (strcmp(cmd, "status") == 0) {
		if (nargs != 0)
			return fail_usage("status: takes no arguments, not '%s'", args[0]);
		if ((rc = resolve(&o, &t)) != 0)
			return rc;
		return run_status(&o, &t);
	}
	if (strcmp(cmd, "wait-ready") == 0) {
		if (nargs != 0)
			return fail_usage("wait-ready: takes no arguments (the deadline is -t MS), not '%s'", args[0]);
		return run_wait_ready(&o);
	}
	if (strcmp(cmd, "fault") == 0) {
		if ((rc = resolve(&o, &t)) != 0)
			return rc;
		return run_fault(&o, &t, nargs, args);
	}
	if (strcmp(cmd, "partition") == 0) {
		if ((rc = resolve(&o, &t)) != 0)
			return rc;
		return run_partition(&o, &t, nargs, args);
	}
	return fail_usage("unknown command '%s'", cmd);
}
