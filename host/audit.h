/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright (c) 2026 The tally authors
 */

/**
 * @file
 * The history checker (docs/history.md): reads histories of client
 * operations and faults, in history format v1, recorded while a cluster
 * ran under a nemesis, and reports what tally promised and did not keep.
 *
 * Each anomaly is classified: a **violation** (a promise broken: a read
 * above everything ever invoked, an acknowledged write lost or a retry
 * counted twice, a session read going back with its token presented, a
 * W + R > N read missing an acknowledged write with no fault near it,
 * replicas that disagree after the last heal) or **within convergence
 * delay** (a stale read that the quorums, the faults and the absent session
 * token allow).
 *
 * Usage: tally_audit_new(), tally_audit_add_file() (or _add_line()) for
 * each history, then tally_audit_run() once, read the report, and
 * tally_audit_free(). The report points into the checker's memory: it is
 * valid until tally_audit_free().
 *
 * The module owns its memory and prints nothing; it has no dependency on
 * DPDK or on a running cluster. Cost: O(E log E) for E events; the bound
 * checks use per-key prefix sums and binary search, never a scan per read.
 */

#ifndef TALLY_AUDIT_H
#define TALLY_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Settle time after a fault stops when neither the history nor the options give one. */
#define TALLY_AUDIT_SETTLE_MS_DEFAULT 5000
/** Parse errors kept with their text when the options say 0. */
#define TALLY_AUDIT_MAX_ERRORS_DEFAULT 20

/** Operation types counted by the report. */
enum tally_audit_op {
	TALLY_AUDIT_OP_INCR,
	TALLY_AUDIT_OP_DECR,
	TALLY_AUDIT_OP_GET,
	TALLY_AUDIT_OP_LOCAL, /**< only ok events: a replica's own state, no quorum */
	TALLY_AUDIT_NOPS,
};

/** Anomaly classes. */
enum tally_audit_class {
	TALLY_AUDIT_PHANTOM,       /**< a read above everything invoked before it completed */
	TALLY_AUDIT_RYW,           /**< a session read missing the session's own acknowledged writes */
	TALLY_AUDIT_MR,            /**< a session read below the session's previous read of the key */
	TALLY_AUDIT_STALE,         /**< a quorum read below what was acknowledged before it began */
	TALLY_AUDIT_NOT_CONVERGED, /**< replicas' last local reads of a key disagree after the last heal */
	TALLY_AUDIT_LOST,          /**< final state below the acknowledged writes */
	TALLY_AUDIT_DOUBLE,        /**< final state above every acknowledged and maybe-applied write */
	TALLY_AUDIT_NCLASSES,
};

/** How an anomaly is classified. */
enum tally_audit_verdict {
	TALLY_AUDIT_VIOLATION,   /**< a promise of tally broken */
	TALLY_AUDIT_CONVERGENCE, /**< within convergence delay: allowed by W, R, faults and no token */
	TALLY_AUDIT_NVERDICTS,
};

/** Options; all zero is the default. */
struct tally_audit_opts {
	bool expect_sessions; /**< every read is meant as a session read, token or not */
	bool have_settle;     /**< settle_ms overrides the history's settle_ms */
	int64_t settle_ms;    /**< ms after a fault stops during which staleness is still expected */
	unsigned n, w, r;     /**< nonzero: override the history's cluster config (replicas, quorums) */
	unsigned max_errors;  /**< parse errors kept with their text (0: 20); all are counted */
};

/** One anomaly and its evidence. Strings live until tally_audit_free(). */
struct tally_audit_anomaly {
	enum tally_audit_class cls;
	enum tally_audit_verdict verdict;
	const char *key;     /**< the key */
	const char *process; /**< the session, or NULL (final-state classes) */
	const char *file;    /**< where: the read's completion, or the key's latest local read */
	unsigned line;
	int64_t time;        /**< that line's TIME */
	const char *reason;  /**< why this classification, e.g. "W + R <= N"; never NULL */
	const char *text;    /**< the evidence: what was seen against what was expected, with FILE:LINE */
};

/** Counts of one operation type. */
struct tally_audit_op_counts {
	uint64_t invoked, ok, fail, info;
};

/** Session guarantees per client session. */
struct tally_audit_session {
	const char *name;
	uint64_t reads;                          /**< get ok events checked */
	uint64_t ryw[TALLY_AUDIT_NVERDICTS];     /**< read-your-writes anomalies by verdict */
	uint64_t mr[TALLY_AUDIT_NVERDICTS];      /**< monotonic-reads anomalies by verdict */
};

