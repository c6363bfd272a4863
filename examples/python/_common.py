"""What the Python examples share: arguments, finding the package, Fashion-MNIST as arrays."""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Run from the source tree without installing: the package is in bindings/python.
_SOURCE_PACKAGE = os.path.normpath(os.path.join(HERE, "..", "..", "bindings", "python"))
if os.path.isdir(os.path.join(_SOURCE_PACKAGE, "loom")) and _SOURCE_PACKAGE not in sys.path:
    import importlib.util
    if importlib.util.find_spec("loom") is None:  # an installed package wins
        sys.path.append(_SOURCE_PACKAGE)


def arguments(description, epochs=3, batch_size=128, data=True):
    parser = argparse.ArgumentParser(description=description)
    if data:
        parser.add_argument("--data", default="data/fashion-mnist",
                            help="directory with the IDX files (plain or .gz), default data/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: loom's default)")
    parser.add_argument("--quick", action="store_true", help="a few examples and one epoch (the test suite's run)")
    return parser


def setup(args):
    import loom
    if args.threads > 0:
        loom.set_num_threads(args.threads)
    loom.set_seed(args.seed)
    if args.quick:
        args.epochs = 1
    return loom


def fashion_mnist(args, channels_last=True, train_limit=512, test_limit=256):
    """Images as float32 in [0, 1] ((N, 28, 28, 1) when channels_last, else (N, 28, 28)), labels
    int64; --quick keeps the first few examples."""
    import loom
    import numpy as np
    (x_train, y_train), (x_test, y_test) = loom.datasets.fashion_mnist.load_data(args.data)
    if args.quick:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]
        x_test, y_test = x_test[:test_limit], y_test[:test_limit]
    x_train = x_train.astype(np.float32) / 255.0
    x_test = x_test.astype(np.float32) / 255.0
    if channels_last:
        x_train, x_test = x_train[..., None], x_test[..., None]
    print(f"Fashion-MNIST: {len(x_train)} training, {len(x_test)} test images", flush=True)
    return (x_train, y_train.astype(np.int64)), (x_test, y_test.astype(np.int64))
