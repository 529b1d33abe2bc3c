# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# Sourced by scripts/demo and scripts/test: install the Debian packages tally
# needs (only those missing, so a second run installs nothing), configure the
# build once, and rebuild what changed. Works as root on a fresh Debian 12.

TALLY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TALLY_BUILD=${TALLY_BUILD:-$TALLY_ROOT/build}

# Every package the build, the tests and the demo use. meson names the
# package to install when one is missing, so this list and meson.build agree.
TALLY_DEB_PACKAGES=(
	meson ninja-build pkg-config make gcc g++ clang libclang-rt-14-dev python3 iproute2
	libdpdk-dev libibverbs-dev libxxhash-dev libcmocka-dev zlib1g-dev libsodium-dev libinih-dev libjansson-dev
	verilator yosys z3
	gnuplot-nox redis-server redis-tools util-linux
)

tally_say() { printf 'tally: %s\n' "$*" >&2; }

tally_install_deps() {
	local missing=() p
	if ! command -v dpkg-query >/dev/null 2>&1; then
		tally_say "this script installs Debian 12 packages and needs dpkg/apt-get;"
		tally_say "on another system install the equivalents of: ${TALLY_DEB_PACKAGES[*]}"
		exit 1
	fi
	for p in "${TALLY_DEB_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo)
		else
			tally_say "missing Debian packages: ${missing[*]}"
			tally_say "run as root, or install them: apt-get install ${missing[*]}"
			exit 1
		fi
	fi
	tally_say "installing missing Debian packages: ${missing[*]}"
	"${sudo[@]}" apt-get update
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "${missing[@]}"
}

tally_build() {
	if [ ! -f "$TALLY_BUILD/build.ninja" ]; then
		tally_say "configuring $TALLY_BUILD"
		meson setup "$TALLY_BUILD" "$TALLY_ROOT"
	fi
	tally_say "building"
	meson compile -C "$TALLY_BUILD"
}

# The fuzzers need clang with libFuzzer, ASan and UBSan: a build of their own.
TALLY_BUILD_FUZZ=${TALLY_BUILD_FUZZ:-$TALLY_ROOT/build-fuzz}

tally_build_fuzz() {
	if [ ! -f "$TALLY_BUILD_FUZZ/build.ninja" ]; then
		tally_say "configuring $TALLY_BUILD_FUZZ (clang, libFuzzer, ASan, UBSan)"
		CC=clang CXX=clang++ meson setup "$TALLY_BUILD_FUZZ" "$TALLY_ROOT" \
			-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
	fi
	tally_say "building the fuzzers"
	meson compile -C "$TALLY_BUILD_FUZZ"
}

tally_setup() {
	tally_install_deps
	tally_build
}
