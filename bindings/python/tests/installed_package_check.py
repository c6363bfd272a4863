#!/usr/bin/env python3
"""The ctest entry python_installed_package: installs a build into a temporary prefix with
`cmake --install BUILD --prefix TMP`, then imports loom from that prefix with a clean environment
(no LOOM_LIBRARY, no PYTHONPATH, not from the source tree: `python3 -I` and a working directory
outside it) and runs a tiny check. The installed package must find the installed libloom by itself.

    installed_package_check.py --build-dir BUILD [--cmake cmake] [--python /usr/bin/python3]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

CHECK = r"""
import os, sys
sys.path.insert(0, {site!r})
import loom
prefix = os.path.realpath({prefix!r})
assert os.path.realpath(loom.__file__).startswith(prefix), "imported " + loom.__file__
assert os.path.realpath(loom.library_path).startswith(prefix), "loaded " + loom.library_path
x = loom.tensor([1.0, 2.0, 3.0])
with loom.GradientTape() as tape:
    tape.watch(x)
    y = loom.reduce_sum(x * x)
assert tape.gradient(y, x).tolist() == [2.0, 4.0, 6.0]
assert "conv2d" in loom.ops.names()
model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
assert model(loom.tensor([[1.0, 2.0, 3.0]])).shape == (1, 2)
print("installed loom", loom.__version__, "from", loom.__file__, "with", loom.library_path)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--cmake", default="cmake")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="loom-python-install-") as tmp:
        prefix = os.path.join(tmp, "prefix")
        install = subprocess.run([args.cmake, "--install", args.build_dir, "--prefix", prefix], capture_output=True,
                                 text=True)
        if install.returncode != 0:
            print(f"FAIL: cmake --install exited with {install.returncode}\n{install.stdout}{install.stderr}")
            return 1
        found = glob.glob(os.path.join(prefix, "lib*", "python3*", "*-packages", "loom", "__init__.py"))
        if len(found) != 1:
            print(f"FAIL: expected one installed loom package under {prefix}/lib*/python3*/*-packages, found {found}")
            return 1
        site = os.path.dirname(os.path.dirname(found[0]))
        if not os.path.exists(os.path.join(site, "loom", "_install_paths.py")):
            print("FAIL: the installed package has no _install_paths.py (the library's folder)")
            return 1
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "LANG": "C.UTF-8"}
        run = subprocess.run([args.python, "-I", "-c", CHECK.format(site=site, prefix=prefix)], cwd=tmp, env=env,
                             capture_output=True, text=True)
        sys.stdout.write(run.stdout)
        if run.returncode != 0:
            print(f"FAIL: importing the installed package exited with {run.returncode}\n{run.stderr}")
            return 1
        print(f"ok: the package in {site} found its library with a clean environment")
        return 0


if __name__ == "__main__":
    sys.exit(main())
