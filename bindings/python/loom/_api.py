"""Top-level functions: creation, the generic op call, and TensorFlow-style conveniences over
the generated ops (reshape(x, shape), reduce_sum(x, axis), concat(values, axis), ...)."""
import ctypes

from . import _core, _ffi
from ._core import Tensor, _wrap, dtype_code, np
from ._ffi import F, check

_byref = ctypes.byref
_c_void_p = ctypes.c_void_p


def version():
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return F.loom_version_string().decode()


def set_seed(seed):
    """Reseeds the global generator behind unseeded random calls (and layers' initializers)."""
    if not _core._is_int(seed) or seed < 0:
        raise TypeError(f"loom.set_seed: seed must be a non-negative int, got {seed!r}")
    check(F.loom_set_seed(int(seed)), "loom.set_seed")


def set_num_threads(n):
    """The CPU thread budget."""
    if not _core._is_int(n):
        raise TypeError(f"loom.set_num_threads: n must be an int, got {type(n).__name__}")
    check(F.loom_set_num_threads(int(n)), "loom.set_num_threads")


def get_num_threads():
    return F.loom_get_num_threads()


def convert_to_tensor(value, dtype=None):
    """``loom.tensor``: a tensor from a Tensor, NumPy array, number or nested lists."""
    return _core.tensor(value, dtype, "loom.convert_to_tensor", "value")


def constant(value, dtype=None, shape=None):
    """A tensor of `value` (a number is filled into `shape` when given)."""
    where = "loom.constant"
    if shape is not None and isinstance(value, (bool, int, float)):
        return fill(shape, value, dtype if dtype is not None else _core._default_code({_core._kind(value)}))
    t = _core.tensor(value, dtype, where, "value")
    if shape is not None:
        t = _core._reshape(t, shape, where)
    return t


def _shape_arg(shape, where):
    if _core._is_int(shape):
        shape = [shape]
    return _core._int_list(shape, where, "shape")


def zeros(shape, dtype="float32"):
    """A tensor of `shape` filled with 0."""
    dims, rank = _ffi.int64_array(_shape_arg(shape, "loom.zeros"))
    out = _c_void_p()
    check(F.loom_tensor_zeros(dims, rank, dtype_code(dtype, "loom.zeros"), _byref(out)), "loom.zeros")
    return _wrap(out)


def ones(shape, dtype="float32"):
    """A tensor of `shape` filled with 1."""
    dims, rank = _ffi.int64_array(_shape_arg(shape, "loom.ones"))
    out = _c_void_p()
    check(F.loom_tensor_ones(dims, rank, dtype_code(dtype, "loom.ones"), _byref(out)), "loom.ones")
    return _wrap(out)


def fill(shape, value, dtype="float32"):
    """A tensor of `shape` filled with `value` (converted to dtype)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not (
            np is not None and isinstance(value, np.generic)):
        if not isinstance(value, bool):
            raise TypeError(f"loom.fill: value must be a number, got {type(value).__name__}")
    dims, rank = _ffi.int64_array(_shape_arg(shape, "loom.fill"))
    out = _c_void_p()
    check(F.loom_tensor_fill(dims, rank, float(value), dtype_code(dtype, "loom.fill"), _byref(out)), "loom.fill")
    return _wrap(out)


def zeros_like(x, dtype=None):
    t = _core.tensor(x, None, "loom.zeros_like", "x")
    return zeros(t.shape, t.dtype if dtype is None else dtype)


def ones_like(x, dtype=None):
    t = _core.tensor(x, None, "loom.ones_like", "x")
    return ones(t.shape, t.dtype if dtype is None else dtype)


def arange(start, stop=None, step=1, dtype=None):
    """start, start + step, ... up to (not including) stop; ``arange(n)`` is 0 .. n-1. dtype:
    int64 when every bound is an int, else float32."""
    if stop is None:
        start, stop = 0, start
    for name, v in (("start", start), ("stop", stop), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) and not (np is not None and isinstance(v, np.generic)):
            raise TypeError(f"loom.arange: {name} must be a number, got {type(v).__name__}")
    if dtype is None:
        dtype = "int64" if all(_core._is_int(v) for v in (start, stop, step)) else "float32"
    out = _c_void_p()
    check(F.loom_tensor_arange(float(start), float(stop), float(step), dtype_code(dtype, "loom.arange"),
                               _byref(out)), "loom.arange")
    return _wrap(out)


def _seed(seed, where):
    if seed is None:
        import random
        return random.getrandbits(63)
    if not _core._is_int(seed) or seed < 0:
        raise TypeError(f"{where}: seed must be a non-negative int, got {seed!r}")
    return int(seed)


def random_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None):
    """Normal values; the same for the same seed on every run and device (float32/float64)."""
    where = "loom.random_normal"
    dims, rank = _ffi.int64_array(_shape_arg(shape, where))
    out = _c_void_p()
    check(F.loom_tensor_random_normal(dims, rank, float(mean), float(stddev), dtype_code(dtype, where),
                                      _seed(seed, where), _byref(out)), where)
    return _wrap(out)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype="float32", seed=None):
    """Uniform values in [minval, maxval) (float32, float64, int32, int64)."""
    where = "loom.random_uniform"
    dims, rank = _ffi.int64_array(_shape_arg(shape, where))
    out = _c_void_p()
    check(F.loom_tensor_random_uniform(dims, rank, float(minval), float(maxval), dtype_code(dtype, where),
                                       _seed(seed, where), _byref(out)), where)
    return _wrap(out)


def op(name, *inputs, **attrs):
    """Any op of the registry by name (loom_op_call), attribute types inferred from the Python
    values; one output, or a tuple of several. The generated ``loom.ops.<name>`` functions check
    inputs and attributes against the op's schema and are usually better."""
    if not isinstance(name, str):
        raise TypeError(f"loom.op: name must be a string, got {type(name).__name__}")
    where = f"loom.op({name!r})"
    ref = None
    for v in inputs:
        if isinstance(v, Tensor):
            ref = _core._dtype_code_of(v._h)
            break
    tensors = [v if isinstance(v, Tensor) else (_core._operand(v, ref, where, f"inputs[{i}]") if ref is not None
                                                  else _core.tensor(v, None, where, f"inputs[{i}]"))
               for i, v in enumerate(inputs)]
    attrs_h = _core.config_attrs(attrs, where) if attrs else None
    outputs = _core.call_op(name.encode(), tensors, attrs_h, 64, where)
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


