/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 *
 * The history checker (host/audit.c, docs/history.md): small histories, one
 * per promise, that must pass or be caught with the right classification;
 * parse errors with their lines; and a large random history of a perfect
 * (linearizable) counter that must pass, then fail once one acknowledged
 * write is dropped from it.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmocka_prelude.h"
#include "audit.h"
#include "prop.h"

/* Check @text as one history "h.txt" with options @o (NULL: defaults). */
static int
run(const char *text, const struct tally_audit_opts *o, struct tally_audit **out, struct tally_audit_report *r)
{
	struct tally_audit *a = tally_audit_new(o);
	FILE *f;

	assert_non_null(a);
	f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	assert_int_equal(tally_audit_add_file(a, "h.txt", f), 0);
	fclose(f);
	*out = a;
	return tally_audit_run(a, r);
}

/* The first anomaly of class @c, or fail. */
static const struct tally_audit_anomaly *
find(const struct tally_audit_report *r, enum tally_audit_class c)
{
	for (size_t i = 0; i < r->nanomalies; i++)
		if (r->anomalies[i].cls == c)
			return &r->anomalies[i];
	fail_msg("no %s anomaly among %zu", tally_audit_class_name(c), r->nanomalies);
	return NULL;
}

static const struct tally_audit_session *
session(const struct tally_audit_report *r, const char *name)
{
	for (size_t i = 0; i < r->nsessions; i++)
		if (strcmp(r->sessions[i].name, name) == 0)
			return &r->sessions[i];
	fail_msg("no session %s", name);
	return NULL;
}

static void
dump(const struct tally_audit_report *r)
{
	for (size_t i = 0; i < r->nanomalies; i++)
		print_message("  %s: %s (%s): %s\n", tally_audit_verdict_name(r->anomalies[i].verdict),
			      tally_audit_class_title(r->anomalies[i].cls), r->anomalies[i].reason,
			      r->anomalies[i].text);
	for (size_t i = 0; i < r->nerrors_kept; i++)
		print_message("  error: %s\n", r->errors[i]);
}

/* Run @text, expect success with @v violations and @c convergence-delay anomalies. */
static struct tally_audit *
expect(const char *text, const struct tally_audit_opts *o, struct tally_audit_report *r, uint64_t v, uint64_t c)
{
	struct tally_audit *a;
	int rc = run(text, o, &a, r);

	if (rc != 0 || r->violations != v || r->convergence != c) {
		dump(r);
		fail_msg("run %d, %" PRIu64 " violations and %" PRIu64 " convergence delay; want 0, %" PRIu64
			 " and %" PRIu64, rc, r->violations, r->convergence, v, c);
	}
	return a;
}

static void
test_clean_concurrent(void **state)
{
	static const char h[] =
		"# a clean history: two writers, readers in between\n"
		"0 cluster config - n=3 w=2 r=2 nodes=3\n"
		"\n"
		"10 s1 invoke incr key=k delta=5 id=a1:1 w=2\n"
		"12\ts2\tinvoke\tincr\tkey=k\tdelta=3\tid=b2:1\n"
		"15 s2 ok incr key=k value=3\n"
		"20 s1 ok incr\n"
		"25 s3 invoke get key=k\n"
		"30 s3 ok get key=k p=8 n=0 future_field=ignored\n"
		"31 s2 invoke decr key=k delta=2 id=b2:2\n"
		"31 s3 invoke get key=k\n"
		"32 s1 invoke get key=k r=2\n"
		"33 s2 ok decr key=k id=b2:2 delta=2\n"
		"34 s1 ok get key=k value=6\n"
		"36 s3 ok get key=k value=8\n" /* the decr may not be in it: acknowledged after it began */
		"37 s1 invoke get key=k\n"
		"38 s1 ok get key=k p=8 n=2\n"
		"39 s4 invoke incr key=k delta=7 id=c:1\n"
		"40 s4 fail incr status=unavailable\n"
		"41 s3 ok local key=k node=0 p=8 n=2\n"
		"42 s3 ok local key=k node=1 p=8 n=2\n"
		"43 s3 ok local key=k node=2 value=6\n";
	struct tally_audit_report r;
	struct tally_audit *a = expect(h, NULL, &r, 0, 0);

	(void)state;
	assert_int_equal(r.events, 20);
	assert_int_equal(r.keys, 1);
	assert_true(r.have_cluster && r.cluster_from_history);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.ops[TALLY_AUDIT_OP_INCR].invoked, 3);
	assert_int_equal(r.ops[TALLY_AUDIT_OP_INCR].ok, 2);
	assert_int_equal(r.ops[TALLY_AUDIT_OP_INCR].fail, 1);
	assert_int_equal(r.ops[TALLY_AUDIT_OP_DECR].ok, 1);
	assert_int_equal(r.ops[TALLY_AUDIT_OP_GET].invoked, 4);
	assert_int_equal(r.ops[TALLY_AUDIT_OP_LOCAL].ok, 3);
	assert_int_equal(r.write_ids, 4);
	assert_int_equal(r.acked, 3);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.unresolved, 0);
	assert_int_equal(r.reads_checked, 4);
	assert_int_equal(r.stale_reads, 0);
	assert_int_equal(r.keys_final_checked, 1);
	assert_int_equal(r.lost_units + r.double_units, 0);
	assert_false(r.convergence_measured); /* no fault, so no heal */
	assert_int_equal(r.nsessions, 4);
	assert_string_equal(r.sessions[0].name, "s1");
	assert_int_equal(r.sessions[0].reads, 2);
	tally_audit_free(a);
}

