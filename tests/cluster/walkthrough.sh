#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# docs/cluster.md's walkthrough "A cluster on one machine: scripts/cluster",
# run as written: every line of its first code block, in one shell, with
# the values after "#" checked: a number is what the command must print
# ("within seconds": retried for up to 15 s), "exit N" its exit status,
# anything else exit 0. The cluster gets a private state directory, names
# and /24 (TALLY_CLUSTER_DIR, _NAME, _NET), so a cluster of your own is not
# touched. Also checked: status shows every node running and ready, down
# removes the namespaces and bridge and keeps the data; then up brings the
# same counts back without a second tallyd init, up on a running cluster says so, up
# after kill -9 of every node restarts them, bad ids and sizes are refused,
# and down --purge removes the state.
#
#   walkthrough.sh BUILD_DIR
# Needs root; without it, it fails and says why (never skips).
set -euo pipefail
B=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DOC=$SRC/docs/cluster.md
[ "$(id -u)" -eq 0 ] || { echo "walkthrough: needs root to create network namespaces (run as root, as CI does)" >&2; exit 1; }
command -v ip >/dev/null || { echo "walkthrough: needs iproute2 (apt-get install iproute2)" >&2; exit 1; }

STATE=$(mktemp -d /tmp/tally-walkthrough.XXXXXX)
export TALLY_BUILD=$B TALLY_CLUSTER_DIR=$STATE/cluster TALLY_CLUSTER_NAME=tw$(($$ % 100000)) TALLY_CLUSTER_NET=10.96.0
fail() {
	echo "FAIL: $*" >&2
	for f in "$TALLY_CLUSTER_DIR"/log/node*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done
	exit 1
}
cleanup() {
	"$SRC/scripts/cluster" down --purge >/dev/null 2>&1 || true
	rm -rf "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The walkthrough's lines: the first indented block after its heading.
mapfile -t lines < <(awk '
	/^## A cluster on one machine: scripts\/cluster/ { in_sec = 1; next }
	in_sec && /^## / { exit }
	in_sec && /^    / { in_block = 1; print substr($0, 5); next }
	in_sec && in_block { exit }' "$DOC")
[ ${#lines[@]} -ge 10 ] || fail "found ${#lines[@]} walkthrough lines in $DOC"

ran=0
for line in "${lines[@]}"; do
	cmd=${line%%  #*}
	cmd=${cmd%"${cmd##*[! ]}"} # trailing blanks
	want=
	[ "$cmd" = "$line" ] || want=${line#*  # }
	# The doc's paths, for this checkout, build and state directory
	cmd=${cmd//\/tmp\/tally-cluster/$TALLY_CLUSTER_DIR}
	cmd=${cmd//build\/host\//$B/host/}
	cmd=${cmd//scripts\/cluster/$SRC/scripts/cluster}
	echo "\$ $line"
	if [[ $cmd =~ ^[A-Za-z_][A-Za-z0-9_]*=[^\ ]*$ ]]; then # a variable for the lines after
		eval "$cmd"
		ran=$((ran + 1))
		continue
	fi
	tries=1
	case $want in *"within seconds"*) tries=75 ;; esac
	for ((t = 1; t <= tries; t++)); do
		rc=0
		out=$(eval "$cmd" 2>"$STATE/err") || rc=$?
		case $want in
		[0-9]*) [ "$rc" = 0 ] && [ "$out" = "${want%%[!0-9]*}" ] && break ;;
		exit\ *) w=${want#exit }; [ "$rc" = "${w%%[!0-9]*}" ] && break ;;
		*) [ "$rc" = 0 ] && break ;;
		esac
		[ "$t" -lt "$tries" ] && sleep 0.2
	done
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/  /'
	sed 's/^/  /' "$STATE/err"
	case $want in
	[0-9]*) [ "$rc" = 0 ] && [ "$out" = "${want%%[!0-9]*}" ] || fail "'$line': printed '$out' (exit $rc)" ;;
	exit\ *) [ "$rc" = "${w%%[!0-9]*}" ] || fail "'$line': exit $rc" ;;
	*) [ "$rc" = 0 ] || fail "'$line': exit $rc" ;;
	esac
	case $cmd in
	*"scripts/cluster status")
		[ "$(grep -c '^node [0-9]: running' <<<"$out")" = 3 ] || fail "status: not 3 nodes running"
		[ "$(grep -c '^    ready: yes' <<<"$out")" = 3 ] || fail "status: not 3 nodes ready"
		;;
	*"scripts/cluster down")
		! ip netns list | grep -q "^$TALLY_CLUSTER_NAME-c" || fail "down left namespaces"
		! ip link show "$TALLY_CLUSTER_NAME-br" >/dev/null 2>&1 || fail "down left the bridge"
		[ -d "$TALLY_CLUSTER_DIR/data/node2" ] || fail "down did not keep the data"
		;;
	esac
	ran=$((ran + 1))
done
echo "== the walkthrough's $ran lines ran as docs/cluster.md says"

CL=$SRC/scripts/cluster
CTL="$B/host/tallyctl -c $TALLY_CLUSTER_DIR/tallyctl.ini"
echo "== up again after down: the same cluster, its counts kept"
"$CL" up 2>/dev/null
v=$($CTL get likes -R 3) && [ "$v" = 18 ] || fail "after down and up: likes is '$v', want 18"
for f in "$TALLY_CLUSTER_DIR"/log/node*.log; do
	[ "$(grep -c -- 'is now the data directory of node [0-9]' "$f")" = 1 ] || fail "$f: not made by tallyd init exactly once"
	if grep -q -- 'recovering' "$f"; then fail "$f: a node recovered, as if its data had been lost"; fi
done
echo "likes = 18; each node's directory was made by tallyd init once, at the first up, and none recovered"
echo "== up on a running cluster says so"
"$CL" up 3 2>&1 | grep -q "already up" || fail "up on a running cluster did not say so"
echo "== a killed run's leftovers: nodes killed -9, namespaces left"
for f in "$TALLY_CLUSTER_DIR"/run/node*.pid; do kill -9 "$(cat "$f")"; done
sleep 0.3
"$CL" status | grep -c "not running" | grep -qx 3 || fail "status does not show the killed nodes"
"$CL" up 2>/dev/null
v=$($CTL get likes -R 3) && [ "$v" = 18 ] || fail "after kill -9 and up: likes is '$v', want 18"
echo "up restarted them: likes = 18"
rc=0; "$CL" stop 7 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "stop 7 on 3 nodes: exit $rc, want 1"
rc=0; "$CL" up 5 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "up 5 on a cluster of 3: exit $rc, want 1"
"$CL" down --purge 2>/dev/null
[ ! -e "$TALLY_CLUSTER_DIR" ] || fail "down --purge kept $TALLY_CLUSTER_DIR"
echo "== scripts/cluster: all checks passed"
