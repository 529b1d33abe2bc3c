/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The node configuration file (host/config.c): a full file read back field
 * by field, defaults for everything left out, and every kind of mistake
 * (unknown section or key, a bad value of each type, options that
 * contradict each other, a syntax error, a missing file) refused with a
 * message that names the file and the line, keeping the first error.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmocka_prelude.h"
#include "config.h"

#define KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char path[64];

/* Write @p text to a fresh file; its name is in path. */
static void
write_file(const char *text)
{
	strcpy(path, "/tmp/tally-config-XXXXXX"); /* mkstemp() fills in the X's */
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Load @p text; @return load's result, the message in err. */
static int
load(const char *text, struct tally_config *c, char *err, size_t errlen)
{
	write_file(text);
	tally_config_defaults(c);
	int rc = tally_config_load(c, path, err, errlen);
	unlink(path);
	return rc;
}

static const char base[] = "[cluster]\nkey = " KEY "\n[node]\nid = 1\n[members]\n0 = 10.0.0.1\n1 = 10.0.0.2\n"
			   "2 = 10.0.0.3:9000\n";

static void
test_full_file(void **state)
{
	struct tally_config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(load("; a node of three\n"
			      "[cluster]\n"
			      "partitions = 1024\n"
			      "n = 3\n"
			      "w = 3\n"
			      "r = 1\n"
			      "port = 7480\n"
			      "key = " KEY "\n"
			      "lww_prefixes = flag:, feature: \n"
			      "[node]\n"
			      "id = 2\n"
			      "data_dir = /srv/tally\n"
			      "backend = sim\n"
			      "table_entries = 2048\n"
			      "client_port = 7481\n"
			      "admin_port = 7482\n"
			      "mtu = 9000\n"
			      "fault_injection = 1\n"
			      "[limits]\n"
			      "request_timeout_ms = 250\n"
			      "heartbeat_ms = 50\n"
			      "failure_ms = 400 ; inline comment\n"
			      "anti_entropy_ms = 0\n"
			      "repair_rate = 500\n"
			      "[members]\n"
			      "0 = 192.168.1.10\n"
			      "1 = 192.168.1.11:7500\n"
			      "2 = 192.168.1.12\n",
			      &c, err, sizeof(err)),
			 0);
	assert_int_equal(c.partitions, 1024);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.w, 3);
	assert_int_equal(c.r, 1);
	assert_int_equal(c.port, 7480);
	assert_true(c.key_set);
	assert_int_equal(c.key[0], 0x00);
	assert_int_equal(c.key[1], 0x11);
	assert_int_equal(c.key[31], 0xff);
	assert_int_equal(c.self, 2);
	assert_int_equal(c.nlww, 2);
	assert_string_equal(c.lww[0], "flag:");
	assert_string_equal(c.lww[1], "feature:");
	assert_string_equal(c.data_dir, "/srv/tally");
	assert_string_equal(c.backend, "sim");
	assert_int_equal(c.table_entries, 2048);
	assert_int_equal(c.client_port, 7481);
	assert_int_equal(c.admin_port, 7482);
	assert_int_equal(c.mtu, 9000);
	assert_int_equal(c.fault_injection, 1);
	assert_int_equal(c.request_timeout_ms, 250);
	assert_int_equal(c.heartbeat_ms, 50);
	assert_int_equal(c.failure_ms, 400);
	assert_int_equal(c.anti_entropy_ms, 0);
	assert_int_equal(c.repair_rate, 500);
	assert_int_equal(c.nmembers, 3);
	assert_int_equal(c.members[0].ip, 0xc0a8010a);
	assert_int_equal(c.members[0].port, 7480); /* the cluster port, though [members] came later */
	assert_int_equal(c.members[1].port, 7500);
	assert_false(c.members[3].present);
}

static void
test_defaults(void **state)
{
	struct tally_config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(load(base, &c, err, sizeof(err)), 0);
	assert_int_equal(c.partitions, 256);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.w, 2);
	assert_int_equal(c.r, 2);
	assert_int_equal(c.port, 7470);
	assert_string_equal(c.backend, "cpu");
	assert_string_equal(c.data_dir, "/var/lib/tally");
	assert_int_equal(c.table_entries, 4096);
	assert_int_equal(c.client_port, 7471);
	assert_int_equal(c.admin_port, 7472);
	assert_int_equal(c.mtu, 1500);
	assert_int_equal(c.request_timeout_ms, 1000);
	assert_int_equal(c.heartbeat_ms, 100);
	assert_int_equal(c.failure_ms, 1000);
	assert_int_equal(c.anti_entropy_ms, 10);
	assert_int_equal(c.repair_rate, 20000);
	assert_int_equal(c.write_rate, 8192);
	assert_int_equal(tally_config_ops(&c), 16384); /* 2 x 8192 writes/s x 1 s */
	assert_int_equal(c.members[0].port, 7470);
	assert_int_equal(c.members[2].port, 9000);
}

