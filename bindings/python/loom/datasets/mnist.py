"""MNIST from a local directory (keras.datasets.mnist without the download)."""
from . import _mnist


def load_data(path=None):
    """((x_train, y_train), (x_test, y_test)) as NumPy uint8 arrays from `path` (default
    $LOOM_MNIST or data/mnist); files as for fashion_mnist."""
    return _mnist.load(path, "data/mnist", "LOOM_MNIST", "loom.datasets.mnist.load_data")
