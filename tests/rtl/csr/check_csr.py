#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
"""The csr-generated test: the register map's outputs agree with its source.

    check_csr.py --gen rtl/gen_csr.py --source rtl/csr.toml
                 --header BUILD/tally_csr.h --package BUILD/tally_csr_pkg.sv
                 --doc docs/csr.md [--c-check BUILD/test_csr_header]

1. Regenerates the header, the package and the doc from the source and
   compares them byte for byte with the build's and the checked-in doc
   (a stale docs/csr.md: ninja -C build csr-doc).
2. Reads the source itself (not through gen_csr.py) and checks every
   #define of the header and every localparam of the package against it,
   both ways: each expected symbol present with its value, no other symbol.
   So a generator bug or a hand-edited output fails here even when
   regenerating reproduces it.
3. Checks the doc's tables name every register and counter at its offset.
4. Feeds gen_csr.py broken sources (overlapping, unaligned, duplicate,
   a field past bit 31) and requires a clear error and a nonzero exit.
5. Runs the C check compiled against the header, when given.

Every problem found is printed; the exit status is 1 if there was any.
"""

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
import tomllib

problems = []


def problem(msg):
    problems.append(msg)
    print(f"FAIL: {msg}", file=sys.stderr)


# --- what the source says, read independently of gen_csr.py -------------------

def expected(source):
    """Symbol tables the outputs must hold exactly: (C defines, SV localparams, doc rows, counters)."""
    with open(source, "rb") as f:
        doc = tomllib.load(f)
    c, sv, rows = {}, {}, []
    max_off = 0
    for r in doc["register"]:
        name, off, count = r["name"], r["offset"], r.get("count")
        names = [(name, off)] if count is None else \
            [(f"{name}{i}", off + 4 * i) for i in range(count)]
        for n, o in names:
            c[f"TALLY_CSR_{n}"] = o
            sv[f"CSR_{n}"] = o
            max_off = max(max_off, o)
        rows.append((off, name if count is None else f"{name}0"))
        if count is not None:
            c[f"TALLY_CSR_{name}_COUNT"] = count
            sv[f"CSR_{name}_COUNT"] = count
            c[f"TALLY_CSR_{name}(i)"] = lambda i, off=off: off + 4 * i
        if "value" in r:
            c[f"TALLY_CSR_{name}_VALUE"] = r["value"]
            sv[f"CSR_{name}_VALUE"] = r["value"]
        fields = r.get("field", [])
        if fields and r["access"] != "ro":
            reset = sum(f.get("reset", 0) << f["lsb"] for f in fields)
            c[f"TALLY_CSR_{name}_RESET"] = reset
            sv[f"CSR_{name}_RESET"] = reset
        for f in fields:
            w = f.get("width", 1)
            c[f"TALLY_CSR_{name}_{f['name']}"] = ((1 << w) - 1) << f["lsb"]
            c[f"TALLY_CSR_{name}_{f['name']}_SHIFT"] = f["lsb"]
            sv[f"CSR_{name}_{f['name']}_BIT"] = f["lsb"]
            sv[f"CSR_{name}_{f['name']}_W"] = w
    cnt = doc.get("counters")
    counters = []
    if cnt:
        base = cnt["base"]
        counters = [k["name"] for k in cnt["counter"]]
        c["TALLY_CSR_CNT_BASE"] = base
        c["TALLY_CSR_CNT_STRIDE"] = 8
        c["TALLY_CSR_CNT_LO(i)"] = lambda i: base + 8 * i
        c["TALLY_CSR_CNT_HI(i)"] = lambda i: base + 8 * i + 4
        sv["N_COUNTERS"] = len(counters)
        sv["CSR_CNT_BASE"] = base
        sv["CSR_CNT_STRIDE"] = 8
        for i, n in enumerate(counters):
            lo = base + 8 * i
            c[f"TALLY_CSR_{n}_LO"] = lo
            c[f"TALLY_CSR_{n}_HI"] = lo + 4
            sv[f"CNT_{n}"] = i
            sv[f"CSR_{n}_LO"] = lo
            sv[f"CSR_{n}_HI"] = lo + 4
            max_off = max(max_off, lo + 4)
    addr_w = max(2, (max_off + 3).bit_length())
    c["TALLY_CSR_ADDR_W"] = addr_w
    c["TALLY_CSR_SIZE"] = 1 << addr_w
    sv["CSR_ADDR_W"] = addr_w
    sv["CSR_DATA_W"] = 32
    return c, sv, rows, counters, cnt["base"] if cnt else None


# --- what the outputs say ---------------------------------------------------

DEFINE_RE = re.compile(r"^#define\s+(\w+)(\(\w+\))?(?:[ \t]+(.*?))?\s*$", re.M)
NUM_RE = re.compile(r"\b(0x[0-9a-fA-F]+|\d+)[uU]?\b")


