#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# The guided tour scripts/demo gives: start tallyd's embedded cluster,
# write through different nodes, cut one node off, keep writing, read with
# a session token (never older than the session saw), write one config on
# both sides, heal, and watch every replica converge with nothing lost: the
# counter's total, and both config values until a write that saw them. Each command is shown as
# you would type it, then its output. Exits non-zero if the story does not
# hold, so it runs as a test too.
#
#   tour.sh BUILD_DIR [--fast]    (--fast: no pauses between steps)
set -euo pipefail
B=$(cd "$1" && pwd)
pause=1.2
[ "${2:-}" = --fast ] && pause=0
TALLYD=$B/host/tallyd
LOG=$(mktemp /tmp/tally-tour.XXXXXX)
WORK=$(mktemp -d /tmp/tally-tour.XXXXXX)
TOK=session.tok # shown as typed: the tour runs in $WORK
pid=

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
note() { printf '  %s\n' "$*"; }
# run ARGS...: show "$ tallyctl ARGS" and its output; the exit status in $rc
run() {
	printf '\033[2m$\033[0m tallyctl %s\n' "$*"
	local out
	out=$("$B/host/tallyctl" "$@" 2>&1) && rc=0 || rc=$?
	printf '%s\n' "$out" | sed 's/^/  /'
}
# val ARGS...: what tallyctl prints (for checks)
val() { "$B/host/tallyctl" "$@" 2>/dev/null; }
fail() {
	echo "tour: $*" >&2
	echo "--- tallyd's log:" >&2
	tail -n 20 "$LOG" >&2
	exit 1
}
wait_state() { # wait_state NODE PEER STATE
	for _ in $(seq 1 60); do
		val -n "$1" status --json | grep -q "\"id\":$2,[^}]*\"state\":\"$3\"" && return 0
		sleep 0.1
	done
	fail "node $1 never saw node $2 $3"
}
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -f "$LOG"
	rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
step() { sleep "$pause"; bold "$@"; }

if val -n 0 status >/dev/null 2>&1; then
	fail "a tallyd already answers on port 7472; stop it first (the tour starts its own)"
fi
bold "Starting the embedded cluster: tallyd with no configuration"
note "Three nodes in one process, joined by DPDK ring ports and a software switch;"
note "each merges replication traffic on its simulated NIC (the Verilated RTL)."
note "Every key lives on n = 3 nodes; writes wait for w = 2, reads merge r = 2."
"$TALLYD" >"$LOG" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	val -n 2 get warmup -R 3 >/dev/null && break
	kill -0 "$pid" 2>/dev/null || fail "tallyd did not start"
	sleep 0.1
done
val -n 2 get warmup -R 3 >/dev/null || fail "the cluster did not come up"
note "(tallyd's messages go to its standard error; here they are kept in $LOG)"

step "1. Write through different nodes: any node takes a write"
run -n 0 incr page:views 5
run -n 1 incr page:views 3
run -n 2 decr page:views 1
run -n 1 get page:views
[ "$(val -n 1 get page:views)" = 7 ] || fail "page:views is not 7"
note "Each write went to the key's first live replica, which raised its own slot of"
note "the PN-Counter, logged it and shipped it; the answer came once 2 replicas held it."
run -n 0 put config initial
run -n 0 --token-file a.tok get config
run -n 2 --token-file b.tok get config
note "config is a register (a value, not a counter); two sessions have read it."

step "2. Cut node 2 off the network"
run partition isolate 2
note "Waiting for the others to miss its heartbeats (1 s)..."
wait_state 0 2 down
wait_state 1 2 down
run -n 0 status
note "Node 0 sees node 2 down: writes for its keys now skip it."

