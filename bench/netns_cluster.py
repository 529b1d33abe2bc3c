#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
"""The cluster bench on a real cluster: three tallyd processes, each in its
own network namespace with a veth into one bridge, on DPDK's net_af_packet
PMD (the fault suite's cluster, tests/cluster/faults.py), measured by
`tally-bench cluster --config` from the root namespace. Needs root.

    netns_cluster.py BUILD_DIR [--backend cpu|sim] [--quick] [--json FILE]

Exit status: tally-bench's; 1 when the cluster cannot be made (not root,
no iproute2) or does not come up.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "cluster"))
from faults import Cluster, can_make_namespaces  # noqa: E402  (the fault suite's namespace cluster)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", help="the meson build folder")
    ap.add_argument("--backend", choices=["cpu", "sim"], default="cpu", help="every node's backend (default cpu)")
    ap.add_argument("--quick", action="store_true", help="fewer operations (a smoke test)")
    ap.add_argument("--json", help="write the figures as JSON")
    a = ap.parse_args()
    if not can_make_namespaces("netns_cluster"):
        return 1
    build = os.path.abspath(a.build)
    work = tempfile.mkdtemp(prefix="tally-bench-netns.")
    cl = Cluster(build, 3, work, backend=a.backend)
    try:
        cl.setup()
        for i in range(3):
            cl.start(i, bootstrap=True)
        if not cl.wait_up():
            print("netns_cluster: the cluster did not come up in 30 s", file=sys.stderr)
            return 1
        cmd = [f"{build}/bench/tally-bench", "cluster", "--config", cl.config(0), "--label", f"netns-{a.backend}"]
        cmd += (["--quick"] if a.quick else []) + (["--json", a.json] if a.json else [])
        return subprocess.run(cmd).returncode
    except KeyboardInterrupt:
        return 130
    finally:
        cl.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
