"""loom through its C ABI from Python (ctypes): tensors, ops, tape, optimizers, models, ONNX."""
import math
import os
import tempfile
import unittest

import loom

try:
    import numpy as np
except ImportError:  # the package works without NumPy; those tests are skipped
    np = None


class TensorTest(unittest.TestCase):
    def test_lists_round_trip_with_shape_and_dtype(self):
        t = loom.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        self.assertEqual(t.shape, (2, 3))
        self.assertEqual(t.dtype, "float32")
        self.assertEqual(t.device, "CPU:0")
        self.assertEqual(t.tolist(), [[1, 2, 3], [4, 5, 6]])
        self.assertEqual(loom.tensor([1, 2]).dtype, "int64")
        self.assertEqual(loom.tensor(2.5).item(), 2.5)

    def test_buffers_in_and_out(self):
        import array
        t = loom.tensor(array.array("d", [0.5, 1.5, 2.5]))
        self.assertEqual((t.dtype, t.shape), ("float64", (3,)))
        view = loom.tensor([[1, 2], [3, 4]], dtype="int32").memoryview()
        self.assertEqual((view.format, view.shape, view.tolist()), ("i", (2, 2), [[1, 2], [3, 4]]))

    @unittest.skipIf(np is None, "NumPy not installed")
    def test_numpy_round_trip(self):
        a = np.arange(12, dtype=np.float32).reshape(3, 4)
        t = loom.tensor(a)
        self.assertEqual(t.shape, (3, 4))
        np.testing.assert_array_equal(t.numpy(), a)
        np.testing.assert_array_equal(loom.tensor(a.T).numpy(), a.T)  # non-contiguous input

    def test_errors_raise_with_the_function_name(self):
        with self.assertRaises(loom.LoomError) as e:
            loom.tensor([[1.0, 2.0]]) + loom.tensor([1.0, 2.0, 3.0])
        self.assertEqual(e.exception.status_name, "SHAPE")
        self.assertIn("loom_op_call: [add]", str(e.exception))
        with self.assertRaises(loom.LoomError) as e:
            loom.op("no_such_op", loom.tensor([1.0]))
        self.assertEqual(e.exception.status_name, "NOT_FOUND")
        with self.assertRaises(loom.LoomError) as e:
            loom.load_npy("/nonexistent/file.npy")
        self.assertIn("/nonexistent/file.npy", str(e.exception))

    def test_npy_round_trip(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.npy")
            loom.tensor([[1.0, 2.0]]).save_npy(path)
            self.assertEqual(loom.load_npy(path).tolist(), [[1.0, 2.0]])


class OpsTest(unittest.TestCase):
    def test_arithmetic_broadcasts(self):
        a = loom.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        self.assertEqual((a + loom.tensor([10.0, 20.0, 30.0])).tolist(), [[11, 22, 33], [14, 25, 36]])
        self.assertEqual((a * 2.0).tolist(), [[2, 4, 6], [8, 10, 12]])
        self.assertEqual((1.0 - a).tolist()[0], [0, -1, -2])
        self.assertEqual((a @ loom.tensor([[1.0], [0.0], [1.0]])).tolist(), [[4], [10]])

    def test_named_ops_and_attributes(self):
        a = loom.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        self.assertEqual(loom.reduce_sum(a, axis=1).tolist(), [6, 15])
        self.assertEqual(loom.reduce_mean(a).item(), 3.5)
        self.assertEqual(loom.reshape(a, [3, -1]).shape, (3, 2))
        self.assertEqual(loom.transpose(a).shape, (3, 2))
        p = loom.softmax(loom.tensor([0.0, math.log(3.0)])).tolist()
        self.assertAlmostEqual(p[0], 0.25, places=6)
        parts = loom.op("split", a, num=3, axis=1)
        self.assertEqual([t.tolist() for t in parts], [[[1], [4]], [[2], [5]], [[3], [6]]])


class TapeTest(unittest.TestCase):
    def test_gradients_of_tensors_and_variables(self):
        x = loom.tensor([1.0, 2.0, 3.0])
        w = loom.Variable(loom.tensor([2.0, 2.0, 2.0]), name="w")
        with loom.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = loom.reduce_sum(x * x * w)
        gw, gx = tape.gradient(y, [w, x])
        self.assertEqual(gx.tolist(), [4, 8, 12])  # 2 x w
        self.assertEqual(gw.tolist(), [1, 4, 9])   # x^2
        self.assertIsNone(tape.gradient(y, loom.tensor([1.0])))

    def test_finite_differences_in_float64(self):
        """d/dW sum(tanh(x @ W) * c) against central differences, all through the C ABI."""
        x = loom.tensor([[0.3, -1.2, 0.5], [1.1, 0.4, -0.7]], dtype="float64")
        c = loom.tensor([[1.0, -2.0], [0.5, 3.0]], dtype="float64")
        w0 = [[0.2, -0.4], [0.7, 0.1], [-0.3, 0.6]]

        def f(w_values):
            return loom.reduce_sum(loom.tanh(x @ loom.tensor(w_values, dtype="float64")) * c).item()

        w = loom.tensor(w0, dtype="float64")
        with loom.GradientTape() as tape:
            tape.watch(w)
            y = loom.reduce_sum(loom.tanh(x @ w) * c)
        analytic = tape.gradient(y, w).tolist()
        eps = 1e-6
        for i in range(3):
            for j in range(2):
                plus = [row[:] for row in w0]
                minus = [row[:] for row in w0]
                plus[i][j] += eps
                minus[i][j] -= eps
                numeric = (f(plus) - f(minus)) / (2 * eps)
                self.assertAlmostEqual(analytic[i][j], numeric, delta=1e-8 * max(1.0, abs(numeric)))

    def test_linear_regression_with_tape_and_optimizer(self):
        xs = [i / 10.0 for i in range(-10, 11)]
        x = loom.tensor(xs)
        y = loom.tensor([3.0 * v + 2.0 for v in xs])
        w = loom.Variable(loom.tensor(0.0), name="w")
        b = loom.Variable(loom.tensor(0.0), name="b")
        opt = loom.optimizers.SGD(learning_rate=0.2)
        for _ in range(300):
            with loom.GradientTape() as tape:
                loss = loom.reduce_mean((w * x + b - y) * (w * x + b - y))
            opt.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
        self.assertAlmostEqual(w.value.item(), 3.0, places=3)
        self.assertAlmostEqual(b.value.item(), 2.0, places=3)


class ModelTest(unittest.TestCase):
    def circle_data(self):
        points, labels = [], []
        for i in range(400):
            px, py = -1 + 2 * (i % 20) / 19, -1 + 2 * (i // 20) / 19
            points.append([px, py])
            labels.append(int(px * px + py * py < 0.5))
        return loom.tensor(points), loom.tensor(labels)

    def test_small_mlp_fits_predicts_and_reloads(self):
        loom.set_seed(3)
        x, y = self.circle_data()
        model = loom.Sequential([loom.layers.Dense(16, activation="tanh"), loom.layers.Dense(16, activation="tanh"),
                                 loom.layers.Dense(2)], input_shape=(2,))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      optimizer_config={"learning_rate": 0.02}, loss_config={"from_logits": True})
        seen = []
        losses = model.fit(x, y, epochs=40, batch_size=32, seed=1, on_epoch_end=lambda e, logs: seen.append(logs))
        self.assertEqual(len(losses), 40)
        self.assertEqual(len(seen), 40)
        self.assertLess(losses[-1], losses[0] * 0.3)
        results = model.evaluate(x, y)
        self.assertGreater(results["accuracy"], 0.95)
        self.assertEqual(model.predict(x).shape, (400, 2))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "mlp.safetensors")
            model.save_weights(path)
            twin = loom.Sequential([loom.layers.Dense(16, activation="tanh"), loom.layers.Dense(16, activation="tanh"),
                                    loom.layers.Dense(2)], input_shape=(2,))
            twin.load_weights(path)
            self.assertEqual(twin.predict(x).tolist(), model.predict(x).tolist())

    def test_a_callback_stops_training_and_exceptions_come_back(self):
        x, y = self.circle_data()
        model = loom.Sequential([loom.layers.Dense(2)], input_shape=(2,))
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", loss_config={"from_logits": True})
        self.assertEqual(len(model.fit(x, y, epochs=10, on_epoch_end=lambda e, logs: e == 2)), 3)

        def boom(epoch, logs):
            raise RuntimeError("from the callback")

        with self.assertRaisesRegex(RuntimeError, "from the callback"):
            model.fit(x, y, epochs=3, on_epoch_end=boom)

    def test_custom_loop_over_trainable_variables(self):
        x, y = self.circle_data()
        model = loom.Sequential([loom.layers.Dense(8, activation="relu"), loom.layers.Dense(2)], input_shape=(2,))
        variables = model.trainable_variables
        self.assertEqual(len(variables), 4)
        opt = loom.optimizers.Adam(learning_rate=0.05)
        first = None
        for _ in range(30):
            with loom.GradientTape() as tape:
                logits = model(x, training=True)
                loss = loom.reduce_mean(loom.op("sparse_softmax_cross_entropy_with_logits", y, logits))
            first = first if first is not None else loss.item()
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.assertLess(loss.item(), first * 0.7)


