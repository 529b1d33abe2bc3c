#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# Writes sent the moment a fresh cluster answers are acknowledged, not
# refused (docs/cluster.md#a-node-that-has-just-started). The embedded
# cluster, two nodes, n = 1, the CPU backend (no root).
#
#   cold.sh BUILD_DIR
#
# A client waits only until a read of one key at R = 1 answers, as
# tally-bench did, then sends 2,000 increments, 16 to a datagram, through
# each node. An origin that has not yet confirmed its log position with
# every member, or caught its op-id notes, used to refuse them
# (recovering) for the first heartbeats; now it holds them until it has,
# within the request's deadline.
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
LOG=$(mktemp /tmp/tally-cold-log.XXXXXX)
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

for round in 1 2 3; do
	"$TALLYD" --backend cpu --nodes 2 --replicas 1 -q >>"$LOG" 2>&1 &
	pid=$!
	up=
	for _ in $(seq 200); do
		if "$CTL" -n 0 -R 1 get cold-probe >/dev/null 2>&1 && "$CTL" -n 1 -R 1 get cold-probe >/dev/null 2>&1; then
			up=1
			break
		fi
		sleep 0.05
	done
	[ -n "$up" ] || die "the embedded cluster did not answer a read"
	for node in 0 1; do
		got=$("$CHECK" write --node "$node" --key "cold-$round-$node" --count 2000)
		echo "round $round, through node $node: $got (acknowledged, indeterminate, refused)"
		[ "$got" = "2000 0 0" ] || die "round $round: writes through node $node right after start were not all acknowledged"
	done
	v=$("$CTL" -n 0 -R 1 get "cold-$round-0")
	[ "$v" = 2000 ] || die "cold-$round-0 reads $v, not 2000"
	stop
done
echo "== cold: all checks passed"
