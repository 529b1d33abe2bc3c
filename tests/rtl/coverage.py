#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
"""Line, branch and toggle coverage of the RTL kernels, per module.

Runs the coverage build of the differential test (test_kernels_rtl_cov) once
per kernel, reads the Verilator coverage files it writes, and prints, for each
SystemVerilog module over all its instances, the points covered out of the
points there are. Also writes an lcov file and annotated sources into OUTDIR
(verilator_coverage) for a person to read.

Exit status 1 when a test run fails or a module's line coverage is below
--min-line (a goal of the RTL tier: tests that stop exercising the RTL fail).
"""

import argparse
import collections
import os
import subprocess
import sys

TYPES = ("line", "branch", "toggle")


def points(path):
    """Yield (module, type, key, count) for every coverage point in a .dat file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            if not raw.startswith("C '"):
                continue
            key, count = raw[3:].rstrip("\n").rsplit("' ", 1)
            fields = {}
            for part in key.split("\x01"):
                if "\x02" in part:
                    k, v = part.split("\x02", 1)
                    fields[k] = v
            page = fields.get("page", "")  # e.g. v_line/gcounter_merge
            kind, _, module = page.partition("/")
            kind = kind[2:] if kind.startswith("v_") else kind
            module = module.split("__", 1)[0]  # gcounter_merge__N8_U12: a specialisation
            yield module, kind, key, int(count)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test", required=True, help="path of test_kernels_rtl_cov")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--pairs", type=int, default=100000)
    ap.add_argument("--min-line", type=float, default=95.0)
    ap.add_argument("kernels", nargs="+")
    args = ap.parse_args()

    os.makedirs(args.outdir, exist_ok=True)
    dats = []
    for k in args.kernels:
        dat = os.path.join(args.outdir, k + ".dat")
        if os.path.exists(dat):
            os.remove(dat)
        r = subprocess.run([args.test, "--kernel", k, "--pairs", str(args.pairs),
                            "--coverage", dat], check=False)
        if r.returncode != 0:
            print(f"coverage: the {k} test run failed (exit {r.returncode})")
            return 1
        dats.append(dat)

    hits = {}  # (module, type, key) -> count, summed over runs
    for dat in dats:
        for module, kind, key, count in points(dat):
            hits[(module, kind, key)] = hits.get((module, kind, key), 0) + count

    total = collections.Counter()
    covered = collections.Counter()
    missed = collections.defaultdict(list)
    for (module, kind, key), count in hits.items():
        total[(module, kind)] += 1
        if count > 0:
            covered[(module, kind)] += 1
        else:
            missed[(module, kind)].append(key.replace("\x01", " ").replace("\x02", "="))

    modules = sorted({m for m, _ in total})
    print(f"RTL coverage ({args.pairs} random pairs per kernel, plus the edge cases)")
    print(f"{'module':<16}" + "".join(f"{t:>22}" for t in TYPES))
    failed = False
    for m in modules:
        cells = []
        for t in TYPES:
            n, c = total[(m, t)], covered[(m, t)]
            cells.append(f"{c}/{n} {100.0 * c / n:6.2f}%" if n else "-")
        print(f"{m:<16}" + "".join(f"{c:>22}" for c in cells))
        n, c = total[(m, "line")], covered[(m, "line")]
        if n == 0 or 100.0 * c / n < args.min_line:
            print(f"coverage: {m} line coverage below the goal of {args.min_line}%")
            failed = True
    for (m, t), keys in sorted(missed.items()):
        for k in keys[:10]:
            print(f"  not covered: {m} {t}: {k}")

    info = os.path.join(args.outdir, "coverage.info")
    ann = os.path.join(args.outdir, "annotated")
    subprocess.run(["verilator_coverage", "--write-info", info, "--annotate", ann] + dats,
                   check=False, stdout=subprocess.DEVNULL)
    print(f"lcov: {info}; annotated sources: {ann}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
