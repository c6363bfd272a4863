"""Optimizers by Keras name and arguments, for ``model.compile`` and custom training loops:

    opt = loom.optimizers.Adam(learning_rate=1e-3)
    with loom.GradientTape() as tape:
        loss = ...
    opt.apply_gradients(zip(tape.gradient(loss, variables), variables))

Learning-rate schedules (``loom.optimizers.schedules``) may be given as the learning rate.
"""
import ctypes

from . import _core, _ffi
from ._autograd import GradientTape, Variable
from ._api import fill
from ._core import Tensor
from ._ffi import F, check

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "get", "schedules"]

_INT_KEYS = ("decay_steps", "dynamic_growth_steps")


class _Schedule:
    """A learning-rate schedule loom computes (given as an optimizer's learning_rate)."""
    kind = None

    def config(self):
        raise NotImplementedError


class ExponentialDecay(_Schedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps) (floored when staircase)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)

    def config(self):
        return {"schedule": "exponential_decay", "learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate, "staircase": self.staircase}


class CosineDecay(_Schedule):
    """A cosine from initial_learning_rate down to alpha * initial_learning_rate over decay_steps."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.alpha = float(alpha)

    def config(self):
        return {"schedule": "cosine_decay", "learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha}


class PiecewiseConstantDecay(_Schedule):
    """values[i] while the step is below boundaries[i] (values has one more entry)."""

    def __init__(self, boundaries, values):
        self.boundaries = [int(b) for b in boundaries]
        self.values = [float(v) for v in values]

    def config(self):
        return {"schedule": "step_decay", "boundaries": self.boundaries, "values": self.values}


class schedules:
    """loom.optimizers.schedules.ExponentialDecay / CosineDecay / PiecewiseConstantDecay."""
    ExponentialDecay = ExponentialDecay
    CosineDecay = CosineDecay
    PiecewiseConstantDecay = PiecewiseConstantDecay
    LearningRateSchedule = _Schedule


class Optimizer:
    """An optimizer: a loom name ("sgd", "adam", "adamw", "rmsprop") and Keras arguments. The loom
    optimizer (with its slots) is made on the first apply_gradients."""

    _name = None

    def __init__(self, learning_rate, **config):
        where = f"loom.optimizers.{type(self).__name__}"
        self._h = None
        self._config = {}
        self._schedule = None
        self._set_learning_rate(learning_rate, where)
        for key, value in config.items():
            if value is None:
                continue
            if isinstance(value, bool):
                self._config[key] = value
            elif isinstance(value, (int, float)):
                self._config[key] = float(value) if key not in _INT_KEYS else int(value)
            else:
                raise TypeError(f"{where}: {key} must be a number, got {type(value).__name__}")

    def _set_learning_rate(self, value, where):
        if isinstance(value, _Schedule):
            self._schedule = value
            self._config.pop("learning_rate", None)
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{where}: learning_rate must be a number or a schedule, got {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{where}: learning_rate must be > 0, got {value}")
        self._schedule = None
        self._config["learning_rate"] = float(value)

    def __del__(self, _release=F.loom_optimizer_release):
        h = getattr(self, "_h", None)
        if h is not None:
            self._h = None
            _release(h)

    @property
    def name(self):
        return self._name

    def get_config(self):
        """{name: value} as loom takes them (the schedule's entries included)."""
        config = dict(self._config)
        if self._schedule is not None:
            config.update(self._schedule.config())
        return config

    @property
    def learning_rate(self):
        if self._schedule is not None:
            return self._schedule
        return self._config.get("learning_rate")

    @learning_rate.setter
    def learning_rate(self, value):
        where = f"loom.optimizers.{type(self).__name__}.learning_rate"
        if self._h is not None:
            raise NotImplementedError(f"{where}: loom's C ABI changes the learning rate of a compiled model "
                                      "(model.optimizer.learning_rate = ...), not of a standalone optimizer once it "
                                      "has taken a step")
        self._set_learning_rate(value, where)

    lr = learning_rate

    def _set_loss_scaling(self, initial_scale, dynamic, growth_steps, where):
        if self._h is not None:
            raise ValueError(f"{where}: the optimizer has taken a step already; wrap it before using it")
        self._config.update(loss_scale=initial_scale, dynamic_loss_scale=dynamic, dynamic_growth_steps=growth_steps)

    @property
    def loss_scale(self):
        """The factor losses are multiplied by before their gradients are taken (1: no scaling)."""
        if self._h is None:
            return self._config.get("loss_scale", 1.0)
        value = ctypes.c_double()
        check(F.loom_optimizer_loss_scale(self._h, ctypes.byref(value)), "loom.optimizers.Optimizer.loss_scale")
        return value.value

    def _handle(self):
        if self._h is None:
            where = f"loom.optimizers.{type(self).__name__}"
            attrs = _core.config_attrs(self.get_config(), where)
            h = ctypes.c_void_p()
            check(F.loom_optimizer_new(self._name.encode(), None if attrs is None else attrs._h, ctypes.byref(h)),
                  where)
            self._h = h
        return self._h

    def apply_gradients(self, grads_and_vars):
        """One update of each variable with its gradient (None skips it); all or nothing."""
        where = f"loom.optimizers.{type(self).__name__}.apply_gradients"
        pairs = list(grads_and_vars)
        grads, variables = [], []
        for i, pair in enumerate(pairs):
            try:
                g, v = pair
            except (TypeError, ValueError):
                raise TypeError(f"{where}: grads_and_vars[{i}] must be a (gradient, variable) pair") from None
            if not isinstance(v, Variable):
                raise TypeError(f"{where}: grads_and_vars[{i}][1] must be a loom.Variable, got {type(v).__name__}")
            if g is not None and not isinstance(g, Tensor):
                g = _core.tensor(g, v.dtype, where, f"grads_and_vars[{i}][0]")
            grads.append(g)
            variables.append(v)
        if not pairs:
            return
        h = self._handle()
        gs = _ffi.handle_array(None if g is None else g._h for g in grads)
        vs = _ffi.handle_array(v._vh for v in variables)
        check(F.loom_optimizer_apply_gradients(h, gs, vs, len(pairs)), where)

    def minimize(self, loss, var_list, tape=None):
        """Takes the gradient of `loss` (a callable, or a tensor recorded on `tape`) with respect
        to `var_list` and applies it."""
        where = f"loom.optimizers.{type(self).__name__}.minimize"
        var_list = list(var_list() if callable(var_list) else var_list)
        if callable(loss):
            with GradientTape() as tape:
                value = loss()
        elif tape is None:
            raise ValueError(f"{where}: a loss tensor needs the tape that recorded it (tape=...)")
        else:
            value = loss
        # Under loss scaling the gradient flowing into the loss is the scale: the gradients of
        # loss * scale, which apply_gradients divides back.
        scale = self.loss_scale
        seed = None if scale == 1 else fill(value.shape, scale, value.dtype)
        grads = tape.gradient(value, var_list, output_gradients=seed)
        self.apply_gradients(zip(grads, var_list))
        return value

    def __repr__(self):
        return f"loom.optimizers.{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum."""
    _name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None):
        super().__init__(learning_rate, momentum=momentum, nesterov=bool(nesterov), clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm)


class Adam(Optimizer):
    """Adam."""
    _name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, clipnorm=None, clipvalue=None,
                 global_clipnorm=None):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm)


class AdamW(Optimizer):
    """Adam with decoupled weight decay."""
    _name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm)


class RMSprop(Optimizer):
    """RMSprop."""
    _name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, clipnorm=None,
                 clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, rho=rho, momentum=momentum, epsilon=epsilon, centered=bool(centered),
                         clipnorm=clipnorm, clipvalue=clipvalue, global_clipnorm=global_clipnorm)


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def get(identifier):
    """An Optimizer from a name ("adam") or an Optimizer (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"loom.optimizers.get: unknown optimizer {identifier!r} (sgd, adam, adamw, rmsprop)")
        return cls()
    raise TypeError(f"loom.optimizers.get: expected a name or an Optimizer, got {type(identifier).__name__}")
