"""Tensors, dtypes, conversions from Python and NumPy values, attributes and the op call.

The hot paths (binary operators on two tensors, releasing a tensor) call the C functions
directly with cached ctypes function objects; everything that converts a Python value keeps the
temporary tensors it made in local variables until the C call has returned.
"""
import ctypes
import math
import numbers
import operator
import struct
from array import array

from . import _ffi
from ._ffi import F, P, I32, I64, check, raise_for

try:  # NumPy is optional: without it, tensors come from lists, scalars and buffers
    import numpy as np
except ImportError:  # pragma: no cover - exercised only without NumPy
    np = None

_byref = ctypes.byref
_new = object.__new__
_c_void_p = ctypes.c_void_p
_release_tensor = F.loom_tensor_release
_f_add, _f_sub, _f_mul, _f_div = F.loom_add, F.loom_sub, F.loom_mul, F.loom_div
_f_op_call = F.loom_op_call
_f_shape = F.loom_tensor_shape
_f_dtype = F.loom_tensor_dtype
_f_cast = F.loom_tensor_cast
_f_fill = F.loom_tensor_fill

# ---------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------
F32, F64, I32_, I64_, BOOL, U8, F16, BF16 = range(8)
_DTYPE_NAMES = ("float32", "float64", "int32", "int64", "bool", "uint8", "float16", "bfloat16")
_ITEM_SIZES = (4, 8, 4, 8, 1, 1, 2, 2)
_ARRAY_CODES = {F32: "f", F64: "d", I32_: "i", I64_: "q", BOOL: "B", U8: "B"}
_INT_RANGES = {I32_: (-(1 << 31), (1 << 31) - 1), I64_: (-(1 << 63), (1 << 63) - 1), U8: (0, 255), BOOL: (0, 1)}


class DType(str):
    """A loom dtype. It is its name (``loom.float32 == "float32"``) with facts as attributes."""

    __slots__ = ()

    def __new__(cls, code):
        self = str.__new__(cls, _DTYPE_NAMES[code])
        return self

    @property
    def code(self):
        return _DTYPE_NAMES.index(str(self))

    @property
    def name(self):
        return str(self)

    @property
    def itemsize(self):
        return _ITEM_SIZES[self.code]

    @property
    def is_floating(self):
        return self.code in (F32, F64, F16, BF16)

    @property
    def is_integer(self):
        return self.code in (I32_, I64_, U8)

    @property
    def is_bool(self):
        return self.code == BOOL

    @property
    def as_numpy_dtype(self):
        """The NumPy dtype (bfloat16 has none: float32)."""
        if np is None:
            raise ImportError("NumPy is not installed")
        return np.dtype("float32" if self.code == BF16 else str(self))

    def __repr__(self):
        return f"loom.{str(self)}"

    def __reduce__(self):
        return (DType, (self.code,))


DTYPES = tuple(DType(c) for c in range(8))
float32, float64, int32, int64, bool_, uint8, float16, bfloat16 = DTYPES
_ALIASES = {"float": F32, "float32": F32, "f4": F32, "single": F32, "double": F64, "float64": F64, "f8": F64,
            "int32": I32_, "i4": I32_, "int": I64_, "int64": I64_, "i8": I64_, "long": I64_, "bool": BOOL,
            "bool_": BOOL, "uint8": U8, "u1": U8, "half": F16, "float16": F16, "f2": F16, "bfloat16": BF16}


def dtype_code(dtype, where="loom", arg="dtype"):
    """The loom dtype code of a dtype given as a name, a loom DType, a NumPy dtype or type, or
    a Python type (float -> float32, int -> int64, bool -> bool)."""
    if isinstance(dtype, DType):
        return dtype.code
    if isinstance(dtype, str):
        code = _ALIASES.get(dtype)
        if code is not None:
            return code
    elif isinstance(dtype, bool) or dtype is None:
        pass
    elif isinstance(dtype, int) and 0 <= dtype < 8:
        return dtype
    elif dtype is float:
        return F32
    elif dtype is int:
        return I64_
    elif dtype is bool:
        return BOOL
    elif np is not None:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
        if name in _ALIASES:
            return _ALIASES[name]
    raise TypeError(f"{where}: {arg} {dtype!r} is not a loom dtype (one of {', '.join(_DTYPE_NAMES)})")


def as_dtype(dtype):
    """The loom DType of `dtype` (a name, a NumPy dtype, ...)."""
    return DTYPES[dtype_code(dtype, "loom.as_dtype")]


# ---------------------------------------------------------------------------------------------
# Tensor
# ---------------------------------------------------------------------------------------------
def _wrap(handle):
    """A Tensor owning `handle` (a c_void_p holding a new reference)."""
    t = _new(Tensor)
    t._h = handle
    return t


def _shape_of(h, where="loom.Tensor.shape"):
    dims = (I64 * 8)()
    rank = I32()
    status = _f_shape(h, dims, 8, _byref(rank))
    if status:
        raise_for(status, where)
    if rank.value > 8:
        dims = (I64 * rank.value)()
        check(_f_shape(h, dims, rank.value, _byref(rank)), where)
    return tuple(dims[: rank.value])


def _dtype_code_of(h, where="loom.Tensor.dtype"):
    code = I32()
    status = _f_dtype(h, _byref(code))
    if status:
        raise_for(status, where)
    return code.value


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


