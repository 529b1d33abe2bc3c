#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 The tally authors
"""Generate the tally NIC's register map from its one source, rtl/csr.toml.

    gen_csr.py SOURCE [--header tally_csr.h] [--package tally_csr_pkg.sv]
                      [--doc docs/csr.md]

The C header is for drivers and tests, the SystemVerilog package for
rtl/nic_csr.sv, the Markdown page for operators. The source is validated
first (offsets aligned and disjoint, names unique, fields inside 32 bits,
values that fit); any error is printed with where it is and the exit status
is 1, and no output is written.

Outputs depend only on the source's content (never on the paths given), so
tests/rtl/csr can regenerate them anywhere and compare byte for byte.
"""

import argparse
import os
import re
import sys
import tomllib

ACCESS = ("ro", "rw", "wo")
NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
REG_BYTES = 4
REG_BITS = 32
CNT_STRIDE = 8

SRC_NAME = "rtl/csr.toml"
GEN_NAME = "rtl/gen_csr.py"


class CsrError(Exception):
    """The source is invalid; .errors lists every problem found."""

    def __init__(self, errors):
        super().__init__("\n".join(errors))
        self.errors = errors


class Field:
    def __init__(self, name, lsb, width, access, reset, description):
        self.name, self.lsb, self.width = name, lsb, width
        self.access, self.reset, self.description = access, reset, description

    @property
    def mask(self):
        return ((1 << self.width) - 1) << self.lsb


class Register:
    """One 32-bit register after expansion (arrays and counters unrolled)."""

    def __init__(self, name, offset, access, description, fields=(), value=None,
                 source=None, array=None, counter=None):
        self.name, self.offset, self.access = name, offset, access
        self.description = description
        self.fields = list(fields)
        self.value, self.source = value, source
        self.array = array        # (base name, index, count) for NAME0..
        self.counter = counter    # (index, "LO" or "HI") for counter halves

    @property
    def reset(self):
        return sum((f.reset << f.lsb) for f in self.fields)


class Counter:
    def __init__(self, index, name, description):
        self.index, self.name, self.description = index, name, description


class CsrMap:
    def __init__(self):
        self.name = ""
        self.bus = ""
        self.description = ""
        self.registers = []      # expanded, in source order
        self.arrays = []         # (name, offset, count, access, description)
        self.cnt_base = None
        self.cnt_description = ""
        self.counters = []

    @property
    def addr_w(self):
        """Byte-address bits the block decodes: enough for the last register."""
        span = max(r.offset for r in self.registers) + REG_BYTES
        return max(2, (span - 1).bit_length())


# --- reading and validating -------------------------------------------------

def _get(errors, where, table, key, kind, required=True, default=None):
    if key not in table:
        if required:
            errors.append(f"{where}: missing '{key}'")
        return default
    v = table[key]
    if kind is int and (isinstance(v, bool) or not isinstance(v, int)):
        errors.append(f"{where}: '{key}' must be an integer, not {v!r}")
        return default
    if kind is str and not isinstance(v, str):
        errors.append(f"{where}: '{key}' must be a string, not {v!r}")
        return default
    return v


def _check_keys(errors, where, table, allowed):
    for k in table:
        if k not in allowed:
            errors.append(f"{where}: unknown key '{k}' (allowed: {', '.join(allowed)})")


def _name(errors, where, table):
    n = _get(errors, where, table, "name", str)
    if n is not None and not NAME_RE.match(n):
        errors.append(f"{where}: name '{n}' must be UPPER_CASE letters, digits and _")
        return None
    return n


def _description(errors, where, table):
    d = _get(errors, where, table, "description", str)
    if d is not None and not d.strip():
        errors.append(f"{where}: empty description")
    return (d or "").strip()


