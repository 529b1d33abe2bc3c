#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# The embedded cluster (tallyd with no configuration: nodes in one process
# over ring ports and the sim NIC), driven from outside like a user would:
# tallyctl and tally-cluster-check. No root needed.
#
#   embedded.sh BUILD_DIR
#
# 1. quorum: W + R > N reads see every acknowledged write (three settings)
# 2. retry: one op id through every coordinator is applied once; 2b. a
#    retry through another coordinator while the origin is cut off is
#    refused by the new origin, which was noted the op id (op_refused)
# 3. bad input: a wire v1 frame, wrong key, bad record, garbage, quorum over n
# 4. W = 1, R = 1 can be stale: a node cut off keeps answering R = 1 with
#    its old value; R = 2 there is unavailable, never stale; after healing
#    it converges without any read (the origin hands the writes back)
# 5. hinted handoff on 4 nodes with n = 3, each node on an lcore of its own
#    (--lcore-per-node): quorum reads see every acknowledged write; writes
#    while a preferred node is cut off go to the next node with a hint,
#    handed back when it returns
# 6. a full key table: table_full, nothing else lost
# 7. tallyctl fails fast: an unknown node id (exit 3) and a node whose
#    client port answers ICMP port unreachable (exit 4) end at once, not
#    as indeterminate after the deadline
# 8. a negative DELTA turns incr into decr and decr into incr; -0 and
#    out-of-range deltas are refused; "--" still ends the options
# 8b. a write past 2^63 - 1 (P or N) is refused as overflow before any slot
#    rises: every replica still reads the old value and the counter goes on
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
LOG=$(mktemp /tmp/tally-embedded-log.XXXXXX)
pid=

say() { printf '== %s\n' "$*"; }
die() {
	printf 'FAIL: %s\n' "$*"
	echo "--- tallyd log:"
	tail -n 40 "$LOG"
	exit 1
}
stop() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	fi
}
trap 'stop; rm -f "$LOG" "$LOG.err"' EXIT

# json FIELD-EXPRESSION: evaluate a Python expression over node N's status as s.
json() {
	local node=$1 expr=$2
	"$CTL" -n "$node" status --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($expr)"
}

# start ARGS...: start tallyd and wait until every node sees every other up.
start() {
	local nodes=3 a
	for a in "$@"; do case $a in --nodes=*) nodes=${a#--nodes=} ;; esac; done
	"$TALLYD" "$@" >>"$LOG" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do
		local up=0
		for ((i = 0; i < nodes; i++)); do
			if [ "$(json "$i" "sum(m['state'] == 'down' for m in s['members'])" 2>/dev/null)" = 0 ]; then
				up=$((up + 1))
			fi
		done
		[ "$up" = "$nodes" ] && return 0
		kill -0 "$pid" 2>/dev/null || die "tallyd exited at start"
		sleep 0.1
	done
	die "the cluster did not come up in 20 s"
}

# wait_state NODE PEER STATE: until NODE sees PEER in STATE (up, down).
wait_state() {
	for _ in $(seq 1 50); do
		[ "$(json "$1" "[m['state'] for m in s['members'] if m['id'] == $2][0]")" = "$3" ] && return 0
		sleep 0.1
	done
	die "node $1 never saw node $2 $3"
}
wait_down() { wait_state "$1" "$2" down; }

say "0. usage"
# grep without -q: it reads the whole help (grep -q stops at the match, and a
# writer still writing then dies of SIGPIPE, which pipefail makes a failure)
"$TALLYD" --help | grep 'embedded cluster' >/dev/null || die "tallyd --help"
"$CTL" --help | grep 'Exit status' >/dev/null || die "tallyctl --help"
for c in incr decr get status partition; do "$CTL" "$c" --help | grep "usage: tallyctl" >/dev/null || die "tallyctl $c --help"; done
rc=0; "$TALLYD" --nodes 9 2>/dev/null || rc=$?
[ "$rc" = 2 ] || die "tallyd --nodes 9: exit $rc, want 2"
rc=0; "$CTL" incr 2>/dev/null || rc=$?
[ "$rc" = 2 ] || die "tallyctl incr without a key: exit $rc, want 2"
echo "--help of tallyd and of every tallyctl command; usage errors exit 2"

