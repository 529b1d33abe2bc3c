#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# verilate.sh [--build-id] OUTDIR PREFIX TOP [verilator arguments and sources...]
#
# Verilate module TOP as class PREFIX into a private folder, build only the
# model's archive, and copy PREFIX__ALL.a and PREFIX.h to OUTDIR for meson.
# --build-id sets TOP's BUILD_ID parameter to the first 32 bits of the
# SHA-256 of the .sv sources, so a model says which RTL it was built from.
# Slow code (construction, coverage tables) is built with -O0: it runs once.
# The Verilator runtime (verilated.cpp and friends) is built once by meson,
# not here, so several models link into one program without duplicates.
set -euo pipefail
build_id=()
if [ "$1" = --build-id ]; then
	shift
	id=$(for f in "${@:4}"; do case $f in *.sv) cat "$f" ;; esac; done | sha256sum | cut -c1-8)
	build_id=("-GBUILD_ID=32'h$id")
fi
outdir=$1 prefix=$2 top=$3
shift 3
obj="$outdir/$prefix.obj"
rm -rf "$obj"
verilator --cc -O3 -Wall --Mdir "$obj" --prefix "$prefix" --top-module "$top" "${build_id[@]}" "$@"
make -s -C "$obj" -f "$prefix.mk" "${prefix}__ALL.a" OPT_FAST=-O2 OPT_SLOW=-O0 >/dev/null
cp "$obj/${prefix}__ALL.a" "$obj/$prefix.h" "$outdir/"
