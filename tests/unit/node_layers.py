#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
"""The files of a node are layered (docs/cluster.md#the-files-of-a-node):
a file calls only files below it in the order host/meson.build lists, so
there is no call cycle between files; and no file is over MAX_LINES lines.

Reads the calls from the compiled library with nm: for every object, the
symbols it defines and the ones it uses. Prints every call that goes up or
sideways, with the symbol, and every file that is too long.

usage: node_layers.py NM LIBRARY SRCDIR PART...   (PART bottom to top)
"""
import os
import subprocess
import sys

MAX_LINES = 800


def symbols(nm, lib):
    """{object: (defined, undefined)} of the archive's objects."""
    out = subprocess.run([nm, "-A", "--defined-only", "-g", lib], check=True, capture_output=True, text=True).stdout
    und = subprocess.run([nm, "-A", "-u", lib], check=True, capture_output=True, text=True).stdout
    objs = {}
    for text, which in ((out, 0), (und, 1)):
        for line in text.splitlines():
            head, _, rest = line.rpartition(":")
            obj = head.split(":")[-1]
            name = rest.split()[-1]
            objs.setdefault(obj, (set(), set()))[which].add(name)
    return objs


def part_of(obj):
    # meson names a member after its path: node_base.c.o
    base = os.path.basename(obj)
    return base[len("node_"):-len(".c.o")] if base.startswith("node_") and base.endswith(".c.o") else None


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    nm, lib, src, parts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    rank = {p: i for i, p in enumerate(parts)}
    objs = symbols(nm, lib)
    owner = {}
    for obj, (defined, _) in objs.items():
        p = part_of(obj)
        if p is None:
            continue
        if p not in rank:
            print(f"node_layers: {obj}: the part '{p}' is not in host/meson.build's list")
            return 1
        for s in defined:
            owner[s] = p
    bad = 0
    seen = set()
    for obj, (_, used) in sorted(objs.items()):
        p = part_of(obj)
        if p is None:
            continue
        seen.add(p)
        for s in sorted(used):
            q = owner.get(s)
            if q is not None and q != p and rank[q] >= rank[p]:
                print(f"node_layers: {p}.c calls {s}() of {q}.c, which is not below it")
                bad += 1
    missing = set(parts) - seen
    if missing:
        print(f"node_layers: no object for {sorted(missing)} in {lib}")
        return 1
    for name in sorted(os.listdir(src)):
        if name.endswith((".c", ".h")):
            with open(os.path.join(src, name)) as f:
                n = sum(1 for _ in f)
            if n > MAX_LINES:
                print(f"node_layers: host/node/{name} has {n} lines, over {MAX_LINES}")
                bad += 1
    print(f"node_layers: {len(seen)} files, {len(owner)} symbols, {bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
