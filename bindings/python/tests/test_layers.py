"""Built-in layers by Keras name (values, weights, every kind of input), symbolic inputs and
functional graphs, and layers written in Python (add_weight, sublayers, gradients, errors)."""
import unittest

import numpy as np

import loom
from helpers import KINDS, as_kind

L = loom.layers
X = [[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]]
IMG = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3) / 10.0


def run_every_kind(test, layer, value, **kwargs):
    """The layer's output for `value` as a Tensor, an array and a list (all equal); returns it."""
    outs = [layer(as_kind(value, kind), **kwargs).numpy() for kind in KINDS]
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    return outs[0]


class BuiltinLayersTest(unittest.TestCase):
    def test_keras_names(self):
        for name in ("Dense", "Conv2D", "MaxPool2D", "MaxPooling2D", "AvgPool2D", "AveragePooling2D", "GlobalAvgPool2D",
                     "GlobalAveragePooling2D", "Flatten", "Reshape", "Dropout", "Activation", "BatchNormalization",
                     "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Layer", "Input",
                     "InputLayer", "ReLU", "Softmax"):
            self.assertTrue(hasattr(L, name), name)
        self.assertIs(L.MaxPooling2D, L.MaxPool2D)
        self.assertIs(L.GlobalAveragePooling2D, L.GlobalAvgPool2D)

    def test_dense_values_weights_and_names(self):
        layer = L.Dense(2, activation="relu", name="my_dense")
        self.assertEqual((layer.name, layer.weights), ("my_dense", []))  # built on the first call
        layer(np.zeros((1, 3), np.float32))
        self.assertEqual([w.name for w in layer.weights], ["my_dense/kernel", "my_dense/bias"])
        self.assertEqual([w.shape for w in layer.trainable_weights], [(3, 2), (2,)])
        self.assertEqual(layer.non_trainable_weights, [])
        kernel = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
        for kind in KINDS:
            layer.set_weights([as_kind(kernel.tolist(), kind), as_kind([0.5, -0.5], kind)])
        got = [w.tolist() for w in layer.get_weights()]
        self.assertEqual(got, [kernel.tolist(), [0.5, -0.5]])
        out = run_every_kind(self, layer, X)
        np.testing.assert_allclose(out, np.maximum(np.array(X) @ kernel + [0.5, -0.5], 0))
        np.testing.assert_allclose(layer(np.array(X)).numpy(), out)  # float64 arrays: float32, as Keras
        self.assertEqual(layer.count_params(), 8)
        self.assertEqual(layer.get_config()["units"], 2)
        with self.assertRaisesRegex(ValueError, "weights"):
            layer.set_weights([kernel])
        with self.assertRaisesRegex(ValueError, "shape"):
            layer.set_weights([kernel.T, [0.0, 0.0]])
        with self.assertRaises(TypeError):
            L.Dense("two")
        with self.assertRaisesRegex(TypeError, "unknown argument"):
            L.Dense(2, colour="red")
        with self.assertRaises(loom.LoomError) as e:
            L.Dense(2, activation="no_such_activation")(np.zeros((1, 3), np.float32))
        self.assertIn("no_such_activation", str(e.exception))
        self.assertEqual(L.Dense(1, activation=loom.relu).get_config()["activation"], "relu")

    def test_conv_and_pools(self):
        conv = L.Conv2D(2, 3, padding="same", use_bias=False)
        conv(IMG)
        kernel = np.random.RandomState(0).randn(3, 3, 3, 2).astype(np.float32)
        conv.set_weights([kernel])
        np.testing.assert_allclose(run_every_kind(self, conv, IMG.tolist()),
                                   loom.conv2d(IMG, kernel, padding="same").numpy(), rtol=1e-5)
        self.assertEqual(L.Conv2D(4, (2, 2), strides=2)(IMG).shape, (2, 2, 2, 4))
        x = IMG
        pooled = run_every_kind(self, L.MaxPool2D(2), x)
        np.testing.assert_allclose(pooled, x.reshape(2, 2, 2, 2, 2, 3).max(axis=(2, 4)))
        np.testing.assert_allclose(L.MaxPooling2D(pool_size=(2, 2), strides=(2, 2))(x).numpy(), pooled)
        avg = run_every_kind(self, L.AvgPool2D(2), x)
        np.testing.assert_allclose(avg, x.reshape(2, 2, 2, 2, 2, 3).mean(axis=(2, 4)), rtol=1e-6)
        np.testing.assert_allclose(L.AveragePooling2D(2, padding="same")(x).numpy(), avg, rtol=1e-6)
        np.testing.assert_allclose(run_every_kind(self, L.GlobalAvgPool2D(), x), x.mean(axis=(1, 2)), rtol=1e-6)
        np.testing.assert_allclose(L.GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)), rtol=1e-6)

    def test_shape_layers_dropout_and_activations(self):
        self.assertEqual(run_every_kind(self, L.Flatten(), IMG).shape, (2, 48))
        self.assertEqual(run_every_kind(self, L.Reshape((16, 3)), IMG).shape, (2, 16, 3))
        np.testing.assert_array_equal(run_every_kind(self, L.Dropout(0.5), X), X)  # inference
        big = np.ones((200, 50), np.float32)
        dropped = L.Dropout(0.5, seed=1)(big, training=True).numpy()
        self.assertTrue(set(np.unique(dropped)) <= {0.0, 2.0})
        self.assertAlmostEqual((dropped == 0).mean(), 0.5, delta=0.05)
        np.testing.assert_array_equal(run_every_kind(self, L.Activation("relu"), X), np.maximum(X, 0))
        np.testing.assert_array_equal(L.ReLU()(X).numpy(), np.maximum(X, 0))
        e = np.exp(np.array(X) - np.max(X, axis=1, keepdims=True))
        np.testing.assert_allclose(L.Softmax()(X).numpy(), e / e.sum(1, keepdims=True), rtol=1e-6)
        np.testing.assert_allclose(L.Activation("tanh")(X, training=True).numpy(), np.tanh(X), rtol=1e-6)

    def test_batch_normalization(self):
        bn = L.BatchNormalization(momentum=0.5, epsilon=1e-3)
        x = np.array(X, np.float32)
        inference = run_every_kind(self, bn, X)
        np.testing.assert_allclose(inference, x / np.sqrt(1 + 1e-3), rtol=1e-5)
        self.assertEqual(len(bn.weights), 4)
        self.assertEqual(len(bn.trainable_weights), 2)
        self.assertEqual(len(bn.non_trainable_weights), 2)
        training = bn(x, training=True).numpy()
        np.testing.assert_allclose(training, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3), rtol=1e-4, atol=1e-5)
        moving_mean = [w for w in bn.weights if "moving_mean" in w.name][0]
        np.testing.assert_allclose(moving_mean.numpy(), 0.5 * x.mean(0), rtol=1e-5)
        with self.assertRaises(NotImplementedError):
            L.BatchNormalization(axis=1)

    def test_merge_layers_with_every_kind(self):
        a, b = [[1.0, 5.0], [3.0, -2.0]], [[2.0, 1.0], [0.0, 4.0]]
        na, nb = np.array(a), np.array(b)
        expected = {L.Add: na + nb, L.Subtract: na - nb, L.Multiply: na * nb, L.Average: (na + nb) / 2,
                    L.Maximum: np.maximum(na, nb), L.Minimum: np.minimum(na, nb)}
        for cls, want in expected.items():
            for kind in KINDS:
                with self.subTest(layer=cls.__name__, kind=kind):
                    got = cls()([as_kind(a, kind), as_kind(b, kind)])
                    np.testing.assert_allclose(got.numpy(), want)
        np.testing.assert_array_equal(L.Concatenate()([na.astype(np.float32), loom.tensor(b)]).numpy(),
                                      np.concatenate([na, nb], axis=-1))
        np.testing.assert_array_equal(L.Concatenate(axis=0)([a, b]).numpy(), np.concatenate([na, nb], axis=0))
        with self.assertRaisesRegex(TypeError, "list of inputs"):
            L.Add()(loom.tensor(a))


