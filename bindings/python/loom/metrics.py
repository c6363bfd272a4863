"""Metrics by Keras name for ``model.compile(metrics=[...])``: "accuracy" (the right accuracy for
the loss), "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "mae"."""

__all__ = ["Metric", "Accuracy", "SparseCategoricalAccuracy", "CategoricalAccuracy", "BinaryAccuracy",
           "MeanAbsoluteError", "NAMES", "name_of"]

NAMES = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "mae",
         "mean_absolute_error")


class Metric:
    """A metric loom computes, known by name."""
    name = None

    def __repr__(self):
        return f"loom.metrics.{type(self).__name__}()"


def _named(class_name, name):
    return type(class_name, (Metric,), {"name": name, "__doc__": f"The '{name}' metric."})


Accuracy = _named("Accuracy", "accuracy")
SparseCategoricalAccuracy = _named("SparseCategoricalAccuracy", "sparse_categorical_accuracy")
CategoricalAccuracy = _named("CategoricalAccuracy", "categorical_accuracy")
BinaryAccuracy = _named("BinaryAccuracy", "binary_accuracy")
MeanAbsoluteError = _named("MeanAbsoluteError", "mae")


def name_of(metric, where):
    if isinstance(metric, str):
        return metric
    if isinstance(metric, Metric) or (isinstance(metric, type) and issubclass(metric, Metric)):
        return metric.name
    raise TypeError(f"{where}: a metric must be a name such as 'accuracy' or a loom.metrics.Metric, got "
                    f"{type(metric).__name__}")
