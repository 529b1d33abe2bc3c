#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# A cluster's first start and a node's recovery, as an operator meets them:
# three tallyd processes in network namespaces (veth, a bridge,
# net_af_packet), cpu backend.
#
#   recovery.sh BUILD_DIR
#
# 1. started as docs/config.md says, with neither tallyd init nor
#    --bootstrap: each node takes its empty directory for a lost disk,
#    sweeps the others, and is normal and ready once all have answered
# 2. tallyd init, once per node: normal from the first status; a second
#    init refuses and changes nothing
# 3. node 0 loses its disk (kill -9, directory removed) while node 2 is
#    stopped: it comes back recovering, not ready, and says it waits for
#    node 2; writes it originates are refused as recovering, naming node 2;
#    once node 2 is back the sweep ends, node 0 is normal, and every count
#    (old and new) is exact: nothing it acknowledged before is counted
#    again from zero (kv679)
# 4. node 0 loses its disk again after applying ten writes with known op
#    ids; their retries through node 1, from the moment it restarts, are
#    answered op_refused or ok and none is applied again (the others give
#    it back the op-id notes of what it had applied)
# 5. commit = interval 5000 (nothing written in this step reaches the log
#    before the kill): the identity says unsynced while a node runs; after
#    kill -9 it restarts recovering (and says why), then normal, with every
#    acknowledged count, and increments after it count; after a clean stop
#    it restarts normal
# Needs root and iproute2; without them it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
N=3
KEY=7ec07e4e7ec07e4e7ec07e4e7ec07e4e7ec07e4e7ec07e4e7ec07e4e7ec07e4e

