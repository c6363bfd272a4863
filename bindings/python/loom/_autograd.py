"""Variables, the gradient tape and custom gradients (loom_variable_*, loom_tape_*,
loom_custom_gradient)."""
import ctypes
import functools
import itertools
import threading

from . import _core, _ffi
from ._core import Tensor, _wrap
from ._ffi import F, P, check

_byref = ctypes.byref
_c_void_p = ctypes.c_void_p
_f_gradient = F.loom_tape_gradient


# ---------------------------------------------------------------------------------------------
# Variable
# ---------------------------------------------------------------------------------------------
class Variable(Tensor):
    """A named, mutable tensor (loom_variable). It is a Tensor: ops, operators and tapes see its
    current value; ``assign``/``assign_add``/``assign_sub`` and sliced assignment
    (``v[1, 2] = 9``, ``v[0:2] = [[...]]``) change it in place.

        w = loom.Variable([1.0, 2.0], name="w")
        w.assign([3.0, 4.0]); w[0] = 5.0
    """

    __slots__ = ("_vh", "_trainable")

    def __init__(self, initial_value=None, name=None, trainable=True, dtype=None, *, _handle=None):
        self._h = None
        self._vh = None
        self._trainable = None if _handle is not None and trainable is None else bool(trainable)
        if _handle is None:
            if initial_value is None:
                raise TypeError("loom.Variable: initial_value is required")
            if callable(initial_value) and not isinstance(initial_value, Tensor):
                initial_value = initial_value()
            if name is not None and not isinstance(name, str):
                raise TypeError(f"loom.Variable: name must be a string, got {type(name).__name__}")
            init = _core.tensor(initial_value, dtype, "loom.Variable", "initial_value")
            vh = _c_void_p()
            check(F.loom_variable_new(init._h, name.encode() if name else None, 1 if trainable else 0, _byref(vh)),
                  "loom.Variable")
            _handle = vh
        self._vh = _handle
        th = _c_void_p()
        check(F.loom_variable_tensor(_handle, _byref(th)), "loom.Variable")
        self._h = th

    def __del__(self, _release_t=F.loom_tensor_release, _release_v=F.loom_variable_release):
        try:
            h, vh = self._h, self._vh
        except AttributeError:
            return
        self._h = self._vh = None
        if h is not None:
            _release_t(h)
        if vh is not None:
            _release_v(vh)

    @property
    def name(self):
        return _ffi.read_string(F.loom_variable_name, self._vh, where="loom.Variable.name", size=128)

    @property
    def trainable(self):
        """Whether training updates it (None when loom does not say, for weights of loaded layers)."""
        return self._trainable

    @property
    def value(self):
        """The live tensor (follows later assignments)."""
        return _core._dup(self)

    def read_value(self):
        """A copy of the current values."""
        out = _c_void_p()
        check(F.loom_variable_read(self._vh, _byref(out)), "loom.Variable.read_value")
        return _wrap(out)

    def _value_arg(self, value, where):
        code = _core._dtype_code_of(self._h, where)
        if isinstance(value, Tensor):
            if _core._dtype_code_of(value._h, where) != code:
                return value.cast(code)
            return value
        return _core.tensor(value, code, where, "value")

    def assign(self, value):
        """Writes `value` (same shape; converted to the variable's dtype). Returns the variable."""
        v = self._value_arg(value, "loom.Variable.assign")
        check(F.loom_variable_assign(self._vh, v._h), "loom.Variable.assign")
        return self

    def assign_add(self, delta):
        """Adds `delta` (broadcast to the variable's shape) in place. Returns the variable."""
        d = self._value_arg(delta, "loom.Variable.assign_add")
        check(F.loom_variable_assign_add(self._vh, d._h), "loom.Variable.assign_add")
        return self

    def assign_sub(self, delta):
        """Subtracts `delta` (broadcast to the variable's shape) in place. Returns the variable."""
        d = self._value_arg(delta, "loom.Variable.assign_sub")
        check(F.loom_variable_assign_sub(self._vh, d._h), "loom.Variable.assign_sub")
        return self

    def __setitem__(self, key, value):
        where = "loom.Variable.__setitem__"
        shape = _core._shape_of(self._h, where)
        entries = [k for k in _core._expand_key(key, len(shape), where) if k is not None]
        begin, end, step, region, kept = [], [], [], [], []
        for axis, (k, dim) in enumerate(zip(entries, shape)):
            i = _core._index_int(k)
            if i is not None:
                if not -dim <= i < dim:
                    raise IndexError(f"{where}: index {i} is out of range for axis {axis} with size {dim}")
                i = i + dim if i < 0 else i
                begin.append(i)
                end.append(i + 1)
                step.append(1)
                region.append(1)
            elif isinstance(k, slice):
                b, e, s = _core._slice_bounds(k, where)
                begin.append(b)
                end.append(e)
                step.append(s)
                n = len(range(*k.indices(dim)))
                region.append(n)
                kept.append(n)
            else:
                raise TypeError(f"{where}: sliced assignment takes ints, slices, '...' and None, got "
                                f"{type(k).__name__}")
        v = self._value_arg(value, where)
        vshape = _core._shape_of(v._h, where)
        if tuple(vshape) != tuple(region):
            if tuple(vshape) != tuple(kept):
                if len(vshape) > len(kept):
                    squeezed = [d for d in vshape]
                    while len(squeezed) > len(kept) and squeezed[0] == 1:
                        squeezed.pop(0)
                    vshape = squeezed
                    v = _core._reshape(v, squeezed, where)
                if tuple(vshape) != tuple(kept):
                    attrs = _core.make_attrs([("shape", "int list", list(kept))], where)
                    v = _core.call_op(b"broadcast_to", [v], attrs, 1, where)[0]
            v = _core._reshape(v, region, where)
        b, n = _ffi.int64_array(begin)
        e, _ = _ffi.int64_array(end)
        s, _ = _ffi.int64_array(step)
        check(F.loom_variable_assign_slice(self._vh, b, e, s, n, v._h), where)

    def __repr__(self):
        try:
            name, shape, dtype = self.name, self.shape, self.dtype
        except _ffi.LoomError:
            return "<loom.Variable (released)>"
        except AttributeError:
            return "<loom.Variable (not constructed)>"
        body = _core._format_values(self, shape, dtype)
        return f"loom.Variable({body}, name={name!r}, shape={shape}, dtype={dtype})"

    __str__ = __repr__

    def __reduce__(self):
        return (_rebuild_variable, (self.tolist(), str(self.dtype), self.name, self._trainable))

    def __deepcopy__(self, memo):
        return Variable(self.read_value(), name=self.name, trainable=self._trainable is not False)


