/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * tallyd: one tally node, or with no configuration the embedded cluster:
 * three nodes in this process, each on a net_ring port, joined by a small
 * software switch (which can also cut a node off, for the demo).
 *
 *   tallyd [OPTIONS]
 *   tallyd [EAL OPTIONS] -- [OPTIONS]
 */

#include <arpa/inet.h>
#include <sched.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "config.h"
#include "dp.h"
#include "node.h"

#define EMBEDDED_NODES TALLY_MAX_NODES /* at most: the build's max_nodes */
#define SWITCH_BURST 64

static const char usage[] =
	"usage: tallyd [OPTIONS]\n"
	"       tallyd [EAL OPTIONS] -- [OPTIONS]\n"
	"       tallyd init --config FILE\n"
	"       tallyd recover --config FILE\n"
	"\n"
	"Run one tally node. Without --config, run the embedded cluster: three\n"
	"nodes in this process over DPDK ring ports, each with the simulated NIC,\n"
	"serving clients on 127.0.0.1 ports 7471, 7481 and 7491 (status pages on\n"
	"7472, 7482, 7492), n = 3, w = r = 2, every node's log on standard error.\n"
	"Its data lives in a fresh temporary directory that is\n"
	"removed at exit, unless --data-dir names one to keep. Try:\n"
	"    tallyd &  tallyctl wait-ready  tallyctl incr likes 5  tallyctl status\n"
	"\n"
	"With --config FILE (docs/config.md), run the node FILE's [node] id names,\n"
	"on the DPDK port EAL offers first, or on --iface's af_packet port.\n"
	"\n"
	"tallyd init --config FILE makes FILE's data_dir that of a new node of a\n"
	"new cluster, once, before its first start (docs/cluster.md). A node that\n"
	"starts on an empty data directory without it takes the directory for a\n"
	"lost disk: it recovers its own counts from every member before it takes\n"
	"writes, and stays recovering until every member has answered.\n"
	"\n"
	"tallyd recover --config FILE moves the log and snapshots of FILE's data_dir\n"
	"into data_dir/aside-TIME and marks the directory recovering, for a node\n"
	"that refuses to start on a corrupt log or snapshot: its next start recovers\n"
	"its counts from every member, as after a lost disk (docs/durability.md).\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE   be one node of the cluster FILE describes\n"
	"  -i, --iface IFACE   the cluster link is IFACE, through DPDK's net_af_packet\n"
	"                      (adds --vdev=net_af_packet0,iface=IFACE,... to EAL's\n"
	"                      options, its frame size from the file's mtu; IFACE's\n"
	"                      own MTU must be at least that)\n"
	"  -d, --data-dir DIR  the embedded cluster keeps its data in DIR/node0..\n"
	"      --backend B     embedded cluster's offload backend: sim (default) or cpu\n"
	"      --nodes M       embedded cluster of M nodes, 2..max_nodes (8 unless built\n"
	"                      with -Dmax_nodes; default 3); node i\n"
	"                      serves clients on port 7471 + 10 i, status on 7472 + 10 i\n"
	"      --replicas N    embedded cluster's n, 1..M (default 3, or M if smaller);\n"
	"                      w and r default to a majority of N\n"
	"      --table-entries K  embedded nodes' counter tables hold K keys (default 4096)\n"
	"      --fault-injection  embedded cluster: take tallyctl fault (tests only)\n"
	"      --commit P      embedded cluster's commit policy: sync (default; an ack\n"
	"                      counts replicas whose log holds the write) or interval[=MS]\n"
	"                      (the log synced every MS, default 10; an ack counts\n"
	"                      replicas that applied it in memory; docs/durability.md)\n"
	"      --lcore-per-node  embedded cluster: each node polls on an lcore (a thread)\n"
	"                      of its own, lcores 1..M spread over the CPUs this process\n"
	"                      may use, the switch on lcore 0; without it, one thread\n"
	"                      polls every node and the switch (docs/cluster.md)\n"
	"      --lww-prefix P   embedded cluster: MV-registers whose keys start with P are\n"
	"                       last-writer-wins (concurrent writes keep one value;\n"
	"                       docs/sessions.md); up to 8 times\n"
	"      --bootstrap     an empty data directory means a new node of a new\n"
	"                      cluster: tallyd init and a start in one (for scripts\n"
	"                      that start a fresh cluster every time; an operator's\n"
	"                      node is made once with tallyd init, docs/durability.md)\n"
	"  -q, --quiet         print only errors\n"
	"  -h, --help          print this and exit\n"
	"\n"
	"EAL options: with no \"--\", tallyd starts EAL with --no-huge -m 512\n"
	"--no-shconf --no-pci --no-telemetry -l 0 (and --iface's vdev). With \"--\",\n"
	"the options before it go to EAL exactly as given, as in DPDK's examples.\n"
	"\n"
	"Signals: SIGINT or SIGTERM stops cleanly (commit, snapshot, exit 0).\n"
	"Exit status: 0 stopped cleanly (init, recover: done), 1 failed to start or\n"
	"run (a corrupt data directory, too; init: the directory is not a new one),\n"
	"2 bad usage.\n";

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct opts {
	const char *config, *iface, *data_dir, *backend;
	bool bootstrap, quiet, init, recover;
	unsigned nodes, replicas, table_entries;
	unsigned commit_ms; /* --commit interval[=MS]; 0 = sync */
	const char *lww[8];
	unsigned nlww;
	bool faults;
	bool commit_set;
	bool lcore_per_node;
};

