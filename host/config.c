/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The node configuration file: inih does the INI syntax; this file knows
 * every section and key, parses and range-checks each value where it
 * appears (so an error names its line), and checks the options against each
 * other at the end. The reader counts lines itself, since Debian's inih is
 * built without line numbers in the handler.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <sodium.h>

#include "config.h"

/* What a client file's [client] name may hold. */
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

struct parse {
	struct tally_config *c;
	FILE *f;
	const char *path;
	unsigned line;    /* the line inih is on */
	char *err;
	size_t errlen;
	bool failed;
};

static int __attribute__((format(printf, 2, 3)))
fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return 0; /* keep the first error */
	p->failed = true;
	n = snprintf(p->err, p->errlen, "%s:%u: ", p->path, p->line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* An unsigned decimal in [lo, hi]. */
static bool
uint_in(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	*out = strtoul(v, &end, 10);
	return errno == 0 && *end == '\0' && *out >= lo && *out <= hi;
}

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* "a.b.c.d" or "a.b.c.d:port"; port 0 until check_whole() (the cluster's). */
static bool
member_addr(const char *v, struct tally_config_member *m)
{
	char ip[32];
	const char *colon = strchr(v, ':');
	size_t len = colon ? (size_t)(colon - v) : strlen(v);
	struct in_addr a;
	unsigned long port = 0;

	if (len == 0 || len >= sizeof(ip))
		return false;
	memcpy(ip, v, len);
	ip[len] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1)
		return false;
	if (colon != NULL && !uint_in(colon + 1, 1, 65535, &port))
		return false;
	m->present = true;
	m->ip = ntohl(a.s_addr);
	m->port = (uint16_t)port;
	return true;
}

#define UINT_KEY(sec, name, field, lo, hi)                                                          \
	if (strcmp(section, sec) == 0 && strcmp(key, name) == 0) {                                  \
		unsigned long x;                                                                    \
		if (!uint_in(value, lo, hi, &x))                                                    \
			return fail(p, "%s: '%s' is not a whole number in %lu..%lu", name, value,  \
				    (unsigned long)(lo), (unsigned long)(hi));                      \
		c->field = (__typeof__(c->field))x;                                                 \
		return 1;                                                                           \
	}

static int
on_value(void *user, const char *section, const char *key, const char *value)
{
	struct parse *p = user;
	struct tally_config *c = p->c;

	UINT_KEY("cluster", "partitions", partitions, 1, 65536)
	UINT_KEY("cluster", "n", n, 1, TALLY_MAX_NODES)
	UINT_KEY("cluster", "w", w, 1, TALLY_MAX_NODES)
	UINT_KEY("cluster", "r", r, 1, TALLY_MAX_NODES)
	UINT_KEY("cluster", "port", port, 1, 65535)
	UINT_KEY("cluster", "retry_window_ms", retry_window_ms, 1000, 3600000)
	UINT_KEY("node", "id", self, 0, TALLY_MAX_NODES - 1)
	UINT_KEY("node", "table_entries", table_entries, 1, 1u << 24)
	UINT_KEY("node", "client_port", client_port, 1, 65535)
	UINT_KEY("node", "admin_port", admin_port, 1, 65535)
	UINT_KEY("node", "mtu", mtu, 576, 9000)
	UINT_KEY("node", "fault_injection", fault_injection, 0, 1)
	UINT_KEY("limits", "anti_entropy_ms", anti_entropy_ms, 0, 60000)
	UINT_KEY("limits", "repair_rate", repair_rate, 1, 10000000)
	UINT_KEY("limits", "token_ttl_s", token_ttl_s, 1, 31536000)
	UINT_KEY("limits", "request_timeout_ms", request_timeout_ms, 1, 3600000)
	UINT_KEY("limits", "heartbeat_ms", heartbeat_ms, 1, 60000)
	UINT_KEY("limits", "failure_ms", failure_ms, 1, 3600000)
	UINT_KEY("limits", "retry_capacity", retry_capacity, 1024, 1u << 26)
	UINT_KEY("limits", "write_rate", write_rate, 100, 10000000)

	if (strcmp(section, "client") == 0) {
		c->is_client = true;
		if (strcmp(key, "name") == 0) {
			size_t len = strlen(value);
			if (len == 0 || len >= sizeof(c->client_name) || strspn(value, NAME_CHARS) != len)
				return fail(p, "name: want 1..%zu letters, digits, '.', '_' or '-'", sizeof(c->client_name) - 1);
			strcpy(c->client_name, value);
			return 1;
		}
		if (strcmp(key, "id") == 0) {
			unsigned long x;
			if (!uint_in(value, 0, UINT32_MAX, &x))
				return fail(p, "id: '%s' is not a whole number in 0..%lu", value, (unsigned long)UINT32_MAX);
			c->client_id = (uint32_t)x;
			c->client_id_set = true;
			return 1;
		}
		if (strcmp(key, "key") == 0) {
			if (strlen(value) != 32)
				return fail(p, "key: want 32 hex digits (16 bytes), got %zu characters", strlen(value));
			for (unsigned i = 0; i < 16; i++) {
				int hi = hexval(value[2 * i]), lo = hexval(value[2 * i + 1]);
				if (hi < 0 || lo < 0)
					return fail(p, "key: '%c%c' is not a hex byte", value[2 * i], value[2 * i + 1]);
				c->client_key[i] = (uint8_t)(hi << 4 | lo);
			}
			c->client_key_set = true;
			return 1;
		}
		return fail(p, "unknown key '%s' in [client] (known: name, id, key)", key);
	}
	if (strcmp(section, "cluster") == 0 && strcmp(key, "key") == 0) {
		if (strlen(value) != 64)
			return fail(p, "key: want 64 hex digits (32 bytes), got %zu characters", strlen(value));
		for (unsigned i = 0; i < 32; i++) {
			int hi = hexval(value[2 * i]), lo = hexval(value[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return fail(p, "key: '%c%c' is not a hex byte", value[2 * i], value[2 * i + 1]);
			c->key[i] = (uint8_t)(hi << 4 | lo);
		}
		c->key_set = true;
		return 1;
	}
	if (strcmp(section, "cluster") == 0 && strcmp(key, "commit") == 0) {
		/* "sync", or "interval" with an optional period in ms (default 10) */
		unsigned long ms = 10;
		if (strcmp(value, "sync") == 0) {
			c->commit_interval_ms = 0;
			return 1;
		}
		if (strncmp(value, "interval", 8) == 0 && (value[8] == '\0' || value[8] == ' ')) {
			const char *v = value + 8;
			while (*v == ' ')
				v++;
			if (*v != '\0' && !uint_in(v, 1, 10000, &ms))
				return fail(p, "commit: interval '%s' is not a whole number of ms in 1..10000", v);
			c->commit_interval_ms = (unsigned)ms;
			return 1;
		}
		return fail(p, "commit: '%s' is neither 'sync' nor 'interval [MS]'", value);
	}
	if (strcmp(section, "node") == 0 && strcmp(key, "data_dir") == 0) {
		if (*value == '\0' || strlen(value) >= sizeof(c->data_dir))
			return fail(p, "data_dir: want a path of 1..%zu characters", sizeof(c->data_dir) - 1);
		strcpy(c->data_dir, value);
		return 1;
	}
	if (strcmp(section, "cluster") == 0 && strcmp(key, "lww_prefixes") == 0) {
		/* comma-separated prefixes, spaces around them ignored */
		c->nlww = 0;
		for (const char *v = value; *v != '\0';) {
			while (*v == ' ' || *v == ',')
				v++;
			size_t len = strcspn(v, ",");
			while (len > 0 && v[len - 1] == ' ')
				len--;
			if (len == 0)
				break;
			if (c->nlww == TALLY_CONFIG_LWW_MAX || len > TALLY_CONFIG_LWW_LEN)
				return fail(p, "lww_prefixes: at most %d prefixes of at most %d bytes each", TALLY_CONFIG_LWW_MAX,
					    TALLY_CONFIG_LWW_LEN);
			memcpy(c->lww[c->nlww], v, len);
			c->lww[c->nlww++][len] = '\0';
			v += len;
			while (*v == ' ')
				v++;
		}
		return 1;
	}
	if (strcmp(section, "node") == 0 && strcmp(key, "admin_bind") == 0) {
		struct in_addr a;
		if (inet_pton(AF_INET, value, &a) != 1)
			return fail(p, "admin_bind: '%s' is not an IPv4 address", value);
		c->admin_ip = ntohl(a.s_addr);
		c->admin_bind_set = true;
		return 1;
	}
	if (strcmp(section, "node") == 0 && strcmp(key, "backend") == 0) {
		if (strcmp(value, "cpu") != 0 && strcmp(value, "sim") != 0)
			return fail(p, "backend: '%s' is not one of cpu, sim", value);
		strcpy(c->backend, value);
		return 1;
	}
	if (strcmp(section, "members") == 0) {
		unsigned long id;
		if (!uint_in(key, 0, TALLY_MAX_NODES - 1, &id))
			return fail(p, "members: '%s' is not a node id in 0..%d", key, TALLY_MAX_NODES - 1);
		if (c->members[id].present)
			return fail(p, "members: node %lu is given twice", id);
		if (!member_addr(value, &c->members[id]))
			return fail(p, "members: node %lu: '%s' is not an IPv4 address[:port]", id, value);
		c->nmembers++;
		return 1;
	}
	if (strcmp(section, "cluster") != 0 && strcmp(section, "node") != 0 && strcmp(section, "limits") != 0)
		return fail(p, "unknown section [%s] (known: cluster, node, limits, members, client)", section);
	return fail(p, "unknown key '%s' in [%s]", key, section);
}

/* fgets for inih, counting lines so errors can name theirs. */
static char *
read_line(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	char *r = fgets(buf, size, p->f);

	if (r != NULL)
		p->line++;
	return r;
}

void
tally_config_defaults(struct tally_config *c)
{
	memset(c, 0, sizeof(*c));
	c->partitions = 256;
	c->n = 3;
	c->w = 2;
	c->r = 2;
	c->port = 7470;
	c->self = -1;
	strcpy(c->data_dir, "/var/lib/tally");
	strcpy(c->backend, "cpu");
	c->table_entries = 4096;
	c->client_port = 7471;
	c->admin_port = 7472;
	c->mtu = 1500;
	c->request_timeout_ms = 1000;
	c->heartbeat_ms = 100;
	c->failure_ms = 1000;
	c->anti_entropy_ms = 10;
	c->repair_rate = 20000;
	c->token_ttl_s = 86400;
	c->retry_window_ms = 10000;
	c->retry_capacity = 1u << 20;
	c->write_rate = 8192;
}

/* Checks of the options against each other. */
static int
check_whole(struct parse *p)
{
	struct tally_config *c = p->c;

	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		if (c->members[i].present && c->members[i].port == 0)
			c->members[i].port = c->port;
	for (unsigned i = 0; i < TALLY_MAX_NODES; i++)
		for (unsigned j = i + 1; j < TALLY_MAX_NODES; j++)
			if (c->members[i].present && c->members[j].present && c->members[i].ip == c->members[j].ip &&
			    c->members[i].port == c->members[j].port) {
				snprintf(p->err, p->errlen, "%s: [members] nodes %u and %u have the same address",
					 p->path, i, j);
				return -EINVAL;
			}
	if (c->nmembers == 0)
		snprintf(p->err, p->errlen, "%s: no [members]: list every node as ID = ADDRESS[:PORT]", p->path);
	else if (c->is_client && c->key_set)
		snprintf(p->err, p->errlen,
			 "%s: a client file ([client]) must not hold the [cluster] key: give clients their own "
			 "credential (tallyctl keygen --client NAME)", p->path);
	else if (c->is_client && (!c->client_id_set || !c->client_key_set))
		snprintf(p->err, p->errlen, "%s: [client] needs its id and key (tallyctl keygen --client NAME writes them)",
			 p->path);
	else if (c->is_client && c->self >= 0)
		snprintf(p->err, p->errlen, "%s: a client file ([client]) has no [node] id", p->path);
	else if (c->self < 0 && !c->is_client)
		snprintf(p->err, p->errlen, "%s: [node] id is missing: which member is this node?", p->path);
	else if (c->self >= 0 && !c->members[c->self].present)
		snprintf(p->err, p->errlen, "%s: [node] id %d is not in [members]", p->path, c->self);
	else if (!c->key_set && !c->is_client)
		snprintf(p->err, p->errlen, "%s: [cluster] key is missing (64 hex digits, the same on every node)",
			 p->path);
	else if (c->n > c->nmembers)
		snprintf(p->err, p->errlen, "%s: [cluster] n = %u, but there are only %u members", p->path, c->n,
			 c->nmembers);
	else if (c->w > c->n || c->r > c->n)
		snprintf(p->err, p->errlen, "%s: [cluster] w = %u and r = %u must each be at most n = %u", p->path,
			 c->w, c->r, c->n);
	else if (c->client_port == c->admin_port)
		snprintf(p->err, p->errlen, "%s: [node] client_port and admin_port are both %u", p->path,
			 c->client_port);
	else if (c->request_timeout_ms > c->retry_window_ms)
		snprintf(p->err, p->errlen,
			 "%s: [limits] request_timeout_ms = %u must be at most [cluster] retry_window_ms = %u", p->path,
			 c->request_timeout_ms, c->retry_window_ms);
	else if (c->failure_ms <= c->heartbeat_ms)
		snprintf(p->err, p->errlen, "%s: [limits] failure_ms = %u must exceed heartbeat_ms = %u", p->path,
			 c->failure_ms, c->heartbeat_ms);
	else
		return 0;
	return -EINVAL;
}

int
tally_config_load(struct tally_config *c, const char *path, char *err, size_t errlen)
{
	struct parse p = { .c = c, .path = path, .err = err, .errlen = errlen };
	int rc;

	p.f = fopen(path, "r");
	if (p.f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc == -ENOENT || rc == -EACCES ? rc : -EIO;
	}
	rc = ini_parse_stream(read_line, &p, on_value, &p);
	fclose(p.f);
	if (p.failed)
		return -EINVAL;
	if (rc != 0) {
		/* inih's own complaint: a line that is neither a section, a key = value nor a comment */
		snprintf(err, errlen, "%s:%d: not a [section], a key = value or a comment", path, rc);
		return -EINVAL;
	}
	return check_whole(&p);
}

unsigned
tally_config_ops(const struct tally_config *c)
{
	uint64_t ops = 2u * (uint64_t)c->write_rate * c->request_timeout_ms / 1000u;

	return (unsigned)(ops < 4096u ? 4096u : ops > (1u << 22) ? (1u << 22) : ops);
}

int
tally_config_admin_mac(const struct tally_config *c, const char *path, char hex[65])
{
	static const char ctx[crypto_kdf_CONTEXTBYTES] = { 't', 'a', 'l', 'l', 'y', 'a', 'd', 'm' };
	uint8_t key[crypto_auth_KEYBYTES], mac[crypto_auth_BYTES];

	if (!c->key_set || sodium_init() < 0 || crypto_kdf_derive_from_key(key, sizeof(key), 1, ctx, c->key) != 0)
		return -EINVAL;
	crypto_auth(mac, (const unsigned char *)path, strlen(path), key);
	sodium_memzero(key, sizeof(key));
	sodium_bin2hex(hex, 65, mac, sizeof(mac));
	return 0;
}
