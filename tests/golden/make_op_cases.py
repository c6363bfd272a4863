#!/usr/bin/env python3
"""Writes op_cases.json: forward test cases for every loom op, with expected values from NumPy.

Run with Debian's python3 (python3-numpy):  /usr/bin/python3 tests/golden/make_op_cases.py
Each case: op name, inputs (dtype, shape, values, layout), attributes, then either the expected
outputs or the expected error class and a fragment of its message. Cases with "grad" are also
gradient checks: tests/test_gradients.cpp compares their float64 gradients (first, and second
unless "grad" is "first") with finite differences, and the GPU tests compare them with the CPU's.
This file and make_nn_cases.py are the one table of op cases. The C++ harness
(tests/test_op_cases.cpp) builds the inputs (layout "transposed"/"strided" gives non-contiguous
views of the same values), calls the op through the registry and compares.
"""
import math
import os

import numpy as np
from golden_json import write_cases

rng = np.random.default_rng(20261127)
cases = []

FLOATS = ["float32", "float64"]
SIGNED_INTS = ["int32", "int64"]
INTS = ["int32", "int64", "uint8"]
NUMERIC = FLOATS + INTS
SIGNED = FLOATS + SIGNED_INTS
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def values(shape, dtype, low=-3.0, high=3.0):
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype in ("int32", "int64"):
        return rng.integers(int(low), int(high) + 1, size=shape).astype(dtype)
    if dtype == "uint8":
        return rng.integers(max(0, int(low)), max(1, int(high)) + 1, size=shape).astype(np.uint8)
    return rng.uniform(low, high, size=shape).astype(dtype)


def plain(v, dtype):
    # JSON has no inf/nan: they travel as strings. Shortest round-trip text keeps the file small.
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if dtype in ("float32", "float16"):
        return float(np.format_float_positional(np.float32(v), unique=True, trim="-"))
    return v


def tensor(a, layout="contiguous"):
    a = np.asarray(a)
    dtype = str(a.dtype)
    vals = [plain(v, dtype) for v in a.ravel().tolist()]
    if dtype == "bool":
        vals = [int(v) for v in vals]
    return {"dtype": dtype, "shape": list(a.shape), "values": vals, "layout": layout}


def add(op, inputs, attrs=None, outputs=None, error=None, message=None, layouts=None, tol=None, grad=None):
    case = {"op": op, "attrs": attrs or {},
            "inputs": [tensor(x, (layouts or {}).get(i, "contiguous")) for i, x in enumerate(inputs)]}
    if grad:  # also a finite-difference gradient check: "second" (first and second order) or "first"
        case["grad"] = grad
    if error:
        case["error"] = error
        case["message"] = message or ""
    else:
        case["outputs"] = [tensor(np.asarray(o)) for o in outputs]
    if tol:
        case["tol"] = tol
    cases.append(case)


def dtype_error(op, inputs, attrs=None):
    add(op, inputs, attrs, error="DTypeError", message="[" + op)


# ---- binary elementwise (broadcasting edge cases: scalar, row, column, 0-d, empty) ----
BROADCAST_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1), (1, 5)), ((), (2, 2)),
                    ((2, 1, 3), (4, 1)), ((0, 3), (3,)), ((3,), ())]


def binary_cases(op, fn, dtypes, lo=-3, hi=3, b_lo=None, b_hi=None, nonzero_b=False):
    for dtype in dtypes:
        for i, (sa, sb) in enumerate(BROADCAST_SHAPES):
            a = values(sa, dtype, lo, hi)
            b = values(sb, dtype, lo if b_lo is None else b_lo, hi if b_hi is None else b_hi)
            if nonzero_b:
                b = np.where(b == 0, np.ones_like(b), b)
            with np.errstate(all="ignore"):
                out = np.asarray(fn(a, b)).astype(a.dtype if op not in ("div",) else fn(a, b).dtype)
            layouts = {0: "transposed"} if i == 0 else ({0: "strided"} if i == 1 else None)
            add(op, [a, b], outputs=[out], layouts=layouts)
    add(op, [values((2, 3), dtypes[0]), values((4,), dtypes[0])], error="ShapeError",
        message="not broadcastable")
    add(op, [values((2,), dtypes[0]), values((2,), "float64" if dtypes[0] != "float64" else "float32")],
        error="DTypeError", message="dtype mismatch")


