"""The rest of the public API: losses and metrics, initializers and regularizers, dtypes,
small classes; and a check that every public name is used by some test."""
import glob
import os
import re
import unittest

import numpy as np

import loom
from helpers import KINDS, as_kind, scratch

Y_TRUE = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
LOGITS = [[0.5, 2.0, -1.0], [1.5, 0.0, 0.25]]


def softmax(z):
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


class LossesTest(unittest.TestCase):
    def test_losses_against_numpy_with_every_kind(self):
        yt, z = np.array(Y_TRUE), np.array(LOGITS)
        p = softmax(z)
        s = 1 / (1 + np.exp(-z))
        labels = yt.argmax(1)
        cases = [
            (loom.losses.MeanSquaredError(), Y_TRUE, z, np.mean((yt - z) ** 2)),
            (loom.losses.MeanAbsoluteError(), Y_TRUE, z, np.mean(np.abs(yt - z))),
            (loom.losses.SparseCategoricalCrossentropy(from_logits=True), labels.tolist(), z,
             np.mean(-np.log(p[[0, 1], labels]))),
            (loom.losses.SparseCategoricalCrossentropy(), labels.tolist(), p, np.mean(-np.log(p[[0, 1], labels]))),
            (loom.losses.CategoricalCrossentropy(from_logits=True), Y_TRUE, z, np.mean(-np.sum(yt * np.log(p), 1))),
            (loom.losses.CategoricalCrossentropy(), Y_TRUE, p, np.mean(-np.sum(yt * np.log(p), 1))),
            (loom.losses.BinaryCrossentropy(from_logits=True), Y_TRUE, z,
             np.mean(-(yt * np.log(s) + (1 - yt) * np.log(1 - s)))),
            (loom.losses.BinaryCrossentropy(), Y_TRUE, s, np.mean(-(yt * np.log(s) + (1 - yt) * np.log(1 - s)))),
        ]
        for loss, y_true, y_pred, expected in cases:
            for kind in KINDS:
                with self.subTest(loss=repr(loss), kind=kind):
                    dtype = "int64" if isinstance(y_true[0], int) else "float32"
                    got = loss(as_kind(y_true, kind, dtype), as_kind(np.asarray(y_pred).tolist(), kind))
                    self.assertAlmostEqual(got.item(), expected, places=5)
        np.testing.assert_allclose(loom.losses.mean_squared_error(Y_TRUE, z.astype(np.float32)).numpy(),
                                   np.mean((yt - z) ** 2, axis=-1), rtol=1e-6)
        self.assertAlmostEqual(loom.losses.categorical_crossentropy(Y_TRUE, p.astype(np.float32)).item(),
                               np.mean(-np.sum(yt * np.log(p), 1)), places=5)
        self.assertAlmostEqual(loom.losses.sparse_categorical_crossentropy([1, 0], z.astype(np.float32),
                                                                           from_logits=True).item(),
                               np.mean(-np.log(p[[0, 1], [1, 0]])), places=5)
        self.assertAlmostEqual(loom.losses.binary_crossentropy(Y_TRUE, z.astype(np.float32), from_logits=True).item(),
                               np.mean(-(yt * np.log(s) + (1 - yt) * np.log(1 - s))), places=5)
        for name in loom.losses.NAMES:
            self.assertIsInstance(loom.losses.get(name), loom.losses.Loss)
        with self.assertRaises(ValueError):
            loom.losses.get("hinge")

    def test_metric_objects_compile(self):
        x = np.random.RandomState(0).rand(32, 2).astype(np.float32)
        y = (x[:, 0] > 0.5).astype(np.int64)
        model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(2)])
        model.compile("adam", loom.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=[loom.metrics.SparseCategoricalAccuracy(), "accuracy"])
        self.assertEqual(model.metrics_names, ["loss", "sparse_categorical_accuracy", "accuracy"])
        results = model.evaluate(x, y, return_dict=True)
        self.assertEqual(results["accuracy"], results["sparse_categorical_accuracy"])
        self.assertAlmostEqual(results["accuracy"], float(np.mean(model.predict(x).argmax(1) == y)))
        for cls in (loom.metrics.Accuracy, loom.metrics.CategoricalAccuracy, loom.metrics.BinaryAccuracy,
                    loom.metrics.MeanAbsoluteError):
            self.assertIsInstance(cls(), loom.metrics.Metric)
            self.assertIn(cls.name, loom.metrics.NAMES)
        self.assertEqual(loom.metrics.name_of("mae", "test"), "mae")
        with self.assertRaises(TypeError):
            loom.metrics.name_of(3, "test")