class Tensor:
    """An immutable n-d array on a device (a loom_tensor handle).

    Made by ``loom.tensor(data, dtype)`` (or ``loom.Tensor(data, dtype)``), by ops and layers.
    Supports Python operators (+ - * / // % ** @, comparisons -> bool tensors, unary -, abs),
    NumPy-like indexing (``t[1:3, ::-1]``, ``t[..., 0]``, ``t[None]``), ``np.asarray(t)``,
    ``len``, ``float``/``int``/``bool`` of one-element tensors and iteration over the first axis.
    """

    __slots__ = ("_h", "__weakref__")
    __array_ufunc__ = None  # NumPy defers to our reflected operators (array + tensor -> Tensor)
    __array_priority__ = 1000

    def __init__(self, data, dtype=None):
        t = tensor(data, dtype)
        if t is data:  # a Tensor given: share its tensor through a new handle
            t = _dup(data)
        self._h = t._h
        t._h = None

    def __del__(self, _release=_release_tensor):
        try:
            h = self._h
        except AttributeError:  # construction failed before the handle existed
            return
        if h is not None:
            self._h = None
            _release(h)

    # -- facts ---------------------------------------------------------------------------------
    @property
    def shape(self):
        """The shape as a tuple of ints."""
        return _shape_of(self._h)

    @property
    def dtype(self):
        """The dtype (a loom.DType, equal to its name: ``t.dtype == "float32"``)."""
        return DTYPES[_dtype_code_of(self._h)]

    @property
    def ndim(self):
        return len(_shape_of(self._h))

    rank = ndim

    @property
    def size(self):
        """The number of elements."""
        return _numel(_shape_of(self._h))

    @property
    def nbytes(self):
        n = ctypes.c_size_t()
        check(F.loom_tensor_nbytes(self._h, _byref(n)), "loom.Tensor.nbytes")
        return n.value

    @property
    def device(self):
        """The device name ("CPU:0", "GPU:0", ...)."""
        return _ffi.read_string(F.loom_tensor_device, self._h, where="loom.Tensor.device", size=32)

    # -- values out ----------------------------------------------------------------------------
    def tobytes(self):
        """The values, dense and row-major, as bytes."""
        nbytes = self.nbytes
        buffer = ctypes.create_string_buffer(max(1, nbytes))
        check(F.loom_tensor_to_host(self._h, buffer, nbytes), "loom.Tensor.tobytes")
        return buffer.raw[:nbytes]

    def numpy(self):
        """A NumPy copy of the values (bfloat16 comes back as float32)."""
        if np is None:
            raise ImportError("loom.Tensor.numpy: NumPy is not installed (use tolist())")
        code = _dtype_code_of(self._h, "loom.Tensor.numpy")
        if code == BF16:
            return self.cast(F32).numpy()
        out = np.empty(_shape_of(self._h, "loom.Tensor.numpy"), dtype=_DTYPE_NAMES[code])
        check(F.loom_tensor_to_host(self._h, out.ctypes.data_as(P), out.nbytes), "loom.Tensor.numpy")
        return out

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def memoryview(self):
        """The values as a read-only memoryview of this shape (a copy)."""
        code = _dtype_code_of(self._h)
        if code == BF16:
            return self.cast(F32).memoryview()
        fmt = {F32: "f", F64: "d", I32_: "i", I64_: "q", BOOL: "?", U8: "B", F16: "e"}[code]
        shape = self.shape
        view = memoryview(self.tobytes())
        return view.cast(fmt, shape) if shape and 0 not in shape else view.cast(fmt)

    def tolist(self):
        """The values as nested Python lists (a scalar for a rank-0 tensor)."""
        code = _dtype_code_of(self._h, "loom.Tensor.tolist")
        if code in (F16, BF16):
            return self.cast(F32).tolist() if code == BF16 else _unpack_f16(self)
        shape = _shape_of(self._h)
        n = _numel(shape)
        flat = array(_ARRAY_CODES[code])
        if n:
            flat.frombytes(self.tobytes())
        values = flat.tolist()
        if code == BOOL:
            values = [bool(v) for v in values]
        return _nest(values, shape)

    def item(self):
        """The single value as a Python number (ValueError unless there is one element)."""
        shape = self.shape
        if _numel(shape) != 1:
            raise ValueError(f"loom.Tensor.item: needs exactly one element, the tensor has shape {shape}")
        value = self.tolist()
        while isinstance(value, list):
            value = value[0]
        return value

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if not DTYPES[_dtype_code_of(self._h)].is_integer:
            raise TypeError("only integer tensors with one element can be used as an index")
        return int(self.item())

    def __bool__(self):
        shape = self.shape
        if _numel(shape) != 1:
            raise ValueError(f"the truth value of a tensor of shape {shape} is ambiguous (use loom.reduce_any or "
                             "loom.reduce_all)")
        return bool(self.item())

    def __len__(self):
        shape = self.shape
        if not shape:
            raise TypeError("len() of a rank-0 tensor")
        return shape[0]

    def __iter__(self):
        shape = self.shape
        if not shape:
            raise TypeError("iteration over a rank-0 tensor")
        for i in range(shape[0]):
            yield _getitem(self, i)

    def __hash__(self):
        return id(self)

    def __reduce__(self):
        return (_rebuild, (self.tolist(), str(self.dtype), self.shape))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    # -- conversions ---------------------------------------------------------------------------
    def cast(self, dtype):
        """The values converted to `dtype` (floats to integers truncate toward zero)."""
        code = dtype_code(dtype, "loom.Tensor.cast")
        out = _c_void_p()
        check(_f_cast(self._h, code, _byref(out)), "loom.Tensor.cast")
        return _wrap(out)

    astype = cast

    def to(self, device):
        """A copy on `device` ("GPU:0"), or this tensor when it is there already."""
        if not isinstance(device, str):
            raise TypeError(f"loom.Tensor.to: device must be a string such as 'CPU:0', got {type(device).__name__}")
        out = _c_void_p()
        check(F.loom_tensor_to_device(self._h, device.encode(), _byref(out)), "loom.Tensor.to")
        return _wrap(out)

    def cpu(self):
        return self.to("CPU:0")

    def save_npy(self, path):
        """Saves as a NumPy .npy file (not bfloat16)."""
        check(F.loom_tensor_save_npy(self._h, _path(path, "loom.Tensor.save_npy")), "loom.Tensor.save_npy")

    # -- text ----------------------------------------------------------------------------------
    def __repr__(self):
        try:
            shape, dtype = self.shape, self.dtype
        except _ffi.LoomError:
            return "<loom.Tensor (released)>"
        body = _format_values(self, shape, dtype)
        return f"loom.Tensor({body}, shape={shape}, dtype={dtype})"

    __str__ = __repr__

    def __format__(self, spec):
        if spec and _numel(self.shape) == 1:
            return format(self.item(), spec)
        return repr(self) if not spec else format(repr(self), spec)

    # -- indexing ------------------------------------------------------------------------------
    def __getitem__(self, key):
        return _getitem(self, key)

    def __setitem__(self, key, value):
        raise TypeError("loom.Tensor is immutable: assign slices of a loom.Variable (v[1:3] = ...)")

    # -- operators -----------------------------------------------------------------------------
    def __add__(self, other):
        if isinstance(other, Tensor):
            out = _c_void_p()
            status = _f_add(self._h, other._h, _byref(out))
            if status:
                raise_for(status, "loom.Tensor.__add__")
            t = _new(Tensor)
            t._h = out
            return t
        return _binary(_f_add, self, other, False, "loom.Tensor.__add__")

    def __radd__(self, other):
        return _binary(_f_add, self, other, True, "loom.Tensor.__radd__")

    def __sub__(self, other):
        if isinstance(other, Tensor):
            out = _c_void_p()
            status = _f_sub(self._h, other._h, _byref(out))
            if status:
                raise_for(status, "loom.Tensor.__sub__")
            t = _new(Tensor)
            t._h = out
            return t
        return _binary(_f_sub, self, other, False, "loom.Tensor.__sub__")

    def __rsub__(self, other):
        return _binary(_f_sub, self, other, True, "loom.Tensor.__rsub__")

    def __mul__(self, other):
        if isinstance(other, Tensor):
            out = _c_void_p()
            status = _f_mul(self._h, other._h, _byref(out))
            if status:
                raise_for(status, "loom.Tensor.__mul__")
            t = _new(Tensor)
            t._h = out
            return t
        return _binary(_f_mul, self, other, False, "loom.Tensor.__mul__")

    def __rmul__(self, other):
        return _binary(_f_mul, self, other, True, "loom.Tensor.__rmul__")

    def __truediv__(self, other):
        if isinstance(other, Tensor):
            out = _c_void_p()
            status = _f_div(self._h, other._h, _byref(out))
            if status:
                raise_for(status, "loom.Tensor.__truediv__")
            t = _new(Tensor)
            t._h = out
            return t
        return _binary(_f_div, self, other, False, "loom.Tensor.__truediv__")

    def __rtruediv__(self, other):
        return _binary(_f_div, self, other, True, "loom.Tensor.__rtruediv__")

    def __floordiv__(self, other):
        return _binary(b"floor_div", self, other, False, "loom.Tensor.__floordiv__")

    def __rfloordiv__(self, other):
        return _binary(b"floor_div", self, other, True, "loom.Tensor.__rfloordiv__")

    def __mod__(self, other):
        return _binary(b"mod", self, other, False, "loom.Tensor.__mod__")

    def __rmod__(self, other):
        return _binary(b"mod", self, other, True, "loom.Tensor.__rmod__")

    def __pow__(self, other):
        return _binary(b"pow", self, other, False, "loom.Tensor.__pow__")

    def __rpow__(self, other):
        return _binary(b"pow", self, other, True, "loom.Tensor.__rpow__")

    def __matmul__(self, other):
        return _matmul(self, other, False, "loom.Tensor.__matmul__")

    def __rmatmul__(self, other):
        return _matmul(self, other, True, "loom.Tensor.__rmatmul__")

    def __neg__(self):
        return _unary(b"neg", self, "loom.Tensor.__neg__")

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary(b"abs", self, "loom.Tensor.__abs__")

    def __invert__(self):
        return _unary(b"logical_not", self, "loom.Tensor.__invert__")

    def __and__(self, other):
        return _binary(b"logical_and", self, other, False, "loom.Tensor.__and__")

    __rand__ = __and__

    def __or__(self, other):
        return _binary(b"logical_or", self, other, False, "loom.Tensor.__or__")

    __ror__ = __or__

    def __eq__(self, other):
        return _compare(b"equal", self, other, "loom.Tensor.__eq__")

    def __ne__(self, other):
        return _compare(b"not_equal", self, other, "loom.Tensor.__ne__")

    def __lt__(self, other):
        return _compare(b"less", self, other, "loom.Tensor.__lt__")

    def __le__(self, other):
        return _compare(b"less_equal", self, other, "loom.Tensor.__le__")

    def __gt__(self, other):
        return _compare(b"greater", self, other, "loom.Tensor.__gt__")

    def __ge__(self, other):
        return _compare(b"greater_equal", self, other, "loom.Tensor.__ge__")

    # -- a few methods of NumPy / TF tensors -----------------------------------------------
    @property
    def T(self):
        return _transpose(self, None, "loom.Tensor.T")

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = shape[0]
        return _reshape(self, shape, "loom.Tensor.reshape")

    def transpose(self, *perm):
        if len(perm) == 1 and isinstance(perm[0], (list, tuple)):
            perm = perm[0]
        return _transpose(self, list(perm) or None, "loom.Tensor.transpose")

    def sum(self, axis=None, keepdims=False):
        return reduce_op(b"reduce_sum", self, axis, keepdims, "loom.Tensor.sum")

    def mean(self, axis=None, keepdims=False):
        return reduce_op(b"reduce_mean", self, axis, keepdims, "loom.Tensor.mean")

    def max(self, axis=None, keepdims=False):
        return reduce_op(b"reduce_max", self, axis, keepdims, "loom.Tensor.max")

    def min(self, axis=None, keepdims=False):
        return reduce_op(b"reduce_min", self, axis, keepdims, "loom.Tensor.min")