binary_cases("add", np.add, NUMERIC, 0, 9)
binary_cases("sub", np.subtract, NUMERIC, 5, 9, 0, 4)
binary_cases("mul", np.multiply, NUMERIC, 0, 9)
binary_cases("maximum", np.maximum, NUMERIC)
binary_cases("minimum", np.minimum, NUMERIC)
binary_cases("floor_div", np.floor_divide, NUMERIC, 0, 9, 1, 4, nonzero_b=True)
binary_cases("mod", np.mod, SIGNED, -9, 9, nonzero_b=True)
binary_cases("pow", np.power, FLOATS, 0.1, 3)
binary_cases("real_div", np.divide, FLOATS, nonzero_b=True)
for dtype in FLOATS:
    a, b = values((2, 3), dtype), values((3,), dtype, 0.5, 2)
    add("div", [a, b], outputs=[a / b])
add("div", [np.array([7, -7, 3], np.int64), np.array([2, 2, 4], np.int64)],
    outputs=[np.array([3.5, -3.5, 0.75])])
add("div", [np.array([7, 9], np.int32), np.array([2, 4], np.int32)], outputs=[np.array([3.5, 2.25])])
add("div", [np.array([7, 9], np.uint8), np.array([2, 4], np.uint8)],
    outputs=[np.array([3.5, 2.25], np.float32)])
add("div", [np.array([1.0], np.float32), np.array([1], np.int64)], error="DTypeError", message="mismatch")
add("mod", [np.array([7, -7, 7, -7], np.int64), np.array([3, 3, -3, -3], np.int64)],
    outputs=[np.array([1, 2, -2, -1], np.int64)])
add("floor_div", [np.array([7, -7, 7, -7], np.int32), np.array([2, 2, -2, -2], np.int32)],
    outputs=[np.array([3, -4, -4, 3], np.int32)])
add("floor_div", [np.array([1, 2], np.int64), np.array([1, 0], np.int64)], error="InvalidArgument",
    message="division by zero")
add("mod", [np.array([1, 2], np.int32), np.array([0, 1], np.int32)], error="InvalidArgument",
    message="division by zero")
add("pow", [np.array([2, 3, -2], np.int64), np.array([10, 3, 3], np.int64)],
    outputs=[np.array([1024, 27, -8], np.int64)])
add("pow", [np.array([2], np.int32), np.array([-1], np.int32)], error="InvalidArgument",
    message="negative integer powers")
dtype_error("real_div", [values((2,), "int64"), values((2,), "int64")])
dtype_error("add", [values((2,), "bool"), values((2,), "bool")])

# ---- unary ----
def sigmoid(x):
    return (1 / (1 + np.exp(-x.astype(np.float64)))).astype(x.dtype)


UNARY = [
    ("neg", np.negative, SIGNED, -3, 3), ("abs", np.abs, SIGNED, -3, 3),
    ("sign", np.sign, SIGNED, -3, 3), ("square", np.square, NUMERIC, -3, 3),
    ("relu", lambda x: np.maximum(x, 0).astype(x.dtype), SIGNED, -3, 3),
    ("exp", np.exp, FLOATS, -3, 3), ("log", np.log, FLOATS, 0.1, 5),
    ("log1p", np.log1p, FLOATS, -0.5, 3), ("sqrt", np.sqrt, FLOATS, 0, 5),
    ("rsqrt", lambda x: (1 / np.sqrt(x)).astype(x.dtype), FLOATS, 0.2, 5),
    ("sin", np.sin, FLOATS, -4, 4), ("cos", np.cos, FLOATS, -4, 4),
    ("tanh", np.tanh, FLOATS, -4, 4), ("sigmoid", sigmoid, FLOATS, -8, 8),
    ("identity", lambda x: x, NUMERIC + ["bool"], -3, 3),
]
for op, fn, dtypes, lo, hi in UNARY:
    for dtype in dtypes:
        for shape, layout in (((2, 3), "transposed"), ((5,), "strided"), ((), "contiguous"),
                              ((0, 2), "contiguous")):
            x = values(shape, dtype, lo, hi)
            add(op, [x], outputs=[np.asarray(fn(x)).astype(x.dtype)], layouts={0: layout})
    if "int64" not in dtypes:
        dtype_error(op, [values((2,), "int64")])
    elif "uint8" not in dtypes:
        dtype_error(op, [values((2,), "uint8")])
add("sigmoid", [np.array([-800.0, 800.0])], outputs=[np.array([0.0, 1.0])])
add("sign", [np.array([-0.0, 0.0, 2.5])], outputs=[np.array([-0.0, 0.0, 1.0])])
for dtype in NUMERIC:
    x = values((3, 4), dtype, 0, 9)
    add("clip", [x], {"min": 2, "max": 6}, outputs=[np.clip(x, 2, 6)], layouts={0: "transposed"})
add("clip", [np.array([1.0])], {"min": 3.0, "max": 1.0}, error="InvalidArgument", message="greater than max")
add("clip", [np.array([1.0])], {"min": 0.0}, error="InvalidArgument", message="missing required attribute 'max'")
add("clip", [np.array([1.0])], {"min": 0.0, "max": 1.0, "mx": 2.0}, error="InvalidArgument",
    message="unknown attribute 'mx'")