static void
test_lost_acknowledged(void **state)
{
	static const char base[] = "10 s1 invoke incr key=k delta=5 id=1:1\n"
				   "20 s1 ok incr\n"
				   "30 s2 invoke incr key=k delta=3 id=2:1\n"
				   "40 s2 ok incr\n"
				   "50 s2 invoke decr key=k delta=1 id=2:2\n"
				   "60 s2 ok decr\n";
	char h[1024];
	struct tally_audit_report r;
	struct tally_audit *a;

	(void)state;
	/* with p and n: the final P lacks the 3 */
	snprintf(h, sizeof(h), "%s100 s1 ok local key=k node=0 p=5 n=1\n100 s1 ok local key=k node=1 p=5 n=1\n", base);
	a = expect(h, NULL, &r, 1, 0);
	assert_int_equal(r.lost_units, 3);
	assert_int_equal(find(&r, TALLY_AUDIT_LOST)->verdict, TALLY_AUDIT_VIOLATION);
	assert_non_null(strstr(find(&r, TALLY_AUDIT_LOST)->text, "incr sum to 8"));
	assert_string_equal(find(&r, TALLY_AUDIT_LOST)->key, "k");
	assert_int_equal(find(&r, TALLY_AUDIT_LOST)->line, 8);
	tally_audit_free(a);
	/* on values: 4 where 7 was acknowledged */
	snprintf(h, sizeof(h), "%s100 s1 ok local key=k node=0 value=4\n", base);
	a = expect(h, NULL, &r, 1, 0);
	assert_int_equal(r.lost_units, 3);
	tally_audit_free(a);
	/* and the exact value passes */
	snprintf(h, sizeof(h), "%s100 s1 ok local key=k node=0 value=7\n", base);
	a = expect(h, NULL, &r, 0, 0);
	tally_audit_free(a);
	/* a lost decrement is caught only by components: value 8 could be 8 - 0 */
	snprintf(h, sizeof(h), "%s100 s1 ok local key=k node=0 p=8 n=0\n", base);
	a = expect(h, NULL, &r, 1, 0);
	assert_non_null(strstr(find(&r, TALLY_AUDIT_LOST)->text, "0 incr and 1 decr units lost"));
	tally_audit_free(a);
}

static void
test_double_counted_retry(void **state)
{
	static const char h[] = "10 s1 invoke incr key=k delta=5 id=ab:7\n"
				"20 s1 info incr status=indeterminate\n"
				"30 s1 invoke incr key=k delta=5 id=ab:7\n"
				"40 s1 ok incr key=k id=ab:7\n"
				"50 s9 ok local key=k node=0 p=10 n=0\n"
				"51 s9 ok local key=k node=1 p=10 n=0\n";
	struct tally_audit_report r;
	struct tally_audit *a = expect(h, NULL, &r, 1, 0);

	(void)state;
	assert_int_equal(r.write_ids, 1);
	assert_int_equal(r.retried, 1);
	assert_int_equal(r.acked, 1);
	assert_int_equal(r.double_units, 5);
	assert_int_equal(r.count[TALLY_AUDIT_DOUBLE][TALLY_AUDIT_VIOLATION], 1);
	assert_int_equal(r.ops[TALLY_AUDIT_OP_INCR].invoked, 2);
	assert_int_equal(r.ops[TALLY_AUDIT_OP_INCR].info, 1);
	tally_audit_free(a);
}

