#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# tallyctl audit on the histories in data/: exit 0 on a clean one, 1 on one
# with violations, 2 on one that does not parse or a bad option; --json is
# valid JSON with the counts; - reads standard input; no node is needed.
#
# usage: audit_cli.sh TALLYCTL DATA-DIR
set -u
ctl=$1
data=$2
fails=0
out=$(mktemp)
trap 'rm -f "$out" "$out.nemesis"' EXIT

# expect CODE WHAT COMMAND...: run COMMAND, its output in $out, and check its exit status
expect() {
	want=$1 what=$2
	shift 2
	"$@" >"$out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $what: exit $got, want $want; output:"
		cat "$out"
		fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}

# contains TEXT WHAT: the last output contains TEXT
contains() {
	if ! grep -qF -- "$1" "$out"; then
		echo "FAIL: $2: no '$1' in:"
		cat "$out"
		fails=$((fails + 1))
	fi
}

expect 0 "clean history" "$ctl" audit "$data/audit_clean.txt"
contains "audit: 0 violations, 1 within convergence delay" "clean summary"
contains "convergence delay: stale read (W + R <= N): s3 get key=likes r=1 at $data/audit_clean.txt:20" "clean anomaly"
contains "convergence: 3 ms after the last heal" "clean convergence"
contains "faults: 1 (partition-majority 1)" "clean faults"

expect 1 "history with violations" "$ctl" audit "$data/audit_violation.txt"
contains "violation: read-your-writes (session token presented): s1 get key=views r=1 at $data/audit_violation.txt:10 saw 0; its own acknowledged incr before it sum to 3" "ryw"
contains "violation: lost acknowledged write" "lost"
contains "convergence delay: stale read (sloppy quorum during partition-one nodes=2 at $data/audit_violation.txt:15)" "sloppy"
contains "audit: 3 violations, 2 within convergence delay" "violation summary"

expect 1 "--json" "$ctl" audit --json "$data/audit_violation.txt"
if command -v python3 >/dev/null; then
	python3 - "$out" <<'PY' || fails=$((fails + 1))
import json, sys
r = json.load(open(sys.argv[1]))
assert r["violations_total"] == 3, r["violations_total"]
assert r["classes"]["read-your-writes"]["violation"] == 1
assert r["final"]["lost_units"] == 4
assert r["violations"][0]["line"] == 10 and r["violations"][0]["class"] == "read-your-writes"
assert r["faults"] == {"total": 1, "by_kind": {"partition-one": 1}}
assert "convergence_delays" not in r
print("ok: --json parses and counts")
PY
fi

# the nemesis lines in a file of their own, the rest on standard input: the same report
grep nemesis "$data/audit_clean.txt" >"$out.nemesis"
expect 0 "standard input and a second file" sh -c "grep -v nemesis '$data/audit_clean.txt' | '$ctl' audit - '$out.nemesis'"
contains "history: 2 files" "two files"
contains "s3 get key=likes r=1 at (stdin):18" "stdin named"
contains "convergence: 3 ms after the last heal" "merged convergence"
rm -f "$out.nemesis"
# the same history twice: every session's invoke overlaps its own
expect 2 "one history twice" "$ctl" audit "$data/audit_clean.txt" "$data/audit_clean.txt"

expect 2 "parse errors" "$ctl" audit "$data/audit_bad.txt"
contains "$data/audit_bad.txt:5: get invoke needs key=" "missing key"
contains "$data/audit_bad.txt:4: get invoke while the incr invoke of s1 at $data/audit_bad.txt:3 is still open" "invoke while open"
expect 2 "no such file" "$ctl" audit "$data/no-such-history.txt"
expect 2 "no file" "$ctl" audit
expect 2 "audit with -c" "$ctl" -c /nonexistent.ini audit "$data/audit_clean.txt"
expect 2 "--replicas outside audit" "$ctl" --replicas 3 get likes
expect 0 "audit --help" "$ctl" audit --help
contains "usage: tallyctl audit" "help text"
expect 0 "--expect-sessions, -v, --settle-ms, --replicas" "$ctl" audit --expect-sessions -v --settle-ms 0 --replicas 3 -W 2 -R 2 "$data/audit_clean.txt"
contains "cluster: n=3 w=2 r=2 (from the options), settle 0 ms" "options"

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
