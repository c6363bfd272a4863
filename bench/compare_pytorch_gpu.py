#!/usr/bin/env python3
"""Runs gpu_bench's workloads in PyTorch on the same GPU and prints loom/PyTorch time ratios
(< 1: loom is faster). Usage: compare_pytorch_gpu.py GPU_BENCH_JSON (needs PyTorch with CUDA)."""
import json
import sys
import time

import torch
import torch.nn.functional as F


def gpu_time(fn, inner=10):
    fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def workloads():
    dev = torch.device("cuda")
    out = {}
    # loom computes float32 in full float32 unless asked for TF32: PyTorch's cuDNN convolutions
    # default to TF32, so turn that off for a like-for-like comparison.
    torch.backends.cudnn.allow_tf32 = False
    n = 4096
    for mode in ("float32", "tf32", "bfloat16"):
        torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
        dtype = torch.bfloat16 if mode == "bfloat16" else torch.float32
        a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
        out[f"gpu matmul {mode} 4096"] = gpu_time(lambda: a @ b)
    torch.backends.cuda.matmul.allow_tf32 = False

    def conv(x, w, b, pad):
        x.requires_grad_(True), w.requires_grad_(True), b.requires_grad_(True)
        dy = torch.randn(F.conv2d(x, w, b, padding=pad).shape, device=dev, dtype=x.dtype)
        return gpu_time(lambda: torch.autograd.grad(F.conv2d(x, w, b, padding=pad), [x, w, b], dy))
    out["gpu conv2d fwd+bwd LeNet conv1"] = conv(torch.randn(256, 1, 28, 28, device=dev), torch.randn(6, 1, 5, 5, device=dev) * 0.1,
                                                 torch.zeros(6, device=dev), 2)
    out["gpu conv2d fwd+bwd VGG layer"] = conv(torch.randn(32, 64, 32, 32, device=dev), torch.randn(64, 64, 3, 3, device=dev) * 0.05,
                                               torch.zeros(64, device=dev), 1)
    for name, half in (("bfloat16", torch.bfloat16), ("float16", torch.float16)):
        out[f"gpu conv2d fwd+bwd VGG layer [{name}]"] = conv(
            torch.randn(32, 64, 32, 32, device=dev, dtype=half), (torch.randn(64, 64, 3, 3, device=dev) * 0.05).to(half),
            torch.zeros(64, device=dev, dtype=half), 1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10)).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(256, 784, device=dev), torch.randint(0, 10, (256,), device=dev)

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    out["gpu MLP 784-256-256-10 train step"] = gpu_time(step, 20)
    lenet = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Conv2d(6, 16, 5),
                                torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(400, 120), torch.nn.ReLU(),
                                torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10)).to(dev)
    opt = torch.optim.Adam(lenet.parameters(), lr=0.001)
    xs, ys = torch.rand(60000, 1, 28, 28, device=dev), torch.randint(0, 10, (60000,), device=dev)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    order = torch.randperm(60000, device=dev)
    for b in range(0, 60000, 256):
        idx = order[b:b + 256]
        opt.zero_grad()
        F.cross_entropy(lenet(xs[idx]), ys[idx]).backward()
        opt.step()
    torch.cuda.synchronize()
    out["gpu LeNet epoch (60000 synthetic, batch 256, adam)"] = time.perf_counter() - t0
    return out


def main():
    if not torch.cuda.is_available():
        print("PyTorch sees no CUDA GPU: no comparison")
        return 0
    loom = {r["name"]: r["seconds"] for r in json.load(open(sys.argv[1]))["results"]}
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")
    print(f"{'workload':52s} {'loom':>11s} {'PyTorch':>11s}  loom/PyTorch")
    for name, seconds in workloads().items():
        if name in loom:
            fmt = lambda s: f"{s * 1e3:8.3f} ms"
            print(f"{name:52s} {fmt(loom[name])} {fmt(seconds)}  {loom[name] / seconds:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
