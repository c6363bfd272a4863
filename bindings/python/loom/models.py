"""Models (Keras' keras.Model): functional models from symbolic inputs and outputs,
``Sequential``, subclassed models with ``call``; compile / fit / evaluate / predict, weights,
summaries, whole-model files and training checkpoints.

    inputs = loom.Input((28, 28, 1))
    x = loom.layers.Conv2D(8, 3, activation="relu")(inputs)
    outputs = loom.layers.Dense(10)(loom.layers.Flatten()(x))
    model = loom.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss=loom.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=3, batch_size=128, validation_split=0.1)
"""
import ctypes
import json
import os
import struct
import sys

from . import _core, _ffi, callbacks as callbacks_module, layers as layers_module, losses, metrics as metrics_module
from . import optimizers as optimizers_module
from ._autograd import Variable
from ._core import Tensor, _wrap, np
from ._ffi import F, P, check
from .layers import InputLayer, Layer, SymbolicTensor

__all__ = ["Model", "Sequential", "load_model", "save_model", "import_onnx"]

_byref = ctypes.byref
_c_void_p = ctypes.c_void_p


def _flat_symbols(value, where, arg):
    if isinstance(value, SymbolicTensor):
        return [value], False
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, SymbolicTensor) for v in value):
        return list(value), True
    raise TypeError(f"{where}: {arg} must be a symbolic tensor (loom.Input(...) or a layer's output on one) or a list "
                    f"of them, got {type(value).__name__}")


def _as_input(value, where, arg):
    """A model input or target as a tensor: NumPy float64 arrays become float32 (the model's
    dtype, as Keras does), small unsigned integer labels int64."""
    if np is not None and isinstance(value, np.ndarray):
        if value.dtype == np.float64:
            value = value.astype(np.float32)
    return _core.tensor(value, None, where, arg)


def _as_target(value, where, arg, loss_name):
    """A target as a tensor: integer labels as int64 for sparse cross-entropy (or an unknown
    loss), and as float32 for the other losses (mse on integer targets, say), as Keras does."""
    t = _as_input(value, where, arg)
    sparse = loss_name is None or "sparse" in loss_name
    if t.dtype in ("uint8", "int32", "int64", "bool"):
        if sparse and t.dtype != "int64":
            t = t.cast("int64")
        elif not sparse:
            t = t.cast("float32")
    return t


class _ModelOptimizer:
    """A compiled model's optimizer: ``learning_rate`` reads and sets the rate the next step uses."""

    def __init__(self, model, name, config):
        self._model = model
        self.name = name
        self._config = config

    @property
    def learning_rate(self):
        rate = ctypes.c_double()
        check(F.loom_model_get_learning_rate(self._model._model_handle(), _byref(rate)),
              "loom.Model.optimizer.learning_rate")
        return rate.value

    @learning_rate.setter
    def learning_rate(self, value):
        where = "loom.Model.optimizer.learning_rate"
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not (
                np is not None and isinstance(value, np.generic)):
            raise TypeError(f"{where}: the learning rate must be a number, got {type(value).__name__}")
        check(F.loom_model_set_learning_rate(self._model._model_handle(), float(value)), where)

    lr = learning_rate

    def get_config(self):
        config = dict(self._config)
        config["learning_rate"] = self.learning_rate
        return config

    def __repr__(self):
        return f"<loom optimizer {self.name!r} learning_rate={self.learning_rate}>"