add("clip", [np.array([1.0])], {"min": "zero", "max": 1.0}, error="InvalidArgument",
    message="'min' must be a float")

# ---- cast ----
ALL = NUMERIC + ["bool"]
for src in ALL:
    x = values((2, 3), src, 0, 5)
    for dst in ALL:
        add("cast", [x], {"dtype": dst}, outputs=[x.astype(dst)], layouts={0: "transposed"})
add("cast", [np.array([-1.7, 2.9, 0.0])], {"dtype": "int32"}, outputs=[np.array([-1, 2, 0], np.int32)])
add("cast", [np.array([1.0, 65504.0, 1e-8])], {"dtype": "float16"},
    outputs=[np.array([1.0, 65504.0, 1e-8], np.float16)])
add("cast", [np.array([1.5], np.float32)], {"dtype": "complex"}, error="InvalidArgument", message="unknown dtype")

# ---- comparisons and logic ----
for op, fn in (("equal", np.equal), ("not_equal", np.not_equal), ("less", np.less),
               ("less_equal", np.less_equal), ("greater", np.greater),
               ("greater_equal", np.greater_equal)):
    for dtype in ALL:
        a, b = values((2, 3), dtype, 0, 2), values((3,), dtype, 0, 2)
        add(op, [a, b], outputs=[fn(a, b)], layouts={0: "transposed"})
    add(op, [values((2,), "float32"), values((3,), "float32")], error="ShapeError", message="not broadcastable")
for op, fn in (("logical_and", np.logical_and), ("logical_or", np.logical_or)):
    a, b = values((4, 1), "bool"), values((3,), "bool")
    add(op, [a, b], outputs=[fn(a, b)])
    dtype_error(op, [values((2,), "float32"), values((2,), "float32")])
x = values((2, 3), "bool")
add("logical_not", [x], outputs=[np.logical_not(x)], layouts={0: "transposed"})
dtype_error("logical_not", [values((2,), "int32")])
for dtype in ALL:
    c, a, b = values((2, 1), "bool"), values((3,), dtype), values((2, 3), dtype)
    add("where", [c, a, b], outputs=[np.where(c, a, b)])
add("where", [values((2,), "float32"), values((2,), "float32"), values((2,), "float32")],
    error="DTypeError", message="input 0")
add("where", [values((2,), "bool"), values((2,), "float32"), values((2,), "float64")],
    error="DTypeError", message="one dtype")

# ---- reductions ----
def reduce_cases(op, fn, dtypes, lo=-3, hi=3):
    for dtype in dtypes:
        x = values((2, 3, 4), dtype, lo, hi)
        for axes in (None, [0], [1], [2], [-1], [0, 2], [0, 1], [1, 2], []):
            for keep in (False, True):
                attrs = {"keepdims": keep}
                if axes is not None:
                    attrs["axes"] = axes
                out = fn(x, axis=None if axes is None else tuple(axes), keepdims=keep)
                add(op, [x], attrs, outputs=[np.asarray(out).astype(x.dtype if dtype != "bool" else bool)],
                    layouts={0: "transposed" if keep else "contiguous"})
    add(op, [values((2, 3), dtypes[0], lo, hi)], {"axes": [2]}, error="InvalidArgument", message="out of range")
    add(op, [values((2, 3), dtypes[0], lo, hi)], {"axes": [0, 0]}, error="InvalidArgument", message="duplicate")


reduce_cases("reduce_sum", np.sum, NUMERIC, 0, 5)
reduce_cases("reduce_prod", np.prod, NUMERIC, 1, 3)
reduce_cases("reduce_max", np.max, NUMERIC)
reduce_cases("reduce_min", np.min, NUMERIC)
reduce_cases("reduce_all", np.all, ["bool"])
reduce_cases("reduce_any", np.any, ["bool"])
for dtype in FLOATS:
    reduce_cases("reduce_mean", np.mean, [dtype])
