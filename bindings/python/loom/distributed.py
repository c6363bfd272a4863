"""Data-parallel training across processes (loom::dist over the C ABI; docs/DISTRIBUTED.md).

Start the processes with mpirun, then::

    import loom, loom.distributed as dist
    dist.init()                                  # "mpi", or "nccl" for GPU tensors
    model.fit(x, y, batch_size=256, distributed=True)   # batch_size: the global batch
    total = dist.all_reduce(loom.tensor([dist.rank()]), "sum")
    dist.finalize()
"""
import ctypes

from . import Tensor, as_tensor
from ._ffi import F64, I32, call, out_handle

_REDUCE_OPS = {"sum": 0, "mean": 1, "max": 2, "min": 3}  # LOOM_REDUCE_*


def _op(op):
    if op not in _REDUCE_OPS:
        raise ValueError(f"unknown reduction {op!r} (sum, mean, max, min)")
    return _REDUCE_OPS[op]


def _int(name):
    value = I32()
    call(name, ctypes.byref(value))
    return value.value


def init(backend="mpi"):
    """Joins the job mpirun started: "mpi" (CPU tensors) or "nccl" (GPU tensors on GPU:local_rank)."""
    call("loom_dist_init", backend.encode())


def finalize():
    """Leaves the job (nothing to do when not initialised)."""
    call("loom_dist_finalize")


def initialized():
    return _int("loom_dist_initialized") == 1


def rank():
    return _int("loom_dist_rank")


def size():
    return _int("loom_dist_size")


def local_rank():
    """The rank among the processes of this machine (its GPU with NCCL)."""
    return _int("loom_dist_local_rank")


def set_timeout(seconds):
    """Seconds a collective waits for the other ranks before failing (LoomError, status DISTRIBUTED)."""
    call("loom_dist_set_timeout", float(seconds))


def timeout():
    value = F64()
    call("loom_dist_get_timeout", ctypes.byref(value))
    return value.value


def set_validation(enabled):
    """When on, each collective first checks that every rank makes the same call (shapes, dtypes)."""
    call("loom_dist_set_validation", 1 if enabled else 0)


def all_reduce(x, op="sum"):
    """op ("sum", "mean", "max", "min") over every rank's x."""
    return Tensor(out_handle("loom_dist_all_reduce", as_tensor(x)._handle, _op(op)))


def broadcast(x, root=0):
    """Rank root's x on every rank."""
    return Tensor(out_handle("loom_dist_broadcast", as_tensor(x)._handle, int(root)))


def all_gather(x):
    """Every rank's x joined along the first axis in rank order."""
    return Tensor(out_handle("loom_dist_all_gather", as_tensor(x)._handle))


def reduce_scatter(x, op="sum"):
    """op over every rank's x; this rank gets its block of the first axis."""
    return Tensor(out_handle("loom_dist_reduce_scatter", as_tensor(x)._handle, _op(op)))


def barrier():
    call("loom_dist_barrier")
