"""MNIST-format directories through loom_mnist_load."""
import ctypes
import os

from .. import _core
from .._core import _wrap, np
from .._ffi import F, check


def load(path, default_dir, env, where):
    folder = path if path is not None else os.environ.get(env, default_dir)
    handles = [ctypes.c_void_p() for _ in range(4)]
    check(F.loom_mnist_load(_core._path(folder, where), *[ctypes.byref(h) for h in handles]), where)
    tensors = [_wrap(h) for h in handles]
    values = [t.numpy() for t in tensors] if np is not None else tensors
    return (values[0], values[1]), (values[2], values[3])