add("reduce_mean", [np.array([1, 2, 4], np.int64)], {}, outputs=[np.array(2, np.int64)])
add("reduce_sum", [np.zeros((0, 3), np.float32)], {"axes": [0]}, outputs=[np.zeros(3, np.float32)])
add("reduce_prod", [np.zeros((0, 3), np.float32)], {"axes": [0]}, outputs=[np.ones(3, np.float32)])
add("reduce_max", [np.zeros((0, 2), np.float32)], {"axes": [0]}, outputs=[np.full(2, -np.inf, np.float32)])
add("reduce_sum", [np.array(5.0)], {}, outputs=[np.array(5.0)])
dtype_error("reduce_all", [values((2,), "float32")])
dtype_error("reduce_sum", [values((2,), "bool")])
for op, fn in (("argmax", np.argmax), ("argmin", np.argmin)):
    for dtype in NUMERIC:
        x = values((3, 4, 2), dtype, 0, 3)
        for axis in (0, 1, 2, -1):
            add(op, [x], {"axis": axis}, outputs=[fn(x, axis=axis).astype(np.int64)], layouts={0: "transposed"})
        add(op, [x], {"axis": 1, "keepdims": True}, outputs=[np.expand_dims(fn(x, axis=1), 1).astype(np.int64)])
    add(op, [np.zeros((2, 0), np.float32)], {"axis": 1}, error="InvalidArgument", message="empty axis")
    add(op, [np.zeros((2, 2), np.float32)], {"axis": 3}, error="InvalidArgument", message="out of range")
for ord_, fn in (("euclidean", lambda x, a, k: np.sqrt(np.sum(x * x, axis=a, keepdims=k))),
                 ("1", lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k)),
                 ("inf", lambda x, a, k: np.max(np.abs(x), axis=a, keepdims=k))):
    for dtype in FLOATS:
        x = values((3, 4), dtype)
        add("norm", [x], {"ord": ord_}, outputs=[fn(x, None, False).astype(dtype)])
        add("norm", [x], {"ord": ord_, "axes": [1], "keepdims": True}, outputs=[fn(x, 1, True).astype(dtype)])
add("norm", [values((3,), "float32")], {"ord": "fro2"}, error="InvalidArgument", message="unknown ord")
dtype_error("norm", [values((3,), "int64")])

# ---- matmul ----
for dtype in FLOATS + SIGNED_INTS:
    for sa, sb, ta, tb in (((2, 3), (3, 4), False, False), ((3, 2), (3, 4), True, False),
                           ((2, 3), (4, 3), False, True), ((3, 2), (4, 3), True, True),
                           ((5, 2, 3), (3, 4), False, False), ((2, 3), (5, 3, 4), False, False),
                           ((2, 1, 2, 3), (3, 3, 2), False, False), ((1, 3), (3, 1), False, False),
                           ((2, 0), (0, 3), False, False), ((0, 3), (3, 2), False, False)):
        a, b = values(sa, dtype), values(sb, dtype)
        A = np.swapaxes(a, -1, -2) if ta else a
        B = np.swapaxes(b, -1, -2) if tb else b
        attrs = {"transpose_a": ta, "transpose_b": tb}
        add("matmul", [a, b], attrs, outputs=[np.matmul(A, B).astype(dtype)])
        if len(sa) == 2 and len(sb) == 2:
            add("matmul", [a, b], attrs, outputs=[np.matmul(A, B).astype(dtype)],
                layouts={0: "transposed", 1: "strided"})
add("matmul", [values((2, 3), "float32"), values((4, 2), "float32")], error="ShapeError", message="inner dimensions")
add("matmul", [values((3,), "float32"), values((3, 2), "float32")], error="ShapeError", message="rank >= 2")
add("matmul", [values((2, 2, 3), "float32"), values((3, 3, 2), "float32")], error="ShapeError",
    message="the batch dimensions of (2, 2, 3) and (3, 3, 2) do not broadcast")
add("matmul", [values((2, 2), "float32"), values((2, 2), "float64")], error="DTypeError", message="mismatch")
dtype_error("matmul", [values((2, 2), "uint8"), values((2, 2), "uint8")])

# ---- views ----
x = values((2, 3, 4), "float32")
for shape, want in (([4, 6], (4, 6)), ([-1, 4], (6, 4)), ([3, -1], (3, 8)), ([24], (24,)),
                    ([2, 3, 2, 2], (2, 3, 2, 2))):
    add("reshape", [x], {"shape": shape}, outputs=[x.reshape(want)])
    add("reshape", [x], {"shape": shape}, outputs=[x.reshape(want)], layouts={0: "transposed"})
add("reshape", [np.array(3.0)], {"shape": [1, 1]}, outputs=[np.array([[3.0]])])
add("reshape", [np.zeros((0, 3))], {"shape": [3, 0]}, outputs=[np.zeros((3, 0))])
add("reshape", [x], {"shape": [5, -1]}, error="ShapeError", message="cannot reshape")
add("reshape", [x], {"shape": [-1, -1]}, error="ShapeError", message="only one")
add("reshape", [x], {"shape": [7, 4]}, error="ShapeError", message="cannot reshape")
for perm in ([], [1, 0, 2], [2, 0, 1], [-1, 0, 1]):
    want = np.transpose(x, perm if perm else None)
    add("transpose", [x], {"perm": perm} if perm else {}, outputs=[want])
