#!/usr/bin/env python3
"""Runs one of examples/python/*.py with --quick on a small synthetic Fashion-MNIST folder (the
ctest entries python_example_*): run_example.py EXAMPLE.py [extra arguments]."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_data import make_small_fashion_mnist  # noqa: E402


def main():
    if len(sys.argv) < 2:
        print("usage: run_example.py EXAMPLE.py [arguments]", file=sys.stderr)
        return 2
    example = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        data = make_small_fashion_mnist(os.path.join(tmp, "fashion-mnist"))
        command = [sys.executable, example, "--quick", "--data", data] + sys.argv[2:]
        print(" ".join(command), flush=True)
        return subprocess.run(command, cwd=tmp).returncode


if __name__ == "__main__":
    sys.exit(main())
