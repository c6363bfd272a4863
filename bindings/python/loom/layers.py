"""Layers by Keras name (Dense, Conv2D, MaxPool2D, ...), symbolic inputs for functional models
(``loom.Input``), and ``Layer`` to subclass in Python.

Calling a layer on a tensor (or NumPy array, list) computes its output; calling it on symbolic
tensors (``loom.Input(shape)``) builds a functional model's graph (loom_layer_apply).

A Python subclass of ``Layer`` overrides ``build(input_shape)`` (creating weights with
``self.add_weight``) and ``call(inputs, training=False)`` (written with loom ops, so gradients
flow). It becomes a loom layer type of its own (loom_register_layer_type, under the class name)
on first use, so that it works in Sequential and functional models, in ``fit`` and in saved
model files; ``get_config()`` (by default the arguments ``__init__`` was called with) and
``from_config`` rebuild it when a model file is loaded. Layers assigned as attributes (also in
lists) are tracked as sublayers: their weights are the layer's.
"""
import ctypes
import functools
import inspect
import itertools
import json
import re
import threading

from . import _core, _ffi, initializers, mixed_precision, regularizers
from ._autograd import Variable, _adopt_borrowed, new_reference
from ._core import Tensor, _wrap, np
from ._ffi import F, P, check

__all__ = ["Layer", "InputLayer", "Input", "SymbolicTensor", "Dense", "Conv2D", "MaxPool2D", "MaxPooling2D",
           "AvgPool2D", "AveragePooling2D", "GlobalAvgPool2D", "GlobalAveragePooling2D", "Flatten", "Reshape",
           "Dropout", "Activation", "ReLU", "Softmax", "BatchNormalization", "Concatenate", "Add", "Subtract",
           "Multiply", "Average", "Maximum", "Minimum"]

_byref = ctypes.byref
_c_void_p = ctypes.c_void_p


def _layer_name_of(h):
    return _ffi.read_string(F.loom_layer_name, h, where="loom.layers.Layer.name", size=128)


def _snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


_name_counts = {}
_name_lock = threading.Lock()


def _unique_name(base):
    with _name_lock:
        n = _name_counts.get(base, 0)
        _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _weights_of(h, where):
    """The layer's variables (loom_layer_weight), with their trainability."""
    count = ctypes.c_int32()
    check(F.loom_layer_weight_count(h, _byref(count)), where)
    out = []
    for i in range(count.value):
        vh = _c_void_p()
        check(F.loom_layer_weight(h, i, _byref(vh)), where)
        out.append(Variable(_handle=vh, trainable=None))
    if out:
        trainable = _trainable_names(h, where)
        for v in out:
            v._trainable = v.name in trainable
    return out


def _trainable_names(h, where):
    """Names of the trainable weights of layer `h` (through a Sequential model holding it: the
    C ABI says which variables are trainable for models only)."""
    mh = _c_void_p()
    check(F.loom_sequential_new(None, 0, None, _byref(mh)), where)
    try:
        check(F.loom_sequential_add(mh, h), where)
        count = ctypes.c_int32()
        check(F.loom_model_weight_count(mh, _byref(count)), where)
        handles = (P * max(1, count.value))()
        n = ctypes.c_int32()
        check(F.loom_model_trainable_variables(mh, handles, max(1, count.value), _byref(n)), where)
        names = set()
        for i in range(n.value):
            v = Variable(_handle=_c_void_p(handles[i]), trainable=True)
            names.add(v.name)
        return names
    finally:
        F.loom_model_release(mh)


# ---------------------------------------------------------------------------------------------
# Symbolic tensors (functional models)
# ---------------------------------------------------------------------------------------------
class SymbolicTensor:
    """A symbolic tensor of a functional model (keras.KerasTensor): made by ``loom.Input`` and
    by calling layers on symbolic tensors. ``shape`` has None for the batch axis."""

    __slots__ = ("_sh", "_layers", "_name", "_node", "__weakref__")

    def __init__(self, handle, layers=(), name=None, node=None):
        self._sh = handle
        self._layers = tuple(layers)
        self._name = name
        self._node = node  # (layer, input symbolic tensors, output index, several outputs); None for an Input

    def __del__(self, _release=F.loom_symbolic_release):
        h = getattr(self, "_sh", None)
        if h is not None:
            self._sh = None
            _release(h)

    @property
    def shape(self):
        dims = (ctypes.c_int64 * 16)()
        rank = ctypes.c_int32()
        check(F.loom_symbolic_shape(self._sh, dims, 16, _byref(rank)), "loom.SymbolicTensor.shape")
        return tuple(None if d == -1 else d for d in dims[:rank.value])

    @property
    def dtype(self):
        code = ctypes.c_int32()
        check(F.loom_symbolic_dtype(self._sh, _byref(code)), "loom.SymbolicTensor.dtype")
        return _core.DTYPES[code.value]

    @property
    def name(self):
        return self._name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<loom.SymbolicTensor shape={self.shape} dtype={self.dtype}" + (
            f" name={self._name!r}>" if self._name else ">")

    def __add__(self, other):
        return Add()([self, other])

    def __sub__(self, other):
        return Subtract()([self, other])

    def __mul__(self, other):
        return Multiply()([self, other])

    def __hash__(self):
        return id(self)