step "3. Writes go on, on both sides"
run -n 0 incr page:views 10
[ "$rc" = 0 ] || fail "a write at W = 2 failed with node 2 cut off"
note "Nodes 0 and 1 are a majority: w = 2 is met."
run -n 1 incr page:views 10 -W 3
[ "$rc" = 12 ] || fail "W = 3 should be unavailable with node 2 cut off (exit $rc)"
note "W = 3 cannot be met: the answer is 'unavailable' (exit 12), and nothing was applied."
run -n 2 incr page:views 100 -W 1
[ "$rc" = 0 ] || fail "node 2 refused a W = 1 write"
note "Node 2, alone, still takes writes that ask only for W = 1, in its own slot."
run -n 2 get page:views -R 1
note "With R = 1 it answers from what it has: its own write, but not node 0's (eventual)."
run -n 2 get page:views
[ "$rc" = 12 ] || fail "R = 2 on the cut-off node should be unavailable"
note "R = 2 there is unavailable rather than stale: W + R > N never returns old data."

step "4. A session: read your own writes, wherever you read"
note "A session keeps a token per key (here in a file); every answer brings a new one."
run -n 0 --token-file "$TOK" incr likes 3
run -n 2 get likes -R 1
[ "$(val -n 2 get likes -R 1)" = 0 ] || fail "node 2 should not have the session's write yet"
note "Without the token, node 2 (cut off) answers what it has: 0, not the session's 3."
run -n 2 --token-file "$TOK" -t 300 get likes -R 1
[ "$rc" = 21 ] || fail "the token-guarded read at node 2 should be not_yet (exit $rc)"
note "With the token it answers 'not yet' (exit 21): never a value older than the session saw."

step "5. Two writers, one config: nothing silently overwritten"
note "config is an MV-register, set to 'initial' in step 1 and read then by two sessions"
note "(a.tok through node 0, b.tok through node 2). Now each writes on its side of the cut:"
run -n 0 --token-file a.tok put config value-from-A
run -n 2 --token-file b.tok put config value-from-B -W 1
note "Neither saw the other's write; after healing, both will be kept."

step "6. Heal the network"
run partition heal
note "The nodes hear each other again; whoever holds writes a replica missed ships them"
note "(hinted handoff). Waiting, without reading anything, until no node holds a hint..."
hints() { val -n "$1" status --json | grep -o '"hints":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'; }
for _ in $(seq 1 100); do
	[ "$(hints 0)" = 0 ] && [ "$(hints 1)" = 0 ] && [ "$(hints 2)" = 0 ] && break
	sleep 0.1
done
if [ "$(hints 0)$(hints 1)$(hints 2)" != 000 ]; then
	for n in 0 1 2; do val -n "$n" status --json >&2; done
	fail "hints still held 10 s after healing"
fi
run -n 2 get page:views -R 1
run -n 0 get page:views -R 1
[ "$(val -n 2 get page:views -R 1)" = 117 ] || fail "node 2 did not converge to 117"
[ "$(val -n 0 get page:views -R 1)" = 117 ] || fail "node 0 did not converge to 117"
note "5 + 3 - 1 + 10 + 100 = 117 through every node, even at R = 1: both sides' writes"
note "merged, none lost, and no read was needed to spread them."
run -n 2 --token-file "$TOK" get likes -R 1
[ "$rc" = 0 ] && [ "$(val -n 2 --token-file "$TOK" get likes -R 1)" = 3 ] || fail "the session's read at node 2 after healing"
note "And the session's read through node 2 now sees its own write."
run -n 1 get config -R 3
[ "$(val -n 1 get config -R 3 | sort | paste -sd,)" = "value-from-A,value-from-B" ] || fail "want both config values"
note "Both values are there, as siblings (last-write-wins would have dropped one)."
run -n 0 --token-file a.tok get config -R 3
run -n 0 --token-file a.tok put config value-from-A-and-B
run -n 2 get config -R 3
[ "$(val -n 2 get config -R 3)" = value-from-A-and-B ] || fail "the resolving put"
note "A put by a session that read both replaces both: one value again."
run -n 2 status

step "Done"
note "Try it yourself: tallyd & then tallyctl --help (docs/cluster.md explains the"
note "quorums, docs/sessions.md tokens and causal writes, docs/durability.md kill -9)."
note "scripts/demo --cart shows why last-write-wins loses a shopping cart's items and"
note "PN-Counters do not."