# --- TensorFlow-style conveniences (attributes may be positional) --------------------------
def _t(x, where, arg="x"):
    return _core.tensor(x, None, where, arg)


def reshape(x, shape):
    """x with a new shape (one dim may be -1)."""
    where = "loom.reshape"
    x = _t(x, where)
    return _core._reshape(x, _shape_arg(shape, where), where)


def transpose(x, perm=None):
    """Permutes the axes (reverses them when perm is None)."""
    where = "loom.transpose"
    x = _t(x, where)
    return _core._transpose(x, perm, where)


_TYPED_REDUCE = {b"reduce_sum": F.loom_reduce_sum, b"reduce_mean": F.loom_reduce_mean}


def _reduce(name):
    pretty = name.decode()
    typed = _TYPED_REDUCE.get(name)
    where = f"loom.{pretty}"

    def reduce(x, axis=None, keepdims=False):
        if not isinstance(x, Tensor):
            x = _core.tensor(x, None, where, "x")
        if keepdims is not False and keepdims is not True:
            raise TypeError(f"{where}: keepdims must be a bool, got {type(keepdims).__name__}")
        if typed is not None:
            out = _c_void_p()
            if axis is None:
                status = typed(x._h, None, -1, 1 if keepdims else 0, _byref(out))
            else:
                axes, n = _ffi.int64_array([axis] if _core._is_int(axis) else _core._int_list(axis, where, "axis"))
                status = typed(x._h, axes, n, 1 if keepdims else 0, _byref(out))
            if status:
                _ffi.raise_for(status, where)
            return _wrap(out)
        if axis is not None and not _core._is_int(axis):
            _core._int_list(axis, where, "axis")
        return _core.reduce_op(name, x, axis, keepdims, where)

    reduce.__name__ = reduce.__qualname__ = pretty
    reduce.__doc__ = (f"{pretty} over `axis` (an int, a list of ints, or None: every axis); `keepdims` keeps "
                      "reduced axes with size 1.")
    return reduce


reduce_sum = _reduce(b"reduce_sum")
reduce_mean = _reduce(b"reduce_mean")
reduce_max = _reduce(b"reduce_max")
reduce_min = _reduce(b"reduce_min")
reduce_prod = _reduce(b"reduce_prod")
reduce_any = _reduce(b"reduce_any")
reduce_all = _reduce(b"reduce_all")


def cast(x, dtype):
    """x converted to `dtype`."""
    return _t(x, "loom.cast").cast(dtype)


def _values(values, where):
    if isinstance(values, Tensor) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{where}: values must be a list of tensors, got {type(values).__name__}")
    if not values:
        raise ValueError(f"{where}: values is empty")
    tensors = []
    ref = None
    for v in values:
        if isinstance(v, Tensor):
            ref = _core._dtype_code_of(v._h)
            break
    for i, v in enumerate(values):
        tensors.append(v if isinstance(v, Tensor) else (_core._operand(v, ref, where, f"values[{i}]")
                                                        if ref is not None else _core.tensor(v, None, where,
                                                                                             f"values[{i}]")))
    return tensors


def concat(values, axis):
    """The tensors joined along `axis`."""
    where = "loom.concat"
    tensors = _values(values, where)
    attrs = _core.make_attrs([("axis", "int", _int(axis, where, "axis"))], where)
    return _core.call_op(b"concat", tensors, attrs, 1, where)[0]


