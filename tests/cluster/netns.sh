#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# A real cluster: four tallyd processes, each in its own network namespace
# with a veth into one bridge, the cluster link through DPDK's net_af_packet
# PMD, clients through the kernel (tallyctl and tally-cluster-check in the
# root namespace). Nodes 0 and 1 run the cpu backend, 2 and 3 the sim NIC.
# n = 3, w = r = 2.
#
#   netns.sh BUILD_DIR
#
# 1. quorum: W + R > N reads see every acknowledged write, through every
#    node; one op id through every coordinator is applied once
# 2. hinted handoff: a node's link down, writes go on with hints, handed
#    back when it returns; meanwhile that node answers R = 1 with a stale
#    value (W = 1, R = 1 is eventual) while R = 2 elsewhere is fresh
# 3. kill -9 with the data directory kept: the origin of a key is killed in
#    the middle of W = 1 writes (acknowledged on its own log alone) and
#    restarted: no acknowledged write is lost
# 4. kill -9 with the data directory lost: the origin comes back empty and
#    recovers its own slot from every member before raising it; writes after
#    its return are not swallowed by max (Riak's kv679)
# 5. anti-entropy: node 3 misses W = 1 writes while cut off, the others
#    restart (forgetting they owed it), and after healing with no client
#    traffic the digest exchange finds and ships what it lacks; the
#    convergence time is printed
# 6. session tokens: with node 3 cut off, a session's write through node 0
#    and reads through node 3: without the token stale (read-your-writes and
#    monotonic reads both violated, observably), with it not_yet; after
#    healing the guarded read sees the write; a tampered token is refused
# 6b. MV-registers: two sessions that read a config write it on both sides
#    of node 3's cut link; after it both values read back, and a put by a
#    session that read both leaves one
# 7. causal writes, with nodes 0 and 1's frames to node 3 delayed 700 ms
#    (the nodes' own fault injection; this kernel has no netem): a post
#    (origin node 1) and its comment (origin node 2) written one after the
#    other show up at node 3 in the wrong order without a dependency; with
#    the comment written --after the post, node 3 holds it back and never
#    shows it first
# 8. a node with a wrong cluster key: its frames are dropped and counted,
#    it never counts as up, and the others go on
# 9. full key tables (every node restarted with table_entries = 6): the
#    first refused key is table_full, every acknowledged one reads back,
#    the refused one reads as never written, and writes to held keys go on
# Refused client frames (wrong key, bad record, garbage, W over n) are
# checked against a sim-backend node in step 1.
# Needs root and iproute2; without them it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
TALLYD=$B/host/tallyd
CTL=$B/host/tallyctl
CHECK=$B/tests/cluster/tally-cluster-check
N=4
KEY=5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed
WRONG=0000000000000000000000000000000000000000000000000000000000000bad