/* ---- the embedded cluster's switch ---- */

struct embedded {
	unsigned n;
	struct tally_node *node[EMBEDDED_NODES];
	uint16_t port[EMBEDDED_NODES];
	struct rte_ring *rx[EMBEDDED_NODES], *tx[EMBEDDED_NODES];
	uint32_t ip[EMBEDDED_NODES];
	bool cut[EMBEDDED_NODES]; /* set by a node's status port, read by the switch: __atomic */
	struct rte_mempool *pool;
	uint64_t switched, dropped_cut;
	char dir[200];
	bool own_dir;
};

static void
deliver(struct embedded *e, unsigned to, struct rte_mbuf *m)
{
	if (rte_ring_enqueue(e->rx[to], m) != 0)
		rte_pktmbuf_free(m);
	else
		__atomic_store_n(&e->switched, e->switched + 1, __ATOMIC_RELAXED); /* the switch alone writes it */
}

/* Move frames from each port's tx ring to the rx ring of the port with the
 * destination IPv4 address (ring ports all have the same MAC, so the switch
 * looks one layer up); flood broadcasts; drop whatever touches a cut node. */
static unsigned
switch_poll(struct embedded *e)
{
	struct rte_mbuf *pkts[SWITCH_BURST];
	unsigned work = 0;

	for (unsigned i = 0; i < e->n; i++) {
		unsigned got = rte_ring_dequeue_burst(e->tx[i], (void **)pkts, SWITCH_BURST, NULL);

		work += got;
		for (unsigned k = 0; k < got; k++) {
			struct rte_mbuf *m = pkts[k];
			const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
			const struct rte_ether_addr *dst = (const struct rte_ether_addr *)f;
			uint32_t dst_ip = rte_pktmbuf_data_len(m) >= 34 ? (uint32_t)f[30] << 24 | (uint32_t)f[31] << 16 |
										  (uint32_t)f[32] << 8 | f[33]
									: 0;
			bool sent = false;

			if (__atomic_load_n(&e->cut[i], __ATOMIC_RELAXED)) {
				__atomic_store_n(&e->dropped_cut, e->dropped_cut + 1, __ATOMIC_RELAXED);
				rte_pktmbuf_free(m);
				continue;
			}
			for (unsigned j = 0; j < e->n; j++) {
				if (j == i)
					continue;
				bool cut = __atomic_load_n(&e->cut[j], __ATOMIC_RELAXED);
				if (rte_is_broadcast_ether_addr(dst)) {
					if (cut)
						continue;
					struct rte_mbuf *c = rte_pktmbuf_copy(m, e->pool, 0, UINT32_MAX);
					if (c != NULL)
						deliver(e, j, c);
				} else if (dst_ip == e->ip[j]) {
					if (cut) {
						__atomic_store_n(&e->dropped_cut, e->dropped_cut + 1, __ATOMIC_RELAXED);
						break;
					}
					deliver(e, j, m);
					sent = true;
					break;
				}
			}
			if (!sent)
				rte_pktmbuf_free(m);
		}
	}
	return work;
}