def stack(values, axis=0):
    """The tensors stacked along a new axis."""
    where = "loom.stack"
    tensors = _values(values, where)
    attrs = _core.make_attrs([("axis", "int", _int(axis, where, "axis"))], where)
    return _core.call_op(b"stack", tensors, attrs, 1, where)[0]


def split(x, num_or_size_splits, axis=0):
    """x split along `axis` into `num` equal parts or parts of the given sizes (a list)."""
    where = "loom.split"
    x = _t(x, where)
    items = [("axis", "int", _int(axis, where, "axis"))]
    if _core._is_int(num_or_size_splits):
        n = int(num_or_size_splits)
        items.append(("num", "int", n))
    else:
        sizes = _core._int_list(num_or_size_splits, where, "num_or_size_splits")
        n = len(sizes)
        items.append(("sizes", "int list", sizes))
    return _core.call_op(b"split", [x], _core.make_attrs(items, where), max(1, n), where)


def expand_dims(x, axis):
    """x with a new axis of size 1 at `axis`."""
    where = "loom.expand_dims"
    x = _t(x, where)
    attrs = _core.make_attrs([("axis", "int", _int(axis, where, "axis"))], where)
    return _core.call_op(b"expand_dims", [x], attrs, 1, where)[0]


def squeeze(x, axis=None):
    """x without its size-1 axes (or only those in `axis`)."""
    where = "loom.squeeze"
    x = _t(x, where)
    items = []
    if axis is not None:
        items.append(("axes", "int list", [int(axis)] if _core._is_int(axis) else _core._int_list(axis, where, "axis")))
    return _core.call_op(b"squeeze", [x], _core.make_attrs(items, where), 1, where)[0]


def tile(x, multiples):
    """x repeated `multiples[i]` times along axis i."""
    where = "loom.tile"
    x = _t(x, where)
    attrs = _core.make_attrs([("multiples", "int list", _core._int_list(multiples, where, "multiples"))], where)
    return _core.call_op(b"tile", [x], attrs, 1, where)[0]


def broadcast_to(x, shape):
    """x broadcast to `shape`."""
    where = "loom.broadcast_to"
    x = _t(x, where)
    attrs = _core.make_attrs([("shape", "int list", _shape_arg(shape, where))], where)
    return _core.call_op(b"broadcast_to", [x], attrs, 1, where)[0]


def one_hot(indices, depth, on_value=1.0, off_value=0.0, dtype="float32"):
    """One-hot rows of `depth` for integer `indices`."""
    where = "loom.one_hot"
    indices = _core.tensor(indices, None, where, "indices")
    items = [("depth", "int", _int(depth, where, "depth")), ("on_value", "float", float(on_value)),
             ("off_value", "float", float(off_value)), ("dtype", "dtype", dtype_code(dtype, where))]
    return _core.call_op(b"one_hot", [indices], _core.make_attrs(items, where), 1, where)[0]


def clip_by_value(x, clip_value_min, clip_value_max):
    """x clipped to [clip_value_min, clip_value_max]."""
    where = "loom.clip_by_value"
    x = _t(x, where)
    items = [("min", "float", _float(clip_value_min, where, "clip_value_min")),
             ("max", "float", _float(clip_value_max, where, "clip_value_max"))]
    return _core.call_op(b"clip", [x], _core.make_attrs(items, where), 1, where)[0]


def pad(x, paddings, constant_values=0.0):
    """x padded: `paddings` is [[before, after], ...] per axis (or a flat list)."""
    where = "loom.pad"
    x = _t(x, where)
    flat = []
    for p in paddings:
        if isinstance(p, (list, tuple)):
            flat.extend(p)
        else:
            flat.append(p)
    items = [("paddings", "int list", _core._int_list(flat, where, "paddings")),
             ("value", "float", _float(constant_values, where, "constant_values"))]
    return _core.call_op(b"pad", [x], _core.make_attrs(items, where), 1, where)[0]


def _int(v, where, arg):
    if not _core._is_int(v):
        raise TypeError(f"{where}: {arg} must be an int, got {type(v).__name__}")
    return int(v)


def _float(v, where, arg):
    if isinstance(v, bool) or not isinstance(v, (int, float)) and not (np is not None and isinstance(v, np.generic)):
        raise TypeError(f"{where}: {arg} must be a number, got {type(v).__name__}")
    return float(v)


def numpy(x):
    """x as a NumPy array."""
    return _core.tensor(x, None, "loom.numpy", "x").numpy()


def load_npy(path):
    """A tensor from a NumPy .npy file."""
    out = _c_void_p()
    check(F.loom_tensor_load_npy(_core._path(path, "loom.load_npy"), _byref(out)), "loom.load_npy")
    return _wrap(out)


def save_npy(path, x):
    """Saves `x` as a NumPy .npy file."""
    t = _core.tensor(x, None, "loom.save_npy", "x")
    t.save_npy(path)
