#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# A client the origin forgot recovers by itself (docs/cluster.md#a-client-the-origin-forgot).
# The embedded cluster, two nodes, n = 1, the CPU backend (no root).
#
#   forget.sh BUILD_DIR
#
# A long-lived client makes 1,100 increments (past its first dedup window
# of 1,024), then 66,000 one-write clients make the key's origin evict it
# from its dedup table (65,536 clients), then it makes 100 more. Before,
# the origin refused those and every later write of that client
# (op_refused, for good). Now it answers unknown_client, the library takes
# a new client id and sends them again: all 100 are acknowledged and the
# key reads 67,200.
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
LOG=$(mktemp /tmp/tally-forget-log.XXXXXX)
pid=
die() { printf 'FAIL: %s\n' "$*"; echo "--- tallyd log:"; tail -n 20 "$LOG"; exit 1; }
stop() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	fi
}
trap 'stop; rm -f "$LOG"' EXIT

"$TALLYD" --backend cpu --nodes 2 --replicas 1 >>"$LOG" 2>&1 &
pid=$!
"$CTL" wait-ready -t 20000 >/dev/null || die "the embedded cluster did not become ready"
"$CHECK" forget --node 0 --key forgotten || die "the forgotten client did not recover"
v=$("$CTL" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['requests']['replies']['unknown_client'])")
echo "node 0 answered unknown_client $v times (as coordinator)"
[ "$v" -ge 1 ] || die "no unknown_client answer was counted"
stop
echo "== forget: all checks passed"