/* @p text must be refused with a message "PATH:LINE: ..." containing @p what. */
static void
refused(const char *text, unsigned line, const char *what)
{
	struct tally_config c;
	char err[256] = "", want[96];

	assert_int_equal(load(text, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:%u: ", path, line);
	if (strncmp(err, want, strlen(want)) != 0 || strstr(err, what) == NULL)
		fail_msg("want \"%s...%s\", got \"%s\"", want, what, err);
}

static void
test_bad_lines(void **state)
{
	(void)state;
	refused("[cluster]\nn = 3\nquorum = 2\n", 3, "unknown key 'quorum' in [cluster]");
	refused("[clustre]\nn = 3\n", 2, "unknown section [clustre]");
	refused("[cluster]\n\nn = 0\n", 3, "n: '0' is not a whole number in 1..8");
	refused("[cluster]\nn = 9\n", 2, "in 1..8");
	refused("[node]\nmtu = 100\n", 2, "mtu: '100' is not a whole number in 576..9000");
	refused("[cluster]\nn = three\n", 2, "'three'");
	refused("[cluster]\nn = 3x\n", 2, "'3x'");
	refused("[cluster]\nn = -1\n", 2, "'-1'");
	refused("[cluster]\npartitions = 65537\n", 2, "1..65536");
	refused("[cluster]\nport = 70000\n", 2, "1..65535");
	refused("[cluster]\nkey = 0011\n", 2, "64 hex digits");
	refused("[cluster]\nkey = " "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" "\n", 2,
		"'zz' is not a hex byte");
	refused("[node]\nbackend = fpga\n", 2, "'fpga' is not one of cpu, sim");
	refused("[node]\nid = 8\n", 2, "in 0..7");
	refused("[node]\ntable_entries = 16777217\n", 2, "1..16777216");
	refused("[limits]\nwrite_rate = 99\n", 2, "write_rate: '99' is not a whole number in 100..10000000");
	refused("[limits]\nwrite_rate = 10000001\n", 2, "100..10000000");
	refused("[members]\n0 = 10.0.0.1\n0 = 10.0.0.2\n", 3, "node 0 is given twice");
	refused("[members]\n8 = 10.0.0.1\n", 2, "not a node id in 0..7");
	refused("[members]\n0 = 10.0.0.256\n", 2, "not an IPv4 address[:port]");
	refused("[members]\n0 = 10.0.0.1:0\n", 2, "not an IPv4 address[:port]");
	refused("[members]\n0 = host.example\n", 2, "not an IPv4 address[:port]");
	refused("[cluster]\nn = 3\nthis is not ini\n", 3, "not a [section], a key = value or a comment");
	/* the first error is the one reported */
	refused("[cluster]\nn = 0\nw = 0\n", 2, "n: '0'");
}

/* @p text must be refused with "PATH: ..." containing @p what. */
static void
refused_whole(const char *text, const char *what)
{
	struct tally_config c;
	char err[256] = "", want[96];

	assert_int_equal(load(text, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: ", path);
	if (strncmp(err, want, strlen(want)) != 0 || strstr(err, what) == NULL)
		fail_msg("want \"%s...%s\", got \"%s\"", want, what, err);
}

static void
test_bad_whole(void **state)
{
	char text[512];

	(void)state;
	refused_whole("[cluster]\nkey = " KEY "\n[node]\nid = 0\n", "no [members]");
	refused_whole("[cluster]\nkey = " KEY "\n[members]\n0 = 10.0.0.1\n", "[node] id is missing");
	refused_whole("[cluster]\nkey = " KEY "\n[node]\nid = 3\n[members]\n0 = 10.0.0.1\n", "id 3 is not in [members]");
	refused_whole("[node]\nid = 0\n[members]\n0 = 10.0.0.1\n", "[cluster] key is missing");
	refused_whole("[cluster]\nkey = " KEY "\nn = 4\n[node]\nid = 0\n[members]\n0 = 10.0.0.1\n1 = 10.0.0.2\n",
		      "n = 4, but there are only 2 members");
	snprintf(text, sizeof(text), "%s[cluster]\nw = 4\n", base);
	refused_whole(text, "w = 4 and r = 2 must each be at most n = 3");
	snprintf(text, sizeof(text), "%s[limits]\nheartbeat_ms = 500\nfailure_ms = 500\n", base);
	refused_whole(text, "failure_ms = 500 must exceed heartbeat_ms = 500");
	snprintf(text, sizeof(text), "%s[cluster]\nretry_window_ms = 2000\n[limits]\nrequest_timeout_ms = 3000\n", base);
	refused_whole(text, "request_timeout_ms = 3000 must be at most [cluster] retry_window_ms = 2000");
	snprintf(text, sizeof(text), "%s[node]\nadmin_port = 7471\n", base);
	refused_whole(text, "client_port and admin_port are both 7471");
	refused_whole("[cluster]\nkey = " KEY "\n[node]\nid = 0\n[members]\n0 = 10.0.0.1\n1 = 10.0.0.1:7470\n",
		      "nodes 0 and 1 have the same address");
}

/* [cluster] commit: sync (the default), interval, interval MS; anything else refused. */
static void
test_commit(void **state)
{
	struct tally_config c;
	char text[512], err[256];
	static const struct {
		const char *v;
		int rc;
		unsigned ms;
	} cases[] = {
		{ "sync", 0, 0 },          { "interval", 0, 10 },     { "interval 25", 0, 25 },
		{ "interval   7", 0, 7 },  { "interval 10000", 0, 10000 }, { "interval 0", -EINVAL, 0 },
		{ "interval 10001", -EINVAL, 0 }, { "interval x", -EINVAL, 0 }, { "intervals", -EINVAL, 0 },
		{ "sometimes", -EINVAL, 0 }, { "", -EINVAL, 0 },
	};

	(void)state;
	assert_int_equal(load(base, &c, err, sizeof(err)), 0);
	assert_int_equal(c.commit_interval_ms, 0);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s[cluster]\ncommit = %s\n", base, cases[i].v);
		err[0] = '\0';
		int rc = load(text, &c, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("commit = '%s': %d (%s), want %d", cases[i].v, rc, err, cases[i].rc);
		if (rc == 0)
			assert_int_equal(c.commit_interval_ms, cases[i].ms);
		else if (strstr(err, "commit: ") == NULL)
			fail_msg("commit = '%s' refused with \"%s\"", cases[i].v, err);
	}
}

/* The op table follows write_rate and request_timeout_ms, within its bounds. */
static void
test_ops_sizing(void **state)
{
	struct tally_config c;

	(void)state;
	tally_config_defaults(&c);
	c.write_rate = 100;
	c.request_timeout_ms = 1000;
	assert_int_equal(tally_config_ops(&c), 4096); /* 200, raised to the floor */
	c.write_rate = 50000;
	c.request_timeout_ms = 250;
	assert_int_equal(tally_config_ops(&c), 25000);
	c.write_rate = 10000000;
	c.request_timeout_ms = 60000; /* 1.2e12: no overflow, capped */
	assert_int_equal(tally_config_ops(&c), 1u << 22);
}

static void
test_missing_file(void **state)
{
	struct tally_config c;
	char err[256] = "";

	(void)state;
	tally_config_defaults(&c);
	assert_int_equal(tally_config_load(&c, "/nonexistent/tally.ini", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/tally.ini: No such file or directory");
}

/* A client file: a [client] credential instead of the cluster key. */
static void
test_client_file(void **state)
{
	static const char cf[] = "[client]\nname = web-1\nid = 4000000000\nkey = 000102030405060708090a0b0c0d0e0f\n"
				 "[node]\nclient_port = 7501\n[members]\n0 = 10.0.0.1\n1 = 10.0.0.2\n2 = 10.0.0.3\n";
	struct tally_config c;
	char err[256] = "", text[512];

	(void)state;
	assert_int_equal(load(cf, &c, err, sizeof(err)), 0);
	assert_true(c.is_client);
	assert_false(c.key_set);
	assert_string_equal(c.client_name, "web-1");
	assert_int_equal(c.client_id, 4000000000u);
	assert_int_equal(c.client_key[15], 0x0f);
	assert_int_equal(c.client_port, 7501);
	snprintf(text, sizeof(text), "%s[cluster]\nkey = " KEY "\n", cf);
	refused_whole(text, "must not hold the [cluster] key");
	refused_whole("[client]\nname = a\nid = 1\n[members]\n0 = 10.0.0.1\n", "needs its id and key");
	snprintf(text, sizeof(text), "%s[node]\nid = 0\n", cf);
	refused_whole(text, "has no [node] id");
	refused("[client]\nname = a b\n", 2, "name: want");
	refused("[client]\nid = 4294967296\n", 2, "id: '4294967296' is not a whole number");
	refused("[client]\nkey = 0011\n", 2, "key: want 32 hex digits");
	refused("[client]\nsecret = 1\n", 2, "unknown key 'secret' in [client]");
	/* admin_bind */
	snprintf(text, sizeof(text), "%s[node]\nadmin_bind = 127.0.0.1\n", base);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_true(c.admin_bind_set);
	assert_int_equal(c.admin_ip, 0x7f000001u);
	snprintf(text, sizeof(text), "%s[node]\nadmin_bind = localhost\n", base);
	refused(text, 10, "admin_bind: 'localhost' is not an IPv4 address");
	/* The operator's credential needs the cluster key; a client file has none. */
	char mac[65], mac2[65];
	assert_int_equal(load(base, &c, err, sizeof(err)), 0);
	assert_int_equal(tally_config_admin_mac(&c, "/fault?clear", mac), 0);
	assert_int_equal(tally_config_admin_mac(&c, "/fault?clear ", mac2), 0);
	assert_int_equal(strlen(mac), 64);
	assert_string_not_equal(mac, mac2);
	assert_int_equal(load(cf, &c, err, sizeof(err)), 0);
	assert_int_equal(tally_config_admin_mac(&c, "/fault?clear", mac), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),     cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad_lines),     cmocka_unit_test(test_bad_whole),
		cmocka_unit_test(test_ops_sizing),    cmocka_unit_test(test_client_file),
		cmocka_unit_test(test_missing_file),    cmocka_unit_test(test_commit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
