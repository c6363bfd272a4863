"""Datasets read from local files (loom downloads nothing): ``fashion_mnist`` and ``mnist``."""
from . import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
