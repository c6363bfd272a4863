"""Losses by Keras name ("mse", "sparse_categorical_crossentropy", ...) or as objects, for
``model.compile`` and (callable on y_true, y_pred) for custom training loops."""
from . import _api, _core

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "SparseCategoricalCrossentropy",
           "CategoricalCrossentropy", "BinaryCrossentropy", "mean_squared_error", "mean_absolute_error",
           "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy", "get", "NAMES"]

NAMES = ("mse", "mean_squared_error", "mae", "mean_absolute_error", "sparse_categorical_crossentropy",
         "categorical_crossentropy", "binary_crossentropy")
_EPSILON = 1e-7


def _pair(y_true, y_pred, where):
    y_pred = _core.tensor(y_pred, None, where, "y_pred")
    y_true = _core._operand(y_true, _core._dtype_code_of(y_pred._h), where, "y_true") if not isinstance(
        y_true, _core.Tensor) else y_true
    return y_true, y_pred


def _ops():
    from . import ops
    return ops


class Loss:
    """A loss loom knows by name; calling it gives the mean loss over the batch."""
    name = None

    def __init__(self, **config):
        self._config = {k: v for k, v in config.items() if v is not None}

    def get_config(self):
        return dict(self._config)

    def __call__(self, y_true, y_pred):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"loom.losses.{type(self).__name__}({args})"


class MeanSquaredError(Loss):
    """mean((y_true - y_pred)^2)."""
    name = "mse"

    def __init__(self):
        super().__init__()

    def __call__(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred, "loom.losses.MeanSquaredError")
        d = y_pred - y_true
        return _api.reduce_mean(d * d)


class MeanAbsoluteError(Loss):
    """mean(|y_true - y_pred|)."""
    name = "mae"

    def __init__(self):
        super().__init__()

    def __call__(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred, "loom.losses.MeanAbsoluteError")
        return _api.reduce_mean(abs(y_pred - y_true))


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy of integer labels and class probabilities (or logits)."""
    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False):
        super().__init__(from_logits=bool(from_logits))

    def __call__(self, y_true, y_pred):
        where = "loom.losses.SparseCategoricalCrossentropy"
        y_pred = _core.tensor(y_pred, None, where, "y_pred")
        labels = _core.tensor(y_true, None, where, "y_true")
        if labels.dtype not in ("int32", "int64"):
            labels = labels.cast("int64")
        ops = _ops()
        if self._config["from_logits"]:
            return _api.reduce_mean(ops.sparse_softmax_cross_entropy_with_logits(labels, y_pred))
        depth = y_pred.shape[-1]
        p = ops.clip(y_pred, min=_EPSILON, max=1.0 - _EPSILON)
        onehot = _api.one_hot(labels, depth, dtype=y_pred.dtype)
        return -_api.reduce_mean(_api.reduce_sum(onehot * ops.log(p), axis=-1))


class CategoricalCrossentropy(Loss):
    """Cross-entropy of one-hot labels and class probabilities (or logits)."""
    name = "categorical_crossentropy"

    def __init__(self, from_logits=False):
        super().__init__(from_logits=bool(from_logits))

    def __call__(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred, "loom.losses.CategoricalCrossentropy")
        ops = _ops()
        if self._config["from_logits"]:
            return _api.reduce_mean(ops.softmax_cross_entropy_with_logits(y_true, y_pred))
        p = ops.clip(y_pred, min=_EPSILON, max=1.0 - _EPSILON)
        return -_api.reduce_mean(_api.reduce_sum(y_true * ops.log(p), axis=-1))


class BinaryCrossentropy(Loss):
    """Binary cross-entropy of 0/1 labels and probabilities (or logits)."""
    name = "binary_crossentropy"

    def __init__(self, from_logits=False):
        super().__init__(from_logits=bool(from_logits))

    def __call__(self, y_true, y_pred):
        y_true, y_pred = _pair(y_true, y_pred, "loom.losses.BinaryCrossentropy")
        ops = _ops()
        if self._config["from_logits"]:
            return _api.reduce_mean(ops.sigmoid_cross_entropy_with_logits(y_true, y_pred))
        p = ops.clip(y_pred, min=_EPSILON, max=1.0 - _EPSILON)
        return -_api.reduce_mean(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))


def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, "loom.losses.mean_squared_error")
    d = y_pred - y_true
    return _api.reduce_mean(d * d, axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean absolute error over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, "loom.losses.mean_absolute_error")
    return _api.reduce_mean(abs(y_pred - y_true), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return SparseCategoricalCrossentropy(from_logits)(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return CategoricalCrossentropy(from_logits)(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return BinaryCrossentropy(from_logits)(y_true, y_pred)


_BY_NAME = {"mse": MeanSquaredError, "mean_squared_error": MeanSquaredError, "mae": MeanAbsoluteError,
            "mean_absolute_error": MeanAbsoluteError,
            "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
            "categorical_crossentropy": CategoricalCrossentropy, "binary_crossentropy": BinaryCrossentropy}


def get(identifier):
    """A Loss from a name or a Loss (returned as is)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            raise ValueError(f"loom.losses.get: unknown loss {identifier!r} (one of {', '.join(NAMES)})")
        return cls()
    raise TypeError(f"loom.losses.get: expected a name or a loom.losses.Loss, got {type(identifier).__name__}")


def spec(identifier, where):
    """(loom name, config) of a loss given as a name or a Loss object."""
    if isinstance(identifier, str):
        return identifier, {}
    if isinstance(identifier, Loss):
        return identifier.name, identifier.get_config()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier.name, {}
    if callable(identifier):
        raise TypeError(f"{where}: loss functions written in Python are not supported by fit (loom's C ABI takes a "
                        "loss name); use a custom training loop with GradientTape")
    raise TypeError(f"{where}: loss must be a name such as 'mse' or a loom.losses.Loss, got {type(identifier).__name__}")