class Model(Layer):
    """keras.Model: ``Model(inputs=..., outputs=...)`` (functional), or subclass it and define
    ``call(inputs, training=False)`` with layers created in ``__init__``."""

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        d = self.__dict__
        d.setdefault("_mh", None)
        d.setdefault("_stop", False)
        d.setdefault("_compiled_with", None)
        d.setdefault("_known_layers", [])
        d.setdefault("_n_io", None)
        d.setdefault("_multi_out", False)
        Layer.__init__(self, name=name, **kwargs)
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise TypeError("loom.Model: a functional model needs both inputs and outputs")
            self._build_functional(inputs, outputs, name)
        elif type(self) is Model:
            raise TypeError("loom.Model: give inputs= and outputs= (a functional model), or subclass loom.Model and "
                            "define call()")

    def _build_functional(self, inputs, outputs, name):
        where = "loom.Model"
        ins, _ = _flat_symbols(inputs, where, "inputs")
        outs, multi = _flat_symbols(outputs, where, "outputs")
        ih = _ffi.handle_array(s._sh for s in ins)
        oh = _ffi.handle_array(s._sh for s in outs)
        h = _c_void_p()
        status = F.loom_model_new(ih, len(ins), oh, len(outs), name.encode() if name else None, _byref(h))
        if status:
            _ffi.raise_for(status, where)
        d = self.__dict__
        d["_mh"] = h
        d["_multi_out"] = multi
        known = []
        seen = set()
        for s in outs:
            for layer in s._layers:
                if id(layer) not in seen:
                    seen.add(id(layer))
                    known.append(layer)
        d["_known_layers"] = known
        d["_inputs"] = ins
        d["_outputs"] = outs

    # -- handles -------------------------------------------------------------------------------
    def _model_handle(self):
        self._ensure_init()
        d = self.__dict__
        h = d.get("_mh")
        if h is not None:
            return h
        if self._is_custom():
            # a subclassed model is a Python layer inside a Sequential model, so that compile,
            # fit, evaluate, predict and save work on it
            lh = self._layer_handle()
            mh = _c_void_p()
            check(F.loom_sequential_new(None, 0, None, _byref(mh)), f"{type(self).__name__}")
            try:
                check(F.loom_sequential_add(mh, lh), f"{type(self).__name__}")
            except BaseException:
                F.loom_model_release(mh)
                raise
            d["_mh"] = mh
            return mh
        raise RuntimeError(f"{type(self).__name__} has no loom model")

    def _layer_handle(self):
        if self._is_custom():
            return Layer._layer_handle(self)
        d = self.__dict__
        h = d.get("_lh")
        if h is None:
            h = _c_void_p()
            check(F.loom_model_as_layer(self._model_handle(), _byref(h)), f"{type(self).__name__} (as a layer)")
            d["_lh"] = h
        return h

    def __del__(self, _release=F.loom_model_release):
        try:
            mh = self.__dict__.get("_mh")
        except Exception:  # noqa: BLE001
            return
        if mh is not None:
            self.__dict__["_mh"] = None
            _release(mh)
        Layer.__del__(self)

    # -- facts ---------------------------------------------------------------------------------
    def _io_counts(self):
        d = self.__dict__
        if d.get("_n_io") is None:
            mh = self._model_handle()
            n_in, n_out = ctypes.c_int32(), ctypes.c_int32()
            check(F.loom_model_input_count(mh, _byref(n_in)), f"{type(self).__name__}")
            check(F.loom_model_output_count(mh, _byref(n_out)), f"{type(self).__name__}")
            d["_n_io"] = (n_in.value, n_out.value)
        return d["_n_io"]

    @property
    def name(self):
        n = self.__dict__.get("_name")
        if n:
            return n
        return layers_module._layer_name_of(self._layer_handle())

    @property
    def inputs(self):
        return list(self.__dict__.get("_inputs", []))

    @property
    def outputs(self):
        return list(self.__dict__.get("_outputs", []))

    @property
    def layers(self):
        """The model's layers (the same Python objects that built it where there are any)."""
        if self._is_custom():
            return list(self.__dict__.get("_tracked", []))
        return self._c_layers()

    def _c_layers(self):
        where = f"{type(self).__name__}.layers"
        mh = self._model_handle()
        count = ctypes.c_int32()
        check(F.loom_model_layer_count(mh, _byref(count)), where)
        by_name = {}
        for layer in self.__dict__.get("_known_layers", []):
            try:
                by_name[layer.name] = layer
            except Exception:  # noqa: BLE001
                pass
        types = self.__dict__.get("_layer_types", {})
        out = []
        for i in range(count.value):
            h = _c_void_p()
            check(F.loom_model_get_layer(mh, i, _byref(h)), where)
            name = layers_module._layer_name_of(h)
            layer = by_name.get(name)
            if layer is None:
                layer = layers_module.wrap_handle(h, types.get(name))
                layer.__dict__["_name"] = name
                self.__dict__.setdefault("_known_layers", []).append(layer)
            else:
                F.loom_layer_release(h)
            out.append(layer)
        return out

    def get_layer(self, name=None, index=None):
        """A layer by name or by index (ValueError when there is none)."""
        where = f"{type(self).__name__}.get_layer"
        layers = self.layers
        if index is not None:
            if not _core._is_int(index):
                raise TypeError(f"{where}: index must be an int, got {type(index).__name__}")
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"{where}: index {index} is out of range: the model has {len(layers)} layers")
            return layers[index]
        if name is None:
            raise ValueError(f"{where}: give a name or an index")
        if not isinstance(name, str):
            raise TypeError(f"{where}: name must be a string, got {type(name).__name__}")
        for layer in layers:
            if layer.name == name:
                return layer
        if not self._is_custom():
            h = _c_void_p()
            status = F.loom_model_get_layer_by_name(self._model_handle(), name.encode(), _byref(h))
            if status == 0:
                layer = layers_module.wrap_handle(h)
                layer.__dict__["_name"] = name
                return layer
        raise ValueError(f"{where}: no layer named {name!r} (layers: {', '.join(l.name for l in layers)})")

    @property
    def weights(self):
        h = self._layer_handle() if not self._is_custom() else self._self_handle()
        if h is None:
            if not self.__dict__.get("built"):
                return []
            h = self._layer_handle()
        return layers_module._weights_of(h, f"{type(self).__name__}.weights")

    variables = weights

    @property
    def trainable_variables(self):
        where = f"{type(self).__name__}.trainable_variables"
        mh = self._model_handle()
        count = ctypes.c_int32()
        check(F.loom_model_weight_count(mh, _byref(count)), where)
        handles = (P * max(1, count.value))()
        n = ctypes.c_int32()
        check(F.loom_model_trainable_variables(mh, handles, max(1, count.value), _byref(n)), where)
        return [Variable(_handle=_c_void_p(handles[i]), trainable=True) for i in range(n.value)]

    trainable_weights = trainable_variables

    def get_weights(self):
        """Copies of every weight's value (NumPy arrays, or Tensors without NumPy), in the model's
        weight order."""
        where = f"{type(self).__name__}.get_weights"
        mh = self._model_handle()
        count = ctypes.c_int32()
        check(F.loom_model_weight_count(mh, _byref(count)), where)
        handles = (P * max(1, count.value))()
        check(F.loom_model_get_weights(mh, handles, max(1, count.value)), where)
        tensors = [_wrap(_c_void_p(handles[i])) for i in range(count.value)]
        return [t.numpy() for t in tensors] if np is not None else tensors

    def set_weights(self, weights):
        """Assigns every weight, in the order of get_weights (count and shapes must match)."""
        where = f"{type(self).__name__}.set_weights"
        tensors = [_core.tensor(w, None, where, f"weights[{i}]") for i, w in enumerate(weights)]
        current = self.get_weights()
        if len(current) == len(tensors):  # convert dtypes as Keras does
            tensors = [t if t.dtype == str(getattr(c, "dtype", t.dtype)) else t.cast(str(c.dtype))
                       for t, c in zip(tensors, current)]
        hs = _ffi.handle_array(t._h for t in tensors)
        check(F.loom_model_set_weights(self._model_handle(), hs, len(tensors)), where)

    def count_params(self):
        return sum(int(np.prod(w.shape)) if np is not None else w.size for w in self.get_weights())

    def summary(self, line_length=None, positions=None, print_fn=None):
        """Prints the summary (layers, types, output shapes, parameters) and returns its text."""
        text = _ffi.read_sized_string(F.loom_model_summary, self._model_handle(), where=f"{type(self).__name__}.summary")
        _ffi.raise_pending()
        if print_fn is None:
            print(text)
        else:
            print_fn(text)
        return text

    # -- running -------------------------------------------------------------------------------
    def _call_one(self, x, training):
        where = f"{type(self).__name__}.__call__"
        n_in, n_out = self._io_counts()
        if n_in != 1:
            raise ValueError(f"{where}: the model has {n_in} inputs, got one tensor")
        if n_out != 1:
            if self._graph_known():
                return self._run_graph([x], training)
            return self._predict_arrays([x], x.shape[0] if x.shape else 1, where)
        out = _c_void_p()
        status = F.loom_model_call(self._model_handle(), x._h, 1 if training else 0, _byref(out))
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()
        return _wrap(out)

    def _call_many(self, xs, training):
        where = f"{type(self).__name__}.__call__"
        if self._is_custom():
            return Layer._call_many(self, xs, training)
        n_in, _ = self._io_counts()
        if len(xs) != n_in:
            raise ValueError(f"{where}: the model has {n_in} inputs, got {len(xs)}")
        if self._graph_known():
            return self._run_graph(xs, training)
        rows = xs[0].shape[0] if xs[0].shape else 1
        return self._predict_arrays(xs, max(1, rows), where)  # a loaded model: inference only

    def _run_graph(self, xs, training):
        """The functional graph evaluated layer by layer on tensors (so that tapes record it): what
        a call on several inputs or outputs does, as loom_model_call takes and gives one tensor."""
        inputs, outputs = self.__dict__["_inputs"], self.__dict__["_outputs"]
        values = {id(s): x for s, x in zip(inputs, xs)}
        calls = {}

        def evaluate(symbol):
            key = id(symbol)
            if key in values:
                return values[key]
            node = symbol._node
            if node is None:
                raise ValueError(f"{type(self).__name__}: an input of the graph was not given")
            layer, ins, several, index = node
            call_key = (id(layer), tuple(id(s) for s in ins))
            if call_key not in calls:
                args = [evaluate(s) for s in ins]
                calls[call_key] = layer(args[0] if len(args) == 1 else args, training=training)
            result = calls[call_key]
            value = result[index] if several else result
            values[key] = value
            return value

        results = [evaluate(s) for s in outputs]
        return results if len(results) != 1 or self.__dict__.get("_multi_out") else results[0]

    def _graph_known(self):
        d = self.__dict__
        return bool(d.get("_outputs")) and all(s._node is not None or any(s is i for i in d["_inputs"])
                                               for s in d["_outputs"])

    def _predict_arrays(self, xs, batch_size, where):
        _, n_out = self._io_counts()
        hs = _ffi.handle_array(t._h for t in xs)
        outs = (P * max(1, n_out))()
        count = ctypes.c_int32()
        status = F.loom_model_predict_arrays(self._model_handle(), hs, len(xs), int(batch_size), outs, max(1, n_out),
                                             _byref(count))
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()
        results = [_wrap(_c_void_p(outs[i])) for i in range(count.value)]
        return results if len(results) != 1 or self.__dict__.get("_multi_out") else results[0]

    def _inputs_list(self, x, where, arg, convert):
        n_in, _ = self._io_counts()
        if isinstance(x, dict):
            x = list(x.values())
        if n_in > 1 or (isinstance(x, (list, tuple)) and len(x) == 1 and (
                isinstance(x[0], Tensor) or (np is not None and isinstance(x[0], np.ndarray)))):
            if not isinstance(x, (list, tuple)):
                raise ValueError(f"{where}: the model has {n_in} inputs: {arg} must be a list of {n_in} arrays")
            if len(x) != n_in:
                raise ValueError(f"{where}: the model has {n_in} inputs, {arg} holds {len(x)}")
            return [convert(v, where, f"{arg}[{i}]") for i, v in enumerate(x)]
        return [convert(x, where, arg)]

    def _targets_list(self, y, where):
        _, n_out = self._io_counts()
        compiled = self.__dict__.get("_compiled_with")
        loss_name = compiled[2] if compiled and compiled[2] != "(saved)" else self.__dict__.get("_saved_loss")
        if isinstance(y, dict):
            y = list(y.values())
        if n_out > 1:
            if not isinstance(y, (list, tuple)) or len(y) != n_out:
                raise ValueError(f"{where}: the model has {n_out} outputs: y must be a list of {n_out} arrays")
            return [_as_target(v, where, f"y[{i}]", loss_name) for i, v in enumerate(y)]
        if isinstance(y, (list, tuple)) and len(y) == 1 and (isinstance(y[0], Tensor) or (
                np is not None and isinstance(y[0], np.ndarray))):
            y = y[0]
        return [_as_target(y, where, "y", loss_name)]

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, run_eagerly=None,
                steps_per_execution=None, jit_compile=None, optimizer_config=None, loss_config=None, **kwargs):
        """Prepares for training: `optimizer` a name ("adam") or a loom.optimizers object; `loss` a
        name ("sparse_categorical_crossentropy") or a loom.losses object; `metrics` names.
        (`optimizer_config` / `loss_config`: extra loom arguments, as the first package took them.)"""
        where = f"{type(self).__name__}.compile"
        if kwargs:
            raise TypeError(f"{where}: unknown argument(s) {', '.join(map(repr, kwargs))}")
        if loss_weights is not None:
            raise NotImplementedError(f"{where}: loss_weights is not in loom's C ABI")
        if loss is None:
            raise ValueError(f"{where}: a loss is required (a name such as 'mse' or a loom.losses object)")
        if isinstance(loss, dict):
            loss = list(loss.values())
        if isinstance(loss, (list, tuple)):
            specs = [losses.spec(l, where) for l in loss]
            if any(s != specs[0] for s in specs):
                raise NotImplementedError(f"{where}: loom's C ABI compiles one loss for every output; got different "
                                          "losses per output")
            loss_name, spec_config = specs[0]
        else:
            loss_name, spec_config = losses.spec(loss, where)
        if isinstance(optimizer, str):
            opt_name, opt_config = optimizer.lower(), {}
            if opt_name not in ("sgd", "adam", "adamw", "rmsprop"):
                raise ValueError(f"{where}: unknown optimizer {optimizer!r} (sgd, adam, adamw, rmsprop, or a "
                                 "loom.optimizers object)")
        elif isinstance(optimizer, optimizers_module.Optimizer):
            opt_name, opt_config = optimizer.name, optimizer.get_config()
        else:
            raise TypeError(f"{where}: optimizer must be a name or a loom.optimizers object, got "
                            f"{type(optimizer).__name__}")
        if optimizer_config:
            opt_config = {**opt_config, **optimizer_config}
        extra_loss_config = loss_config
        names = []
        for m in _flatten_metrics(metrics):
            name = metrics_module.name_of(m, where)
            if name not in names:
                names.append(name)
        opt_attrs = _core.config_attrs(opt_config, where)
        loss_attrs = _core.config_attrs({**spec_config, **(extra_loss_config or {})}, where)
        metric_array = (ctypes.c_char_p * max(1, len(names)))(*[n.encode() for n in names])
        status = F.loom_model_compile(self._model_handle(), opt_name.encode(), None if opt_attrs is None else opt_attrs._h,
                                      loss_name.encode(), None if loss_attrs is None else loss_attrs._h, metric_array,
                                      len(names))
        if status:
            _ffi.raise_for(status, where)
        self.__dict__["_compiled_with"] = (opt_name, opt_config, loss_name, names)

    @property
    def optimizer(self):
        compiled = self.__dict__.get("_compiled_with")
        if compiled is None:
            return None
        return _ModelOptimizer(self, compiled[0], compiled[1])

    @property
    def compiled(self):
        return self.__dict__.get("_compiled_with") is not None

    @property
    def stop_training(self):
        return self.__dict__.get("_stop", False)

    @stop_training.setter
    def stop_training(self, value):
        self.__dict__["_stop"] = bool(value)
        if value:
            check(F.loom_model_stop_training(self._model_handle()), f"{type(self).__name__}.stop_training")

    @property
    def metrics_names(self):
        where = f"{type(self).__name__}.metrics_names"
        mh = self._model_handle()
        count = ctypes.c_int32()
        if F.loom_model_metric_count(mh, _byref(count)):
            return ["loss"]
        return [_ffi.read_string(F.loom_model_metric_name, mh, i, where=where, size=64) for i in range(count.value)]

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, seed=None, on_epoch_end=None, distributed=False,
            **kwargs):
        """Trains on (x, y): tensors, NumPy arrays or lists (a list of them for several inputs or
        outputs), or a loom.data.Dataset of (x, y) batches. Returns a History whose ``history``
        maps "loss", the metrics and "val_..." to their per-epoch values. `callbacks`: Callback
        objects or functions f(epoch, logs); an exception raised in one comes out of fit.
        `distributed`: data-parallel over the ranks of loom.distributed.init(), batch_size being
        the global batch (every rank starts from rank 0's weights)."""
        where = f"{type(self).__name__}.fit"
        unsupported = [k for k in kwargs if k in ("sample_weight", "class_weight", "steps_per_epoch",
                                                  "validation_steps", "validation_batch_size", "validation_freq")]
        if unsupported:
            raise NotImplementedError(f"{where}: {', '.join(unsupported)} is not in loom's C ABI")
        if kwargs:
            raise TypeError(f"{where}: unknown argument(s) {', '.join(map(repr, kwargs))}")
        from . import data as data_module
        if isinstance(x, data_module.Dataset):
            x, y, dataset_batch = x._materialize(where)
            batch_size = batch_size or dataset_batch
        if x is None or y is None:
            raise ValueError(f"{where}: x and y are required")
        for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if not _core._is_int(value) or value < 0:
                raise TypeError(f"{where}: {name} must be a non-negative int, got {value!r}")
        if batch_size is not None and (not _core._is_int(batch_size) or batch_size < 1):
            raise TypeError(f"{where}: batch_size must be a positive int, got {batch_size!r}")
        if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) or not \
                0.0 <= validation_split < 1.0:
            raise ValueError(f"{where}: validation_split must be a number in [0, 1), got {validation_split!r}")
        mh = self._model_handle()
        xs = self._inputs_list(x, where, "x", _as_input)
        ys = self._targets_list(y, where)
        if verbose == "auto":
            verbose = 1
        options = {"epochs": int(epochs), "batch_size": int(batch_size or 32), "validation_split": float(validation_split),
                   "shuffle": bool(shuffle), "verbose": int(verbose), "initial_epoch": int(initial_epoch),
                   "distributed": bool(distributed)}
        if seed is not None:
            if not _core._is_int(seed) or seed < 0:
                raise TypeError(f"{where}: seed must be a non-negative int, got {seed!r}")
            options["seed"] = int(seed)
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) < 2:
                raise ValueError(f"{where}: validation_data must be (x_val, y_val)")
            validation = (validation_data[0], validation_data[1])
        history = callbacks_module.History()
        cbs = [history]
        callbacks = list(callbacks or [])
        if on_epoch_end is not None:  # the first package's form: f(epoch, logs), True stops
            callbacks.append(on_epoch_end)
        for i, cb in enumerate(callbacks):
            if isinstance(cb, callbacks_module.Callback):
                cbs.append(cb)
            elif callable(cb):
                cbs.append(callbacks_module._Function(cb))
            else:
                raise TypeError(f"{where}: callbacks[{i}] must be a loom.callbacks.Callback or a function "
                                f"f(epoch, logs), got {type(cb).__name__}")
        params = {"epochs": epochs, "verbose": verbose, "batch_size": options["batch_size"]}
        for cb in cbs:
            cb.set_model(self)
            cb.set_params(params)
        wants_batches = any(cb._wants_batches() for cb in cbs)
        self.__dict__["_stop"] = False
        model = self

        def epoch_end(_user, _model, epoch, names, values, count):
            try:
                logs = {names[i].decode(): values[i] for i in range(count)}
                if validation is not None:
                    results = model.evaluate(validation[0], validation[1], batch_size=options["batch_size"], verbose=0,
                                             return_dict=True)
                    logs.update({f"val_{k}": v for k, v in results.items()})
                for cb in cbs:
                    cb.on_epoch_end(epoch, logs)
                if model.__dict__.get("_stop"):
                    return 1
                if epoch + 1 < epochs:
                    for cb in cbs:
                        cb.on_epoch_begin(epoch + 1, logs)
                return 1 if model.__dict__.get("_stop") else 0
            except BaseException as e:  # noqa: BLE001 - nothing may unwind through C
                return _ffi.store_callback_error(e, "fit callback (on_epoch_end)")

        def batch_end(_user, _model, batch, names, values, count):
            try:
                logs = {names[i].decode(): values[i] for i in range(count)}
                for cb in cbs:
                    cb.on_train_batch_end(batch, logs)
                    cb.on_batch_end(batch, logs)
                return 1 if model.__dict__.get("_stop") else 0
            except BaseException as e:  # noqa: BLE001
                return _ffi.store_callback_error(e, "fit callback (on_batch_end)")

        c_epoch = _ffi.FIT_EPOCH_END(epoch_end)
        c_batch = _ffi.FIT_BATCH_END(batch_end) if wants_batches else _ffi.FIT_BATCH_END()
        fit_callbacks = _ffi.FitCallbacks()
        fit_callbacks.struct_size = ctypes.sizeof(_ffi.FitCallbacks)
        fit_callbacks.epoch_end = c_epoch
        fit_callbacks.batch_end = c_batch
        attrs = _core.config_attrs(options, where)
        hx = _ffi.handle_array(t._h for t in xs)
        hy = _ffi.handle_array(t._h for t in ys)
        losses_out = (ctypes.c_double * max(1, int(epochs)))()
        ran = ctypes.c_int32()
        for cb in cbs:
            cb.on_train_begin({})
        if epochs > initial_epoch:
            for cb in cbs:
                cb.on_epoch_begin(initial_epoch, {})
        if verbose:
            sys.stdout.flush()
        status = F.loom_model_fit_arrays(mh, hx, len(xs), hy, len(ys), attrs._h, _byref(fit_callbacks), losses_out,
                                         max(1, int(epochs)), _byref(ran))
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()
        for cb in cbs:
            cb.on_train_end({})
        history.model = self
        return history

    def evaluate(self, x=None, y=None, batch_size=None, verbose=0, return_dict=False, **kwargs):
        """The loss and metrics on (x, y) in inference mode: a number (loss only), a list in the
        order of metrics_names, or a dict with return_dict=True."""
        where = f"{type(self).__name__}.evaluate"
        if kwargs:
            raise TypeError(f"{where}: unknown argument(s) {', '.join(map(repr, kwargs))}")
        from . import data as data_module
        if isinstance(x, data_module.Dataset):
            x, y, dataset_batch = x._materialize(where)
            batch_size = batch_size or dataset_batch
        if x is None or y is None:
            raise ValueError(f"{where}: x and y are required")
        if batch_size is not None and (not _core._is_int(batch_size) or batch_size < 1):
            raise TypeError(f"{where}: batch_size must be a positive int, got {batch_size!r}")
        mh = self._model_handle()
        xs = self._inputs_list(x, where, "x", _as_input)
        ys = self._targets_list(y, where)
        count = ctypes.c_int32()
        if F.loom_model_metric_count(mh, _byref(count)):
            _ffi.raise_for(F.loom_model_metric_count(mh, _byref(count)), where)
        capacity = max(1, count.value)
        values = (ctypes.c_double * capacity)()
        n = ctypes.c_int32()
        hx = _ffi.handle_array(t._h for t in xs)
        hy = _ffi.handle_array(t._h for t in ys)
        status = F.loom_model_evaluate_arrays(mh, hx, len(xs), hy, len(ys), int(batch_size or 32), values, capacity,
                                              _byref(n))
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()
        names = [_ffi.read_string(F.loom_model_metric_name, mh, i, where=where, size=64) for i in range(n.value)]
        results = [values[i] for i in range(n.value)]
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in zip(names, results)))
        if return_dict:
            return dict(zip(names, results))
        return results[0] if len(results) == 1 else results

    def predict(self, x, batch_size=None, verbose=0, **kwargs):
        """The outputs for x (tensors, arrays or lists; a list of them for several inputs) in
        inference mode: a NumPy array (a loom Tensor without NumPy), a list of them for several
        outputs."""
        where = f"{type(self).__name__}.predict"
        if kwargs:
            raise TypeError(f"{where}: unknown argument(s) {', '.join(map(repr, kwargs))}")
        from . import data as data_module
        if isinstance(x, data_module.Dataset):
            x, _, dataset_batch = x._materialize(where, need_y=False)
            batch_size = batch_size or dataset_batch
        if batch_size is not None and (not _core._is_int(batch_size) or batch_size < 1):
            raise TypeError(f"{where}: batch_size must be a positive int, got {batch_size!r}")
        mh = self._model_handle()
        xs = self._inputs_list(x, where, "x", _as_input)
        n_in, n_out = self._io_counts()
        if len(xs) == 1 and n_out == 1:
            out = _c_void_p()
            status = F.loom_model_predict(mh, xs[0]._h, int(batch_size or 32), _byref(out))
            if status:
                _ffi.raise_for(status, where)
            _ffi.raise_pending()
            results = [_wrap(out)]
        else:
            r = self._predict_arrays(xs, int(batch_size or 32), where)
            results = r if isinstance(r, list) else [r]
        if np is not None:
            results = [t.numpy() for t in results]
        return results[0] if len(results) == 1 and not self.__dict__.get("_multi_out") else results

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(1, len(x)))

    # -- files -------------------------------------------------------------------------------
    def save(self, filepath, overwrite=True, weights_dtype=None, **kwargs):
        """Saves the whole model (architecture, compile settings, weights) in one file; Python
        layers are saved by their type name and get_config(). weights_dtype="bfloat16" (or
        "float16") casts the floating weights, for a half-size inference file; load_model casts
        them back to the variables' dtype."""
        where = f"{type(self).__name__}.save"
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"{where}: {filepath} exists (overwrite=False)")
        path = _core._path(filepath, where)
        if weights_dtype is None:
            status = F.loom_model_save(self._model_handle(), path)
        else:
            code = _core.dtype_code(weights_dtype, where, "weights_dtype")
            status = F.loom_model_save_as(self._model_handle(), path, code)
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()

    def save_weights(self, filepath, overwrite=True):
        """Saves the weights as safetensors."""
        where = f"{type(self).__name__}.save_weights"
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"{where}: {filepath} exists (overwrite=False)")
        check(F.loom_model_save_weights(self._model_handle(), _core._path(filepath, where)), where)

    def export_onnx(self, filepath, opset=0):
        """Writes the built model as an ONNX file of `opset` (13 to 17; 0: 13), atomically: NHWC
        images at the graph's boundary, a dynamic batch axis, layers in inference form."""
        where = f"{type(self).__name__}.export_onnx"
        if not _core._is_int(opset):
            raise TypeError(f"{where}: opset must be an int, got {type(opset).__name__}")
        check(F.loom_onnx_export(self._model_handle(), _core._path(filepath, where), int(opset)), where)

    def load_weights(self, filepath, strict=True, skip_mismatch=False):
        """Loads weights saved by save_weights (`strict`: missing or unexpected weights are errors)."""
        where = f"{type(self).__name__}.load_weights"
        status = F.loom_model_load_weights(self._model_handle(), _core._path(filepath, where),
                                           0 if (skip_mismatch or not strict) else 1)
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()

    def save_checkpoint(self, filepath, epoch):
        """Saves the training state after epoch `epoch` (weights, optimizer state, RNG states)."""
        where = f"{type(self).__name__}.save_checkpoint"
        if not _core._is_int(epoch):
            raise TypeError(f"{where}: epoch must be an int, got {type(epoch).__name__}")
        check(F.loom_model_save_checkpoint(self._model_handle(), _core._path(filepath, where), int(epoch)), where)

    def load_checkpoint(self, filepath):
        """Restores a checkpoint (compile first to restore the optimizer) and returns the epoch to
        resume from (fit's initial_epoch)."""
        where = f"{type(self).__name__}.load_checkpoint"
        nxt = ctypes.c_int32()
        status = F.loom_model_load_checkpoint(self._model_handle(), _core._path(filepath, where), _byref(nxt))
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()
        return nxt.value

    def __repr__(self):
        try:
            return f"<loom.{type(self).__name__} name={self.name!r}>"
        except Exception:  # noqa: BLE001
            return f"<loom.{type(self).__name__}>"