fail() { echo "FAIL: $*" >&2; for f in "$work"/node*.log; do echo "--- $f"; tail -n 12 "$f"; done; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/nslib.sh"
ns_need_root recovery

tag=$$
work=$(mktemp -d /tmp/tally-recovery.XXXXXX)
declare -a pids
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ns_teardown
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_setup tr 10.89.0 "$N"
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
backend = cpu
[limits]
heartbeat_ms = 50
failure_ms = 400
[members]
0 = 10.89.0.1
1 = 10.89.0.2
2 = 10.89.0.3
EOF
done
CFG=$work/node0.ini

echo "== 1. a new cluster started without tallyd init"
for ((i = 0; i < N; i++)); do ns_start "$i"; done
for ((i = 0; i < N; i++)); do
	ns_wait_for "$i" "s['mode'], s.get('ready')" "normal True" 20
done
echo "every node swept the others and is normal and ready"
"$CTL" -c "$CFG" incr first 3 >/dev/null || fail "a write after the sweep"
for ((i = 0; i < N; i++)); do ns_stop "$i"; done
rm -rf "$work"/data* "$work"/node*.log

echo "== 2. tallyd init, then the first start"
for ((i = 0; i < N; i++)); do
	"$TALLYD" init --config "$work/node$i.ini" >/dev/null || fail "tallyd init of node $i"
done
out=$("$TALLYD" init --config "$work/node0.ini" 2>&1) && fail "a second tallyd init succeeded: $out"
echo "$out" | grep -q "already the data directory of node 0" || fail "a second init said: $out"
for ((i = 0; i < N; i++)); do ns_start "$i"; done
for ((i = 0; i < N; i++)); do
	ns_wait_for "$i" "s['node']" "$i" 20
	[ "$(ns_json "$i" "s['mode']")" = normal ] || fail "node $i did not start normal after tallyd init"
done
for ((i = 0; i < N; i++)); do ns_wait_for "$i" "s.get('ready')" True 20; done
echo "every node started normal and became ready"
for k in $(seq 1 12); do "$CTL" -c "$CFG" incr "k$k" "$k" -W 3 >/dev/null || fail "write of k$k"; done

echo "== 3. node 0 loses its disk while node 2 is stopped"
ns_stop 2
kill -9 "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
rm -rf "$work/data0"
ns_wait_for 1 "[m['state'] for m in s['members'] if m['id'] == 0][0]" down 10
ns_start 0
ns_wait_for 0 "s['mode']" recovering 20
ns_wait_for 0 "[m['state'] for m in s['members'] if m['id'] == 1][0]" up 10
[ "$(ns_json 0 "s.get('ready')")" = False ] || fail "a recovering node says it is ready"
detail=$(ns_json 0 "s['ready_detail']")
echo "node 0: $detail"
echo "$detail" | grep -q "node 2 (down)" || fail "node 0's ready_detail does not name node 2: $detail"
# Writes of new keys that node 0 originates are refused, and say whom it waits for.
refused=0
for k in $(seq 1 20); do
	rc=0
	msg=$("$CTL" -c "$CFG" -n 0 incr "new$k" 1 2>&1) || rc=$?
	if [ "$rc" = 19 ]; then
		refused=$((refused + 1))
		echo "$msg" | grep -q "node 2" || fail "a recovering refusal does not name node 2: $msg"
	fi
done
echo "node 0 refused $refused of 20 new keys as recovering"
[ "$refused" -ge 1 ] || fail "no write was refused as recovering"
ns_start 2
ns_wait_for 0 "s['mode'], s['ready']" "normal True" 30
echo "node 2 is back: node 0 finished its recovery and is normal and ready"
for k in $(seq 1 12); do
	"$CTL" -c "$CFG" -n 0 incr "k$k" 1 -W 3 >/dev/null || fail "write of k$k after the recovery"
	for ((i = 0; i < N; i++)); do
		v=$("$CTL" -c "$CFG" -n "$i" get "k$k" -R 3) || fail "read of k$k"
		[ "$v" = $((k + 1)) ] || fail "k$k reads $v through node $i, not $((k + 1))"
	done
done
echo "every count is exact after the recovery"

echo "== 4. a retry of a write the lost disk had applied counts once"
# Ten keys whose origin is node 0 (the first of their ring), each written
# once through node 1 with an op id of ours. Node 0 loses its disk; while it
# starts again and after, the ten writes are retried with the same op ids
# through node 1, which sends each to node 0 (its pin). Node 0 must learn
# back from the others' op-id notes that it applied them: a retry is
# answered op_refused (outcome unknown) or ok, never applied again. All of
# it within the retry window (10 s) of the first write: the notes of older
# op ids are not kept, and their retries are not promised to count once
# (docs/cluster.md#the-retry-window). A slower run fails as too slow, not
# as a retry applied twice.
keys=()
for k in $(seq 1 200); do
	[ "$("$CHECK" place --config "$CFG" --key "once$k" | cut -d' ' -f1)" = 0 ] && keys+=("$k")
	[ "${#keys[@]}" -ge 10 ] && break
done
[ "${#keys[@]}" -ge 10 ] || fail "found only ${#keys[@]} keys whose origin is node 0"
a0=$(ns_json 0 "s['requests']['applied']")
first_write=$SECONDS
for k in "${keys[@]}"; do
	"$CTL" -c "$CFG" -n 1 incr "once$k" 5 -W 3 --op-id "5eed:$k" >/dev/null || fail "write of once$k"
done
a1=$(ns_json 0 "s['requests']['applied']")
[ "$((a1 - a0))" -eq "${#keys[@]}" ] || fail "node 0 applied $((a1 - a0)) of the ${#keys[@]} writes, want all: not their origin?"
kill -9 "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
rm -rf "$work/data0"
ns_wait_for 1 "[m['state'] for m in s['members'] if m['id'] == 0][0]" down 10
ns_start 0
declare -A done_=()
end=$((first_write + 9))
while [ "${#done_[@]}" -lt "${#keys[@]}" ] && [ "$SECONDS" -lt "$end" ]; do
	for k in "${keys[@]}"; do
		[ -n "${done_[$k]:-}" ] && continue
		rc=0
		"$CTL" -c "$CFG" -n 1 -t 300 incr "once$k" 5 -W 3 --op-id "5eed:$k" >/dev/null 2>&1 || rc=$?
		case $rc in
		0 | 16) done_[$k]=$rc ;;     # applied once (a duplicate), or op_refused
		11 | 12 | 19) ;;             # not there yet: indeterminate, unavailable, recovering
		*) fail "the retry of once$k exited $rc" ;;
		esac
	done
done
[ "${#done_[@]}" -eq "${#keys[@]}" ] || fail "only ${#done_[@]} of ${#keys[@]} retries were answered in 9 s"
[ "$((SECONDS - first_write))" -lt 10 ] ||
	fail "the writes and their retries took $((SECONDS - first_write)) s, past the 10 s retry window: this run proves nothing (too slow a machine?)"
