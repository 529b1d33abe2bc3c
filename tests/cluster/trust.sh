#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# What a node takes from the cluster link, tried the way an older node or an
# attacker would: three nodes in network namespaces (net_af_packet over
# veth), frames sent at their cluster ports by tally-cluster-check forge
# from this (the default) namespace.
#
#   trust.sh BUILD_DIR
#
# 1. an over-range state (slot 2^63 of a counter, authenticated with the
#    cluster key: an older node's, or a forger's who holds that key) is
#    merged, read back as out_of_range (exit 22) with no value at R = 1 and
#    R = 3, and a write to it is refused as out_of_range, not overflow, and
#    changes nothing; a counter next to it is untouched
# 2. a client given only its credential (tallyctl keygen --client) reads and
#    writes, but a REPLICATE, an op-id note, a heartbeat and a forwarded incr
#    it MACs with its credential are dropped as bad_mac, a token it forges is
#    answered bad_token, and no replica, mode or epoch changes
# 3. the status port refuses a change (/fault?...) from another machine
#    without the operator's credential, and takes it with tallyctl -c NODE-FILE
# Needs root and iproute2; without them it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
N=3
KEY=7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a

fail() { echo "FAIL: $*" >&2; for f in "$work"/node*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/nslib.sh"
ns_need_root trust

tag=$$
work=$(mktemp -d /tmp/tally-trust.XXXXXX)
declare -a pids
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ns_teardown
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_setup tt 10.91.0 "$N"
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
[limits]
heartbeat_ms = 50
failure_ms = 400
[members]
EOF
	for ((j = 0; j < N; j++)); do echo "$j = 10.91.0.$((j + 1))" >>"$work/node$i.ini"; done
done
CFG=$work/node0.ini

start() {
	ip netns exec "ttn$1-$tag" "$TALLYD" --config "$work/node$1.ini" --iface "ttv$1-$tag" >>"$work/node$1.log" 2>&1 &
	pids[$1]=$!
}
json() { "$CTL" -c "$CFG" -n "$1" -t 500 status --json 2>/dev/null | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)" 2>/dev/null; }
epoch_of() { json "$1" "s['epoch']"; }
# run CMD...: rc and err (standard error) of a command that may fail
run() { rc=0; out=$("$@" 2>"$work/err") || rc=$?; err=$(cat "$work/err"); }

for ((i = 0; i < N; i++)); do "$TALLYD" init --config "$work/node$i.ini" >/dev/null || fail "tallyd init of node $i"; done
for ((i = 0; i < N; i++)); do start "$i"; done
"$CTL" -c "$CFG" wait-ready -t 20000 >/dev/null 2>&1 || fail "the cluster did not become ready"

echo "== 1. an over-range state arrives: out_of_range, never a refused write"
"$CTL" -c "$CFG" incr big 5 -W 3 >/dev/null || fail "incr big"
"$CTL" -c "$CFG" incr small 7 -W 3 >/dev/null || fail "incr small"
# Slot 1 of big becomes 2^63 at node 0, as if node 1 (an older version) shipped it.
"$CHECK" --config "$CFG" --node 0 --key big --origin 1 --epoch "$(epoch_of 1)" --p 9223372036854775808 forge ||
	fail "forge"
for _ in $(seq 1 50); do
	run "$CTL" -c "$CFG" -n 0 get big --local
	[ "$rc" = 0 ] || break
	sleep 0.1
done
echo "node 0 reads big --local: exit $rc: $err"
[ "$rc" = 22 ] && [ -z "$out" ] || fail "a read of the over-range state: exit $rc, output '$out', want 22 and no value"
case $err in *out_of_range*"no value"*) ;; *) fail "the message for an over-range read: $err" ;; esac
run "$CTL" -c "$CFG" -n 2 get big -R 3
echo "node 2 reads big at R = 3: exit $rc"
[ "$rc" = 22 ] && [ -z "$out" ] || fail "R = 3 over the over-range state: exit $rc, output '$out', want 22"
for node in 0 1 2; do
	run "$CTL" -c "$CFG" -n "$node" incr big 1 -W 1
	[ "$rc" = 22 ] || fail "incr big through node $node: exit $rc ($err), want 22 out_of_range"
	case $err in *out_of_range*"not applied"*) ;; *) fail "the message for a write to it: $err" ;; esac