static void
test_unresolved_either_way(void **state)
{
	static const char base[] = "10 s1 invoke incr key=k delta=5 id=1:1\n"
				   "20 s1 ok incr\n"
				   "30 s1 invoke incr key=k delta=3 id=1:2\n"
				   "40 s1 info incr status=indeterminate\n";
	static const char *const finals[] = { "p=5 n=0", "p=8 n=0", "value=5", "value=8" };
	char h[512];
	struct tally_audit_report r;
	struct tally_audit *a;

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		snprintf(h, sizeof(h), "%s50 s2 ok local key=k node=0 %s\n", base, finals[i]);
		a = expect(h, NULL, &r, 0, 0);
		assert_int_equal(r.unresolved, 1);
		assert_int_equal(r.acked, 1);
		tally_audit_free(a);
	}
	snprintf(h, sizeof(h), "%s50 s2 ok local key=k node=0 p=9 n=0\n", base);
	a = expect(h, NULL, &r, 1, 0);
	assert_int_equal(r.double_units, 1);
	tally_audit_free(a);
	snprintf(h, sizeof(h), "%s50 s2 ok local key=k node=0 value=4\n", base);
	a = expect(h, NULL, &r, 1, 0);
	assert_int_equal(r.lost_units, 1);
	tally_audit_free(a);
	/* an invoke never completed is unresolved too */
	a = expect("10 s1 invoke incr key=k delta=5 id=1:1\n50 s2 ok local key=k node=0 value=5\n", NULL, &r, 0, 0);
	assert_int_equal(r.unresolved, 1);
	tally_audit_free(a);
}

static void
test_phantom_read(void **state)
{
	static const char h[] = "0 cluster config - n=3 w=2 r=2\n"
				"10 s1 invoke incr key=k delta=5 id=1:1\n"
				"20 s1 ok incr\n"
				"30 s2 invoke get key=k\n"
				"40 s2 ok get key=k value=7\n"
				/* a write invoked before the read completed may be in it, even unacknowledged */
				"50 s3 invoke incr key=k delta=2 id=3:1\n"
				"60 s2 invoke get key=k\n"
				"70 s2 ok get key=k value=7\n"
				/* without p and n, 8 may be a missed decr: stale, not phantom */
				"80 s4 invoke decr key=k delta=1 id=4:1\n"
				"90 s4 ok decr\n"
				"100 s2 invoke get key=k\n"
				"110 s2 ok get key=k value=7\n";
	struct tally_audit_report r;
	struct tally_audit *a = expect(h, NULL, &r, 2, 0);
	const struct tally_audit_anomaly *x = find(&r, TALLY_AUDIT_PHANTOM);

	(void)state;
	assert_int_equal(x->line, 5);
	assert_string_equal(x->process, "s2");
	assert_non_null(strstr(x->reason, "phantom"));
	assert_int_equal(r.count[TALLY_AUDIT_PHANTOM][TALLY_AUDIT_VIOLATION], 1);
	/* W + R > N, no fault: a violation, below "at most 6 expected" */
	assert_int_equal(r.count[TALLY_AUDIT_STALE][TALLY_AUDIT_VIOLATION], 1);
	assert_int_equal(find(&r, TALLY_AUDIT_STALE)->line, 12);
	assert_non_null(strstr(find(&r, TALLY_AUDIT_STALE)->text, "saw 7; at most 6 expected"));
	tally_audit_free(a);
}

static const char ryw_history[] = "0 cluster config - n=3 w=1 r=1\n"
				  "10 s1 invoke incr key=k delta=5 id=1:1 token=%d\n"
				  "20 s1 ok incr\n"
				  "30 s1 invoke get key=k token=%d node=2\n"
				  "40 s1 ok get key=k %s\n";

