#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# tallyd --config node.ini --iface IFACE, as docs/cluster.md tells an
# operator to run it: no EAL options given, so tallyd picks the af_packet
# geometry and the mbuf size from the configured mtu. Three nodes, each in
# its own network namespace, a veth of that MTU into one bridge.
#
#   iface.sh BUILD_DIR MTU
#
# 1. every node starts and sees the others up
# 2. writes through every node at W = 3, reads through every node at R = 3
# 3. a node's link down while 80 keys are written (sloppy quorum, hints);
#    when it returns, handoff ships them in frames filled up to the MTU: a
#    sniffer on the bridge port sees frames longer than 2048 bytes at
#    MTU 9000 (none over 1514 at 1500), and the node holds every key
# Needs root and iproute2; without them it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
MTU=${2:?usage: iface.sh BUILD_DIR MTU}
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
N=3
KEY=1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f

fail() { echo "FAIL: $*" >&2; for f in "$work"/node*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/nslib.sh"
ns_need_root iface

tag=$$
work=$(mktemp -d /tmp/tally-iface.XXXXXX)
declare -a pids
sniffer=
cleanup() {
	for p in "${pids[@]:-}" $sniffer; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ns_teardown
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_setup ti 10.87.0 "$N" "$MTU"

for ((i = 0; i < N; i++)); do
	cat >"$work/node$i.ini" <<EOF
[cluster]
n = 3
w = 2
r = 2
key = $KEY
[node]
id = $i
data_dir = $work/data$i
mtu = $MTU
[limits]
heartbeat_ms = 50
failure_ms = 400
[members]
EOF
	for ((j = 0; j < N; j++)); do echo "$j = 10.87.0.$((j + 1))" >>"$work/node$i.ini"; done
done
CFG=$work/node0.ini

# start ID [ARGS]: node ID in its namespace, the way docs/cluster.md says
start() {
	local id=$1
	shift
	ip netns exec "tin$id-$tag" "$TALLYD" --config "$work/node$id.ini" --iface "tiv$id-$tag" "$@" \
		>>"$work/node$id.log" 2>&1 &
	pids[$id]=$!
}
json() { "$CTL" -c "$CFG" -n "$1" status --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)"; }
state_of() { json "$1" "[m['state'] for m in s['members'] if m['id'] == $2][0]" 2>/dev/null || echo none; }
wait_state() {
	for _ in $(seq 1 150); do
		[ "$(state_of "$1" "$2")" = "$3" ] && return 0
		kill -0 "${pids[$1]}" 2>/dev/null || fail "node $1 exited"
		sleep 0.1
	done
	fail "node $1 never saw node $2 $3"
}

echo "== 1. three nodes started with --iface, mtu $MTU, no EAL options"
for ((i = 0; i < N; i++)); do start "$i" --bootstrap; done
for ((i = 0; i < N; i++)); do for ((j = 0; j < N; j++)); do
	[ "$i" = "$j" ] || wait_state "$i" "$j" up
done; done
echo "all $N nodes see each other up"

echo "== 2. writes and reads through every node"
for ((i = 0; i < N; i++)); do
	for k in 1 2 3 4 5; do "$CTL" -c "$CFG" -n "$i" incr "k$k" "$((i + 1))" -W 3 >/dev/null || fail "incr k$k through node $i"; done
done
for ((i = 0; i < N; i++)); do
	for k in 1 2 3 4 5; do
		v=$("$CTL" -c "$CFG" -n "$i" get "k$k" -R 3) || fail "get k$k through node $i"
		[ "$v" = 6 ] || fail "k$k through node $i reads $v, want 6"
	done
done
echo "5 keys written through each node at W = 3 read 6 through each node at R = 3"

echo "== 3. handoff after a link was down: frames filled up to the MTU"
# A sniffer on node 2's bridge port records the longest frame it sees.
python3 - "tib2-$tag" "$work/longest" <<'EOF' &
import errno, signal, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
longest = 0
def done(*_):
    open(sys.argv[2], "w").write("%d\n" % longest)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
open(sys.argv[2], "w").write("0\n")
while True:
    try:
        longest = max(longest, len(s.recv(65536)))
    except OSError as e:  # the port goes down and up on purpose
        if e.errno != errno.ENETDOWN:
            raise
EOF
sniffer=$!
sleep 0.3
ip link set "tib2-$tag" down
wait_state 0 2 down
for k in $(seq 1 80); do "$CTL" -c "$CFG" -n $((k % 2)) incr "h$k" "$k" -W 2 >/dev/null || fail "incr h$k"; done
ip link set "tib2-$tag" up
wait_state 0 2 up
held=0
for _ in $(seq 1 100); do
	held=0
	for k in $(seq 1 80); do
		v=$("$CTL" -c "$CFG" -n 2 get "h$k" --local)
		[ "$v" = "$k" ] && held=$((held + 1))
	done
	[ "$held" = 80 ] && break
	sleep 0.2
done
kill -TERM "$sniffer"
wait "$sniffer" 2>/dev/null || true
sniffer=
longest=$(cat "$work/longest")
echo "node 2 holds $held of 80 keys written while its link was down; longest frame on its port: $longest bytes"
[ "$held" = 80 ] || fail "node 2 lacks $((80 - held)) key(s) after its link came back"
if [ "$MTU" -gt 2048 ]; then
	[ "$longest" -gt 2048 ] || fail "no frame over 2048 bytes crossed at mtu $MTU: the test shows nothing"
else
	[ "$longest" -le $((MTU + 14)) ] || fail "a $longest-byte frame at mtu $MTU"
fi

for ((i = 0; i < N; i++)); do kill "${pids[$i]}"; done
for ((i = 0; i < N; i++)); do
	rc=0
	wait "${pids[$i]}" || rc=$?
	[ "$rc" = 0 ] || fail "node $i stopped with exit $rc on SIGTERM"
done
pids=()
echo "== --iface at mtu $MTU: all checks passed"
