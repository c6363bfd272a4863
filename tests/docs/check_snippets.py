#!/usr/bin/env python3
"""Compiles and runs every code snippet of a Markdown page, as a reader would.

Every fenced block tagged `c`, `cpp` or `python` is a whole program. It is written to app.c,
app.cpp or app.py in a scratch folder and built and run with the page's own command for it: the
line of a `sh` block that names that file (for pages without one, README.md's). The command runs
verbatim under bash with PREFIX set to a fresh `cmake --install` of this build, and with the
scratch folder holding links to the repository's `bindings/` and a small Fashion-MNIST-shaped
data set in `data/fashion-mnist/` (random images, plain IDX files), so that snippets that load
it run in seconds.

Every link and every repository path the page names in backticks (`src/...`, `docs/...`, ...)
must exist in the repository.

A `text` block right after a program (only blank lines between) is its expected output: each
line must match a line of the program's output, in order; "..." in a line matches any text, and
a line that is only "..." matches any number of lines.

Usage: check_snippets.py --source-dir DIR --build-dir DIR PAGE.md [PAGE.md ...]
"""
import argparse
import glob
import gzip
import os
import random
import re
import struct
import subprocess
import sys
import tempfile

FILES = {"c": "app.c", "cpp": "app.cpp", "python": "app.py"}
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


def blocks(markdown):
    """(language, code, expected output or None, line number) of each program block."""
    found = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(markdown)]
    for i, (lang, code, start, end) in enumerate(found):
        if lang not in FILES:
            continue
        expected = None
        if i + 1 < len(found) and found[i + 1][0] == "text" and not markdown[end:found[i + 1][2]].strip():
            expected = found[i + 1][1]
        yield lang, code, expected, markdown.count("\n", 0, start) + 1


def commands(markdown):
    """The shell line that builds/runs each kind of program, from the page's sh blocks."""
    result = {}
    for lang, code, _, _ in ((m.group(1), m.group(2), 0, 0) for m in FENCE.finditer(markdown)):
        if lang != "sh":
            continue
        for line in code.splitlines():
            for kind, name in FILES.items():
                if re.search(r"(^|\s)" + re.escape(name) + r"(\s|$)", line):
                    result.setdefault(kind, line.split(" #")[0].strip())
    return result


REPO_PATH = re.compile(r"`((?:\.\./|\.ci/|src/|include/|capi/|docs/|tests/|bench/|examples/|scripts/|bindings/|cuda/|cmake/)[^`\s]*)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def missing_paths(page, text, source_dir):
    """Links and backticked repository paths that name nothing in the repository."""
    missing = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:|#", target):
            continue
        path = os.path.normpath(os.path.join(os.path.dirname(page), target.split("#")[0]))
        if not os.path.exists(path) or not path.startswith(os.path.abspath(source_dir)):
            missing.append(target)
    for target in REPO_PATH.findall(text):
        path = os.path.join(source_dir, target)
        if target.startswith("../") or not glob.glob(path.split("{")[0].rstrip("/") or path):
            missing.append(target)
    return missing


def matches(expected, output):
    """Doctest-like: expected lines in order, '...' wildcards within and between lines."""
    want = [line.rstrip() for line in expected.strip("\n").splitlines()]
    got = [line.rstrip() for line in output.splitlines()]

    def line_ok(pattern, line):
        return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("...")), line) is not None

    def from_here(w, g):
        if w == len(want):
            return g == len(got)
        if want[w] == "...":
            return any(from_here(w + 1, k) for k in range(g, len(got) + 1))
        return g < len(got) and line_ok(want[w], got[g]) and from_here(w + 1, g + 1)

    return from_here(0, 0)


def write_idx(path, payload, dims):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + payload)


def make_small_fashion_mnist(folder):
    """600 training and 100 test images: class k is bright in image row band k (learnable)."""
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(7)
    for name, n in (("train", 600), ("t10k", 100)):
        labels = [i % 10 for i in range(n)]
        rng.shuffle(labels)
        images = bytearray()
        for label in labels:
            for row in range(28):
                band = row // 3 == label
                images += bytes(rng.randrange(160, 256) if band else rng.randrange(0, 60) for _ in range(28))
        write_idx(os.path.join(folder, f"{name}-images-idx3-ubyte"), bytes(images), [n, 28, 28])
        with gzip.open(os.path.join(folder, f"{name}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(labels))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("pages", nargs="+")
    args = parser.parse_args()
    readme_commands = commands(open(os.path.join(args.source_dir, "README.md"), encoding="utf-8").read())

    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "prefix")
        subprocess.run(["cmake", "--install", args.build_dir, "--prefix", prefix], check=True, stdout=subprocess.DEVNULL)
        for page in args.pages:
            text = open(page, encoding="utf-8").read()
            page_commands = {**readme_commands, **commands(text)}
            for target in missing_paths(os.path.abspath(page), text, args.source_dir):
                print(f"FAIL {os.path.relpath(page, args.source_dir)}: names {target}, which is not in the repository")
                failures += 1
            programs = list(blocks(text))
            if not programs:
                print(f"{page}: no program blocks")
                failures += 1
            for n, (lang, code, expected, line) in enumerate(programs):
                where = f"{os.path.relpath(page, args.source_dir)}:{line} ({lang})"
                if lang not in page_commands:
                    print(f"FAIL {where}: no sh line names {FILES[lang]}, so a reader cannot build it")
                    failures += 1
                    continue
                scratch = os.path.join(tmp, f"{os.path.basename(page)}-{n}")
                os.makedirs(scratch)
                os.symlink(os.path.join(args.source_dir, "bindings"), os.path.join(scratch, "bindings"))
                make_small_fashion_mnist(os.path.join(scratch, "data", "fashion-mnist"))
                with open(os.path.join(scratch, FILES[lang]), "w", encoding="utf-8") as f:
                    f.write(code)
                env = dict(os.environ, PREFIX=prefix, OMP_NUM_THREADS="2")
                env.pop("LOOM_LIBRARY", None)
                run = subprocess.run(["bash", "-c", "set -e; " + page_commands[lang]], cwd=scratch, env=env,
                                     capture_output=True, text=True, timeout=600)
                if run.returncode != 0:
                    print(f"FAIL {where}: `{page_commands[lang]}` exited with {run.returncode}\n{run.stdout}{run.stderr}")
                    failures += 1
                elif expected is not None and not matches(expected, run.stdout):
                    print(f"FAIL {where}: the output differs from the page's\n--- page\n{expected}--- program\n{run.stdout}")
                    failures += 1
                else:
                    print(f"ok   {where}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
