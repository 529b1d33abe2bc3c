#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# The README's quick start, as a newcomer types it: a fresh tallyd in the
# background, tallyctl wait-ready, then the first write. Five times in a
# row, each with a fresh tallyd: every first incr likes 5 must print 5.
# Also: wait-ready with nothing to wait for times out with exit 5 and says
# what it waited for; an incr with no tallyd exits 4 at once; tallyctl
# status says ready: yes.
#
#   ready.sh BUILD_DIR
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
LOG=$(mktemp /tmp/tally-ready-log.XXXXXX)
pid=
die() { printf 'FAIL: %s\n' "$*"; echo "--- tallyd log:"; tail -n 20 "$LOG"; exit 1; }
stop() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	fi
}
trap 'stop; rm -f "$LOG" "$LOG.err"' EXIT

echo "== wait-ready with no tallyd: exit 5 at its deadline"
rc=0; "$CTL" wait-ready -t 600 2>"$LOG.err" || rc=$?
cat "$LOG.err"
[ "$rc" = 5 ] || die "wait-ready with no tallyd: exit $rc, want 5"
grep -q "waiting for node 0: its status page at 127.0.0.1:7472 does not answer yet" "$LOG.err" ||
	die "wait-ready printed no progress line"

echo "== incr with no tallyd: exit 4 at once (ICMP port unreachable), not indeterminate"
t0=$(date +%s%N)
rc=0; "$CTL" incr likes 5 2>"$LOG.err" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
cat "$LOG.err"
[ "$rc" = 4 ] && [ "$ms" -lt 900 ] || die "incr with no tallyd: exit $rc after $ms ms, want 4 before the 1000 ms deadline"
grep -q "unreachable: nothing listens at 127.0.0.1:7471.*not applied" "$LOG.err" || die "the unreachable message"

for run in 1 2 3 4 5; do
	echo "== run $run: tallyd &; tallyctl wait-ready && tallyctl incr likes 5"
	"$TALLYD" >>"$LOG" 2>&1 &
	pid=$!
	"$CTL" wait-ready 2>"$LOG.err" || { cat "$LOG.err"; die "run $run: wait-ready failed"; }
	v=$("$CTL" incr likes 5) || die "run $run: incr likes 5 failed (exit $?)"
	sed 's/^/  /' "$LOG.err"
	echo "  incr likes 5: $v"
	[ "$v" = 5 ] || die "run $run: incr likes 5 printed $v, want 5"
	"$CTL" status | grep -qx "ready: yes" || die "run $run: tallyctl status does not say ready: yes"
	stop
done
echo "== five fresh clusters: each first write gave 5"
