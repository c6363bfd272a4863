"""Files (.npy, safetensors, IDX), datasets from MNIST-format folders, and loom.data.Dataset."""
import gzip
import json
import os
import struct
import unittest

import numpy as np

import loom
from fashion_data import make_small_fashion_mnist
from helpers import KINDS, as_kind, scratch


class NpyTest(unittest.TestCase):
    def test_round_trips_with_every_kind(self):
        folder = scratch(self)
        for dtype in ("float32", "float64", "int32", "int64", "bool", "uint8", "float16"):
            value = [[1, 0], [1, 1]] if dtype == "bool" else [[1, 2], [3, 4]]
            for kind in KINDS:
                with self.subTest(dtype=dtype, kind=kind):
                    path = os.path.join(folder, f"{dtype}-{kind}.npy")
                    loom.save_npy(path, as_kind(value, kind, dtype))
                    t = loom.load_npy(path)
                    self.assertEqual(t.dtype, dtype if kind != "list" else t.dtype)
                    np.testing.assert_array_equal(np.load(path), np.array(value, dtype=dtype))
                    np.testing.assert_array_equal(t.numpy(), np.array(value, dtype=dtype))
        path = os.path.join(folder, "numpy-written.npy")
        np.save(path, np.arange(6, dtype=">f8").reshape(2, 3))
        self.assertEqual(loom.load_npy(path).tolist(), [[0, 1, 2], [3, 4, 5]])
        loom.tensor([[1.0, 2.0]]).save_npy(path)
        self.assertEqual(np.load(path).tolist(), [[1.0, 2.0]])
        with self.assertRaises(loom.DTypeError):
            loom.tensor([1.0], "bfloat16").save_npy(path)
        with self.assertRaises(loom.LoomIOError) as e:
            loom.load_npy("/nonexistent/file.npy")
        self.assertIn("/nonexistent/file.npy", str(e.exception))
        self.assertIn("loom.load_npy", str(e.exception))


