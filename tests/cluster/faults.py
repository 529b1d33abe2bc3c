#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
"""The fault suite (docs/faults.md): five tallyd processes in network
namespaces over veth and net_af_packet, concurrent client sessions logging
a history (tally-workload), a nemesis injecting faults, and `tallyctl audit`
checking the history.

    faults.py BUILD_DIR [--time S] [--seed N] [--nemesis KINDS] [--keep DIR]
              [--no-tokens] [--break dedup|tokens] [--expect violations]
              [--hold S] [--gap S | --every S] [--full-speed] [--commit POLICY]

The nemesis runs one fault at a time for --time seconds: it starts a fault,
holds it 1-4 s, heals it, waits 0.5-2 s, and so on. Then it heals
everything (--hold and --gap fix those times, --every starts faults on a
clock; --full-speed runs 32 sessions as fast as answers come at W = 1 and
R = N and kill -9s a random node every second, restarting it at once),
tells the workload to stop (it retries what is still
indeterminate), and reads every key from every node's own replica until they
agree, for the convergence time. Every loop is bounded in count and time;
namespaces, bridge and processes are removed on exit, also on Ctrl-C.
Needs root and iproute2 (fails, never skips, without them).

Exit status: 0 when the audit found what --expect asks (default: no
violation, every key converged, within --converge-limit); 1 otherwise; 2 on
bad usage.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

KINDS = ["partition-one", "partition-majority", "partition-ring", "loss", "dup", "reorder", "delay",
         "corrupt", "kill", "pause", "wipe"]
KEY = "5eed" * 16


def admin_mac(key_hex, path):
    """X-Tally-Admin for PATH: HMAC-SHA-512-256 under the operator key, libsodium's
    crypto_kdf_derive_from_key(32, 1, "tallyadm", cluster key), as
    tally_config_admin_mac() makes it."""
    import hashlib
    import hmac
    master = bytes.fromhex(key_hex)
    op = hashlib.blake2b(b"", digest_size=32, key=master, salt=(1).to_bytes(8, "little") + bytes(8),
                         person=b"tallyadm" + bytes(8)).digest()
    return hmac.new(op, path.encode(), hashlib.sha512).digest()[:32].hex()
SUBNET = "10.89.0"
ADMIN = 7472


def now_us():
    return time.time_ns() // 1000


def log(msg):
    print(f"faults: {msg}", flush=True)


def can_make_namespaces(who):
    """Root and iproute2, or say which is missing (the caller fails, never skips)."""
    if os.geteuid() != 0:
        print(f"{who}: needs root to create network namespaces (run as root, as CI does)", file=sys.stderr)
        return False
    if shutil.which("ip") is None:
        print(f"{who}: needs iproute2 (apt-get install iproute2)", file=sys.stderr)
        return False
    return True


class Cluster:
    """Nodes in namespaces tf<i>-<tag>, joined by bridge tfbr<tag>."""

    def __init__(self, build, nodes, work, backend=None, commit="sync"):
        """backend: every node's offload backend; None: cpu, and sim on the last node."""
        self.build, self.n, self.work, self.backend, self.commit = build, nodes, work, backend, commit
        self.tag = str(os.getpid())
        self.br = f"tfbr{self.tag}"
        self.procs = [None] * nodes
        self.made = []  # what to remove: ("ns", name) / ("link", name)

    def ns(self, i):
        return f"tf{i}-{self.tag}"

    def ip(self, i):
        return f"{SUBNET}.{i + 1}"

    def sh(self, *args, check=True):
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
        return r

    @staticmethod
    def sweep():
        """Remove what an earlier run killed with SIGKILL left behind: its
        namespaces and links carry its pid, which is no longer running."""
        import re

        def dead(pid):
            return not os.path.exists(f"/proc/{pid}")
        r = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True)
        for line in r.stdout.splitlines():
            m = re.match(r"(tf\d+-(\d+))\b", line)
            if m and dead(m.group(2)):
                subprocess.run(["ip", "netns", "del", m.group(1)], stderr=subprocess.DEVNULL)
                log(f"removed {m.group(1)}, left by an earlier run")
        r = subprocess.run(["ip", "-o", "link", "show"], stdout=subprocess.PIPE, text=True)
        for line in r.stdout.splitlines():
            m = re.match(r"\d+: ((?:tfbr|tfb\d+-)(\d+))[@:]", line)
            if m and dead(m.group(2)):
                subprocess.run(["ip", "link", "del", m.group(1)], stderr=subprocess.DEVNULL)

    def setup(self):
        self.sweep()
        self.sh("ip", "link", "add", self.br, "type", "bridge")
        self.made.append(("link", self.br))
        self.sh("ip", "addr", "add", f"{SUBNET}.254/24", "dev", self.br)
        self.sh("ip", "link", "set", self.br, "up")
        for i in range(self.n):
            ns, va, vb = self.ns(i), f"tfv{i}-{self.tag}", f"tfb{i}-{self.tag}"
            self.sh("ip", "netns", "add", ns)
            self.made.append(("ns", ns))
            self.sh("ip", "link", "add", va, "type", "veth", "peer", "name", vb)
            self.made.append(("link", vb))
            self.sh("ip", "link", "set", va, "netns", ns)
            self.sh("ip", "link", "set", vb, "master", self.br, "up")
            self.sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", check=False)
            self.sh("ip", "-n", ns, "addr", "add", f"{self.ip(i)}/24", "dev", va)
            self.sh("ip", "-n", ns, "link", "set", va, "up")
            self.sh("ip", "-n", ns, "link", "set", "lo", "up")
            with open(self.config(i), "w") as f:
                f.write(f"""[cluster]
n = 3
w = 2
r = 2
key = {KEY}
commit = {self.commit}
[node]
id = {i}
data_dir = {self.work}/data{i}
backend = {self.backend or ("sim" if i == self.n - 1 else "cpu")}
fault_injection = 1
[limits]
heartbeat_ms = 50
failure_ms = 400
request_timeout_ms = 2000
[members]
""" + "".join(f"{j} = {self.ip(j)}\n" for j in range(self.n)))

    def config(self, i):
        return f"{self.work}/node{i}.ini"

    def start(self, i, bootstrap=False):
        """Run node i; --bootstrap only at the cluster's first start (a
        node restarted after losing its disk recovers, durability.md)."""
        logf = open(f"{self.work}/node{i}.log", "a")
        self.procs[i] = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(i), f"{self.build}/host/tallyd", "--no-huge", "-m", "256", "--no-pci",
             "--no-shconf", "--no-telemetry", f"-l{i % 2}", "--log-level=*:error",
             f"--vdev=net_af_packet0,iface=tfv{i}-{self.tag}", "--", "--config", self.config(i)] + (["--bootstrap"] if bootstrap else []),
            stdout=logf, stderr=subprocess.STDOUT)
        logf.close()

    def kill(self, i):
        p = self.procs[i]
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.kill()
            p.wait(timeout=10)
        self.procs[i] = None

    def signal(self, i, sig):
        if self.procs[i] is not None:
            self.procs[i].send_signal(sig)

    def http(self, i, path, timeout=2.0):
        # A change from outside the node's machine carries the operator's
        # credential (docs/security.md#the-status-port).
        headers = {"X-Tally-Admin": admin_mac(KEY, path)} if "?" in path else {}
        try:
            req = urllib.request.Request(f"http://{self.ip(i)}:{ADMIN}{path}", headers=headers)
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.read().decode()
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_up(self, deadline_s=30):
        """Every node answers its status page and sees every other as up."""
        import json
        end = time.time() + deadline_s
        while time.time() < end:
            ok = True
            for i in range(self.n):
                s = self.http(i, "/status")
                if s is None:
                    ok = False
                    break
                members = json.loads(s).get("members", [])
                if any(m.get("state") != "up" for m in members if m.get("id") != i):
                    ok = False
                    break
            if ok:
                return True
            time.sleep(0.2)
        return False

    def cleanup(self):
        for i in range(self.n):
            try:
                self.kill(i)
            except Exception:  # noqa: BLE001 - best effort while tearing down
                pass
        for kind, name in reversed(self.made):
            if kind == "ns":
                subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
            else:
                subprocess.run(["ip", "link", "del", name], stderr=subprocess.DEVNULL)
        self.made = []