def c_eval(expr, defines):
    """Evaluate a header expression: numbers, << + *, casts, and the header's own macros."""
    fn = [n[:-2] for n in defines if n.endswith("()")]
    call_re = re.compile(r"\b(%s)\(((?:[^()]|\([^()]*\))*)\)" % "|".join(map(re.escape, fn))) if fn else None

    def call(m):
        params, body = defines[m.group(1) + "()"]
        return "(" + re.sub(rf"\b{params}\b", f"({m.group(2)})", body) + ")"

    def obj(m):
        n = m.group(0)
        return "(" + defines[n] + ")" if n in defines else n

    for _ in range(16):
        before = expr
        expr = expr.replace("(unsigned)", "")
        if call_re:
            expr = call_re.sub(call, expr)
        expr = re.sub(r"\bTALLY_CSR_\w+\b(?!\()", obj, expr)
        if expr == before:
            break
    expr = NUM_RE.sub(lambda m: str(int(m.group(1), 0)), expr)
    if not re.fullmatch(r"[\d\s()<+*]*", expr):
        raise ValueError(f"cannot evaluate {expr!r}")
    return eval(expr, {"__builtins__": {}})  # digits, parentheses, << + * only


def check_header(path, exp_c, counters):
    text = open(path, encoding="utf-8").read()
    defines = {}
    for m in DEFINE_RE.finditer(text):
        name, params, body = m.group(1), m.group(2), m.group(3) or ""
        if params:
            defines[name + "()"] = (params[1:-1], body)
        else:
            defines[name] = body
    ignore = {"TALLY_CSR_H", "TALLY_CSR_MAYBE_UNUSED", "TALLY_CSR_COUNTERS()"}
    for name, want in exp_c.items():
        key = name[:-3] + "()" if name.endswith("(i)") else name
        if key not in defines:
            problem(f"{path}: no #define {name}")
            continue
        try:
            if callable(want):
                for i in range(max(len(counters), 4) + 1):
                    got = c_eval(f"{name[:-3]}({i})", defines)
                    if got != want(i):
                        problem(f"{path}: {name[:-3]}({i}) is {got:#x}, {args.source} says {want(i):#x}")
                        break
            else:
                got = c_eval(defines[key], defines)
                if got != want:
                    problem(f"{path}: {name} is {got:#x}, {args.source} says {want:#x}")
        except (ValueError, KeyError, SyntaxError) as e:
            problem(f"{path}: {name}: {e}")
    for key in defines:
        name = key[:-2] + "(i)" if key.endswith("()") else key
        if key not in ignore and name not in exp_c:
            problem(f"{path}: #define {key.rstrip('()')} is not in {args.source}")

    # The counters' three lists: the enum, the X-macro, the names.
    m = re.search(r"enum tally_csr_counter \{(.*?)\};", text, re.S)
    enum = re.findall(r"^\s*TALLY_CSR_CNT_(\w+)(?: = (\d+))?,", m.group(1), re.M) if m else []
    if [n for n, _ in enum] != counters or (enum and enum[0][1] != "0") or \
            any(v for _, v in enum[1:]) or not re.search(r"TALLY_CSR_CNT_COUNT\s*\n\};", text):
        problem(f"{path}: enum tally_csr_counter is not {counters} from 0, then TALLY_CSR_CNT_COUNT")
    xs = re.findall(r'^\tX\((\w+), "(\w+)", "[^"]*"\)', text, re.M)
    if xs != [(n, n.lower()) for n in counters]:
        problem(f"{path}: TALLY_CSR_COUNTERS lists {xs}, not the counters of {args.source}")
    m = re.search(r"tally_csr_counter_names\[TALLY_CSR_CNT_COUNT\][^=]*= \{(.*?)\};", text, re.S)
    names = re.findall(r'"(\w+)"', m.group(1)) if m else None
    if names != [n.lower() for n in counters]:
        problem(f"{path}: tally_csr_counter_names is {names}")


PARAM_RE = re.compile(r"^\s*localparam\s+(int|logic\s*\[([^\]]+)\])\s+(\w+)\s*=\s*([^;]+);", re.M)


def sv_value(lit):
    lit = lit.strip()
    m = re.fullmatch(r"(\d+)'([hdb])([0-9a-fA-F_]+)", lit)
    if m:
        base = {"h": 16, "d": 10, "b": 2}[m.group(2)]
        return int(m.group(3).replace("_", ""), base), int(m.group(1))
    return int(lit), None


def check_package(path, exp_sv):
    text = open(path, encoding="utf-8").read()
    if not re.search(r"^package tally_csr_pkg;", text, re.M) or "endpackage" not in text:
        problem(f"{path}: not package tally_csr_pkg")
    got = {}
    for m in PARAM_RE.finditer(text):
        kind, rng, name, lit = m.groups()
        try:
            value, width = sv_value(lit)
        except ValueError:
            problem(f"{path}: {name} = {lit}: not a literal")
            continue
        got[name] = value
        want_w = {"CSR_ADDR_W-1:0": exp_sv["CSR_ADDR_W"], "CSR_DATA_W-1:0": 32}.get(rng)
        if rng is not None and want_w is None:
            problem(f"{path}: {name}: unexpected range [{rng}]")
        if want_w is not None and width != want_w:
            problem(f"{path}: {name} = {lit}: literal is {width} bits, the localparam {want_w}")
    for name, want in exp_sv.items():
        if name not in got:
            problem(f"{path}: no localparam {name}")
        elif got[name] != want:
            problem(f"{path}: {name} is {got[name]:#x}, {args.source} says {want:#x}")
    for name in got:
        if name not in exp_sv:
            problem(f"{path}: localparam {name} is not in {args.source}")


