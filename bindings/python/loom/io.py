"""Files: NumPy .npy, safetensors (any tool's; named tensors plus string metadata) and IDX
(MNIST's format, plain or gzipped)."""
import ctypes

from . import _core, _ffi
from ._api import load_npy, save_npy
from ._core import Tensor, _wrap
from ._ffi import F, check

__all__ = ["load_npy", "save_npy", "load_safetensors", "save_safetensors", "SafetensorsFile", "load_idx", "save_idx"]


class SafetensorsFile(dict):
    """The tensors of a safetensors file by name (a dict), with its string ``metadata``."""

    def __init__(self, tensors=(), metadata=None):
        super().__init__(tensors)
        self.metadata = dict(metadata or {})

    def __repr__(self):
        return f"SafetensorsFile({sorted(self)}, metadata={self.metadata!r})"


def load_safetensors(path):
    """A safetensors file's tensors ({name: Tensor}) with ``.metadata`` ({key: value})."""
    where = "loom.io.load_safetensors"
    h = ctypes.c_void_p()
    check(F.loom_safetensors_load(_core._path(path, where), ctypes.byref(h)), where)
    try:
        count = ctypes.c_int32()
        check(F.loom_named_tensors_count(h, ctypes.byref(count)), where)
        out = SafetensorsFile()
        for i in range(count.value):
            name = _ffi.read_string(F.loom_named_tensors_name, h, i, where=where)
            t = ctypes.c_void_p()
            check(F.loom_named_tensors_get(h, name.encode(), ctypes.byref(t)), where)
            out[name] = _wrap(t)
        check(F.loom_named_tensors_metadata_count(h, ctypes.byref(count)), where)
        for i in range(count.value):
            key = _ffi.read_string(F.loom_named_tensors_metadata_key, h, i, where=where)
            out.metadata[key] = _ffi.read_sized_string(F.loom_named_tensors_metadata_get, h, key.encode(), where=where)
        return out
    finally:
        F.loom_named_tensors_release(h)


def save_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor or array} (and {key: str} metadata) as a safetensors file, atomically."""
    where = "loom.io.save_safetensors"
    if not isinstance(tensors, dict):
        raise TypeError(f"{where}: tensors must be a dict of name -> tensor, got {type(tensors).__name__}")
    if metadata is None:
        metadata = getattr(tensors, "metadata", None) or {}
    if not isinstance(metadata, dict):
        raise TypeError(f"{where}: metadata must be a dict of str -> str, got {type(metadata).__name__}")
    h = ctypes.c_void_p()
    check(F.loom_named_tensors_new(ctypes.byref(h)), where)
    try:
        for name, value in tensors.items():
            if not isinstance(name, str):
                raise TypeError(f"{where}: tensor names must be strings, got {type(name).__name__}")
            t = _core.tensor(value, None, where, f"tensors[{name!r}]")
            check(F.loom_named_tensors_set(h, name.encode(), t._h), where)
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"{where}: metadata keys and values must be strings, got {key!r}: {value!r}")
            check(F.loom_named_tensors_metadata_set(h, key.encode(), value.encode()), where)
        check(F.loom_safetensors_save(_core._path(path, where), h), where)
    finally:
        F.loom_named_tensors_release(h)


def load_idx(path):
    """A tensor from an IDX file (optionally gzipped)."""
    where = "loom.io.load_idx"
    out = ctypes.c_void_p()
    check(F.loom_idx_load(_core._path(path, where), ctypes.byref(out)), where)
    return _wrap(out)


def save_idx(path, x):
    """Writes an IDX file (gzipped when the path ends in .gz): uint8, int32, float32 or float64."""
    where = "loom.io.save_idx"
    t = x if isinstance(x, Tensor) else _core.tensor(x, None, where, "x")
    if not isinstance(x, Tensor) and not (_core.np is not None and isinstance(x, _core.np.ndarray)) and \
            t.dtype == "int64":
        t = _core.tensor(x, "int32", where, "x")  # Python ints: IDX's int32
    check(F.loom_idx_save(_core._path(path, where), t._h), where)
