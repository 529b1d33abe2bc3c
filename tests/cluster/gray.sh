#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# A gray peer does not exhaust a node (docs/cluster.md#a-peer-that-never-acks).
# Three nodes in network namespaces (net_af_packet over veth), n = 3, W = 1.
# Node A's frames to node G are all lost, G's to A arrive: A hears G's
# heartbeats and takes it for up, but G never acks a write of A's. Before,
# each answered write stayed in A's op table until its deadline and 5 s
# more, shipping to G, so A answered busy after 8,192 of them.
#
#   gray.sh BUILD_DIR
#
# 30,000 increments through A at full speed must all be acknowledged; after
# the loss is cleared every node reads 30,000 at R = 3 (the handoff took
# what A's op table gave up).
# Needs root and iproute2; without them it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
N=3
COUNT=30000
KEY=6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c

fail() { echo "FAIL: $*" >&2; for f in "$work"/node*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/nslib.sh"
ns_need_root gray

tag=$$
work=$(mktemp -d /tmp/tally-gray.XXXXXX)
declare -a pids
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ns_teardown
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_setup tg 10.97.0 "$N"
for ((i = 0; i < N; i++)); do
	cat >"$work/node$i.ini" <<EOF
[cluster]
n = 3
w = 1
r = 3
key = $KEY
[node]
id = $i
data_dir = $work/data$i
fault_injection = 1
[limits]
heartbeat_ms = 50
failure_ms = 400
[members]
EOF
	for ((j = 0; j < N; j++)); do echo "$j = 10.97.0.$((j + 1))" >>"$work/node$i.ini"; done
done
CFG=$work/node0.ini

json() { "$CTL" -c "$CFG" -n "$1" -t 500 status --json 2>/dev/null | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)" 2>/dev/null; }
for ((i = 0; i < N; i++)); do "$TALLYD" init --config "$work/node$i.ini" >/dev/null || fail "tallyd init of node $i"; done
for ((i = 0; i < N; i++)); do
	ip netns exec "tgn$i-$tag" "$TALLYD" --config "$work/node$i.ini" --iface "tgv$i-$tag" >>"$work/node$i.log" 2>&1 &
	pids[$i]=$!
done
"$CTL" -c "$CFG" wait-ready -t 20000 >/dev/null 2>&1 || fail "the cluster did not become ready"

K=gray
read -r A G _ <<<"$("$CHECK" --config "$CFG" --key "$K" place | cut -d' ' -f1-3)"
"$CTL" -c "$CFG" -n "$A" fault set "$G" loss=100 >/dev/null || fail "fault set on node $A"
sleep 1
[ "$(json "$A" "[m['state'] for m in s['members'] if m['id'] == $G][0]")" = up ] || fail "node $A does not take node $G for up"
echo "key $K: origin node $A; its frames to node $G are lost, node $G's to it arrive (node $A sees it up)"
start=$(date +%s%N)
read -r ok indet other <<<"$("$CHECK" --config "$CFG" --node "$A" --key "$K" --count "$COUNT" -W 1 write)"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$COUNT increments through node $A in $ms ms: $ok ok, $indet indeterminate, $other other (busy)"
echo "node $A: op table of $(json "$A" "s['requests']['capacity']"), $(json "$A" "s['requests']['handed_off']") answered writes handed off"
[ "$ok" = "$COUNT" ] || fail "$((COUNT - ok)) of $COUNT increments through node $A were not acknowledged: node $G held its op table"

"$CTL" -c "$CFG" -n "$A" fault clear >/dev/null
for ((i = 0; i < N; i++)); do
	v=
	for _ in $(seq 1 50); do
		v=$("$CTL" -c "$CFG" -n "$i" get "$K" -R 3 2>/dev/null) && [ "$v" = "$COUNT" ] && break
		sleep 0.2
	done
	[ "$v" = "$COUNT" ] || fail "$K reads '$v' through node $i at R = 3, want $COUNT"
done
echo "the loss cleared: every node reads $COUNT at R = 3"

for ((i = 0; i < N; i++)); do kill "${pids[$i]}"; done
for ((i = 0; i < N; i++)); do
	rc=0
	wait "${pids[$i]}" || rc=$?
	[ "$rc" = 0 ] || fail "node $i stopped with exit $rc on SIGTERM"
done
pids=()
echo "== gray: all checks passed"