/** nemesis start events of one fault kind. */
struct tally_audit_fault {
	const char *kind;
	uint64_t starts;
};

/** What tally_audit_run() found. */
struct tally_audit_report {
	uint64_t events;     /**< events read (comments and blank lines excluded) */
	size_t nfiles;
	uint64_t keys;       /**< distinct keys */
	bool have_cluster;   /**< n known (the history's config line or the options) */
	bool cluster_from_history;
	unsigned n, w, r;    /**< the cluster used; 0 = unknown */
	int64_t settle_ms;

	struct tally_audit_op_counts ops[TALLY_AUDIT_NOPS];
	uint64_t write_ids;  /**< distinct op ids of incr/decr */
	uint64_t acked;      /**< ids with an ok */
	uint64_t failed;     /**< ids whose every attempt ended fail */
	uint64_t unresolved; /**< the others: an info, or no completion, and no ok */
	uint64_t retried;    /**< ids invoked more than once */

	uint64_t reads_checked;                   /**< get ok events */
	uint64_t stale_reads;                     /**< below what was acknowledged before them */
	uint64_t stale[TALLY_AUDIT_NVERDICTS];    /**< stale reads by their (most severe) verdict */

	uint64_t keys_final_checked;              /**< keys whose final state was checked */
	uint64_t keys_final_unchecked;            /**< written keys with no local read to check */
	uint64_t lost_units;                      /**< acknowledged units missing from final states */
	uint64_t double_units;                    /**< units beyond every possible write in final states */

	bool have_heal;                           /**< a fault was active and then none */
	int64_t last_heal;                        /**< the last such TIME (µs) */
	bool convergence_measured;
	int64_t convergence_ms;                   /**< last heal to the last replica holding the final value */
	const char *convergence_why;              /**< why it was not measured, when it was not */
	int64_t last_write;                       /**< the last write completion after the last heal, or the heal (µs) */
	int64_t settle_after_write_ms;            /**< from last_write to the last replica holding the final value */

	struct tally_audit_fault *faults;         /**< by kind, in order of first appearance */
	size_t nfaults;
	uint64_t fault_total;                     /**< nemesis start events */

	struct tally_audit_session *sessions;     /**< sessions with reads or writes, by name */
	size_t nsessions;

	uint64_t count[TALLY_AUDIT_NCLASSES][TALLY_AUDIT_NVERDICTS];
	uint64_t violations, convergence;         /**< anomalies by verdict, every class */
	struct tally_audit_anomaly *anomalies;    /**< every anomaly, in order of time */
	size_t nanomalies;

	const char **warnings;                    /**< checks that could not be done, and why */
	size_t nwarnings;

	uint64_t nerrors;                         /**< parse errors (the analysis is not done when > 0) */
	const char **errors;                      /**< the first max_errors, "FILE:LINE: problem" */
	size_t nerrors_kept;
};

struct tally_audit;

/** A checker with options @p o (NULL: defaults). @return it, or NULL (no memory). */
struct tally_audit *tally_audit_new(const struct tally_audit_opts *o);

/** Free @p a and everything its report points to. NULL is fine. */
void tally_audit_free(struct tally_audit *a);

/**
 * Read every line of @p f, a history named @p name in reports (FILE in
 * FILE:LINE). Parse errors are collected for the report, not returned.
 * @return 0, or -ENOMEM, -EIO (a read error), -EBUSY (after run).
 */
int tally_audit_add_file(struct tally_audit *a, const char *name, FILE *f);

/** One line (no newline needed) of history @p name at line @p lineno. @return as add_file. */
int tally_audit_add_line(struct tally_audit *a, const char *name, unsigned lineno, const char *line);

/**
 * Merge the histories added (stable sort by TIME), check them and fill @p r.
 * Once per checker. @return 0; -EINVAL when there were parse errors (only
 * the counts, r->nerrors and r->errors are filled); -ENOMEM; -EBUSY (twice).
 */
int tally_audit_run(struct tally_audit *a, struct tally_audit_report *r);

/** A class's identifier, as in JSON: "read-your-writes", "stale-read", ... */
const char *tally_audit_class_name(enum tally_audit_class c);
/** A class's name for people: "read-your-writes", "stale read", ... */
const char *tally_audit_class_title(enum tally_audit_class c);
/** "violation" or "convergence delay". */
const char *tally_audit_verdict_name(enum tally_audit_verdict v);
/** An op type's name: "incr", "decr", "get", "local". */
const char *tally_audit_op_name(enum tally_audit_op op);

#endif /* TALLY_AUDIT_H */
