# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# Network namespaces for the cluster tests, sourced by netns.sh, iface.sh
# and recovery.sh: one namespace per node on a veth pair, the outer ends on
# a bridge that also carries an address for this (the default) namespace,
# so that tallyctl reaches every node. The script sets tag (unique per
# run) and defines fail() before it calls these.
#
#   ns_need_root NAME             fail loudly (never skip) without root or iproute2
#   ns_setup PREFIX NET COUNT [MTU]
#       node i: namespace ${PREFIX}n$i-$tag, inner veth ${PREFIX}v$i-$tag with
#       address NET.(i+1)/24, outer veth ${PREFIX}b$i-$tag on bridge
#       ${PREFIX}br$tag (NET.254)
#   ns_teardown                   remove what ns_setup made (safe to call twice)
#
# And for the nodes on them (the script sets TALLYD, CTL, CFG, work, and an
# array pids; node i's configuration is $work/node$i.ini, its log
# $work/node$i.log):
#   ns_start I                    run node I in its namespace on its veth, in the background
#   ns_stop I                     SIGTERM node I and wait for it (a clean stop)
#   ns_json I EXPR                EXPR over node I's status JSON (as s), printed
#   ns_wait_for I EXPR WANT SECS  until ns_json prints WANT, or fail
#   ns_state_of I                 the EXPR of member I's state ("up", "down")

ns_need_root() {
	[ "$(id -u)" -eq 0 ] || { echo "$1: needs root to create network namespaces (run as root, as CI does)" >&2; exit 1; }
	command -v ip >/dev/null || { echo "$1: needs iproute2 (apt-get install iproute2)" >&2; exit 1; }
}

ns_setup() {
	NS_PREFIX=$1 NS_COUNT=$3
	local net=$2 mtu=${4:-} br=${1}br$tag ns i
	ip link add "$br" type bridge || fail "cannot create a bridge"
	[ -z "$mtu" ] || ip link set "$br" mtu "$mtu"
	ip addr add "$net.254/24" dev "$br"
	ip link set "$br" up
	for ((i = 0; i < NS_COUNT; i++)); do
		ns=${NS_PREFIX}n$i-$tag
		ip netns add "$ns" || fail "cannot create network namespace $ns"
		ip link add "${NS_PREFIX}v$i-$tag" ${mtu:+mtu $mtu} type veth peer name "${NS_PREFIX}b$i-$tag" ${mtu:+mtu $mtu}
		ip link set "${NS_PREFIX}v$i-$tag" netns "$ns"
		ip link set "${NS_PREFIX}b$i-$tag" master "$br" up
		ip netns exec "$ns" sysctl -qw "net.ipv6.conf.all.disable_ipv6=1" || true
		ip -n "$ns" addr add "$net.$((i + 1))/24" dev "${NS_PREFIX}v$i-$tag"
		ip -n "$ns" link set "${NS_PREFIX}v$i-$tag" up
		ip -n "$ns" link set lo up
	done
}

ns_teardown() {
	[ -n "${NS_PREFIX:-}" ] || return 0
	for ((i = 0; i < NS_COUNT; i++)); do ip netns del "${NS_PREFIX}n$i-$tag" 2>/dev/null || true; done
	ip link del "${NS_PREFIX}br$tag" 2>/dev/null || true
}

ns_start() {
	ip netns exec "${NS_PREFIX}n$1-$tag" "$TALLYD" --config "$work/node$1.ini" --iface "${NS_PREFIX}v$1-$tag" \
		>>"$work/node$1.log" 2>&1 &
	pids[$1]=$!
}

ns_stop() {
	kill "${pids[$1]}"
	wait "${pids[$1]}" 2>/dev/null || true
	pids[$1]=
}

ns_json() {
	"$CTL" -c "$CFG" -n "$1" -t 500 status --json 2>/dev/null |
		python3 -c "import json,sys; s=json.load(sys.stdin); print($2)" 2>/dev/null
}

ns_wait_for() {
	local got= end=$((SECONDS + $4))
	while [ "$SECONDS" -lt "$end" ]; do
		got=$(ns_json "$1" "$2" || true)
		[ "$got" = "$3" ] && return 0
		sleep 0.1
	done
	fail "node $1: $2 is '$got', not '$3', after $4 s"
}

ns_state_of() { echo "[m['state'] for m in s['members'] if m['id'] == $1][0]"; }
