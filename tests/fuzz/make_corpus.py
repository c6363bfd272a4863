#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus (valid files of each format, and random op-call inputs) into
corpus/<fuzzer>/. Deterministic; run from anywhere. The corpus is committed."""
import gzip
import json
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(fuzzer, name, data):
    d = os.path.join(HERE, "corpus", fuzzer)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(descr, shape, payload, fortran=False, version=1):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", "(" + "".join(f"{d}, " for d in shape).rstrip(" ") + ")")
    if version == 1:
        pad = 64 - (10 + len(header) + 1) % 64
        h = (header + " " * pad + "\n").encode()
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + payload
    pad = 64 - (12 + len(header) + 1) % 64
    h = (header + " " * pad + "\n").encode()
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(h)) + h + payload


write("fuzz_npy", "f4_2x3", npy("<f4", (2, 3), struct.pack("<6f", 1, 2, 3, 4, 5, 6)))
write("fuzz_npy", "i8_scalar", npy("<i8", (), struct.pack("<q", -7)))
write("fuzz_npy", "bool_3", npy("|b1", (3,), b"\x01\x00\x01"))
write("fuzz_npy", "u1_2x2", npy("|u1", (2, 2), bytes([0, 1, 254, 255])))
write("fuzz_npy", "f8_big_endian", npy(">f8", (2,), struct.pack(">2d", 0.5, -1.5)))
write("fuzz_npy", "f4_fortran", npy("<f4", (2, 3), struct.pack("<6f", 1, 4, 2, 5, 3, 6), fortran=True))
write("fuzz_npy", "f2_v2", npy("<f2", (2,), struct.pack("<2e", 1.0, 2.0), version=2))
write("fuzz_npy", "i4_empty", npy("<i4", (0, 3), b""))


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, payload) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


write("fuzz_safetensors", "one_f32", safetensors({"w": ("F32", (2, 2), struct.pack("<4f", 1, 2, 3, 4))}))
write("fuzz_safetensors", "mixed", safetensors({
    "kernel": ("F32", (3,), struct.pack("<3f", 1, 2, 3)),
    "step": ("I64", (), struct.pack("<q", 12)),
    "mask": ("BOOL", (2,), b"\x01\x00"),
    "half": ("BF16", (2,), b"\x80\x3f\x00\x40"),
}, {"format": "loom"}))
write("fuzz_safetensors", "empty", safetensors({}))


# Whole-model files: safetensors with the model's JSON config in the metadata (Model::save).
SEQUENTIAL_CNN = {"compile": {"loss": {"config": {"from_logits": False}, "name": "sparse_categorical_crossentropy"},
                              "metrics": ["accuracy"],
                              "optimizer": {"config": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "learning_rate": 0.001},
                                            "name": "adam"}},
                  "format_version": 1,
                  "model": {"class_name": "Sequential", "config": {"input_shape": [6, 6, 1], "name": "sequential"}, "layers": [
                      {"build_input_shape": [-1, 6, 6, 1], "class_name": "Conv2D", "config": {
                          "activation": "relu", "bias_initializer": "zeros", "dilation_rate": [1, 1], "filters": 2, "groups": 1,
                          "kernel_initializer": "glorot_uniform", "kernel_size": [3, 3], "name": "conv2d", "padding": "valid",
                          "strides": [1, 1], "use_bias": True}},
                      {"build_input_shape": [-1, 4, 4, 2], "class_name": "BatchNormalization", "config": {
                          "center": True, "epsilon": 0.001, "momentum": 0.99, "name": "batch_normalization", "scale": True}},
                      {"build_input_shape": [-1, 4, 4, 2], "class_name": "MaxPool2D", "config": {
                          "name": "max_pooling2d", "padding": "valid", "pool_size": [2, 2], "strides": [2, 2]}},
                      {"build_input_shape": [-1, 2, 2, 2], "class_name": "Flatten", "config": {"name": "flatten"}},
                      {"build_input_shape": [-1, 8], "class_name": "Dropout", "config": {"name": "dropout", "rate": 0.5, "seed": 7}},
                      {"build_input_shape": [-1, 8], "class_name": "Dense", "config": {
                          "activation": "softmax", "bias_initializer": "zeros", "kernel_initializer": "glorot_uniform",
                          "name": "dense", "units": 3, "use_bias": True}}]}}
SEQUENTIAL_CNN_WEIGHTS = {"0/kernel": (3, 3, 1, 2), "0/bias": (2,), "1/gamma": (2,), "1/beta": (2,), "1/moving_mean": (2,),
                          "1/moving_variance": (2,), "5/kernel": (8, 3), "5/bias": (3,)}


def dense_config(name, units, activation="linear"):
    return {"activation": activation, "bias_initializer": "zeros", "kernel_initializer": "glorot_uniform", "name": name,
            "units": units, "use_bias": True}


FUNCTIONAL_BRANCHES = {"compile": None, "format_version": 1, "model": {
    "class_name": "Functional", "config": {"name": "functional"}, "inputs": [0], "outputs": [[5, 0]],
    "layers": [
        {"class_name": "InputLayer", "config": {"dtype": {"dtype": "float32"}, "name": "input", "shape": [4]}},
        {"build_input_shape": [-1, 4], "class_name": "Dense", "config": dense_config("dense_1", 3, "relu")},
        {"build_input_shape": [-1, 4], "class_name": "Dense", "config": dense_config("dense_2", 3)},
        {"class_name": "Add", "config": {"name": "add"}},
        {"class_name": "Concatenate", "config": {"axis": -1, "name": "concatenate"}},
        {"build_input_shape": [-1, 6], "class_name": "Dense", "config": dense_config("dense_3", 2)}],
    "nodes": [{"inputs": [], "layer": 0, "list_call": False}, {"inputs": [[0, 0]], "layer": 1, "list_call": False},
              {"inputs": [[0, 0]], "layer": 2, "list_call": False}, {"inputs": [[1, 0], [2, 0]], "layer": 3, "list_call": True},
              {"inputs": [[3, 0], [1, 0]], "layer": 4, "list_call": True}, {"inputs": [[4, 0]], "layer": 5, "list_call": False}]}}
FUNCTIONAL_BRANCHES_WEIGHTS = {"0/kernel": (4, 3), "0/bias": (3,), "1/kernel": (4, 3), "1/bias": (3,), "4/kernel": (6, 2),
                               "4/bias": (2,)}


def model_file(config, weights):
    tensors = {}
    for i, (name, shape) in enumerate(sorted(weights.items())):
        count = 1
        for d in shape:
            count *= d
        tensors[name] = ("F32", shape, struct.pack("<%df" % count, *[0.1 * ((i + k) % 5) for k in range(count)]))
    return safetensors(tensors, {"format": "loom-model", "version": "1", "model_config": json.dumps(config)})


write("fuzz_model_file", "sequential_cnn", model_file(SEQUENTIAL_CNN, SEQUENTIAL_CNN_WEIGHTS))
write("fuzz_model_file", "functional_branches", model_file(FUNCTIONAL_BRANCHES, FUNCTIONAL_BRANCHES_WEIGHTS))


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


write("fuzz_idx", "ubyte_2x2", idx(0x08, (2, 2), bytes([1, 2, 3, 250])))
write("fuzz_idx", "labels_5", idx(0x08, (5,), bytes([0, 1, 2, 3, 9])))
write("fuzz_idx", "float_3", idx(0x0D, (3,), struct.pack(">3f", 0.5, 1.5, -2.0)))
write("fuzz_idx", "int_2", idx(0x0C, (2,), struct.pack(">2i", -1, 7)))
write("fuzz_idx", "ubyte_gz", gzip.compress(idx(0x08, (2, 3), bytes(range(6))), mtime=0))

rng = random.Random(1234)
for i in range(24):
    write("fuzz_op_call", f"random_{i:02d}", bytes(rng.randrange(256) for _ in range(rng.randrange(16, 256))))


# ONNX: two of the PyTorch exports the import tests use (the small ones: branches, batch
# normalization, pooling, concatenation and residual additions).
for name in ("inception", "resnet"):
    with open(os.path.join(HERE, "..", "golden", "onnx", f"{name}.onnx"), "rb") as f:
        write("fuzz_onnx", name, f.read())
