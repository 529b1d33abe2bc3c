#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# netns.sh PEER [BACKEND]: two tally-dp-peer processes in two network namespaces,
# joined by a veth pair and DPDK's net_af_packet PMD. The sender sends 1000
# REPLICATE frames and retransmits until each is acknowledged; the receiver
# must end with exactly the reference merge. BACKEND (cpu, the default, or
# sim) is both peers' offload engine. Needs root and iproute2; without
# them it fails and says why (it never skips). Removes its namespaces and
# veth pair on any exit, interrupted or not.
set -euo pipefail
peer=$1
backend=${2:-cpu}
frames=${TALLY_NETNS_FRAMES:-1000}
seed=${TALLY_TEST_SEED:-$RANDOM}

fail() { echo "netns: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root to create network namespaces (run as root, as CI does)"
command -v ip >/dev/null || fail "needs iproute2 (apt-get install iproute2)"

a=tally-a-$$ b=tally-b-$$ va=tva$$ vb=tvb$$
work=$(mktemp -d)
cleanup() {
	for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$a" || fail "cannot create network namespace $a"
ip netns add "$b" || fail "cannot create network namespace $b"
ip link add "$va" type veth peer name "$vb" || fail "cannot create the veth pair"
ip link set "$va" netns "$a"
ip link set "$vb" netns "$b"
for ns_if in "$a:$va" "$b:$vb"; do
	ns=${ns_if%%:*} ifc=${ns_if#*:}
	# No IPv6 chatter on the link: only the peers' frames.
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1" || true
	ip -n "$ns" link set "$ifc" up
done

eal() { # eal NS IFACE CORE
	echo --no-huge -m 256 --no-pci --no-shconf --no-telemetry -l "$3" --log-level=lib.eal:error \
		"--vdev=net_af_packet0,iface=$2"
}
echo "netns: seed $seed, $frames frames, $a <-> $b, $backend backend"
# shellcheck disable=SC2046
ip netns exec "$b" "$peer" $(eal "$b" "$vb" 1) -- --role recv --node 1 --frames "$frames" \
	--seed "$seed" --timeout 60 --backend "$backend" >"$work/recv.log" 2>&1 &
recv=$!
sleep 1
# shellcheck disable=SC2046
ip netns exec "$a" "$peer" $(eal "$a" "$va" 0) -- --role send --node 0 --frames "$frames" \
	--seed "$seed" --timeout 60 --backend "$backend" >"$work/send.log" 2>&1 &
send=$!
rc=0
wait "$send" || rc=$?
wait "$recv" || rc=$?
cat "$work/send.log" "$work/recv.log"
[ "$rc" -eq 0 ] || fail "a peer failed (exit $rc); rerun with TALLY_TEST_SEED=$seed"
echo "netns: ok"