def _rebuild_variable(values, dtype, name, trainable):
    return Variable(values, name=name, trainable=True if trainable is None else trainable, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Structures (nested lists, tuples and dicts)
# ---------------------------------------------------------------------------------------------
def flatten(structure):
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure, key=repr) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_as(structure, leaves):
    it = iter(leaves)

    def pack(s):
        if isinstance(s, dict):
            values = {k: pack(s[k]) for k in sorted(s, key=repr)}
            return {k: values[k] for k in s}
        if isinstance(s, tuple) and hasattr(s, "_fields"):  # namedtuple
            return type(s)(*[pack(x) for x in s])
        if isinstance(s, (list, tuple)):
            return type(s)(pack(x) for x in s)
        return next(it)

    return pack(structure)


def _holds_tensors(x):
    if isinstance(x, Tensor):
        return True
    if isinstance(x, dict):
        return any(_holds_tensors(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(_holds_tensors(v) for v in x)
    return False


# ---------------------------------------------------------------------------------------------
# GradientTape
# ---------------------------------------------------------------------------------------------
class UnconnectedGradients:
    NONE = "none"
    ZERO = "zero"


class GradientTape:
    """TensorFlow's tf.GradientTape: records the ops of this thread while its ``with`` block
    runs; ``gradient(target, sources)`` afterwards.

        x = loom.tensor([1.0, 2.0])
        with loom.GradientTape() as tape:
            tape.watch(x)
            y = loom.reduce_sum(x * x)
        tape.gradient(y, x)   # [2, 4]

    `persistent`: gradient may be called more than once; `watch_accessed_variables`: trainable
    variables that ops read are watched without watch(). Sources may be tensors, variables or
    nested lists/tuples/dicts of them (the result has the same structure).
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._h = None
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
        self._recording = False
        self._thread = threading.get_ident()

    def __del__(self, _release=F.loom_tape_release):
        h = getattr(self, "_h", None)
        if h is not None:
            self._h = None
            _release(h)

    def _handle(self):
        if self._h is None:
            h = _c_void_p()
            check(F.loom_tape_new(1 if self._persistent else 0, 1 if self._watch_accessed else 0, _byref(h)),
                  "loom.GradientTape")
            self._h = h
            self._recording = True
        return self._h

    def __enter__(self):
        if self._h is None:
            self._handle()
        elif not self._recording:
            check(F.loom_tape_resume_recording(self._h), "loom.GradientTape.__enter__")
            self._recording = True
        return self

    def __exit__(self, *exc):
        if self._h is not None and self._recording:
            check(F.loom_tape_stop_recording(self._h), "loom.GradientTape.__exit__")
            self._recording = False
        return False

    @property
    def persistent(self):
        return self._persistent

    def watch(self, tensor):
        """Records the ops that read `tensor` from now on. Takes a tensor, a variable or a
        nested list/tuple/dict of them; a NumPy array, Python number or list of numbers is
        converted to a tensor first. Returns what it watched (the tensors, same structure), so
        that ``x = tape.watch(np_array)`` gives the watched tensor."""
        where = "loom.GradientTape.watch"
        h = self._handle()
        if isinstance(tensor, (list, tuple, dict)) and _holds_tensors(tensor):
            leaves = flatten(tensor)
            watched = [self._watch_one(h, leaf, where, f"tensor[{i}]") for i, leaf in enumerate(leaves)]
            return pack_as(tensor, watched)
        return self._watch_one(h, tensor, where, "tensor")

    def _watch_one(self, h, x, where, arg):
        if isinstance(x, Variable):
            check(F.loom_tape_watch_variable(h, x._vh), where)
            return x
        t = _core.tensor(x, None, where, arg)
        check(F.loom_tape_watch(h, t._h), where)
        return t

    def reset(self):
        """Forgets everything recorded and watched so far (recording goes on)."""
        if self._h is not None:
            check(F.loom_tape_reset(self._h), "loom.GradientTape.reset")

    def stop_recording(self):
        """A context manager during which the tape does not record: ``with tape.stop_recording():``."""
        return _StopRecording(self)

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients=UnconnectedGradients.NONE):
        """d target / d sources. `target`: a tensor (or a list: the gradient of their sum);
        `sources`: a tensor, variable or nested structure of them; `output_gradients`: the
        gradient flowing into `target` (default ones); `unconnected_gradients`: "none" (None
        for a source the target does not depend on) or "zero"."""
        where = "loom.GradientTape.gradient"
        if output_gradients is None and unconnected_gradients == "none" and self._h is not None and isinstance(
                target, Tensor) and isinstance(sources, Tensor):
            # one source, one target: the hot path of training loops
            grads = (P * 1)()
            if isinstance(sources, Variable):
                status = _f_gradient(self._h, target._h, None, 0, (P * 1)(sources._vh), 1, None, 0, grads)
            else:
                status = _f_gradient(self._h, target._h, (P * 1)(sources._h), 1, None, 0, None, 0, grads)
            if status:
                _ffi.raise_for(status, where)
            if _ffi._pending:
                _ffi.raise_pending()
            g = grads[0]
            return _wrap(_c_void_p(g)) if g else None
        if self._h is None:
            raise ValueError(f"{where}: the tape recorded nothing (use it in a `with` block first)")
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"{where}: unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
        leaves = flatten(sources)
        tensors, variables = [], []
        for i, leaf in enumerate(leaves):
            if isinstance(leaf, Variable):
                variables.append(leaf)
            elif isinstance(leaf, Tensor):
                tensors.append(leaf)
            else:
                raise TypeError(f"{where}: sources[{i}] must be a loom.Tensor or loom.Variable, got "
                                f"{type(leaf).__name__} (watch a tensor made from it and use that)")
        y = self._target(target, output_gradients, where)
        dy = None
        if output_gradients is not None and not isinstance(target, (list, tuple)):
            dy = _core._operand(output_gradients, _core._dtype_code_of(y._h), where, "output_gradients")
        n = len(tensors) + len(variables)
        grads = (P * max(1, n))()
        src = _ffi.handle_array(t._h for t in tensors)
        var = _ffi.handle_array(v._vh for v in variables)
        status = F.loom_tape_gradient(self._h, y._h, src, len(tensors), var, len(variables),
                                      None if dy is None else dy._h, 1 if unconnected_gradients == "zero" else 0,
                                      grads)
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()
        results = [_wrap(_c_void_p(grads[i])) if grads[i] else None for i in range(n)]
        by_tensor = iter(results[:len(tensors)])
        by_variable = iter(results[len(tensors):])
        ordered = [next(by_variable) if isinstance(leaf, Variable) else next(by_tensor) for leaf in leaves]
        return pack_as(sources, ordered)

    def _target(self, target, output_gradients, where):
        if isinstance(target, Tensor):
            return target
        if isinstance(target, (list, tuple)):
            targets = flatten(target)
            if not targets:
                raise ValueError(f"{where}: target is an empty list")
            grads = flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
            if len(grads) != len(targets):
                raise ValueError(f"{where}: {len(targets)} targets but {len(grads)} output_gradients")
            paused = not self._recording
            if paused:
                check(F.loom_tape_resume_recording(self._h), where)
            try:
                total = None
                for t, g in zip(targets, grads):
                    t = _core.tensor(t, None, where, "target")
                    if g is not None:
                        t = t * _core._operand(g, _core._dtype_code_of(t._h), where, "output_gradients")
                    s = _core.reduce_op(b"reduce_sum", t, None, False, where)
                    total = s if total is None else total + s
            finally:
                if paused:
                    check(F.loom_tape_stop_recording(self._h), where)
            return total
        return _core.tensor(target, None, where, "target")


class _StopRecording:
    def __init__(self, tape):
        self._tape = tape
        self._paused = False

    def __enter__(self):
        tape = self._tape
        if tape._h is not None and tape._recording:
            check(F.loom_tape_stop_recording(tape._h), "loom.GradientTape.stop_recording")
            tape._recording = False
            self._paused = True
        return self

    def __exit__(self, *exc):
        if self._paused:
            check(F.loom_tape_resume_recording(self._tape._h), "loom.GradientTape.stop_recording")
            self._tape._recording = True
        return False


# ---------------------------------------------------------------------------------------------
# Custom gradients
# ---------------------------------------------------------------------------------------------
_cg_states = {}
_cg_keys = itertools.count(1)


def _adopt_borrowed(handles, n):
    """Tensors with new references to `n` borrowed handles (so that they may outlive the call)."""
    out = []
    for i in range(n):
        h = handles[i]
        if not h:
            out.append(None)
            continue
        dup = _c_void_p()
        code = ctypes.c_int32()
        check(F.loom_tensor_dtype(_c_void_p(h), _byref(code)), "loom (callback input)")
        check(F.loom_tensor_cast(_c_void_p(h), code.value, _byref(dup)), "loom (callback input)")
        out.append(_wrap(dup))
    return out


def new_reference(t, where):
    """A new reference to tensor `t` that C takes over (as an int handle value)."""
    out = _c_void_p()
    check(F.loom_tensor_cast(t._h, _core._dtype_code_of(t._h, where), _byref(out)), where)
    return out.value


def _forward(user, inputs, n_inputs, outputs, capacity, n_outputs):
    try:
        state = _cg_states[user]
        xs = _adopt_borrowed(inputs, n_inputs)
        result = state["fn"](*xs, **state["kwargs"])
        if not (isinstance(result, tuple) and len(result) == 2 and callable(result[1])):
            raise TypeError(f"loom.custom_gradient: {state['name']} must return (outputs, grad_fn), got "
                            f"{type(result).__name__}")
        ys, grad_fn = result
        multiple = isinstance(ys, (list, tuple))
        ys_list = list(ys) if multiple else [ys]
        if len(ys_list) > capacity:
            raise ValueError(f"loom.custom_gradient: {state['name']} returned {len(ys_list)} outputs, at most "
                             f"{capacity} are supported")
        tensors = [_core.tensor(y, None, "loom.custom_gradient", f"output[{i}]") for i, y in enumerate(ys_list)]
        state["grad_fn"] = grad_fn
        state["multiple"] = multiple
        state["n_inputs"] = n_inputs
        for i, t in enumerate(tensors):
            outputs[i] = new_reference(t, "loom.custom_gradient")
        n_outputs[0] = len(tensors)
        return 0
    except BaseException as e:  # noqa: BLE001 - nothing may unwind through C
        return _ffi.store_callback_error(e, "custom_gradient forward")


def _backward(user, inputs, n_inputs, output_grads, n_outputs, input_grads):
    try:
        state = _cg_states[user]
        dys = _adopt_borrowed(output_grads, n_outputs)
        grads = state["grad_fn"](*dys)
        if isinstance(grads, (list, tuple)):
            grads = list(grads)
        else:
            grads = [grads]
        if len(grads) != n_inputs:
            raise ValueError(f"loom.custom_gradient: the gradient function of {state['name']} returned "
                             f"{len(grads)} gradient(s) for {n_inputs} input(s)")
        for i, g in enumerate(grads):
            if g is None:
                input_grads[i] = None
                continue
            t = _core.tensor(g, None, "loom.custom_gradient", f"gradient[{i}]")
            input_grads[i] = new_reference(t, "loom.custom_gradient")
        return 0
    except BaseException as e:  # noqa: BLE001
        return _ffi.store_callback_error(e, "custom_gradient backward")


def _destroy(user):
    _cg_states.pop(user, None)


_FORWARD = _ffi.CUSTOM_FORWARD(_forward)
_BACKWARD = _ffi.CUSTOM_BACKWARD(_backward)
_DESTROY = _ffi.DESTROY(_destroy)
_MAX_OUTPUTS = 16


def custom_gradient(f=None):
    """TensorFlow's tf.custom_gradient: `f(*inputs)` returns ``(outputs, grad_fn)`` where
    ``grad_fn(*output_gradients)`` returns one gradient per input (None for none). The call is
    recorded on active tapes as one op whose gradient is grad_fn; ops inside f are not recorded.

        @loom.custom_gradient
        def clip_grad(x):
            def grad(dy):
                return loom.clip(dy, min=-1.0, max=1.0)
            return loom.identity(x), grad
    """
    if f is None:
        return custom_gradient

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        where = f"loom.custom_gradient({getattr(f, '__name__', 'f')})"
        tensors = [_core.tensor(a, None, where, f"args[{i}]") for i, a in enumerate(args)]
        key = next(_cg_keys)
        state = {"fn": f, "kwargs": kwargs, "name": getattr(f, "__name__", "f"), "multiple": False}
        _cg_states[key] = state
        ins = _ffi.handle_array(t._h for t in tensors)
        outs = (P * _MAX_OUTPUTS)()
        count = ctypes.c_int32()
        status = F.loom_custom_gradient(_FORWARD, _BACKWARD, key, _DESTROY, ins, len(tensors), outs, _MAX_OUTPUTS,
                                        _byref(count))
        multiple = state["multiple"]
        if status:
            _ffi.raise_for(status, where)
        _ffi.raise_pending()
        results = [_wrap(_c_void_p(outs[i])) for i in range(count.value)]
        return tuple(results) if multiple or len(results) > 1 else results[0]

    return wrapper
