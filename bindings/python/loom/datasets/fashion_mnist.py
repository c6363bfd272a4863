"""Fashion-MNIST from a local directory (keras.datasets.fashion_mnist without the download)."""
from . import _mnist

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


def load_data(path=None):
    """((x_train, y_train), (x_test, y_test)) as NumPy uint8 arrays: images (N, 28, 28), labels
    (N,). `path`: the directory with train-images-idx3-ubyte, train-labels-idx1-ubyte,
    t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each plain or .gz); default
    $LOOM_FASHION_MNIST or data/fashion-mnist."""
    return _mnist.load(path, "data/fashion-mnist", "LOOM_FASHION_MNIST", "loom.datasets.fashion_mnist.load_data")
