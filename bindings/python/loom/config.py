"""Devices and library settings (TensorFlow's tf.config): listing devices, memory limits,
growth and statistics, threads, matmul precision and cuDNN.

    loom.config.list_physical_devices("GPU")
    with loom.device("CPU:0"):
        ...
"""
import ctypes
import threading

from . import _ffi
from ._ffi import F, check

__all__ = ["PhysicalDevice", "list_physical_devices", "get_device", "device", "set_memory_limit", "set_memory_growth",
           "get_memory_info", "memory_stats", "synchronize", "set_float32_matmul_precision", "set_cudnn_enabled",
           "set_num_threads", "get_num_threads"]


class PhysicalDevice:
    """One device (loom_device_info): name ("CPU:0"), device_type ("CPU"/"GPU"), description,
    total_memory, free_memory and memory_limit in bytes (0 where unknown / none), and the CUDA
    compute capability (0, 0 for CPUs)."""

    __slots__ = ("name", "device_type", "description", "total_memory", "free_memory", "memory_limit",
                 "compute_capability")

    def __init__(self, info):
        self.name = info.name.decode()
        self.device_type = info.device_type.decode()
        self.description = info.description.decode("utf-8", "replace")
        self.total_memory = info.total_memory
        self.free_memory = info.free_memory
        self.memory_limit = info.memory_limit
        self.compute_capability = (info.compute_capability_major, info.compute_capability_minor)

    def __repr__(self):
        return f"PhysicalDevice(name={self.name!r}, device_type={self.device_type!r})"

    def __eq__(self, other):
        return isinstance(other, PhysicalDevice) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


def _info():
    info = _ffi.DeviceInfo()
    info.struct_size = ctypes.sizeof(_ffi.DeviceInfo)
    return info


def _text(value, where, arg):
    if isinstance(value, PhysicalDevice):
        return value.name
    if not isinstance(value, str):
        raise TypeError(f"{where}: {arg} must be a device name such as 'CPU:0' or 'GPU:0', got {type(value).__name__}")
    return value


def list_physical_devices(device_type=None):
    """The devices of a type ("CPU", "GPU"; None: all)."""
    where = "loom.config.list_physical_devices"
    kind = b"" if device_type is None else _text(device_type, where, "device_type").upper().encode()
    count = ctypes.c_int32()
    check(F.loom_device_count(kind, ctypes.byref(count)), where)
    out = []
    for i in range(count.value):
        info = _info()
        check(F.loom_device_info_get(kind, i, ctypes.byref(info)), where)
        out.append(PhysicalDevice(info))
    return out


def get_device(name):
    """The device of that name ("CPU:0", "GPU:1"); loom.DeviceError when there is none."""
    where = "loom.config.get_device"
    info = _info()
    check(F.loom_device_find(_text(name, where, "name").encode(), ctypes.byref(info)), where)
    return PhysicalDevice(info)


class device:
    """Pins this thread's ops to a device for the ``with`` block (scopes nest):
    ``with loom.device("GPU:0"): ...``. Also a decorator."""

    def __init__(self, name):
        self.name = _text(name, "loom.device", "name")
        self._depth = threading.local()

    def __enter__(self):
        check(F.loom_device_scope_push(self.name.encode()), "loom.device")
        self._depth.n = getattr(self._depth, "n", 0) + 1
        return self

    def __exit__(self, *exc):
        self._depth.n -= 1
        check(F.loom_device_scope_pop(), "loom.device")
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with device(self.name):
                return fn(*args, **kwargs)

        return wrapped

    def __repr__(self):
        return f"loom.device({self.name!r})"


def set_memory_limit(device_name, limit_bytes):
    """A hard limit for the device's allocator in bytes (0 or None removes it)."""
    where = "loom.config.set_memory_limit"
    if limit_bytes is None:
        limit_bytes = 0
    if isinstance(limit_bytes, bool) or not isinstance(limit_bytes, int):
        raise TypeError(f"{where}: limit_bytes must be an int, got {type(limit_bytes).__name__}")
    check(F.loom_device_set_memory_limit(_text(device_name, where, "device").encode(), limit_bytes), where)


def set_memory_growth(device_name, enable):
    """Grow GPU memory on demand (True, the default) or reserve it at first use."""
    where = "loom.config.set_memory_growth"
    check(F.loom_device_set_memory_growth(_text(device_name, where, "device").encode(), 1 if enable else 0), where)


def memory_stats(device_name="CPU:0"):
    """{"live_bytes", "peak_bytes", "cached_bytes"} of the device's allocator."""
    where = "loom.config.memory_stats"
    live, peak, cached = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
    check(F.loom_device_memory_stats(_text(device_name, where, "device").encode(), ctypes.byref(live),
                                     ctypes.byref(peak), ctypes.byref(cached)), where)
    return {"live_bytes": live.value, "peak_bytes": peak.value, "cached_bytes": cached.value}


def get_memory_info(device_name="CPU:0"):
    """TensorFlow's get_memory_info: {"current", "peak"} bytes (and "cached")."""
    stats = memory_stats(device_name)
    return {"current": stats["live_bytes"], "peak": stats["peak_bytes"], "cached": stats["cached_bytes"]}


def synchronize(device_name="CPU:0"):
    """Waits for all queued work on the device."""
    where = "loom.config.synchronize"
    check(F.loom_device_synchronize(_text(device_name, where, "device").encode()), where)


def set_float32_matmul_precision(precision):
    """float32 matrix products on GPUs: "highest" (full float32) or "high" (TF32)."""
    where = "loom.config.set_float32_matmul_precision"
    check(F.loom_set_float32_matmul_precision(_text(precision, where, "precision").encode()), where)


def set_cudnn_enabled(enabled):
    """GPU convolutions on cuDNN (True, the default) or on loom's own kernels."""
    check(F.loom_set_cudnn_enabled(1 if enabled else 0), "loom.config.set_cudnn_enabled")


def set_num_threads(n):
    from ._api import set_num_threads as impl
    impl(n)


def get_num_threads():
    return F.loom_get_num_threads()
