"""loom from Python through its C ABI (ctypes): tensors, ops, the gradient tape, variables,
Keras-style models and optimizers, ONNX export and import.

    import loom
    x = loom.tensor([[1.0, 2.0], [3.0, 4.0]])
    with loom.GradientTape() as tape:
        tape.watch(x)
        y = loom.reduce_sum(x * x)
    print(tape.gradient(y, x).tolist())   # [[2.0, 4.0], [6.0, 8.0]]
"""
import ctypes
import struct

from ._ffi import EPOCH_CALLBACK, LoomError, call, handle_array, int64_array, lib, out_handle

__all__ = [
    "LoomError", "Tensor", "tensor", "random_normal", "load_npy", "load_mnist", "op", "matmul", "exp", "log", "tanh", "relu",
    "reduce_sum", "reduce_mean", "reshape", "transpose", "softmax", "Variable", "GradientTape", "layers",
    "Model", "Sequential", "import_onnx", "optimizers", "set_seed", "version",
]

F32, F64, I32, I64, BOOL, U8, F16, BF16 = range(8)
_DTYPE_NAMES = ["float32", "float64", "int32", "int64", "bool", "uint8", "float16", "bfloat16"]
_STRUCT_FORMATS = {F32: "f", F64: "d", I32: "i", I64: "q", BOOL: "?", U8: "B", F16: "e"}
_FORMAT_DTYPES = {"f": F32, "d": F64, "i": I32, "q": I64, "l": I64, "?": BOOL, "B": U8, "e": F16}
_ITEM_SIZES = {F32: 4, F64: 8, I32: 4, I64: 8, BOOL: 1, U8: 1, F16: 2, BF16: 2}


def version():
    return lib.loom_version_string().decode()


def set_seed(seed):
    call("loom_set_seed", seed)


def dtype_code(dtype):
    if isinstance(dtype, int):
        return dtype
    try:
        return _DTYPE_NAMES.index(getattr(dtype, "name", str(dtype)))
    except ValueError:
        raise LoomError(3, f"unknown dtype {dtype!r} (one of {', '.join(_DTYPE_NAMES)})") from None


class _Attrs:
    """A loom_attrs handle built from keyword arguments (released when done)."""

    def __init__(self, values):
        self.handle = out_handle("loom_attrs_new") if values else None
        for name, value in (values or {}).items():
            key = name.encode()
            if isinstance(value, bool):
                call("loom_attrs_set_bool", self.handle, key, int(value))
            elif isinstance(value, int):
                call("loom_attrs_set_int", self.handle, key, value)
            elif isinstance(value, float):
                call("loom_attrs_set_float", self.handle, key, value)
            elif isinstance(value, str):
                call("loom_attrs_set_string", self.handle, key, value.encode())
            elif isinstance(value, (list, tuple)) and all(isinstance(v, int) for v in value):
                arr, n = int64_array(value)
                call("loom_attrs_set_int_list", self.handle, key, arr, n)
            elif isinstance(value, (list, tuple)):
                arr = (ctypes.c_double * max(1, len(value)))(*map(float, value))
                call("loom_attrs_set_float_list", self.handle, key, arr, len(value))
            else:
                raise LoomError(1, f"attribute {name!r}: unsupported value {value!r}")

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc):
        if self.handle:
            lib.loom_attrs_release(self.handle)


def _flatten(data):
    """Nested lists -> (flat values, shape)."""
    if isinstance(data, (list, tuple)):
        if not data:
            return [], (0,)
        parts = [_flatten(d) for d in data]
        inner = parts[0][1]
        if any(p[1] != inner for p in parts):
            raise LoomError(2, "tensor: nested lists of different lengths")
        return [v for p in parts for v in p[0]], (len(data),) + inner
    return [data], ()