static void
test_read_your_writes(void **state)
{
	char h[512];
	struct tally_audit_report r;
	struct tally_audit *a;
	struct tally_audit_opts o = { .expect_sessions = true };

	(void)state;
	/* with the token: a violation, and the stale read is one too (the most severe of both checks) */
	snprintf(h, sizeof(h), ryw_history, 1, 1, "p=0 n=0");
	a = expect(h, NULL, &r, 2, 0);
	assert_int_equal(find(&r, TALLY_AUDIT_RYW)->verdict, TALLY_AUDIT_VIOLATION);
	assert_string_equal(find(&r, TALLY_AUDIT_RYW)->text,
			    "s1 get key=k r=1 at h.txt:5 saw p=0 n=0; its own acknowledged incr before it sum to 5 "
			    "(last at h.txt:3)");
	assert_int_equal(session(&r, "s1")->ryw[TALLY_AUDIT_VIOLATION], 1);
	assert_int_equal(r.stale[TALLY_AUDIT_VIOLATION], 1);
	assert_non_null(strstr(find(&r, TALLY_AUDIT_STALE)->reason, "W + R <= N"));
	tally_audit_free(a);
	/* without: within convergence delay, both */
	snprintf(h, sizeof(h), ryw_history, 0, 0, "value=0");
	a = expect(h, NULL, &r, 0, 2);
	assert_string_equal(find(&r, TALLY_AUDIT_RYW)->reason, "no session token presented");
	assert_string_equal(find(&r, TALLY_AUDIT_STALE)->reason, "W + R <= N");
	assert_int_equal(session(&r, "s1")->ryw[TALLY_AUDIT_CONVERGENCE], 1);
	tally_audit_free(a);
	/* unless every read was meant as a session read */
	a = expect(h, &o, &r, 2, 0);
	assert_int_equal(find(&r, TALLY_AUDIT_RYW)->verdict, TALLY_AUDIT_VIOLATION);
	tally_audit_free(a);
	/* seeing it is fine */
	snprintf(h, sizeof(h), ryw_history, 1, 1, "value=5");
	a = expect(h, &o, &r, 0, 0);
	tally_audit_free(a);
}

static void
test_monotonic_reads(void **state)
{
	static const char fmt[] = "0 cluster config - n=3 w=1 r=1\n"
				  "10 s1 invoke incr key=k delta=5 id=1:1\n"
				  "20 s1 ok incr\n"
				  "30 s2 invoke get key=k token=1\n"
				  "40 s2 ok get key=k %s\n"
				  "50 s2 invoke get key=k token=%d\n"
				  "60 s2 ok get key=k %s\n";
	char h[512];
	struct tally_audit_report r;
	struct tally_audit *a;

	(void)state;
	snprintf(h, sizeof(h), fmt, "p=5 n=0", 1, "p=0 n=0");
	a = expect(h, NULL, &r, 2, 0); /* monotonic reads, and the stale read it is */
	assert_int_equal(find(&r, TALLY_AUDIT_MR)->line, 7);
	assert_non_null(strstr(find(&r, TALLY_AUDIT_MR)->text, "after p=5 n=0 at h.txt:5"));
	assert_int_equal(session(&r, "s2")->mr[TALLY_AUDIT_VIOLATION], 1);
	assert_int_equal(session(&r, "s2")->reads, 2);
	assert_int_equal(session(&r, "s1")->reads, 0);
	tally_audit_free(a);
	snprintf(h, sizeof(h), fmt, "value=5", 0, "value=0");
	a = expect(h, NULL, &r, 0, 2);
	assert_int_equal(r.count[TALLY_AUDIT_MR][TALLY_AUDIT_CONVERGENCE], 1);
	tally_audit_free(a);
	/* a read that goes back, though not below what was acknowledged: only monotonic reads */
	static const char h2[] = "10 s1 invoke incr key=k delta=5 id=1:1\n"
				 "20 s2 invoke get key=k token=1\n"
				 "30 s2 ok get key=k value=5\n"
				 "40 s2 invoke get key=k token=1\n"
				 "50 s2 ok get key=k value=0\n";
	a = expect(h2, NULL, &r, 1, 0);
	assert_int_equal(r.stale_reads, 0);
	assert_int_equal(r.count[TALLY_AUDIT_MR][TALLY_AUDIT_VIOLATION], 1);
	tally_audit_free(a);
}

static const char quorum_history[] = "0 cluster config - n=3 w=2 r=2 settle_ms=1\n"
				     "%s"
				     "2000 s1 invoke incr key=k delta=5 id=1:1\n"
				     "2100 s1 ok incr\n"
				     "3000 s2 invoke get key=k\n"
				     "3100 s2 ok get key=k value=0\n";