class OnnxTest(unittest.TestCase):
    GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "golden", "onnx")

    def golden(self, name):
        return os.path.join(self.GOLDEN, name)

    @staticmethod
    def max_abs_diff(a, b):
        def flat(t):
            values = t.tolist()
            while values and isinstance(values[0], list):
                values = [v for row in values for v in row]
            return values
        x, y = flat(a), flat(b)
        if a.shape != b.shape:
            return math.inf
        return max(abs(p - q) for p, q in zip(x, y))

    def test_pytorch_lenet_imports_predicts_exports_and_trains(self):
        model = loom.import_onnx(self.golden("lenet.onnx"))
        x = loom.load_npy(self.golden("lenet_input.npy"))
        predicted = model.predict(x)
        self.assertLessEqual(self.max_abs_diff(predicted, loom.load_npy(self.golden("lenet_expected.npy"))), 1e-5)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lenet.onnx")
            model.export_onnx(path)
            self.assertLessEqual(self.max_abs_diff(loom.import_onnx(path).predict(x), predicted), 1e-5)
        # Fine-tuning towards other classes than PyTorch's predictions moves the model there.
        classes = [(row.index(max(row)) + 1) % 10 for row in predicted.tolist()]
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      optimizer_config={"learning_rate": 0.01}, loss_config={"from_logits": True})
        losses = model.fit(x, loom.tensor(classes), epochs=60, batch_size=8, seed=1)
        self.assertLess(losses[-1], 0.5 * losses[0])
        self.assertEqual(model.evaluate(x, loom.tensor(classes))["accuracy"], 1.0)

    def test_pytorch_lenet_fine_tunes_on_fashion_mnist(self):
        data = os.environ.get("LOOM_FASHION_MNIST_DIR", "")
        if not os.path.isdir(data):
            self.skipTest(f"no Fashion-MNIST in {data!r} (LOOM_FASHION_MNIST_DIR; ctest's fashion_mnist_data fetches it)")
        x_train, y_train, x_test, y_test = loom.load_mnist(data)

        def first(images, labels, n):
            x = loom.op("slice", images, begin=[0, 0, 0], end=[n, 28, 28]).cast("float32") * (1.0 / 255)
            return loom.reshape(x, (n, 1, 28, 28)), loom.op("slice", labels, begin=[0], end=[n]).cast("int64")

        x, y = first(x_train, y_train, 4000)
        xt, yt = first(x_test, y_test, 1000)
        model = loom.import_onnx(self.golden("lenet.onnx"))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      optimizer_config={"learning_rate": 0.002}, loss_config={"from_logits": True})
        before = model.evaluate(xt, yt)["accuracy"]
        losses = model.fit(x, y, epochs=2, batch_size=64, seed=1)
        after = model.evaluate(xt, yt)["accuracy"]
        self.assertLess(losses[1], losses[0])
        self.assertGreater(after, before + 0.01, f"test accuracy {before} -> {after}")  # 0.721 -> 0.746

    def test_errors_name_the_file(self):
        with self.assertRaisesRegex(loom.LoomError, "loom_onnx_import.*is not an ONNX model"):
            loom.import_onnx(self.golden("lenet_input.npy"))
        model = loom.Sequential([loom.layers.Dense(2)], input_shape=(3,))
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(loom.LoomError, "loom_onnx_export.*opset 12"):
                model.export_onnx(os.path.join(d, "m.onnx"), opset=12)


if __name__ == "__main__":
    unittest.main()
