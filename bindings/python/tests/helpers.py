"""Shared by the test files: input kinds, comparisons, unraisable-exception capture."""
import contextlib
import shutil
import sys
import tempfile

import loom

try:
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

KINDS = ("tensor", "numpy", "list")


def as_kind(value, kind, dtype="float32"):
    """`value` (nested lists) as a loom Tensor, a NumPy array, a list or (for one value) a scalar."""
    if kind == "tensor":
        return loom.tensor(value, dtype)
    if kind == "numpy":
        return np.array(value, dtype=dtype)
    if kind == "list":
        return value
    if kind == "scalar":
        while isinstance(value, list):
            value = value[0]
        return value
    raise ValueError(kind)


def values(x):
    """Nested lists of any result (Tensor, array, number)."""
    if isinstance(x, loom.Tensor):
        return x.tolist()
    if np is not None and isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (list, tuple)):
        return [values(v) for v in x]
    return x


@contextlib.contextmanager
def unraisable():
    """Collects exceptions Python could not raise (in __del__, say)."""
    seen = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda info: seen.append(info)
    try:
        yield seen
    finally:
        sys.unraisablehook = previous


def scratch(test):
    """A temporary folder removed when `test` ends."""
    folder = tempfile.mkdtemp(prefix="loom-test-")
    test.addCleanup(shutil.rmtree, folder, True)
    return folder