static void
test_quorum_stale(void **state)
{
	char h[1024];
	struct tally_audit_report r;
	struct tally_audit *a;

	(void)state;
	/* W + R > N and no fault: a violation */
	snprintf(h, sizeof(h), quorum_history, "");
	a = expect(h, NULL, &r, 1, 0);
	const struct tally_audit_anomaly *x = find(&r, TALLY_AUDIT_STALE);
	assert_int_equal(x->verdict, TALLY_AUDIT_VIOLATION);
	assert_string_equal(x->reason, "W + R > N with no fault: quorum read missed an acknowledged write");
	assert_non_null(strstr(x->text, "id=1:1 delta=5 w=2 acknowledged at h.txt:3"));
	assert_int_equal(r.stale_reads, 1);
	assert_int_equal(r.stale[TALLY_AUDIT_VIOLATION], 1);
	tally_audit_free(a);
	/* during a partition: within convergence delay (sloppy quorum) */
	snprintf(h, sizeof(h), quorum_history, "1500 nemesis start partition-majority nodes=0|1,2\n"
					       "2500 nemesis stop partition-majority\n");
	a = expect(h, NULL, &r, 0, 1);
	assert_string_equal(find(&r, TALLY_AUDIT_STALE)->reason,
			    "sloppy quorum during partition-majority nodes=0|1,2 at h.txt:2");
	tally_audit_free(a);
	/* within settle_ms (1 ms) of its stop: still */
	snprintf(h, sizeof(h), quorum_history, "0 nemesis start kill\n1500 nemesis stop kill\n");
	a = expect(h, NULL, &r, 0, 1);
	tally_audit_free(a);
	/* long settled before the write: a violation again */
	snprintf(h, sizeof(h), quorum_history, "0 nemesis start kill\n500 nemesis stop kill\n");
	a = expect(h, NULL, &r, 1, 0);
	tally_audit_free(a);
	/* a fault that never stops covers the rest of the history */
	snprintf(h, sizeof(h), quorum_history, "3050 nemesis start pause\n");
	a = expect(h, NULL, &r, 0, 1);
	tally_audit_free(a);
	/* W + R <= N (the write's own w=1): within convergence delay */
	static const char weak[] = "0 cluster config - n=3 w=2 r=2\n"
				   "2000 s1 invoke incr key=k delta=5 id=1:1 w=1\n"
				   "2100 s1 ok incr\n"
				   "3000 s2 invoke get key=k\n"
				   "3100 s2 ok get key=k value=0\n";
	a = expect(weak, NULL, &r, 0, 1);
	assert_string_equal(find(&r, TALLY_AUDIT_STALE)->reason, "W + R <= N");
	tally_audit_free(a);
	/* no cluster config: never a quorum violation */
	a = expect(strchr(weak, '\n') + 1, NULL, &r, 0, 1);
	assert_false(r.have_cluster);
	assert_string_equal(find(&r, TALLY_AUDIT_STALE)->reason, "cluster n unknown: quorum not checked");
	assert_true(r.nwarnings >= 1);
	tally_audit_free(a);
	/* the options give what the history does not */
	struct tally_audit_opts o = { .n = 3, .w = 2, .r = 2 };
	snprintf(h, sizeof(h), quorum_history, "");
	a = expect(strchr(h, '\n') + 1, &o, &r, 1, 0);
	tally_audit_free(a);
}

static void
test_not_converged(void **state)
{
	static const char h[] = "10 s1 invoke incr key=k delta=5 id=1:1\n"
				"20 s1 ok incr\n"
				"30 s1 ok local key=k node=0 p=5 n=0\n"
				"31 s1 ok local key=k node=1 p=3 n=0\n"
				"32 s1 ok local key=k node=1 p=5 n=0\n"
				"33 s1 ok local key=k node=2 p=4 n=0\n";
	struct tally_audit_report r;
	struct tally_audit *a = expect(h, NULL, &r, 1, 0);
	const struct tally_audit_anomaly *x = find(&r, TALLY_AUDIT_NOT_CONVERGED);

	(void)state;
	assert_non_null(strstr(x->text, "node 0 has p=5 n=0 (h.txt:3), node 1 has p=5 n=0 (h.txt:5), "
					"node 2 has p=4 n=0 (h.txt:6)"));
	assert_int_equal(x->line, 6);
	tally_audit_free(a);
}

static void
test_convergence_time_and_faults(void **state)
{
	static const char h[] = "0 cluster config - n=3 w=1 r=1\n"
				"100000 nemesis start partition nodes=2\n"
				"150000 nemesis start kill nodes=1\n"
				"200000 nemesis stop kill\n"
				"300000 nemesis start partition nodes=0\n"
				"400000 s1 invoke incr key=k delta=5 id=1:1\n"
				"410000 s1 ok incr\n"
				"1000000 nemesis stop partition\n"
				"1000000 nemesis stop partition\n"
				/* after the heal at 1 s: node 0 catches up at 1.25 s, node 1 was there at 1.1 s */
				"1100000 s1 ok local key=k node=1 value=5\n"
				"1200000 s1 ok local key=k node=0 value=0\n"
				"1250000 s1 ok local key=k node=0 value=5\n"
				"1300000 s1 ok local key=k node=1 value=5\n"
				"1400000 s1 ok local key=k node=0 value=5\n"
				/* a key written and never read locally */
				"1500000 s1 invoke incr key=other delta=1 id=1:2\n"
				"1600000 s1 ok incr\n";
	struct tally_audit_report r;
	struct tally_audit *a = expect(h, NULL, &r, 0, 0);

	(void)state;
	assert_true(r.have_heal);
	assert_int_equal(r.last_heal, 1000000);
	assert_true(r.convergence_measured);
	assert_int_equal(r.convergence_ms, 250);
	assert_int_equal(r.fault_total, 3);
	assert_int_equal(r.nfaults, 2);
	assert_string_equal(r.faults[0].kind, "partition");
	assert_int_equal(r.faults[0].starts, 2);
	assert_string_equal(r.faults[1].kind, "kill");
	assert_int_equal(r.faults[1].starts, 1);
	assert_int_equal(r.keys_final_checked, 1);
	assert_int_equal(r.keys_final_unchecked, 1);
	bool warned = false;
	for (size_t i = 0; i < r.nwarnings; i++)
		warned |= strstr(r.warnings[i], "final value not checked for 1 written key") != NULL &&
			  strstr(r.warnings[i], "other") != NULL;
	assert_true(warned);
	tally_audit_free(a);
}