def _fields(errors, where, reg_access, table):
    fields = []
    raw = table.get("field", [])
    if not isinstance(raw, list):
        errors.append(f"{where}: 'field' must be an array of tables ([[register.field]])")
        return fields
    seen = {}
    used = 0
    for k, f in enumerate(raw):
        fw = f"{where} field {k}"
        _check_keys(errors, fw, f, ("name", "lsb", "width", "access", "reset", "description"))
        name = _name(errors, fw, f)
        if name:
            fw = f"{where} field '{name}'"
        lsb = _get(errors, fw, f, "lsb", int)
        width = _get(errors, fw, f, "width", int, required=False, default=1)
        access = _get(errors, fw, f, "access", str)
        reset = _get(errors, fw, f, "reset", int, required=False, default=0)
        desc = _description(errors, fw, f)
        if access is not None and access not in ACCESS:
            errors.append(f"{fw}: access '{access}' is not one of {', '.join(ACCESS)}")
        elif access is not None and reg_access == "ro" and access != "ro":
            errors.append(f"{fw}: a {access} field in a read-only register")
        if name in seen:
            errors.append(f"{fw}: duplicate field name (also field {seen[name]})")
        seen[name] = k
        if lsb is None or width is None:
            continue
        if lsb < 0 or width < 1 or lsb + width > REG_BITS:
            errors.append(f"{fw}: bits [{lsb + width - 1}:{lsb}] are not inside the "
                          f"{REG_BITS}-bit register")
            continue
        fld = Field(name, lsb, width, access, reset or 0, desc)
        if used & fld.mask:
            errors.append(f"{fw}: bits [{lsb + width - 1}:{lsb}] overlap another field")
        used |= fld.mask
        if reset is not None and not 0 <= reset < (1 << width):
            errors.append(f"{fw}: reset {reset:#x} does not fit in {width} bit(s)")
        fields.append(fld)
    return fields


def load(path):
    """Read and validate SOURCE; return a CsrMap or raise CsrError."""
    errors = []
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CsrError([f"{path}: {e}"])

    m = CsrMap()
    _check_keys(errors, path, doc, ("map", "register", "counters"))
    top = doc.get("map", {})
    _check_keys(errors, f"{path} [map]", top, ("name", "bus", "width", "description"))
    m.name = _get(errors, f"{path} [map]", top, "name", str) or ""
    m.bus = _get(errors, f"{path} [map]", top, "bus", str) or ""
    width = _get(errors, f"{path} [map]", top, "width", int)
    if width is not None and width != REG_BITS:
        errors.append(f"{path} [map]: width {width}: only {REG_BITS}-bit registers are supported")
    m.description = _description(errors, f"{path} [map]", top)

    regs = doc.get("register", [])
    if not isinstance(regs, list) or not regs:
        errors.append(f"{path}: no [[register]] tables")
        regs = []
    for k, r in enumerate(regs):
        where = f"{path} register {k}"
        _check_keys(errors, where, r, ("name", "offset", "access", "description", "field",
                                       "count", "value", "source"))
        name = _name(errors, where, r)
        if name:
            where = f"{path} register '{name}'"
        offset = _get(errors, where, r, "offset", int)
        access = _get(errors, where, r, "access", str)
        desc = _description(errors, where, r)
        count = _get(errors, where, r, "count", int, required=False)
        value = _get(errors, where, r, "value", int, required=False)
        source = _get(errors, where, r, "source", str, required=False)
        if access is not None and access not in ACCESS:
            errors.append(f"{where}: access '{access}' is not one of {', '.join(ACCESS)}")
        if value is not None:
            if access != "ro":
                errors.append(f"{where}: only a read-only register can have a constant value")
            if not 0 <= value < (1 << REG_BITS):
                errors.append(f"{where}: value {value:#x} does not fit in {REG_BITS} bits")
        if count is not None and count < 1:
            errors.append(f"{where}: count must be at least 1")
            count = None
        fields = _fields(errors, where, access, r)
        if value is not None and fields:
            errors.append(f"{where}: a register has either a constant value or fields, not both")
        if name is None or offset is None or access is None:
            continue
        if count is None:
            m.registers.append(Register(name, offset, access, desc, fields, value, source))
        else:
            m.arrays.append((name, offset, count, access, desc))
            for i in range(count):
                m.registers.append(Register(f"{name}{i}", offset + REG_BYTES * i, access,
                                            desc, fields, value, source,
                                            array=(name, i, count)))

    cnt = doc.get("counters")
    if cnt is not None:
        where = f"{path} [counters]"
        _check_keys(errors, where, cnt, ("base", "description", "counter"))
        m.cnt_base = _get(errors, where, cnt, "base", int)
        m.cnt_description = _description(errors, where, cnt)
        raw = cnt.get("counter", [])
        if not isinstance(raw, list) or not raw:
            errors.append(f"{where}: no [[counters.counter]] tables")
            raw = []
        if m.cnt_base is not None and m.cnt_base % CNT_STRIDE:
            errors.append(f"{where}: base {m.cnt_base:#x} is not aligned to {CNT_STRIDE} bytes")
        for i, c in enumerate(raw):
            cw = f"{path} counter {i}"
            _check_keys(errors, cw, c, ("name", "description"))
            name = _name(errors, cw, c)
            if name:
                cw = f"{path} counter '{name}'"
            desc = _description(errors, cw, c)
            if name is None:
                continue
            m.counters.append(Counter(i, name, desc))
            if m.cnt_base is None:
                continue
            lo = m.cnt_base + CNT_STRIDE * i
            for half, off in (("LO", lo), ("HI", lo + REG_BYTES)):
                m.registers.append(Register(f"{name}_{half}", off, "ro",
                                            f"{desc} ({'low' if half == 'LO' else 'high'} half)",
                                            counter=(i, half)))

    # Offsets: aligned, inside the address space, disjoint.
    by_offset = {}
    for r in m.registers:
        if r.offset < 0:
            errors.append(f"{path}: register '{r.name}': negative offset {r.offset}")
            continue
        if r.offset % REG_BYTES:
            errors.append(f"{path}: register '{r.name}': offset {r.offset:#x} is not aligned "
                          f"to {REG_BYTES} bytes")
        for b in range(r.offset, r.offset + REG_BYTES):
            if b in by_offset and by_offset[b] is not r:
                errors.append(f"{path}: register '{r.name}' at {r.offset:#x} overlaps "
                              f"'{by_offset[b].name}' at {by_offset[b].offset:#x}")
                break
            by_offset[b] = r

    # Names: every generated symbol must be unique (register A field B_C and
    # register A_B field C would both be TALLY_CSR_A_B_C).
    symbols = {}

    def symbol(sym, what):
        if sym in symbols:
            errors.append(f"{path}: duplicate name: {what} and {symbols[sym]} are both {sym}")
        else:
            symbols[sym] = what

    reserved = ("CNT", "ADDR_W", "SIZE")
    for r in m.registers:
        if r.name in reserved or r.name.startswith("CNT_"):
            errors.append(f"{path}: register '{r.name}': name is reserved for generated symbols")
        symbol(r.name, f"register '{r.name}'")
        if r.value is not None:
            symbol(r.name + "_VALUE", f"the value of '{r.name}'")
        if r.fields and r.access != "ro":
            symbol(r.name + "_RESET", f"the reset of '{r.name}'")
        if r.array is None or r.array[1] == 0:
            for f in r.fields:
                base = r.array[0] if r.array else r.name
                symbol(f"{base}_{f.name}", f"field '{r.name}.{f.name}'")
    for name, _, _, _, _ in m.arrays:
        symbol(name + "_COUNT", f"the size of array '{name}'")
    cnt_names = {}
    for c in m.counters:
        if c.name in cnt_names:
            errors.append(f"{path}: duplicate counter name '{c.name}'")
        cnt_names[c.name] = c

    if not m.registers:
        errors.append(f"{path}: no registers")
    if errors:
        raise CsrError(errors)
    m.registers.sort(key=lambda r: r.offset)
    return m