def Input(shape=None, dtype="float32", name=None, batch_size=None, batch_shape=None):
    """A symbolic input of a functional model (keras.Input): `shape` without the batch axis (None
    for a dimension that varies), its dtype and an optional name."""
    where = "loom.Input"
    if batch_shape is not None:
        shape = tuple(batch_shape)[1:]
    if shape is None:
        raise TypeError(f"{where}: shape is required (the input's shape without the batch axis)")
    if _core._is_int(shape):
        shape = (shape,)
    dims = [-1 if d is None else d for d in shape]
    dims = _core._int_list(dims, where, "shape")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"{where}: name must be a string, got {type(name).__name__}")
    arr, rank = _ffi.int64_array(dims)
    out = _c_void_p()
    check(F.loom_input_new(arr, rank, _core.dtype_code(dtype, where), name.encode() if name else None, _byref(out)),
          where)
    return SymbolicTensor(out, (), name)


def _layer_input(value, where, arg):
    """A layer's or model's input as a tensor; NumPy float64 arrays become float32 (the dtype of
    the weights), as Keras converts them."""
    if np is not None and isinstance(value, np.ndarray) and value.dtype == np.float64:
        value = value.astype(np.float32)
    return _core.tensor(value, None, where, arg)


def _is_symbolic(x):
    if isinstance(x, SymbolicTensor):
        return True
    if isinstance(x, (list, tuple)) and x and all(isinstance(e, SymbolicTensor) for e in x):
        return True
    return False


def _is_many(x):
    return isinstance(x, (list, tuple)) and bool(x) and any(
        isinstance(e, (Tensor, SymbolicTensor)) or (np is not None and isinstance(e, np.ndarray)) for e in x)


# ---------------------------------------------------------------------------------------------
# Custom layer types written in Python (loom_register_layer_type)
# ---------------------------------------------------------------------------------------------
_states = {}  # state key -> Python layer: C may call it as long as its layer lives
_state_keys = itertools.count(1)
_types = {}  # type key -> class
_type_keys = itertools.count(1)
_registered = {}  # class -> (type name, type key)
_known_classes = {}  # class name -> the last Layer subclass of that name (for load_model)
_creating = threading.local()  # .obj: a Python layer being attached to its new C layer
_capture = threading.local()  # .objects: layers that `create` made from configs (load_model)


def _cb_create(type_user, config_json, state_out):
    cls = _types.get(type_user)
    try:
        obj = getattr(_creating, "obj", None)
        if obj is not None and isinstance(obj, cls):
            _creating.obj = None
        else:
            config = json.loads(config_json.decode("utf-8")) if config_json else {}
            obj = cls.from_config(config)
            captured = getattr(_capture, "objects", None)
            if captured is not None:
                captured.append(obj)
        key = next(_state_keys)
        _states[key] = obj
        obj.__dict__["_state_key"] = key
        state_out[0] = key
        return 0
    except BaseException as e:  # noqa: BLE001 - nothing may unwind through C
        return _ffi.store_callback_error(e, f"{getattr(cls, '__name__', 'layer')}.from_config")


def _cb_build(state, self_h, shape_ptr, rank):
    obj = _states.get(state)
    try:
        shape = tuple(None if shape_ptr[i] == -1 else shape_ptr[i] for i in range(rank))
        with _CallbackSelf(obj, self_h):
            obj._track_pending()
            obj.build(shape)
            obj.__dict__["built"] = True
        return 0
    except BaseException as e:  # noqa: BLE001
        return _ffi.store_callback_error(e, f"{type(obj).__name__}.build")


def _cb_call(state, self_h, inputs, n_inputs, training, output):
    obj = _states.get(state)
    try:
        xs = _adopt_borrowed(inputs, n_inputs)
        with _CallbackSelf(obj, self_h):
            obj._track_pending()
            y = obj._run_call(xs[0] if n_inputs == 1 else xs, bool(training))
        t = _core.tensor(y, None, f"{type(obj).__name__}.call", "the returned value")
        output[0] = new_reference(t, f"{type(obj).__name__}.call")
        return 0
    except BaseException as e:  # noqa: BLE001
        return _ffi.store_callback_error(e, f"{type(obj).__name__}.call")


def _cb_get_config(state, buffer, capacity, needed):
    obj = _states.get(state)
    try:
        text = obj._config_json(strict=True).encode("utf-8")
        needed[0] = len(text) + 1
        if buffer and capacity >= len(text) + 1:
            ctypes.memmove(buffer, text + b"\0", len(text) + 1)
        return 0
    except BaseException as e:  # noqa: BLE001
        return _ffi.store_callback_error(e, f"{type(obj).__name__}.get_config")