class Nemesis:
    def __init__(self, cl, rng, kinds, path):
        self.cl, self.rng, self.kinds = cl, rng, kinds
        self.f = open(path, "w")
        self.f.write("# tally history v1: nemesis of faults.py\n")
        self.counts = {}

    def event(self, ev, kind, nodes):
        self.f.write(f"{now_us()} nemesis {ev} {kind} nodes={nodes}\n")
        self.f.flush()

    def cut(self, a, b):
        """Drop every frame between a and b, both ways (the nodes' own fault injection)."""
        for x, y in ((a, b), (b, a)):
            if self.cl.http(x, f"/fault?peer={y}&loss=100") is None:
                log(f"warning: node {x} did not take the cut to {y}")

    def heal_links(self):
        for i in range(self.cl.n):
            self.cl.http(i, "/fault?clear")

    def run_one(self, hold, wait_up=True):
        """One fault, held @hold s. A killed node is restarted and, with
        @wait_up, waited for until its status page answers."""
        cl, rng, n = self.cl, self.rng, self.cl.n
        kind = rng.choice(self.kinds)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        x = rng.randrange(n)
        if kind == "partition-one":
            desc = f"{x}|rest"
            self.event("start", kind, desc)
            for j in range(n):
                if j != x:
                    self.cut(x, j)
        elif kind == "partition-majority":
            order = list(range(n))
            rng.shuffle(order)
            maj, mino = sorted(order[: n // 2 + 1]), sorted(order[n // 2 + 1:])
            desc = ",".join(map(str, maj)) + "|" + ",".join(map(str, mino))
            self.event("start", kind, desc)
            for a in maj:
                for b in mino:
                    self.cut(a, b)
        elif kind == "partition-ring":
            order = list(range(n))
            rng.shuffle(order)
            desc = "-".join(map(str, order))
            self.event("start", kind, desc)
            for ia in range(n):
                for ib in range(ia + 1, n):
                    if (ib - ia) % n not in (1, n - 1):  # not ring neighbours
                        self.cut(order[ia], order[ib])
        elif kind in ("loss", "dup", "reorder", "delay", "corrupt"):
            q = {"loss": f"loss={rng.randint(10, 50)}", "dup": f"dup={rng.randint(10, 50)}",
                 "reorder": f"jitter={rng.randint(5, 40)}", "delay": f"delay={rng.randint(20, 300)}",
                 "corrupt": f"corrupt={rng.randint(5, 30)}"}[kind]
            links = [(a, b) for a in range(n) for b in range(n) if a != b and rng.random() < 0.5] or [(x, (x + 1) % n)]
            self.event("start", kind, f"{q}:" + ",".join(f"{a}>{b}" for a, b in links))
            for a, b in links:
                cl.http(a, f"/fault?peer={b}&{q}")
        elif kind == "kill" or kind == "wipe":
            self.event("start", kind, str(x))
            cl.kill(x)
            if kind == "wipe":
                shutil.rmtree(f"{cl.work}/data{x}", ignore_errors=True)
        elif kind == "pause":
            self.event("start", kind, str(x))
            cl.signal(x, signal.SIGSTOP)
        time.sleep(hold)
        if kind in ("kill", "wipe"):
            cl.start(x)
            # its status page answers once it runs again (DPDK's start takes
            # a moment); the next fault must find it there, unless faults
            # come on a clock (--every), which may hit a node still starting
            end = time.time() + 15
            while wait_up and time.time() < end and cl.http(x, "/status", timeout=0.5) is None:
                time.sleep(0.1)
        elif kind == "pause":
            cl.signal(x, signal.SIGCONT)
        else:
            self.heal_links()
        self.event("stop", kind, str(x) if kind in ("kill", "wipe", "pause") else "all")
        return kind

    def close(self):
        self.f.close()


def converge(cl, keys, replicas, until_quiet, limit_s, path):
    """Read every key from each of its replicas (GET /local/KEY on every
    node; a node that is not one of the key's N replicas says so) until they
    agree twice in a row after the workload finished; log each read."""
    import json
    f = open(path, "w")
    f.write("# tally history v1: local reads of faults.py\n")
    lock = threading.Lock()
    end = time.time() + limit_s
    agreed_rounds = 0
    rounds = 0
    while time.time() < end:
        rounds += 1
        vals = {}

        def poll(i):
            for k in keys:
                body = cl.http(i, f"/local/{k}", timeout=1.0)
                t = now_us()
                if body is None:
                    continue
                try:
                    j = json.loads(body)
                except ValueError:
                    continue
                if j.get("value") is None:  # no such field, or out of range
                    continue
                if not j.get("replica", True):
                    continue  # not one of the key's N replicas: a fallback's leftover
                p, n = sum(j.get("p", [])), sum(j.get("n", []))
                with lock:
                    vals[(i, k)] = j["value"]
                    f.write(f"{t} check{i} ok local key={k} node={i} value={j['value']} p={p} n={n}\n")

        th = [threading.Thread(target=poll, args=(i,)) for i in range(cl.n)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        per_key = {k: {v for (i, kk), v in vals.items() if kk == k} for k in keys}
        same = len(vals) == replicas * len(keys) and all(len(v) == 1 for v in per_key.values())
        if until_quiet() and same:
            agreed_rounds += 1
            if agreed_rounds >= 2:
                break
        else:
            agreed_rounds = 0
        time.sleep(0.05)
    f.close()
    return agreed_rounds >= 2, rounds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", help="the meson build folder")
    ap.add_argument("--time", type=float, default=60, help="seconds of faults (default 60)")
    ap.add_argument("--seed", type=int, default=None, help="nemesis and workload seed (default: clock)")
    ap.add_argument("--nemesis", default=",".join(KINDS), help="fault kinds, comma-separated (default: all: %(default)s)")
    ap.add_argument("--nodes", type=int, default=5, help="nodes (default 5)")
    ap.add_argument("--sessions", type=int, default=10, help="client sessions (default 10)")
    ap.add_argument("--keys", type=int, default=12, help="counters (default 12)")
    ap.add_argument("--rate", type=int, default=1000, help="operations per second started (default 1000)")
    ap.add_argument("--no-tokens", action="store_true", help="sessions do not present tokens (must-fail run)")
    ap.add_argument("--break", dest="brk", choices=["dedup", "tokens"],
                    help="make node 0 deliberately wrong (must-fail run)")
    ap.add_argument("--expect", choices=["clean", "violations"], default="clean",
                    help="clean (default): no violation, converged; violations: the audit must report some")
    ap.add_argument("--workload-args", default="", help="extra arguments for tally-workload (e.g. --r-set 1)")
    ap.add_argument("--audit-args", default="", help="extra arguments for tallyctl audit (e.g. --expect-sessions)")
    ap.add_argument("--converge-limit", type=float, default=2.0,
                    help="seconds after the last heal within which replicas must agree (default 2)")
    ap.add_argument("--keep", help="copy the histories and node logs into this folder")
    ap.add_argument("--hold", type=float, default=None, help="hold each fault S s (default: 1-4 s at random)")
    ap.add_argument("--gap", type=float, default=None, help="wait S s between faults (default: 0.5-2 s at random)")
    ap.add_argument("--commit", default="sync",
                    help="the cluster's commit policy: sync (default) or 'interval MS' (docs/durability.md)")
    ap.add_argument("--every", type=float, default=None,
                    help="start a fault every S s on a clock, whatever the last one took (instead of --gap); "
                         "a killed node is restarted at once and not waited for")
    ap.add_argument("--full-speed", action="store_true",
                    help="the full-speed variant: 32 sessions as fast as answers come (--rate 0), writes at "
                         "W = 1 and reads at R = N = 3, and kill -9 of a random node every second, restarted "
                         "at once with its data directory (--nemesis kill --hold 0 --every 1)")
    a = ap.parse_args()
    if a.full_speed:
        a.rate, a.nemesis = 0, "kill"
        a.hold = 0.0 if a.hold is None else a.hold
        a.every = 1.0 if a.every is None else a.every
        a.sessions = 32 if a.sessions == ap.get_default("sessions") else a.sessions
        a.workload_args = ("--w-set 1 --r-set 3 " + a.workload_args).strip()

    if not can_make_namespaces("faults"):
        return 1
    kinds = [k for k in a.nemesis.split(",") if k]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        print(f"faults: unknown nemesis kind {bad}; choose from {','.join(KINDS)}", file=sys.stderr)
        return 2
    seed = a.seed if a.seed is not None else time.time_ns() % 1000000007
    log(f"seed {seed} (rerun with --seed {seed}); {a.nodes} nodes, commit = {a.commit}, {a.time:.0f} s of faults: "
        f"{','.join(kinds)}")
    build = os.path.abspath(a.build)
    work = tempfile.mkdtemp(prefix="tally-faults.")
    cl = Cluster(build, a.nodes, work, commit=a.commit)
    wl = None

    def on_term(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored (a background job)
    signal.signal(signal.SIGHUP, on_term)
    try:
        cl.setup()
        for i in range(a.nodes):
            cl.start(i, bootstrap=True)
        if not cl.wait_up():
            log("FAIL: the cluster did not come up in 30 s")
            return 1
        if a.brk:
            if cl.http(0, f"/fault?break={a.brk}") is None:
                log("FAIL: node 0 refused the break")
                return 1
            log(f"node 0 is broken on purpose: {a.brk}")
        hist, nem_path, loc_path = f"{work}/history.txt", f"{work}/nemesis.txt", f"{work}/local.txt"
        # A W = 1 write is held by one node until it is shipped; a wiped
        # node loses those by design (docs/durability.md), so with wipes
        # the writes ask for two copies or more.
        wset = "2,3" if "wipe" in kinds else "1,2,3"
        wl = subprocess.Popen([f"{build}/tests/cluster/tally-workload", "--config", cl.config(0), "--history", hist,
                               "--seed", str(seed), "--sessions", str(a.sessions), "--keys", str(a.keys),
                               "--rate", str(a.rate)] + ([] if "--w-set" in a.workload_args else ["--w-set", wset])
                              + (["--no-tokens"] if a.no_tokens else [])
                              + a.workload_args.split())
        rng = random.Random(seed)
        nem = Nemesis(cl, rng, kinds, nem_path)
        t_end = time.time() + a.time
        nfaults = 0
        time.sleep(1.0)
        while time.time() < t_end and wl.poll() is None:
            t_fault = time.time()
            hold = rng.uniform(1, 4) if a.hold is None else a.hold
            kind = nem.run_one(min(hold, max(0.0 if a.hold == 0 else 0.2, t_end - time.time())),
                               wait_up=a.every is None)
            nfaults += 1
            log(f"{nfaults} faults; last {kind}; {t_end - time.time():.0f} s to go")
            if a.every is not None:
                time.sleep(max(0.0, t_fault + a.every - time.time()))
            else:
                time.sleep(rng.uniform(0.5, 2) if a.gap is None else a.gap)
        nem.heal_links()
        nem.close()
        for i in range(a.nodes):
            if cl.procs[i] is None or cl.procs[i].poll() is not None:
                log(f"FAIL: node {i} is not running at the end (see {work}/node{i}.log)")
                return 1
        log(f"healed after {nfaults} faults; stopping the workload")
        wl.send_signal(signal.SIGTERM)
        ok, rounds = converge(cl, [f"k{i}" for i in range(a.keys)], 3, lambda: wl.poll() is not None, 60, loc_path)
        wl.wait(timeout=60)
        log(f"replicas {'agree' if ok else 'DO NOT agree'} after {rounds} rounds of local reads")
        if wl.returncode != 0:
            log(f"FAIL: the workload exited with {wl.returncode}")
            return 1
        r = subprocess.run([f"{build}/host/tallyctl", "audit"] + a.audit_args.split() + [hist, nem_path, loc_path],
                           stdout=subprocess.PIPE, text=True)
        print(r.stdout, end="", flush=True)
        if a.keep:
            os.makedirs(a.keep, exist_ok=True)
            for f in os.listdir(work):
                if f.endswith((".txt", ".log", ".ini")):
                    shutil.copy(os.path.join(work, f), a.keep)
            log(f"histories and logs kept in {a.keep}")
        conv = None
        for line in r.stdout.splitlines():
            if line.startswith("convergence:") and "ms" in line:
                try:
                    conv = float(line.split()[1]) / 1000
                except ValueError:
                    pass
        if a.expect == "violations":
            if r.returncode == 1:
                log("PASS: the audit reported violations, as it must")
                return 0
            log(f"FAIL: the audit should have reported violations (exit {r.returncode})")
            return 1
        if r.returncode != 0:
            log(f"FAIL: the audit exited {r.returncode}")
            return 1
        if not ok:
            log("FAIL: replicas did not agree within 60 s of the last heal")
            return 1
        if conv is not None and conv > a.converge_limit:
            log(f"FAIL: convergence took {conv:.2f} s, over {a.converge_limit} s")
            return 1
        log(f"PASS: {nfaults} faults, no violation")
        return 0
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        return 130
    finally:
        if wl is not None and wl.poll() is None:
            wl.kill()
            wl.wait()
        cl.cleanup()
        shutil.rmtree(work, ignore_errors=True)  # --keep copied what matters


if __name__ == "__main__":
    sys.exit(main())
