#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# Corrupt and restored data directories (docs/durability.md#corrupt-data,
# #backup-and-restore): three nodes in network namespaces (net_af_packet
# over veth), n = 3, every write at W = 3.
#
#   restore.sh BUILD_DIR
#
# 1. a restored backup: node A's data directory is copied while it runs,
#    more increments are acknowledged through it, it is killed, the copy is
#    put back and it restarts. Its peers saw its log further on than the
#    copy: it says so, recovers its counts from every member as after a lost
#    disk, and the increments it takes next all count.
# 2. a checksum failure in the middle of node B's log, with committed
#    records after it: B refuses to start, naming the file and the offset,
#    and changes no file; tallyd recover sets the log aside, and B starts,
#    recovers, and counts right.
# 3. node C's newest snapshot cut short: C refuses to start, naming it, and
#    deletes nothing; after tallyd recover it counts right.
# Needs root and iproute2; without them it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
N=3
KEY=5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e

fail() { echo "FAIL: $*" >&2; for f in "$work"/node*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/nslib.sh"
ns_need_root restore

tag=$$
work=$(mktemp -d /tmp/tally-restore.XXXXXX)
declare -a pids
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ns_teardown
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_setup tr 10.94.0 "$N"
for ((i = 0; i < N; i++)); do
	cat >"$work/node$i.ini" <<EOF
[cluster]
n = 3
w = 3
r = 3
key = $KEY
[node]
id = $i
data_dir = $work/data$i
[limits]
heartbeat_ms = 50
failure_ms = 400
[members]
EOF
	for ((j = 0; j < N; j++)); do echo "$j = 10.94.0.$((j + 1))" >>"$work/node$i.ini"; done
done
CFG=$work/node0.ini

start() {
	ip netns exec "trn$1-$tag" "$TALLYD" --config "$work/node$1.ini" --iface "trv$1-$tag" >>"$work/node$1.log" 2>&1 &
	pids[$1]=$!
}
# start_refused NODE: tallyd exits 1 at once, and its message is in $work/refused
start_refused() {
	local rc=0
	timeout 20 ip netns exec "trn$1-$tag" "$TALLYD" --config "$work/node$1.ini" --iface "trv$1-$tag" \
		>"$work/refused" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "node $1 on its damaged data directory: exit $rc, want 1 (refused): $(tail -n 3 "$work/refused")"
}
json() { "$CTL" -c "$CFG" -n "$1" -t 500 status --json 2>/dev/null | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)" 2>/dev/null; }
incr() { # NODE KEY COUNT: COUNT increments of 1 through NODE at W = 3, each acknowledged
	for _ in $(seq 1 "$3"); do "$CTL" -c "$CFG" -n "$1" incr "$2" 1 >/dev/null || fail "incr $2 through node $1"; done
}
expect() { # KEY WANT: every node reads WANT at R = 3
	for ((i = 0; i < N; i++)); do
		v=$("$CTL" -c "$CFG" -n "$i" get "$1" -R 3) || fail "get $1 through node $i"
		[ "$v" = "$2" ] || fail "$1 reads $v through node $i, want $2: acknowledged increments lost"
	done
}
files() { (cd "$work/data$1" && ls -l --time-style=+ | awk 'NR > 1 {print $5, $NF}' | sort); }
recover_and_start() { # NODE
	"$TALLYD" recover --config "$work/node$1.ini" >"$work/recover" || fail "tallyd recover of node $1"
	echo "tallyd recover: $(cat "$work/recover")"
	start "$1"
	"$CTL" -c "$CFG" -n "$1" wait-ready -t 20000 >/dev/null 2>&1 || fail "node $1 not ready after tallyd recover"
	grep -q "recovery complete" "$work/node$1.log" || fail "node $1 did not recover its counts from every member"
}

for ((i = 0; i < N; i++)); do "$TALLYD" init --config "$work/node$i.ini" >/dev/null || fail "tallyd init of node $i"; done
for ((i = 0; i < N; i++)); do start "$i"; done
"$CTL" -c "$CFG" wait-ready -t 20000 >/dev/null 2>&1 || fail "the cluster did not become ready"

echo "== 1. a data directory restored from a copy taken while the node ran"
K=restored
A=$("$CHECK" --config "$CFG" --key "$K" place | cut -d' ' -f1)
incr "$A" "$K" 100
cp -a "$work/data$A" "$work/backup"
echo "node $A: copied its data directory at $K = 100 (log position $(json "$A" "s['wal']['position']"))"
incr "$A" "$K" 200
sleep 1.2 # a heartbeat or two: the peers hear the position
echo "200 more through node $A (log position $(json "$A" "s['wal']['position']")); kill -9, put the copy back, restart"
kill -9 "${pids[$A]}"; wait "${pids[$A]}" 2>/dev/null || true
rm -rf "$work/data$A"
mv "$work/backup" "$work/data$A"
start "$A"
"$CTL" -c "$CFG" -n "$A" wait-ready -t 20000 >/dev/null 2>&1 || fail "node $A not ready after its restore"
grep -q "older than what this node shipped" "$work/node$A.log" || fail "node $A did not notice its directory is behind"
grep -q "recovery complete" "$work/node$A.log" || fail "node $A did not recover its counts from every member"
echo "node $A: $(grep -o "saw this node's log at position [0-9]*, but [^ ]* is at [0-9]*" "$work/node$A.log" | head -n 1)"
incr "$A" "$K" 50
expect "$K" 350
echo "50 more through node $A after it recovered: every node reads 350"

echo "== 2. a checksum failure in the middle of a log"
K2=middle
Bn=$("$CHECK" --config "$CFG" --key "$K2" place | cut -d' ' -f1)
incr "$Bn" "$K2" 60
kill -9 "${pids[$Bn]}"; wait "${pids[$Bn]}" 2>/dev/null || true
log=$(ls "$work/data$Bn"/wal-* | tail -n 1)
size=$(stat -c %s "$log")
off=$((size / 3))
printf '\xff' | dd of="$log" bs=1 seek="$off" conv=notrunc 2>/dev/null
before=$(files "$Bn")
start_refused "$Bn"
echo "node $Bn refused: $(tail -n 1 "$work/refused")"
grep -q "$(basename "$log").*at offset [0-9]* is corrupt and committed records follow it" "$work/refused" ||
	fail "node $Bn's refusal does not name the log and the offset"
grep -q "tallyd recover" "$work/refused" || fail "node $Bn's refusal does not say what to do"
[ "$(files "$Bn")" = "$before" ] || fail "node $Bn changed its files while refusing to start"
other=$((Bn == 0 ? 1 : 0))
for _ in $(seq 1 10); do "$CTL" -c "$CFG" -n "$other" incr "$K2" 1 -W 2 >/dev/null || fail "incr $K2 at W = 2 with node $Bn down"; done
recover_and_start "$Bn"
ls -d "$work/data$Bn"/aside-* >/dev/null || fail "no aside directory"
incr "$Bn" "$K2" 30
expect "$K2" 100
echo "node $Bn recovered; 30 more through it: every node reads 100"

echo "== 3. the newest snapshot cut short"
K3=snapped
Cn=$("$CHECK" --config "$CFG" --key "$K3" place | cut -d' ' -f1)
incr "$Cn" "$K3" 40
kill "${pids[$Cn]}"; wait "${pids[$Cn]}" || fail "node $Cn did not stop cleanly"
snap=$(ls "$work/data$Cn"/snap-* | tail -n 1)
truncate -s -16 "$snap"
before=$(files "$Cn")
start_refused "$Cn"
echo "node $Cn refused: $(tail -n 1 "$work/refused")"
grep -q "$(basename "$snap"): the newest snapshot is corrupt or incomplete at offset" "$work/refused" ||
	fail "node $Cn's refusal does not name the snapshot"
[ "$(files "$Cn")" = "$before" ] || fail "node $Cn deleted or changed files while refusing to start"
recover_and_start "$Cn"
incr "$Cn" "$K3" 10
expect "$K3" 50
echo "node $Cn recovered; 10 more through it: every node reads 50"

for ((i = 0; i < N; i++)); do kill "${pids[$i]}"; done
for ((i = 0; i < N; i++)); do
	rc=0
	wait "${pids[$i]}" || rc=$?
	[ "$rc" = 0 ] || fail "node $i stopped with exit $rc on SIGTERM"
done
pids=()
echo "== restore: all checks passed"