/* GET /partition?isolate=N, /partition?heal, /partition: the switch's state. */
static int
embedded_admin(void *ctx, const char *path, char *out, size_t cap)
{
	struct embedded *e = ctx;
	int code = 200;
	unsigned id;

	if (strncmp(path, "/partition?isolate=", 19) == 0) {
		if (sscanf(path + 19, "%u", &id) != 1 || id >= e->n) {
			snprintf(out, cap, "{\"error\":\"no node %s in this cluster of %u\"}\n", path + 19, e->n);
			return 400;
		}
		__atomic_store_n(&e->cut[id], true, __ATOMIC_RELAXED);
	} else if (strcmp(path, "/partition?heal") == 0) {
		for (unsigned i = 0; i < e->n; i++)
			__atomic_store_n(&e->cut[i], false, __ATOMIC_RELAXED);
	} else if (strcmp(path, "/partition") != 0) {
		snprintf(out, cap, "{\"error\":\"try /status, /partition, /partition?isolate=N, /partition?heal\"}\n");
		return 404;
	}
	size_t len = (size_t)snprintf(out, cap, "{\"isolated\":[");
	bool first = true;
	for (unsigned i = 0; i < e->n && len < cap; i++)
		if (__atomic_load_n(&e->cut[i], __ATOMIC_RELAXED)) {
			len += (size_t)snprintf(out + len, cap - len, "%s%u", first ? "" : ",", i);
			first = false;
		}
	if (len < cap)
		snprintf(out + len, cap - len, "],\"switched\":%" PRIu64 ",\"dropped\":%" PRIu64 "}\n",
			 __atomic_load_n(&e->switched, __ATOMIC_RELAXED), __atomic_load_n(&e->dropped_cut, __ATOMIC_RELAXED));
	return code;
}

static void
remove_tree(const char *dir)
{
	char cmd[600];

	/* Only what tallyd made itself: a mkdtemp() directory of node directories. */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	(void)!system(cmd);
}

