#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
"""Synthesize one module of the NIC with yosys and write its reports.

    yosys_synth.py --yosys YOSYS --top MODULE --out PREFIX [--param NAME=VALUE]...
                   SOURCES...

Writes PREFIX.stat (yosys "stat"), PREFIX.ltp (yosys "ltp -noff" over the
combinational cells) and PREFIX.time (seconds yosys took, wall clock), the
reports tally-bench nic reads (docs/performance.md), and PREFIX.log, yosys'
warnings (printed only when yosys fails, so a build stays quiet). The flow is the one the
RTL kernels' synth targets use (rtl/meson.build): synth_xilinx -flatten
-noiopad, a 7-series-like mapping, not a vendor flow.

Why a script and not a bare yosys command:

- Yosys 0.23 (Debian 12) does not read some SystemVerilog the NIC's sources
  use and Verilator accepts. The script hands yosys a rewritten copy (in a
  temporary folder; the sources are never touched), one mechanical rule
  each, and nothing else changes:
    * `import pkg::*;` (in a module header or body): the package's items are
      declared in the module instead, after the port list;
    * `return x;` in a function: `name = x;` (every function here returns
      only as its last statement);
    * `logic [w] v = x;` in a function: a declaration and an assignment;
    * `~W'(x)` / `!W'(x)`: parenthesized, `~(W'(x))`;
    * `a <= b;` / `a = b;` of whole unpacked arrays: an element loop;
    * `$bits(type)`: `$bits` of a signal of that type;
    * `arr[i].field` of an array of structs: read through a struct wire.
  If yosys one day reads the sources as they are, the rules become no-ops.
- The NIC has feedback through its registers (state machines, counters);
  with the mapped flip-flops (FDRE...) in the graph, yosys' ltp follows
  those loops and reports nonsense. ltp here runs over every cell except
  flip-flops and RAMs (block RAM, distributed RAM and shift registers,
  whose writes are clocked: through them ltp would find paths from a
  write's data to a read that do not exist), so it finds the longest
  combinational path between registers, which is what limits the clock.
  It misses the one cell of a distributed RAM's read (address to data) on
  paths that go through one.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time


def packages(texts):
    """Map package name -> its items (the text between `package x;` and `endpackage`)."""
    pk = {}
    for t in texts:
        for m in re.finditer(r'^\s*package\s+(\w+)\s*;(.*?)^\s*endpackage', t, re.M | re.S):
            pk[m.group(1)] = m.group(2)
    return pk


def inline_imports(t, pk):
    m = re.search(r'(\bmodule\s+\w+)\s+import\s+(\w+)::\*\s*;', t)
    if m:
        # the items go after the port list: the header itself uses only
        # qualified names (pkg::NAME), which yosys reads
        t = t[:m.start()] + m.group(1) + t[m.end():]
        end = m.start() + re.search(r'\)\s*;', t[m.start():]).end()
        t = t[:end] + '\n' + pk[m.group(2)] + '\n' + t[end:]
    return re.sub(r'^\s*import\s+(\w+)::\*\s*;', lambda i: pk[i.group(1)], t, flags=re.M)


def in_functions(t, fix):
    """Apply fix(line, function name) to every line inside a function."""
    out, name = [], None
    for line in t.split('\n'):
        m = re.match(r'\s*function\b.*?(\w+)\s*\(', line)
        if m:
            name = m.group(1)
        elif re.match(r'\s*endfunction\b', line):
            name = None
        elif name is not None:
            line = fix(line, name)
        out.append(line)
    return '\n'.join(out)


def fix_return(line, name):
    return re.sub(r'\breturn\b', name + ' =', line)


def fix_init(line, name):
    m = re.match(r'(\s*)(logic\s*(?:\[[^\]]*\])?)\s+(\w+)\s*=\s*(.+);(.*)$', line)
    if not m:
        return line
    return '%s%s %s; %s = %s;%s' % m.group(1, 2, 3, 3, 4, 5)


def paren_casts(t):
    out, i = [], 0
    pat = re.compile(r"([~!])\s*(\w+'\()")
    while True:
        m = pat.search(t, i)
        if not m:
            return ''.join(out) + t[i:]
        j, depth = m.end(), 1
        while depth:
            depth += {'(': 1, ')': -1}.get(t[j], 0)
            j += 1
        out += [t[i:m.start()], m.group(1), '(', m.group(2), t[m.end():j], ')']
        i = j


def array_copies(t):
    arrays = dict(re.findall(r'^\s*logic\b[^;\n]*?\b(\w+)\s*\[([^\]:]+)\]\s*[,;=]', t, re.M))

    def loop(m):
        ind, a, op, b = m.groups()
        if a in arrays and b in arrays:
            return '%sfor (int i_ = 0; i_ < %s; i_++) %s[i_] %s %s[i_];' % (ind, arrays[a], a, op, b)
        return m.group(0)
    return re.sub(r'^(\s*)(\w+)\s*(<=|=)\s*(\w+)\s*;', loop, t, flags=re.M)


def bits_of_types(t):
    types = set(re.findall(r'\}\s*(\w+)\s*;', t)) | set(re.findall(r'\btypedef\b[^;{]*\s(\w+)\s*;', t))
    for ty in sorted(types):
        use = '$bits(%s)' % ty
        if use in t:
            at = t.rfind('\n', 0, t.index(use)) + 1
            t = t[:at] + '%s %s_bits_;\n' % (ty, ty) + t[at:]
            t = t.replace(use, '$bits(%s_bits_)' % ty)
    return t


def struct_array_fields(t):
    arrays = {n: ty for ty, n in re.findall(r'^\s*(\w+)\s+(\w+)\s*\[\s*\w+\s*\]\s*;', t, re.M)
              if ty not in ('logic', 'wire', 'reg', 'int', 'bit')}
    for a, ty in sorted(arrays.items()):
        for idx in sorted(set(re.findall(r'\b' + a + r'\[(\w+)\]\.', t))):
            w = '%s__at_%s' % (a, idx)
            first = re.search(r'\b' + a + r'\[' + idx + r'\]\.', t).start()
            block = [m.start() for m in re.finditer(r'^always', t[:first], re.M)][-1]
            t = t[:block] + '%s %s;\nassign %s = %s[%s];\n' % (ty, w, w, a, idx) + t[block:]
            t = re.sub(r'\b' + a + r'\[' + idx + r'\]\.', w + '.', t)
    return t


def rewrite(t, pk):
    t = inline_imports(t, pk)
    t = in_functions(t, fix_return)
    t = in_functions(t, fix_init)
    t = paren_casts(t)
    t = array_copies(t)
    t = bits_of_types(t)
    return struct_array_fields(t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--yosys', default='yosys')
    ap.add_argument('--top', required=True)
    ap.add_argument('--out', required=True, help='report prefix: PREFIX.stat, .ltp, .time')
    ap.add_argument('--param', action='append', default=[], help='NAME=VALUE for chparam')
    ap.add_argument('sources', nargs='+')
    a = ap.parse_args()

    texts = [open(s, encoding='utf-8').read() for s in a.sources]
    pk = packages(texts)
    with tempfile.TemporaryDirectory(prefix='yosys_synth.') as tmp:
        files = []
        for src, t in zip(a.sources, texts):
            dst = os.path.join(tmp, os.path.basename(src))
            with open(dst, 'w', encoding='utf-8') as f:
                f.write(rewrite(t, pk))
            files.append(dst)
        chparam = ''
        if a.param:
            sets = ' '.join('-set %s %s' % tuple(p.split('=', 1)) for p in a.param)
            chparam = 'chparam %s %s; ' % (sets, a.top)
        script = ('read_verilog -sv %s; %ssynth_xilinx -top %s -flatten -noiopad; '
                  'tee -q -o %s.stat stat; '
                  'tee -q -o %s.ltp ltp -noff * t:FD* %%d t:RAMB* %%d t:RAM* %%d t:SRL* %%d'
                  % (' '.join(files), chparam, a.top, a.out, a.out))
        start = time.monotonic()
        with open(a.out + '.log', 'w', encoding='utf-8') as log:
            rc = subprocess.call([a.yosys, '-q', '-p', script], stdout=log, stderr=subprocess.STDOUT)
        took = time.monotonic() - start
    if rc != 0:
        with open(a.out + '.log', encoding='utf-8') as log:
            sys.stderr.write(log.read()[-4000:])
        sys.exit('yosys_synth.py: yosys failed for %s (exit %d); its output: %s.log'
                 % (a.top, rc, a.out))
    with open(a.out + '.time', 'w', encoding='utf-8') as f:
        f.write('%.1f\n' % took)


if __name__ == '__main__':
    main()
