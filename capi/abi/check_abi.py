#!/usr/bin/env python3
"""The C ABI check: loom.h's functions, callback types, structs and constants against the
committed baseline, and the shared library's exported C symbols against the header.

  check_abi.py --header loom.h --baseline loom_abi.txt [--library libloom.so] [--nm nm]
  check_abi.py --header loom.h --baseline loom_abi.txt --update    (a deliberate ABI change)

Removing or changing anything in the baseline fails (an incompatible change: give the new
signature a new name, e.g. loom_x_v2). Additions pass and are listed; --update records them.
With --library, every header function must be exported and no other unmangled symbol may be.
"""
import argparse
import os
import re
import subprocess
import sys

SPACE = re.compile(r"\s+")


def normalize(text):
    text = SPACE.sub(" ", text).strip()
    text = re.sub(r"\s*\*\s*", "* ", text)  # "int64_t *x" / "int64_t* x" -> "int64_t* x"
    text = re.sub(r"\*\s+(?=[*),\]]|$)", "*", text)
    text = re.sub(r"\s*([(),\[\]])\s*", r"\1", text)
    return text.replace(",", ", ")


def split_top(params):
    parts, depth, current = [], 0, ""
    for ch in params:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    if current.strip():
        parts.append(current)
    return parts


def strip_names(params):
    """Parameter types without their names: names are not part of the ABI."""
    out = []
    for p in split_top(params):
        p = p.strip()
        fn = re.match(r"^(.*?)\(\s*\*\s*\w*\s*\)\s*\((.*)\)$", p, re.S)
        if fn:
            out.append(normalize(fn.group(1)) + "(*)(" + strip_names(fn.group(2)) + ")")
            continue
        tokens = re.findall(r"\w+|\*", p)
        if len(tokens) > 1 and tokens[-1] != "*" and tokens[-2] not in ("struct",):
            tokens = tokens[:-1]
        out.append(normalize(" ".join(tokens)))
    return ", ".join(out)


def parse_header(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    entries = {}
    for name, value in re.findall(r"^\s*#define\s+(LOOM_\w+)[ \t]+([^\n]+)$", text, re.M):
        if name not in ("LOOM_CAPI",):
            entries["constant " + name] = normalize(value)
    body = " ".join(line for line in text.splitlines() if not line.strip().startswith("#"))
    for ret, name, params in re.findall(r"LOOM_CAPI\s+([^;{}]*?)\b(loom_\w+)\s*\(([^;]*)\)\s*;", body):
        entries["function " + name] = normalize(ret) + " (" + strip_names(params) + ")"
    for ret, name, params in re.findall(r"typedef\s+([^;{}()]*?)\(\s*\*\s*(loom_\w+)\s*\)\s*\(([^;]*)\)\s*;", body):
        entries["callback " + name] = normalize(ret) + " (*)(" + strip_names(params) + ")"
    for ty, name in re.findall(r"typedef\s+(\w+)\s+(loom_\w+)\s*;", body):
        entries["typedef " + name] = ty
    for name, fields in re.findall(r"typedef\s+struct\s+(loom_\w+)\s*\{([^}]*)\}", body):
        entries["struct " + name] = "{" + "; ".join(normalize(f) for f in fields.split(";") if f.strip()) + "}"
    return entries


def read_baseline(path):
    entries = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                key, _, value = line.partition(" = ")
                entries[key] = value
    return entries


def write_baseline(path, entries):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("# loom C ABI baseline, written by capi/abi/check_abi.py --update. Entries are only ever added;\n"
                "# a changed signature gets a new name (loom_x_v2).\n")
        for key in sorted(entries):
            f.write(f"{key} = {entries[key]}\n")
    os.replace(path + ".tmp", path)


def exported_c_symbols(library, nm):
    out = subprocess.run([nm, "-D", "--defined-only", library], check=True, capture_output=True, text=True).stdout
    symbols = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWiDdBbRrVv" and not parts[2].startswith("_Z"):
            symbols.add(parts[2].split("@")[0])
    # Toolchain symbols every shared object carries.
    return {s for s in symbols if not s.startswith("_") and s not in ("__bss_start", "_edata", "_end", "_init", "_fini")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--header", required=True)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--library")
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()

    current = parse_header(args.header)
    if args.update:
        write_baseline(args.baseline, current)
        print(f"baseline {args.baseline}: {len(current)} entries")
        return 0

    baseline = read_baseline(args.baseline)
    problems = []
    for key, value in sorted(baseline.items()):
        if key not in current:
            problems.append(f"removed: {key} (was: {value})")
        elif current[key] != value:
            problems.append(f"changed: {key}\n    baseline: {value}\n    header:   {current[key]}")
    added = sorted(set(current) - set(baseline))
    for key in added:
        print(f"added (compatible; record with --update): {key} = {current[key]}")

    if args.library:
        exported = exported_c_symbols(args.library, args.nm)
        functions = {k.split(" ", 1)[1] for k in current if k.startswith("function ")}
        for name in sorted(functions - exported):
            problems.append(f"declared in {args.header} but not exported by {args.library}: {name}")
        for name in sorted(exported - functions):
            problems.append(f"exported C symbol outside the ABI (not in the header): {name}")

    if problems:
        print("C ABI check FAILED (an incompatible change; if deliberate, bump LOOM_ABI_VERSION and run --update):")
        for p in problems:
            print("  " + p)
        return 1
    print(f"C ABI check passed: {len(baseline)} baseline entries unchanged, {len(added)} added")
    return 0


if __name__ == "__main__":
    sys.exit(main())
