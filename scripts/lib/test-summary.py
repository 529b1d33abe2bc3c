#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
"""Summarise meson test runs (one testlog.json each) as one closing line: 'N passed, N failed, N skipped'.

Counts test cases, not programs: a cmocka program contributes the counts from
its own summary ("[  PASSED  ] 8 test(s)." ...); any other test counts as one
case with meson's verdict. A program that failed without a cmocka summary
(a crash, a timeout) counts as one failure, so a dead program is never lost.
Exit status: 0 only when nothing failed and at least one case ran.
"""

import json
import re
import sys

PASSED = re.compile(r"^\[  PASSED  \] (\d+) test", re.M)
FAILED = re.compile(r"^\[  FAILED  \] (\d+) test\(s\), listed below", re.M)
SKIPPED = re.compile(r"^\[  SKIPPED \] (\d+) test\(s\), listed below", re.M)
GOOD = {"OK", "EXPECTEDFAIL"}


def count(rx, text):
    return sum(int(n) for n in rx.findall(text))


def results(paths):
    """Every test result of every testlog.json, in order."""
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


def main(paths):
    passed = failed = skipped = 0
    bad_programs = []
    for t in results(paths):
        out = (t.get("stdout") or "") + (t.get("stderr") or "")
        ok = t["result"] in GOOD
        p, fl, s = count(PASSED, out), count(FAILED, out), count(SKIPPED, out)
        if p + fl + s > 0:  # a cmocka program
            passed, failed, skipped = passed + p, failed + fl, skipped + s
            if not ok and fl == 0:
                failed += 1  # exited badly after its summary
        elif t["result"] == "SKIP":
            skipped += 1
        elif ok:
            passed += 1
        else:
            failed += 1
        if not ok:
            bad_programs.append(f"{t['name']} ({t['result']})")
    if bad_programs:
        print("failing tests: " + ", ".join(bad_programs))
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 0 if failed == 0 and not bad_programs and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
