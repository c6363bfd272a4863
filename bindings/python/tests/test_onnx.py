"""ONNX from Python: PyTorch's LeNet (tests/golden/onnx) imported, predicting as PyTorch did,
exported again, fine-tuned with fit; errors naming the file."""
import os
import tempfile
import unittest

import numpy as np

import loom

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests", "golden", "onnx")


def golden(name):
    return os.path.join(GOLDEN, name)


class OnnxTest(unittest.TestCase):
    def test_pytorch_lenet_imports_predicts_exports_and_trains(self):
        model = loom.import_onnx(golden("lenet.onnx"))
        x = np.load(golden("lenet_input.npy"))
        predicted = model.predict(x, verbose=0)
        np.testing.assert_allclose(predicted, np.load(golden("lenet_expected.npy")), rtol=0, atol=1e-5)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lenet.onnx")
            model.export_onnx(path)
            np.testing.assert_allclose(loom.import_onnx(path).predict(x, verbose=0), predicted, rtol=0, atol=1e-5)
        # Fine-tuning towards other classes than PyTorch's predictions moves the model there.
        classes = (np.argmax(predicted, axis=1) + 1) % 10
        model.compile(optimizer=loom.optimizers.Adam(0.01),
                      loss=loom.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        history = model.fit(x, classes, epochs=60, batch_size=8, seed=1, verbose=0)
        losses = history.history["loss"]
        self.assertLess(losses[-1], 0.5 * losses[0])
        self.assertEqual(model.evaluate(x, classes, verbose=0, return_dict=True)["accuracy"], 1.0)

    def test_pytorch_lenet_fine_tunes_on_fashion_mnist(self):
        data = os.environ.get("LOOM_FASHION_MNIST_DIR", "")
        if not os.path.isdir(data):
            self.skipTest(f"no Fashion-MNIST in {data!r} (LOOM_FASHION_MNIST_DIR; ctest's fashion_mnist fixture fetches it)")
        (x_train, y_train), (x_test, y_test) = loom.datasets.fashion_mnist.load_data(data)

        def first(images, labels, n):
            images = np.asarray(images)[:n].astype(np.float32) / 255.0
            return images.reshape(n, 1, 28, 28), np.asarray(labels)[:n].astype(np.int64)

        x, y = first(x_train, y_train, 4000)
        xt, yt = first(x_test, y_test, 1000)
        model = loom.import_onnx(golden("lenet.onnx"))
        model.compile(optimizer=loom.optimizers.Adam(0.002),
                      loss=loom.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        before = model.evaluate(xt, yt, verbose=0, return_dict=True)["accuracy"]
        losses = model.fit(x, y, epochs=2, batch_size=64, seed=1, verbose=0).history["loss"]
        after = model.evaluate(xt, yt, verbose=0, return_dict=True)["accuracy"]
        self.assertLess(losses[1], losses[0])
        self.assertGreater(after, before + 0.01, f"test accuracy {before} -> {after}")  # 0.721 -> 0.746

    def test_errors_name_the_file(self):
        with self.assertRaisesRegex(loom.LoomError, "loom.import_onnx.*is not an ONNX model"):
            loom.import_onnx(golden("lenet_input.npy"))
        model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(loom.LoomError, "export_onnx.*opset 12"):
                model.export_onnx(os.path.join(d, "m.onnx"), opset=12)
            with self.assertRaisesRegex(TypeError, "export_onnx: opset must be an int"):
                model.export_onnx(os.path.join(d, "m.onnx"), opset="13")


if __name__ == "__main__":
    unittest.main()