def check_doc(path, rows, counters, cnt_base):
    text = open(path, encoding="utf-8").read()
    if not text.startswith("<!-- SPDX-License-Identifier: BSD-3-Clause -->\n"):
        problem(f"{path}: the first line is not the SPDX comment")
    if "rtl/csr.toml" not in text or "rtl/gen_csr.py" not in text:
        problem(f"{path}: does not say it is generated from rtl/csr.toml by rtl/gen_csr.py")
    for off, name in rows:
        if not re.search(rf"^\| `{off:#04x}`(\.\.`0x[0-9a-f]+`)? \| `{name}`", text, re.M):
            problem(f"{path}: no register row for {name} at {off:#04x}")
    for i, n in enumerate(counters):
        lo = cnt_base + 8 * i
        if f"| {i} | `{lo:#04x}` | `{lo + 4:#04x}` | `{n}` |" not in text:
            problem(f"{path}: no counter row for {n} ({i}) at {lo:#04x}")


# --- regenerate and compare ----------------------------------------------------

def run_gen(gen, source, outdir):
    out = {k: os.path.join(outdir, f) for k, f in
           (("header", "tally_csr.h"), ("package", "tally_csr_pkg.sv"), ("doc", "csr.md"))}
    r = subprocess.run([sys.executable, gen, source, "--header", out["header"],
                        "--package", out["package"], "--doc", out["doc"]],
                       capture_output=True, text=True)
    return r, out


def compare(fresh, built, hint):
    a = open(fresh, "rb").read()
    b = open(built, "rb").read()
    if a == b:
        return
    diff = difflib.unified_diff(a.decode(errors="replace").splitlines(),
                                b.decode(errors="replace").splitlines(),
                                "regenerated", built, lineterm="", n=1)
    problem(f"{built} differs from what {args.gen} makes of {args.source} ({hint}):\n"
            + "\n".join(list(diff)[:40]))


BROKEN = [
    ("an overlapping offset", lambda s: s.replace("offset = 0x14", "offset = 0x10"), "overlaps"),
    ("an unaligned offset", lambda s: s.replace("offset = 0x18", "offset = 0x1a"), "not aligned"),
    ("a duplicate register name", lambda s: s.replace('name = "NODES"', 'name = "STATUS"'), "duplicate"),
    ("a duplicate counter name", lambda s: s.replace('name = "CONSUMED"', 'name = "FRAMES"'), "duplicate"),
    ("a duplicate field name", lambda s: s.replace('name = "STATS_CLEAR"', 'name = "MERGE_ENABLE"'),
     "duplicate"),
    ("a field past bit 31", lambda s: s.replace("lsb = 1\n", "lsb = 31\n  width = 2\n", 1), "not inside"),
    ("counters over the registers", lambda s: s.replace("base = 0x40", "base = 0x2c"), "overlaps"),
    ("a register without a description",
     lambda s: re.sub(r'(name = "ID"\n(?:.*\n)*?)description = .*\n', r"\1", s, count=1), "description"),
]


def check_validation(source, tmp):
    text = open(source, encoding="utf-8").read()
    for what, edit, needle in BROKEN:
        bad = edit(text)
        if bad == text:
            problem(f"validation check '{what}': the edit no longer applies to {source}")
            continue
        path = os.path.join(tmp, "broken.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(bad)
        outdir = os.path.join(tmp, "broken-out")
        os.makedirs(outdir, exist_ok=True)
        r, out = run_gen(args.gen, path, outdir)
        if r.returncode == 0:
            problem(f"{args.gen} accepted a source with {what}")
        elif needle not in r.stderr or "error" not in r.stderr:
            problem(f"{args.gen} rejected {what} without saying so ('{needle}'): {r.stderr.strip()}")
        elif any(os.path.exists(p) for p in out.values()):
            problem(f"{args.gen} wrote outputs from a source with {what}")


def main():
    global args
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gen", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--header", required=True)
    ap.add_argument("--package", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--c-check")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        r, out = run_gen(args.gen, args.source, tmp)
        if r.returncode != 0:
            problem(f"{args.gen} {args.source} failed:\n{r.stderr}")
        else:
            compare(out["header"], args.header, "rebuild")
            compare(out["package"], args.package, "rebuild")
            compare(out["doc"], args.doc, "run ninja -C build csr-doc and commit docs/csr.md")
        check_validation(args.source, tmp)

    exp_c, exp_sv, rows, counters, cnt_base = expected(args.source)
    check_header(args.header, exp_c, counters)
    check_package(args.package, exp_sv)
    check_doc(args.doc, rows, counters, cnt_base)

    if args.c_check:
        r = subprocess.run([args.c_check], capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            problem(f"{args.c_check} failed:\n{r.stderr}")

    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"register map: {len(exp_c)} C symbols, {len(exp_sv)} SV localparams, "
          f"{len(counters)} counters agree with {args.source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