add("transpose", [x], {"perm": [0, 0, 1]}, error="InvalidArgument", message="not a permutation")
add("transpose", [x], {"perm": [0, 1]}, error="InvalidArgument", message="entries")
for axis in (0, 1, 3, -1, -4):
    add("expand_dims", [x], {"axis": axis}, outputs=[np.expand_dims(x, axis)], layouts={0: "transposed"})
add("expand_dims", [x], {"axis": 4}, error="InvalidArgument", message="out of range")
y = values((1, 3, 1, 2), "int64")
add("squeeze", [y], {}, outputs=[np.squeeze(y)])
add("squeeze", [y], {"axes": [0]}, outputs=[np.squeeze(y, 0)])
add("squeeze", [y], {"axes": [-2, 0]}, outputs=[np.squeeze(y, (0, 2))])
add("squeeze", [y], {"axes": [1]}, error="ShapeError", message="size is not 1")
for src, dst in (((3,), [2, 3]), ((2, 1), [2, 4]), ((), [2, 2]), ((1, 3), [4, 2, 3]), ((2, 3), [2, 3])):
    v = values(src, "float64")
    add("broadcast_to", [v], {"shape": dst}, outputs=[np.broadcast_to(v, dst)])
add("broadcast_to", [values((3,), "float32")], {"shape": [2, 4]}, error="ShapeError", message="broadcast")
add("broadcast_to", [values((2, 3), "float32")], {"shape": [3]}, error="ShapeError", message="cannot broadcast")

def py_slice(arr, begin, end, step, shrink=()):
    idx = []
    for i, (b, e, s) in enumerate(zip(begin, end, step)):
        if i in shrink:
            idx.append(b)
        else:
            idx.append(slice(None if b in (INT64_MIN, INT64_MAX) else b,
                             None if e in (INT64_MIN, INT64_MAX) else e, s))
    return arr[tuple(idx)]

m = values((5, 6), "float32")
for begin, end, step, shrink in (([1, 0], [3, 6], [1, 1], []), ([-2, 1], [INT64_MAX, -1], [1, 2], []),
                                 ([INT64_MAX, INT64_MAX], [INT64_MIN, INT64_MIN], [-1, -2], []),
                                 ([4, 2], [1, 100], [-1, 1], []), ([2, 0], [3, 6], [1, 1], [0]),
                                 ([-1, -3], [0, -2], [1, 1], [0, 1]), ([10, 0], [20, 6], [1, 1], []),
                                 ([3, 0], [1, 6], [1, 1], [])):
    attrs = {"begin": begin, "end": end, "step": step}
    if shrink:
        attrs["shrink_axes"] = shrink
    add("slice", [m], attrs, outputs=[py_slice(m, begin, end, step, shrink)], layouts={0: "transposed"})
add("slice", [m], {"begin": [7, 0], "end": [8, 1], "shrink_axes": [0]}, error="InvalidArgument", message="out of range")
add("slice", [m], {"begin": [0, 0], "end": [1, 1], "step": [0, 1]}, error="InvalidArgument", message="step cannot be 0")
add("slice", [m], {"begin": [0], "end": [1]}, error="InvalidArgument", message="one per axis")
g = values((2, 3), "float64")
sg = np.zeros((5, 6))
sg[1:5:2, 0:6:2] = g
add("slice_grad", [g], {"shape": [5, 6], "begin": [1, 0], "end": [5, 6], "step": [2, 2]}, outputs=[sg])

# ---- join ----
for dtype in ALL:
    a, b = values((2, 3), dtype), values((2, 1), dtype)
    add("concat", [a, b], {"axis": 1}, outputs=[np.concatenate([a, b], 1)], layouts={0: "transposed"})
    add("concat", [a, a, a], {"axis": 0}, outputs=[np.concatenate([a, a, a], 0)])
add("concat", [values((2, 3), "float32"), values((3, 3), "float32")], {"axis": 1}, error="ShapeError", message="does not match values[0] (2, 3)")
add("concat", [values((2, 3), "float32"), values((2, 3), "int32")], {"axis": 0}, error="DTypeError", message="mismatch")
e0, e1 = values((0, 3), "float32"), values((2, 3), "float32")
add("concat", [e0, e1], {"axis": 0}, outputs=[np.concatenate([e0, e1])])
add("concat", [np.array(1.0), np.array(2.0)], {"axis": 0}, error="ShapeError", message="0-d")
for axis in (0, 1, 2, -1):
    a, b = values((2, 3), "int64"), values((2, 3), "int64")
    add("stack", [a, b], {"axis": axis}, outputs=[np.stack([a, b], axis)])
