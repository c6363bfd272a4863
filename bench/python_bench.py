#!/usr/bin/env python3
"""loom from Python next to PyTorch from Python, and a Fashion-MNIST epoch from Python next to C++.

  1. a one-element add (a + b) per call;
  2. a tape step: y = sum(w * w + w) and its gradient with respect to w (3 values);
  3. one LeNet epoch on Fashion-MNIST with Model.fit from Python, and the same model's epoch
     from C++ (build/examples/fashion_mnist --model lenet --epochs 1 --json ...).

Parts 1 and 2 interleave loom's and PyTorch's repetitions (--reps of --calls calls each) and
report the median time per call, the spread (min to max) and the ratio of the medians.

    LOOM_LIBRARY=build/src/libloom.so PYTHONPATH=bindings/python /usr/bin/python3 bench/python_bench.py \
        --threads 2 [--data data/fashion-mnist] [--limit N] [--skip-epoch] [--json FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "bindings", "python"))

import loom  # noqa: E402


def per_call(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def interleaved(fns, reps, calls):
    """{name: [microseconds per call, one per repetition]}, the functions taking turns."""
    for fn in fns.values():  # warm up
        per_call(fn, max(10, calls // 20))
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            times[name].append(per_call(fn, calls))
    return times


def summary(times):
    return {"median_us": statistics.median(times), "min_us": min(times), "max_us": max(times)}


def micro_benchmarks(args):
    import torch
    torch.set_num_threads(args.threads)
    results = {}
    a, b = loom.tensor([1.0]), loom.tensor([2.0])
    ta, tb = torch.tensor([1.0]), torch.tensor([2.0])
    results["add"] = interleaved({"loom": lambda: a + b, "torch": lambda: ta + tb}, args.reps, args.calls)

    w = loom.Variable([1.0, 2.0, 3.0], name="w")
    tw = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    reduce_sum = loom.reduce_sum

    def loom_step():
        with loom.GradientTape() as tape:
            y = reduce_sum(w * w + w)
        return tape.gradient(y, w)

    def torch_step():
        y = (tw * tw + tw).sum()
        return torch.autograd.grad(y, [tw])

    assert loom_step().tolist() == [3.0, 5.0, 7.0]
    assert torch_step()[0].tolist() == [3.0, 5.0, 7.0]
    results["tape_step"] = interleaved({"loom": loom_step, "torch": torch_step}, args.reps, args.tape_calls)
    return results


def lenet(steps):
    L = loom.layers
    model = loom.Sequential([
        loom.Input((28, 28, 1)),
        L.Conv2D(6, 5, padding="same", activation="relu"), L.MaxPool2D(2, strides=2),
        L.Conv2D(16, 5, padding="valid", activation="relu"), L.MaxPool2D(2, strides=2),
        L.Flatten(), L.Dense(120, activation="relu"), L.Dense(84, activation="relu"), L.Dense(10),
    ])
    model.compile(loom.optimizers.Adam(loom.optimizers.schedules.CosineDecay(0.002, steps, alpha=0.01)),
                  loom.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def python_epoch(args):
    """Seconds of one fit epoch from Python (the same model, data and options as the C++ example)."""
    raw_train, _ = loom.datasets.fashion_mnist.load_data(args.data) if loom._core.np is not None else (None, None)
    x, y = raw_train
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    x = loom.reshape(loom.tensor(x).cast("float32") / 255.0, [len(x), 28, 28, 1])
    y = loom.tensor(y).cast("int64")
    loom.set_seed(args.seed)
    steps = -(-x.shape[0] // args.batch_size)
    model = lenet(steps)
    marks = {}

    def epoch_end(epoch, logs):
        marks["end"] = time.perf_counter()
        marks["logs"] = logs

    # verbose=1 as the C++ example (its progress line costs time); the library prints it to file
    # descriptor 1, sent to /dev/null here as the C++ example's output is captured
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        start = time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=args.batch_size, seed=args.seed, verbose=args.epoch_verbose,
                  callbacks=[epoch_end])
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return marks["end"] - start, marks["logs"]


def cpp_epoch(args):
    binary = args.cpp_binary
    if not os.path.exists(binary):
        return None, f"{binary} not found (build the examples)"
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        command = [binary, "--data", args.data, "--model", "lenet", "--epochs", "1", "--batch-size",
                   str(args.batch_size), "--seed", str(args.seed), "--json", report, "--save",
                   os.path.join(tmp, "m.loom")]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if args.limit:
            command += ["--limit", str(args.limit)]
        env = dict(os.environ)
        if args.cpp_same_library:  # the library the Python side loaded, ahead of the binary's RUNPATH
            env["LD_LIBRARY_PATH"] = os.path.dirname(os.path.realpath(loom.library_path))
        run = subprocess.run(command, capture_output=True, text=True, env=env)
        if run.returncode != 0 and args.cpp_same_library:
            run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            return None, f"{' '.join(command)} failed: {run.stderr.strip()}"
        with open(report) as f:
            data = json.load(f)
        return data["epochs"][0]["seconds"], data["epochs"][0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=7, help="interleaved repetitions (>= 5)")
    parser.add_argument("--calls", type=int, default=20000, help="adds per repetition")
    parser.add_argument("--tape-calls", type=int, default=4000, help="tape steps per repetition")
    parser.add_argument("--data", default=os.path.join(REPO, "data", "fashion-mnist"))
    parser.add_argument("--limit", type=int, default=0, help="training images for the epoch (0: all 60000)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epoch-runs", type=int, default=2, help="epochs timed on each side (interleaved)")
    parser.add_argument("--epoch-verbose", type=int, default=1,
                        help="fit's verbose for the Python epoch (1, as the C++ example: a progress line)")
    parser.add_argument("--cpp-binary", default=os.path.join(REPO, "build", "examples", "fashion_mnist"))
    parser.add_argument("--cpp-own-library", dest="cpp_same_library", action="store_false",
                        help="run the C++ example with the library it was linked with (default: the one Python uses)")
    parser.add_argument("--skip-epoch", action="store_true")
    parser.add_argument("--skip-micro", action="store_true")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    args.reps = max(5, args.reps)
    loom.set_num_threads(args.threads)
    out = {"threads": args.threads, "library": loom.library_path}
    print(f"loom {loom.__version__} ({loom.library_path}), {args.threads} threads")

    if not args.skip_micro:
        micro = micro_benchmarks(args)
        import torch
        out["torch"] = torch.__version__
        print(f"\nper call, median over {args.reps} interleaved repetitions (min - max), PyTorch {torch.__version__}:")
        print(f"{'':12} {'loom (us)':>22} {'torch (us)':>22} {'loom / torch':>13}")
        for name, times in micro.items():
            lo, to = summary(times["loom"]), summary(times["torch"])
            ratio = lo["median_us"] / to["median_us"]
            out[name] = {"loom": lo, "torch": to, "ratio": ratio}
            print(f"{name:12} {lo['median_us']:8.2f} ({lo['min_us']:5.2f} - {lo['max_us']:5.2f}) "
                  f"{to['median_us']:8.2f} ({to['min_us']:5.2f} - {to['max_us']:5.2f}) {ratio:12.2f}x")

    if not args.skip_epoch:
        py_times, cpp_times, note = [], [], None
        for _ in range(args.epoch_runs):
            seconds, logs = python_epoch(args)
            py_times.append(seconds)
            seconds, info = cpp_epoch(args)
            if seconds is None:
                note = info
            else:
                cpp_times.append(seconds)
        images = args.limit or 60000
        print(f"\nLeNet, one Fashion-MNIST epoch ({images} images, batch {args.batch_size}):")
        print(f"  Python fit: {statistics.median(py_times):.2f} s (train loss {logs['loss']:.4f}, "
              f"accuracy {logs['accuracy']:.4f})")
        out["epoch"] = {"python_s": py_times, "images": images}
        if cpp_times:
            ratio = statistics.median(py_times) / statistics.median(cpp_times)
            print(f"  C++ (fashion_mnist --model lenet): {statistics.median(cpp_times):.2f} s "
                  f"(train loss {info['train_loss']:.4f}, accuracy {info['train_acc']:.4f})")
            print(f"  Python / C++: {ratio:.3f}x")
            out["epoch"].update(cpp_s=cpp_times, ratio=ratio)
        else:
            print(f"  C++: skipped ({note})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