class InitializersAndRegularizersTest(unittest.TestCase):
    def test_initializers(self):
        x = np.ones((2, 64), np.float32)
        for cls in (loom.initializers.Zeros, loom.initializers.Ones, loom.initializers.GlorotUniform,
                    loom.initializers.GlorotNormal, loom.initializers.HeNormal, loom.initializers.HeUniform,
                    loom.initializers.RandomNormal, loom.initializers.RandomUniform,
                    loom.initializers.TruncatedNormal):
            with self.subTest(initializer=cls.__name__):
                self.assertIsInstance(cls(), loom.initializers.Initializer)
                layer = loom.layers.Dense(32, kernel_initializer=cls(), bias_initializer="ones")
                layer(x)
                kernel, bias = layer.get_weights()
                self.assertEqual(bias.tolist(), [1.0] * 32)
                if cls is loom.initializers.Zeros:
                    self.assertTrue((kernel == 0).all())
                elif cls is loom.initializers.Ones:
                    self.assertTrue((kernel == 1).all())
                elif cls is loom.initializers.GlorotUniform:
                    limit = np.sqrt(6 / (64 + 32))
                    self.assertTrue((np.abs(kernel) <= limit).all())
                    self.assertGreater(kernel.std(), limit / 3)
                else:
                    self.assertGreater(kernel.std(), 0)
        self.assertEqual(loom.initializers.serialize(loom.initializers.HeNormal()), "he_normal")
        self.assertEqual(loom.initializers.Constant(2.5)((2,)).tolist(), [2.5, 2.5])
        with self.assertRaises(TypeError):
            loom.layers.Dense(2, kernel_initializer=loom.initializers.Constant(1.0))

    def test_regularizers_add_their_penalty(self):
        x = np.zeros((4, 3), np.float32)
        y = np.zeros((4, 2), np.float32)
        for regularizer, expected in ((loom.regularizers.L2(0.5), lambda k: 0.5 * np.sum(k ** 2)),
                                      (loom.regularizers.L1(0.1), lambda k: 0.1 * np.sum(np.abs(k))),
                                      (loom.regularizers.L1L2(l1=0.1, l2=0.5), lambda k: 0.1 * np.sum(np.abs(k)) +
                                       0.5 * np.sum(k ** 2)),
                                      (loom.regularizers.l1_l2(0.1, 0.5), None), (loom.regularizers.l1(0.1), None),
                                      (loom.regularizers.l2(0.5), None)):
            with self.subTest(regularizer=repr(regularizer)):
                self.assertIsInstance(regularizer, loom.regularizers.Regularizer)
                model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2, kernel_regularizer=regularizer)])
                model.compile(loom.optimizers.SGD(1e-9), "mse")
                kernel = model.get_weights()[0]
                loss = model.fit(x, y, epochs=1, batch_size=4, verbose=0).history["loss"][0]  # training losses
                self.assertEqual(model.evaluate(x, y), 0.0)  # evaluate leaves the penalty out
                if expected is not None:
                    self.assertAlmostEqual(loss, expected(kernel), places=5)
                else:
                    self.assertGreater(loss, 0.0)


class SmallThingsTest(unittest.TestCase):
    def test_dtypes(self):
        for name in ("float32", "float64", "int32", "int64", "bool", "uint8", "float16", "bfloat16"):
            dtype = loom.as_dtype(name)
            self.assertIsInstance(dtype, loom.DType)
            self.assertEqual(dtype, name)
            self.assertIs(loom.as_dtype(dtype), getattr(loom, name if name != "bool" else "bool_"))
        self.assertEqual(loom.as_dtype(np.float64), "float64")
        self.assertEqual(loom.as_dtype(float), "float32")
        self.assertEqual(loom.float16.itemsize, 2)
        self.assertEqual(loom.bfloat16.as_numpy_dtype, np.float32)
        with self.assertRaises(TypeError):
            loom.as_dtype("complex128")

    def test_small_classes(self):
        x = loom.tensor([1.0, 2.0])
        with loom.GradientTape() as tape:
            tape.watch(x)
            y = x * 2.0
        self.assertEqual(tape.gradient(y, loom.tensor(0.0), unconnected_gradients=loom.UnconnectedGradients.ZERO).item(),
                         0.0)
        self.assertIsInstance(loom.config.list_physical_devices()[0], loom.config.PhysicalDevice)
        try:
            loom.config.set_memory_growth("CPU:0", True)
        except loom.LoomError as e:  # the CPU allocator may not grow; the message names the device
            self.assertIn("CPU", str(e))
        model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
        model.compile(loom.optimizers.SGD(0.1), "mse")
        path = os.path.join(scratch(self), "m.loom")
        loom.save_model(model, path)
        loom.models.save_model(model, path)
        self.assertIsInstance(loom.load_model(path), loom.Model)
        history = model.fit(np.ones((4, 2), np.float32), np.ones((4, 1), np.float32), epochs=2, verbose=0,
                            callbacks=[loom.callbacks.TerminateOnNaN()])
        self.assertIsInstance(history, loom.callbacks.History)
        self.assertIs(history.model, model)
        nan_model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
        nan_model.compile(loom.optimizers.SGD(1e30), "mse")
        stopped = nan_model.fit(np.full((4, 2), 1e10, np.float32), np.ones((4, 1), np.float32), epochs=5, verbose=0,
                                batch_size=1, callbacks=[loom.callbacks.TerminateOnNaN()])
        self.assertLess(len(stopped.epoch), 5)
        self.assertIsInstance(loom.optimizers.SGD(), loom.optimizers.Optimizer)
        f = loom.io.SafetensorsFile({"a": loom.tensor(1.0)}, {"k": "v"})
        self.assertEqual((sorted(f), f.metadata), (["a"], {"k": "v"}))


class EveryPublicNameIsTestedTest(unittest.TestCase):
    def test_every_public_name_appears_in_a_test(self):
        here = os.path.dirname(os.path.abspath(__file__))
        text = ""
        for path in glob.glob(os.path.join(here, "test_*.py")):
            with open(path, encoding="utf-8") as f:
                text += f.read()
        ops = set(loom.ops.names())
        modules = [loom, loom.layers, loom.models, loom.io, loom.config, loom.data, loom.optimizers, loom.losses,
                   loom.callbacks, loom.metrics, loom.initializers, loom.regularizers, loom.datasets]
        missing = []
        for module in modules:
            for name in getattr(module, "__all__", []):
                if name not in ops and not re.search(r"\b" + re.escape(name) + r"\b", text):
                    missing.append(f"{module.__name__}.{name}")
        self.assertEqual(missing, [])


if __name__ == "__main__":
    unittest.main()