say "starting the embedded cluster: 3 nodes, n = 3, sim NIC"
start --nodes=3

say "1. quorum"
"$CHECK" quorum --nodes 3 --ops 150 -W 2 -R 2 --seed 11 || die "W=2 R=2"
"$CHECK" quorum --nodes 3 --ops 100 -W 3 -R 1 --seed 12 || die "W=3 R=1"
"$CHECK" quorum --nodes 3 --ops 100 -W 1 -R 3 --seed 13 || die "W=1 R=3"

say "2. retry with one op id through every coordinator"
"$CHECK" retry --nodes 3 --seed 21 || die "retry"

say "2b. a retry through another coordinator, after the origin is cut off"
read -r A B C _ < <("$CHECK" place --key noted)
"$CTL" -n "$B" incr noted 5 --op-id 7a11:1 >/dev/null || die "the first send through node $B"
"$CTL" partition isolate "$A" >/dev/null
wait_down "$C" "$A"
rc=0; "$CTL" -n "$C" incr noted 5 --op-id 7a11:1 2>/dev/null || rc=$?
v=$("$CTL" -n "$C" get noted -R 2)
echo "op 7a11:1 applied by origin $A through node $B; with $A cut off, the retry through node $C: exit $rc, value $v"
[ "$rc" = 16 ] && [ "$v" = 5 ] || die "want op_refused (exit 16) and 5: the new origin must know the op id from $A's note"
"$CTL" partition heal >/dev/null
wait_state "$B" "$A" up
rc=0; "$CTL" -n "$B" incr noted 5 --op-id 7a11:1 >/dev/null || rc=$?
v=$("$CTL" -n "$B" get noted -R 3)
[ "$rc" = 0 ] && [ "$v" = 5 ] || die "after healing, the retry through node $B (pinned to $A): exit $rc, value $v; want ok (0) and 5"
echo "after healing, the retry through node $B reaches origin $A: ok, still 5"

say "3. bad input"
"$CHECK" bad --node 1 --seed 31 || die "bad input"
drops=$(json 1 "s['requests']['client_drops']['bad_mac']")
[ "$drops" -ge 1 ] || die "the wrong-key frame is not counted (bad_mac = $drops)"
echo "node 1 counted the wrong-key frame: client_drops.bad_mac = $drops"
drops=$(json 1 "s['requests']['client_drops']['bad_version']")
[ "$drops" -ge 1 ] || die "the wire v1 frame is not counted (bad_version = $drops)"
grep -q "bad_version (wire v1; this node speaks v2" "$LOG" || die "the log does not say a v1 client was refused"
echo "node 1 counted the wire v1 frame (client_drops.bad_version = $drops) and said so in its log"
"$CTL" -n 1 incr "" 2>/dev/null && die "tallyctl took an empty key"
rc=0; "$CTL" -n 1 -W 4 incr k 1 2>/dev/null || rc=$?
[ "$rc" = 13 ] || die "tallyctl -W 4 on n = 3: exit $rc, want 13 (bad_request)"
echo "tallyctl refuses an empty key, and -W 4 on n = 3 exits 13 (bad_request)"

