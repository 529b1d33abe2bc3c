#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# Op-id notes reach every member over a lossy link
# (docs/cluster.md#the-retry-window). Three nodes in network namespaces
# (net_af_packet over veth), n = 3, W = 1; the frames of A and of C to B
# lose 30 % (the nodes' own fault injection: this kernel has no netem).
#
#   notes.sh BUILD_DIR
#
# 1. Client X makes 2,000 increments of key K through C, whose origin is A.
#    A is stopped (SIGSTOP) and X's op ids are sent again through B, now
#    K's origin: B must know from A's notes, resent until acknowledged,
#    that A applied every one.
# 2. Client Y makes 2,000 more; B is killed with -9 and restarts, and is
#    given the notes again (by A and C, still over the lossy link). Once
#    B says it is ready, A is stopped and Y's op ids are sent through B:
#    none may count again.
# After A resumes, every node reads 4,000 at R = 3.
# NOTES_DEBUG=1 prints every node's status --json on a failure.
# Needs root and iproute2; without them it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
N=3
COUNT=2000
KEY=6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b

fail() { echo "FAIL: $*" >&2; [ -z "${NOTES_DEBUG:-}" ] || for ((i = 0; i < N; i++)); do "$CTL" -c "$CFG" -n $i -t 500 status --json; done; for f in "$work"/node*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/nslib.sh"
ns_need_root notes

tag=$$
work=$(mktemp -d /tmp/tally-notes.XXXXXX)
declare -a pids
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && { kill -CONT "$p"; kill -9 "$p"; } 2>/dev/null || true; done
	wait 2>/dev/null || true
	ns_teardown
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_setup tn 10.96.0 "$N"
for ((i = 0; i < N; i++)); do
	cat >"$work/node$i.ini" <<EOF
[cluster]
n = 3
w = 1
r = 3
key = $KEY
retry_window_ms = 30000
[node]
id = $i
data_dir = $work/data$i
fault_injection = 1
[limits]
heartbeat_ms = 50
failure_ms = 400
[members]
EOF
	for ((j = 0; j < N; j++)); do echo "$j = 10.96.0.$((j + 1))" >>"$work/node$i.ini"; done
done
CFG=$work/node0.ini

start() {
	ip netns exec "tnn$1-$tag" "$TALLYD" --config "$work/node$1.ini" --iface "tnv$1-$tag" >>"$work/node$1.log" 2>&1 &
	pids[$1]=$!
}
json() { "$CTL" -c "$CFG" -n "$1" -t 500 status --json 2>/dev/null | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)" 2>/dev/null; }
writes() { # NODE OPID COUNT: COUNT increments of K with op ids (OPID, 1..COUNT); prints "ok indeterminate other"
	"$CHECK" --config "$CFG" --node "$1" --key "$K" --count "$3" --opid "$2" -W 1 write
}
lossy() { # the frames of A and C to B lose 30 %
	"$CTL" -c "$CFG" -n "$A" fault set "$Bn" loss=30 >/dev/null || fail "fault set on node $A"
	"$CTL" -c "$CFG" -n "$Cn" fault set "$Bn" loss=30 >/dev/null || fail "fault set on node $Cn"
}
retry_through_b() { # OPID: A stopped, the op ids sent again through B; none may apply
	kill -STOP "${pids[$A]}"
	sleep 1 # node A is seen down
	read -r ok indet other <<<"$(writes "$Bn" "$1" "$COUNT")"
	echo "  node $A stopped, the $COUNT op ids again through node $Bn: $ok ok, $indet indeterminate, $other other"
	kill -CONT "${pids[$A]}"
	[ "$ok" = 0 ] || fail "$ok retries through node $Bn were applied again: node $A's notes did not reach it"
	sleep 1
}

for ((i = 0; i < N; i++)); do "$TALLYD" init --config "$work/node$i.ini" >/dev/null || fail "tallyd init of node $i"; done
for ((i = 0; i < N; i++)); do start "$i"; done
"$CTL" -c "$CFG" wait-ready -t 20000 >/dev/null 2>&1 || fail "the cluster did not become ready"

K=lossy
read -r A Bn Cn <<<"$("$CHECK" --config "$CFG" --key "$K" place | cut -d' ' -f1-3)"
echo "key $K: origin node $A, then $Bn, then $Cn; the frames of $A and $Cn to $Bn lose 30 %"
lossy

read -r ok indet other <<<"$(writes "$Cn" 0x8001 "$COUNT")"
[ "$ok" = "$COUNT" ] || fail "client X through node $Cn: $ok of $COUNT acknowledged ($indet indeterminate, $other other)"
sleep 2 # what was lost is sent again
echo "1. client X: $COUNT increments through node $Cn; node $A resent $(json "$A" "s['requests']['retry_window']['notes_resent']") notes"
retry_through_b 0x8001

read -r ok indet other <<<"$(writes "$Cn" 0x8002 "$COUNT")"
[ "$ok" = "$COUNT" ] || fail "client Y through node $Cn: $ok of $COUNT acknowledged ($indet indeterminate, $other other)"
kill -9 "${pids[$Bn]}"; wait "${pids[$Bn]}" 2>/dev/null || true
start "$Bn"
"$CTL" -c "$CFG" -n "$Bn" wait-ready -t 20000 >/dev/null 2>&1 || fail "node $Bn not ready after its restart"
echo "2. client Y: $COUNT increments through node $Cn; node $Bn killed with -9, restarted and ready"
retry_through_b 0x8002

"$CTL" -c "$CFG" -n "$A" fault clear >/dev/null
"$CTL" -c "$CFG" -n "$Cn" fault clear >/dev/null
for ((i = 0; i < N; i++)); do
	v=$("$CTL" -c "$CFG" -n "$i" get "$K" -R 3) || fail "get $K through node $i"
	[ "$v" = $((2 * COUNT)) ] || fail "$K reads $v through node $i, want $((2 * COUNT))"
done
echo "every node reads $((2 * COUNT))"

for ((i = 0; i < N; i++)); do kill "${pids[$i]}"; done
for ((i = 0; i < N; i++)); do
	rc=0
	wait "${pids[$i]}" || rc=$?
	[ "$rc" = 0 ] || fail "node $i stopped with exit $rc on SIGTERM"
done
pids=()
echo "== notes: all checks passed"