fail() { echo "FAIL: $*" >&2; for f in "$work"/node*.log; do echo "--- $f"; tail -n 15 "$f"; done; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/nslib.sh"
ns_need_root netns

tag=$$
work=$(mktemp -d /tmp/tally-netns.XXXXXX)
declare -a pids
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ns_teardown
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_setup t 10.88.0 "$N"

# config ID KEY: node ID's configuration file
config() {
	local f=$work/node$1.ini
	cat >"$f" <<EOF
[cluster]
n = 3
w = 2
r = 2
key = $2
[node]
id = $1
data_dir = $work/data$1
${TABLE:-}
backend = $([ "$1" -lt 2 ] && echo cpu || echo sim)
fault_injection = 1
[limits]
heartbeat_ms = 50
failure_ms = 400
request_timeout_ms = 2000
[members]
EOF
	for ((j = 0; j < N; j++)); do echo "$j = 10.88.0.$((j + 1))" >>"$f"; done
	echo "$f"
}
for ((i = 0; i < N; i++)); do config "$i" "$KEY" >/dev/null; done
CFG=$work/node0.ini # every node's file names the same members and key

# start ID [KEY] [--bootstrap]: run node ID in its namespace, EAL options given explicitly
start() {
	local id=$1 key=${2:-$KEY} extra=${3:-}
	local f
	f=$(config "$id" "$key")
	# shellcheck disable=SC2086
	ip netns exec "tn$id-$tag" ${TALLY_NETNS_WRAP:-} "$TALLYD" --no-huge -m 256 --no-pci --no-shconf --no-telemetry \
		-l $((id % 2)) --log-level='*:error' "--vdev=net_af_packet0,iface=tv$id-$tag" \
		-- --config "$f" $extra >>"$work/node$id.log" 2>&1 &
	pids[$id]=$!
}

# json NODE EXPR: a Python expression over node NODE's status as s
json() { "$CTL" -c "$CFG" -n "$1" status --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)"; }
state_of() { json "$1" "[m['state'] for m in s['members'] if m['id'] == $2][0]" 2>/dev/null || echo none; }
# wait_state NODE PEER STATE
wait_state() {
	for _ in $(seq 1 150); do
		[ "$(state_of "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	fail "node $1 never saw node $2 $3"
}
# wait_serving ID: until node ID's own status page answers (it has started)
wait_serving() {
	for _ in $(seq 1 200); do
		json "$1" "s['node']" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "node $1 did not start"
}
# restart ID [ARGS]: start node ID again once the others saw it down, and wait until they see it up
restart() {
	wait_state 0 "$1" down
	start "$@"
	wait_serving "$1"
	wait_state 0 "$1" up
}
wait_all_up() {
	for ((i = 0; i < N; i++)); do for ((j = 0; j < N; j++)); do
		[ "$i" = "$j" ] || wait_state "$i" "$j" up
	done; done
}

echo "== starting $N nodes (0, 1: cpu backend; 2, 3: sim NIC) in network namespaces"
for ((i = 0; i < N; i++)); do start "$i" "$KEY" --bootstrap; done
wait_all_up
echo "all $N nodes see each other up"

echo "== 1. quorum through every node"
"$CHECK" quorum --config "$CFG" --nodes $N --ops 200 -W 2 -R 2 --seed 41 || fail "quorum W=2 R=2"
"$CHECK" retry --config "$CFG" --nodes $N --seed 42 || fail "retry"

"$CHECK" bad --config "$CFG" --node 2 --seed 43 || fail "bad input at a sim-backend node"

echo "== 2. hinted handoff, and W = 1, R = 1 staleness"
ip link set "tb3-$tag" down
wait_state 0 3 down
for k in $(seq 1 20); do "$CTL" -c "$CFG" -n $((k % 3)) incr "hh$k" "$k" -W 2 >/dev/null || fail "write hh$k"; done
hints=0
for n in 0 1 2; do hints=$((hints + $(json "$n" "[m['hints'] for m in s['members'] if m['id'] == 3][0]"))); done
echo "node 3's link is down: nodes 0..2 hold $hints key(s) for it"
# W = 1, R = 1 can be stale: node 3, cut off, answers from what it has (a
# client inside its namespace still reaches it).
ip netns exec "tn3-$tag" "$CTL" -c "$CFG" -n 3 get hh7 -R 1 >"$work/stale.out" 2>&1 || true
"$CTL" -c "$CFG" -n 0 get hh7 -R 2 >"$work/fresh.out"
echo "hh7 through node 3 (cut off) at R = 1: $(cat "$work/stale.out"); through node 0 at R = 2: $(cat "$work/fresh.out")"
[ "$(cat "$work/stale.out")" = 0 ] && [ "$(cat "$work/fresh.out")" = 7 ] ||
	fail "want the stale 0 at node 3 and 7 at node 0"
[ "$hints" -ge 1 ] || fail "no hints for node 3"
ip link set "tb3-$tag" up
wait_state 0 3 up
for _ in $(seq 1 100); do
	hints=0
	for n in 0 1 2; do hints=$((hints + $(json "$n" "[m['hints'] for m in s['members'] if m['id'] == 3][0]"))); done
	[ "$hints" = 0 ] && break
	sleep 0.1
done
[ "$hints" = 0 ] || fail "$hints hint(s) for node 3 still held 10 s after its link came back"
for k in $(seq 1 20); do "$CHECK" expect --config "$CFG" --node 3 --key "hh$k" --min "$k" --max "$k" -R 3 >/dev/null ||
	fail "hh$k after the handoff"; done
echo "link back: every hint confirmed by node 3; all 20 keys read right through node 3 at R = 3"

# A key whose origin (first in its preference list) is node 2.
pick_key() { # pick_key ORIGIN PREFIX
	for k in $(seq 1 200); do
		if [ "$("$CHECK" place --config "$CFG" --key "$2$k" | cut -d' ' -f1)" = "$1" ]; then echo "$2$k"; return; fi
	done
	fail "no key with origin $1"
}

echo "== 3. kill -9 of an origin, data directory kept"
K=$(pick_key 2 kept)
echo "key $K: nodes in ring order $("$CHECK" place --config "$CFG" --key "$K")"
"$CHECK" write --config "$CFG" --node 0 --key "$K" --count 20000 -W 1 >"$work/w1.out" &
writer=$!
sleep 1
kill -9 "${pids[2]}"
wait "${pids[2]}" 2>/dev/null || true
echo "node 2 killed with -9 in the middle of the writes"
wait "$writer"
read -r acked indet other <"$work/w1.out"
echo "writes at W = 1: $acked acknowledged, $indet indeterminate, $other refused"
restart 2
"$CHECK" expect --config "$CFG" --node 1 --key "$K" --min "$acked" --max $((acked + indet)) -R 3 ||
	fail "acknowledged writes lost after kill -9"
echo "node 2 restarted from its log: $(json 2 "s['wal']['replayed']") records replayed; nothing acknowledged was lost"

echo "== 4. kill -9 of an origin, data directory lost (kv679)"
K=$(pick_key 2 lost)
"$CHECK" write --config "$CFG" --node 0 --key "$K" --count 300 -W 3 >"$work/w2.out"
read -r a1 i1 _ <"$work/w2.out"
kill -9 "${pids[2]}"
wait "${pids[2]}" 2>/dev/null || true
rm -rf "$work/data2"
echo "node 2 killed and its data directory removed after $a1 writes at W = 3 (it held its own slot)"
restart 2
# It came back recovering (it may already have swept every member and left
# the mode: the others are all up).
grep -q "taking it for a lost data directory" "$work/node2.log" || fail "node 2 came back empty but not recovering"
"$CHECK" write --config "$CFG" --node 2 --key "$K" --count 200 -W 3 >"$work/w3.out"
read -r a2 i2 o2 <"$work/w3.out"
echo "node 2 back after recovering; $a2 more writes acknowledged ($i2 indeterminate, $o2 refused)"
"$CHECK" expect --config "$CFG" --node 1 --key "$K" --min $((a1 + a2)) --max $((a1 + i1 + a2 + i2)) -R 3 ||
	fail "writes after the lost directory were swallowed"
[ "$(json 2 "s['recovery']['sweep_states'] + s['requests']['recoveries']")" -ge 1 ] ||
	fail "node 2 recovered nothing from the others"
echo "recovered: $(json 2 "s['recovery']['sweep_states']") state(s) by the sweep, $(json 2 "s['requests']['recoveries']") key(s) one by one; mode $(json 2 "s['mode']"); total is every acknowledged write"

echo "== 5. anti-entropy: a replica that missed writes nobody owes it any more"
# Cut node 3 off and, before anyone notices, write at W = 1: the origins
# ship to node 3 in vain. Then kill -9 and restart nodes 0..2, so nobody
# remembers retransmitting to it, and heal with no traffic: only
# anti-entropy (digest exchange, then REPAIR) can bring node 3 up to date.
# Keys node 3 is a replica of, whose origin is node 0 or 1 (node 2 may still
# be recovering from step 4, and would wait for node 3 before raising its slot).
aekeys=()
for k in $(seq 1 300); do
	read -r a b c _ <<<"$("$CHECK" place --config "$CFG" --key "ae$k")"
	if [ "$a" -le 1 ] && { [ "$b" = 3 ] || [ "$c" = 3 ]; }; then aekeys+=("ae$k"); fi
	[ ${#aekeys[@]} = 10 ] && break
done
ip link set "tb3-$tag" down
for i in "${!aekeys[@]}"; do "$CTL" -c "$CFG" -n 0 incr "${aekeys[$i]}" $((i + 1)) -W 1 >/dev/null || fail "write ${aekeys[$i]}"; done
for i in 0 1 2; do kill -9 "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null || true; done
for i in 0 1 2; do start "$i"; done
for i in 0 1 2; do wait_serving "$i"; done
for i in 0 1 2; do for j in 0 1 2; do [ "$i" = "$j" ] || wait_state "$i" "$j" up; done; done
stale=0
for i in "${!aekeys[@]}"; do
	[ "$(ip netns exec "tn3-$tag" "$CTL" -c "$CFG" -n 3 get "${aekeys[$i]}" --local)" = $((i + 1)) ] || stale=$((stale + 1))
done
echo "node 3, cut off, lacks $stale of 10 keys written at W = 1; nodes 0..2 restarted since"
[ "$stale" -ge 1 ] || fail "node 3 got the writes anyway; the test shows nothing"
ip link set "tb3-$tag" up
t0=$(date +%s%N)
for _ in $(seq 1 300); do
	behind=0
	for i in "${!aekeys[@]}"; do
		[ "$("$CTL" -c "$CFG" -n 3 get "${aekeys[$i]}" --local)" = $((i + 1)) ] || behind=$((behind + 1))
	done
	[ "$behind" = 0 ] && break
	sleep 0.05
done
[ "$behind" = 0 ] || fail "node 3 still lacks $behind key(s) 15 s after healing"
ms=$((($(date +%s%N) - t0) / 1000000))
sent=0
for n in 0 1 2; do sent=$((sent + $(json "$n" "[m['ae_records_sent'] for m in s['members'] if m['id'] == 3][0]"))); done
echo "healed with no client traffic: node 3 holds all 10 keys ${ms} ms later, by anti-entropy ($sent REPAIR records sent to it)"
[ "$sent" -ge 1 ] || fail "no anti-entropy repairs were sent"

echo "== 6. session tokens: read-your-writes and monotonic reads"
# Node 3 cut off again. A session writes through node 0 and reads through
# node 3 (a client in its namespace still reaches it). Without a token the
# read is stale, which is the anomaly; with the token it is not_yet, never
# stale; after healing the token-guarded read returns the write.
TOK=$work/session.tok
K=$(pick_key 0 sess)
"$CTL" -c "$CFG" -n 0 incr "$K" 10 -W 3 >/dev/null
ip link set "tb3-$tag" down
wait_state 0 3 down
"$CTL" -c "$CFG" -n 0 --token-file "$TOK" incr "$K" 5 -W 2 >/dev/null || fail "session write"
plain=$(ip netns exec "tn3-$tag" "$CTL" -c "$CFG" -n 3 get "$K" -R 1)
rc=0; ip netns exec "tn3-$tag" "$CTL" -c "$CFG" -n 3 --token-file "$TOK" -t 500 get "$K" -R 1 2>/dev/null || rc=$?
echo "read-your-writes: the session wrote 15; through node 3, cut off: without its token $plain (stale), with it exit $rc (not_yet)"
[ "$plain" = 10 ] || fail "without a token node 3 should have answered the stale 10, not $plain"
[ "$rc" = 21 ] || fail "with the token node 3 answered exit $rc, want 21 (not_yet)"
# Monotonic reads: a session that read 15 through node 0 must not read 10 later.
MR=$work/mr.tok
seen=$("$CTL" -c "$CFG" -n 0 --token-file "$MR" get "$K" -R 2)
later=$(ip netns exec "tn3-$tag" "$CTL" -c "$CFG" -n 3 get "$K" -R 1)
rc=0; ip netns exec "tn3-$tag" "$CTL" -c "$CFG" -n 3 --token-file "$MR" -t 500 get "$K" -R 1 2>/dev/null || rc=$?
echo "monotonic reads: read $seen through node 0, then through node 3 without the token $later (went back), with it exit $rc"
[ "$seen" = 15 ] && [ "$later" = 10 ] && [ "$rc" = 21 ] || fail "monotonic reads: $seen, $later, exit $rc"
ip link set "tb3-$tag" up
wait_state 0 3 up
v=$("$CTL" -c "$CFG" -n 3 --token-file "$TOK" -t 3000 get "$K" -R 1) || fail "the token-guarded read after healing"
echo "after healing, the token-guarded read through node 3: $v"
[ "$v" = 15 ] || fail "read-your-writes after healing: $v, want 15"
# A tampered token is refused, with its reason.
sed -i 's/ \(..\)/ 00/' "$TOK"
rc=0; "$CTL" -c "$CFG" -n 1 --token-file "$TOK" get "$K" 2>"$work/bad.err" || rc=$?
[ "$rc" = 20 ] && grep -q forged "$work/bad.err" || fail "a tampered token: exit $rc, $(cat "$work/bad.err")"
echo "a tampered token: exit 20, \"$(cut -d: -f4- "$work/bad.err" | cut -c1-60)...\""

pick_pc() { # pick_pc ORIGIN PREFIX: a key whose origin is ORIGIN and of which node 3 is a replica
	for k in $(seq 1 400); do
		read -r a b c _ <<<"$("$CHECK" place --config "$CFG" --key "$2$k")"
		if [ "$a" = "$1" ] && { [ "$b" = 3 ] || [ "$c" = 3 ]; }; then echo "$2$k"; return; fi
	done
	fail "no key with origin $1 replicated on node 3"
}

echo "== 6b. MV-registers: the ConfigMap conflict across a cut link"
CK=$(pick_pc 0 config)
TA=$work/a.tok TB=$work/b.tok
"$CTL" -c "$CFG" -n 0 put "$CK" initial -W 3 >/dev/null
"$CTL" -c "$CFG" -n 0 --token-file "$TA" get "$CK" >/dev/null
ip netns exec "tn3-$tag" "$CTL" -c "$CFG" -n 3 --token-file "$TB" get "$CK" >/dev/null
ip link set "tb3-$tag" down
wait_state 0 3 down
"$CTL" -c "$CFG" -n 0 --token-file "$TA" put "$CK" value-from-A >/dev/null || fail "put through node 0"
ip netns exec "tn3-$tag" "$CTL" -c "$CFG" -n 3 --token-file "$TB" put "$CK" value-from-B -W 1 >/dev/null ||
	fail "put through node 3, cut off"
ip link set "tb3-$tag" up
wait_state 0 3 up
both=$("$CTL" -c "$CFG" -n 1 get "$CK" -R 3 | sort | paste -sd,)
echo "two sessions that read 'initial' wrote on both sides of the cut; after it, R = 3 reads: $both"
[ "$both" = "value-from-A,value-from-B" ] || fail "want both siblings, got '$both'"
"$CTL" -c "$CFG" -n 0 --token-file "$TA" get "$CK" -R 3 >/dev/null
"$CTL" -c "$CFG" -n 0 --token-file "$TA" put "$CK" resolved >/dev/null
one=$("$CTL" -c "$CFG" -n 2 get "$CK" -R 3)
echo "a put by a session that read both: $one"
[ "$one" = resolved ] || fail "the resolving put left '$one'"

echo "== 7. causal writes: the comment never shows before the post"
# Nodes 0 and 1 send node 3 their frames 700 ms late (tallyctl fault: this
# kernel has no netem). A post whose replicas are nodes 1 (its origin), 3
# and 0, and a comment whose origin is node 2: node 3 hears of the comment
# first, since nothing that holds the post reaches it on time.
pick_post() { # a key with origin 1, node 3 a replica, node 2 not one
	for k in $(seq 1 1000); do
		read -r a b c _ <<<"$("$CHECK" place --config "$CFG" --key "$1$k")"
		if [ "$a" = 1 ] && { [ "$b" = 3 ] || [ "$c" = 3 ]; } && [ "$b" != 2 ] && [ "$c" != 2 ]; then
			echo "$1$k"
			return
		fi
	done
	fail "no post key"
}
pick_comment() { # a key with origin 2, node 3 a replica
	for k in $(seq 1 1000); do
		read -r a b c _ <<<"$("$CHECK" place --config "$CFG" --key "$1$k")"
		if [ "$a" = 2 ] && { [ "$b" = 3 ] || [ "$c" = 3 ]; }; then echo "$1$k"; return; fi
	done
	fail "no comment key"
}
# watch3 POST COMMENT: look at node 3's own replicas 40 times over a second;
# print how many looks saw the comment without the post
watch3() {
	local bad=0 c p
	for _ in $(seq 1 40); do
		c=$("$CTL" -c "$CFG" -n 3 get "$2" --local)
		p=$("$CTL" -c "$CFG" -n 3 get "$1" --local)
		[ "$c" -ge 1 ] && [ "$p" = 0 ] && bad=$((bad + 1))
		sleep 0.02
	done
	echo "$bad"
}
for i in 0 1; do "$CTL" -c "$CFG" -n "$i" fault delay 3 700 >/dev/null || fail "tallyctl fault delay"; done
P=$(pick_post post) Q=$(pick_comment comment)
"$CTL" -c "$CFG" -n 1 incr "$P" 1 -W 1 >/dev/null
"$CTL" -c "$CFG" -n 2 incr "$Q" 1 -W 1 >/dev/null
plain=$(watch3 "$P" "$Q")
echo "without a dependency: node 3 showed the comment without its post in $plain of 40 looks"
[ "$plain" -ge 1 ] || fail "the anomaly did not show without causal writes, so the test proves nothing"
CT=$work/causal.tok
P=$(pick_post post2) Q=$(pick_comment comment2)
before=$(json 3 "s['requests']['held_total']")
"$CTL" -c "$CFG" -n 1 --token-file "$CT" incr "$P" 1 -W 1 >/dev/null
"$CTL" -c "$CFG" -n 2 --token-file "$CT" incr "$Q" 1 -W 1 --after "$P" >/dev/null || fail "the causal write"
guarded=$(watch3 "$P" "$Q")
held=$(($(json 3 "s['requests']['held_total']") - before))
echo "with the comment written --after the post: $guarded of 40 looks; node 3 held $held causal record(s) back" \
	"(longest $(json 3 "s['requests']['held_longest_ms']") ms)"
[ "$guarded" = 0 ] || fail "node 3 showed a causal write before its dependency"
[ "$held" -ge 1 ] || fail "node 3 held nothing back, so the delay did not bite"
for i in 0 1; do "$CTL" -c "$CFG" -n "$i" fault clear >/dev/null; done

echo "== 8. a node with the wrong cluster key"
kill -9 "${pids[3]}"
wait "${pids[3]}" 2>/dev/null || true
wait_state 0 3 down
before=$(json 0 "s['offload']['drops']['bad_mac']")
start 3 "$WRONG"
wait_serving 3
sleep 1
after=$(json 0 "s['offload']['drops']['bad_mac']")
[ "$(state_of 0 3)" = down ] || fail "node 0 counts the wrong-key node as up"
[ "$after" -gt "$before" ] || fail "node 0 counted no bad_mac drops ($before -> $after)"
"$CTL" -c "$CFG" -n 0 incr wrongkey 1 -W 2 >/dev/null || fail "writes stopped while a wrong-key node talks"
echo "node 0 dropped $((after - before)) frames from it as bad_mac, keeps it down, and serves writes"
kill -9 "${pids[3]}"
wait "${pids[3]}" 2>/dev/null || true

echo "== 9. full key tables"
for ((i = 0; i < 3; i++)); do kill "${pids[$i]}"; wait "${pids[$i]}" 2>/dev/null || true; done
rm -rf "$work"/data*
TABLE="table_entries = 6"
for ((i = 0; i < N; i++)); do start "$i" "$KEY" --bootstrap; done
wait_all_up
"$CHECK" fill --config "$CFG" --node 1 --keys 6 || fail "full key tables"
echo "== all network-namespace cluster checks passed"
