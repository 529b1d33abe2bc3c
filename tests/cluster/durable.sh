#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# Output commit and storage errors (docs/durability.md): three nodes in
# network namespaces (net_af_packet over veth), n = 3.
#
#   durable.sh BUILD_DIR
#
# 1. kill -9 inside the log's commit: W = 1 increments go to the origin A of
#    a key through node B, R = 3 reads through node C; then A's log is made
#    slow (tallyctl fault sync 3000: each commit waits 3 s before it writes),
#    one round of A's applies an increment and answers a read, and A is
#    killed with kill -9 inside that round's commit, three times. Each time,
#    A restarts with its data directory no lower than any replica holds its
#    own slot: nothing A showed (a READ_REPLY, a ship, an answer) was ahead
#    of its log. Then 20 increments at W = 3 all count (none absorbed by max,
#    kv679 without a lost disk), and no acknowledged increment is lost.
# 2. a storage error: node 2's data directory is a 4 MiB tmpfs, filled up
#    while it takes writes. The failed write is said once in its log; its
#    status shows the log failed and not ready; every request to it is
#    io_error at once; it sends nothing more (its peers see it down), so the
#    increment it could not log never reaches another replica; writes go on
#    through the others; its log stops growing in memory; after space is
#    freed and it restarts, it serves again and the counts are right.
# Needs root and iproute2; without them it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
N=3
KEY=3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c