class Tensor:
    """An immutable n-d array on a device (a loom_tensor handle)."""

    __slots__ = ("_handle",)

    def __init__(self, handle):
        self._handle = handle

    def __del__(self):
        if getattr(self, "_handle", None) and lib is not None:
            lib.loom_tensor_release(self._handle)
            self._handle = None

    @property
    def shape(self):
        dims = (ctypes.c_int64 * 16)()
        rank = ctypes.c_int32()
        call("loom_tensor_shape", self._handle, dims, 16, ctypes.byref(rank))
        return tuple(dims[: rank.value])

    @property
    def dtype(self):
        code = ctypes.c_int32()
        call("loom_tensor_dtype", self._handle, ctypes.byref(code))
        return _DTYPE_NAMES[code.value]

    @property
    def device(self):
        buffer = ctypes.create_string_buffer(32)
        call("loom_tensor_device", self._handle, buffer, 32)
        return buffer.value.decode()

    def tobytes(self):
        nbytes = ctypes.c_size_t()
        call("loom_tensor_nbytes", self._handle, ctypes.byref(nbytes))
        buffer = ctypes.create_string_buffer(max(1, nbytes.value))
        call("loom_tensor_to_host", self._handle, buffer, nbytes.value)
        return buffer.raw[: nbytes.value]

    def memoryview(self):
        """The values as a read-only memoryview of this shape (a copy; formats of the struct module)."""
        code = _DTYPE_NAMES.index(self.dtype)
        if code not in _STRUCT_FORMATS:
            return self.cast("float32").memoryview()
        view = memoryview(self.tobytes()).cast(_STRUCT_FORMATS[code])
        return view.cast("B").cast(_STRUCT_FORMATS[code], self.shape) if self.shape else view

    def tolist(self):
        code = _DTYPE_NAMES.index(self.dtype)
        if code not in _STRUCT_FORMATS:
            return self.cast("float32").tolist()
        shape = self.shape
        flat = list(struct.unpack(f"<{max(1, _numel(shape))}{_STRUCT_FORMATS[code]}", self.tobytes() or b"\0" * _ITEM_SIZES[code]))

        def nest(values, dims):
            if not dims:
                return values[0]
            step = _numel(dims[1:])
            return [nest(values[i * step:(i + 1) * step], dims[1:]) for i in range(dims[0])]

        return nest(flat, shape) if shape else flat[0]

    def numpy(self):
        import numpy as np

        code = _DTYPE_NAMES.index(self.dtype)
        if code == BF16:
            return self.cast("float32").numpy()
        out = np.empty(self.shape, dtype=_DTYPE_NAMES[code])
        call("loom_tensor_to_host", self._handle, out.ctypes.data, out.nbytes)
        return out

    def item(self):
        value = self.tolist()
        if isinstance(value, list):
            raise LoomError(1, f"item: needs one element, got shape {self.shape}")
        return value

    def cast(self, dtype):
        return Tensor(out_handle("loom_tensor_cast", self._handle, dtype_code(dtype)))

    def to(self, device):
        return Tensor(out_handle("loom_tensor_to_device", self._handle, device.encode()))

    def save_npy(self, path):
        call("loom_tensor_save_npy", self._handle, str(path).encode())

    def __repr__(self):
        return f"loom.Tensor({self.tolist()}, shape={self.shape}, dtype={self.dtype})"

    def _binary(self, name, other, swap=False):
        other = as_tensor(other, self.dtype)
        return op(name, other, self) if swap else op(name, self, other)

    def __add__(self, o): return self._binary("add", o)
    def __radd__(self, o): return self._binary("add", o, True)
    def __sub__(self, o): return self._binary("sub", o)
    def __rsub__(self, o): return self._binary("sub", o, True)
    def __mul__(self, o): return self._binary("mul", o)
    def __rmul__(self, o): return self._binary("mul", o, True)
    def __truediv__(self, o): return self._binary("div", o)
    def __rtruediv__(self, o): return self._binary("div", o, True)
    def __pow__(self, o): return self._binary("pow", o)
    def __neg__(self): return op("neg", self)
    def __matmul__(self, o): return matmul(self, o)


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _buffer_of(data):
    """A memoryview of anything with the buffer protocol (NumPy arrays, array.array, bytes)."""
    if isinstance(data, (list, tuple, int, float, bool)):
        return None
    try:
        return memoryview(data)
    except TypeError:
        return None


def tensor(data, dtype=None):
    """A tensor from nested lists, a scalar, a loom Tensor, a NumPy array or any buffer."""
    if isinstance(data, Tensor):
        return data if dtype is None else data.cast(dtype)
    view = _buffer_of(data)
    if view is not None:
        fmt = view.format.lstrip("<=@")
        if fmt not in _FORMAT_DTYPES:
            raise LoomError(3, f"tensor: buffer format {view.format!r} has no loom dtype")
        code = _FORMAT_DTYPES[fmt]
        if fmt == "l" and view.itemsize != 8:
            code = I32
        raw = view.tobytes()  # C order, as loom wants
        dims, rank = int64_array(view.shape)
        t = Tensor(out_handle("loom_tensor_from_host", raw, len(raw), dims, rank, code))
        return t if dtype is None else t.cast(dtype)
    flat, shape = _flatten(data)
    if dtype is None:
        dtype = "bool" if flat and all(isinstance(v, bool) for v in flat) else (
            "int64" if all(isinstance(v, int) for v in flat) and flat else "float32")
    code = dtype_code(dtype)
    if code not in _STRUCT_FORMATS:
        return tensor(data, "float32").cast(dtype)
    raw = struct.pack(f"<{len(flat)}{_STRUCT_FORMATS[code]}", *flat)
    dims, rank = int64_array(shape)
    return Tensor(out_handle("loom_tensor_from_host", raw, len(raw), dims, rank, code))


