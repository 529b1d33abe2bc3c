#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# A coordinator that restarts still sends a retry where the write went
# (docs/cluster.md#op-ids-a-retry-counts-once): three tallyd processes in
# network namespaces, cpu backend.
#
#   pins.sh BUILD_DIR
#
# Node 1 forwards a write (op id beef:1) to its origin, node 0, which
# applies and logs it, but nothing node 0 sends reaches anyone (its frames
# are dropped): no answer, no REPLICATE, no op-id note. Node 1 is killed
# with -9 and restarted; node 0 stays cut off. The client retries through
# node 1. Node 1 must still know the write went to node 0 (its pin is in
# its log) and answer indeterminate rather than send it to another origin,
# which knows nothing of it and would apply it a second time. Once node 0
# is back, the retry is answered and the key holds the write once.
# Needs root and iproute2; without them it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
N=3
KEY=7ec07e4e7ec07e4e7ec07e4e7ec07e4e7ec07e4e7ec07e4e7ec07e4e7ec07e4e

fail() { echo "FAIL: $*" >&2; for f in "$work"/node*.log; do echo "--- $f"; tail -n 12 "$f"; done; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/nslib.sh"
ns_need_root pins

tag=$$
work=$(mktemp -d /tmp/tally-pins.XXXXXX)
declare -a pids
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ns_teardown
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_setup tp 10.89.0 "$N"
for ((i = 0; i < N; i++)); do
	cat >"$work/node$i.ini" <<EOF
[cluster]
n = 3
w = 1
r = 2
key = $KEY
[node]
id = $i
data_dir = $work/data$i
backend = cpu
fault_injection = 1
[limits]
heartbeat_ms = 50
failure_ms = 400
[members]
0 = 10.89.0.1
1 = 10.89.0.2
2 = 10.89.0.3
EOF
	"$TALLYD" init --config "$work/node$i.ini" >/dev/null || fail "tallyd init of node $i"
done
CFG=$work/node0.ini

for ((i = 0; i < N; i++)); do ns_start "$i"; done
for ((i = 0; i < N; i++)); do ns_wait_for "$i" "s['mode'], s['ready']" "normal True" 20; done

# A key whose origin is node 0, found with writes through node 1.
key=
for k in $(seq 1 100); do
	a0=$(ns_json 0 "s['requests']['applied']")
	"$CTL" -c "$CFG" -n 1 incr "pin$k" 1 -W 3 >/dev/null || fail "write of pin$k"
	a1=$(ns_json 0 "s['requests']['applied']")
	if [ "$a1" -gt "$a0" ]; then key=pin$k; break; fi
done
[ -n "$key" ] || fail "no key of 100 has node 0 as its origin"
echo "$key: origin node 0, reads 1"

# Nothing node 0 sends reaches the others from now on; the write goes out
# before they notice (failure_ms = 400).
"$CTL" -c "$CFG" -n 0 fault set 1 loss=100 >/dev/null || fail "fault on node 0"
"$CTL" -c "$CFG" -n 0 fault set 2 loss=100 >/dev/null || fail "fault on node 0"
rc=0
"$CTL" -c "$CFG" -n 1 -t 300 incr "$key" 7 -W 1 --op-id beef:1 >/dev/null 2>&1 || rc=$?
[ "$rc" = 11 ] || fail "the write whose answer node 0 cannot send exited $rc, not 11 (indeterminate)"
a=$(ns_json 0 "s['requests']['applied']")
[ "$a" -gt "$a1" ] || fail "node 0 did not apply the write"
echo "node 0 applied beef:1 and could tell no one; the client saw indeterminate"

sleep 0.3 # node 1's commit of its pin
kill -9 "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
ns_start 1
ns_wait_for 1 "$(ns_state_of 2)" up 20
ns_wait_for 1 "$(ns_state_of 0)" down 20
rc=0
"$CTL" -c "$CFG" -n 1 -t 500 incr "$key" 7 -W 1 --op-id beef:1 >/dev/null 2>&1 || rc=$?
[ "$rc" = 11 ] || fail "the retry through the restarted node 1 exited $rc, not 11: it did not go to node 0"
echo "node 1, restarted, still sends the retry to node 0 (down): indeterminate"

"$CTL" -c "$CFG" -n 0 fault clear >/dev/null || fail "clearing node 0's faults"
ns_wait_for 1 "$(ns_state_of 0)" up 20
end=$((SECONDS + 20))
while :; do
	rc=0
	"$CTL" -c "$CFG" -n 1 incr "$key" 7 -W 1 --op-id beef:1 >/dev/null 2>&1 || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 16 ] && break
	[ "$SECONDS" -lt "$end" ] || fail "the retry after the heal still exits $rc"
	sleep 0.2
done
for ((i = 0; i < N; i++)); do
	v=$("$CTL" -c "$CFG" -n "$i" get "$key" -R 3) || fail "read of $key through node $i"
	[ "$v" = 8 ] || fail "$key reads $v through node $i, not 8: beef:1 counted $(((v - 1) / 7)) times"
done
echo "after the heal the retry is answered ($rc) and $key reads 8: beef:1 counted once"
echo "all pin checks passed"