add("stack", [values((2,), "float32"), values((3,), "float32")], {"axis": 0}, error="ShapeError", message="one shape")
s = values((6, 4), "float32")
add("split", [s], {"num": 3, "axis": 0}, outputs=np.split(s, 3, 0), layouts={0: "transposed"})
add("split", [s], {"num": 2, "axis": 1}, outputs=np.split(s, 2, 1))
add("split", [s], {"sizes": [1, -1, 2], "axis": 0}, outputs=np.split(s, [1, 4], 0))
add("split", [s], {"sizes": [1, 2], "axis": 0}, error="ShapeError", message="do not add up")
add("split", [s], {"num": 4, "axis": 0}, error="ShapeError", message="equal parts")
for dtype in ("float32", "int64", "bool"):
    t = values((2, 3), dtype)
    for mult in ([1, 1], [2, 1], [1, 3], [2, 2], [0, 2]):
        add("tile", [t], {"multiples": mult}, outputs=[np.tile(t, mult)])
add("tile", [values((2, 3), "float32")], {"multiples": [2]}, error="InvalidArgument", message="multiples")
for dtype in ("float32", "float64", "int32", "uint8"):
    p = values((2, 3), dtype, 0, 5)
    for pads, val in (([1, 0, 2, 1], 0.0), ([0, 0, 0, 0], 0.0), ([2, 2, 0, 3], 7.0)):
        width = [(pads[0], pads[1]), (pads[2], pads[3])]
        add("pad", [p], {"paddings": pads, "value": val},
            outputs=[np.pad(p, width, constant_values=np.asarray(val).astype(dtype))], layouts={0: "transposed"})
add("pad", [values((2, 3), "float32")], {"paddings": [1, 1]}, error="InvalidArgument", message="paddings needs")
add("pad", [values((2, 3), "float32")], {"paddings": [1, -1, 0, 0]}, error="InvalidArgument", message=">= 0")

# ---- indexing ----
for dtype in ALL:
    p = values((4, 3), dtype)
    for ind_dtype in ("int32", "int64"):
        idx = np.array([[3, 0], [1, 1]], ind_dtype)
        add("gather", [p, idx], {"axis": 0}, outputs=[np.take(p, idx, 0)], layouts={0: "transposed"})
        add("gather", [p, np.array([2, 0], ind_dtype)], {"axis": 1}, outputs=[np.take(p, [2, 0], 1)])
add("gather", [values((4, 3), "float32"), np.array([4], np.int64)], {"axis": 0}, error="InvalidArgument", message="out of range")
add("gather", [values((4, 3), "float32"), np.array([-1], np.int64)], {"axis": 0}, error="InvalidArgument", message="out of range")
add("gather", [values((4, 3), "float32"), np.array([1.0])], {"axis": 0}, error="DTypeError", message="input 1")
for dtype in NUMERIC:
    upd = values((2, 3, 2), dtype, 0, 5)
    idx = np.array([2, 0, 2], np.int64)
    out = np.zeros((2, 4, 2), dtype)
    for i, j in enumerate(idx):
        out[:, j, :] += upd[:, i, :]
    add("scatter_add", [upd, idx], {"axis": 1, "dim_size": 4}, outputs=[out])
add("scatter_add", [values((3,), "float32"), np.array([5, 0, 1])], {"axis": 0, "dim_size": 4},
    error="InvalidArgument", message="out of range")
for dtype in ("int32", "int64", "uint8"):
    ind = np.array([[0, 2], [3, 1]], dtype)
    add("one_hot", [ind], {"depth": 3}, outputs=[np.where(ind[..., None] == np.arange(3), 1.0, 0.0).astype(np.float32)])
add("one_hot", [np.array([1, -1, 5], np.int64)], {"depth": 3, "on_value": 5.0, "off_value": -1.0, "dtype": "float64"},
    outputs=[np.array([[-1, 5, -1], [-1, -1, -1], [-1, -1, -1]], np.float64)])
add("one_hot", [np.array([1.0])], {"depth": 3}, error="DTypeError", message="input 0")

# ---- creation ----
for dtype in ALL + ["float16"]:
    add("fill", [], {"shape": [2, 3], "value": 1.0, "dtype": dtype}, outputs=[np.full((2, 3), 1, dtype)])
add("fill", [], {"shape": [0], "value": 2.5}, outputs=[np.zeros(0, np.float32)])
add("fill", [], {"shape": [], "value": 2.5}, outputs=[np.array(2.5, np.float32)])
add("fill", [], {"shape": [2, -3], "value": 1.0}, error="ShapeError", message="must be >= 0")
for start, limit, delta, dtype in ((0, 5, 1, "int64"), (2, -3, -2, "int64"), (0, 1, 0.25, "float32"),
                                   (1, 1, 1, "int32"), (0.5, 3, 1, "float64")):
    add("range", [], {"start": start, "limit": limit, "delta": delta, "dtype": dtype},
        outputs=[np.arange(start, limit, delta).astype(dtype)])