def _cb_destroy(state):
    obj = _states.pop(state, None)
    if obj is not None:
        obj.__dict__.pop("_state_key", None)


# The callbacks live as long as the process: C layers may call them until exit.
_CREATE = _ffi.LAYER_CREATE(_cb_create)
_BUILD = _ffi.LAYER_BUILD(_cb_build)
_CALL = _ffi.LAYER_CALL(_cb_call)
_GET_CONFIG = _ffi.LAYER_GET_CONFIG(_cb_get_config)
_DESTROY = _ffi.DESTROY(_cb_destroy)


def type_name_of(cls):
    """The loom layer type name of a Python Layer class (its ``_loom_type_name`` or class name)."""
    return cls.__dict__.get("_loom_type_name") or cls.__name__


def register(cls, name=None):
    """Registers the Python layer class `cls` as a loom layer type (done on first use; load_model
    does it for every known subclass). Returns the type name."""
    if cls in _registered and name is None:
        return _registered[cls][0]
    type_name = name or type_name_of(cls)
    key = next(_type_keys)
    _types[key] = cls
    t = _ffi.LayerType()
    t.struct_size = ctypes.sizeof(_ffi.LayerType)
    t.create = _CREATE
    t.build = _BUILD
    t.call = _CALL
    t.get_config = _GET_CONFIG
    t.destroy = _DESTROY
    t.type_user = key
    check(F.loom_register_layer_type(type_name.encode(), _byref(t)), f"loom.layers.register({cls.__name__})")
    _registered[cls] = (type_name, key)
    return type_name


def register_all(custom_objects=None):
    """Registers every known Python layer class (and `custom_objects`: {name: class})."""
    for cls in list(_known_classes.values()):
        if cls._is_custom_class() and cls not in _registered:
            register(cls)
    for name, cls in (custom_objects or {}).items():
        if isinstance(cls, type) and issubclass(cls, Layer) and cls._is_custom_class():
            if _registered.get(cls, (None,))[0] != name:
                register(cls, name)


class _CallbackSelf:
    """Lets a Python layer use the `self` handle C passed to its callback."""

    def __init__(self, obj, handle):
        self.obj = obj
        self.handle = _c_void_p(handle)

    def __enter__(self):
        d = self.obj.__dict__
        self.previous = d.get("_cb_self")
        d["_cb_self"] = self.handle

    def __exit__(self, *exc):
        self.obj.__dict__["_cb_self"] = self.previous
        return False


def _wrap_init(cls):
    init = cls.__dict__.get("__init__")
    if init is None or getattr(init, "_loom_wrapped", False):
        return
    try:
        signature = inspect.signature(init)
    except (TypeError, ValueError):
        return

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        d = self.__dict__
        if "_init_config" not in d:  # the most derived __init__ records the arguments
            config = {}
            try:
                bound = signature.bind(self, *args, **kwargs)
                for name, value in list(bound.arguments.items())[1:]:
                    kind = signature.parameters[name].kind
                    if kind is inspect.Parameter.VAR_KEYWORD:
                        config.update(value)
                    elif kind is inspect.Parameter.VAR_POSITIONAL:
                        if value:
                            config = None
                            break
                    else:
                        config[name] = value
            except TypeError:
                config = None
            d["_init_config"] = config
        init(self, *args, **kwargs)

    __init__._loom_wrapped = True
    cls.__init__ = __init__


