"""Weight initializers by Keras name: strings ("glorot_uniform", "zeros", ...) or these objects.
`Constant(value)` and any callable ``f(shape, dtype)`` work for ``Layer.add_weight``."""

__all__ = ["Initializer", "Zeros", "Ones", "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "RandomNormal",
           "RandomUniform", "TruncatedNormal", "Constant", "get", "serialize"]

NAMES = ("zeros", "ones", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "random_normal",
         "random_uniform", "truncated_normal")


class Initializer:
    """An initializer loom knows by name."""
    name = None

    def get_config(self):
        return {}

    def __repr__(self):
        return f"loom.initializers.{type(self).__name__}()"


def _named(class_name, name):
    return type(class_name, (Initializer,), {"name": name, "__doc__": f"The '{name}' initializer."})


Zeros = _named("Zeros", "zeros")
Ones = _named("Ones", "ones")
GlorotUniform = _named("GlorotUniform", "glorot_uniform")
GlorotNormal = _named("GlorotNormal", "glorot_normal")
HeNormal = _named("HeNormal", "he_normal")
HeUniform = _named("HeUniform", "he_uniform")
RandomNormal = _named("RandomNormal", "random_normal")
RandomUniform = _named("RandomUniform", "random_uniform")
TruncatedNormal = _named("TruncatedNormal", "truncated_normal")


class Constant:
    """Every value `value` (for Layer.add_weight; built-in layers take names only)."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype="float32"):
        from . import _api
        return _api.fill(shape, self.value, dtype)


def get(identifier):
    """The loom name of an initializer given as a name or an Initializer; None for a callable
    (Python-side initializers)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return identifier
    if isinstance(identifier, Initializer) or (isinstance(identifier, type) and issubclass(identifier, Initializer)):
        return identifier.name
    return None


def serialize(identifier):
    return get(identifier)