add("range", [], {"start": 0, "limit": 5, "delta": 0}, error="InvalidArgument", message="delta")
for start, stop, num in ((0, 1, 5), (-1, 1, 1), (2, 3, 0), (0, 10, 11)):
    add("linspace", [], {"start": start, "stop": stop, "num": num, "dtype": "float64"},
        outputs=[np.linspace(start, stop, num)])
for rows, cols in ((3, 3), (2, 4), (0, 2)):
    add("eye", [], {"rows": rows, "cols": cols}, outputs=[np.eye(rows, cols, dtype=np.float32)])

# ---- gradient cases (float64, domains clear of kinks and singularities) ----
grng = np.random.default_rng(20261202)


def U(shape, lo=-2.0, hi=2.0):
    return grng.uniform(lo, hi, size=shape)


def grad(op, inputs, attrs, outputs, layouts=None, order="second"):
    add(op, inputs, attrs, outputs=outputs if isinstance(outputs, list) else [outputs], layouts=layouts, grad=order)


for op, fn, (alo, ahi, blo, bhi) in (
        ("add", np.add, (-2, 2, -2, 2)), ("sub", np.subtract, (-2, 2, -2, 2)), ("mul", np.multiply, (-2, 2, -2, 2)),
        ("real_div", np.divide, (-2, 2, 0.5, 2)), ("div", np.divide, (-2, 2, 0.5, 2)),
        ("pow", np.power, (0.5, 2, -1, 2)), ("maximum", np.maximum, (-2, 2, -2, 2)),
        ("minimum", np.minimum, (-2, 2, -2, 2)), ("mod", np.mod, (0.1, 5, 1.3, 2.1))):
    for sa, sb, layouts in (((2, 3), (2, 3), {0: "transposed"}), ((2, 3), (3,), {1: "strided"}),
                            ((4, 1), (1, 3), None), ((), (2, 2), None)):
        a, b = U(sa, alo, ahi), U(sb, blo, bhi)
        grad(op, [a, b], {}, fn(a, b), layouts)
for op, fn, dtypes, lo, hi in UNARY:
    lo, hi = {"log": (0.5, 3), "log1p": (-0.5, 2), "sqrt": (0.5, 3), "rsqrt": (0.5, 3)}.get(op, (-2, 2))
    for shape, layout in (((3, 4), "transposed"), ((5,), "strided")):
        x = U(shape, lo, hi)
        grad(op, [x], {}, np.asarray(fn(x)).astype(np.float64), {0: layout})
x = U((4, 3))
grad("clip", [x], {"min": -0.5, "max": 0.7}, np.clip(x, -0.5, 0.7))
x = U((2, 3))
grad("cast", [x], {"dtype": "float64"}, x, {0: "transposed"})
grad("copy_to_device", [x], {"device": "CPU:0"}, x)
c, a, b = U((2, 1)) > 0, U((3,)), U((2, 3))
grad("where", [c, a, b], {}, np.where(c, a, b), {2: "transposed"})
for op, fn in (("reduce_sum", np.sum), ("reduce_prod", np.prod), ("reduce_max", np.max), ("reduce_min", np.min),
               ("reduce_mean", np.mean)):
    x = U((2, 3, 4), 0.5, 1.5)
    for axes in ([0], [1], [2], [0, 2], [-1, 0, 1]):
        for keep in (False, True):
            grad(op, [x], {"axes": axes, "keepdims": keep}, fn(x, axis=tuple(axes), keepdims=keep), {0: "transposed"})
    x = U((3, 2))
    grad(op, [x], {}, fn(x))
# The first derivative of reduce_prod is exact at zeros; the second only away from them (the
# count of zeros is piecewise constant), as documented on reduce_prod.
z = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5], [1.0, 2.0, -1.0]])
grad("reduce_prod", [z], {"axes": [1]}, np.prod(z, axis=1), order="first")
for ord_, fn in (("euclidean", lambda x, a, k: np.sqrt(np.sum(x * x, axis=a, keepdims=k))),
                 ("1", lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k)),
                 ("inf", lambda x, a, k: np.max(np.abs(x), axis=a, keepdims=k))):
    x = U((3, 4))
    grad("norm", [x], {"ord": ord_}, fn(x, None, False))
    grad("norm", [x], {"ord": ord_, "axes": [1], "keepdims": True}, fn(x, 1, True), {0: "strided"})
for ta in (False, True):
    for tb in (False, True):
        a, b = U((3, 2) if ta else (2, 3)), U((4, 3) if tb else (3, 4))
        A, B = (a.T if ta else a), (b.T if tb else b)
        grad("matmul", [a, b], {"transpose_a": ta, "transpose_b": tb}, A @ B, {1: "transposed"})