say "4. W = 1, R = 1 can be stale; R = 2 is not"
"$CTL" -n 0 incr stale 10 -W 3 >/dev/null
"$CTL" partition isolate 2 >/dev/null
wait_down 0 2
for _ in 1 2 3 4 5; do "$CTL" -n 0 incr stale 1 -W 1 >/dev/null; done
old=$("$CTL" -n 2 get stale -R 1)
new=$("$CTL" -n 0 get stale -R 2)
echo "node 2, cut off, R = 1: $old; nodes 0 and 1, R = 2: $new"
[ "$old" = 10 ] && [ "$new" = 15 ] || die "want 10 (stale) at node 2 and 15 at node 0"
rc=0; "$CTL" -n 2 get stale -R 2 2>/dev/null || rc=$?
[ "$rc" = 12 ] || die "R = 2 at the cut-off node: exit $rc, want 12 (unavailable)"
echo "node 2, cut off, R = 2: unavailable (exit 12), not stale"
owed=$(json 0 "[m['hints'] for m in s['members'] if m['id'] == 2][0]")
echo "node 0 holds $owed key(s) owed to node 2"
[ "$owed" -ge 1 ] || die "node 0 owes node 2 nothing"
"$CTL" partition heal >/dev/null
for _ in $(seq 1 50); do
	[ "$("$CTL" -n 2 get stale -R 1)" = 15 ] && break
	sleep 0.1
done
[ "$("$CTL" -n 2 get stale -R 1)" = 15 ] || die "node 2 did not converge after healing"
echo "after healing, node 2 answers R = 1 with 15: converged without a read"
stop

say "5. hinted handoff: 4 nodes, n = 3, an lcore per node"
start --nodes=4 --replicas=3 --lcore-per-node
threads=$(ls /proc/"$pid"/task | wc -l)
[ "$threads" -ge 8 ] || die "--lcore-per-node: tallyd runs $threads threads, want the main lcore, 4 node lcores and 4 log threads at least"
"$CHECK" quorum --nodes 4 --ops 120 -W 2 -R 2 --seed 51 || die "W=2 R=2 with an lcore per node"
"$CTL" partition isolate 3 >/dev/null
wait_down 0 3
for k in $(seq 1 24); do "$CTL" -n 0 incr "h$k" "$k" -W 2 >/dev/null || die "write h$k"; done
hints=0
for n in 0 1 2; do
	hints=$((hints + $(json "$n" "[m['hints'] for m in s['members'] if m['id'] == 3][0]")))
done
echo "while node 3 is cut off, nodes 0..2 hold $hints key(s) for it"
[ "$hints" -ge 1 ] || die "no hints held for node 3"
"$CTL" partition heal >/dev/null
for _ in $(seq 1 100); do
	hints=0
	for n in 0 1 2; do
		hints=$((hints + $(json "$n" "[m['hints'] for m in s['members'] if m['id'] == 3][0]")))
	done
	[ "$hints" = 0 ] && break
	sleep 0.1
done
[ "$hints" = 0 ] || die "$hints hint(s) for node 3 still held 10 s after healing"
# Every key reads right through node 3, even with R = 1.
right=0
for k in $(seq 1 24); do
	v=$("$CTL" -n 3 get "h$k" -R 1)
	if [ "$v" = "$k" ]; then right=$((right + 1)); fi
done
handed=$(json 0 "s['requests']['handoff_records']")
echo "after healing: every hint confirmed by node 3's acks ($handed records offered by node 0); R = 1 through node 3 reads $right of 24 keys right"
[ "$right" = 24 ] || die "R = 1 through node 3 reads only $right of the 24 keys right"
for k in $(seq 1 24); do "$CHECK" expect --nodes 4 --node 3 --key "h$k" --min "$k" --max "$k" -R 3 >/dev/null ||
	die "h$k at R = 3"; done
echo "every key reads right at R = 3 through node 3"
stop

say "6b. MV-registers: the ConfigMap conflict"
start --nodes=3 --lww-prefix=flag:
TA=$(mktemp /tmp/tally-embedded-a.XXXXXX) TB=$(mktemp /tmp/tally-embedded-b.XXXXXX)
"$CTL" -n 0 put config initial >/dev/null
# Two sessions read the same config, then each writes its change on its own side of a partition.
"$CTL" -n 0 --token-file "$TA" get config >/dev/null
"$CTL" -n 2 --token-file "$TB" get config >/dev/null
"$CTL" partition isolate 2 >/dev/null
wait_down 0 2
"$CTL" -n 0 --token-file "$TA" put config value-from-A >/dev/null || die "put at node 0"
"$CTL" -n 2 --token-file "$TB" put config value-from-B -W 1 >/dev/null || die "put at node 2, cut off"
"$CTL" partition heal >/dev/null
# With no client traffic, anti-entropy brings node 2's value to node 1's own replica.
for _ in $(seq 1 100); do
	[ "$("$CTL" -n 1 get config --local | sort | paste -sd,)" = "value-from-A,value-from-B" ] && break
	sleep 0.1