def _flatten_metrics(metrics):
    if metrics is None:
        return []
    if isinstance(metrics, (str, metrics_module.Metric)):
        return [metrics]
    if isinstance(metrics, dict):
        metrics = list(metrics.values())
    out = []
    for m in metrics:
        if isinstance(m, (list, tuple)):
            out.extend(m)
        else:
            out.append(m)
    return out


class Sequential(Model):
    """keras.Sequential: layers applied one after another.

        model = loom.Sequential([loom.Input((28, 28)), loom.layers.Flatten(), loom.layers.Dense(10)])
    """

    def __init__(self, layers=None, name=None, input_shape=None, **kwargs):
        d = self.__dict__
        d.setdefault("_mh", None)
        d["_seq_layers"] = []
        d["_seq_input"] = None if input_shape is None else tuple(
            [input_shape] if _core._is_int(input_shape) else input_shape)
        Model.__init__(self, name=name, **kwargs)
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Appends a layer (or, first, a loom.Input / InputLayer giving the input shape)."""
        where = "loom.Sequential.add"
        d = self.__dict__
        if isinstance(layer, (SymbolicTensor, InputLayer)):
            shape = tuple(layer.shape[1:]) if isinstance(layer, SymbolicTensor) else layer.input_shape
            if d["_mh"] is not None or d["_seq_layers"]:
                raise ValueError(f"{where}: an input shape can only be given first")
            d["_seq_input"] = tuple(shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"{where}: expected a loom layer, got {type(layer).__name__}")
        if not d["_seq_layers"] and d["_seq_input"] is None and layer.__dict__.get("_input_shape") is not None:
            d["_seq_input"] = layer.__dict__["_input_shape"]
        d["_seq_layers"].append(layer)
        d["_n_io"] = None
        if d["_mh"] is not None:
            status = F.loom_sequential_add(d["_mh"], layer._layer_handle())
            if status:
                d["_seq_layers"].pop()
                _ffi.raise_for(status, where)
            _ffi.raise_pending()

    def pop(self):
        raise NotImplementedError("loom.Sequential.pop: removing a layer is not in loom's C ABI")

    def _model_handle(self):
        d = self.__dict__
        h = d.get("_mh")
        if h is not None:
            return h
        where = "loom.Sequential"
        shape = d.get("_seq_input")
        mh = _c_void_p()
        name = d.get("_name")
        if shape is not None:
            dims, rank = _ffi.int64_array(_core._int_list([-1 if s is None else s for s in shape], where, "input_shape"))
            status = F.loom_sequential_new(dims, rank, name.encode() if name else None, _byref(mh))
        else:
            status = F.loom_sequential_new(None, 0, name.encode() if name else None, _byref(mh))
        if status:
            _ffi.raise_for(status, where)
        d["_mh"] = mh
        for layer in d["_seq_layers"]:
            status = F.loom_sequential_add(mh, layer._layer_handle())
            if status:
                _ffi.raise_for(status, where)
            _ffi.raise_pending()
        return mh

    def _is_custom(self):
        return False

    @property
    def layers(self):
        if self.__dict__.get("_seq_layers"):
            return list(self.__dict__["_seq_layers"])
        if self.__dict__.get("_mh") is not None:
            return self._c_layers()
        return []

    def _layer_handle(self):
        return Model._layer_handle(self)


# ---------------------------------------------------------------------------------------------
# Whole-model files
# ---------------------------------------------------------------------------------------------
def _file_metadata(path):
    """The __metadata__ of a safetensors file (read from its header only)."""
    try:
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            if n > 100 << 20:
                return {}
            header = json.loads(f.read(n).decode("utf-8"))
        return header.get("__metadata__", {}) or {}
    except (OSError, ValueError, struct.error):
        return {}


def _layer_types(config):
    """{layer name: type name} from a model_config JSON ({"class_name", "config": {"name"}} nodes)."""
    out = {}

    def walk(node):
        if isinstance(node, dict):
            kind = node.get("class_name")
            inner = node.get("config")
            name = inner.get("name") if isinstance(inner, dict) else None
            if isinstance(kind, str) and isinstance(name, str):
                out.setdefault(name, kind)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(config)
    return out


def load_model(filepath, compile=True, custom_objects=None):
    """A model from a file of ``Model.save`` (loom_model_load), compiled as saved unless
    compile=False. Python layer classes are found by their type name among the subclasses of
    loom.layers.Layer defined so far, or in `custom_objects` ({name: class})."""
    where = "loom.models.load_model"
    path = _core._path(filepath, where)
    layers_module.register_all(custom_objects)
    layers_module._capture.objects = []
    h = _c_void_p()
    try:
        status = F.loom_model_load(path, 1 if compile else 0, _byref(h))
    finally:
        created = layers_module._capture.objects
        layers_module._capture.objects = None
    if status:
        _ffi.raise_for(status, where)
    _ffi.raise_pending()
    meta = _file_metadata(os.fsdecode(path))
    try:
        config = json.loads(meta.get("model_config", "{}"))
    except ValueError:
        config = {}
    top = config.get("model", {}) if isinstance(config, dict) else {}
    saved_loss = None
    try:
        saved_loss = config["compile"]["loss"]["name"]
    except (KeyError, TypeError):
        pass
    kind = top.get("class_name") if isinstance(top, dict) else None
    types = _layer_types(top)
    count = ctypes.c_int32()
    check(F.loom_model_layer_count(h, _byref(count)), where)
    # A subclassed model saved as its Python layer in a Sequential model: give back that object.
    if count.value == 1 and len(created) >= 1 and isinstance(created[0], Model):
        obj = created[0]
        lh = _c_void_p()
        check(F.loom_model_get_layer(h, 0, _byref(lh)), where)
        obj._adopt_handle(lh)
        obj.__dict__["_mh"] = h
        obj.__dict__["_n_io"] = None
        obj.__dict__["_saved_loss"] = saved_loss
        if compile:
            obj.__dict__["_compiled_with"] = ("(saved)", {}, "(saved)", [])
        return obj
    model = _model_of_handle(h, Sequential if kind == "Sequential" else Model,
                             ("(saved)", {}, "(saved)", []) if compile else None, types, saved_loss)
    d = model.__dict__
    # Python layers made from their configs: give each its own handle, found by name.
    by_name = {obj.__dict__.get("_name"): obj for obj in created if obj.__dict__.get("_name")}
    for i in range(count.value):
        lh = _c_void_p()
        check(F.loom_model_get_layer(h, i, _byref(lh)), where)
        name = layers_module._layer_name_of(lh)
        obj = by_name.get(name)
        if obj is not None and obj.__dict__.get("_lh") is None:
            obj._adopt_handle(lh)
            d["_known_layers"].append(obj)
        else:
            F.loom_layer_release(lh)
    _, n_out = model._io_counts()
    d["_multi_out"] = n_out > 1
    return model


def _model_of_handle(h, cls, compiled_with, layer_types, saved_loss):
    """A Model (or Sequential) object owning the model handle `h` made by the library."""
    model = cls.__new__(cls)
    if cls is Sequential:
        model.__dict__.update(_seq_layers=[], _seq_input=None)
    model.__dict__.update(_lh=None, _tracked=[], _c_tracked=set(), _cb_self=None, built=True, _name=None,
                          _input_shape=None, _dtype=None, _mh=h, _stop=False, _compiled_with=compiled_with,
                          _known_layers=[], _n_io=None, _multi_out=False, _layer_types=layer_types,
                          _saved_loss=saved_loss)
    return model


def import_onnx(filepath):
    """A functional Model of an ONNX file's graph with its weights (loom_onnx_import): inputs in
    the file's layout (an NCHW image stays NCHW), ready to predict, compile and fit."""
    where = "loom.import_onnx"
    h = _c_void_p()
    check(F.loom_onnx_import(_core._path(filepath, where), _byref(h)), where)
    model = _model_of_handle(h, Model, None, _layer_types({}), None)
    _, n_out = model._io_counts()
    model.__dict__["_multi_out"] = n_out > 1
    return model


def save_model(model, filepath, overwrite=True):
    """model.save(filepath)."""
    model.save(filepath, overwrite=overwrite)
