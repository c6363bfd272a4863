#!/usr/bin/env python3
"""The layer checker finds an upward include, a public header that includes a private one, and
the CUDA and communicator plugins reaching into src/; and it passes a tree without them."""
import os
import subprocess
import sys
import tempfile
import unittest

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_layers.py")


def check(files):
    with tempfile.TemporaryDirectory() as root:
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
            with open(os.path.join(root, path), "w") as f:
                f.write(text)
        run = subprocess.run([sys.executable, CHECKER, root], capture_output=True, text=True)
        return run.returncode, run.stdout


BASE = {
    "include/loom/tensor.hpp": "#pragma once\n",
    "include/loom/ops.hpp": '#include "loom/tensor.hpp"\n',
    "include/loom/nn/model.hpp": '#include "loom/ops.hpp"\n',
    "src/core/tensor.cpp": '#include "loom/tensor.hpp"\n',
    "src/ops/registry.hpp": '#include "loom/ops.hpp"\n',
    "src/nn/model.cpp": '#include "loom/nn/model.hpp"\n#include "ops/registry.hpp"\n',
    "cuda/kernels.cu": '#include "loom/ops.hpp"\n',
}


class CheckLayersTest(unittest.TestCase):
    def test_a_clean_tree_passes(self):
        code, out = check(BASE)
        self.assertEqual(code, 0, out)

    def test_core_including_ops_fails(self):
        code, out = check({**BASE, "src/core/tensor.cpp": '#include "ops/registry.hpp"\n'})
        self.assertEqual(code, 1)
        self.assertIn("src/core/tensor.cpp: includes ops/registry.hpp (ops, a layer above core)", out)

    def test_a_public_header_including_a_private_one_fails(self):
        code, out = check({**BASE, "include/loom/ops.hpp": '#include "ops/registry.hpp"\n'})
        self.assertEqual(code, 1)
        self.assertIn("a public header includes the private ops/registry.hpp", out)

    def test_the_cuda_plugin_using_private_headers_fails(self):
        code, out = check({**BASE, "cuda/kernels.cu": '#include "ops/registry.hpp"\n'})
        self.assertEqual(code, 1)
        self.assertIn("cuda uses only public headers", out)

    def test_a_communicator_plugin_using_private_headers_fails(self):
        code, out = check({**BASE, "src/dist/context.hpp": '#include "loom/tensor.hpp"\n',
                           "comm/mpi/mpi_communicator.cpp": '#include "dist/context.hpp"\n'})
        self.assertEqual(code, 1)
        self.assertIn("comm uses only public headers", out)

    def test_dist_below_nn_passes_and_above_fails(self):
        files = {**BASE, "include/loom/dist.hpp": '#include "loom/tensor.hpp"\n',
                 "src/nn/model.cpp": '#include "loom/nn/model.hpp"\n#include "loom/dist.hpp"\n'}
        self.assertEqual(check(files)[0], 0)
        code, out = check({**files, "src/dist/buckets.cpp": '#include "loom/nn/model.hpp"\n'})
        self.assertEqual(code, 1)
        self.assertIn("(nn, a layer above dist)", out)


if __name__ == "__main__":
    unittest.main()