# ---------------------------------------------------------------------------------------------
# Layer
# ---------------------------------------------------------------------------------------------
class Layer:
    """Base of every layer (keras.layers.Layer); subclass it to write a layer in Python.

        class Scale(loom.layers.Layer):
            def build(self, input_shape):
                self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
            def call(self, x, training=False):
                return x * self.w
    """

    _loom_builtin = False  # set by the built-in layer classes
    _takes_list = False  # merge layers: a list of nested lists is a list of inputs

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("_loom_builtin", False) and not cls.__module__.startswith("loom."):
            _known_classes[cls.__name__] = cls
            _wrap_init(cls)

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None, **kwargs):
        d = self.__dict__
        d.setdefault("_lh", None)
        d.setdefault("_tracked", [])
        d.setdefault("_c_tracked", set())
        d.setdefault("_cb_self", None)
        d.setdefault("built", False)
        unknown = [k for k in kwargs if k not in ("batch_input_shape", "batch_size", "autocast", "dynamic")]
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown argument(s) {', '.join(map(repr, unknown))}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a string, got {type(name).__name__}")
        if trainable is not True:
            if trainable is False:
                raise NotImplementedError(f"{type(self).__name__}: trainable=False (freezing a layer) is not in loom's "
                                          "C ABI")
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if "batch_input_shape" in kwargs and input_shape is None:
            input_shape = tuple(kwargs["batch_input_shape"])[1:]
        d["_input_shape"] = None if input_shape is None else tuple(
            [input_shape] if _core._is_int(input_shape) else input_shape)
        d["_dtype"] = dtype
        if name is None and self._is_custom():
            name = _unique_name(_snake(type(self).__name__))
        d["_name"] = name

    # -- what kind of layer -------------------------------------------------------------------
    @classmethod
    def _is_custom_class(cls):
        return not cls._loom_builtin and cls.call is not Layer.call

    def _is_custom(self):
        return type(self)._is_custom_class()

    def _ensure_init(self):
        d = self.__dict__
        if "_name" not in d:
            raise RuntimeError(f"{type(self).__name__}: __init__ must call super().__init__() before the layer is used")

    # -- attributes: track sublayers -----------------------------------------------------------
    def __setattr__(self, name, value):
        if not name.startswith("_") and name != "built":
            layers = []
            if isinstance(value, Layer) and value is not self:
                layers = [value]
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
                layers = list(value)
            if layers:
                tracked = self.__dict__.setdefault("_tracked", [])
                for layer in layers:
                    if not any(layer is t for t in tracked):
                        tracked.append(layer)
                if self.__dict__.get("_lh") is not None or self.__dict__.get("_cb_self") is not None:
                    self._track_pending()
        object.__setattr__(self, name, value)

    def _self_handle(self):
        d = self.__dict__
        h = d.get("_lh")
        return h if h is not None else d.get("_cb_self")

    def _track_pending(self):
        if not self._is_custom():
            return
        h = self._self_handle()
        if h is None:
            return
        d = self.__dict__
        done = d.setdefault("_c_tracked", set())
        for sub in d.get("_tracked", []):
            if id(sub) in done:
                continue
            sh = sub._layer_handle()
            check(F.loom_layer_track(h, sh), f"{type(self).__name__} (tracking {type(sub).__name__})")
            done.add(id(sub))

    # -- the C layer -------------------------------------------------------------------------
    def _layer_handle(self):
        """The loom_layer handle of this layer (made on first use for Python layers)."""
        self._ensure_init()
        h = self.__dict__.get("_lh")
        if h is not None:
            return h
        cb = self.__dict__.get("_cb_self")
        if cb is not None:
            return cb
        if self._is_custom():
            return self._create_custom()
        raise RuntimeError(f"{type(self).__name__} has no loom layer")

    def _create_custom(self):
        cls = type(self)
        type_name = register(cls)
        config = self._config_json(strict=False)
        h = _c_void_p()
        _creating.obj = self
        try:
            status = F.loom_layer_new_custom(type_name.encode(), config.encode(), self._name.encode(), _byref(h))
        finally:
            _creating.obj = None
        if status:
            _ffi.raise_for(status, f"{cls.__name__} (creating its loom layer)")
        _ffi.raise_pending()
        self.__dict__["_lh"] = h
        self._track_pending()
        return h

    def _adopt_handle(self, h):
        """Gives this (C-created) layer its own handle `h`."""
        self.__dict__["_lh"] = h

    def __del__(self, _release=F.loom_layer_release):
        try:
            h = self.__dict__.get("_lh")
        except Exception:  # noqa: BLE001 - a failed construction
            return
        if h is not None:
            self.__dict__["_lh"] = None
            _release(h)

    # -- Keras API ---------------------------------------------------------------------------
    @property
    def name(self):
        n = self.__dict__.get("_name")
        if n:
            return n
        h = self._self_handle()
        if h is None:
            h = self._layer_handle()
        return _layer_name_of(h)

    @property
    def dtype(self):
        return self.__dict__.get("_dtype") or "float32"

    @property
    def trainable(self):
        return True

    @trainable.setter
    def trainable(self, value):
        if not value:
            raise NotImplementedError(f"{type(self).__name__}.trainable = False: freezing a layer is not in loom's C ABI")

    def build(self, input_shape):
        """Creates the weights (override in subclasses; the default creates none)."""

    def call(self, inputs, training=False):
        """Computes the output (override in subclasses)."""
        raise NotImplementedError(f"{type(self).__name__}.call is not implemented")

    def _run_call(self, inputs, training):
        takes_training = self.__dict__.get("_call_takes_training")
        if takes_training is None:
            try:
                params = inspect.signature(self.call).parameters
                takes_training = "training" in params or any(
                    p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
            except (TypeError, ValueError):
                takes_training = True
            self.__dict__["_call_takes_training"] = takes_training
        return self.call(inputs, training=training) if takes_training else self.call(inputs)

    def __call__(self, inputs, *args, training=False, **kwargs):
        if args:
            training = args[0]
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__call__: unknown argument(s) {', '.join(map(repr, kwargs))}")
        if _is_symbolic(inputs):
            return self._apply_symbolic(inputs)
        if isinstance(inputs, (list, tuple)) and any(isinstance(e, SymbolicTensor) for e in inputs):
            raise TypeError(f"{type(self).__name__}: inputs mix symbolic tensors and values")
        where = f"{type(self).__name__}.__call__"
        if _is_many(inputs) or (self._takes_list and isinstance(inputs, (list, tuple)) and len(inputs) > 1 and all(
                isinstance(e, (list, tuple)) for e in inputs)):
            xs = [_layer_input(e, where, f"inputs[{i}]") for i, e in enumerate(inputs)]
            return self._call_many(xs, bool(training))
        return self._call_one(_layer_input(inputs, where, "inputs"), bool(training))

    def _call_one(self, x, training):
        where = f"{type(self).__name__}.__call__"
        h = self._layer_handle()
        out = _c_void_p()
        status = F.loom_layer_call(h, x._h, 1 if training else 0, _byref(out))
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()
        self.__dict__["built"] = True
        return _wrap(out)

    def _call_many(self, xs, training):
        if not self._is_custom():
            raise TypeError(f"{type(self).__name__} takes one input, got {len(xs)}")
        if not self.__dict__.get("built"):
            # build through C (loom_layer_call takes one tensor): on symbolic inputs of these shapes
            symbols = [Input(shape=tuple(x.shape[1:]), dtype=x.dtype) for x in xs]
            self._apply_symbolic(symbols)
        return _core.tensor(self._run_call(xs, training), None, f"{type(self).__name__}.call", "the returned value")

    def _apply_symbolic(self, inputs):
        where = f"{type(self).__name__}.__call__ (symbolic)"
        symbols = [inputs] if isinstance(inputs, SymbolicTensor) else list(inputs)
        h = self._layer_handle()
        ins = _ffi.handle_array(s._sh for s in symbols)
        capacity = 16
        outs = (P * capacity)()
        count = ctypes.c_int32()
        status = F.loom_layer_apply(h, ins, len(symbols), outs, capacity, _byref(count))
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()
        self.__dict__["built"] = True
        history = []
        seen = set()
        for s in symbols:
            for layer in s._layers:
                if id(layer) not in seen:
                    seen.add(id(layer))
                    history.append(layer)
        if id(self) not in seen:
            history.append(self)
        node = (self, tuple(symbols), count.value > 1)
        results = [SymbolicTensor(_c_void_p(outs[i]), history, node=node + (i,)) for i in range(count.value)]
        return results[0] if len(results) == 1 else results

    def add_weight(self, name=None, shape=None, dtype=None, initializer=None, regularizer=None, trainable=True,
                   **kwargs):
        """Creates a weight of this (Python) layer: `initializer` a Keras name ("glorot_uniform",
        "zeros", ...), a loom.initializers object or a callable ``f(shape, dtype)``. Returns the
        Variable (store it as an attribute and use it in ``call``)."""
        where = f"{type(self).__name__}.add_weight"
        if kwargs:
            raise TypeError(f"{where}: unknown argument(s) {', '.join(map(repr, kwargs))}")
        if not self._is_custom():
            raise TypeError(f"{where}: weights are added to Python layers (subclasses of loom.layers.Layer)")
        if regularizer is not None:
            raise NotImplementedError(f"{where}: regularizer: loom's C ABI has no regularizer for custom layers' "
                                      "weights (add the penalty to the loss)")
        if name is None:
            name = f"weight_{len(self.__dict__.setdefault('_own_weight_names', []))}"
        if not isinstance(name, str):
            raise TypeError(f"{where}: name must be a string, got {type(name).__name__}")
        if shape is None:
            shape = ()
        if _core._is_int(shape):
            shape = (shape,)
        dims = _core._int_list([d for d in shape], where, "shape")
        code = _core.dtype_code(dtype or "float32", where)
        if initializer is None:
            init_name, init_fn = ("glorot_uniform" if code in (_core.F32, _core.F64, _core.F16, _core.BF16)
                                  else "zeros"), None
        else:
            init_name = initializers.get(initializer)
            init_fn = None
            if init_name is None:
                if not callable(initializer):
                    raise TypeError(f"{where}: initializer must be a name, a loom.initializers object or a callable, "
                                    f"got {type(initializer).__name__}")
                init_name, init_fn = "zeros", initializer
        h = self._self_handle()
        if h is None:
            h = self._layer_handle()
        arr, rank = _ffi.int64_array(dims)
        vh = _c_void_p()
        check(F.loom_layer_add_weight(h, name.encode(), arr, rank, code, init_name.encode(), 1 if trainable else 0,
                                      _byref(vh)), where)
        self.__dict__.setdefault("_own_weight_names", []).append(name)
        v = Variable(_handle=vh, trainable=bool(trainable))
        if init_fn is not None:
            v.assign(init_fn(tuple(dims), _core.DTYPES[code]))
        return v

    @property
    def weights(self):
        """The layer's variables (its own and its sublayers'), in creation order."""
        h = self._self_handle()
        if h is None:
            if self._is_custom() and not self.__dict__.get("built"):
                return []
            h = self._layer_handle()
        return _weights_of(h, f"{type(self).__name__}.weights")

    variables = weights

    @property
    def trainable_weights(self):
        return [v for v in self.weights if v.trainable]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        return [v for v in self.weights if not v.trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """Copies of the weights' values (NumPy arrays, or Tensors without NumPy)."""
        return [v.numpy() if np is not None else v.read_value() for v in self.weights]

    def set_weights(self, weights):
        """Assigns values in the order of ``weights`` (count and shapes must match)."""
        where = f"{type(self).__name__}.set_weights"
        variables = self.weights
        weights = list(weights)
        if len(weights) != len(variables):
            raise ValueError(f"{where}: the layer has {len(variables)} weights, got {len(weights)} values")
        values = []
        for i, (v, w) in enumerate(zip(variables, weights)):
            t = _core.tensor(w, v.dtype, where, f"weights[{i}]")
            if tuple(t.shape) != tuple(v.shape):
                raise ValueError(f"{where}: weights[{i}] has shape {tuple(t.shape)}, the weight "
                                 f"'{v.name}' has shape {tuple(v.shape)}")
            values.append(t)
        for v, t in zip(variables, values):
            v.assign(t)

    def count_params(self):
        return sum(v.size for v in self.weights)

    @property
    def layers(self):
        """The tracked sublayers (Python layers)."""
        return list(self.__dict__.get("_tracked", []))

    def get_config(self):
        """The arguments that rebuild the layer with from_config (by default those __init__ was
        called with, when they are JSON values) and its name."""
        config = {}
        init = self.__dict__.get("_init_config")
        if init:
            config.update(init)
        config["name"] = self.name
        return config

    def _config_json(self, strict):
        try:
            return json.dumps(self.get_config())
        except (TypeError, ValueError) as e:
            if strict:
                raise TypeError(f"{type(self).__name__}.get_config must return JSON values (numbers, strings, lists, "
                                f"dicts) to save the layer: {e}") from None
            return "{}"

    @classmethod
    def from_config(cls, config):
        """The layer rebuilt from get_config()'s result."""
        config = dict(config)
        try:
            params = inspect.signature(cls.__init__).parameters
            takes_name = "name" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        except (TypeError, ValueError):
            takes_name = True
        name = None if takes_name else config.pop("name", None)
        obj = cls(**config)
        if name:
            obj.__dict__["_name"] = name
        return obj

    def __repr__(self):
        try:
            return f"<loom.layers.{type(self).__name__} name={self.name!r}>"
        except Exception:  # noqa: BLE001 - repr never fails
            return f"<loom.layers.{type(self).__name__}>"


# ---------------------------------------------------------------------------------------------
# Built-in layers
# ---------------------------------------------------------------------------------------------
def _activation_name(activation, where):
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation
    name = getattr(activation, "__name__", None)
    if callable(activation) and isinstance(name, str):
        return name
    raise TypeError(f"{where}: activation must be a name such as 'relu' (or a loom op function), got "
                    f"{type(activation).__name__}")


def _init_name(value, where, arg):
    name = initializers.get(value)
    if name is None:
        raise TypeError(f"{where}: {arg} must be an initializer name or a loom.initializers object for built-in layers, "
                        f"got {type(value).__name__}")
    return name


def _pair(value, where, arg):
    if _core._is_int(value):
        return int(value)
    return _core._int_list(value, where, arg)


class _Builtin(Layer):
    """A layer of one of loom's built-in types (loom_layer_new)."""

    _loom_builtin = True
    _type = None

    def __init__(self, config, name=None, input_shape=None, **kwargs):
        Layer.__init__(self, name=name, input_shape=input_shape, **kwargs)
        where = f"loom.layers.{type(self).__name__}"
        if name is not None:
            config["name"] = name
        if kwargs.get("dtype") is not None:
            config["dtype"] = mixed_precision.policy_name(kwargs["dtype"], where)
        self.__dict__["_config"] = {k: v for k, v in config.items() if v is not None}
        attrs = _core.config_attrs(self._config, where)
        h = _c_void_p()
        check(F.loom_layer_new(self._type.encode(), None if attrs is None else attrs._h, _byref(h)), where)
        self.__dict__["_lh"] = h

    def get_config(self):
        config = dict(self.__dict__.get("_config", {}))
        config["name"] = self.name
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def _from_handle(cls, h, config=None):
        obj = cls.__new__(cls)
        d = obj.__dict__
        d.update(_lh=h, _tracked=[], _c_tracked=set(), _cb_self=None, built=True, _name=None, _input_shape=None,
                 _dtype=None, _config=dict(config or {}))
        return obj


class Dense(_Builtin):
    """keras.layers.Dense: activation(x @ kernel + bias)."""
    _loom_builtin = True
    _type = "Dense"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, name=None, **kwargs):
        where = "loom.layers.Dense"
        if not _core._is_int(units):
            raise TypeError(f"{where}: units must be an int, got {type(units).__name__}")
        config = {"units": int(units), "activation": _activation_name(activation, where), "use_bias": bool(use_bias),
                  "kernel_initializer": _init_name(kernel_initializer, where, "kernel_initializer"),
                  "bias_initializer": _init_name(bias_initializer, where, "bias_initializer")}
        config.update(_regularizer(kernel_regularizer, where))
        super().__init__(config, name=name, **kwargs)


def _regularizer(value, where):
    if value is None:
        return {}
    if isinstance(value, regularizers.Regularizer):
        return {"l1": value.l1 or None, "l2": value.l2 or None}
    if isinstance(value, str) and value in ("l1", "l2"):
        return {value: 0.01}
    raise TypeError(f"{where}: kernel_regularizer must be a loom.regularizers object, got {type(value).__name__}")


class Conv2D(_Builtin):
    """keras.layers.Conv2D on NHWC inputs."""
    _loom_builtin = True
    _type = "Conv2D"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", dilation_rate=(1, 1), groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, name=None, **kwargs):
        where = "loom.layers.Conv2D"
        if not _core._is_int(filters):
            raise TypeError(f"{where}: filters must be an int, got {type(filters).__name__}")
        if not isinstance(padding, str):
            raise TypeError(f"{where}: padding must be 'valid' or 'same', got {type(padding).__name__}")
        config = {"filters": int(filters), "kernel_size": _pair(kernel_size, where, "kernel_size"),
                  "strides": _pair(strides, where, "strides"), "padding": padding.lower(),
                  "dilation_rate": _pair(dilation_rate, where, "dilation_rate"), "groups": groups,
                  "activation": _activation_name(activation, where), "use_bias": bool(use_bias),
                  "kernel_initializer": _init_name(kernel_initializer, where, "kernel_initializer"),
                  "bias_initializer": _init_name(bias_initializer, where, "bias_initializer")}
        config.update(_regularizer(kernel_regularizer, where))
        super().__init__(config, name=name, **kwargs)


class MaxPool2D(_Builtin):
    """keras.layers.MaxPool2D (NHWC)."""
    _loom_builtin = True
    _type = "MaxPool2D"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", name=None, **kwargs):
        where = f"loom.layers.{type(self).__name__}"
        if not isinstance(padding, str):
            raise TypeError(f"{where}: padding must be 'valid' or 'same', got {type(padding).__name__}")
        config = {"pool_size": _pair(pool_size, where, "pool_size"),
                  "strides": None if strides is None else _pair(strides, where, "strides"), "padding": padding.lower()}
        super().__init__(config, name=name, **kwargs)


MaxPooling2D = MaxPool2D


class AvgPool2D(MaxPool2D):
    """keras.layers.AveragePooling2D (NHWC)."""
    _loom_builtin = True
    _type = "AvgPool2D"


AveragePooling2D = AvgPool2D


class GlobalAvgPool2D(_Builtin):
    """keras.layers.GlobalAveragePooling2D: the mean over height and width (NHWC -> NC)."""
    _loom_builtin = True
    _type = "GlobalAvgPool2D"

    def __init__(self, name=None, keepdims=False, **kwargs):
        if keepdims:
            raise NotImplementedError("loom.layers.GlobalAvgPool2D: keepdims=True is not supported by loom's layer")
        super().__init__({}, name=name, **kwargs)


GlobalAveragePooling2D = GlobalAvgPool2D


class Flatten(_Builtin):
    """keras.layers.Flatten: (batch, ...) -> (batch, n)."""
    _loom_builtin = True
    _type = "Flatten"

    def __init__(self, name=None, **kwargs):
        super().__init__({}, name=name, **kwargs)


class Reshape(_Builtin):
    """keras.layers.Reshape: (batch, ...) -> (batch, *target_shape)."""
    _loom_builtin = True
    _type = "Reshape"

    def __init__(self, target_shape, name=None, **kwargs):
        where = "loom.layers.Reshape"
        super().__init__({"target_shape": _core._int_list(target_shape, where, "target_shape")}, name=name, **kwargs)


class Dropout(_Builtin):
    """keras.layers.Dropout: zeroes a fraction `rate` of the values in training (scaled)."""
    _loom_builtin = True
    _type = "Dropout"

    def __init__(self, rate, noise_shape=None, seed=None, name=None, **kwargs):
        where = "loom.layers.Dropout"
        if noise_shape is not None:
            raise NotImplementedError(f"{where}: noise_shape is not supported")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise TypeError(f"{where}: rate must be a number, got {type(rate).__name__}")
        super().__init__({"rate": float(rate), "seed": seed}, name=name, **kwargs)


class Activation(_Builtin):
    """keras.layers.Activation("relu")."""
    _loom_builtin = True
    _type = "Activation"

    def __init__(self, activation, name=None, **kwargs):
        super().__init__({"activation": _activation_name(activation, "loom.layers.Activation")}, name=name, **kwargs)


def ReLU(name=None, **kwargs):
    """keras.layers.ReLU (an Activation layer)."""
    return Activation("relu", name=name, **kwargs)


def Softmax(name=None, **kwargs):
    """keras.layers.Softmax over the last axis (an Activation layer)."""
    return Activation("softmax", name=name, **kwargs)


class BatchNormalization(_Builtin):
    """keras.layers.BatchNormalization over the last axis."""
    _loom_builtin = True
    _type = "BatchNormalization"

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, name=None, **kwargs):
        where = "loom.layers.BatchNormalization"
        if axis not in (-1, None):
            raise NotImplementedError(f"{where}: axis={axis!r}: loom normalises over the last axis only (axis=-1)")
        super().__init__({"momentum": float(momentum), "epsilon": float(epsilon), "center": bool(center),
                          "scale": bool(scale)}, name=name, **kwargs)


