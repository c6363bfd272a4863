#!/usr/bin/env python3
"""Checks the layer order of loom's sources (docs/ARCHITECTURE.md): a file may include headers of
its own layer and of the layers below it, never of a layer above. Public headers include only
public headers; the C ABI and the plugins (CUDA, communicators) include only public headers (they
build against the backend API, as a third party's backend would).

Usage: check_layers.py SOURCE_DIR   (exit 1 and one line per violation)
"""
import os
import re
import sys

# Layers from the bottom up. A component is a folder of src/ or a group of public headers.
RANK = {
    "core": 0,      # Tensor, Storage, dtypes, shapes, devices, errors, threads, the CPU device
    "ops": 2,       # the op registry, the dispatcher, every op's definition
    "cpu": 3,       # CPU kernels (beside autograd: both sit on ops)
    "cuda": 3,      # the CUDA plugin
    "autograd": 3,  # GradientTape, Variable, custom gradients
    "io": 4,        # .npy and safetensors files
    "data": 4,      # datasets, IDX files
    "dist": 4,      # collectives, gradient buckets (src/dist), the communicator plugin API
    "comm": 4,      # the communicator plugins (MPI, NCCL)
    "nn": 5,        # layers, models, optimizers, fit
    "api": 5,       # loom.hpp and nn.hpp, the umbrella headers
    "interop": 6,   # other frameworks' model files: ONNX export and import
    "capi": 7,      # the C ABI
}

# The backend API spans two layers: devices and allocators (core implements them), and kernels
# with the ops' shared geometry (the op layer implements those).
PUBLIC_COMPONENT = {
    "backend/kernel.hpp": "ops", "backend/geometry.hpp": "ops",
    "tape.hpp": "autograd", "variable.hpp": "autograd",
    "ops.hpp": "ops", "creation.hpp": "ops", "autocast.hpp": "ops", "nn_ops.hpp": "ops", "op_schema.hpp": "ops",
    "io.hpp": "io", "data.hpp": "data", "dist.hpp": "dist", "backend/communicator.hpp": "dist", "loom.hpp": "api", "nn.hpp": "api",
    "interop.hpp": "interop",
}


def component(path):
    """(component, is_public) of a repository path, or None for files outside the layers."""
    parts = path.split("/")
    if parts[:2] == ["include", "loom"]:
        rest = "/".join(parts[2:])
        if rest.startswith("nn/"):
            return "nn", True
        return PUBLIC_COMPONENT.get(rest, "core"), True
    if parts[0] == "src" and len(parts) > 2:
        return parts[1], False
    if parts[0] in ("capi", "cuda", "comm"):
        return ("capi" if parts[:3] == ["capi", "include", "loom"] else parts[0]), parts[:3] == ["capi", "include", "loom"]
    return None


def resolve(include, source_dir):
    """The repository path an #include "..." names, or None (system and third-party headers)."""
    for base in ("include", "capi/include", "src", "."):
        path = os.path.normpath(os.path.join(base, include))
        if os.path.exists(os.path.join(source_dir, path)):
            return path
    return None


def main():
    source_dir = sys.argv[1]
    violations = []
    for top in ("include", "src", "capi", "cuda", "comm"):
        for root, _, files in os.walk(os.path.join(source_dir, top)):
            for name in files:
                if not name.endswith((".hpp", ".cpp", ".h", ".cu")):
                    continue
                path = os.path.relpath(os.path.join(root, name), source_dir)
                here = component(path)
                if here is None:
                    continue
                with open(os.path.join(source_dir, path), encoding="utf-8") as f:
                    includes = re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read(), re.M)
                for inc in includes:
                    target = resolve(inc, source_dir)
                    there = component(target) if target else None
                    if there is None:
                        continue
                    (c, public), (tc, tpublic) = here, there
                    if RANK[tc] > RANK[c] and not (tc == "capi" and tpublic):
                        violations.append(f"{path}: includes {inc} ({tc}, a layer above {c})")
                    elif public and not tpublic:
                        violations.append(f"{path}: a public header includes the private {inc}")
                    elif c in ("capi", "cuda", "comm") and not tpublic and tc != c:
                        violations.append(f"{path}: {c} uses only public headers, but includes the private {inc}")
    for v in violations:
        print(v)
    print(f"layer order: {len(violations)} violation(s)")
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
