#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
#
# Formal proof of one RTL module against its harness tests/rtl/formal/
# <module>_fv.sv: yosys builds SMT2 from rtl/ and the harness, then
# yosys-smtbmc with z3 runs
#   bmc        bounded model checking from reset: no assertion fails in the
#              first <bmc depth> cycles
#   induction  k-induction with k up to <depth>: any k consecutive cycles in
#              which the assertions hold are followed by one in which they hold
#   cover      every cover statement of the harness is reachable from reset
#              (the assertions are not vacuous)
# BMC depth >= the k at which induction succeeded makes the two an unbounded
# proof: the assertions hold in every reachable state; the script says so.
# docs/formal.md describes the properties, parameters and times.
#
# usage: run.sh [--bmc-depth N] [--expect-fail] <module> <depth> <outdir> [PARAM=VALUE ...]
#   <module>         gcounter_merge or vclock_unit
#   <depth>          induction limit, cover limit and (by default) BMC depth
#   <outdir>         logs, SMT2 and counterexample VCDs go here (created)
#   PARAM=VALUE      harness parameters NODES, WIDTH, USER_W (via chparam);
#                    none given means the RTL defaults: 8 slots of 64 bits
#   --bmc-depth N    BMC depth when it should differ from <depth> (BMC is the
#                    slow part at 8 x 64; see docs/formal.md)
#   --expect-fail    mutant check: run BMC only and succeed only if it finds a
#                    counterexample
# environment:
#   MUTANT=<n>       read the harness with `define MUTANT n, a deliberate break
#                    listed in the harness header; use with --expect-fail
#   TALLY_ROOT       repository root (default: three levels above this script)
#   FORMAL_BMC       oneshot (default) or stepwise, see "Solver flags" below
#
# Prints "bmc: PASS depth N", "induction: PASS depth N", "cover: PASS", or
# FAIL with the failing assertions and the counterexample VCD in <outdir>.
# Exit status: 0 all passed (with --expect-fail: a counterexample was found),
# 1 a proof failed (with --expect-fail: the mutant survived), 2 usage error,
# missing tool or a solver run that gave no verdict.
#
# Solver flags: the SMT2 is built exactly as docs/formal.md's recipe; the
# yosys-smtbmc runs add --unroll --noincr (z3 then solves each query as one
# plain bit-vector problem, 10-20x faster than its incremental mode here) and
# BMC checks all steps in one query (-t 0:N:N), which at 8 x 64 is about 4x
# faster than step by step but does not promise the shortest counterexample.

set -euo pipefail

die() {
	echo "run.sh: $*" >&2
	exit 2
}

usage() {
	echo "usage: run.sh [--bmc-depth N] [--expect-fail] <gcounter_merge|vclock_unit> <depth> <outdir> [PARAM=VALUE ...]" >&2
	exit 2
}

expect_fail=0
bmc_depth=""
while [[ $# -gt 0 && $1 == --* ]]; do
	case $1 in
	--expect-fail) expect_fail=1; shift ;;
	--bmc-depth) [[ $# -ge 2 ]] || usage; bmc_depth=$2; shift 2 ;;
	*) usage ;;
	esac
done
[[ $# -ge 3 ]] || usage

module=$1
depth=$2
outdir=$3
shift 3

case $module in
gcounter_merge | vclock_unit) ;;
*) die "unknown module '$module' (gcounter_merge or vclock_unit)" ;;
esac
[[ $depth =~ ^[1-9][0-9]*$ ]] || die "depth must be a positive integer, got '$depth'"
bmc_depth=${bmc_depth:-$depth}
[[ $bmc_depth =~ ^[1-9][0-9]*$ ]] || die "BMC depth must be a positive integer, got '$bmc_depth'"

chparam=""
label=""
for p in "$@"; do
	[[ $p =~ ^(NODES|WIDTH|USER_W)=[1-9][0-9]*$ ]] ||
		die "bad parameter '$p' (NODES=n, WIDTH=n or USER_W=n)"
	chparam+=" -set ${p%%=*} ${p#*=}"
	label+=" $p"
done
[[ -n $label ]] || label=" NODES=8 WIDTH=64 (RTL defaults)"

defines=""
mutant=${MUTANT:-}
if [[ -n $mutant ]]; then
	# the mutants each harness defines (listed in its header)
	case $module in
	gcounter_merge) max_mutant=4 ;;
	vclock_unit) max_mutant=5 ;;
	esac
	[[ $mutant =~ ^[0-9]+$ && $mutant -le $max_mutant ]] ||
		die "MUTANT for $module must be 0..$max_mutant (0: none), got '$mutant'"
	defines="-DMUTANT=$mutant"
	label+=" MUTANT=$mutant"
fi

# Every tool is a Debian package; say which one when it is missing.
need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "$1 not found: install the Debian package \"$2\" (apt-get install $2)"
}
need yosys yosys
need yosys-smtbmc yosys
need z3 z3

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=${TALLY_ROOT:-$(cd "$here/../../.." && pwd)}
wrapper=${module}_fv
sources=("$root/rtl/gcounter_merge.sv" "$root/rtl/vclock_unit.sv" "$here/$wrapper.sv")
for f in "${sources[@]}"; do
	[[ -f $f ]] || die "missing source $f (set TALLY_ROOT to the repository root)"
done

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
# yosys -p splits its script on whitespace
for f in "${sources[@]}" "$outdir"; do
	[[ $f != *[[:space:]]* ]] || die "path with whitespace not supported: '$f'"