done
local1=$("$CTL" -n 1 get config --local | sort | paste -sd,)
echo "after healing, with no client traffic, node 1's own replica holds: $local1"
[ "$local1" = "value-from-A,value-from-B" ] || die "registers did not converge without reads"
both=$("$CTL" -n 1 get config -R 3 | sort | paste -sd,)
echo "two puts that each replaced 'initial' without seeing the other, read at R = 3 after healing: $both"
[ "$both" = "value-from-A,value-from-B" ] || die "want both siblings, got '$both'"
"$CTL" -n 0 --token-file "$TA" get config >/dev/null
n=$("$CTL" -n 0 --token-file "$TA" put config resolved)
one=$("$CTL" -n 2 get config -R 3)
echo "a put that saw both (same session): $n value left, read through node 2: $one"
[ "$n" = 1 ] && [ "$one" = resolved ] || die "the resolving put"
rc=0; "$CTL" incr config 1 2>/dev/null || rc=$?
[ "$rc" = 13 ] || die "incr on a register: exit $rc, want 13"
echo "incr on a register is bad_request (exit 13)"
# Last-writer-wins, opted into for keys starting with flag: (and only those):
# the same concurrent writes keep one value; the other is dropped, silently.
"$CTL" -n 0 put flag:beta on >/dev/null
"$CTL" -n 0 put flag:beta off >/dev/null
[ "$("$CTL" -n 1 get flag:beta -R 3)" = off ] || die "an LWW put should replace the value"
"$CTL" partition isolate 2 >/dev/null
wait_down 0 2
"$CTL" -n 0 put flag:beta from-A >/dev/null
"$CTL" -n 2 put flag:beta from-B -W 1 >/dev/null
"$CTL" partition heal >/dev/null
sleep 1.2
lww=$("$CTL" -n 1 get flag:beta -R 3 | paste -sd,)
echo "an LWW key written on both sides of the cut keeps one value: $lww (the other was dropped)"
case $lww in from-A | from-B) ;; *) die "LWW kept '$lww'" ;; esac
rm -f "$TA" "$TB"
stop

say "7. an unknown or unreachable node fails fast"
start --nodes=3
# fast CMD...: run tallyctl CMD with a 5 s deadline; set rc, ms and err
fast() {
	local t0
	t0=$(date +%s%N)
	rc=0
	"$CTL" -t 5000 "$@" >/dev/null 2>"$LOG.err" || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	err=$(cat "$LOG.err")
}
fast -n 7 incr x 1
echo "tallyctl -n 7 incr x 1 on 3 nodes: exit $rc after $ms ms: $err"
[ "$rc" = 3 ] && [ "$ms" -lt 2000 ] || die "an unknown node: exit $rc after $ms ms, want 3 at once"
case $err in *"unknown node 7"*"nodes 0, 1, 2"*) ;; *) die "an unknown node: the message does not say which nodes exist" ;; esac
fast -n 7 wait-ready
[ "$rc" = 3 ] || die "wait-ready -n 7: exit $rc, want 3"
# A configuration whose member 0 is this host with nothing on its ports:
# ICMP port unreachable. An id not in its [members] is unknown.
CFG=$(mktemp /tmp/tally-embedded-cfg.XXXXXX)
printf '[cluster]\nn = 1\nw = 1\nr = 1\nkey = %064d\n[node]\nid = 0\nclient_port = 7991\nadmin_port = 7992\n[members]\n0 = 127.0.0.1\n' 0 >"$CFG"
fast -c "$CFG" incr x 1
echo "a member with nothing on its client port: exit $rc after $ms ms: $err"
[ "$rc" = 4 ] && [ "$ms" -lt 2000 ] || die "nothing listening: exit $rc after $ms ms, want 4 at once"
case $err in *unreachable*"127.0.0.1:7991"*"not applied"*) ;; *) die "nothing listening: the message" ;; esac
fast -c "$CFG" get x
[ "$rc" = 4 ] || die "get with nothing listening: exit $rc, want 4"
fast -c "$CFG" -n 3 incr x 1
rm -f "$CFG"
[ "$rc" = 3 ] || die "-c with -n 3 not in [members]: exit $rc, want 3"
echo "-n 3 outside a configuration's [members]: exit 3"

