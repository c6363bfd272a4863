"""One model file, three languages: the C example graph_models_c builds a functional model
(GoogLeNet's Inception blocks or ResNet's residual blocks) from C alone, trains it on a small
synthetic Fashion-MNIST and saves it whole; then fresh processes load that file from C
(predict_c), C++ (predict_cpp) and Python (loom.load_model) and must give bit-identical
predictions. Usage: interop.py EXAMPLES_DIR TESTS_BIN_DIR MODEL"""
import os
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bindings", "python", "tests"))
sys.path.insert(0, os.path.join(REPO, "bindings", "python"))

from fashion_data import make_small_fashion_mnist  # noqa: E402
import loom  # noqa: E402


def run(*command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def main():
    examples, tests_bin, model = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        data = make_small_fashion_mnist(os.path.join(tmp, "data"), n_train=300, n_test=40)
        path = os.path.join(tmp, f"{model}.loom")
        out = run(os.path.join(examples, "graph_models_c"), "--data", data, "--model", model, "--epochs", "2",
                  "--batch-size", "50", "--save", path)
        print(out)
        assert "epoch 2:" in out and "test accuracy:" in out, out

        raw = np.fromfile(os.path.join(data, "t10k-images-idx3-ubyte"), dtype=np.uint8, offset=16)
        x = (raw.reshape(-1, 28, 28, 1).astype(np.float32) / 255.0)[:40]
        np.save(os.path.join(tmp, "x.npy"), x)
        predictions = {}
        for name in ("predict_c", "predict_cpp"):
            target = os.path.join(tmp, f"{name}.npy")
            run(os.path.join(tests_bin, name), path, os.path.join(tmp, "x.npy"), target)
            predictions[name] = np.load(target)
        predictions["python"] = loom.load_model(path, compile=False).predict(x, batch_size=16, verbose=0)

        reference = predictions["predict_c"]
        assert reference.shape == (40, 10) and reference.dtype == np.float32, (reference.shape, reference.dtype)
        assert np.all(np.isfinite(reference))
        for name, values in predictions.items():
            if not np.array_equal(values, reference):
                sys.exit(f"{name} differs from predict_c: max |diff| {np.max(np.abs(values - reference))}")
        # The file holds the trained model: it classifies the synthetic classes (row bands).
        labels = np.frombuffer(__import__("gzip").open(os.path.join(data, "t10k-labels-idx1-ubyte.gz")).read()[8:],
                               dtype=np.uint8)
        accuracy = float(np.mean(np.argmax(reference, axis=1) == labels[:40]))
        print(f"{model}: C, C++ and Python predictions identical on 40 images; accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
