#!/usr/bin/env python3
"""Runs loom's benchmark programs and the same workloads in PyTorch, with the same thread count,
and prints loom/PyTorch time ratios (< 1: loom is faster).

Usage: /usr/bin/python3 bench/compare_pytorch.py [--threads N] [--repeats R] [--build build] [--json out.json]
           [--only nn_bench,train_bench] [--models lenet,bn-lenet,vgg-small] [--policies float32,mixed_bfloat16]

Each workload runs R times (default 5) for each library, interleaved (loom, PyTorch, PyTorch,
loom, ...: the first in each round alternates), so that a change in the machine's load falls on
both. The table gives each side's median, the ratio of the medians and each side's spread
((max - min) / median); a row whose spread exceeds 10% is flagged "noisy". Needs Debian's
python3-torch (1.13). Workloads are matched by name between the loom programs and WORKLOADS.

--policies float32,mixed_bfloat16 also runs the neural-network and training workloads in mixed
precision: loom under the Keras policy (layers compute in bfloat16, variables stay float32),
PyTorch under torch.autocast("cpu", dtype=torch.bfloat16); such rows carry the policy's name,
and a second table gives each library's float32 time over its own mixed-precision time.
"""
import contextlib
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def pin_blas_threads():
    """Debian's PyTorch multiplies with OpenBLAS, which takes its thread count from the environment
    when it loads and then ignores torch.set_num_threads: pin it to --threads before torch loads, so
    a 1-thread row runs on one core on both sides (loom sets OpenBLAS's count itself)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", type=int, default=os.cpu_count())
    threads = str(pre.parse_known_args()[0].threads)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = threads


pin_blas_threads()
import torch  # noqa: E402 (after the pinning above)


def best_time(fn, inner=1, repeats=5, min_seconds=0.2):
    fn()
    best = float("inf")
    start = time.perf_counter()
    r = 0
    while r < repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
        r += 1
        if r > 1000:
            break
    return best


def core_workloads():
    """name -> seconds, for the names core_bench prints."""
    out = {}
    g = torch.Generator().manual_seed(1)
    for n in (256, 1024, 2048):
        a = torch.randn(n, n, generator=g)
        b = torch.randn(n, n, generator=g)
        out[f"matmul f32 {n}"] = best_time(lambda: torch.matmul(a, b))
    for n, size in ((1 << 20, "1M"), (1 << 24, "16M")):
        a = torch.rand(n, generator=g)
        b = torch.rand(n, generator=g)
        out[f"add f32 {size}"] = best_time(lambda: torch.add(a, b))
        out[f"mul f32 {size}"] = best_time(lambda: torch.mul(a, b))
        mat = a.reshape(n // 1024, 1024)
        row = torch.rand(1024, generator=g)
        out[f"broadcast add (N x 1024) + (1024) {size}"] = best_time(lambda: torch.add(mat, row))
    s1, s2 = torch.tensor([1.0]), torch.tensor([2.0])
    out["tiny add (1 element)"] = best_time(lambda: torch.add(s1, s2), inner=1000, repeats=20)
    return out


def autograd_workloads():
    out = {}
    w = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)

    def tiny():
        z = (w * w + w).sum()
        z.backward()
        w.grad = None
    out["tape step sum(w*w + w)"] = best_time(tiny, inner=200, repeats=20)

    g = torch.Generator().manual_seed(1)
    x = torch.randn(256, 784, generator=g)
    y = torch.randn(256, 10, generator=g)
    params = [(torch.randn(784, 256, generator=g) * 0.05).requires_grad_(), torch.zeros(256, requires_grad=True),
              (torch.randn(256, 256, generator=g) * 0.05).requires_grad_(), torch.zeros(256, requires_grad=True),
              (torch.randn(256, 10, generator=g) * 0.05).requires_grad_(), torch.zeros(10, requires_grad=True)]

    def mlp_step():
        h1 = torch.relu(x @ params[0] + params[1])
        h2 = torch.relu(h1 @ params[2] + params[3])
        out_ = h2 @ params[4] + params[5]
        loss = ((out_ - y) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, gr in zip(params, grads):
                p.sub_(gr * 0.01)
    out["MLP 784-256-256-10 step (batch 256, mse, sgd)"] = best_time(mlp_step, inner=5, repeats=10)
    return out


def autocast(policy):
    """PyTorch's counterpart of a loom dtype policy."""
    if policy == "float32":
        return contextlib.nullcontext()
    if policy != "mixed_bfloat16":
        raise SystemExit(f"PyTorch {torch.__version__} autocasts to bfloat16 only on the CPU: no match for {policy}")
    return torch.autocast("cpu", dtype=torch.bfloat16)


def suffix(policy):
    return "" if policy == "float32" else f" [{policy}]"