class SafetensorsTest(unittest.TestCase):
    def test_round_trip_metadata_and_every_dtype(self):
        folder = scratch(self)
        path = os.path.join(folder, "t.safetensors")
        tensors = {"f32": loom.tensor([[1.5, 2.5]]), "i64": np.array([1, 2, 3]), "list": [True, False],
                   "bf16": loom.tensor([0.5], "bfloat16"), "u8": np.array([[7]], np.uint8), "f16": np.float16([1.5])}
        loom.io.save_safetensors(path, tensors, metadata={"author": "test", "step": "3"})
        loaded = loom.io.load_safetensors(path)
        self.assertIsInstance(loaded, dict)
        self.assertEqual(sorted(loaded), sorted(tensors))
        self.assertEqual(loaded.metadata, {"author": "test", "step": "3"})
        self.assertEqual(loaded["f32"].tolist(), [[1.5, 2.5]])
        self.assertEqual(loaded["i64"].dtype, "int64")
        self.assertEqual(loaded["list"].tolist(), [True, False])
        self.assertEqual((loaded["bf16"].dtype, loaded["bf16"].tolist()), ("bfloat16", [0.5]))
        self.assertEqual(loaded["u8"].dtype, "uint8")
        loom.io.save_safetensors(path, loaded)  # metadata carried over
        self.assertEqual(loom.io.load_safetensors(path).metadata["author"], "test")

    def test_reads_a_file_written_by_another_tool(self):
        path = os.path.join(scratch(self), "other.safetensors")
        data = np.arange(6, dtype="<f4").tobytes()
        header = json.dumps({"__metadata__": {"tool": "hand"},
                             "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, len(data)]}}).encode()
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header + data)
        loaded = loom.io.load_safetensors(path)
        self.assertEqual(loaded["w"].tolist(), [[0, 1, 2], [3, 4, 5]])
        self.assertEqual(loaded.metadata, {"tool": "hand"})
        with open(path, "wb") as f:
            f.write(b"garbage")
        with self.assertRaises(loom.LoomIOError):
            loom.io.load_safetensors(path)
        with self.assertRaises(TypeError):
            loom.io.save_safetensors(path, [loom.tensor(1.0)])
        with self.assertRaises(TypeError):
            loom.io.save_safetensors(path, {"a": 1.0}, metadata={"k": 1})


class IdxAndDatasetsTest(unittest.TestCase):
    def test_idx_round_trips(self):
        folder = scratch(self)
        for dtype in ("uint8", "int32", "float32", "float64"):
            for suffix in ("", ".gz"):
                for kind in KINDS:
                    path = os.path.join(folder, f"x-{dtype}-{kind}.idx{suffix}")
                    loom.io.save_idx(path, as_kind([[1, 2, 3], [4, 5, 6]], kind, dtype))
                    t = loom.io.load_idx(path)
                    self.assertEqual(t.tolist(), [[1, 2, 3], [4, 5, 6]])
                    if kind != "list":
                        self.assertEqual(t.dtype, dtype)
        with open(os.path.join(folder, "x-uint8-numpy.idx.gz"), "rb") as f:
            self.assertEqual(gzip.decompress(f.read())[:4], bytes([0, 0, 8, 2]))
        with self.assertRaises(loom.DTypeError):
            loom.io.save_idx(os.path.join(folder, "bad.idx"), loom.tensor([1], "int64"))
        with self.assertRaises(loom.LoomIOError):
            loom.io.load_idx(os.path.join(folder, "missing.idx"))

    def test_fashion_mnist_folder_as_numpy_arrays(self):
        folder = make_small_fashion_mnist(os.path.join(scratch(self), "fm"), n_train=60, n_test=20)
        (x_train, y_train), (x_test, y_test) = loom.datasets.fashion_mnist.load_data(folder)
        self.assertEqual((x_train.shape, x_train.dtype), ((60, 28, 28), np.uint8))
        self.assertEqual((y_train.shape, y_train.dtype), ((60,), np.uint8))
        self.assertEqual((x_test.shape, y_test.shape), ((20, 28, 28), (20,)))
        for image, label in zip(x_train[:10], y_train[:10]):  # the bright band is the label's
            self.assertEqual(int(np.argmax(image.mean(axis=1))) // 3, int(label))
        (mx, _), _ = loom.datasets.mnist.load_data(folder)
        np.testing.assert_array_equal(mx, x_train)
        with self.assertRaises(loom.LoomIOError) as e:
            loom.datasets.fashion_mnist.load_data("/nonexistent/folder")
        self.assertIn("/nonexistent/folder", str(e.exception))


class DatasetTest(unittest.TestCase):
    def test_slices_batches_shuffle_map_take_repeat(self):
        x = np.arange(20, dtype=np.float32).reshape(10, 2)
        y = np.arange(10)
        for kind in KINDS:
            ds = loom.data.Dataset.from_tensor_slices((as_kind(x.tolist(), kind), as_kind(y.tolist(), kind, "int64")))
            self.assertEqual(len(ds), 10)
            first = next(iter(ds))
            self.assertEqual((first[0].tolist(), first[1].item()), ([0.0, 1.0], 0))
            batches = list(ds.batch(4))
            self.assertEqual([b[0].shape for b in batches], [(4, 2), (4, 2), (2, 2)])
            self.assertEqual(len(ds.batch(4, drop_remainder=True)), 2)
        a = [b[1].tolist() for b in ds.shuffle(10, seed=3).batch(5)]
        b = [b[1].tolist() for b in ds.shuffle(10, seed=3).batch(5)]
        self.assertEqual(a, b)
        self.assertEqual(sorted(a[0] + a[1]), list(range(10)))
        self.assertNotEqual(a[0] + a[1], list(range(10)))
        shuffled = ds.shuffle(10, seed=3)
        self.assertNotEqual([e[1].item() for e in shuffled], [e[1].item() for e in shuffled])  # reshuffled
        doubled = ds.map(lambda features, label: (features * 2.0, label)).batch(10)
        np.testing.assert_array_equal(next(iter(doubled))[0].numpy(), x * 2)
        self.assertEqual([e.tolist() for e in loom.data.Dataset.range(3).repeat(2)], [0, 1, 2, 0, 1, 2])
        self.assertEqual(len(list(ds.take(3))), 3)
        self.assertEqual(len(ds.repeat(3)), 30)
        buffered = loom.data.Dataset.range(20).map(lambda v: v + 0).shuffle(5, seed=1)
        self.assertEqual(sorted(e.item() for e in buffered), list(range(20)))
        as_dict = loom.data.Dataset.from_tensor_slices({"a": x, "b": y}).batch(3)
        self.assertEqual(sorted(next(iter(as_dict))), ["a", "b"])
        arrays = list(loom.data.Dataset.from_tensor_slices(x).batch(5).as_numpy_iterator())
        np.testing.assert_array_equal(np.concatenate(arrays), x)
        with self.assertRaisesRegex(ValueError, "first dimension"):
            loom.data.Dataset.from_tensor_slices((x, y[:5]))
        with self.assertRaises(TypeError):
            ds.batch(0)


if __name__ == "__main__":
    unittest.main()