class _Merge(_Builtin):
    _loom_builtin = True
    _takes_list = True

    def __init__(self, name=None, **kwargs):
        super().__init__({}, name=name, **kwargs)

    def _call_many(self, xs, training):
        return self._merge(xs)

    def _call_one(self, x, training):
        raise TypeError(f"{type(self).__name__} takes a list of inputs")


class Concatenate(_Merge):
    """keras.layers.Concatenate(axis=-1)([a, b, ...])."""
    _loom_builtin = True
    _type = "Concatenate"

    def __init__(self, axis=-1, name=None, **kwargs):
        where = "loom.layers.Concatenate"
        if not _core._is_int(axis):
            raise TypeError(f"{where}: axis must be an int, got {type(axis).__name__}")
        _Builtin.__init__(self, {"axis": int(axis)}, name=name, **kwargs)

    def _merge(self, xs):
        from . import _api
        return _api.concat(xs, self._config.get("axis", -1))


class Add(_Merge):
    """keras.layers.Add()([a, b, ...]): the sum."""
    _loom_builtin = True
    _type = "Add"

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Subtract(_Merge):
    """keras.layers.Subtract()([a, b]): a - b."""
    _loom_builtin = True
    _type = "Subtract"

    def _merge(self, xs):
        if len(xs) != 2:
            raise ValueError(f"Subtract takes exactly 2 inputs, got {len(xs)}")
        return xs[0] - xs[1]