class FunctionalTest(unittest.TestCase):
    def test_symbolic_tensors_and_models(self):
        inputs = loom.Input((4,), name="features")
        self.assertEqual((inputs.shape, inputs.dtype, inputs.name), ((None, 4), "float32", "features"))
        hidden = L.Dense(8, activation="relu", name="hidden")(inputs)
        self.assertIsInstance(hidden, loom.SymbolicTensor)
        self.assertEqual(hidden.shape, (None, 8))
        outputs = L.Dense(3, name="out")(hidden)
        model = loom.Model(inputs=inputs, outputs=outputs, name="mlp")
        self.assertEqual(model.name, "mlp")
        self.assertEqual([l.name for l in model.layers][-2:], ["hidden", "out"])
        self.assertIs(model.get_layer("hidden"), model.layers[-2])
        self.assertIs(model.get_layer(index=-1), model.layers[-1])
        x = np.random.RandomState(0).rand(5, 4).astype(np.float32)
        for kind in ("tensor", "numpy", "list"):
            np.testing.assert_allclose(np.asarray(model(as_kind(x.tolist(), kind))), model.predict(x), rtol=1e-6)
        with self.assertRaisesRegex(ValueError, "no layer named"):
            model.get_layer("nope")
        with self.assertRaises(loom.ShapeError) as e:
            L.Dense(2)(L.Flatten()(loom.Input((2, 2))) + loom.Input((3,)))
        self.assertIn("loom_layer_apply", str(e.exception))
        with self.assertRaisesRegex(TypeError, "inputs= and outputs="):
            loom.Model()

    def test_merges_nesting_and_symbolic_arithmetic(self):
        a, b = loom.Input((3,)), loom.Input((3,))
        added = L.Add()([a, b])
        inner = loom.Model(inputs=[a, b], outputs=[added, L.Concatenate()([a, b])])
        c, d = loom.Input((3,)), loom.Input((3,))
        s, cat = inner([c, d])  # a model called on symbolic tensors
        total = L.Dense(3, use_bias=False, kernel_initializer="ones")(cat) + (c - d) * c
        outer = loom.Model([c, d], [s, total])
        xc, xd = np.ones((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)
        got = outer.predict([xc, xd])
        np.testing.assert_allclose(got[0], xc + xd)
        np.testing.assert_allclose(got[1], (xc.sum(1, keepdims=True) + xd.sum(1, keepdims=True)) + (xc - xd) * xc)
        self.assertEqual([t.shape for t in outer([xc, xd])], [(2, 3), (2, 3)])

    def test_calls_on_several_inputs_or_outputs_are_differentiable(self):
        a, b = loom.Input((2,)), loom.Input((2,))
        dense = L.Dense(1, kernel_initializer="ones")
        two_in = loom.Model([a, b], dense(L.Add()([a, b])))
        x = np.ones((3, 2), np.float32)
        with loom.GradientTape() as tape:
            y = loom.reduce_sum(two_in([x, 2 * x], training=True))
        kernel, bias = tape.gradient(y, two_in.trainable_variables)
        self.assertEqual((kernel.tolist(), bias.tolist()), ([[9.0], [9.0]], [3.0]))  # sum over rows of a + b
        two_out = loom.Model(a, [dense(a), L.Dense(2)(a)])
        with loom.GradientTape() as tape:
            first, second = two_out(x, training=True)
            y = loom.reduce_sum(first)
        grads = tape.gradient(y, two_out.trainable_variables)
        self.assertEqual(grads[0].tolist(), [[3.0], [3.0]])
        self.assertEqual(grads[2:], [None, None])
        np.testing.assert_allclose(second.numpy(), two_out.predict(x)[1], rtol=1e-6)


class Scale(L.Layer):
    """x * w + b with w, b per feature (a custom layer)."""

    def __init__(self, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def build(self, input_shape):
        self.seen_shape = input_shape
        self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
        self.b = self.add_weight("b", (input_shape[-1],), initializer=loom.initializers.Constant(self.offset))

    def call(self, x, training=False):
        return x * self.w + self.b


class Block(L.Layer):
    """Sublayers as attributes (also in a list) and a weight of its own."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.first = L.Dense(units, activation="tanh")
        self.rest = [L.Dense(units), Scale()]

    def build(self, input_shape):
        self.gain = self.add_weight("gain", (), initializer=lambda shape, dtype: loom.fill(shape, 2.0, dtype))

    def call(self, x, training=False):
        y = self.first(x)
        for layer in self.rest:
            y = layer(y)
        return y * self.gain


class Raiser(L.Layer):
    def call(self, x):
        raise ZeroDivisionError("raised in call")


class CustomLayerTest(unittest.TestCase):
    def test_weights_values_and_gradients(self):
        layer = Scale(offset=0.5)
        x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
        np.testing.assert_allclose(run_every_kind(self, layer, x.tolist()), x + 0.5)
        self.assertEqual(layer.seen_shape, (None, 2))
        self.assertTrue(layer.built)
        self.assertEqual([w.name for w in layer.weights], [f"{layer.name}/w", f"{layer.name}/b"])
        self.assertEqual(len(layer.trainable_weights), 2)
        with loom.GradientTape() as tape:
            y = loom.reduce_sum(layer(x) * layer(x))
        gw, gb = tape.gradient(y, [layer.w, layer.b])
        out = x + 0.5
        np.testing.assert_allclose(gw.numpy(), (2 * out * x).sum(0), rtol=1e-6)
        np.testing.assert_allclose(gb.numpy(), (2 * out).sum(0), rtol=1e-6)
        self.assertEqual(layer.get_config(), {"offset": 0.5, "name": layer.name})
        twin = Scale.from_config(layer.get_config())
        self.assertEqual(twin.name, layer.name)

    def test_sublayers_are_tracked_and_trained(self):
        block = Block(3)
        x = np.random.RandomState(1).randn(8, 4).astype(np.float32)
        y = block(x)
        self.assertEqual(y.shape, (8, 3))
        names = [w.name for w in block.weights]
        self.assertEqual(len(names), 7)  # gain, dense (2), dense (2), scale (2)
        self.assertTrue(any(n.endswith("/gain") for n in names))
        self.assertEqual(block.layers, [block.first] + block.rest)
        target = np.random.RandomState(2).randn(8, 3).astype(np.float32)
        opt = loom.optimizers.Adam(0.05)
        losses = []
        for _ in range(60):
            with loom.GradientTape() as tape:
                loss = loom.reduce_mean(loom.square(block(x, training=True) - target))
            variables = block.trainable_weights
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
            losses.append(loss.item())
        self.assertLess(losses[-1], losses[0] * 0.3)

    def test_custom_layers_in_models_train_with_fit(self):
        x = np.random.RandomState(3).rand(64, 2).astype(np.float32)
        y = x * np.array([2.0, -1.0], np.float32) + 0.5
        model = loom.Sequential([loom.Input((2,)), Scale()])
        model.compile(loom.optimizers.SGD(0.2), "mse")
        history = model.fit(x, y, epochs=100, batch_size=16, verbose=0)
        self.assertLess(history.history["loss"][-1], 1e-3)
        layer = model.layers[0]
        np.testing.assert_allclose(layer.w.numpy(), [2.0, -1.0], atol=0.05)
        np.testing.assert_allclose(layer.b.numpy(), [0.5, 0.5], atol=0.05)
        inputs = loom.Input((2,))
        functional = loom.Model(inputs, Scale(offset=1.0)(inputs))
        np.testing.assert_allclose(functional.predict(x), x + 1.0, rtol=1e-6)

    def test_exceptions_propagate_as_themselves(self):
        x = np.ones((2, 2), np.float32)
        with self.assertRaisesRegex(ZeroDivisionError, "raised in call"):
            Raiser()(x)
        model = loom.Sequential([Raiser()])
        with self.assertRaisesRegex(ZeroDivisionError, "raised in call"):
            model.predict(x)
        model.compile("sgd", "mse")
        with self.assertRaisesRegex(ZeroDivisionError, "raised in call"):
            model.fit(x, x, verbose=0)

        class BadBuild(L.Layer):
            def build(self, input_shape):
                raise KeyError("raised in build")

            def call(self, x):
                return x

        with self.assertRaisesRegex(KeyError, "raised in build"):
            BadBuild()(x)
        with self.assertRaisesRegex(TypeError, "returned value"):
            type("ReturnsText", (L.Layer,), {"call": lambda self, x: "text"})()(x)
        with self.assertRaises(NotImplementedError):
            L.Layer().call(x)

    def test_several_inputs(self):
        class WeightedSum(L.Layer):
            def build(self, input_shape):
                self.alpha = self.add_weight("alpha", (), initializer="ones")

            def call(self, inputs):
                a, b = inputs
                return a * self.alpha + b

        layer = WeightedSum()
        a, b = np.ones((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)
        np.testing.assert_allclose(layer([a, b]).numpy(), a + b)
        i1, i2 = loom.Input((3,)), loom.Input((3,))
        model = loom.Model([i1, i2], WeightedSum()([i1, i2]))
        np.testing.assert_allclose(model.predict([a, b]), a + b)
        with loom.GradientTape() as tape:
            y = loom.reduce_sum(layer([a, b]))
        self.assertEqual(tape.gradient(y, layer.alpha).item(), 6.0)


if __name__ == "__main__":
    unittest.main()