ns_wait_for 0 "s['mode'], s['ready']" "normal True" 30
for k in "${keys[@]}"; do
	v=$("$CTL" -c "$CFG" -n 2 get "once$k" -R 3) || fail "read of once$k"
	if [ "$v" != 5 ]; then
		for i in 0 1 2; do
			echo "node $i: $(ns_json "$i" "{k: s['requests'][k] for k in ('applied', 'duplicates', 'notes_sent', 'notes_in', 'noted_refused', 'pinned_retries', 'forwarded')}, s['requests']['retry_window'], [(m['id'], m.get('notes_caught_up'), m.get('notes_held'), m.get('notes_unacked')) for m in s['members']]")"
		done
		fail "once$k reads $v after its retry (answered ${done_[$k]}), not 5: applied twice"
	fi
done
echo "${#keys[@]} retries through node 1 after node 0 lost its disk: none applied again" \
	"($(printf '%s\n' "${done_[@]}" | grep -c '^16$') answered op_refused)"

echo "== 5. commit = interval: a node that did not stop cleanly recovers first"
ns_wait_for 0 "s['mode'], s['ready']" "normal True" 30
for ((i = 0; i < N; i++)); do ns_stop "$i"; done
for ((i = 0; i < N; i++)); do
	sed -i 's/^key = /commit = interval 5000\nkey = /' "$work/node$i.ini"
	ns_start "$i"
done
for ((i = 0; i < N; i++)); do ns_wait_for "$i" "s['mode'], s['ready'], s['wal']['commit']" "normal True interval" 30; done
grep -q "unsynced 1" "$work/data1/identity" || fail "node 1's identity does not say it runs unsynced: $(cat "$work/data1/identity")"
"$CTL" -c "$CFG" -n 1 status | grep -q "commit: interval 5000 ms" || fail "tallyctl status does not show the policy"
echo "started again under commit = interval: every node normal, node 1's identity says unsynced 1"
# six keys whose origin is node 1 (its applied count rises), written at W = 1
ivk=()
total=0
for k in $(seq 1 100); do
	a0=$(ns_json 1 "s['requests']['applied']")
	"$CTL" -c "$CFG" -n 1 incr "iv$k" "$k" -W 1 >/dev/null || fail "write of iv$k at W = 1"
	total=$((total + k))
	a1=$(ns_json 1 "s['requests']['applied']")
	[ "$a1" -gt "$a0" ] && ivk+=("$k")
	[ "${#ivk[@]}" -ge 6 ] && break
done
[ "${#ivk[@]}" -ge 6 ] || fail "found only ${#ivk[@]} keys whose origin is node 1"
last=$k
for k in "${ivk[@]}"; do
	"$CTL" -c "$CFG" -n 1 incr "iv$k" 1000 -W 1 >/dev/null || fail "write of iv$k at W = 1"
	total=$((total + 1000))
done
kill -9 "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
ns_start 1
ns_wait_for 1 "s['mode']" recovering 20
grep -q "did not stop cleanly" "$work/node1.log" || fail "node 1 did not say why it recovers"
ns_wait_for 1 "s['mode'], s['ready']" "normal True" 30
sum=0
for k in $(seq 1 "$last"); do
	v=$("$CTL" -c "$CFG" -n 1 get "iv$k" -R 3) || fail "read of iv$k"
	sum=$((sum + v))
done
[ "$sum" = "$total" ] || fail "after kill -9 under commit = interval the keys sum to $sum, not $total"
# Node 1 raises its own slots again: from where the others hold them, or
# (had it not recovered) from its log's, and max would absorb these.
for k in "${ivk[@]}"; do "$CTL" -c "$CFG" -n 1 incr "iv$k" 1 -W 3 >/dev/null || fail "write after the recovery"; done
sum=0
for k in $(seq 1 "$last"); do sum=$((sum + $("$CTL" -c "$CFG" -n 2 get "iv$k" -R 3))); done
[ "$sum" = $((total + ${#ivk[@]})) ] ||
	fail "after the recovery ${#ivk[@]} more increments sum to $sum, not $((total + ${#ivk[@]}))"
echo "node 1, killed with -9 under commit = interval, recovered from every member; counts exact ($sum)"
ns_stop 1
grep -q "unsynced 0" "$work/data1/identity" || fail "a clean stop left: $(cat "$work/data1/identity")"
ns_start 1
ns_wait_for 1 "s['mode'], s['ready']" "normal True" 30
grep -c "did not stop cleanly" "$work/node1.log" | grep -qx 1 || fail "node 1 recovered after a clean stop"
echo "stopped cleanly (SIGTERM): its identity says unsynced 0 and it restarts normal"
echo "all recovery checks passed"