say "8. negative deltas"
v=$("$CTL" incr neg 10) && [ "$v" = 10 ] || die "incr neg 10: $v"
v=$("$CTL" incr neg -3) || die "incr neg -3 refused"
[ "$v" = 7 ] || die "incr neg -3 gave $v, want 7 (a decrement)"
v=$("$CTL" decr neg -5) && [ "$v" = 12 ] || die "decr neg -5 gave $v, want 12 (an increment)"
v=$("$CTL" -n 1 incr neg -2 -W 3) && [ "$v" = 10 ] || die "incr neg -2 -W 3 gave $v, want 10"
v=$("$CTL" incr -W 3 neg -- -1) && [ "$v" = 9 ] || die "incr neg -- -1 gave $v, want 9"
v=$("$CTL" -n 2 get neg -R 3) && [ "$v" = 9 ] || die "get neg: $v, want 9"
echo "incr neg 10, incr neg -3, decr neg -5, incr neg -2 -W 3, incr -W 3 neg -- -1: $v"
for bad in -0 0 -9223372036854775808 9223372036854775808 -x; do
	rc=0; "$CTL" incr neg -- "$bad" 2>"$LOG.err" || rc=$?
	[ "$rc" = 2 ] || die "incr neg $bad: exit $rc, want 2"
	grep -q "DELTA" "$LOG.err" || die "incr neg $bad: the message does not name DELTA"
done
rc=0; "$CTL" incr neg -0 2>/dev/null || rc=$?
[ "$rc" = 2 ] || die "incr neg -0 (no --): exit $rc, want 2"
rm -f "$LOG.err"
[ "$("$CTL" get neg -R 3)" = 9 ] || die "a refused delta changed the counter"
echo "-0, 0 and out-of-range deltas are refused (exit 2) and change nothing"

say "8b. overflow is refused before anything is raised"
M=9223372036854775807
v=$("$CTL" incr big $M -W 3) && [ "$v" = $M ] || die "incr big 2^63 - 1: $v"
v=$("$CTL" decr low $M -W 3) && [ "$v" = -$M ] || die "decr low 2^63 - 1: $v"
for k in big low; do
	rc=0; "$CTL" -n 1 "$([ $k = big ] && echo incr || echo decr)" "$k" 1 -W 3 2>"$LOG.err" || rc=$?
	[ "$rc" = 15 ] || die "one more on $k: exit $rc, want 15 (overflow)"
	grep -q "not applied" "$LOG.err" || die "one more on $k: the message does not say not applied"
	for n in 0 1 2; do
		v=$("$CTL" -n "$n" get "$k" -R 1) || die "after a refused overflow, node $n cannot read $k"
		[ "$v" = "$([ $k = big ] && echo $M || echo -$M)" ] || die "after a refused overflow, node $n reads $k = $v"
	done
done
rm -f "$LOG.err"
v=$("$CTL" decr big 1 -W 3) && [ "$v" = $((M - 1)) ] || die "decr big 1 after the refusal: $v"
echo "2^63 - 1 and one more: refused (exit 15), every replica still reads 2^63 - 1, and the counter goes on"
stop

say "6. a full key table"
start --nodes=3 --table-entries=8
"$CHECK" fill --node 0 --keys 8 || die "fill"
stop
say "all embedded cluster checks passed"