def as_tensor(x, dtype=None):
    if isinstance(x, Variable):
        return x.value
    return x if isinstance(x, Tensor) else tensor(x, dtype)


def random_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=0):
    dims, rank = int64_array(shape)
    return Tensor(out_handle("loom_tensor_random_normal", dims, rank, mean, stddev, dtype_code(dtype), seed))


def load_npy(path):
    return Tensor(out_handle("loom_tensor_load_npy", str(path).encode()))


def load_mnist(directory):
    """(x_train, y_train, x_test, y_test) of an MNIST-format directory (MNIST, Fashion-MNIST):
    uint8 images (N, 28, 28) and uint8 labels."""
    handles = [ctypes.c_void_p() for _ in range(4)]
    call("loom_mnist_load", str(directory).encode(), *[ctypes.byref(h) for h in handles])
    return tuple(Tensor(h.value) for h in handles)


def op(name, *inputs, **attrs):
    """Any op of loom's registry by name (loom_op_call); one output, or a tuple of several."""
    tensors = [as_tensor(x) for x in inputs]
    ins = handle_array(t._handle for t in tensors)
    outs = (ctypes.c_void_p * 16)()
    count = ctypes.c_int32()
    with _Attrs(attrs) as a:
        call("loom_op_call", name.encode(), ins, len(tensors), a, outs, 16, ctypes.byref(count))
    results = tuple(Tensor(outs[i]) for i in range(count.value))
    return results[0] if len(results) == 1 else results


def matmul(a, b, transpose_a=False, transpose_b=False):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(out_handle("loom_matmul", a._handle, b._handle, int(transpose_a), int(transpose_b)))


def exp(x): return op("exp", x)
def log(x): return op("log", x)
def tanh(x): return op("tanh", x)
def relu(x): return op("relu", x)
def softmax(x, axis=-1): return op("softmax", x, axis=axis)
def reshape(x, shape): return op("reshape", x, shape=list(shape))
def transpose(x, perm=None): return op("transpose", x) if perm is None else op("transpose", x, perm=list(perm))


def _reduce(name, x, axis, keepdims):
    attrs = {"keepdims": keepdims}
    if axis is not None:
        attrs["axes"] = [axis] if isinstance(axis, int) else list(axis)
    return op(name, x, **attrs)


def reduce_sum(x, axis=None, keepdims=False): return _reduce("reduce_sum", x, axis, keepdims)
def reduce_mean(x, axis=None, keepdims=False): return _reduce("reduce_mean", x, axis, keepdims)


class Variable:
    """A named, mutable tensor (loom_variable); `value` is the live tensor ops and tapes see."""

    def __init__(self, initial=None, name="Variable", trainable=True, _handle=None):
        if _handle is None:
            _handle = out_handle("loom_variable_new", as_tensor(initial)._handle, name.encode(), int(trainable))
        self._handle = _handle
        self.value = Tensor(out_handle("loom_variable_tensor", _handle))

    def __del__(self):
        if getattr(self, "_handle", None) and lib is not None:
            lib.loom_variable_release(self._handle)
            self._handle = None

    def read_value(self):
        return Tensor(out_handle("loom_variable_read", self._handle))

    def assign(self, value):
        call("loom_variable_assign", self._handle, as_tensor(value, self.value.dtype)._handle)

    def assign_add(self, delta):
        call("loom_variable_assign_add", self._handle, as_tensor(delta, self.value.dtype)._handle)

    def assign_sub(self, delta):
        call("loom_variable_assign_sub", self._handle, as_tensor(delta, self.value.dtype)._handle)

    def tolist(self):
        return self.value.tolist()

    def numpy(self):
        return self.value.numpy()

    def __getattr__(self, name):  # arithmetic and facts of the current value
        return getattr(self.value, name)

    def __add__(self, o): return self.value + o
    def __radd__(self, o): return o + self.value if isinstance(o, Tensor) else self.value.__radd__(o)
    def __sub__(self, o): return self.value - o
    def __rsub__(self, o): return self.value.__rsub__(o)
    def __mul__(self, o): return self.value * o
    def __rmul__(self, o): return self.value.__rmul__(o)
    def __matmul__(self, o): return matmul(self.value, o)


