"""loom from Python through its C ABI (ctypes, no compiled code): tensors, every op of the
library (generated from the op schemas), the gradient tape, variables, custom gradients,
devices, Keras-style layers and models (Sequential, functional, subclassed; Python layers),
optimizers, losses, training with callbacks, files and datasets.

    import loom
    x = loom.tensor([[1.0, 2.0], [3.0, 4.0]])
    with loom.GradientTape() as tape:
        tape.watch(x)
        y = loom.reduce_sum(x * x)
    print(tape.gradient(y, x).tolist())   # [[2.0, 4.0], [6.0, 8.0]]

The library is found through $LOOM_LIBRARY, the path recorded when the package was installed,
the installation prefix, the source tree's build/ folder, then the system's library path.
"""
from . import _ffi
from ._ffi import (AbiMismatchError, CallbackError, DeviceError, DistributedError, DTypeError, InternalError, InvalidArgumentError,
                   LoomError, LoomIOError, NotFoundError, OutOfMemoryError, ShapeError, UnimplementedError)
from ._core import (DType, Tensor, as_dtype, bfloat16, bool_, float16, float32, float64, int32, int64, tensor,
                    uint8)
from ._autograd import GradientTape, UnconnectedGradients, Variable, custom_gradient
from ._api import (arange, broadcast_to, cast, clip_by_value, concat, constant, convert_to_tensor, expand_dims, fill,
                   get_num_threads, load_npy, numpy, one_hot, ones, ones_like, op, pad, random_normal, random_uniform,
                   reduce_all, reduce_any, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_sum, reshape,
                   save_npy, set_num_threads, set_seed, split, squeeze, stack, tile, transpose, version, zeros,
                   zeros_like)
from . import ops
from . import config
from .config import device
from . import initializers, regularizers
from . import layers
from .layers import Input, SymbolicTensor
from . import optimizers, losses, metrics, callbacks, mixed_precision
from . import models
from .models import Model, Sequential, import_onnx, load_model, save_model
from . import io
from . import data
from . import datasets
from . import distributed

for _cls in (LoomError, InvalidArgumentError, ShapeError, DTypeError, DeviceError, OutOfMemoryError, LoomIOError,
             NotFoundError, UnimplementedError, InternalError, AbiMismatchError, CallbackError, DistributedError, DType, Tensor,
             Variable,
             GradientTape, UnconnectedGradients, SymbolicTensor, Model, Sequential):
    _cls.__module__ = "loom"  # their public names

__version__ = version()
library_path = _ffi.LIBRARY_PATH

_CONVENIENCE = {"reshape", "transpose", "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod",
                "reduce_any", "reduce_all", "cast", "concat", "stack", "split", "expand_dims", "squeeze", "tile",
                "broadcast_to", "one_hot", "pad", "fill", "random_normal", "random_uniform"}
# The library's ops at the top level (loom.exp, loom.matmul, ...), except gradient helpers and
# the names above, which have TensorFlow-style signatures here (attributes positional too).
_TOP_OPS = [_name for _name in ops.names()
            if not _name.endswith("_grad") and not _name.startswith("conv2d_backprop") and _name not in _CONVENIENCE]

__all__ = ["LoomError", "InvalidArgumentError", "ShapeError", "DTypeError", "DeviceError", "OutOfMemoryError",
           "LoomIOError", "NotFoundError", "UnimplementedError", "InternalError", "AbiMismatchError", "CallbackError",
           "DistributedError",
           "DType", "Tensor", "tensor", "as_dtype", "float32", "float64", "int32", "int64", "bool_", "uint8", "float16",
           "bfloat16", "GradientTape", "UnconnectedGradients", "Variable", "custom_gradient", "arange",
           "broadcast_to", "cast", "clip_by_value", "concat", "constant", "convert_to_tensor", "expand_dims", "fill",
           "get_num_threads", "load_npy", "numpy", "one_hot", "ones", "ones_like", "op", "pad", "random_normal",
           "random_uniform", "reduce_all", "reduce_any", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod",
           "reduce_sum", "reshape", "save_npy", "set_num_threads", "set_seed", "split", "squeeze", "stack", "tile",
           "transpose", "version", "zeros", "zeros_like", "ops", "config", "device", "initializers", "regularizers",
           "layers", "Input", "SymbolicTensor", "optimizers", "mixed_precision", "losses", "metrics", "callbacks", "models", "Model",
           "Sequential", "load_model", "save_model", "import_onnx", "io", "data", "datasets", "distributed"] + _TOP_OPS

# Last: op names such as abs, range, pow and slice replace Python's builtins in this module.
globals().update({_name: ops.get(_name) for _name in _TOP_OPS})
del _cls
