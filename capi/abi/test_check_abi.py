"""The ABI checker catches incompatible header changes and accepts additions."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "..", "include", "loom", "loom.h")
BASELINE = os.path.join(HERE, "loom_abi.txt")


def check(header_text):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "loom.h")
        with open(path, "w", encoding="utf-8") as f:
            f.write(header_text)
        run = subprocess.run([sys.executable, os.path.join(HERE, "check_abi.py"), "--header", path, "--baseline", BASELINE],
                             capture_output=True, text=True)
        return run.returncode, run.stdout


class CheckAbiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(HEADER, encoding="utf-8") as f:
            cls.header = f.read()

    def mutated(self, old, new):
        self.assertIn(old, self.header)
        return self.header.replace(old, new, 1)

    def test_the_committed_header_matches(self):
        code, out = check(self.header)
        self.assertEqual(code, 0, out)

    def test_a_changed_parameter_type_fails(self):
        code, out = check(self.mutated("loom_tensor_item(const loom_tensor* tensor, double* out)",
                                       "loom_tensor_item(const loom_tensor* tensor, float* out)"))
        self.assertEqual(code, 1)
        self.assertIn("changed: function loom_tensor_item", out)

    def test_a_removed_function_fails(self):
        code, out = check(self.mutated("LOOM_CAPI loom_status loom_exp(const loom_tensor* x, loom_tensor** out);", ""))
        self.assertEqual(code, 1)
        self.assertIn("removed: function loom_exp", out)

    def test_a_renumbered_constant_fails(self):
        code, out = check(self.mutated("#define LOOM_BF16 7", "#define LOOM_BF16 8"))
        self.assertEqual(code, 1)
        self.assertIn("changed: constant LOOM_BF16", out)

    def test_a_reordered_struct_fails(self):
        total = re.search(r"  int64_t total_memory;[^\n]*\n", self.header).group(0)
        free = re.search(r"  int64_t free_memory;[^\n]*\n", self.header).group(0)
        code, out = check(self.mutated(total + free, free + total))
        self.assertEqual(code, 1)
        self.assertIn("changed: struct loom_device_info", out)

    def test_renamed_parameters_and_spacing_pass(self):
        code, out = check(self.mutated("loom_tensor_item(const loom_tensor* tensor, double* out)",
                                       "loom_tensor_item(const loom_tensor *t,   double *value)"))
        self.assertEqual(code, 0, out)

    def test_an_added_function_passes_and_is_listed(self):
        code, out = check(self.mutated("#ifdef __cplusplus\n}", "LOOM_CAPI loom_status loom_tensor_new_thing(int32_t x);\n#ifdef __cplusplus\n}"))
        self.assertEqual(code, 0, out)
        self.assertIn("added (compatible; record with --update): function loom_tensor_new_thing", out)


if __name__ == "__main__":
    unittest.main()