def _rebuild(values, dtype, shape):
    t = tensor(values, dtype)
    return t if t.shape == tuple(shape) else _reshape(t, shape, "loom.Tensor (unpickle)")


def _dup(t):
    """A new handle to the same tensor (the same autograd identity)."""
    out = _c_void_p()
    check(_f_cast(t._h, _dtype_code_of(t._h), _byref(out)), "loom (duplicating a tensor handle)")
    return _wrap(out)


def _nest(values, shape):
    if not shape:
        return values[0]
    if len(shape) == 1:
        return values
    step = _numel(shape[1:])
    return [_nest(values[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _unpack_f16(t):
    shape = t.shape
    n = _numel(shape)
    values = list(struct.unpack(f"<{n}e", t.tobytes())) if n else []
    return _nest(values, shape)


def _path(path, where):
    try:
        import os
        return os.fspath(path).encode()
    except TypeError:
        raise TypeError(f"{where}: path must be a str or os.PathLike, got {type(path).__name__}") from None


# ---------------------------------------------------------------------------------------------
# Conversions from Python values
# ---------------------------------------------------------------------------------------------
_BUFFER_FORMATS = {"f": F32, "d": F64, "i": I32_, "q": I64_, "?": BOOL, "B": U8, "e": F16, "b": I32_, "h": I32_,
                   "H": I32_, "I": I64_}


def _describe(x):
    return type(x).__name__


def tensor(data, dtype=None, where="loom.tensor", arg="data"):
    """A tensor from a loom Tensor (cast when `dtype` differs), a Variable (its current value),
    a NumPy array (any layout or byte order), nested lists or tuples of numbers, a Python or
    NumPy scalar, or any object with the buffer protocol or ``__array__``.

    Default dtypes: bools -> bool, ints -> int64, floats -> float32; NumPy arrays keep theirs
    (int8/int16/uint16 -> int32, uint32 -> int64). TypeError or ValueError name `where` and `arg`
    for anything else (strings, ragged lists, integers beyond int64, ...)."""
    if isinstance(data, Tensor):
        if dtype is None:
            return data if data.__class__ is Tensor else _dup(data)
        code = dtype_code(dtype, where)
        if _dtype_code_of(data._h, where) == code:
            return data if data.__class__ is Tensor else _dup(data)
        return data.cast(code)
    code = None if dtype is None else dtype_code(dtype, where)
    if np is not None:
        if isinstance(data, np.ndarray):
            return _from_numpy(data, code, where, arg)
        if isinstance(data, np.generic):
            return _from_numpy(np.asarray(data), code, where, arg)
    if isinstance(data, (bool, int, float)):
        return _scalar(data, code, where, arg)
    if isinstance(data, (list, tuple)):
        return _from_sequence(data, code, where, arg)
    if isinstance(data, (str, bytes, bytearray)) or data is None:
        raise TypeError(f"{where}: {arg} must be a loom.Tensor, a NumPy array, a number or nested lists of numbers, "
                        f"got {_describe(data)} {data!r:.40}")
    if np is not None and (hasattr(data, "__array__") or hasattr(data, "__array_interface__")):
        try:
            converted = np.asarray(data)
        except Exception as e:
            raise TypeError(f"{where}: {arg}: cannot convert {_describe(data)} to an array: {e}") from None
        return _from_numpy(converted, code, where, arg)
    try:
        view = memoryview(data)
    except TypeError:
        view = None
    if view is not None:
        return _from_buffer(view, code, where, arg)
    if isinstance(data, numbers.Number) and not isinstance(data, complex):
        return _scalar(float(data) if isinstance(data, numbers.Real) and not isinstance(data, numbers.Integral)
                       else int(data), code, where, arg)
    if hasattr(data, "__iter__") and not isinstance(data, dict):
        return _from_sequence(list(data), code, where, arg)
    raise TypeError(f"{where}: {arg} must be a loom.Tensor, a NumPy array, a number or nested lists of numbers, "
                    f"got {_describe(data)}")


def _kind(value):
    """'b', 'i' or 'f' for a Python or NumPy scalar; None for anything else."""
    if isinstance(value, bool):
        return "b"
    if isinstance(value, int):
        return "i"
    if isinstance(value, float):
        return "f"
    if np is not None and isinstance(value, np.generic):
        k = value.dtype.kind
        return {"b": "b", "i": "i", "u": "i", "f": "f"}.get(k)
    if isinstance(value, numbers.Integral):
        return "i"
    if isinstance(value, numbers.Real):
        return "f"
    return None


def _default_code(kinds):
    if "f" in kinds:
        return F32
    if "i" in kinds:
        return I64_
    if "b" in kinds:
        return BOOL
    return F32


def _scalar(value, code, where, arg):
    if code is None:
        code = _default_code({_kind(value)})
    return _from_flat([value], (), code, where, arg)


def _from_flat(flat, shape, code, where, arg):
    """Packs flat Python values as `code` and makes the tensor."""
    if code in _INT_RANGES:
        lo, hi = _INT_RANGES[code]
        values = []
        for v in flat:
            if isinstance(v, float) or (np is not None and isinstance(v, np.floating)):
                if not math.isfinite(v):
                    raise ValueError(f"{where}: {arg} holds {v}, which has no {_DTYPE_NAMES[code]} value")
                v = int(v)  # truncation toward zero, as NumPy's astype
            else:
                v = int(v)
            if v < lo or v > hi:
                raise ValueError(f"{where}: {arg} holds {v}, out of the range of {_DTYPE_NAMES[code]} [{lo}, {hi}]")
            values.append(v)
        raw = array(_ARRAY_CODES[code], values).tobytes()
    elif code in (F32, F64):
        try:
            raw = array(_ARRAY_CODES[code], [float(v) for v in flat]).tobytes()
        except OverflowError:
            raise ValueError(f"{where}: {arg} holds an integer too large for {_DTYPE_NAMES[code]}") from None
    elif code == F16:
        try:
            raw = struct.pack(f"<{len(flat)}e", *[float(v) for v in flat])
        except (OverflowError, struct.error):
            raise ValueError(f"{where}: {arg} holds a value out of the range of float16") from None
    else:  # bfloat16: through float32
        return _from_flat(flat, shape, F32, where, arg).cast(BF16)
    dims, rank = _ffi.int64_array(shape)
    out = _c_void_p()
    check(F.loom_tensor_from_host(raw, len(raw), dims, rank, code, _byref(out)), where)
    return _wrap(out)


def _from_sequence(data, code, where, arg):
    """Nested lists/tuples of numbers (or of tensors and arrays, which are stacked)."""
    if data and any(isinstance(e, Tensor) or (np is not None and isinstance(e, np.ndarray)) for e in data):
        parts = [tensor(e, None if code is None else code, where, f"{arg}[{i}]") for i, e in enumerate(data)]
        if code is None:  # one dtype for all: the first part's
            first = parts[0].dtype
            parts = [p if p.dtype == first else p.cast(first) for p in parts]
        return call_op(b"stack", parts, None, 1, where)[0]
    shape = []
    probe = data
    while isinstance(probe, (list, tuple)):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    flat = []
    kinds = set()
    depth_max = len(shape)

    def walk(x, depth, path):
        if depth == depth_max:
            if isinstance(x, (list, tuple)):
                raise ValueError(f"{where}: {arg} is a ragged nested list: {arg}{path} has {len(x)} entries where "
                                 "a number is expected (every list at one depth must have the same length)")
            k = _kind(x)
            if k is None:
                if isinstance(x, Tensor) and x.size == 1:
                    x = x.item()
                    k = _kind(x)
                if k is None:
                    raise TypeError(f"{where}: {arg}{path} is {_describe(x)} {x!r:.40}, not a number")
            kinds.add(k)
            flat.append(x)
            return
        if not isinstance(x, (list, tuple)):
            raise ValueError(f"{where}: {arg} is a ragged nested list: {arg}{path} is a number where a list of "
                             f"{shape[depth]} entries is expected")
        if len(x) != shape[depth]:
            raise ValueError(f"{where}: {arg} is a ragged nested list: {arg}{path} has {len(x)} entries, expected "
                             f"{shape[depth]} (as the first list at that depth)")
        for i, e in enumerate(x):
            walk(e, depth + 1, f"{path}[{i}]")

    walk(data, 0, "")
    if code is None:
        code = _default_code(kinds)
    return _from_flat(flat, tuple(shape), code, where, arg)


_NUMPY_CODES = {"float32": F32, "float64": F64, "int32": I32_, "int64": I64_, "bool": BOOL, "uint8": U8,
                "float16": F16}
_NUMPY_WIDEN = {"int8": "int32", "int16": "int32", "uint16": "int32", "uint32": "int64", "longdouble": "float64",
                "float128": "float64"}


def _from_numpy(a, code, where, arg):
    kind = a.dtype.kind
    if kind not in "biuf":
        what = {"c": "complex numbers", "O": "Python objects", "U": "strings", "S": "bytes", "M": "datetimes",
                "m": "timedeltas", "V": "structured records"}.get(kind, f"dtype {a.dtype}")
        raise TypeError(f"{where}: {arg} is a NumPy array of {what} (dtype {a.dtype}); loom holds numbers and bools")
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    name = a.dtype.name
    if name not in _NUMPY_CODES:
        if name == "uint64":
            if a.size and int(a.max()) > (1 << 63) - 1:
                raise ValueError(f"{where}: {arg} holds uint64 values beyond the range of int64")
            name = "int64"
        elif name in _NUMPY_WIDEN:
            name = _NUMPY_WIDEN[name]
        else:
            raise TypeError(f"{where}: {arg} has NumPy dtype {a.dtype}, which loom does not hold")
        a = a.astype(name)
    own = _NUMPY_CODES[name]
    if code is not None and code != own and code != BF16:
        a = a.astype(_DTYPE_NAMES[code])
        own = code
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    dims, rank = _ffi.int64_array(a.shape)
    out = _c_void_p()
    check(F.loom_tensor_from_host(a.ctypes.data_as(P), a.nbytes, dims, rank, own, _byref(out)), where)
    t = _wrap(out)
    return t.cast(BF16) if code == BF16 else t


def _from_buffer(view, code, where, arg):
    fmt = view.format.lstrip("<=@!")
    if view.format[:1] in (">", "!"):
        raise TypeError(f"{where}: {arg} is a big-endian buffer; convert it with NumPy first")
    if fmt == "l" or fmt == "L":
        fmt = "q" if view.itemsize == 8 else "i"
    own = _BUFFER_FORMATS.get(fmt)
    if own is None:
        raise TypeError(f"{where}: {arg} is a buffer of format {view.format!r}, which has no loom dtype")
    if fmt in ("b", "h", "H", "I"):  # widen through Python values
        return _from_flat(view.tolist() if view.ndim <= 1 else _flatten_view(view), tuple(view.shape),
                          own if code is None else code, where, arg)
    raw = view.tobytes()
    dims, rank = _ffi.int64_array(view.shape)
    out = _c_void_p()
    check(F.loom_tensor_from_host(raw, len(raw), dims, rank, own, _byref(out)), where)
    t = _wrap(out)
    return t if code is None or code == own else t.cast(code)


def _flatten_view(view):
    flat = []

    def walk(x):
        if isinstance(x, list):
            for e in x:
                walk(e)
        else:
            flat.append(x)

    walk(view.tolist())
    return flat


def _operand(value, like_code, where, arg):
    """`value` as a tensor for an operator or op whose other input has dtype `like_code`: Python
    scalars and lists take that dtype (a non-integral float with an integer tensor: float32)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float)) or (np is not None and isinstance(value, np.generic) and not
                                                 isinstance(value, np.ndarray)):
        k = _kind(value)
        if k is None:
            raise TypeError(f"{where}: {arg} must be a tensor, an array or a number, got {_describe(value)}")
        code = like_code
        if k == "f" and like_code in (I32_, I64_, U8, BOOL) and not float(value).is_integer():
            code = F32
        elif k in ("i", "b") and like_code == BOOL and value not in (0, 1):
            code = I64_
        if k != "b" and isinstance(value, (int, float)) and code in (F32, F64, F16, BF16, I32_, I64_, U8):
            if not (k == "i" and abs(value) > (1 << 53)):
                if code in _INT_RANGES:
                    lo, hi = _INT_RANGES[code]
                    if not lo <= value <= hi:
                        raise ValueError(f"{where}: {arg} = {value} is out of the range of {_DTYPE_NAMES[code]}")
                out = _c_void_p()
                check(_f_fill(None, 0, float(value), code, _byref(out)), where)
                return _wrap(out)
        return _scalar(value, code, where, arg)
    if isinstance(value, (list, tuple)) and not any(isinstance(e, Tensor) for e in value):
        return tensor(value, None, where, arg) if like_code is None else _list_like(value, like_code, where, arg)
    if np is not None and isinstance(value, np.ndarray) and like_code is not None:
        # an array meeting a tensor takes its dtype when that keeps the kind of number (float64
        # arrays with float32 tensors, int arrays with float tensors), as TensorFlow converts
        kind = value.dtype.kind
        float_like = like_code in (F32, F64, F16, BF16)
        if (kind == "f" and float_like) or (kind in "iu" and (float_like or like_code in (I32_, I64_))) or (
                kind == "b" and like_code == BOOL):
            return tensor(value, like_code, where, arg)
    return tensor(value, None, where, arg)


def _list_like(value, like_code, where, arg):
    t = tensor(value, None, where, arg)
    code = _dtype_code_of(t._h)
    if code == like_code:
        return t
    float_like = like_code in (F32, F64, F16, BF16)
    if (code in (I64_, BOOL) and float_like) or (code == I64_ and like_code in (I32_, U8)) or \
            (code == F32 and float_like):
        return t.cast(like_code)
    return t


def _binary(fn, a, b, swap, where):
    """a (op) b, or b (op) a when `swap`: `fn` is a typed C function or an op name (bytes)."""
    if not isinstance(b, Tensor):
        if b is None or isinstance(b, (str, bytes, dict, set)):
            return NotImplemented
        a_code = _dtype_code_of(a._h, where)
        try:
            b = _operand(b, a_code, where, "other")
        except TypeError:
            return NotImplemented
        if a_code in (I32_, I64_, U8) and _dtype_code_of(b._h, where) == F32:
            a = a.cast(F32)  # an integer tensor and a non-integral Python float: float32, as NumPy promotes
    x, y = (b, a) if swap else (a, b)
    if isinstance(fn, bytes):
        return call_op(fn, [x, y], None, 1, where)[0]
    out = _c_void_p()
    status = fn(x._h, y._h, _byref(out))
    if status:
        raise_for(status, where)
    return _wrap(out)


def _compare(name, a, b, where):
    if not isinstance(b, Tensor):
        if b is None or isinstance(b, (str, bytes, dict, set)):
            return NotImplemented
        try:
            b = _operand(b, _dtype_code_of(a._h, where), where, "other")
        except (TypeError, ValueError):
            return NotImplemented
    return call_op(name, [a, b], None, 1, where)[0]


def _unary(name, x, where):
    return call_op(name, [x], None, 1, where)[0]


def _matmul(a, b, swap, where):
    if not isinstance(b, Tensor):
        if b is None or isinstance(b, (str, bytes, dict, set)):
            return NotImplemented
        b = _operand(b, _dtype_code_of(a._h, where), where, "other")
    x, y = (b, a) if swap else (a, b)
    out = _c_void_p()
    check(F.loom_matmul(x._h, y._h, 0, 0, _byref(out)), where)
    return _wrap(out)


def _reshape(x, shape, where):
    shape = _int_list(shape, where, "shape")
    dims, rank = _ffi.int64_array(shape)
    out = _c_void_p()
    check(F.loom_reshape(x._h, dims, rank, _byref(out)), where)
    return _wrap(out)


def _transpose(x, perm, where):
    out = _c_void_p()
    if perm is None:
        check(F.loom_transpose(x._h, None, 0, _byref(out)), where)
    else:
        dims, n = _ffi.int64_array(_int_list(perm, where, "perm"))
        check(F.loom_transpose(x._h, dims, n, _byref(out)), where)
    return _wrap(out)


def reduce_op(name, x, axis, keepdims, where):
    items = [("keepdims", "bool", bool(keepdims))]
    if axis is not None:
        axes = [axis] if _is_int(axis) else axis
        items.append(("axes", "int list", _int_list(axes, where, "axis")))
    attrs = make_attrs(items, where)
    return call_op(name, [x], attrs, 1, where)[0]


def _is_int(v):
    return (isinstance(v, int) and not isinstance(v, bool)) or (np is not None and isinstance(v, np.integer))


def _int_list(values, where, arg):
    if _is_int(values):
        raise TypeError(f"{where}: {arg} must be a list of ints, got an int ({values}); write [{values}]")
    if isinstance(values, Tensor):
        values = values.tolist()
    elif np is not None and isinstance(values, np.ndarray):
        values = values.tolist()
    try:
        items = list(values)
    except TypeError:
        raise TypeError(f"{where}: {arg} must be a list of ints, got {_describe(values)}") from None
    out = []
    for i, v in enumerate(items):
        if not _is_int(v):
            raise TypeError(f"{where}: {arg}[{i}] must be an int, got {_describe(v)} {v!r:.30}")
        v = int(v)
        if not -(1 << 63) <= v < (1 << 63):
            raise ValueError(f"{where}: {arg}[{i}] = {v} is out of the range of int64")
        out.append(v)
    return out


# ---------------------------------------------------------------------------------------------
# Attributes and the op call
# ---------------------------------------------------------------------------------------------
class Attrs:
    """A loom_attrs handle (released with the object)."""

    __slots__ = ("_h",)

    def __init__(self):
        self._h = None
        h = _c_void_p()
        check(F.loom_attrs_new(_byref(h)), "loom (attributes)")
        self._h = h

    def __del__(self, _release=F.loom_attrs_release):
        h = getattr(self, "_h", None)
        if h is not None:
            self._h = None
            _release(h)


_ATTR_CACHE = {}
_ATTR_CACHE_LIMIT = 512


def _freeze(value):
    return tuple(value) if isinstance(value, list) else value


def make_attrs(items, where):
    """An Attrs handle for [(name, type, value)] with type one of the schema's ("int", "float",
    "bool", "string", "int list", "float list", "dtype"), values already checked. Cached: attrs
    are never changed after they are made."""
    if not items:
        return None
    key = tuple((n, t, _freeze(v)) for n, t, v in items)
    try:
        cached = _ATTR_CACHE.get(key)
    except TypeError:
        cached, key = None, None
    if cached is not None:
        return cached
    attrs = Attrs()
    h = attrs._h
    for name, kind, value in items:
        bname = name.encode()
        if kind == "int":
            status = F.loom_attrs_set_int(h, bname, int(value))
        elif kind == "float":
            status = F.loom_attrs_set_float(h, bname, float(value))
        elif kind == "bool":
            status = F.loom_attrs_set_bool(h, bname, 1 if value else 0)
        elif kind == "string":
            status = F.loom_attrs_set_string(h, bname, value.encode())
        elif kind == "int list":
            arr, n = _ffi.int64_array(value)
            status = F.loom_attrs_set_int_list(h, bname, arr, n)
        elif kind == "float list":
            arr = (ctypes.c_double * max(1, len(value)))(*[float(v) for v in value])
            status = F.loom_attrs_set_float_list(h, bname, arr, len(value))
        elif kind == "dtype":
            status = F.loom_attrs_set_dtype(h, bname, int(value))
        else:  # pragma: no cover - schema types are fixed
            raise TypeError(f"{where}: attribute '{name}' has an unknown type {kind!r}")
        check(status, f"{where} (attribute '{name}')")
    if key is not None:
        if len(_ATTR_CACHE) >= _ATTR_CACHE_LIMIT:
            _ATTR_CACHE.clear()
        _ATTR_CACHE[key] = attrs
    return attrs


def config_attrs(config, where):
    """An Attrs handle from a {name: Python value} config (types inferred from the values), for
    layers, optimizers, losses and fit options; None values are left out."""
    items = []
    for name, value in config.items():
        if value is None:
            continue
        if isinstance(value, bool) or (np is not None and isinstance(value, np.bool_)):
            items.append((name, "bool", bool(value)))
        elif _is_int(value):
            v = int(value)
            if not -(1 << 63) <= v < (1 << 63):
                raise ValueError(f"{where}: {name} = {v} is out of the range of int64")
            items.append((name, "int", v))
        elif isinstance(value, numbers.Real):
            items.append((name, "float", float(value)))
        elif isinstance(value, DType):
            items.append((name, "dtype", value.code))
        elif isinstance(value, str):
            items.append((name, "string", value))
        elif isinstance(value, (list, tuple)):
            if all(_is_int(v) for v in value):
                items.append((name, "int list", _int_list(value, where, name)))
            elif all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value):
                items.append((name, "float list", [float(v) for v in value]))
            else:
                raise TypeError(f"{where}: {name} must be a number, a string, a bool or a list of numbers, got "
                                f"{value!r:.60}")
        else:
            raise TypeError(f"{where}: {name} must be a number, a string, a bool or a list of numbers, got "
                            f"{_describe(value)}")
    return make_attrs(items, where)


def call_op(name, inputs, attrs, capacity, where):
    """Runs op `name` (bytes) on Tensors `inputs` with an Attrs (or None); returns the list of
    outputs. `capacity` is the most outputs expected."""
    n = len(inputs)
    if n == 1:
        ins = (P * 1)(inputs[0]._h)
    else:
        ins = (P * max(1, n))(*[t._h for t in inputs])
    outs = (P * capacity)()
    count = I32()
    status = _f_op_call(name, ins, n, None if attrs is None else attrs._h, outs, capacity, _byref(count))
    if status:
        raise_for(status, where)
    return [_wrap(_c_void_p(outs[i])) for i in range(count.value)]


# ---------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------
_OPEN_LOW, _OPEN_HIGH = -(1 << 63), (1 << 63) - 1


def _index_int(k):
    if isinstance(k, bool):
        return None
    if isinstance(k, int):
        return k
    if np is not None and isinstance(k, np.integer):
        return int(k)
    if isinstance(k, Tensor) and not isinstance(k, type(None)):
        return None
    if hasattr(k, "__index__") and not isinstance(k, (list, tuple)):
        try:
            return operator.index(k)
        except TypeError:
            return None
    return None


def _slice_bounds(k, where):
    step = 1 if k.step is None else _index_int(k.step)
    if step is None:
        raise TypeError(f"{where}: slice step must be an int, got {_describe(k.step)}")
    if step == 0:
        raise ValueError(f"{where}: slice step cannot be zero")
    start = k.start if k.start is None else _index_int(k.start)
    stop = k.stop if k.stop is None else _index_int(k.stop)
    if (k.start is not None and start is None) or (k.stop is not None and stop is None):
        raise TypeError(f"{where}: slice bounds must be ints or None, got {k!r}")
    if start is None:
        start = _OPEN_LOW if step > 0 else _OPEN_HIGH
    if stop is None:
        stop = _OPEN_HIGH if step > 0 else _OPEN_LOW
    return start, stop, step


def _expand_key(key, rank, where):
    """The key as one entry per axis plus None entries (new axes)."""
    if not isinstance(key, tuple):
        key = (key,)
    n_ellipsis = sum(1 for k in key if k is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError(f"{where}: an index can only have a single ellipsis ('...')")
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    if consumed > rank:
        raise IndexError(f"{where}: too many indices for a tensor of rank {rank}: {consumed} were given")
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * (rank - consumed))
        else:
            out.append(k)
    if n_ellipsis == 0:
        out.extend([slice(None)] * (rank - consumed))
    return out


def _advanced(k):
    """A list/array/tensor index (gather); bool masks become positions."""
    if isinstance(k, Tensor):
        return True
    if isinstance(k, (list, tuple)):
        return True
    return np is not None and isinstance(k, np.ndarray)


def _getitem(t, key):
    where = "loom.Tensor.__getitem__"
    shape = _shape_of(t._h, where)
    rank = len(shape)
    entries = _expand_key(key, rank, where)
    begin, end, step, shrink = [], [], [], []
    kinds = []  # per result axis source: "new" (None), "slice", "adv" (a gathered axis)
    gather = None  # (axis in the sliced result, index tensor)
    axis = 0
    changed = False
    for k in entries:
        if k is None:
            kinds.append("new")
            changed = True
            continue
        dim = shape[axis]
        i = _index_int(k)
        if i is not None:
            if not -dim <= i < dim:
                raise IndexError(f"{where}: index {i} is out of range for axis {axis} with size {dim}")
            begin.append(i)
            end.append(_OPEN_HIGH)
            step.append(1)
            shrink.append(axis)
            changed = True
        elif isinstance(k, slice):
            b, e, s = _slice_bounds(k, where)
            begin.append(b)
            end.append(e)
            step.append(s)
            kinds.append("slice")
            if not (s == 1 and (b == _OPEN_LOW or -dim >= b or b == 0) and (e == _OPEN_HIGH or e >= dim)):
                changed = True
        elif _advanced(k):
            if gather is not None:
                raise IndexError(f"{where}: only one list, array or tensor index is supported")
            indices = _gather_indices(k, dim, axis, where)
            begin.append(_OPEN_LOW)
            end.append(_OPEN_HIGH)
            step.append(1)
            gather = (sum(1 for x in kinds if x != "new"), indices)
            kinds.append("adv")
            changed = True
        else:
            raise TypeError(f"{where}: indices must be ints, slices, '...', None, or a list/array/tensor of ints, "
                            f"got {_describe(k)}")
        axis += 1
    if not changed:
        return t
    result = t
    if shrink or any(not (b == _OPEN_LOW and e == _OPEN_HIGH and s == 1) for b, e, s in zip(begin, end, step)):
        items = [("begin", "int list", begin), ("end", "int list", end), ("step", "int list", step)]
        if shrink:
            items.append(("shrink_axes", "int list", shrink))
        result = call_op(b"slice", [t], make_attrs(items, where), 1, where)[0]
    index_rank = 1
    if gather is not None:
        position, indices = gather
        index_rank = len(_shape_of(indices._h, where))
        result = call_op(b"gather", [result, indices], make_attrs([("axis", "int", position)], where), 1, where)[0]
    if "new" in kinds:
        dims = iter(_shape_of(result._h, where))
        final = []
        for kind in kinds:
            if kind == "new":
                final.append(1)
            elif kind == "slice":
                final.append(next(dims))
            else:
                final.extend(next(dims) for _ in range(index_rank))
        result = _reshape(result, final, where)
    return result


def _gather_indices(k, dim, axis, where):
    if isinstance(k, Tensor):
        code = _dtype_code_of(k._h, where)
        if code == BOOL:
            k = k.tolist()
        elif code not in (I32_, I64_):
            raise IndexError(f"{where}: a tensor index must hold integers or bools, got {DTYPES[code]}")
        else:
            return k
    values = k.tolist() if (np is not None and isinstance(k, np.ndarray)) else list(k)
    flat = values
    if values and all(isinstance(v, (bool,)) or (np is not None and isinstance(v, np.bool_)) for v in values):
        if len(values) != dim:
            raise IndexError(f"{where}: a boolean mask of length {len(values)} does not match axis {axis} of size {dim}")
        flat = [i for i, v in enumerate(values) if v]
    t = tensor(flat, I64_, where, "index")

    def check_range(v):
        if isinstance(v, list):
            return [check_range(e) for e in v]
        if not _is_int(v):
            raise IndexError(f"{where}: list indices must be ints, got {_describe(v)}")
        if not -dim <= v < dim:
            raise IndexError(f"{where}: index {v} is out of range for axis {axis} with size {dim}")
        return v + dim if v < 0 else v

    return tensor(check_range(t.tolist()), I64_, where, "index")


# ---------------------------------------------------------------------------------------------
# repr: values, summarised like NumPy for large tensors
# ---------------------------------------------------------------------------------------------
_THRESHOLD = 1000
_EDGE = 3


def _format_values(t, shape, dtype):
    n = _numel(shape)
    if n == 0:
        return "[]" * max(1, len(shape)) if shape else "[]"
    summarise = n > _THRESHOLD
    small = t
    cut = [False] * len(shape)
    if summarise:
        for axis, dim in enumerate(shape):
            if dim > 2 * _EDGE:
                cut[axis] = True
                head = _getitem(small, (slice(None),) * axis + (slice(0, _EDGE),))
                tail = _getitem(small, (slice(None),) * axis + (slice(-_EDGE, None),))
                small = call_op(b"concat", [head, tail], make_attrs([("axis", "int", axis)], "repr"), 1, "repr")[0]
    values = small.tolist()
    code = dtype.code
    precision = 15 if code == F64 else 7 if code in (F32,) else 4

    def fmt(v):
        if isinstance(v, bool):
            return "True" if v else "False"
        if isinstance(v, int):
            return str(v)
        if v != v:
            return "nan"
        if v in (math.inf, -math.inf):
            return "inf" if v > 0 else "-inf"
        text = f"{v:.{precision}g}"
        if "e" not in text and "." not in text:
            text += "."
        return text

    def render(v, depth, indent):
        if depth == len(shape):
            return fmt(v)
        items = [render(e, depth + 1, indent + 1) for e in v]
        if cut[depth]:
            items = items[:_EDGE] + ["..."] + items[_EDGE:]
        if depth == len(shape) - 1:
            return "[" + ", ".join(items) + "]"
        sep = "," + "\n" * (len(shape) - depth - 1) + " " * (indent + 1)
        return "[" + sep.join(items) + "]"

    if not shape:
        return fmt(values)
    text = render(values, 0, len("loom.Tensor("))
    if "\n" in text and len(text) < 72 and n <= 16:
        text = text.replace("\n", "").replace(",  ", ", ")
        text = " ".join(text.split())
    return text