done
smt2=$outdir/$wrapper.smt2
rm -f "$outdir"/*.vcd "$outdir"/*.log "$smt2"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

echo "formal: $wrapper$label"

# the recipe: read, prep, async2sync, dffunmap, write_smt2 -wires
t0=$(now)
script="read_verilog -sv -formal $defines ${sources[*]};"
[[ -z $chparam ]] || script+=" chparam$chparam $wrapper;"
script+=" prep -top $wrapper; async2sync; dffunmap; write_smt2 -wires $smt2"
if ! yosys -q -l "$outdir/yosys.log" -p "$script" >/dev/null 2>&1; then
	tail -n 20 "$outdir/yosys.log" >&2 || true
	die "yosys failed to build $smt2 (log: $outdir/yosys.log)"
fi
n_assert=$(grep -c '^; yosys-smt2-assert ' "$smt2" || true)
n_cover=$(grep -c '^; yosys-smt2-cover ' "$smt2" || true)
[[ $n_assert -gt 0 ]] || die "no assertions in $smt2"
echo "yosys: $n_assert assertions, $n_cover covers ($(since "$t0") s)"

smtbmc=(yosys-smtbmc -s z3 --unroll --noincr)

# verdict <name> <log> <rc>: 0 PASS, 1 FAIL (a counterexample or an unreached
# cover), 2 no verdict (solver error, contradictory assumptions)
verdict() {
	local log=$2 rc=$3
	if grep -q 'Traceback\|Assumptions are unsatisfiable\|(error ' "$log"; then
		return 2
	fi
	if [[ $rc -eq 0 ]] && grep -q 'Status: PASSED' "$log"; then
		return 0
	fi
	if grep -q 'Status: FAILED' "$log"; then
		return 1
	fi
	return 2
}

# run <name> <steps shown> <yosys-smtbmc options...>: runs one check, prints
# its line; returns like verdict
run() {
	local name=$1 shown=$2 log=$outdir/$1.log vcd=$outdir/$1.vcd t rc=0 v=0
	shift 2
	t=$(now)
	"${smtbmc[@]}" "$@" --dump-vcd "$vcd" "$smt2" >"$log" 2>&1 || rc=$?
	verdict "$name" "$log" "$rc" || v=$?
	local secs
	secs=$(since "$t")
	case $v in
	0)
		local extra=""
		if [[ $name == induction ]]; then
			extra=", inductive at k=$(induction_k "$log")"
		elif [[ $name == cover ]]; then
			extra=", $(grep -c 'Reached cover' "$log")/$n_cover covers reached"
		fi
		echo "$name: PASS $shown$extra ($secs s)"
		rm -f "$vcd"
		;;
	1)
		echo "$name: FAIL $shown ($secs s)"
		grep -o 'Checking assertions in step [0-9]*' "$log" | tail -n 1 |
			sed 's/.*step /  first failing step: /' || true
		grep 'Assert failed\|failed!\|Unreached cover\|Reached cover' "$log" |
			sed 's/^##[ 0-9:]*/  /' | sort -u || true
		if [[ -f $vcd ]]; then
			echo "  counterexample trace: $vcd"
		fi
		;;
	*)
		echo "$name: ERROR: no verdict from yosys-smtbmc ($secs s, log: $log)"
		tail -n 20 "$log" | sed 's/^/  /'
		;;
	esac
	return "$v"
}

# induction_k <log>: how many consecutive assumed steps the induction needed
induction_k() {
	local s
	s=$(grep -o 'Trying induction in step [0-9]*' "$1" | tail -n 1 | grep -o '[0-9]*$')
	echo $((depth - s))
}

# BMC: every step in one query (fast); FORMAL_BMC=stepwise checks step by step
# as the recipe does (slower at 8 x 64, but a failure comes with the shortest
# counterexample and the step it fails in)
case ${FORMAL_BMC:-oneshot} in
oneshot) bmc_args=(--presat -t "0:$bmc_depth:$bmc_depth") ;;
stepwise) bmc_args=(--presat -t "$bmc_depth") ;;
*) die "FORMAL_BMC must be oneshot or stepwise, got '$FORMAL_BMC'" ;;
esac

if [[ $expect_fail -eq 1 ]]; then
	rc=0
	run bmc "depth $bmc_depth" "${bmc_args[@]}" || rc=$?
	case $rc in
	1) echo "mutant${mutant:+ $mutant}: killed (counterexample found, as expected)"; exit 0 ;;
	0) echo "mutant${mutant:+ $mutant}: SURVIVED: every assertion held but one should fail"; exit 1 ;;
	*) exit 2 ;;
	esac
fi

bmc=0 ind=0 cov=0
run bmc "depth $bmc_depth" "${bmc_args[@]}" || bmc=$?
run induction "depth $depth" -i -t "$depth" || ind=$?
run cover "depth $depth" -c -t "$depth" || cov=$?

if [[ $bmc -eq 2 || $ind -eq 2 || $cov -eq 2 ]]; then
	exit 2
fi
if [[ $bmc -ne 0 || $ind -ne 0 || $cov -ne 0 ]]; then
	echo "proof: FAILED"
	exit 1
fi
k=$(induction_k "$outdir/induction.log")
if [[ $bmc_depth -ge $k ]]; then
	echo "proof: PASS, unbounded (BMC depth $bmc_depth >= induction k=$k)"
else
	echo "proof: FAILED: BMC depth $bmc_depth is below induction k=$k, so the base case is not covered"
	exit 1
fi
exit 0