class GradientTape:
    """TF's tf.GradientTape: records while the `with` block runs; gradient() afterwards."""

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._handle = out_handle("loom_tape_new", int(persistent), int(watch_accessed_variables))
        self._paused = False

    def __del__(self):
        if getattr(self, "_handle", None) and lib is not None:
            lib.loom_tape_release(self._handle)
            self._handle = None

    def __enter__(self):
        if self._paused:
            call("loom_tape_resume_recording", self._handle)
            self._paused = False
        return self

    def __exit__(self, *exc):
        call("loom_tape_stop_recording", self._handle)  # leaving the block ends recording, as in TF
        self._paused = True

    def watch(self, x):
        if isinstance(x, Variable):
            call("loom_tape_watch_variable", self._handle, x._handle)
        else:
            call("loom_tape_watch", self._handle, as_tensor(x)._handle)

    def gradient(self, target, sources, output_gradient=None, unconnected_zero=False):
        single = not isinstance(sources, (list, tuple))
        items = [sources] if single else list(sources)
        tensors = [s for s in items if not isinstance(s, Variable)]
        variables = [s for s in items if isinstance(s, Variable)]
        grads = (ctypes.c_void_p * max(1, len(items)))()
        dy = as_tensor(output_gradient)._handle if output_gradient is not None else None
        call("loom_tape_gradient", self._handle, as_tensor(target)._handle, handle_array(t._handle for t in tensors),
             len(tensors), handle_array(v._handle for v in variables), len(variables), dy, int(unconnected_zero), grads)
        by_source = [Tensor(grads[i]) if grads[i] else None for i in range(len(items))]
        # C returns tensors first, then variables: put them back in the caller's order.
        t_iter, v_iter = iter(by_source[: len(tensors)]), iter(by_source[len(tensors):])
        ordered = [next(v_iter) if isinstance(s, Variable) else next(t_iter) for s in items]
        return ordered[0] if single else ordered


class _Layer:
    def __init__(self, kind, **config):
        with _Attrs(config) as a:
            self._handle = out_handle("loom_layer_new", kind.encode(), a)

    def __del__(self):
        if getattr(self, "_handle", None) and lib is not None:
            lib.loom_layer_release(self._handle)
            self._handle = None


class layers:
    """Built-in layers by Keras name and arguments: layers.Dense(4, activation="relu")."""

    @staticmethod
    def Dense(units, **config): return _Layer("Dense", units=units, **config)
    @staticmethod
    def Conv2D(filters, kernel_size, **config): return _Layer("Conv2D", filters=filters, kernel_size=kernel_size, **config)
    @staticmethod
    def Flatten(**config): return _Layer("Flatten", **config)
    @staticmethod
    def Dropout(rate, **config): return _Layer("Dropout", rate=rate, **config)
    @staticmethod
    def MaxPool2D(**config): return _Layer("MaxPool2D", **config)
    @staticmethod
    def BatchNormalization(**config): return _Layer("BatchNormalization", **config)
    @staticmethod
    def Activation(activation, **config): return _Layer("Activation", activation=activation, **config)


class _Optimizer:
    def __init__(self, name, **config):
        with _Attrs(config) as a:
            self._handle = out_handle("loom_optimizer_new", name.encode(), a)

    def __del__(self):
        if getattr(self, "_handle", None) and lib is not None:
            lib.loom_optimizer_release(self._handle)
            self._handle = None

    def apply_gradients(self, grads_and_vars):
        pairs = list(grads_and_vars)
        grads = handle_array(g._handle if g is not None else None for g, _ in pairs)
        variables = handle_array(v._handle for _, v in pairs)
        call("loom_optimizer_apply_gradients", self._handle, grads, variables, len(pairs))


class optimizers:
    @staticmethod
    def SGD(**config): return _Optimizer("sgd", **config)
    @staticmethod
    def Adam(**config): return _Optimizer("adam", **config)
    @staticmethod
    def AdamW(**config): return _Optimizer("adamw", **config)
    @staticmethod
    def RMSprop(**config): return _Optimizer("rmsprop", **config)


