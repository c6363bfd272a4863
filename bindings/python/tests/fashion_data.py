"""A small synthetic Fashion-MNIST-shaped dataset (IDX files as loom_mnist_load reads them): class
k is bright in the image row band k, so that models learn it quickly. Used by the test suite and
the examples' ctest entries (tests/CMakeLists.txt)."""
import gzip
import os
import random
import struct


def write_idx(path, data, dims):
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, len(dims)))
        for d in dims:
            f.write(struct.pack(">I", d))
        f.write(data)


def make_small_fashion_mnist(folder, n_train=600, n_test=100, seed=7):
    """Writes train/t10k images (plain IDX) and labels (gzipped IDX) into `folder`."""
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    for name, n in (("train", n_train), ("t10k", n_test)):
        labels = [i % 10 for i in range(n)]
        rng.shuffle(labels)
        images = bytearray()
        for label in labels:
            for row in range(28):
                band = row // 3 == label
                images += bytes(rng.randrange(160, 256) if band else rng.randrange(0, 60) for _ in range(28))
        write_idx(os.path.join(folder, f"{name}-images-idx3-ubyte"), bytes(images), [n, 28, 28])
        with gzip.open(os.path.join(folder, f"{name}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(labels))
    return folder
