#!/usr/bin/env python3
"""Writes .npy files with NumPy for tests/test_npy.cpp: run with Debian's python3.

Each array holds arange(n) in its dtype (bool: arange(n) % 2 == 1) reshaped; loom must load
them, and its own save_npy of the same tensor must produce the identical bytes.
"""
import os

import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npy")
os.makedirs(out, exist_ok=True)


def pattern(shape, dtype):
    n = int(np.prod(shape)) if shape else 1
    a = np.arange(n)
    a = (a % 2 == 1) if dtype == "bool" else a.astype(dtype)
    return a.reshape(shape)


for dtype in ("float32", "float64", "int32", "int64", "bool", "uint8", "float16"):
    np.save(os.path.join(out, f"{dtype}_2x3.npy"), pattern((2, 3), dtype))
np.save(os.path.join(out, "float32_scalar.npy"), pattern((), "float32"))
np.save(os.path.join(out, "float32_empty.npy"), pattern((0, 4), "float32"))
np.save(os.path.join(out, "int64_vector.npy"), pattern((5,), "int64"))
np.save(os.path.join(out, "float64_fortran.npy"), np.asfortranarray(pattern((3, 4), "float64")))
np.save(os.path.join(out, "int32_bigendian.npy"), pattern((2, 3), ">i4"))
np.save(os.path.join(out, "complex64.npy"), np.zeros(2, np.complex64))
print("wrote", sorted(os.listdir(out)))