static int
embedded_start(struct embedded *e, const struct opts *o)
{
	char err[512], name[32];

	e->n = o->nodes;
	if (o->data_dir != NULL) {
		snprintf(e->dir, sizeof(e->dir), "%s", o->data_dir);
		if (mkdir(e->dir, 0700) != 0 && errno != EEXIST) {
			fprintf(stderr, "tallyd: %s: %s\n", e->dir, strerror(errno));
			return -1;
		}
	} else {
		snprintf(e->dir, sizeof(e->dir), "/tmp/tallyd-embedded-XXXXXX");
		if (mkdtemp(e->dir) == NULL) {
			fprintf(stderr, "tallyd: cannot make a temporary directory: %s\n", strerror(errno));
			return -1;
		}
		e->own_dir = true;
	}
	e->pool = rte_pktmbuf_pool_create("switch", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (e->pool == NULL) {
		fprintf(stderr, "tallyd: switch mbuf pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	for (unsigned i = 0; i < e->n; i++) {
		snprintf(name, sizeof(name), "rx%u", i);
		e->rx[i] = rte_ring_create(name, 4096, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "tx%u", i);
		e->tx[i] = rte_ring_create(name, 4096, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "node%u", i);
		int p = e->rx[i] && e->tx[i] ? rte_eth_from_rings(name, &e->rx[i], 1, &e->tx[i], 1, (unsigned)rte_socket_id())
					     : -1;
		if (p < 0) {
			fprintf(stderr, "tallyd: ring port %u: %s\n", i, rte_strerror(rte_errno));
			return -1;
		}
		e->port[i] = (uint16_t)p;
	}
	for (unsigned i = 0; i < e->n; i++) {
		struct tally_config c;

		tally_config_defaults(&c);
		c.self = (int)i;
		c.key_set = true; /* the embedded cluster's key is all zero: local use only */
		snprintf(c.data_dir, sizeof(c.data_dir), "%.200s/node%u", e->dir, i);
		snprintf(c.backend, sizeof(c.backend), "%s", o->backend ? o->backend : "sim");
		c.client_port = (uint16_t)(7471 + 10 * i);
		c.admin_port = (uint16_t)(7472 + 10 * i);
		c.mtu = 9000;
		c.n = o->replicas;
		c.w = c.r = o->replicas / 2 + 1;
		if (o->table_entries)
			c.table_entries = o->table_entries;
		for (unsigned k = 0; k < o->nlww; k++)
			snprintf(c.lww[k], sizeof(c.lww[k]), "%s", o->lww[k]);
		c.nlww = o->nlww;
		c.fault_injection = o->faults;
		c.commit_interval_ms = o->commit_ms;
		for (unsigned j = 0; j < e->n; j++) {
			c.members[j].present = true;
			c.members[j].ip = 0x0a4d0001 + j; /* 10.77.0.1.. on the switch */
			c.members[j].port = 7470;
		}
		c.nmembers = e->n;
		snprintf(name, sizeof(name), "node %u", i);
		struct tally_node_params p = {
			.cfg = &c, .port_id = e->port[i], .client_ip = 0x7f000001, .bootstrap = true,
			.log = o->quiet ? NULL : stderr, .name = name,
		};
		e->node[i] = tally_node_create(&p, err, sizeof(err));
		if (e->node[i] == NULL) {
			fprintf(stderr, "tallyd: node %u: %s\n", i, err);
			return -1;
		}
		tally_node_set_admin(e->node[i], embedded_admin, e);
		e->ip[i] = c.members[i].ip;
	}
	if (!o->quiet)
		fprintf(stderr,
			"tallyd: embedded cluster of %u nodes up, n=%u (data in %s%s); clients on 127.0.0.1 ports"
			" 7471, 7481, ...; status on 7472, 7482, ...\n",
			e->n, o->replicas, e->dir, e->own_dir ? ", removed at exit" : "");
	return 0;
}

static void
embedded_stop(struct embedded *e)
{
	for (unsigned i = 0; i < e->n; i++)
		tally_node_destroy(e->node[i]);
	if (e->own_dir)
		remove_tree(e->dir);
}

/* ---- the poll loops ---- */

/*
 * Poll @p k nodes, and the switch when @p sw is given, until stopped. When
 * a round finds nothing to do, sleep a little, longer the longer it stays
 * idle (up to @p idle_max_us), so an idle loop leaves the CPU to others
 * (docs/cluster.md: the price is that long on the first frame). While a
 * node's log commit is in flight on its thread, at most 5 us: what waits
 * for it goes out in the round after it ends.
 */
static void
poll_until_stopped(struct tally_node *const *nodes, unsigned k, struct embedded *sw, unsigned idle_max_us)
{
	unsigned idle_us = 0;

	while (!stop) {
		unsigned work = 0;
		bool committing = false;
		for (unsigned i = 0; i < k; i++) {
			work += tally_node_poll(nodes[i]);
			if (sw != NULL)
				work += switch_poll(sw);
			committing = committing || tally_node_committing(nodes[i]);
		}
		if (k == 0 && sw != NULL)
			work += switch_poll(sw);
		if (work > 0) {
			idle_us = 0;
			continue;
		}
		idle_us = committing ? 5 : idle_us ? (idle_us * 2 > idle_max_us ? idle_max_us : idle_us * 2) : 5;
		struct timespec ts = { 0, (long)idle_us * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* An embedded node on an lcore of its own. */
static int
node_lcore(void *arg)
{
	struct tally_node *n = arg;

	poll_until_stopped(&n, 1, NULL, 200);
	return 0;
}

/* --lcores for --lcore-per-node: lcore 0 (the switch) and 1..nodes, spread
 * round-robin over the CPUs this process may run on (taskset is kept). */
static int
lcores_arg(unsigned nodes, char *out, size_t cap)
{
	cpu_set_t set;
	unsigned cpus[CPU_SETSIZE], nc = 0;
	size_t len = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	for (unsigned c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[nc++] = c;
	if (nc == 0)
		return -1;
	for (unsigned l = 0; l <= nodes && len < cap; l++)
		len += (size_t)snprintf(out + len, cap - len, "%s%u@%u", l ? "," : "", l, cpus[l % nc]);
	return len < cap ? 0 : -1;
}

/* ---- main ---- */

/* The net_af_packet vdev for --iface: its ring frames and blocks follow
 * from the configured mtu (as the mbufs tally_dp_create() makes do), and
 * the interface must carry that mtu, or the kernel refuses full frames. */
static int
iface_vdev(const char *iface, unsigned mtu, char *out, size_t cap)
{
	struct tally_dp_af_packet g;
	struct ifreq ifr = { 0 };
	int s;

	if (strlen(iface) >= sizeof(ifr.ifr_name) || strchr(iface, ',') != NULL) {
		fprintf(stderr, "tallyd: --iface '%s': not an interface name\n", iface);
		return -1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || ioctl(s, SIOCGIFMTU, &ifr) != 0) {
		fprintf(stderr, "tallyd: --iface %s: %s\n", iface,
			errno == ENODEV ? "no such interface in this network namespace" : strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	close(s);
	if ((unsigned)ifr.ifr_mtu < mtu) {
		fprintf(stderr,
			"tallyd: --iface %s: its MTU is %d, below the configuration's mtu = %u; raise it"
			" (ip link set %s mtu %u) or lower mtu\n",
			iface, ifr.ifr_mtu, mtu, iface, mtu);
		return -1;
	}
	if (tally_dp_af_packet_geometry(mtu, &g) != 0) {
		fprintf(stderr, "tallyd: --iface %s: no af_packet geometry for mtu %u\n", iface, mtu);
		return -1;
	}
	snprintf(out, cap, "--vdev=net_af_packet0,iface=%s,blocksz=%u,framesz=%u,framecnt=%u", iface, g.blocksz,
		 g.framesz, g.framecnt);
	return 0;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },  { "iface", required_argument, NULL, 'i' },
		{ "data-dir", required_argument, NULL, 'd' }, { "backend", required_argument, NULL, 'b' },
		{ "bootstrap", no_argument, NULL, 'B' },      { "quiet", no_argument, NULL, 'q' },
		{ "nodes", required_argument, NULL, 'M' },    { "replicas", required_argument, NULL, 'N' },
		{ "table-entries", required_argument, NULL, 'T' }, { "lww-prefix", required_argument, NULL, 'L' },
		{ "fault-injection", no_argument, NULL, 'F' }, { "commit", required_argument, NULL, 'C' },
		{ "lcore-per-node", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:i:d:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'i':
			o->iface = optarg;
			break;
		case 'd':
			o->data_dir = optarg;
			break;
		case 'b':
			if (strcmp(optarg, "sim") != 0 && strcmp(optarg, "cpu") != 0) {
				fprintf(stderr, "tallyd: --backend: want sim or cpu, not '%s'\n", optarg);
				return 2;
			}
			o->backend = optarg;
			break;
		case 'B':
			o->bootstrap = true;
			break;
		case 'F':
			o->faults = true;
			break;
		case 'P':
			o->lcore_per_node = true;
			break;
		case 'C': {
			char *end;
			unsigned long v = 10;
			o->commit_set = true;
			if (strcmp(optarg, "sync") == 0) {
				o->commit_ms = 0;
				break;
			}
			if (strncmp(optarg, "interval", 8) != 0 || (optarg[8] != '\0' && optarg[8] != '=') ||
			    (optarg[8] == '=' && ((v = strtoul(optarg + 9, &end, 10)) < 1 || v > 10000 || *end != '\0' ||
						  optarg[9] < '0' || optarg[9] > '9'))) {
				fprintf(stderr, "tallyd: --commit: want sync, interval or interval=MS (1..10000), not '%s'\n",
					optarg);
				return 2;
			}
			o->commit_ms = (unsigned)v;
			break;
		}
		case 'L':
			if (o->nlww == 8 || strlen(optarg) == 0 || strlen(optarg) > TALLY_CONFIG_LWW_LEN) {
				fprintf(stderr, "tallyd: --lww-prefix: at most 8 prefixes of 1..%d bytes\n",
					TALLY_CONFIG_LWW_LEN);
				return 2;
			}
			o->lww[o->nlww++] = optarg;
			break;
		case 'M':
		case 'N':
		case 'T': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			unsigned long lo = ch == 'M' ? 2 : 1, hi = ch == 'M' ? EMBEDDED_NODES : ch == 'N' ? TALLY_MAX_NODES : 1u << 24;
			if (*optarg < '0' || *optarg > '9' || *end != '\0' || v < lo || v > hi) {
				fprintf(stderr, "tallyd: --%s: want a whole number in %lu..%lu, not '%s'\n",
					ch == 'M' ? "nodes" : ch == 'N' ? "replicas" : "table-entries", lo, hi, optarg);
				return 2;
			}
			*(ch == 'M' ? &o->nodes : ch == 'N' ? &o->replicas : &o->table_entries) = (unsigned)v;
			break;
		}
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "tallyd: try tallyd --help\n");
			return 2;
		}
	}
	if (optind < argc && strcmp(argv[optind], "init") == 0) {
		o->init = true;
		optind++;
	} else if (optind < argc && strcmp(argv[optind], "recover") == 0) {
		o->recover = true;
		optind++;
	}
	if (optind < argc) {
		fprintf(stderr, "tallyd: unexpected argument '%s'; try tallyd --help\n", argv[optind]);
		return 2;
	}
	if ((o->init || o->recover) && (o->config == NULL || o->iface != NULL || o->bootstrap)) {
		fprintf(stderr, "tallyd: %s takes --config FILE and nothing else: tallyd %s --config FILE\n",
			o->init ? "init" : "recover", o->init ? "init" : "recover");
		return 2;
	}
	if (o->config == NULL && o->iface != NULL) {
		fprintf(stderr, "tallyd: --iface needs --config (the embedded cluster runs on ring ports)\n");
		return 2;
	}
	if (o->config != NULL && (o->data_dir != NULL || o->backend != NULL || o->nodes || o->replicas ||
				  o->table_entries || o->nlww || o->faults || o->commit_set)) {
		fprintf(stderr, "tallyd: with --config, the file sets data_dir, backend, n, table_entries and commit\n");
		return 2;
	}
	if (o->config != NULL && o->lcore_per_node) {
		fprintf(stderr, "tallyd: --lcore-per-node is for the embedded cluster; a node of --config runs on one lcore\n");
		return 2;
	}
	if (o->nodes == 0)
		o->nodes = 3;
	if (o->replicas == 0)
		o->replicas = o->nodes < 3 ? o->nodes : 3;
	if (o->replicas > o->nodes) {
		fprintf(stderr, "tallyd: --replicas %u exceeds --nodes %u\n", o->replicas, o->nodes);
		return 2;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	char *eal_argv[32], vdev[160];
	int eal_argc = 0, sep = -1, rc;
	char **app_argv;
	int app_argc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	/* Our options: after "--", or all of them. */
	app_argc = sep >= 0 ? argc - sep : argc;
	app_argv = sep >= 0 ? argv + sep : argv;
	app_argv[0] = argv[0];
	rc = parse_opts(app_argc, app_argv, &o);
	if (rc >= 0)
		return rc;

	if (sep >= 0) {
		argv[sep] = NULL;
		eal_argc = sep;
		for (int i = 0; i < sep && i < 31; i++)
			eal_argv[i] = argv[i];
	} else {
		static char *defaults[] = { "tallyd", "--no-huge", "-m", "512", "--no-shconf", "--no-pci",
					    "--no-telemetry", "-l", "0", "--log-level", "*:error" };
		static char lcores[512];
		for (unsigned i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			eal_argv[eal_argc++] = defaults[i];
		if (o.lcore_per_node) {
			if (lcores_arg(o.nodes, lcores, sizeof(lcores)) != 0) {
				fprintf(stderr, "tallyd: --lcore-per-node: cannot read which CPUs this process may use\n");
				return 1;
			}
			eal_argv[7] = "--lcores"; /* for "-l 0" */
			eal_argv[8] = lcores;
		}
	}

	struct tally_config cfg;
	char err[512];
	if (o.config != NULL) {
		tally_config_defaults(&cfg);
		if (tally_config_load(&cfg, o.config, err, sizeof(err)) != 0) {
			fprintf(stderr, "tallyd: %s\n", err);
			return 1;
		}
		if (cfg.is_client) {
			fprintf(stderr, "tallyd: %s is a client file ([client]): give tallyd its node's configuration\n",
				o.config);
			return 1;
		}
	}
	if (o.init) {
		if (tally_node_init_dir(&cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "tallyd: init: %s\n", err);
			return 1;
		}
		printf("tallyd: %s is now the data directory of node %d, a new node: start it with tallyd --config %s\n",
		       cfg.data_dir, cfg.self, o.config);
		return 0;
	}
	if (o.recover) {
		char aside[TALLY_CONFIG_PATH_MAX + 32];
		if (tally_node_recover_dir(&cfg, aside, sizeof(aside), err, sizeof(err)) != 0) {
			fprintf(stderr, "tallyd: recover: %s\n", err);
			return 1;
		}
		printf("tallyd: node %d's log and snapshots are now in %s, and %s is marked recovering: start it with "
		       "tallyd --config %s; it recovers its counts from every member before it takes writes, and is "
		       "ready once all have answered. Remove %s once you no longer need it.\n",
		       cfg.self, aside, cfg.data_dir, o.config, aside);
		return 0;
	}
	if (o.iface != NULL) {
		if (iface_vdev(o.iface, cfg.mtu, vdev, sizeof(vdev)) != 0)
			return 1;
		if (eal_argc < 31)
			eal_argv[eal_argc++] = vdev;
	}
	eal_argv[eal_argc] = NULL;
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "tallyd: EAL failed to start: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	static struct embedded e;
	struct tally_node *one = NULL;
	if (o.config == NULL) {
		if (embedded_start(&e, &o) != 0) {
			embedded_stop(&e);
			rte_eal_cleanup();
			return 1;
		}
	} else {
		uint16_t port;
		char name[32];

		RTE_ETH_FOREACH_DEV(port) break;
		if (!rte_eth_dev_is_valid_port(port)) {
			fprintf(stderr, "tallyd: no DPDK port: give --iface IFACE, or EAL options with a port\n");
			rte_eal_cleanup();
			return 1;
		}
		snprintf(name, sizeof(name), "node %d", cfg.self);
		struct tally_node_params p = {
			.cfg = &cfg, .port_id = port, .client_ip = 0, .bootstrap = o.bootstrap,
			.log = o.quiet ? NULL : stderr, .name = name,
		};
		one = tally_node_create(&p, err, sizeof(err));
		if (one == NULL) {
			fprintf(stderr, "tallyd: %s\n", err);
			rte_eal_cleanup();
			return 1;
		}
	}

	if (one != NULL) {
		poll_until_stopped(&one, 1, NULL, 200);
	} else if (!o.lcore_per_node) {
		poll_until_stopped(e.node, e.n, &e, 200);
	} else {
		/* Each node on a worker lcore of its own; the switch here, on the
		 * main lcore, backing off less: every frame between nodes waits
		 * for it. */
		unsigned lcore = rte_get_main_lcore(), started = 0;
		for (unsigned i = 0; i < e.n; i++) {
			lcore = rte_get_next_lcore(lcore, 1, 0);
			if (lcore >= RTE_MAX_LCORE || rte_eal_remote_launch(node_lcore, e.node[i], lcore) != 0) {
				fprintf(stderr, "tallyd: --lcore-per-node: no worker lcore for node %u (EAL has %u lcores; "
						"give --lcores with one for the switch and one per node)\n",
					i, rte_lcore_count());
				stop = 1;
				break;
			}
			started++;
		}
		if (started == e.n)
			poll_until_stopped(NULL, 0, &e, 100);
		rte_eal_mp_wait_lcore();
	}
	if (!o.quiet)
		fprintf(stderr, "tallyd: stopping\n");
	if (one != NULL)
		tally_node_destroy(one);
	else
		embedded_stop(&e);
	rte_eal_cleanup();
	return 0;
}