static void
test_parse_errors(void **state)
{
	static const char h[] = "10 s1 invoke incr key=k delta=5 id=1:1\n"
				"20 s1 invoke get key=k\n"
				"30 s2 invoke incr key=k delta=6 id=1:1\n"
				"40 s3 invoke get\n"
				"50 s4 ok get key=k value=1\n"
				"60 s5 launch get key=k\n"
				"70 s5 invoke get key=k r=x\n"
				"80 s6 invoke incr key=k delta=1\n"
				"90 s7 ok local key=k value=3\n"
				"100 nemesis stop kill\n"
				"oops s1 ok get\n"
				"5 s1 ok get key=k value=0\n";
	struct tally_audit_report r;
	struct tally_audit *a;
	static const char *const want[] = { /* by line */
		"h.txt:2: get invoke while the incr invoke of s1 at h.txt:1 is still open (no ok, fail or info)",
		"h.txt:3: op id 1:1 is incr key=k delta=5 at h.txt:1, here incr key=k delta=6: one id is one operation",
		"h.txt:4: get invoke needs key=",
		"h.txt:5: ok get without an open invoke of s4",
		"h.txt:6: unknown event 'launch' for session s5: want invoke, ok, fail or info",
		"h.txt:7: bad r=x",
		"h.txt:8: incr invoke needs delta= and id=",
		"h.txt:9: local ok needs key=, node= and value= (or p= and n=)",
		"h.txt:10: nemesis stop kill with no kill fault active",
		"h.txt:11: TIME: want integer microseconds, not 'oops'",
		"h.txt:12: time goes back for s1: 5 after 20 at line 2",
	};

	(void)state;
	assert_int_equal(run(h, NULL, &a, &r), -EINVAL);
	if (r.nerrors != sizeof(want) / sizeof(want[0]))
		dump(&r);
	assert_int_equal(r.nerrors, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(r.errors[i], want[i]);
	tally_audit_free(a);

	/* only the first max_errors keep their text; all are counted */
	struct tally_audit_opts o = { .max_errors = 2 };
	assert_int_equal(run(h, &o, &a, &r), -EINVAL);
	assert_int_equal(r.nerrors_kept, 2);
	assert_int_equal(r.nerrors, sizeof(want) / sizeof(want[0]));
	tally_audit_free(a);

	/* a completion that contradicts its invoke */
	assert_int_equal(run("10 s1 invoke incr key=k delta=5 id=1:1\n20 s1 ok incr id=1:2\n"
			     "30 s1 invoke get key=k\n40 s1 ok incr\n",
			     NULL, &a, &r),
			 -EINVAL);
	assert_int_equal(r.nerrors, 2);
	assert_string_equal(r.errors[0], "h.txt:2: id=1:2, but its invoke at h.txt:1 has id=1:1");
	assert_string_equal(r.errors[1], "h.txt:4: incr completion, but the open invoke of s1 at h.txt:3 is a get");
	tally_audit_free(a);
}

static void
test_two_files_merged(void **state)
{
	static const char ops[] = "0 cluster config - n=3 w=2 r=2\n"
				  "2000 s1 invoke incr key=k delta=5 id=1:1\n"
				  "2100 s1 ok incr\n"
				  "3000 s2 invoke get key=k\n"
				  "3100 s2 ok get key=k value=0\n"
				  "9000000 s2 ok local key=k node=0 value=5\n";
	/* the nemesis file, written out of order */
	static const char nem[] = "2500 nemesis stop partition-majority\n"
				  "1000 nemesis start partition-majority\n";
	struct tally_audit *a = tally_audit_new(NULL);
	struct tally_audit_report r;

	(void)state;
	assert_int_equal(tally_audit_add_line(a, "ops.txt", 1, "# operations"), 0);
	FILE *f = fmemopen((void *)nem, strlen(nem), "r");
	assert_int_equal(tally_audit_add_file(a, "nemesis.txt", f), 0);
	fclose(f);
	f = fmemopen((void *)ops, strlen(ops), "r");
	assert_int_equal(tally_audit_add_file(a, "ops.txt", f), 0);
	fclose(f);
	assert_int_equal(tally_audit_run(a, &r), 0);
	assert_int_equal(r.nfiles, 2);
	assert_int_equal(r.violations, 0);
	assert_int_equal(r.convergence, 1);
	assert_string_equal(r.anomalies[0].file, "ops.txt");
	assert_int_equal(r.anomalies[0].line, 5);
	assert_string_equal(r.anomalies[0].reason, "sloppy quorum during partition-majority at nemesis.txt:2");
	assert_int_equal(r.last_heal, 2500);
	assert_true(r.convergence_measured);
	assert_int_equal(r.convergence_ms, 8998);
	assert_int_equal(tally_audit_run(a, &r), -EBUSY);
	tally_audit_free(a);
}

/*
 * A large random history of a perfect counter: 10 sessions and 20 keys;
 * each operation takes effect at a random moment between its invoke and its
 * completion (linearizable), reads return the state there, some writes end
 * info (applied or not) and are retried with their id, some fail. Nothing
 * may be reported; then one acknowledged write dropped from the final state
 * must be.
 */
struct op {
	int64_t inv, eff, done;
	unsigned proc, key, kind; /* 0 incr, 1 decr, 2 get */
	int64_t delta, p, n;
	unsigned seq, outcome;    /* 0 ok, 1 info applied, 2 info not applied, 3 fail */
	bool retry;               /* a retry of the previous op of this session */
};

static int
cmp_eff(const void *x, const void *y)
{
	const struct op *const *p = x, *const *q = y;

	return (*p)->eff < (*q)->eff ? -1 : (*p)->eff > (*q)->eff;
}

static void
test_random_linearizable(void **state)
{
	enum { SESSIONS = 10, KEYS = 20, OPS_PER = 10000 };
	struct prng g;
	uint64_t seed = prop_seed();
	struct op *ops = calloc(SESSIONS * OPS_PER, sizeof(*ops));
	struct op **by = calloc(SESSIONS * OPS_PER, sizeof(*by));
	int64_t p[KEYS] = { 0 }, n[KEYS] = { 0 };
	size_t nops = 0;

	(void)state;
	prng_seed(&g, seed);
	assert_non_null(ops);
	for (unsigned s = 0; s < SESSIONS; s++) {
		int64_t t = (int64_t)prng_below(&g, 100);
		for (unsigned i = 0; i < OPS_PER; i++) {
			struct op *o = &ops[nops++], *prev = i ? o - 1 : NULL;
			o->proc = s;
			o->inv = t + 1 + (int64_t)prng_below(&g, 50);
			o->done = o->inv + 1 + (int64_t)prng_below(&g, 200);
			/* in doubled time, odd: strictly between its invoke and its completion */
			o->eff = o->inv * 2 + 1 + 2 * (int64_t)prng_below(&g, (uint64_t)(o->done - o->inv));
			t = o->done;
			if (prev && prev->kind < 2 && (prev->outcome == 1 || prev->outcome == 2) && !prev->retry &&
			    prng_below(&g, 2)) {
				/* retry the previous info write with its id: applied at most once */
				*o = (struct op){ .inv = o->inv, .eff = o->eff, .done = o->done, .proc = s,
						  .key = prev->key, .kind = prev->kind, .delta = prev->delta,
						  .seq = prev->seq,
						  .outcome = prev->outcome == 1 ? 4 /* ok, not applied again */ : 0,
						  .retry = true };
				continue;
			}
			o->key = (unsigned)prng_below(&g, KEYS);
			o->kind = (unsigned)prng_below(&g, 5) < 2 ? 2 : prng_below(&g, 4) == 0 ? 1 : 0;
			o->delta = 1 + (int64_t)prng_below(&g, 9);
			o->seq = i + 1;
			unsigned x = (unsigned)prng_below(&g, 20);
			o->outcome = o->kind == 2 ? 0 : x < 16 ? 0 : x < 17 ? 1 : x < 18 ? 2 : 3;
		}
	}
	/* apply in effect order */
	for (size_t i = 0; i < nops; i++)
		by[i] = &ops[i];
	qsort(by, nops, sizeof(*by), cmp_eff);
	for (size_t i = 0; i < nops; i++) {
		struct op *o = by[i];
		if (o->kind == 2) {
			o->p = p[o->key];
			o->n = n[o->key];
		} else if (o->outcome <= 1) {
			(o->kind == 0 ? p : n)[o->key] += o->delta;
		}
	}

	/* the history: invokes and completions at doubled times, then local reads */
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	assert_non_null(m);
	fprintf(m, "0 cluster config - n=3 w=2 r=2 nodes=3\n");
	static const char *const kn[] = { "incr", "decr", "get" };
	static const char *const outs[] = { "ok", "info", "info", "fail", "ok" };
	for (size_t i = 0; i < nops; i++) {
		const struct op *o = &ops[i];
		if (o->kind == 2) {
			fprintf(m, "%" PRId64 " s%u invoke get key=k%u\n", o->inv * 2, o->proc, o->key);
			if (o->seq % 2)
				fprintf(m, "%" PRId64 " s%u ok get key=k%u p=%" PRId64 " n=%" PRId64 "\n", o->done * 2,
					o->proc, o->key, o->p, o->n);
			else
				fprintf(m, "%" PRId64 " s%u ok get value=%" PRId64 "\n", o->done * 2, o->proc,
					o->p - o->n);
		} else {
			fprintf(m, "%" PRId64 " s%u invoke %s key=k%u delta=%" PRId64 " id=%x:%u\n", o->inv * 2,
				o->proc, kn[o->kind], o->key, o->delta, 0xc0 + o->proc, o->seq);
			fprintf(m, "%" PRId64 " s%u %s %s\n", o->done * 2, o->proc, outs[o->outcome], kn[o->kind]);
		}
	}
	int64_t end = 4 * (int64_t)OPS_PER * 400;
	for (unsigned k = 0; k < KEYS; k++)
		for (unsigned node = 0; node < 3; node++)
			fprintf(m, "%" PRId64 " s0 ok local key=k%u node=%u p=%" PRId64 " n=%" PRId64 "\n",
				end + k * 3 + node, k, node, p[k], n[k]);
	fclose(m);

	struct tally_audit_report r;
	struct tally_audit *a;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = run(text, NULL, &a, &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("  %" PRIu64 " events, %" PRIu64 " reads, %" PRIu64 " write ids checked in %.0f ms (seed %" PRIu64
		      ")\n", r.events, r.reads_checked, r.write_ids,
		      (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6, seed);
	if (rc != 0 || r.nanomalies != 0) {
		dump(&r);
		fail_msg("a linearizable history reported %zu anomalies (seed %" PRIu64 ")", r.nanomalies, seed);
	}
	assert_true(r.reads_checked > 10000);
	assert_true(r.retried > 0 && r.unresolved > 0 && r.failed > 0);
	tally_audit_free(a);

	/* key 0's final state one below its acknowledged increments */
	int64_t v = 0;
	char rest[256], *at;
	for (size_t i = 0; i < nops; i++)
		if (ops[i].key == 0 && ops[i].kind == 0 && (ops[i].outcome == 0 || ops[i].outcome == 4))
			v += ops[i].delta;
	for (unsigned node = 0; node < 3; node++) {
		char pat[64];
		snprintf(pat, sizeof(pat), " s0 ok local key=k0 node=%u p=", node);
		at = strstr(text, pat);
		assert_non_null(at);
		char *nl = strchr(at, '\n');
		snprintf(rest, sizeof(rest), "%s%" PRId64 " n=%" PRId64, pat, v - 1, n[0]);
		size_t rl = strlen(rest);
		assert_true(rl <= (size_t)(nl - at));
		memset(at, ' ', (size_t)(nl - at));
		memcpy(at, rest, rl);
	}
	rc = run(text, NULL, &a, &r);
	assert_int_equal(rc, 0);
	assert_int_equal(r.violations, 1);
	assert_int_equal(r.lost_units, 1);
	tally_audit_free(a);
	free(text);
	free(ops);
	free(by);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_concurrent),
		cmocka_unit_test(test_lost_acknowledged),
		cmocka_unit_test(test_double_counted_retry),
		cmocka_unit_test(test_unresolved_either_way),
		cmocka_unit_test(test_phantom_read),
		cmocka_unit_test(test_read_your_writes),
		cmocka_unit_test(test_monotonic_reads),
		cmocka_unit_test(test_quorum_stale),
		cmocka_unit_test(test_not_converged),
		cmocka_unit_test(test_convergence_time_and_faults),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_two_files_merged),
		cmocka_unit_test(test_random_linearizable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
