#!/usr/bin/env python3
"""Writes nn_cases.json: forward cases for loom's neural-network ops with expected values from
PyTorch (float32/float64; layouts converted NCHW <-> NHWC, OIHW <-> HWIO) or brute-force NumPy
where PyTorch's definition differs from TF's (pooling with TF padding, Keras' hard_sigmoid).

Run with Debian's python3 (python3-torch): /usr/bin/python3 tests/golden/make_nn_cases.py
Same record format as op_cases.json (see make_op_cases.py).
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from golden_json import write_cases

rng = np.random.default_rng(42)
cases = []


def plain(v, dtype):
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if dtype == "float32":
        return float(np.format_float_positional(np.float32(v), unique=True, trim="-"))
    return v


def tensor(a, layout="contiguous"):
    a = np.asarray(a)
    dtype = str(a.dtype)
    return {"dtype": dtype, "shape": list(a.shape), "values": [plain(v, dtype) for v in a.ravel().tolist()],
            "layout": layout}


def add(op, inputs, attrs=None, outputs=None, error=None, message="", layouts=None, tol=None, grad=None):
    case = {"op": op, "attrs": attrs or {},
            "inputs": [tensor(x, (layouts or {}).get(i, "contiguous")) for i, x in enumerate(inputs)]}
    if grad:  # also a finite-difference gradient check (see make_op_cases.py)
        case["grad"] = grad
    if error:
        case["error"], case["message"] = error, message
    elif outputs is not None:  # only gradient cases of random ops (dropout) have none
        case["outputs"] = [tensor(o) for o in outputs]
    if tol:
        case["tol"] = tol
    cases.append(case)


def randn(*shape, dtype="float32"):
    return rng.standard_normal(shape).astype(dtype)


def nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


def oihw(f):
    return torch.from_numpy(np.ascontiguousarray(f.transpose(3, 2, 0, 1)))


def tf_pads(size, k, stride, dil, mode, explicit=(0, 0)):
    ek = (k - 1) * dil + 1
    if mode == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + ek - size, 0)
        return total // 2, total - total // 2
    if mode == "valid":
        return 0, 0
    return explicit


# ---- conv2d and its backward ops ----
CONV = [  # (N, H, W, C, KH, KW, O, strides, dilations, padding, explicit, groups)
    (2, 5, 6, 3, 3, 3, 4, (1, 1), (1, 1), "valid", None, 1),
    (2, 5, 6, 3, 3, 3, 4, (1, 1), (1, 1), "same", None, 1),
    (1, 7, 7, 2, 3, 2, 3, (2, 2), (1, 1), "same", None, 1),
    (1, 8, 7, 2, 3, 3, 2, (2, 1), (1, 1), "valid", None, 1),
    (1, 9, 9, 2, 3, 3, 3, (1, 1), (2, 2), "same", None, 1),
    (2, 6, 5, 3, 2, 3, 4, (1, 2), (1, 1), "explicit", (1, 0, 2, 1), 1),
    (1, 6, 6, 4, 3, 3, 6, (1, 1), (1, 1), "same", None, 2),
    (2, 5, 5, 4, 3, 3, 8, (1, 1), (1, 1), "same", None, 4),  # depthwise, multiplier 2
    (3, 8, 8, 1, 5, 5, 6, (1, 1), (1, 1), "same", None, 1),   # LeNet-like
    (1, 6, 6, 16, 3, 3, 16, (1, 1), (1, 1), "same", None, 1),  # blocked layouts in oneDNN
]
for dtype in ("float32", "float64"):
    for (n, h, w, c, kh, kw, o, st, dl, mode, ex, g) in CONV:
        x = randn(n, h, w, c, dtype=dtype)
        f = randn(kh, kw, c // g, o, dtype=dtype)
        b = randn(o, dtype=dtype)
        ph = tf_pads(h, kh, st[0], dl[0], mode, ex[0:2] if ex else (0, 0))
        pw = tf_pads(w, kw, st[1], dl[1], mode, ex[2:4] if ex else (0, 0))
        xt = nchw(x).requires_grad_(True)
        ft = oihw(f).requires_grad_(True)
        xp = F.pad(xt, (pw[0], pw[1], ph[0], ph[1]))
        y = F.conv2d(xp, ft, torch.from_numpy(b), stride=st, dilation=dl, groups=g)
        attrs = {"strides": list(st), "dilations": list(dl), "padding": mode, "groups": g}
        if ex:
            attrs["explicit_paddings"] = list(ex)
        tol = [2e-4, 2e-5] if dtype == "float32" else None
        add("conv2d", [x, f, b], attrs, outputs=[nhwc(y)], tol=tol, layouts={0: "transposed"} if g == 1 else None)
        dy = randn(*nhwc(y).shape, dtype=dtype)
        dx, df = torch.autograd.grad(y, [xt, ft], nchw(dy))
        add("conv2d_backprop_input", [dy, f], {**attrs, "input_shape": [n, h, w, c]}, outputs=[nhwc(dx)], tol=tol)
        add("conv2d_backprop_filter", [x, dy], {**attrs, "filter_shape": [kh, kw, c // g, o]},
            outputs=[df.detach().numpy().transpose(2, 3, 1, 0)], tol=tol)
x = randn(1, 4, 4, 3)
add("conv2d", [x, randn(3, 3, 2, 4)], {"padding": "same"}, error="ShapeError", message="channel mismatch")
add("conv2d", [randn(4, 4, 3), randn(3, 3, 3, 4)], {}, error="ShapeError", message="input must be rank 4 (NHWC)")
add("conv2d", [x, randn(5, 5, 3, 4)], {"padding": "valid"}, error="ShapeError", message="larger than the input")
add("conv2d", [x, randn(3, 3, 3, 4), randn(3)], {}, error="ShapeError", message="bias must have shape (4,)")
add("conv2d", [x, randn(3, 3, 3, 4)], {"padding": "full"}, error="InvalidArgument", message="padding must be")
add("conv2d", [x, randn(3, 3, 3, 4)], {"strides": [0, 1]}, error="InvalidArgument", message="strides must be >= 1")
add("conv2d", [x, randn(3, 3, 1, 4)], {"groups": 2}, error="ShapeError", message="groups (2) must divide")
add("conv2d", [x, randn(3, 3, 3, 4, dtype="float64")], {}, error="DTypeError", message="mismatch")
add("conv2d_backprop_input", [randn(1, 3, 3, 4), randn(3, 3, 3, 4)], {"input_shape": [1, 4, 4, 3]},
    error="ShapeError", message="output gradient has shape (1, 3, 3, 4)")


# ---- pooling (brute force, TF padding: max ignores padded cells, avg excludes them) ----
def pool_ref(x, k, s, mode, kind):
    n, h, w, c = x.shape
    ph = tf_pads(h, k[0], s[0], 1, mode)
    pw = tf_pads(w, k[1], s[1], 1, mode)
    oh = (h + sum(ph) - k[0]) // s[0] + 1
    ow = (w + sum(pw) - k[1]) // s[1] + 1
    y = np.zeros((n, oh, ow, c), x.dtype)
    arg = np.zeros((n, oh, ow, c), np.int64)
    for b in range(n):
        for i in range(oh):
            h0, h1 = max(i * s[0] - ph[0], 0), min(i * s[0] - ph[0] + k[0], h)
            for j in range(ow):
                w0, w1 = max(j * s[1] - pw[0], 0), min(j * s[1] - pw[0] + k[1], w)
                win = x[b, h0:h1, w0:w1, :].reshape(-1, c)
                if kind == "max":
                    best = win.argmax(axis=0)
                    y[b, i, j] = win[best, np.arange(c)]
                    hh, ww = h0 + best // (w1 - w0), w0 + best % (w1 - w0)
                    arg[b, i, j] = ((b * h + hh) * w + ww) * c + np.arange(c)
                else:
                    y[b, i, j] = win.mean(axis=0)
    return y, arg


for dtype in ("float32", "float64"):
    for shape, k, s, mode in (((2, 4, 4, 3), (2, 2), (2, 2), "valid"), ((1, 5, 5, 2), (3, 3), (2, 2), "same"),
                              ((1, 5, 6, 2), (2, 3), (1, 2), "valid"), ((2, 3, 3, 4), (2, 2), (1, 1), "same")):
        x = randn(*shape, dtype=dtype)
        y, arg = pool_ref(x, k, s, mode, "max")
        add("max_pool2d", [x], {"window": list(k), "strides": list(s), "padding": mode}, outputs=[y, arg],
            layouts={0: "transposed"})
        dy = randn(*y.shape, dtype=dtype)
        dx = np.zeros(x.size, dtype)
        np.add.at(dx, arg.ravel(), dy.ravel())
        add("max_pool2d_grad", [dy, arg], {"input_shape": list(shape)}, outputs=[dx.reshape(shape)])
        ya, _ = pool_ref(x, k, s, mode, "avg")
        add("avg_pool2d", [x], {"window": list(k), "strides": list(s), "padding": mode}, outputs=[ya])
        # avg_pool2d_grad is the adjoint: <avg(x), dy> = <x, avg_grad(dy)>, built column by column.
        adj = np.zeros(x.size, dtype)
        for i in range(x.size):
            e = np.zeros(x.size, dtype)
            e[i] = 1
            adj[i] = (pool_ref(e.reshape(shape), k, s, mode, "avg")[0] * dy).sum()
        add("avg_pool2d_grad", [dy], {"window": list(k), "strides": list(s), "padding": mode, "input_shape": list(shape)},
            outputs=[adj.reshape(shape)])
    x = randn(2, 3, 4, 5, dtype=dtype)
    add("global_avg_pool2d", [x], {}, outputs=[x.mean(axis=(1, 2))])
    add("global_avg_pool2d", [x], {"keepdims": True}, outputs=[x.mean(axis=(1, 2), keepdims=True)])
add("max_pool2d", [randn(1, 2, 2, 1)], {"window": [3, 3], "padding": "valid"}, error="ShapeError", message="larger than the input")
add("max_pool2d", [randn(2, 2, 1)], {"window": [2, 2]}, error="ShapeError", message="rank 4")
add("avg_pool2d", [randn(1, 4, 4, 1)], {"window": [2]}, error="InvalidArgument", message="window needs 2 values")
add("max_pool2d", [randn(1, 4, 4, 1)], {"window": [2, 2], "padding": "explicit", "explicit_paddings": [2, 0, 0, 0]},
    error="InvalidArgument", message="padding must be smaller than the window")

# ---- batch normalisation ----
for dtype in ("float32", "float64"):
    for shape in ((4, 3, 3, 5), (6, 4), (2, 3, 2)):
        x = (randn(*shape, dtype=dtype) * 2 + 1).astype(dtype)
        c = shape[-1]
        gamma, beta = randn(c, dtype=dtype), randn(c, dtype=dtype)
        axes = tuple(range(len(shape) - 1))
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        xt = torch.from_numpy(x).requires_grad_(True)
        gt, bt = torch.from_numpy(gamma).requires_grad_(True), torch.from_numpy(beta).requires_grad_(True)
        xc = xt.reshape(-1, c)
        y = F.batch_norm(xc, None, None, gt, bt, training=True, eps=1e-3).reshape(shape)
        tol = [1e-4, 1e-5] if dtype == "float32" else None
        add("batch_norm", [x, gamma, beta], {"epsilon": 1e-3}, outputs=[y.detach().numpy(), mean, var], tol=tol,
            layouts={0: "transposed"})
        dy = randn(*shape, dtype=dtype)
        dx, dg, db = torch.autograd.grad(y, [xt, gt, bt], torch.from_numpy(dy))
        add("batch_norm_grad", [dy, x, gamma, mean, var], {"epsilon": 1e-3},
            outputs=[dx.numpy(), dg.numpy(), db.numpy()], tol=tol)
        mm, vv = randn(c, dtype=dtype), (np.abs(randn(c, dtype=dtype)) + 0.5).astype(dtype)
        add("batch_norm_inference", [x, gamma, beta, mm, vv], {"epsilon": 1e-3},
            outputs=[((x - mm) * gamma / np.sqrt(vv + 1e-3) + beta).astype(dtype)], tol=tol)
add("batch_norm", [randn(2, 3), randn(4), randn(3)], {}, error="ShapeError", message="one value per channel")
add("batch_norm", [randn(2, 3), randn(3), randn(3)], {"epsilon": 0.0}, error="InvalidArgument", message="epsilon must be > 0")
add("batch_norm", [np.zeros((2, 3), np.int64), np.zeros(3, np.int64), np.zeros(3, np.int64)], {},
    error="DTypeError", message="input 0")

# ---- softmax family and losses ----
for dtype in ("float32", "float64"):
    x = randn(3, 4, 5, dtype=dtype) * 3
    for axis in (-1, 1, 0):
        add("softmax", [x], {"axis": axis}, outputs=[F.softmax(torch.from_numpy(x), axis).numpy()], layouts={0: "transposed"})
        add("log_softmax", [x], {"axis": axis}, outputs=[F.log_softmax(torch.from_numpy(x), axis).numpy()])
    big = np.array([[1000.0, 0.0, -1000.0]], dtype)
    add("softmax", [big], {}, outputs=[np.array([[1.0, 0.0, 0.0]], dtype)])
    add("log_softmax", [big], {}, outputs=[F.log_softmax(torch.from_numpy(big), -1).numpy()])
    logits = randn(5, 4, dtype=dtype) * 2
    labels = np.array([0, 3, 1, 1, 2], np.int64)
    add("sparse_softmax_cross_entropy_with_logits", [labels, logits], {},
        outputs=[F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels), reduction="none").numpy()])
    add("sparse_softmax_cross_entropy_with_logits", [labels.astype(np.int32), logits], {},
        outputs=[F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels), reduction="none").numpy()])
    probs = F.softmax(torch.from_numpy(randn(5, 4, dtype=dtype)), -1).numpy()
    add("softmax_cross_entropy_with_logits", [probs, logits], {},
        outputs=[-(probs * F.log_softmax(torch.from_numpy(logits), -1).numpy()).sum(-1)])
    z = rng.integers(0, 2, (3, 4)).astype(dtype)
    xl = randn(3, 4, dtype=dtype) * 5
    add("sigmoid_cross_entropy_with_logits", [z, xl], {},
        outputs=[F.binary_cross_entropy_with_logits(torch.from_numpy(xl), torch.from_numpy(z), reduction="none").numpy()])
add("sparse_softmax_cross_entropy_with_logits", [np.array([0, 4]), randn(2, 4)], {}, error="InvalidArgument",
    message="labels must be in [0, 4)")
add("sparse_softmax_cross_entropy_with_logits", [np.array([0, 1, 2]), randn(2, 4)], {}, error="ShapeError",
    message="without the last axis")
add("softmax_cross_entropy_with_logits", [randn(2, 3), randn(2, 4)], {}, error="ShapeError", message="must match logits")
add("softmax", [np.array(1.0, np.float32)], {}, error="ShapeError", message="rank >= 1")
add("softmax", [np.array([1, 2])], {}, error="DTypeError", message="input 0")

# ---- activations ----
for dtype in ("float32", "float64"):
    x = (randn(3, 5, dtype=dtype) * 3).astype(dtype)
    t = torch.from_numpy(x)
    tol = [1e-5, 1e-6] if dtype == "float32" else None
    add("erf", [x], {}, outputs=[torch.erf(t).numpy()], tol=tol)
    add("leaky_relu", [x], {}, outputs=[F.leaky_relu(t, 0.2).numpy()], layouts={0: "transposed"})
    add("leaky_relu", [x], {"alpha": 0.01}, outputs=[F.leaky_relu(t, 0.01).numpy()])
    add("elu", [x], {}, outputs=[F.elu(t).numpy()], tol=tol)
    add("elu", [x], {"alpha": 0.5}, outputs=[F.elu(t, 0.5).numpy()], tol=tol)
    add("gelu", [x], {}, outputs=[F.gelu(t).numpy()], tol=tol)
    add("gelu", [x], {"approximate": True}, outputs=[F.gelu(t, approximate="tanh").numpy()], tol=tol)
    add("softplus", [x], {}, outputs=[F.softplus(t).numpy()], tol=tol)
    add("silu", [x], {}, outputs=[F.silu(t).numpy()], tol=tol)
    add("hard_sigmoid", [x], {}, outputs=[np.clip(0.2 * x + 0.5, 0, 1).astype(dtype)])
    big = np.array([-1000.0, 1000.0], dtype)
    add("softplus", [big], {}, outputs=[np.array([0.0, 1000.0], dtype)])
    add("elu", [big], {}, outputs=[np.array([-1.0, 1000.0], dtype)])
add("gelu", [np.array([1, 2])], {}, error="DTypeError", message="input 0")
add("dropout", [randn(3)], {"rate": 1.0}, error="InvalidArgument", message="rate must be in [0, 1)")
add("dropout", [randn(3)], {"rate": -0.1}, error="InvalidArgument", message="rate must be in [0, 1)")

# ---- dense ----
for dtype in ("float32", "float64"):
    for act, fn in (("linear", lambda v: v), ("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
        x, k, b = randn(4, 3, dtype=dtype), randn(3, 5, dtype=dtype), randn(5, dtype=dtype)
        tol = [1e-5, 1e-6] if dtype == "float32" else None
        add("dense", [x, k, b], {"activation": act},
            outputs=[fn(torch.from_numpy(x) @ torch.from_numpy(k) + torch.from_numpy(b)).numpy()], tol=tol)
    x3 = randn(2, 3, 4, dtype=dtype)
    k = randn(4, 2, dtype=dtype)
    add("dense", [x3, k], {}, outputs=[(torch.from_numpy(x3) @ torch.from_numpy(k)).numpy()], tol=tol)
add("dense", [randn(2, 3), randn(4, 5)], {}, error="ShapeError", message="does not match kernel")
add("dense", [randn(2, 3), randn(3, 5)], {"activation": "gelu"}, error="InvalidArgument", message="activation must be")

# ---- conv2d with a fused activation (appended, so the cases above keep their random values) ----
for dtype in ("float32", "float64"):
    for act, fn in (("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
        x, f, b = randn(2, 5, 5, 3, dtype=dtype), randn(3, 3, 3, 4, dtype=dtype), randn(4, dtype=dtype)
        y = fn(F.conv2d(nchw(x), oihw(f), torch.from_numpy(b), padding=1))
        add("conv2d", [x, f, b], {"padding": "same", "activation": act}, outputs=[nhwc(y)],
            tol=[2e-4, 2e-5] if dtype == "float32" else None)
add("conv2d", [randn(1, 4, 4, 3), randn(3, 3, 3, 4)], {"activation": "gelu"}, error="InvalidArgument",
    message="activation must be linear, relu, sigmoid or tanh")

# ---- gradient cases (float64, small shapes: finite differences evaluate the op many times) ----
grng = np.random.default_rng(20261203)


def U(*shape, lo=-2.0, hi=2.0):
    return grng.uniform(lo, hi, size=shape)


def grad(op, inputs, attrs, outputs, layouts=None):
    add(op, inputs, attrs, outputs=outputs, layouts=layouts, grad="second")


for (n, h, w, c, kh, kw, o, st, dl, mode, ex, g, bias) in (
        (2, 4, 5, 3, 3, 3, 2, (1, 1), (1, 1), "same", None, 1, True),
        (1, 5, 5, 2, 3, 2, 3, (2, 1), (1, 1), "valid", None, 1, False),
        (1, 6, 6, 2, 3, 3, 2, (1, 1), (2, 2), "same", None, 1, False),
        (1, 4, 4, 2, 2, 2, 2, (1, 1), (1, 1), "explicit", (1, 0, 0, 1), 1, True),
        (1, 4, 4, 4, 3, 3, 4, (1, 1), (1, 1), "same", None, 2, False),
        (1, 4, 4, 3, 3, 3, 6, (1, 1), (1, 1), "same", None, 3, True)):  # the last one depthwise
    x, f, b = U(n, h, w, c), U(kh, kw, c // g, o), U(o)
    ph = tf_pads(h, kh, st[0], dl[0], mode, ex[0:2] if ex else (0, 0))
    pw = tf_pads(w, kw, st[1], dl[1], mode, ex[2:4] if ex else (0, 0))
    xt, ft = nchw(x).requires_grad_(True), oihw(f).requires_grad_(True)
    y = F.conv2d(F.pad(xt, (pw[0], pw[1], ph[0], ph[1])), ft, torch.from_numpy(b) if bias else None, stride=st,
                 dilation=dl, groups=g)
    attrs = {"strides": list(st), "dilations": list(dl), "padding": mode, "groups": g}
    if ex:
        attrs["explicit_paddings"] = list(ex)
    grad("conv2d", [x, f, b] if bias else [x, f], attrs, [nhwc(y)], {0: "transposed"})
    dy = U(*nhwc(y).shape)
    dx, df = torch.autograd.grad(y, [xt, ft], nchw(dy))
    grad("conv2d_backprop_input", [dy, f], {**attrs, "input_shape": [n, h, w, c]}, [nhwc(dx)])
    grad("conv2d_backprop_filter", [x, dy], {**attrs, "filter_shape": [kh, kw, c // g, o]},
         [df.detach().numpy().transpose(2, 3, 1, 0)])
for act, fn in (("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
    x, f, b = U(1, 4, 4, 2), U(3, 3, 2, 3), U(3)
    y = fn(F.conv2d(nchw(x), oihw(f), torch.from_numpy(b), padding=1))
    grad("conv2d", [x, f, b], {"padding": "same", "activation": act}, [nhwc(y)], {0: "transposed"})
for mode in ("valid", "same"):
    x = U(2, 4, 5, 3)
    attrs = {"window": [2, 2], "strides": [2, 1], "padding": mode}
    y, arg = pool_ref(x, (2, 2), (2, 1), mode, "max")
    grad("max_pool2d", [x], attrs, [y, arg], {0: "transposed"})
    ya, _ = pool_ref(x, (2, 2), (2, 1), mode, "avg")
    grad("avg_pool2d", [x], attrs, [ya])
    dy = U(*ya.shape)
    adj = np.zeros(x.size)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = 1
        adj[i] = (pool_ref(e.reshape(x.shape), (2, 2), (2, 1), mode, "avg")[0] * dy).sum()
    grad("avg_pool2d_grad", [dy], {**attrs, "input_shape": list(x.shape)}, [adj.reshape(x.shape)])
dy, arg = U(1, 1, 2, 2), np.array([2, 5, 0, 7], np.int64).reshape(1, 1, 2, 2)
dx = np.zeros(8)
np.add.at(dx, arg.ravel(), dy.ravel())
grad("max_pool2d_grad", [dy, arg], {"input_shape": [1, 2, 2, 2]}, [dx.reshape(1, 2, 2, 2)])
x = U(2, 3, 4, 2)
grad("global_avg_pool2d", [x], {}, [x.mean(axis=(1, 2))])
x, gamma, beta = U(3, 2, 2, 3), U(3), U(3)
xt, gt, bt = (torch.from_numpy(v).requires_grad_(True) for v in (x, gamma, beta))
y = F.batch_norm(xt.reshape(-1, 3), None, None, gt, bt, training=True, eps=1e-3).reshape(x.shape)
axes = (0, 1, 2)
grad("batch_norm", [x, gamma, beta], {"epsilon": 1e-3}, [y.detach().numpy(), x.mean(axis=axes), x.var(axis=axes)],
     {0: "transposed"})
x, gamma = U(4, 3), U(3)
mean, var = U(3), U(3, lo=0.5, hi=2.0)
dy = U(4, 3)
xt, gt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(gamma)
xhat = (x - mean) / np.sqrt(var + 1e-3)
dbeta, dgamma = dy.sum(0), (dy * xhat).sum(0)
dx = gamma / np.sqrt(var + 1e-3) / 4 * (dy * 4 - dbeta - xhat * dgamma)
grad("batch_norm_grad", [dy, x, gamma, mean, var], {"epsilon": 1e-3}, [dx, dgamma, dbeta])
x, gamma, beta, mm, vv = U(2, 2, 3), U(3), U(3), U(3), U(3, lo=0.5, hi=2.0)
grad("batch_norm_inference", [x, gamma, beta, mm, vv], {"epsilon": 1e-3}, [(x - mm) * gamma / np.sqrt(vv + 1e-3) + beta])
for axis in (-1, 0):
    x = U(3, 4)
    grad("softmax", [x], {"axis": axis}, [F.softmax(torch.from_numpy(x), axis).numpy()], {0: "transposed"})
    x = U(3, 4)
    grad("log_softmax", [x], {"axis": axis}, [F.log_softmax(torch.from_numpy(x), axis).numpy()])
labels, logits = np.array([2, 0, 1], np.int64), U(3, 4)
grad("sparse_softmax_cross_entropy_with_logits", [labels, logits], {},
     [F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels), reduction="none").numpy()])
probs, logits = F.softmax(torch.from_numpy(U(3, 4)), -1).numpy(), U(3, 4)
grad("softmax_cross_entropy_with_logits", [probs, logits], {},
     [-(probs * F.log_softmax(torch.from_numpy(logits), -1).numpy()).sum(-1)])
z, xl = U(3, 4, lo=0, hi=1), U(3, 4, lo=-4, hi=4)
grad("sigmoid_cross_entropy_with_logits", [z, xl], {},
     [F.binary_cross_entropy_with_logits(torch.from_numpy(xl), torch.from_numpy(z), reduction="none").numpy()])
for op, fn in (("erf", torch.erf), ("leaky_relu", lambda t: F.leaky_relu(t, 0.2)), ("elu", F.elu), ("gelu", F.gelu),
               ("softplus", F.softplus), ("silu", F.silu), ("hard_sigmoid", lambda t: torch.clamp(0.2 * t + 0.5, 0, 1))):
    x = U(3, 4, lo=-3, hi=3)
    grad(op, [x], {}, [fn(torch.from_numpy(x)).numpy()], {0: "strided"})
x = U(3, 4)
grad("gelu", [x], {"approximate": True}, [F.gelu(torch.from_numpy(x), approximate="tanh").numpy()])
# dropout's mask comes from loom's Philox stream: no outside reference, a gradient check only.
grad("dropout", [U(4, 5)], {"rate": 0.4, "seed": 3}, None)
for act, fn in (("linear", lambda v: v), ("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
    x, k, b = U(2, 3, 4), U(4, 3), U(3)
    grad("dense", [x, k, b], {"activation": act},
         [fn(torch.from_numpy(x) @ torch.from_numpy(k) + torch.from_numpy(b)).numpy()], {0: "transposed"})

# Many channels, clipped windows, and ties (a repeated maximum: the first one in the window's
# row-major order wins, as NumPy's argmax). Small integers make ties common, including a maximum
# in a lower row but an earlier column than another (the CPU kernel takes maxima down the rows
# first, then across the columns).
for dtype in ("float32", "float64"):
    x = randn(2, 5, 4, 19, dtype=dtype)
    x[0, 1, 1, :] = x[0, 0, 0, :]
    y, arg = pool_ref(x, (3, 3), (2, 2), "same", "max")
    add("max_pool2d", [x], {"window": [3, 3], "strides": [2, 2], "padding": "same"}, outputs=[y, arg])
    x = np.floor(randn(2, 6, 7, 3, dtype=dtype))
    x[0, 0, :2, 0] = [0, 5]  # window (0, 0): 5 at row 0, column 1 ...
    x[0, 1, :2, 0] = [5, 0]  # ... ties 5 at row 1, column 0: row 0 comes first
    for k, s, mode in (((2, 2), (2, 2), "valid"), ((3, 3), (2, 1), "same")):
        y, arg = pool_ref(x, k, s, mode, "max")
        add("max_pool2d", [x], {"window": list(k), "strides": list(s), "padding": mode}, outputs=[y, arg])

# ---- fused optimizer updates (Keras' Adam, alpha folding in the learning rate and bias corrections) ----
for dtype in ("float32", "float64"):
    for decay in (0.0, 0.01):
        w, m, g = randn(3, 5, dtype=dtype), randn(3, 5, dtype=dtype), randn(3, 5, dtype=dtype)
        v = np.abs(randn(3, 5, dtype=dtype))
        attrs = {"alpha": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "decay": decay}
        m_new = m + (g - m) * (1 - 0.9)
        v_new = v + (g * g - v) * (1 - 0.999)
        w_new = (w - w * decay) - m_new * 0.01 / (np.sqrt(v_new) + 1e-7)
        add("adam_update", [w, m, v, g], attrs, outputs=[w_new.astype(dtype), m_new.astype(dtype), v_new.astype(dtype)],
            layouts={3: "transposed"} if decay else None)
w = randn(3, 5)
add("adam_update", [w, w, w, randn(5, 3)], {"alpha": 0.1, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    error="ShapeError", message="gradient has shape (5, 3), the variable (3, 5)")
add("adam_update", [w, w, w, randn(3, 5, dtype="float64")], {"alpha": 0.1, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    error="DTypeError", message="dtype mismatch")
add("adam_update", [w, w, w, w], {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}, error="InvalidArgument",
    message="alpha")

# ---- relu_bias_grad: relu's gradient and the bias gradient of a dense/conv2d ending in relu, in one op ----
for dtype in ("float32", "float64"):
    for shape in ((4, 3, 3, 5), (6, 4), (2, 3, 40), (7,)):
        y = np.maximum(randn(*shape, dtype=dtype), 0).astype(dtype)  # relu outputs: about half exactly 0
        dy = randn(*shape, dtype=dtype)
        dz = np.where(y > 0, dy, 0).astype(dtype)
        dbias = dz.reshape(-1, shape[-1]).astype(np.float64).sum(0).astype(dtype)
        add("relu_bias_grad", [dy, y], outputs=[dz, dbias], layouts={1: "transposed"} if len(shape) > 1 else None)
y, dy = np.array([[-1.0, 0.0, 2.0]], np.float32), np.array([[np.inf, np.nan, 5.0]], np.float32)
add("relu_bias_grad", [dy, y], outputs=[np.array([[0.0, 0.0, 5.0]], np.float32), np.array([0.0, 0.0, 5.0], np.float32)])
add("relu_bias_grad", [randn(2, 3), randn(3, 2)], error="ShapeError", message="dy (2, 3) and y (3, 2) must have one shape")
add("relu_bias_grad", [randn(2, 3), randn(2, 3, dtype="float64")], error="DTypeError", message="dtype mismatch")
add("relu_bias_grad", [np.float32(1.0), np.float32(2.0)], error="ShapeError", message="rank >= 1")
dy, y = U(3, 2, 4), U(3, 2, 4)
dz = np.where(y > 0, dy, 0.0)
grad("relu_bias_grad", [dy, y], {}, [dz, dz.reshape(-1, 4).sum(0)], {0: "transposed"})

out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nn_cases.json")
write_cases(out_path, {"generator": "tests/golden/make_nn_cases.py", "torch": torch.__version__}, cases)
print(f"wrote {len(cases)} cases to {out_path}")