def nn_workloads(policy="float32"):
    """NCHW, as PyTorch users run it; forward + backward with a fixed output gradient."""
    out = {}
    F = torch.nn.functional
    g = torch.Generator().manual_seed(3)

    def step_time(x, params, f):
        with autocast(policy):
            y = f(x)
        dy = torch.randn(y.shape, generator=g).to(y.dtype)
        sources = [x.requires_grad_(True)] + [p.requires_grad_(True) for p in params]

        def step():
            with autocast(policy):
                y = f(x)
            torch.autograd.grad(y, sources, dy)
        return best_time(step, inner=1, repeats=5, min_seconds=0.5)

    x = torch.randn(256, 1, 28, 28, generator=g)
    w, b = torch.randn(6, 1, 5, 5, generator=g) * 0.1, torch.zeros(6)
    out["conv2d fwd+bwd LeNet conv1 (256x28x28x1 -> 6, 5x5)"] = step_time(x, [w, b], lambda i: F.conv2d(i, w, b, padding=2))
    vx = torch.randn(32, 64, 32, 32, generator=g)
    w, b = torch.randn(64, 64, 3, 3, generator=g) * 0.05, torch.zeros(64)
    out["conv2d fwd+bwd VGG layer (32x32x32x64 -> 64, 3x3)"] = step_time(vx, [w, b], lambda i: F.conv2d(i, w, b, padding=1))
    vx = vx.detach()
    out["max_pool2d fwd+bwd (32x32x32x64, 2x2/2)"] = step_time(vx, [], lambda i: F.max_pool2d(i, 2))
    vx = vx.detach()
    gamma, beta = torch.ones(64), torch.zeros(64)
    out["batch_norm fwd+bwd (32x32x32x64)"] = step_time(
        vx, [gamma, beta], lambda i: F.batch_norm(i, None, None, gamma, beta, training=True, eps=1e-3))
    return {name + suffix(policy): t for name, t in out.items()}


def mlp_train_step(policy):
    g = torch.Generator().manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(256, 784, generator=g)
    y = torch.randint(0, 10, (256,), generator=g)

    def step():
        opt.zero_grad()
        with autocast(policy):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return best_time(step, inner=5, repeats=10)


# One epoch of the named model (the layers of train_bench.cpp's epoch_model; NCHW as PyTorch users run it).
EPOCH = r"""
import contextlib, gzip, resource, struct, sys, time
import numpy as np
import torch
nn = torch.nn
torch.set_num_threads(int(sys.argv[2]))
torch.manual_seed(1)
def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)
x = torch.from_numpy(idx(sys.argv[1] + "/train-images-idx3-ubyte.gz").astype(np.float32) / 255).unsqueeze(1)
y = torch.from_numpy(idx(sys.argv[1] + "/train-labels-idx1-ubyte.gz").astype(np.int64))
if sys.argv[3] == "lenet":
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                          nn.Linear(84, 10))
elif sys.argv[3] == "bn-lenet":
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                          nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120),
                          nn.BatchNorm1d(120), nn.ReLU(), nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(), nn.Linear(84, 10))
else:
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(576, 128), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=0.001)
autocast = torch.autocast("cpu", dtype=torch.bfloat16) if sys.argv[4] == "mixed_bfloat16" else contextlib.nullcontext()
start = time.perf_counter()
order = torch.randperm(len(x))
for b in range(0, len(x), 256):
    idx_b = order[b:b + 256]
    opt.zero_grad()
    with autocast:
        loss = torch.nn.functional.cross_entropy(model(x[idx_b]), y[idx_b])
    loss.backward()
    opt.step()
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def train_workloads(threads, data_dir, models, policy):
    autocast(policy)  # fails early for a policy PyTorch has no counterpart of
    out = {"MLP 784-256-256-10 train step (batch 256, xent, sgd)" + suffix(policy): mlp_train_step(policy)}
    if os.path.exists(os.path.join(data_dir, "train-images-idx3-ubyte.gz")):
        titles = {"lenet": "LeNet", "bn-lenet": "BN-LeNet", "vgg-small": "VGG-small"}
        for model in models:
            # In its own process, so that its peak memory is its own.
            r = subprocess.run([sys.executable, "-c", EPOCH, data_dir, str(threads), model, policy], check=True,
                               capture_output=True, text=True)
            seconds, rss = map(float, r.stdout.split())
            out[f"{titles[model]} epoch on Fashion-MNIST (batch 256, adam){suffix(policy)}"] = seconds
            if model == "lenet":
                out["LeNet epoch peak resident memory" + suffix(policy)] = rss
    return out


# (loom benchmark program, PyTorch workloads producing the same names, whether it takes a policy)
WORKLOADS = [("core_bench", lambda args, policy: core_workloads(), False),
             ("autograd_bench", lambda args, policy: autograd_workloads(), False),
             ("nn_bench", lambda args, policy: nn_workloads(policy), True),
             ("train_bench", lambda args, policy: train_workloads(args.threads, args.data, args.models, policy), True)]


def run_loom(build, program, threads, data, models, policy):
    """name -> value (seconds, or MiB for memory rows) from one run of a loom benchmark program."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        exe = os.path.join(build, "bench", program)
        extra = ["--policy", policy] if policy != "float32" else []
        if program == "train_bench":
            extra += ["--only", ",".join(["mlp"] + models)]
        subprocess.run([exe, "--threads", str(threads), "--json", f.name, "--data", data] + extra, check=True,
                       stdout=subprocess.DEVNULL)
        return {r["name"]: (r["value"] if r["metric"] == "MiB" else r["seconds"]) for r in json.load(open(f.name))["results"]}


