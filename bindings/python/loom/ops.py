"""Every op of the library as a Python function, generated at import time from the C ABI's op
schemas (loom_op_schema): inputs are positional by their schema names, attributes are keyword
arguments whose defaults are the library's (left out when not given), and the docstring lists
the input dtypes, attribute types and defaults.

    loom.ops.conv2d(x, filter, bias, strides=[2, 2], padding="same")
    help(loom.ops.conv2d)
    loom.ops.schema("conv2d")     # the schema as a dict
    loom.ops.names()              # every op name
"""
from . import _opgen

schema = _opgen.op_schema
_FUNCTIONS = _opgen.generate()


def names():
    """The names of the library's ops (sorted), each a function of this module."""
    return list(_FUNCTIONS)


def get(name):
    """The generated function of op `name`."""
    try:
        return _FUNCTIONS[name]
    except KeyError:
        raise AttributeError(f"loom.ops has no op {name!r}") from None


__all__ = ["schema", "names", "get"] + list(_FUNCTIONS)
# Last: the ops' names (abs, range, pow, slice, ...) replace builtins in this module only.
globals().update(_FUNCTIONS)