fail() { echo "FAIL: $*" >&2; for f in "$work"/node*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/nslib.sh"
ns_need_root durable

tag=$$
work=$(mktemp -d /tmp/tally-durable.XXXXXX)
declare -a pids
bg=
cleanup() {
	for p in "${pids[@]:-}" $bg; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	umount "$work/small" 2>/dev/null || true
	ns_teardown
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_setup td 10.93.0 "$N"
mkdir -p "$work/small"
mount -t tmpfs -o size=4m tmpfs "$work/small" || fail "cannot mount a tmpfs"
for ((i = 0; i < N; i++)); do
	dir=$work/data$i
	[ "$i" = 2 ] && dir=$work/small/data2
	cat >"$work/node$i.ini" <<EOF
[cluster]
n = 3
w = 2
r = 2
key = $KEY
[node]
id = $i
data_dir = $dir
fault_injection = 1
[limits]
heartbeat_ms = 50
failure_ms = 400
# no anti-entropy: a restarted node's own slots are what its log held, not
# what its peers hand back, so a slot behind what it showed is seen
anti_entropy_ms = 0
[members]
EOF
	for ((j = 0; j < N; j++)); do echo "$j = 10.93.0.$((j + 1))" >>"$work/node$i.ini"; done
done
CFG=$work/node0.ini

start() {
	ip netns exec "tdn$1-$tag" "$TALLYD" --config "$work/node$1.ini" --iface "tdv$1-$tag" >>"$work/node$1.log" 2>&1 &
	pids[$1]=$!
}
json() { "$CTL" -c "$CFG" -n "$1" -t 500 status --json 2>/dev/null | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)" 2>/dev/null; }
# slot NODE KEY ORIGIN: NODE's own replica's slot ORIGIN of KEY (P)
slot() {
	python3 - "$1" "$2" "$3" <<'EOF'
import json, socket, sys
node, key, origin = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.create_connection(("10.93.0.%d" % (node + 1), 7472), timeout=2)
s.sendall(("GET /local/%s HTTP/1.0\r\n\r\n" % key).encode())
body = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    body += b
print(json.loads(body.split(b"\r\n\r\n", 1)[1])["p"][origin])
EOF
}
wait_up() { # NODE PEER: NODE sees PEER up
	for _ in $(seq 1 150); do
		[ "$(json "$1" "[m['state'] for m in s['members'] if m['id'] == $2][0]" || true)" = up ] && return 0
		sleep 0.1
	done
	fail "node $1 never saw node $2 up"
}

for ((i = 0; i < N; i++)); do "$TALLYD" init --config "$work/node$i.ini" >/dev/null || fail "tallyd init of node $i"; done
for ((i = 0; i < N; i++)); do start "$i"; done
"$CTL" -c "$CFG" wait-ready -t 20000 >/dev/null 2>&1 || fail "the cluster did not become ready"

echo "== 1. kill -9 inside a slow commit, with R = 3 reads running"
K=hot
read -r A Bn Cn <<<"$("$CHECK" --config "$CFG" --key "$K" place)"
echo "$K: origin node $A, writes through node $Bn, reads through node $Cn"
for round in 1 2 3; do
	"$CHECK" --config "$CFG" --node "$Cn" --key "$K" --count 300 -R 3 read >"$work/reads" &
	bg=$!
	"$CHECK" --config "$CFG" --node "$Bn" --key "$K" --count 300 -W 1 write >/dev/null || fail "writes to $K"
	wait "$bg" || fail "reads of $K"
	bg=
	read -r rok rindet rother rhigh <"$work/reads"
	[ "$rok" -ge 1 ] || fail "no R = 3 read of $K was answered ok ($rindet indeterminate, $rother other)"
	# Each of A's commits now waits 3 s before it writes. With A stopped, an
	# increment forwarded by B and then an R = 3 read through C queue at A,
	# in that order; when A goes on, one round applies the increment, answers
	# the read, and waits in its commit, where it is killed.
	"$CTL" -c "$CFG" -n "$A" fault sync 3000 >/dev/null || fail "fault sync on node $A"
	kill -STOP "${pids[$A]}"
	"$CTL" -c "$CFG" -n "$Bn" -t 5000 incr "$K" 1 -W 1 >/dev/null 2>&1 &
	wpid=$!
	sleep 0.1
	"$CTL" -c "$CFG" -n "$Cn" -t 5000 get "$K" -R 3 >/dev/null 2>&1 &
	rpid=$!
	sleep 0.1
	kill -CONT "${pids[$A]}"
	sleep 0.5
	kill -9 "${pids[$A]}"
	wait "${pids[$A]}" 2>/dev/null || true
	wait "$wpid" "$rpid" 2>/dev/null || true
	held=0
	for r in "$Bn" "$Cn"; do v=$(slot "$r" "$K" "$A"); [ "$v" -gt "$held" ] && held=$v; done
	start "$A"
	wait_up "$Bn" "$A"
	"$CTL" -c "$CFG" -n "$A" wait-ready -t 10000 >/dev/null 2>&1 || fail "node $A not ready after its restart"
	own=$(slot "$A" "$K" "$A")
	echo "round $round: $rok of 300 R = 3 reads ok during 300 W = 1 writes; after kill -9, node $A's own slot is $own; the most another replica holds of it: $held"
	[ "$own" -ge "$held" ] || fail "node $A restarted at slot $own, behind the $held it had shown: output left before its log held it"
done
before=$("$CTL" -c "$CFG" get "$K" -R 3) || fail "get $K"
for i in $(seq 1 20); do "$CTL" -c "$CFG" -n "$A" incr "$K" 1 -W 3 >/dev/null || fail "incr $K at W = 3"; done
after=$("$CTL" -c "$CFG" get "$K" -R 3) || fail "get $K"
echo "20 increments at W = 3 after the kills: $before -> $after"
[ $((after - before)) = 20 ] || fail "20 acknowledged increments moved $K by $((after - before)): absorbed by max"

echo "== 2. a storage error on node 2"
for c in $(seq 1 200); do
	K2=disk$c
	[ "$("$CHECK" --config "$CFG" --key "$K2" place | cut -d' ' -f1)" = 2 ] && break
done
echo "$K2: origin node 2"
"$CTL" -c "$CFG" -n 2 fault clear >/dev/null
for i in $(seq 1 5); do "$CTL" -c "$CFG" -n 2 incr "$K2" 1 -W 3 >/dev/null || fail "incr $K2 before the disk filled"; done
dd if=/dev/zero of="$work/small/fill" bs=64k 2>/dev/null || true
# Increments of 1 at W = 1 until the log's file needs a page the tmpfs lacks.
read -r ok indet other <<<"$("$CHECK" --config "$CFG" --node 2 --key "$K2" --count 20000 -W 1 write)"
echo "20000 increments through node 2 as its disk filled: $ok acknowledged, $indet indeterminate, $other refused"
[ "$other" -ge 1 ] || fail "no increment was refused when node 2's disk was full"
rc=0; "$CTL" -c "$CFG" -n 2 incr "$K2" 1000 -W 1 2>"$work/err" >/dev/null || rc=$?
echo "then an increment of 1000 through node 2: exit $rc: $(cat "$work/err")"
[ "$rc" = 18 ] || fail "an increment through node 2 after its log failed: exit $rc, want 18 (io_error)"
want=$((5 + ok))
sleep 1
notes=$(grep -c "write-ahead log.* failed" "$work/node2.log" || true)
[ "$notes" = 1 ] || fail "node 2 said its log failed $notes times, want once"
[ "$(json 2 "s['wal']['failed'], s['ready']")" = "True False" ] || fail "node 2's status does not show its failed log"
echo "node 2: said once; status: $(json 2 "s['ready_detail']")"
for op in "get $K2" "incr $K2 1" "get other"; do
	rc=0; "$CTL" -c "$CFG" -n 2 -t 2000 $op >/dev/null 2>&1 || rc=$?
	[ "$rc" = 18 ] || fail "$op through node 2 after its log failed: exit $rc, want 18 at once"
done
echo "get and incr through node 2: io_error"
for r in 0 1; do
	for _ in $(seq 1 100); do
		[ "$(json "$r" "[m['state'] for m in s['members'] if m['id'] == 2][0]" || true)" = down ] && break
		sleep 0.1
	done
	[ "$(json "$r" "[m['state'] for m in s['members'] if m['id'] == 2][0]")" = down ] || fail "node $r still sees node 2 up"
done
records=$(json 2 "s['wal']['records']")
for i in $(seq 1 10); do "$CTL" -c "$CFG" -n 0 incr "$K2" 1 -W 2 >/dev/null || fail "incr $K2 through node 0 with node 2 failed"; done
sleep 1
[ "$(json 2 "s['wal']['records']")" = "$records" ] || fail "node 2's log still takes records after it failed"
for r in 0 1; do
	v=$("$CTL" -c "$CFG" -n "$r" get "$K2" --local)
	[ "$v" -le $((want + indet + 10)) ] || fail "node $r holds $K2 = $v, over $((want + 10)): it got the increment node 2 never logged"
done
echo "nodes 0 and 1 see node 2 down; 10 more increments went on through them; none holds the unlogged one"
kill -9 "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true
rm -f "$work/small/fill"
start 2
"$CTL" -c "$CFG" -n 2 wait-ready -t 10000 >/dev/null 2>&1 || fail "node 2 not ready after space was freed"
v=$("$CTL" -c "$CFG" -n 2 get "$K2" -R 3) || fail "get $K2 through node 2 after its restart"
# An io_error write is indeterminate (docs/tallyctl.md): the part of the
# last write(2) that reached the disk before it filled is in the log.
[ "$v" -ge $((want + 10)) ] && [ "$v" -le $((want + indet + other + 1000 + 10)) ] ||
	fail "$K2 reads $v after node 2's restart, want $((want + 10)) (+ up to $((indet + other + 1000)) indeterminate)"
echo "node 2 restarted once space was freed and reads $K2 = $v"

for ((i = 0; i < N; i++)); do kill "${pids[$i]}"; done
for ((i = 0; i < N; i++)); do
	rc=0
	wait "${pids[$i]}" || rc=$?
	[ "$rc" = 0 ] || fail "node $i stopped with exit $rc on SIGTERM"
done
pids=()
echo "== durable: all checks passed"
