#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# The retry window (docs/cluster.md#the-retry-window): a retry sent late in
# the window, after more than a second of writes at full speed, counts at
# most once. Three nodes in network namespaces (net_af_packet over veth),
# n = 3, W = 1, a 20 s window.
#
#   window.sh BUILD_DIR
#
# Client X makes 1,000 increments of key K through node C, whose origin is
# A; then client Y makes 100,000 more at full speed. B is killed with -9 and
# restarts (it lost the op-id notes it held in memory, and is given them
# again). A is stopped (SIGSTOP), and near the end of the window X's 1,000
# op ids are sent again through C (which pinned them to A) and through B
# (which must know from the notes that A applied them). None may count
# again: after A resumes, every node reads 101,000 at R = 3.
# Needs root and iproute2; without them it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
N=3
WINDOW_MS=20000
KEY=6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a

fail() { echo "FAIL: $*" >&2; for f in "$work"/node*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/nslib.sh"
ns_need_root window

tag=$$
work=$(mktemp -d /tmp/tally-window.XXXXXX)
declare -a pids
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && { kill -CONT "$p"; kill -9 "$p"; } 2>/dev/null || true; done
	wait 2>/dev/null || true
	ns_teardown
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_setup tw 10.95.0 "$N"
for ((i = 0; i < N; i++)); do
	cat >"$work/node$i.ini" <<EOF
[cluster]
n = 3
w = 1
r = 3
key = $KEY
retry_window_ms = $WINDOW_MS
[node]
id = $i
data_dir = $work/data$i
[limits]
heartbeat_ms = 50
failure_ms = 400
[members]
EOF
	for ((j = 0; j < N; j++)); do echo "$j = 10.95.0.$((j + 1))" >>"$work/node$i.ini"; done
done
CFG=$work/node0.ini

start() {
	ip netns exec "twn$1-$tag" "$TALLYD" --config "$work/node$1.ini" --iface "twv$1-$tag" >>"$work/node$1.log" 2>&1 &
	pids[$1]=$!
}
json() { "$CTL" -c "$CFG" -n "$1" -t 500 status --json 2>/dev/null | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)" 2>/dev/null; }
writes() { # NODE OPID COUNT [W]: COUNT increments of K with op ids (OPID, 1..COUNT); prints "ok indeterminate other"
	"$CHECK" --config "$CFG" --node "$1" --key "$K" --count "$3" --opid "$2" -W "${4:-1}" write
}

for ((i = 0; i < N; i++)); do "$TALLYD" init --config "$work/node$i.ini" >/dev/null || fail "tallyd init of node $i"; done
for ((i = 0; i < N; i++)); do start "$i"; done
"$CTL" -c "$CFG" wait-ready -t 20000 >/dev/null 2>&1 || fail "the cluster did not become ready"

K=late
read -r A Bn Cn <<<"$("$CHECK" --config "$CFG" --key "$K" place | cut -d' ' -f1-3)"
echo "key $K: origin node $A, then $Bn, then $Cn"
t0=$(date +%s%N)
read -r ok indet other <<<"$(writes "$Cn" 0x7001 1000)"
[ "$ok" = 1000 ] || fail "client X through node $Cn: $ok of 1000 acknowledged ($indet indeterminate, $other other)"
start_y=$(date +%s%N)
read -r ok indet other <<<"$(writes "$Cn" 0x7002 100000)"
[ "$ok" = 100000 ] || fail "client Y through node $Cn: $ok of 100000 acknowledged ($indet indeterminate, $other other)"
echo "client X: 1000 increments through node $Cn; client Y: 100000 more in $(( ($(date +%s%N) - start_y) / 1000000 )) ms"

kill -9 "${pids[$Bn]}"; wait "${pids[$Bn]}" 2>/dev/null || true
start "$Bn"
"$CTL" -c "$CFG" -n "$Bn" wait-ready -t 20000 >/dev/null 2>&1 || fail "node $Bn not ready after its restart"
sleep 2 # the notes it is given again
echo "node $Bn: killed with -9 and restarted; it was given $(json "$Bn" "s['requests']['notes_in']") op-id notes"
kill -STOP "${pids[$A]}"
sleep 1 # node A is seen down
until (( ($(date +%s%N) - t0) / 1000000 >= WINDOW_MS - 3000 )); do sleep 0.2; done
echo "node $A stopped; $(( ($(date +%s%N) - t0) / 1000000 )) ms into the window, client X's op ids again:"
read -r ok indet other <<<"$(writes "$Cn" 0x7001 1000)"
echo "  through node $Cn: $ok ok, $indet indeterminate, $other other"
[ "$ok" = 0 ] || fail "$ok retries through node $Cn were applied again"
read -r ok indet other <<<"$(writes "$Bn" 0x7001 1000)"
echo "  through node $Bn: $ok ok, $indet indeterminate, $other other"
[ "$ok" = 0 ] || fail "$ok retries through node $Bn were applied again"
kill -CONT "${pids[$A]}"
sleep 2
for ((i = 0; i < N; i++)); do
	v=$("$CTL" -c "$CFG" -n "$i" get "$K" -R 3) || fail "get $K through node $i"
	[ "$v" = 101000 ] || fail "$K reads $v through node $i, want 101000: $((v - 101000)) retries counted twice"
done
echo "node $A resumed: every node reads 101000"

for ((i = 0; i < N; i++)); do kill "${pids[$i]}"; done
for ((i = 0; i < N; i++)); do
	rc=0
	wait "${pids[$i]}" || rc=$?
	[ "$rc" = 0 ] || fail "node $i stopped with exit $rc on SIGTERM"
done
pids=()
echo "== window: all checks passed"