# --- outputs -------------------------------------------------------------------

def _wrap(text, width, prefix):
    """Re-flow @text into lines of at most @width characters after @prefix."""
    out = []
    for para in text.split("\n\n"):
        line = ""
        for word in para.split():
            if line and len(prefix) + len(line) + 1 + len(word) > width:
                out.append(prefix + line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        if line:
            out.append(prefix + line)
        out.append(prefix.rstrip())
    while out and out[-1] == prefix.rstrip():
        out.pop()
    return out


def _one_line(text):
    return " ".join(text.split())


def _c_mask(f):
    if f.width == 1:
        return f"(1u << {f.lsb})"
    return f"({(1 << f.width) - 1:#x}u << {f.lsb})"


def _declared_fields(m):
    """Each register's fields once: arrays declare theirs under the array name."""
    for r in m.registers:
        if r.fields and (r.array is None or r.array[1] == 0):
            yield (r.array[0] if r.array else r.name), r


def gen_header(m):
    L = []
    a = L.append
    a("/* SPDX-License-Identifier: BSD-3-Clause")
    a(" * Copyright (c) 2026 The tally authors")
    a(" *")
    a(f" * Generated from {SRC_NAME} by {GEN_NAME}: do not edit.")
    a(" */")
    a("")
    a("/**")
    a(" * @file")
    a(f" * The {m.name} register map ({m.bus}, {REG_BITS}-bit registers): byte offsets")
    a(" * TALLY_CSR_<NAME>, field masks TALLY_CSR_<REGISTER>_<FIELD> (with _SHIFT),")
    a(" * constants and reset values, and the telemetry counters by index.")
    a(" *")
    L.extend(_wrap(m.description, 80, " * "))
    a(" *")
    a(" * This header only describes the map; it owns no state and performs no")
    a(" * access. docs/csr.md is the same map for people.")
    a(" */")
    a("")
    a("#ifndef TALLY_CSR_H")
    a("#define TALLY_CSR_H")
    a("")
    a(f"/** Byte-address bits the CSR block decodes. */")
    a(f"#define TALLY_CSR_ADDR_W {m.addr_w}")
    a(f"/** Bytes of register space: offsets are below this. */")
    a(f"#define TALLY_CSR_SIZE {1 << m.addr_w:#x}u")
    for r in m.registers:
        if r.counter is not None:
            continue
        if r.array is None or r.array[1] == 0:
            a("")
        if r.array is not None and r.array[1] == 0:
            base, _, count = r.array
            a(f"/** {base}0..{count - 1} ({r.access}): {_one_line(r.description)} */")
            a(f"#define TALLY_CSR_{base}(i) ({r.offset:#04x}u + {REG_BYTES}u * (unsigned)(i))")
            a(f"#define TALLY_CSR_{base}_COUNT {count}")
        extra = f", {r.source}" if r.source else ""
        if r.array is not None:
            a(f"/** {r.name} ({r.access}): word {r.array[1]} of {r.array[0]}. */")
        else:
            a(f"/** {r.name} ({r.access}{extra}): {_one_line(r.description)} */")
        a(f"#define TALLY_CSR_{r.name} {r.offset:#04x}u")
        if r.value is not None:
            a(f"#define TALLY_CSR_{r.name}_VALUE {r.value:#010x}u")
        if r.fields and r.access != "ro":
            a(f"#define TALLY_CSR_{r.name}_RESET {r.reset:#010x}u")
        if r.array is None or r.array[1] == 0:
            base = r.array[0] if r.array else r.name
            for f in r.fields:
                a(f"/** {base}.{f.name} ({f.access}, reset {f.reset}): "
                  f"{_one_line(f.description)} */")
                a(f"#define TALLY_CSR_{base}_{f.name} {_c_mask(f)}")
                a(f"#define TALLY_CSR_{base}_{f.name}_SHIFT {f.lsb}")

    if m.counters:
        a("")
        a("/*")
        L.extend(_wrap(m.cnt_description, 80, " * "))
        a(" */")
        a(f"#define TALLY_CSR_CNT_BASE {m.cnt_base:#04x}u")
        a(f"#define TALLY_CSR_CNT_STRIDE {CNT_STRIDE}u")
        a("/** Offset of the low half of counter @p i (enum tally_csr_counter). */")
        a("#define TALLY_CSR_CNT_LO(i) (TALLY_CSR_CNT_BASE + TALLY_CSR_CNT_STRIDE * (unsigned)(i))")
        a("/** Offset of the high half of counter @p i, latched by a read of its low half. */")
        a(f"#define TALLY_CSR_CNT_HI(i) (TALLY_CSR_CNT_LO(i) + {REG_BYTES}u)")
        for c in m.counters:
            lo = m.cnt_base + CNT_STRIDE * c.index
            a(f"#define TALLY_CSR_{c.name}_LO {lo:#04x}u")
            a(f"#define TALLY_CSR_{c.name}_HI {lo + REG_BYTES:#04x}u")
        a("")
        a("/** The telemetry counters, by index. */")
        a("enum tally_csr_counter {")
        for c in m.counters:
            init = " = 0" if c.index == 0 else ""
            a(f"\tTALLY_CSR_CNT_{c.name}{init}, /**< {_one_line(c.description)} */")
        a("\tTALLY_CSR_CNT_COUNT")
        a("};")
        a("")
        a("/** X(NAME, \"name\", \"description\") for every counter, in index order. */")
        a("#define TALLY_CSR_COUNTERS(X) \\")
        for c in m.counters:
            desc = _one_line(c.description).replace("\\", "\\\\").replace('"', '\\"')
            cont = " \\" if c is not m.counters[-1] else ""
            a(f"\tX({c.name}, \"{c.name.lower()}\", \"{desc}\"){cont}")
        a("")
        a("#if defined(__GNUC__)")
        a("#define TALLY_CSR_MAYBE_UNUSED __attribute__((unused))")
        a("#else")
        a("#define TALLY_CSR_MAYBE_UNUSED")
        a("#endif")
        a("")
        a("/** Counter names for people (lower case), by index. */")
        a("static const char *const tally_csr_counter_names[TALLY_CSR_CNT_COUNT] TALLY_CSR_MAYBE_UNUSED = {")
        for c in m.counters:
            a(f"\t\"{c.name.lower()}\",")
        a("};")
    a("")
    a("#endif /* TALLY_CSR_H */")
    return "\n".join(L) + "\n"


def _sv_addr(m, off):
    return f"{m.addr_w}'h{off:0{(m.addr_w + 3) // 4}x}"


def gen_package(m):
    L = []
    a = L.append
    a("// SPDX-License-Identifier: BSD-3-Clause")
    a("// Copyright (c) 2026 The tally authors")
    a("//")
    a(f"// Generated from {SRC_NAME} by {GEN_NAME}: do not edit.")
    a("")
    a("`resetall")
    a("`timescale 1ns / 1ps")
    a("`default_nettype none")
    a("")
    a("/*")
    a(f" * The {m.name} register map ({m.bus}, {REG_BITS}-bit registers), for")
    a(" * rtl/nic_csr.sv: byte offsets CSR_<NAME>, field positions")
    a(" * CSR_<REGISTER>_<FIELD>_BIT and _W, constants, reset values, and the")
    a(" * telemetry counters' indices CNT_<NAME>.")
    a(" */")
    a("package tally_csr_pkg;")
    a("")
    a("// A catalogue: each module uses only the constants it needs, and Verilator")
    a("// -Wall would flag every other one of them in every module that imports")
    a("// the package. Scoped to this generated file; hand-written RTL gets no such")
    a("// waiver.")
    a("/* verilator lint_off UNUSEDPARAM */")
    a("")
    a("// byte-address bits the CSR block decodes")
    a(f"localparam int CSR_ADDR_W = {m.addr_w};")
    a("// bits per register")
    a(f"localparam int CSR_DATA_W = {REG_BITS};")
    for r in m.registers:
        if r.counter is not None:
            continue
        if r.array is not None and r.array[1] == 0:
            base, _, count = r.array
            a("")
            a(f"// {base}0..{count - 1}: {base}_COUNT words from {base}0")
            a(f"localparam int CSR_{base}_COUNT = {count};")
        extra = f", {r.source}" if r.source else ""
        if r.array is None:
            a("")
        a(f"// {r.name} ({r.access}{extra})")
        a(f"localparam logic [CSR_ADDR_W-1:0] CSR_{r.name} = {_sv_addr(m, r.offset)};")
        if r.value is not None:
            a(f"localparam logic [CSR_DATA_W-1:0] CSR_{r.name}_VALUE = 32'h{r.value:08x};")
        if r.fields and r.access != "ro":
            a(f"localparam logic [CSR_DATA_W-1:0] CSR_{r.name}_RESET = 32'h{r.reset:08x};")
        if r.array is None or r.array[1] == 0:
            base = r.array[0] if r.array else r.name
            for f in r.fields:
                a(f"localparam int CSR_{base}_{f.name}_BIT = {f.lsb};")
                a(f"localparam int CSR_{base}_{f.name}_W = {f.width};")
    if m.counters:
        a("")
        a("// telemetry: 64-bit counters, counter i at CSR_CNT_BASE + CSR_CNT_STRIDE*i")
        a("// (low half), high half 4 bytes above")
        a(f"localparam int N_COUNTERS = {len(m.counters)};")
        a(f"localparam logic [CSR_ADDR_W-1:0] CSR_CNT_BASE = {_sv_addr(m, m.cnt_base)};")
        a(f"localparam int CSR_CNT_STRIDE = {CNT_STRIDE};")
        for c in m.counters:
            lo = m.cnt_base + CNT_STRIDE * c.index
            a(f"localparam int CNT_{c.name} = {c.index};")
            a(f"localparam logic [CSR_ADDR_W-1:0] CSR_{c.name}_LO = {_sv_addr(m, lo)};")
            a(f"localparam logic [CSR_ADDR_W-1:0] CSR_{c.name}_HI = "
              f"{_sv_addr(m, lo + REG_BYTES)};")
    a("")
    a("/* verilator lint_on UNUSEDPARAM */")
    a("")
    a("endpackage")
    a("")
    a("`resetall")
    return "\n".join(L) + "\n"


def _md(text):
    return _one_line(text).replace("|", "\\|")


def gen_doc(m):
    L = []
    a = L.append
    a("<!-- SPDX-License-Identifier: BSD-3-Clause -->")
    a(f"<!-- Generated from {SRC_NAME} by {GEN_NAME}: do not edit. -->")
    a("# Register map")
    a("")
    a(f"The {m.name}'s control and status registers. This page is generated from")
    a(f"`{SRC_NAME}` by `{GEN_NAME}`, as are the C header `tally_csr.h` and the")
    a("SystemVerilog package `tally_csr_pkg`; change the source, then regenerate it")
    a("with `ninja -C build csr-doc` (the `csr-generated` test fails until you do).")
    a("")
    L.extend(_wrap(m.description, 78, ""))
    a("")
    a("In C, `#include \"tally_csr.h\"`: offset `TALLY_CSR_<NAME>`, field mask")
    a("`TALLY_CSR_<REGISTER>_<FIELD>`, counter index `TALLY_CSR_CNT_<NAME>` and")
    a("`TALLY_CSR_CNT_LO(i)` / `TALLY_CSR_CNT_HI(i)`. In SystemVerilog,")
    a("`tally_csr_pkg::CSR_<NAME>`.")
    a("")
    a("## Registers")
    a("")
    a("| offset | name | access | after reset | description |")
    a("| ---: | --- | --- | --- | --- |")
    for r in m.registers:
        if r.counter is not None or (r.array is not None and r.array[1] != 0):
            continue
        if r.array is not None:
            base, _, count = r.array
            last = r.offset + REG_BYTES * (count - 1)
            off, name = f"`{r.offset:#04x}`..`{last:#04x}`", f"`{base}0`..`{base}{count - 1}`"
        else:
            off, name = f"`{r.offset:#04x}`", f"`{r.name}`"
        if r.value is not None:
            reset = f"`{r.value:#010x}`"
        elif r.source:
            reset = r.source
        elif r.fields and r.access == "ro":
            reset = "live"
        elif r.fields:
            reset = f"`{r.reset:#010x}`"
        else:
            reset = "`0x00000000`"
        a(f"| {off} | {name} | {r.access} | {reset} | {_md(r.description)} |")
    if m.counters:
        last = m.cnt_base + CNT_STRIDE * len(m.counters) - 1
        a(f"| `{m.cnt_base:#04x}`..`{last:#04x}` | counters | ro | 0 | "
          "telemetry counters, below |")

    for _, r in _declared_fields(m):
        base = r.array[0] if r.array else r.name
        a("")
        a(f"### `{base}` fields")
        a("")
        a("| bits | field | access | reset | description |")
        a("| --- | --- | --- | ---: | --- |")
        for f in sorted(r.fields, key=lambda f: f.lsb):
            bits = f"{f.lsb}" if f.width == 1 else f"{f.lsb + f.width - 1}:{f.lsb}"
            a(f"| {bits} | `{f.name}` | {f.access} | {f.reset} | {_md(f.description)} |")
        a("")
        a("Other bits read 0." if r.access == "ro" else "Other bits read 0 and ignore writes.")

    if m.counters:
        a("")
        a("## Telemetry counters")
        a("")
        L.extend(_wrap(m.cnt_description, 78, ""))
        a("")
        a("| index | `_LO` | `_HI` | name | description |")
        a("| ---: | ---: | ---: | --- | --- |")
        for c in m.counters:
            lo = m.cnt_base + CNT_STRIDE * c.index
            a(f"| {c.index} | `{lo:#04x}` | `{lo + REG_BYTES:#04x}` | `{c.name}` | "
              f"{_md(c.description)} |")
    return "\n".join(L) + "\n"


def _write(path, text):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", help="the register map (rtl/csr.toml)")
    ap.add_argument("--header", help="write the C header here")
    ap.add_argument("--package", help="write the SystemVerilog package here")
    ap.add_argument("--doc", help="write the Markdown register map here")
    args = ap.parse_args(argv)
    try:
        m = load(args.source)
    except CsrError as e:
        for msg in e.errors:
            print(f"gen_csr.py: error: {msg}", file=sys.stderr)
        return 1
    outputs = [(args.header, gen_header), (args.package, gen_package), (args.doc, gen_doc)]
    texts = [(p, fn(m)) for p, fn in outputs if p]
    for p, t in texts:
        _write(p, t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
