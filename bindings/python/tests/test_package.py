"""The package itself: every C entry point declared, finding the library, errors by status,
devices and settings, threads, packaging metadata."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

import numpy as np

import loom
from loom import _ffi
from helpers import scratch

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(loom.__file__)))
REPO = os.path.normpath(os.path.join(PACKAGE_PARENT, "..", ".."))
HEADER = os.path.join(REPO, "capi", "include", "loom", "loom.h")


def run_python(code, env_changes, cwd=None):
    env = {k: v for k, v in os.environ.items() if k not in ("LOOM_LIBRARY", "PYTHONPATH")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=cwd or tempfile.gettempdir())


class FfiTest(unittest.TestCase):
    @unittest.skipUnless(os.path.exists(HEADER), "loom.h is not next to this package (an installed copy)")
    def test_every_function_of_loom_h_is_declared(self):
        with open(HEADER, encoding="utf-8") as f:
            text = re.sub(r"/\*.*?\*/|//[^\n]*", "", f.read(), flags=re.S)
        names = set(re.findall(r"LOOM_CAPI\s+[^;{]*?\b(loom_\w+)\s*\(", text))
        self.assertGreater(len(names), 150)
        self.assertEqual(sorted(names - set(_ffi.SIGNATURES)), [])
        self.assertEqual(sorted(set(_ffi.SIGNATURES) - names), [])
        self.assertEqual(_ffi.MISSING, [])
        self.assertEqual(_ffi.lib.loom_abi_version(), _ffi.ABI_VERSION)
        for struct_name, fields in (("loom_device_info", _ffi.DeviceInfo), ("loom_layer_type", _ffi.LayerType),
                                    ("loom_fit_callbacks", _ffi.FitCallbacks)):
            body = re.search(r"typedef struct %s \{(.*?)\} %s;" % (struct_name, struct_name), text, re.S).group(1)
            declared = re.findall(r"(\w+)(?:\[\d+\])?;|\(\*(\w+)\)\(", body)
            names_in_c = [a or b for a, b in declared]
            self.assertEqual(names_in_c, [f[0] for f in fields._fields_], struct_name)

    def test_version_and_library_path(self):
        self.assertRegex(loom.__version__, r"^\d+\.\d+\.\d+$")
        self.assertEqual(loom.version(), loom.__version__)
        self.assertTrue(os.path.exists(loom.library_path))

    def test_errors_by_status(self):
        expected = {1: loom.InvalidArgumentError, 2: loom.ShapeError, 3: loom.DTypeError, 4: loom.DeviceError,
                    5: loom.OutOfMemoryError, 6: loom.LoomIOError, 7: loom.NotFoundError, 8: loom.UnimplementedError,
                    9: loom.InternalError, 10: loom.AbiMismatchError, 11: loom.CallbackError}
        for status, cls in expected.items():
            self.assertIs(_ffi.ERROR_CLASSES[status], cls)
            self.assertTrue(issubclass(cls, loom.LoomError))
            e = cls(status, "text")
            self.assertEqual((e.status, e.status_name, str(e)), (status, _ffi.STATUS_NAMES[status], "text"))
        self.assertTrue(issubclass(loom.ShapeError, ValueError))
        self.assertTrue(issubclass(loom.DTypeError, TypeError))
        self.assertTrue(issubclass(loom.LoomIOError, OSError))
        self.assertTrue(issubclass(loom.NotFoundError, LookupError))
        with self.assertRaises(loom.DeviceError) as e:
            loom.ones([2]).to("GPU:9")
        self.assertEqual(e.exception.status_name, "DEVICE")
        self.assertIn("loom.Tensor.to", str(e.exception))

    def test_finding_the_library(self):
        library = loom.library_path
        probe = "import loom; print(loom.library_path)"
        found = run_python(probe, {"LOOM_LIBRARY": library, "PYTHONPATH": PACKAGE_PARENT})
        self.assertEqual(found.returncode, 0, found.stderr)
        self.assertEqual(found.stdout.strip(), library)
        missing = run_python(probe, {"LOOM_LIBRARY": "/nonexistent/libloom.so", "PYTHONPATH": PACKAGE_PARENT})
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("LOOM_LIBRARY", missing.stderr)
        self.assertNotIn("RecursionError", missing.stderr)
        # an installed copy: the path recorded at install time, then the prefix's lib folder
        prefix = scratch(self)
        site = os.path.join(prefix, "lib", "python3", "dist-packages")
        shutil.copytree(os.path.join(PACKAGE_PARENT, "loom"), os.path.join(site, "loom"),
                        ignore=shutil.ignore_patterns("__pycache__", "_install_paths.py"))
        with open(os.path.join(site, "loom", "_install_paths.py"), "w") as f:
            f.write(f"LIBRARY_DIR = {os.path.dirname(library)!r}\n")
        recorded = run_python(probe, {"PYTHONPATH": site})
        self.assertEqual(recorded.returncode, 0, recorded.stderr)
        self.assertEqual(os.path.dirname(recorded.stdout.strip()), os.path.dirname(library))
        os.remove(os.path.join(site, "loom", "_install_paths.py"))
        shutil.copy(library, os.path.join(prefix, "lib", "libloom.so"))
        beside = run_python(probe, {"PYTHONPATH": site})
        self.assertEqual(beside.returncode, 0, beside.stderr)
        self.assertEqual(beside.stdout.strip(), os.path.join(prefix, "lib", "libloom.so"))

    def test_pyproject_metadata(self):
        path = os.path.join(PACKAGE_PARENT, "pyproject.toml")
        if not os.path.exists(path):
            self.skipTest("no pyproject.toml beside the package (an installed copy)")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn('name = "loom"', text)
        self.assertIn(f'version = "{loom.__version__}"', text)
        self.assertIn("setuptools", text)


class ConfigTest(unittest.TestCase):
    def test_devices(self):
        cpus = loom.config.list_physical_devices("CPU")
        self.assertEqual(cpus[0].name, "CPU:0")
        self.assertEqual(cpus[0].device_type, "CPU")
        self.assertIsInstance(cpus[0].total_memory, int)
        self.assertIsInstance(cpus[0].description, str)
        self.assertEqual(cpus[0].compute_capability, (0, 0))
        everything = loom.config.list_physical_devices()
        self.assertEqual(len(everything), len(cpus) + len(loom.config.list_physical_devices("GPU")))
        self.assertEqual(loom.config.get_device("CPU:0"), cpus[0])
        with self.assertRaises(loom.DeviceError):
            loom.config.get_device("TPU:0")
        with loom.device("CPU:0"):
            with loom.device(cpus[0]):
                self.assertEqual(loom.ones([2]).device, "CPU:0")

        @loom.device("CPU:0")
        def make():
            return loom.zeros([1])

        self.assertEqual(make().device, "CPU:0")
        with self.assertRaises(loom.DeviceError):
            with loom.device("GPU:99"):
                pass
        with self.assertRaises(TypeError):
            loom.device(0)

    def test_memory_and_settings(self):
        stats = loom.config.memory_stats("CPU:0")
        self.assertEqual(sorted(stats), ["cached_bytes", "live_bytes", "peak_bytes"])
        big = loom.zeros([1000, 1000])
        self.assertGreaterEqual(loom.config.memory_stats()["live_bytes"], stats["live_bytes"] + 4_000_000 - 1)
        del big
        info = loom.config.get_memory_info("CPU:0")
        self.assertGreaterEqual(info["peak"], info["current"])
        loom.config.synchronize("CPU:0")
        loom.config.set_float32_matmul_precision("high")
        loom.config.set_float32_matmul_precision("highest")
        with self.assertRaises(loom.LoomError):
            loom.config.set_float32_matmul_precision("medium-rare")
        loom.config.set_cudnn_enabled(True)
        threads = loom.get_num_threads()
        loom.set_num_threads(1)
        self.assertEqual(loom.config.get_num_threads(), 1)
        loom.config.set_num_threads(threads)
        with self.assertRaises(loom.InvalidArgumentError):
            loom.set_num_threads(0)
        with self.assertRaises(TypeError):
            loom.config.set_memory_limit("CPU:0", "1GB")
        try:
            loom.config.set_memory_limit("CPU:0", 0)
        except loom.LoomError:
            pass  # a device may refuse limits; the call itself is what is checked
        loom.set_seed(0)
        with self.assertRaises(TypeError):
            loom.set_seed(-1)

    @unittest.skipUnless(loom.config.list_physical_devices("GPU"), "no GPU")
    def test_gpu(self):
        x = loom.tensor([[1.0, 2.0]]).to("GPU:0")
        self.assertEqual(x.device, "GPU:0")
        with loom.device("GPU:0"):
            y = loom.exp(np.zeros((2, 2), np.float32))
            self.assertEqual(y.device, "GPU:0")
            model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(2)])
            model.compile("sgd", "mse")
            model.fit(np.ones((8, 2), np.float32), np.ones((8, 2), np.float32), epochs=1, verbose=0)
        np.testing.assert_allclose(y.numpy(), np.ones((2, 2)))
        self.assertGreater(loom.config.memory_stats("GPU:0")["peak_bytes"], 0)


class ThreadTest(unittest.TestCase):
    def test_threads_and_callback_errors_per_thread(self):
        results, errors = [], []

        class Fails(loom.layers.Layer):
            def call(self, x):
                raise ValueError(threading.current_thread().name)

        def work(i):
            try:
                results.append(loom.reduce_sum(np.full((10,), float(i), np.float32)).item())
                try:
                    Fails()(np.ones((1, 1), np.float32))
                except ValueError as e:
                    errors.append(str(e) == threading.current_thread().name)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,), name=f"worker{i}") for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [0.0, 10.0, 20.0, 30.0])
        self.assertEqual(errors, [True] * 4)


if __name__ == "__main__":
    unittest.main()
