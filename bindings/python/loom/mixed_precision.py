"""Mixed precision in Keras' shape (keras.mixed_precision):

    loom.mixed_precision.set_global_policy("mixed_bfloat16")   # layers made from now on
    model = loom.Sequential([..., loom.layers.Dense(10, dtype="float32")])

Layers under a mixed policy compute in bfloat16 or float16 and keep float32 variables; losses
and metrics are computed in float32. ``mixed_float16`` turns dynamic loss scaling on in
``compile``; a custom loop asks for it with ``LossScaleOptimizer``.
"""
import ctypes

from ._ffi import F, check
from .optimizers import Optimizer

__all__ = ["Policy", "set_global_policy", "global_policy", "LossScaleOptimizer"]

_POLICIES = {"float32": ("float32", "float32"), "mixed_bfloat16": ("bfloat16", "float32"),
             "mixed_float16": ("float16", "float32"), "bfloat16": ("bfloat16", "bfloat16"),
             "float16": ("float16", "float16")}


class Policy:
    """A dtype policy: the dtype a layer computes in and the dtype of its variables."""

    def __init__(self, name):
        if not isinstance(name, str):
            raise TypeError(f"loom.mixed_precision.Policy: name must be a string, got {type(name).__name__}")
        if name not in _POLICIES:
            raise ValueError(f"loom.mixed_precision.Policy: unknown policy {name!r} (known: {', '.join(_POLICIES)})")
        self.name = name
        self.compute_dtype, self.variable_dtype = _POLICIES[name]

    def __eq__(self, other):
        return isinstance(other, Policy) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f'<Policy "{self.name}">'


def policy_name(policy, where):
    """The name of a Policy or a policy name, checked."""
    if isinstance(policy, Policy):
        return policy.name
    try:
        return Policy(policy).name
    except (TypeError, ValueError) as e:
        raise type(e)(f"{where}: {str(e).split(': ', 1)[1]}") from None


def set_global_policy(policy):
    """Sets the policy of the layers made from now on ("float32", "mixed_bfloat16",
    "mixed_float16", "bfloat16", "float16" or a Policy)."""
    where = "loom.mixed_precision.set_global_policy"
    check(F.loom_set_global_policy(policy_name(policy, where).encode()), where)


def global_policy():
    """The Policy new layers get."""
    buf = ctypes.create_string_buffer(32)
    check(F.loom_global_policy(buf, len(buf)), "loom.mixed_precision.global_policy")
    return Policy(buf.value.decode())


def LossScaleOptimizer(inner_optimizer, dynamic=True, initial_scale=32768.0, dynamic_growth_steps=2000):
    """`inner_optimizer` with loss scaling: `minimize` (and `compile`) multiply the loss by
    `loss_scale`, `apply_gradients` divides it out and skips a step whose gradients are not
    finite (a dynamic scale then halves; it doubles after `dynamic_growth_steps` finite steps).
    A custom loop with its own tape multiplies its loss by `optimizer.loss_scale` itself."""
    where = "loom.mixed_precision.LossScaleOptimizer"
    if not isinstance(inner_optimizer, Optimizer):
        raise TypeError(f"{where}: inner_optimizer must be a loom.optimizers.Optimizer, got "
                        f"{type(inner_optimizer).__name__}")
    if isinstance(initial_scale, bool) or not isinstance(initial_scale, (int, float)) or not initial_scale >= 1:
        raise ValueError(f"{where}: initial_scale must be a number >= 1, got {initial_scale!r}")
    if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, int) or dynamic_growth_steps < 1:
        raise ValueError(f"{where}: dynamic_growth_steps must be a positive int, got {dynamic_growth_steps!r}")
    inner_optimizer._set_loss_scaling(float(initial_scale), bool(dynamic), dynamic_growth_steps, where)
    return inner_optimizer
