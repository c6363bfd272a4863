"""The op functions generated from the C ABI's schemas: one per op of the library with the
schema's inputs and attributes, each callable with tensors, NumPy arrays, lists and scalars;
values against NumPy; attribute type checks; the top-level conveniences."""
import inspect
import json
import math
import unittest

import numpy as np

import loom
from helpers import as_kind

X = [[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]]
X4 = [[[[1.0], [2.0], [3.0]], [[4.0], [5.0], [6.0]], [[7.0], [8.0], [9.0]]]]  # (1, 3, 3, 1)
F4 = [[[[1.0]], [[0.5]]], [[[-1.0]], [[2.0]]]]  # (2, 2, 1, 1)
DY4 = [[[[1.0], [2.0]], [[3.0], [4.0]]]]  # (1, 2, 2, 1)
COND = [[True, False, True], [False, True, False]]
V3 = [1.0, 2.0, 0.5]

# op -> ([(value, dtype) per input; a list of them for variadic ops], attributes)
EXAMPLES = {
    "avg_pool2d": ([(X4, "float32")], {"window": [2, 2]}),
    "avg_pool2d_grad": ([([[[[1.0]]]], "float32")], {"window": [2, 2], "input_shape": [1, 2, 2, 1]}),
    "max_pool2d": ([(X4, "float32")], {"window": [2, 2]}),
    "max_pool2d_grad": ([([[[[1.0]]]], "float32"), ([[[[3]]]], "int64")], {"input_shape": [1, 2, 2, 1]}),
    "argmax": ([(X, "float32")], {"axis": 1}),
    "argmin": ([(X, "float32")], {"axis": 1}),
    "batch_norm": ([(X, "float32"), (V3, "float32"), (V3, "float32")], {}),
    "batch_norm_grad": ([(X, "float32"), (X, "float32"), (V3, "float32"), (V3, "float32"), (V3, "float32")], {}),
    "batch_norm_inference": ([(X, "float32"), (V3, "float32"), (V3, "float32"), (V3, "float32"), (V3, "float32")], {}),
    "broadcast_to": ([(V3, "float32")], {"shape": [2, 3]}),
    "cast": ([(X, "float32")], {"dtype": "int32"}),
    "clip": ([(X, "float32")], {"min": 0.5, "max": 2.0}),
    "concat": ([[(X, "float32"), (X, "float32")]], {"axis": 0}),
    "stack": ([[(X, "float32"), (X, "float32")]], {"axis": 1}),
    "conv2d": ([(X4, "float32"), (F4, "float32"), ([0.5], "float32")], {"padding": "same"}),
    "adam_update": ([(X, "float32"), (X, "float32"), (X, "float32"), (X, "float32")],
                    {"alpha": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    "conv2d_backprop_filter": ([(X4, "float32"), (DY4, "float32")], {"filter_shape": [2, 2, 1, 1]}),
    "conv2d_backprop_input": ([(DY4, "float32"), (F4, "float32")], {"input_shape": [1, 3, 3, 1]}),
    "copy_to_device": ([(X, "float32")], {"device": "CPU:0"}),
    "dense": ([(X, "float32"), ([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], "float32"), ([0.5, -0.5], "float32")],
              {"activation": "relu"}),
    "dropout": ([(X, "float32")], {"rate": 0.5, "seed": 3}),
    "expand_dims": ([(X, "float32")], {"axis": 0}),
    "eye": ([], {"rows": 2, "cols": 3}),
    "fill": ([], {"shape": [2, 2], "value": 1.5}),
    "gather": ([(X, "float32"), ([1, 0, 1], "int64")], {}),
    "linspace": ([], {"start": 0.0, "stop": 1.0, "num": 5}),
    "logical_and": ([(COND, "bool"), (COND, "bool")], {}),
    "logical_or": ([(COND, "bool"), ([[False] * 3, [True] * 3], "bool")], {}),
    "logical_not": ([(COND, "bool")], {}),
    "reduce_all": ([(COND, "bool")], {"axes": [1]}),
    "reduce_any": ([(COND, "bool")], {}),
    "one_hot": ([([0, 2, 1], "int64")], {"depth": 3}),
    "pad": ([(X, "float32")], {"paddings": [0, 0, 1, 1], "value": -1.0}),
    "random_normal": ([], {"shape": [3], "seed": 1}),
    "random_uniform": ([], {"shape": [3], "seed": 1}),
    "truncated_normal": ([], {"shape": [3], "seed": 1}),
    "range": ([], {"start": 0.0, "limit": 5.0, "delta": 2.0}),
    "reshape": ([(X, "float32")], {"shape": [3, 2]}),
    "scatter_add": ([([1.0, 2.0, 3.0], "float32"), ([0, 2, 0], "int64")], {"dim_size": 3}),
    "sigmoid_cross_entropy_with_logits": ([([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], "float32"), (X, "float32")], {}),
    "softmax_cross_entropy_with_logits": ([([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], "float32"), (X, "float32")], {}),
    "sparse_softmax_cross_entropy_with_logits": ([([0, 2], "int64"), (X, "float32")], {}),
    "slice": ([(X, "float32")], {"begin": [0, 1], "end": [2, 3]}),
    "slice_grad": ([([[1.0, 2.0]], "float32")], {"shape": [2, 3], "begin": [0, 1], "end": [1, 3]}),
    "split": ([(X, "float32")], {"num": 3, "axis": 1}),
    "squeeze": ([([[1.0, 2.0]], "float32")], {}),
    "tile": ([(X, "float32")], {"multiples": [1, 2]}),
    "where": ([(COND, "bool"), (X, "float32"), ([[9.0] * 3] * 2, "float32")], {}),
    "norm": ([(X, "float32")], {"axes": [1]}),
    "global_avg_pool2d": ([(X4, "float32")], {}),
    "matmul": ([(X, "float32"), ([[1.0], [2.0], [3.0]], "float32")], {"transpose_a": False}),
    "mod": ([(X, "float32"), ([[0.3] * 3] * 2, "float32")], {}),
}


def example(op):
    """The example call of `op`: from the table, or made from its schema (every input a float32
    matrix of positive values when it takes float32, else int64/bool)."""
    if op in EXAMPLES:
        return EXAMPLES[op]
    schema = loom.ops.schema(op)
    if any(a["required"] for a in schema["attrs"]):
        return None
    inputs = []
    for i in schema["inputs"][:max(schema["min_inputs"], 1 if schema["inputs"] else 0)]:
        dtype = "float32" if "float32" in i["dtypes"] else ("int64" if "int64" in i["dtypes"] else i["dtypes"][0])
        inputs.append(([[1, 2, 3], [4, 5, 6]] if dtype == "int64" else X, dtype))
    return inputs, {}


def call(op, inputs, attrs, kind):
    fn = getattr(loom.ops, op)
    schema = loom.ops.schema(op)
    if schema["max_inputs"] == -1:
        return fn([as_kind(v, kind, d) for v, d in inputs[0]], **attrs)
    return fn(*[as_kind(v, kind, d) for v, d in inputs], **attrs)


def flat(result):
    if isinstance(result, (list, tuple)):
        return [r for x in result for r in flat(x)]
    return [result]


class SchemaCoverageTest(unittest.TestCase):
    def test_every_op_has_a_function_with_the_schemas_inputs_and_attributes(self):
        names = loom.ops.names()
        self.assertGreater(len(names), 90)
        for name in names:
            with self.subTest(op=name):
                schema = loom.ops.schema(name)
                fn = getattr(loom.ops, name)
                self.assertIs(fn, loom.ops.get(name))
                self.assertEqual(fn.schema, schema)
                params = list(inspect.signature(fn).parameters.values())
                if schema["max_inputs"] == -1:
                    inputs = params[:1]
                    self.assertEqual(inputs[0].name, schema["inputs"][0]["name"])
                else:
                    inputs = params[:len(schema["inputs"])]
                    self.assertEqual([p.name for p in inputs], [i["name"] for i in schema["inputs"]])
                    for i, p in enumerate(inputs):
                        self.assertEqual(p.kind, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                        if i >= schema["min_inputs"]:
                            self.assertIsNone(p.default)
                        else:
                            self.assertIs(p.default, inspect.Parameter.empty)
                attrs = params[len(inputs):]
                self.assertEqual([p.name for p in attrs], [a["name"] for a in schema["attrs"]])
                for p, a in zip(attrs, schema["attrs"]):
                    self.assertEqual(p.kind, inspect.Parameter.KEYWORD_ONLY)
                    if a["required"]:
                        self.assertIs(p.default, inspect.Parameter.empty)
                    elif "default" in a:
                        self.assertEqual(repr(p.default), repr(a["default"]))
                doc = fn.__doc__
                self.assertIn(schema["doc"], doc)
                for i in schema["inputs"]:
                    self.assertIn(f"{i['name']}", doc)
                    self.assertIn(", ".join(i["dtypes"]), doc)
                for a in schema["attrs"]:
                    self.assertIn(f"{a['name']} ({a['type']})", doc)
                    if "default" in a:
                        self.assertIn(json.dumps(a["default"]), doc)

    def test_common_ops_at_the_top_level(self):
        for name in ("exp", "log", "matmul", "relu", "sigmoid", "tanh", "softmax", "conv2d", "maximum", "where",
                     "gather", "square", "sqrt", "abs", "argmax", "max_pool2d", "dense", "range", "slice"):
            self.assertTrue(callable(getattr(loom, name)), name)
        self.assertIs(loom.exp, loom.ops.exp)
        self.assertIsNot(loom.reshape, loom.ops.reshape)  # the TensorFlow-style one
        self.assertNotIn("conv2d_backprop_input", loom.__all__)
        self.assertEqual(abs(-2), 2)  # the op replaced builtins in loom's namespace only


class EveryKindOfInputTest(unittest.TestCase):
    def test_every_op_takes_tensors_arrays_and_lists(self):
        checked = 0
        for name in loom.ops.names():
            case = example(name)
            if case is None:
                continue
            inputs, attrs = case
            with self.subTest(op=name):
                reference = flat(call(name, inputs, attrs, "tensor"))
                for kind in ("numpy", "list"):
                    got = flat(call(name, inputs, attrs, kind))
                    self.assertEqual(len(got), len(reference))
                    for g, r in zip(got, reference):
                        self.assertEqual((g.shape, g.dtype), (r.shape, r.dtype))
                        np.testing.assert_array_equal(g.numpy(), r.numpy())
                checked += 1
        self.assertEqual(checked, len(loom.ops.names()))

    def test_elementwise_ops_take_scalars(self):
        for name in loom.ops.names():
            schema = loom.ops.schema(name)
            if schema["attrs"] or schema["min_inputs"] not in (1, 2) or schema["max_inputs"] != schema["min_inputs"]:
                continue
            if not all("float32" in i["dtypes"] for i in schema["inputs"]) or name in ("batch_norm", "dense", "relu_bias_grad"):
                continue
            with self.subTest(op=name):
                fn = getattr(loom.ops, name)
                args = [0.75] * schema["min_inputs"]
                got = fn(*args)
                want = fn(*[loom.tensor(0.75)] * schema["min_inputs"])
                self.assertEqual((got.shape, got.dtype), (want.shape, want.dtype))
                self.assertEqual(got.tolist(), want.tolist())
                mixed = fn(loom.tensor([0.75, 0.75]), *args[1:]) if len(args) == 2 and "entropy" not in name else None
                if mixed is not None:
                    self.assertEqual(mixed.tolist(), [want.item()] * 2)
        self.assertEqual(loom.exp(0).item(), 1.0)  # an int where only floats are taken: float32
        self.assertEqual(loom.maximum(loom.tensor([1.0, -1.0]), 0).tolist(), [1.0, 0.0])
        self.assertEqual(loom.add(1, 2).item(), 3)

    def test_top_level_functions_take_every_kind(self):
        cases = [
            (lambda v: loom.tensor(v), X),
            (lambda v: loom.convert_to_tensor(v), X),
            (lambda v: loom.constant(v), X),
            (lambda v: loom.reshape(v, [3, 2]), X),
            (lambda v: loom.reshape(v, (-1,)), X),
            (lambda v: loom.transpose(v), X),
            (lambda v: loom.transpose(v, [1, 0]), X),
            (lambda v: loom.reduce_sum(v), X),
            (lambda v: loom.reduce_sum(v, axis=1, keepdims=True), X),
            (lambda v: loom.reduce_mean(v, 0), X),
            (lambda v: loom.reduce_max(v, [0, 1]), X),
            (lambda v: loom.reduce_min(v, axis=-1), X),
            (lambda v: loom.reduce_prod(v, axis=0), X),
            (lambda v: loom.cast(v, "int64"), X),
            (lambda v: loom.concat([v, v], 1), X),
            (lambda v: loom.stack([v, v]), X),
            (lambda v: loom.split(v, 3, axis=1), X),
            (lambda v: loom.split(v, [1, 2], axis=1), X),
            (lambda v: loom.expand_dims(v, 1), X),
            (lambda v: loom.squeeze(loom.expand_dims(v, 0)), X),
            (lambda v: loom.tile(v, [2, 1]), X),
            (lambda v: loom.broadcast_to(v, [2, 2, 3]), X),
            (lambda v: loom.clip_by_value(v, 0.6, 1.8), X),
            (lambda v: loom.pad(v, [[1, 0], [0, 2]], 7.0), X),
            (lambda v: loom.zeros_like(v), X),
            (lambda v: loom.ones_like(v), X),
            (lambda v: loom.numpy(v), X),
            (lambda v: loom.matmul(v, loom.transpose(v)), X),
            (lambda v: loom.softmax(v, axis=0), X),
            (lambda v: loom.op("mul", v, v), X),
            (lambda v: loom.losses.MeanSquaredError()(v, loom.zeros([2, 3])), X),
            (lambda v: loom.losses.mean_absolute_error(v, loom.ones([2, 3])), X),
            (lambda v: loom.losses.BinaryCrossentropy()(loom.ones([2, 3]) * 0.5, loom.sigmoid(v)), X),
            (lambda v: loom.one_hot(v, 4), [0, 3, 1]),
            (lambda v: loom.Variable(v).numpy(), X),
        ]
        for i, (fn, value) in enumerate(cases):
            with self.subTest(case=i):
                dtype = "int64" if isinstance(value[0], int) else "float32"
                reference = np.asarray(flat(fn(as_kind(value, "tensor", dtype)))[0])
                for kind in ("numpy", "list"):
                    got = flat(fn(as_kind(value, kind, dtype)))[0]
                    np.testing.assert_array_equal(np.asarray(got), reference)


class ValuesTest(unittest.TestCase):
    def test_elementwise_and_reductions_against_numpy(self):
        x = np.array(X, np.float32)
        t = loom.tensor(x)
        close = lambda a, b: np.testing.assert_allclose(np.asarray(a), b, rtol=1e-5, atol=1e-6)  # noqa: E731
        close(loom.exp(t), np.exp(x))
        close(loom.log(t), np.log(x))
        close(loom.sqrt(t), np.sqrt(x))
        close(loom.rsqrt(t), 1 / np.sqrt(x))
        close(loom.tanh(t), np.tanh(x))
        close(loom.sigmoid(t), 1 / (1 + np.exp(-x)))
        close(loom.softplus(t), np.log1p(np.exp(x)))
        close(loom.square(t), x * x)
        close(loom.sin(t), np.sin(x))
        close(loom.erf(t), [[math.erf(v) for v in row] for row in X])
        e = np.exp(x - x.max(axis=1, keepdims=True))
        close(loom.softmax(t), e / e.sum(axis=1, keepdims=True))
        close(loom.log_softmax(t), np.log(e / e.sum(axis=1, keepdims=True)))
        close(loom.reduce_sum(t, axis=0), x.sum(0))
        close(loom.reduce_mean(t), x.mean())
        close(loom.reduce_max(t, 1), x.max(1))
        close(loom.reduce_prod(t), x.prod())
        close(loom.norm(t), np.linalg.norm(x))
        self.assertEqual(loom.argmax(t, axis=1).tolist(), x.argmax(1).tolist())
        close(loom.matmul(t, t, transpose_b=True), x @ x.T)
        close(loom.ops.gather(t, [1, 1, 0], axis=0), x[[1, 1, 0]])
        close(loom.where(np.array(COND), t, 0.0), np.where(COND, x, 0))
        close(loom.one_hot([0, 2], 3), np.eye(3)[[0, 2]])
        close(loom.ops.dense(t, np.ones((3, 2), np.float32), np.array([0.5, -0.5], np.float32), activation="relu"),
              np.maximum(x @ np.ones((3, 2)) + [0.5, -0.5], 0))
        labels = np.array([0, 2])
        ce = -np.log((e / e.sum(axis=1, keepdims=True))[[0, 1], labels])
        close(loom.sparse_softmax_cross_entropy_with_logits(labels, t), ce)
        self.assertEqual(loom.ops.range(start=0, limit=5, delta=2).tolist(), [0, 2, 4])
        self.assertEqual(loom.arange(3).tolist(), [0, 1, 2])
        self.assertEqual(loom.arange(0, 1, 0.25).tolist(), [0.0, 0.25, 0.5, 0.75])
        self.assertEqual(loom.zeros([2]).tolist(), [0.0, 0.0])
        self.assertEqual(loom.ones(2, "int32").tolist(), [1, 1])
        self.assertEqual(loom.fill([2], 7, "int64").tolist(), [7, 7])
        self.assertEqual(loom.random_normal([4], seed=5).tolist(), loom.random_normal([4], seed=5).tolist())
        u = loom.random_uniform([100], 2.0, 3.0, seed=1).numpy()
        self.assertTrue(((u >= 2) & (u < 3)).all())
        self.assertEqual(loom.random_uniform([3], 0, 10, "int64", seed=1).dtype, "int64")

    def test_conv_and_pools_against_numpy(self):
        x = np.array(X4, np.float32)
        f = np.array(F4, np.float32)
        out = loom.conv2d(x, f, [0.5]).numpy()
        want = np.zeros((1, 2, 2, 1), np.float32)
        for i in range(2):
            for j in range(2):
                want[0, i, j, 0] = (x[0, i:i + 2, j:j + 2, 0] * f[:, :, 0, 0]).sum() + 0.5
        np.testing.assert_allclose(out, want)
        self.assertEqual(loom.conv2d(x, f, padding="same", strides=[2, 2]).shape, (1, 2, 2, 1))
        y, argmax = loom.max_pool2d(x, window=[2, 2], strides=[1, 1])
        np.testing.assert_array_equal(y.numpy()[0, :, :, 0], [[5, 6], [8, 9]])
        self.assertEqual(argmax.dtype, "int64")
        np.testing.assert_allclose(loom.avg_pool2d(x, window=[3, 3]).numpy().ravel(), [5.0])
        np.testing.assert_allclose(loom.global_avg_pool2d(x).numpy(), [[5.0]])

    def test_multiple_and_variadic_outputs(self):
        y, mean, variance = loom.batch_norm(X, [1.0, 1.0, 1.0], [0.0, 0.0, 0.0])
        x = np.array(X, np.float32)
        np.testing.assert_allclose(mean.numpy(), x.mean(0), rtol=1e-6)
        np.testing.assert_allclose(variance.numpy(), x.var(0), rtol=1e-5)
        np.testing.assert_allclose(y.numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), rtol=1e-4)
        parts = loom.ops.split(X, num=3, axis=1)
        self.assertIsInstance(parts, list)
        self.assertEqual([p.tolist() for p in parts], [[[0.5], [1.0]], [[1.5], [0.25]], [[2.0], [3.0]]])
        self.assertEqual(len(loom.ops.split(loom.arange(10), sizes=[2, 3, 5])), 3)
        self.assertEqual(len(loom.ops.split(loom.arange(100), num=100)), 100)


class AttributeCheckTest(unittest.TestCase):
    def test_attribute_types_are_checked_against_the_schema(self):
        x = loom.tensor(X)
        bad = [
            (lambda: loom.ops.reduce_sum(x, keepdims=1), "keepdims", "a bool"),
            (lambda: loom.ops.argmax(x, axis=1.5), "axis", "an int"),
            (lambda: loom.ops.argmax(x, axis=True), "axis", "an int"),
            (lambda: loom.ops.clip(x, min="0", max=1.0), "min", "a float"),
            (lambda: loom.ops.conv2d(np.ones((1, 3, 3, 1), np.float32), np.ones((1, 1, 1, 1), np.float32),
                                     strides="2"), "strides", "a list of ints"),
            (lambda: loom.ops.conv2d(np.ones((1, 3, 3, 1), np.float32), np.ones((1, 1, 1, 1), np.float32),
                                     padding=1), "padding", "a string"),
            (lambda: loom.ops.reshape(x, shape=[3.0, 2.0]), "shape", "must be an int"),
            (lambda: loom.ops.cast(x, dtype="complex"), "dtype", "a dtype"),
            (lambda: loom.ops.fill(shape=[2], value=[1.0]), "value", "a float"),
        ]
        for fn, attr, words in bad:
            with self.subTest(attr=attr):
                with self.assertRaises(TypeError) as e:
                    fn()
                self.assertIn("loom.ops.", str(e.exception))
                self.assertIn(attr, str(e.exception))
                self.assertIn(words, str(e.exception))
        with self.assertRaises(TypeError):
            loom.ops.reshape(x)  # a required attribute
        with self.assertRaisesRegex(ValueError, "range of int64"):
            loom.ops.argmax(x, axis=2 ** 70)
        with self.assertRaisesRegex(TypeError, "list of tensors"):
            loom.ops.concat(x, axis=0)
        self.assertEqual(loom.ops.reduce_sum(x, axes=1).shape, (2,))  # one int for an int list

    def test_defaults_are_left_to_the_library(self):
        x = loom.tensor(X)
        self.assertEqual(loom.ops.reduce_sum(x).shape, ())
        self.assertEqual(loom.ops.conv2d(np.ones((1, 3, 3, 1), np.float32), np.ones((2, 2, 1, 1), np.float32)).shape,
                         (1, 2, 2, 1))
        self.assertEqual(repr(inspect.signature(loom.ops.conv2d).parameters["strides"].default), "[1, 1]")

    def test_loom_errors_name_the_op(self):
        with self.assertRaises(loom.ShapeError) as e:
            loom.ops.matmul(loom.ones([2, 3]), loom.ones([2, 3]))
        self.assertIn("loom.ops.matmul", str(e.exception))
        self.assertIn("[matmul]", str(e.exception))
        self.assertEqual((e.exception.status, e.exception.status_name), (2, "SHAPE"))
        with self.assertRaises(loom.DTypeError):
            loom.ops.exp(loom.tensor([1, 2], "int32"))
        with self.assertRaises(loom.NotFoundError) as e:
            loom.op("no_such_op", loom.tensor([1.0]))
        self.assertIsInstance(e.exception, loom.LoomError)
        with self.assertRaises(loom.NotFoundError):
            loom.ops.schema("no_such_op")
        with self.assertRaises(AttributeError):
            loom.ops.get("no_such_op")


if __name__ == "__main__":
    unittest.main()