a, b = U((2, 1, 2, 3)), U((3, 3, 2))
grad("matmul", [a, b], {}, np.matmul(a, b))
a, b = U((4, 2, 3)), U((2, 3))
grad("matmul", [a, b], {"transpose_b": True}, np.matmul(a, b.T))
x = U((2, 3, 2))
grad("reshape", [x], {"shape": [3, -1]}, x.reshape(3, -1), {0: "transposed"})
x = U((2, 3, 4))
grad("transpose", [x], {"perm": [2, 0, 1]}, np.transpose(x, (2, 0, 1)))
x = U((2, 3))
grad("expand_dims", [x], {"axis": 1}, np.expand_dims(x, 1), {0: "strided"})
x = U((1, 3, 1, 2))
grad("squeeze", [x], {}, np.squeeze(x))
x = U((2, 1))
grad("broadcast_to", [x], {"shape": [4, 2, 3]}, np.broadcast_to(x, (4, 2, 3)))
x = U((5, 4))
grad("slice", [x], {"begin": [3, 1], "end": [0, 4], "step": [-1, 2]}, x[3:0:-1, 1:4:2], {0: "transposed"})
x = U((3, 4))
grad("slice", [x], {"begin": [1, 0], "end": [2, 4], "shrink_axes": [0]}, x[1, 0:4])
g = U((2, 2))
sg = np.zeros((5, 4))
sg[1:5:2, 0:4:3] = g
grad("slice_grad", [g], {"shape": [5, 4], "begin": [1, 0], "end": [5, 4], "step": [2, 3]}, sg)
a, b, c = U((2, 3)), U((2, 1)), U((2, 2))
grad("concat", [a, b, c], {"axis": 1}, np.concatenate([a, b, c], 1), {0: "transposed"})
a, b = U((2, 3)), U((2, 3))
grad("stack", [a, b], {"axis": -1}, np.stack([a, b], -1), {1: "strided"})
x = U((2, 4))
grad("split", [x], {"sizes": [1, -1], "axis": 1}, np.split(x, [1], 1), {0: "transposed"})
x = U((2, 2))
grad("tile", [x], {"multiples": [2, 3]}, np.tile(x, (2, 3)))
x = U((2, 3))
grad("pad", [x], {"paddings": [1, 0, 2, 1], "value": 3.0}, np.pad(x, ((1, 0), (2, 1)), constant_values=3.0),
     {0: "transposed"})
x, idx = U((3, 4)), np.array([[3, 1], [1, 0]], np.int64)
grad("gather", [x, idx], {"axis": 1}, np.take(x, idx, 1), {0: "transposed"})
upd, idx = U((3, 2)), np.array([2, 0, 2], np.int64)
out = np.zeros((4, 2))
np.add.at(out, idx, upd)
grad("scatter_add", [upd, idx], {"axis": 0, "dim_size": 4}, out)

# ---- op-independent dispatcher errors ----
add("add", [values((2,), "float32")], error="InvalidArgument", message="expects 2 inputs")
# relu_grad: dy where y > 0 (ties at 0 give 0; an infinite dy where y <= 0 gives 0, a select).
for dtype in ("float32", "float64", "int32", "int64"):
    y = values((3, 4), dtype, -3, 3)
    y.flat[0] = 0
    dy = values((3, 4), dtype, -3, 3)
    add("relu_grad", [dy, y], outputs=[np.where(y > 0, dy, 0).astype(dtype)], layouts={1: "transposed"})
y, dy = np.array([-1.0, 0.0, 2.0], np.float32), np.array([np.inf, np.nan, 5.0], np.float32)
add("relu_grad", [dy, y], outputs=[np.array([0.0, 0.0, 5.0], np.float32)])
dy, y = values((2, 3), "float32"), values((3,), "float32")
add("relu_grad", [dy, y], outputs=[np.where(y > 0, dy, 0).astype(np.float32)])
add("relu_grad", [values((2, 3), "float32"), values((3, 2), "float32")], error="ShapeError", message="not broadcastable")
add("relu_grad", [values((2,), "float32"), values((2,), "float64")], error="DTypeError", message="dtype mismatch")
dy, y = U((3, 4)), U((3, 4))
y = np.where(np.abs(y) < 0.1, 0.5, y)  # clear of the kink
grad("relu_grad", [dy, y], {}, np.where(y > 0, dy, 0.0))
add("no_such_op", [values((2,), "float32")], error="NotFoundError", message="unknown op")

out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "op_cases.json")
write_cases(out_path, {"generator": "tests/golden/make_op_cases.py", "numpy": np.__version__}, cases)
print(f"wrote {len(cases)} cases to {out_path}")