def spread(samples):
    m = statistics.median(samples)
    return (max(samples) - min(samples)) / m if m > 0 else 0.0


NOISY = 0.10


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5, help="runs of each workload per library (interleaved)")
    parser.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    parser.add_argument("--json", default="")
    parser.add_argument("--only", default="", help="run only these loom programs (comma-separated)")
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "data", "fashion-mnist"))
    parser.add_argument("--models", default="lenet,bn-lenet,vgg-small", help="models of the training epochs")
    parser.add_argument("--policies", default="float32", help="dtype policies, e.g. float32,mixed_bfloat16")
    args = parser.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    policies = args.policies.split(",")
    torch.set_num_threads(args.threads)
    samples = {}  # name -> {"loom": [...], "torch": [...]}
    order = []
    for program, torch_fn, takes_policy in WORKLOADS:
        if args.only and program not in args.only.split(","):
            continue
        for r in range(args.repeats):
            for policy in policies if takes_policy else ["float32"]:
                sides = [("loom", lambda: run_loom(args.build, program, args.threads, args.data, args.models, policy)),
                         ("torch", lambda: torch_fn(args, policy))]
                for side, run in (sides if r % 2 == 0 else sides[::-1]):
                    for name, value in run().items():
                        if name not in samples:
                            samples[name] = {"loom": [], "torch": []}
                            order.append(name)
                        samples[name][side].append(value)
    rows = []
    for name in order:
        loom_s, torch_s = samples[name]["loom"], samples[name]["torch"]
        if not loom_s or not torch_s:
            continue  # a workload only one side runs
        lm, tm = statistics.median(loom_s), statistics.median(torch_s)
        rows.append({"name": name, "loom_s": lm, "torch_s": tm, "ratio": lm / tm, "memory": "memory" in name,
                     "loom_spread": spread(loom_s), "torch_spread": spread(torch_s),
                     "loom_samples": loom_s, "torch_samples": torch_s})
    print(f"threads={args.threads} torch={torch.__version__} repeats={args.repeats} (medians; spread = (max-min)/median)")
    print(f"{'workload':52s} {'loom':>11s} {'spread':>6s} {'PyTorch':>11s} {'spread':>6s}  loom/PyTorch")
    for r in rows:
        def fmt(s):
            if r["memory"]:
                return f"{s:7.1f} MiB"
            return f"{s * 1e6:8.2f} us" if s < 1e-3 else f"{s * 1e3:8.2f} ms"
        flag = "  noisy" if max(r["loom_spread"], r["torch_spread"]) > NOISY else ""
        print(f"{r['name']:52s} {fmt(r['loom_s'])} {r['loom_spread']:5.0%} {fmt(r['torch_s'])} {r['torch_spread']:5.0%}"
              f"  {r['ratio']:.3f}{flag}")
    mixed = []  # each library's float32 time over its mixed-precision time (> 1: mixed precision is faster)
    by_name = {r["name"]: r for r in rows}
    for r in rows:
        for policy in policies[1:] if policies[0] == "float32" else []:
            base = by_name.get(r["name"][:-len(suffix(policy))]) if r["name"].endswith(suffix(policy)) else None
            if base and not r["memory"]:
                mixed.append({"name": base["name"], "policy": policy, "loom_speedup": base["loom_s"] / r["loom_s"],
                              "torch_speedup": base["torch_s"] / r["torch_s"]})
    if mixed:
        print(f"\n{'speed-up of mixed precision over float32':52s} {'loom':>8s} {'PyTorch':>8s}")
        for m in mixed:
            print(f"{m['name'] + ' [' + m['policy'] + ']':52s} {m['loom_speedup']:7.2f}x {m['torch_speedup']:7.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "torch": torch.__version__, "repeats": args.repeats, "rows": rows,
                       "mixed_precision": mixed}, f,
                      indent=2)


if __name__ == "__main__":
    sys.exit(main())