class Multiply(_Merge):
    """keras.layers.Multiply()([a, b, ...]): the product."""
    _loom_builtin = True
    _type = "Multiply"

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Average(_Merge):
    """keras.layers.Average()([a, b, ...]): the mean."""
    _loom_builtin = True
    _type = "Average"

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out / float(len(xs))


class Maximum(_Merge):
    """keras.layers.Maximum()([a, b, ...]): the elementwise maximum."""
    _loom_builtin = True
    _type = "Maximum"

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = _core.call_op(b"maximum", [out, x], None, 1, "loom.layers.Maximum")[0]
        return out


class Minimum(_Merge):
    """keras.layers.Minimum()([a, b, ...]): the elementwise minimum."""
    _loom_builtin = True
    _type = "Minimum"

    def _merge(self, xs):
        out = xs[0]
        for x in xs[1:]:
            out = _core.call_op(b"minimum", [out, x], None, 1, "loom.layers.Minimum")[0]
        return out


class InputLayer:
    """keras.layers.InputLayer: gives a Sequential model its input shape."""

    def __init__(self, input_shape=None, shape=None, dtype="float32", name=None, batch_size=None):
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise TypeError("loom.layers.InputLayer: input_shape is required")
        self.input_shape = tuple([shape] if _core._is_int(shape) else shape)
        self.dtype = dtype
        self.name = name


BUILTIN_TYPES = {"Dense": Dense, "Conv2D": Conv2D, "MaxPool2D": MaxPool2D, "AvgPool2D": AvgPool2D,
                 "GlobalAvgPool2D": GlobalAvgPool2D, "Flatten": Flatten, "Reshape": Reshape, "Dropout": Dropout,
                 "Activation": Activation, "BatchNormalization": BatchNormalization, "Concatenate": Concatenate,
                 "Add": Add, "Subtract": Subtract, "Multiply": Multiply, "Average": Average, "Maximum": Maximum,
                 "Minimum": Minimum}


def wrap_handle(h, type_name=None, config=None):
    """A Python layer object for a layer handle from a model (built-in class when the type is
    known, else a plain Layer)."""
    cls = BUILTIN_TYPES.get(type_name, _Opaque)
    return cls._from_handle(h, config)


class _Opaque(_Builtin):
    """A layer of a model whose type Python does not know (it works through its handle)."""
    _loom_builtin = True
    _type = None

    def __repr__(self):
        return f"<loom layer {self.name!r}>"
