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
