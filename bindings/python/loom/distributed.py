"""Data-parallel training across processes (loom::dist over the C ABI; docs/DISTRIBUTED.md).

Start the processes with mpirun, then::

    import loom, loom.distributed as dist
    dist.init()                                          # "mpi", or "nccl" for GPU tensors
    model.fit(x, y, batch_size=256, distributed=True)    # batch_size: the global batch
    total = dist.all_reduce(loom.tensor([dist.rank()]), "sum")
    dist.finalize()

A collective that fails or outlives the timeout raises loom.DistributedError.
"""
import ctypes

from . import _core
from ._core import _wrap
from ._ffi import F, check

__all__ = ["init", "finalize", "initialized", "rank", "size", "local_rank", "set_timeout", "timeout",
           "set_validation", "all_reduce", "broadcast", "all_gather", "reduce_scatter", "barrier"]

_REDUCE_OPS = {"sum": 0, "mean": 1, "max": 2, "min": 3}  # LOOM_REDUCE_*


def _op(op, where):
    if op not in _REDUCE_OPS:
        raise ValueError(f"{where}: unknown reduction {op!r} (sum, mean, max, min)")
    return _REDUCE_OPS[op]


def _int(function, where):
    value = ctypes.c_int32()
    check(getattr(F, function)(ctypes.byref(value)), where)
    return value.value


def _collective(function, where, x, *args):
    """A collective's result for this rank's `x` (a tensor or anything loom.tensor takes)."""
    t = _core.tensor(x, None, where, "x")
    out = ctypes.c_void_p()
    check(getattr(F, function)(t._h, *args, ctypes.byref(out)), where)
    return _wrap(out)


def init(backend="mpi"):
    """Joins the job mpirun started: "mpi" (CPU tensors) or "nccl" (GPU tensors on GPU:local_rank)."""
    if not isinstance(backend, str):
        raise TypeError(f"loom.distributed.init: backend must be a string, got {type(backend).__name__}")
    check(F.loom_dist_init(backend.encode()), "loom.distributed.init")


def finalize():
    """Leaves the job (nothing to do when not initialised)."""
    check(F.loom_dist_finalize(), "loom.distributed.finalize")


def initialized():
    return _int("loom_dist_initialized", "loom.distributed.initialized") == 1


def rank():
    return _int("loom_dist_rank", "loom.distributed.rank")


def size():
    return _int("loom_dist_size", "loom.distributed.size")


def local_rank():
    """The rank among the processes of this machine (its GPU with NCCL)."""
    return _int("loom_dist_local_rank", "loom.distributed.local_rank")


def set_timeout(seconds):
    """Seconds a collective waits for the other ranks before failing (DistributedError)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"loom.distributed.set_timeout: seconds must be a number, got {type(seconds).__name__}")
    check(F.loom_dist_set_timeout(float(seconds)), "loom.distributed.set_timeout")


def timeout():
    value = ctypes.c_double()
    check(F.loom_dist_get_timeout(ctypes.byref(value)), "loom.distributed.timeout")
    return value.value


def set_validation(enabled):
    """When on, each collective first checks that every rank makes the same call (shapes, dtypes)."""
    check(F.loom_dist_set_validation(1 if enabled else 0), "loom.distributed.set_validation")


def all_reduce(x, op="sum"):
    """op ("sum", "mean", "max", "min") over every rank's x."""
    where = "loom.distributed.all_reduce"
    return _collective("loom_dist_all_reduce", where, x, _op(op, where))


def broadcast(x, root=0):
    """Rank root's x on every rank."""
    where = "loom.distributed.broadcast"
    if not _core._is_int(root):
        raise TypeError(f"{where}: root must be an int, got {type(root).__name__}")
    return _collective("loom_dist_broadcast", where, x, int(root))


def all_gather(x):
    """Every rank's x joined along the first axis in rank order."""
    return _collective("loom_dist_all_gather", "loom.distributed.all_gather", x)


def reduce_scatter(x, op="sum"):
    """op over every rank's x; this rank gets its block of the first axis."""
    where = "loom.distributed.reduce_scatter"
    return _collective("loom_dist_reduce_scatter", where, x, _op(op, where))


def barrier():
    check(F.loom_dist_barrier(), "loom.distributed.barrier")