done
echo "incr big through each node: exit 22, out_of_range, not applied"
v=$("$CTL" -c "$CFG" get small -R 3) && [ "$v" = 7 ] || fail "small reads $v next to the over-range key, want 7"
n_oor=0
for ((i = 0; i < N; i++)); do n_oor=$((n_oor + $(json "$i" "s['requests']['replies'].get('out_of_range', 0)" || echo 0))); done
[ "$n_oor" -ge 4 ] || fail "the nodes' status pages count $n_oor out_of_range answers, want at least 4"
echo "small still reads 7; the status pages count $n_oor out_of_range answers"

echo "== 2. a client holding only its credential forges nothing the nodes trust"
"$CTL" -c "$CFG" keygen --client mallory --out "$work/mallory.ini" 2>/dev/null || fail "keygen --client"
grep -q "^key = $KEY" "$work/mallory.ini" && fail "the client file holds the cluster key"
grep -qi "$KEY" "$work/mallory.ini" && fail "the client file holds the cluster key"
M=$work/mallory.ini
"$CTL" -c "$M" incr victim 5 -W 3 >/dev/null || fail "an incr with the client file"
v=$("$CTL" -c "$M" get victim -R 3) && [ "$v" = 5 ] || fail "the client file reads victim as $v, want 5"
echo "the client file (credential $(sed -n 's/^id = //p' "$M")) reads and writes: victim = 5"
e0=$(epoch_of 0)
drops() { json 0 "s['offload']['drops']['bad_mac']"; }
before=$(drops)
"$CHECK" --config "$M" --node 0 --key victim --origin 1 --epoch "$(epoch_of 1)" client-forge ||
	fail "client-forge: a forged token was not answered bad_token"
for _ in $(seq 1 20); do [ "$(drops)" -ge $((before + 4)) ] && break; sleep 0.1; done
after=$(drops)
echo "node 0 dropped $((after - before)) cluster-link frames as bad_mac (the 4 forged ones)"
[ "$after" -ge $((before + 4)) ] || fail "node 0 dropped $((after - before)) of the 4 forged frames as bad_mac"
sleep 0.5
for node in 0 1 2; do
	v=$("$CTL" -c "$CFG" -n "$node" get victim --local) || fail "node $node: get victim --local"
	[ "$v" = 5 ] || fail "node $node holds victim = $v after the forgeries, want 5"
done
[ "$(json 0 "s['mode']")" = normal ] || fail "node 0 left normal mode: the forged heartbeat was taken"
[ "$(epoch_of 0)" = "$e0" ] || fail "node 0's epoch changed"
v=$("$CTL" -c "$M" -n 0 incr victim 1 --op-id f0f0f0f0f0f0f0f0:1) || fail "an op id the forged note named was refused"
[ "$v" = 6 ] || fail "victim reads $v after one more incr, want 6"
echo "every replica still holds victim = 5 (6 after an incr with the op id the forged note named); node 0 normal, epoch $e0"

echo "== 3. the status port: changes only from the node's machine or with the operator's credential"
code=$(python3 - "10.91.0.1" <<'PY'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://%s:7472/fault?clear" % sys.argv[1], timeout=2)
    print(200)
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())
PY
)
echo "GET /fault?clear from another machine, no credential: $code"
case $code in "403 "*"changes the node"*) ;; *) fail "an unauthenticated change was not refused: $code" ;; esac
run "$CTL" -c "$M" -n 0 fault clear
echo "tallyctl fault clear with the client file: exit $rc: $err"
case $err in *"changes the node"*) ;; *) fail "a client file's change was not refused: $err" ;; esac
run "$CTL" -c "$CFG" -n 0 fault clear
echo "tallyctl fault clear with the node's file: exit $rc: $err"
case $err in *"fault injection is off"*) ;; *) fail "the operator's credential was not taken: $err" ;; esac
[ "$(json 0 "s['admin_refused']")" -ge 2 ] || fail "node 0 does not count the refused changes"

for ((i = 0; i < N; i++)); do kill "${pids[$i]}"; done
for ((i = 0; i < N; i++)); do
	rc=0
	wait "${pids[$i]}" || rc=$?
	[ "$rc" = 0 ] || fail "node $i stopped with exit $rc on SIGTERM"
done
pids=()
echo "== trust: all checks passed"
