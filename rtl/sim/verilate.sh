#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# verilate.sh OUTDIR PREFIX TOP [verilator arguments and sources...]
#
# Verilate module TOP as class PREFIX into a private folder, build only the
# model's archive, and copy PREFIX__ALL.a and PREFIX.h to OUTDIR for meson.
# The Verilator runtime (verilated.cpp and friends) is built once by meson,
# not here, so several models link into one program without duplicates.
set -euo pipefail
outdir=$1 prefix=$2 top=$3
shift 3
obj="$outdir/$prefix.obj"
rm -rf "$obj"
verilator --cc -O3 -Wall --Mdir "$obj" --prefix "$prefix" --top-module "$top" "$@"
make -s -C "$obj" -f "$prefix.mk" "${prefix}__ALL.a" OPT_FAST=-O2 OPT_SLOW=-O1 >/dev/null
cp "$obj/${prefix}__ALL.a" "$obj/$prefix.h" "$outdir/"