class Model:
    """A model: compile / fit / evaluate / predict / save and load weights (safetensors, or Keras'
    HDF5 layout for .h5 paths) / export_onnx. Sequential builds one layer by layer; import_onnx
    makes one from an ONNX file."""

    def __init__(self, _handle):
        self._handle = _handle

    def __del__(self):
        if getattr(self, "_handle", None) and lib is not None:
            lib.loom_model_release(self._handle)
            self._handle = None

    def __call__(self, x, training=False):
        return Tensor(out_handle("loom_model_call", self._handle, as_tensor(x)._handle, int(training)))

    @property
    def trainable_variables(self):
        count = ctypes.c_int32()
        call("loom_model_weight_count", self._handle, ctypes.byref(count))
        handles = (ctypes.c_void_p * max(1, count.value))()
        call("loom_model_trainable_variables", self._handle, handles, count.value, ctypes.byref(count))
        return [Variable(_handle=handles[i]) for i in range(count.value)]

    def compile(self, optimizer="sgd", loss="mse", metrics=(), optimizer_config=None, loss_config=None):
        names = (ctypes.c_char_p * max(1, len(metrics)))(*[m.encode() for m in metrics])
        with _Attrs(optimizer_config) as opt, _Attrs(loss_config) as lc:
            call("loom_model_compile", self._handle, optimizer.encode(), opt, loss.encode(), lc, names, len(metrics))
        self._metrics = ["loss"] + list(metrics)

    def fit(self, x, y, epochs=1, batch_size=32, validation_split=0.0, shuffle=True, seed=None, verbose=0,
            on_epoch_end=None):
        """Trains; returns the per-epoch training losses. on_epoch_end(epoch, logs) may return True to stop."""
        config = {"epochs": epochs, "batch_size": batch_size, "validation_split": float(validation_split),
                  "shuffle": shuffle, "verbose": verbose}
        if seed is not None:
            config["seed"] = seed
        errors = []

        def bridge(_user, epoch, names, values, count):
            try:
                logs = {names[i].decode(): values[i] for i in range(count)}
                return 1 if on_epoch_end and on_epoch_end(epoch, logs) else 0
            except Exception as e:  # never let a Python exception unwind through C
                errors.append(e)
                return 1

        callback = EPOCH_CALLBACK(bridge)
        history = (ctypes.c_double * max(1, epochs))()
        ran = ctypes.c_int32()
        with _Attrs(config) as a:
            call("loom_model_fit", self._handle, as_tensor(x)._handle, as_tensor(y)._handle, a, callback, None,
                 history, epochs, ctypes.byref(ran))
        if errors:
            raise errors[0]
        return list(history[: ran.value])

    def evaluate(self, x, y, batch_size=32):
        values = (ctypes.c_double * 16)()
        count = ctypes.c_int32()
        call("loom_model_evaluate", self._handle, as_tensor(x)._handle, as_tensor(y)._handle, batch_size, values, 16,
             ctypes.byref(count))
        names = []
        for i in range(count.value):
            buffer = ctypes.create_string_buffer(64)
            call("loom_model_metric_name", self._handle, i, buffer, 64)
            names.append(buffer.value.decode())
        return {names[i]: values[i] for i in range(count.value)}

    def predict(self, x, batch_size=32):
        return Tensor(out_handle("loom_model_predict", self._handle, as_tensor(x)._handle, batch_size))

    def save_weights(self, path):
        call("loom_model_save_weights", self._handle, str(path).encode())

    def load_weights(self, path, strict=True):
        call("loom_model_load_weights", self._handle, str(path).encode(), int(strict))

    def export_onnx(self, path, opset=0):
        """Writes the built model as an ONNX file (opset 0: the oldest loom writes)."""
        call("loom_onnx_export", self._handle, str(path).encode(), opset)


class Sequential(Model):
    """Keras' Sequential: layers added in order."""

    def __init__(self, layer_list=(), input_shape=None, name=None):
        dims, rank = int64_array(input_shape or ())
        super().__init__(out_handle("loom_sequential_new", dims if input_shape is not None else None, rank,
                                    name.encode() if name else None))
        for layer in layer_list:
            self.add(layer)

    def add(self, layer):
        call("loom_sequential_add", self._handle, layer._handle)


def import_onnx(path):
    """A functional Model of an ONNX file's graph with its weights, inputs in the file's layout."""
    return Model(out_handle("loom_onnx_import", str(path).encode()))
