#!/usr/bin/env python3
"""Keras' HDF5 weight files through h5py, for loom's tests: reads a file the way Keras'
load_weights does, and writes one the way Keras' save_weights does (keras/saving/legacy/
hdf5_format.py: save_attributes_to_hdf5_group, save_weights_to_hdf5_group).

  keras_h5.py dump FILE         the file as JSON on stdout: root attributes, layer names, each
                                layer's weight names with shapes, dtypes and values (read by
                                name inside the layer's group, as Keras does), every dataset path
  keras_h5.py write FILE SPEC   writes SPEC (JSON) in Keras' layout:
      {"layers": [[layer_name, [[weight_name, shape, offset], ...]], ...],
       "chunk_layer_names": bool,   split layer_names into layer_names0, layer_names1, ...
       "variable_length": bool}     weight names as variable-length strings (h5py's str)
    weight values: value(i) = ((7 * i + offset) % 101) / 100 - 0.5 for element i, as float32
"""
import json
import sys

import h5py
import numpy as np


def load_attribute(group, name):
    """Keras' load_attributes_from_hdf5_group."""
    if name in group.attrs:
        values = group.attrs[name]
    else:
        values, chunk = [], 0
        while f"{name}{chunk}" in group.attrs:
            values.extend(group.attrs[f"{name}{chunk}"])
            chunk += 1
    return [v.decode("utf8") if hasattr(v, "decode") else str(v) for v in values]


def dump(path):
    with h5py.File(path, "r") as f:
        out = {"attrs": {k: (v.decode("utf8") if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()
                         if not k.startswith("layer_names")},
               "layer_names": load_attribute(f, "layer_names"), "layers": {}, "datasets": []}
        for layer in out["layer_names"]:
            group = f[layer]
            weights = {}
            for name in load_attribute(group, "weight_names"):
                data = np.asarray(group[name])
                weights[name] = {"shape": list(data.shape), "dtype": str(data.dtype), "values": data.ravel().tolist()}
            out["layers"][layer] = {"weight_names": load_attribute(group, "weight_names"), "weights": weights}
        f.visititems(lambda name, obj: out["datasets"].append(name) if isinstance(obj, h5py.Dataset) else None)
    json.dump(out, sys.stdout)


def values(shape, offset):
    count = int(np.prod(shape)) if shape else 1
    return ((((7 * np.arange(count)) + offset) % 101) / 100.0 - 0.5).astype(np.float32).reshape(shape)


def write(path, spec):
    layers = spec["layers"]
    names = np.asarray([name.encode("utf8") for name, _ in layers])
    with h5py.File(path, "w") as f:
        if spec.get("chunk_layer_names"):
            for i, chunk in enumerate(np.array_split(names, 2)):
                f.attrs[f"layer_names{i}"] = chunk
        else:
            f.attrs["layer_names"] = names
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.11.0"
        for name, weights in sorted(layers, key=lambda layer: layer[0]):
            group = f.create_group(name)
            weight_names = [w[0] for w in weights]
            if spec.get("variable_length"):
                group.attrs["weight_names"] = weight_names
            else:
                group.attrs["weight_names"] = np.asarray([w.encode("utf8") for w in weight_names])
            for weight_name, shape, offset in weights:
                group.create_dataset(weight_name, data=values(shape, offset))


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2])
    elif sys.argv[1] == "write":
        write(sys.argv[2], json.loads(sys.argv[3]))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
