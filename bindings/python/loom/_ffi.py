"""Loading libloom and declaring every entry point of the C ABI (loom.h) for ctypes.

Everything here is private to the package. Conventions:
  - handles are ``ctypes.c_void_p`` objects (None or a c_void_p with value None is NULL);
  - every ``loom_status`` result is checked by ``check(status, where)``, which raises the
    ``LoomError`` subclass of the status (or the Python exception a callback stored, see
    ``store_callback_error``);
  - a Python exception raised inside a callback that C called is stored per thread, the
    callback returns an error status (after ``loom_set_error``) and the exception is raised
    again once the outer C call has returned.
"""
import ctypes
import ctypes.util
import os
import re
import threading

ABI_VERSION = 1

STATUS_NAMES = {
    0: "OK", 1: "INVALID_ARGUMENT", 2: "SHAPE", 3: "DTYPE", 4: "DEVICE", 5: "OUT_OF_MEMORY", 6: "IO",
    7: "NOT_FOUND", 8: "UNIMPLEMENTED", 9: "INTERNAL", 10: "ABI_MISMATCH", 11: "CALLBACK", 12: "DISTRIBUTED",
}
CALLBACK_STATUS = 11


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------
class LoomError(Exception):
    """A failed loom call. ``status`` is the C status code, ``status_name`` its name
    ("SHAPE", "DTYPE", ...); the message names the Python function, the C function and the op."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.status_name = STATUS_NAMES.get(status, str(status))


class InvalidArgumentError(LoomError, ValueError):
    """LOOM_ERROR_INVALID_ARGUMENT: a bad argument (a value out of range, a wrong handle)."""


class ShapeError(LoomError, ValueError):
    """LOOM_ERROR_SHAPE: shapes that do not fit."""


class DTypeError(LoomError, TypeError):
    """LOOM_ERROR_DTYPE: an unknown, unsupported or mismatched dtype."""


class DeviceError(LoomError):
    """LOOM_ERROR_DEVICE: a device that does not exist, or inputs on different devices."""


class OutOfMemoryError(LoomError):
    """LOOM_ERROR_OUT_OF_MEMORY: an allocation failed or exceeded a memory limit."""


class LoomIOError(LoomError, OSError):
    """LOOM_ERROR_IO: a file could not be read or written, or is corrupt."""

    def __str__(self):  # OSError's own __str__ would format (errno, strerror)
        return self.args[0] if self.args else ""


class NotFoundError(LoomError, LookupError):
    """LOOM_ERROR_NOT_FOUND: an unknown op, layer type, optimizer or layer name."""


class UnimplementedError(LoomError, NotImplementedError):
    """LOOM_ERROR_UNIMPLEMENTED: no kernel for the op on this device."""


class InternalError(LoomError):
    """LOOM_ERROR_INTERNAL: a bug in loom."""


class AbiMismatchError(LoomError):
    """LOOM_ERROR_ABI_MISMATCH: the library is older than this package needs."""


class CallbackError(LoomError):
    """LOOM_ERROR_CALLBACK: a user callback failed or returned bad handles."""


class DistributedError(LoomError):
    """LOOM_ERROR_DISTRIBUTED: a collective failed or timed out, or no communicator."""


ERROR_CLASSES = {
    1: InvalidArgumentError, 2: ShapeError, 3: DTypeError, 4: DeviceError, 5: OutOfMemoryError, 6: LoomIOError,
    7: NotFoundError, 8: UnimplementedError, 9: InternalError, 10: AbiMismatchError, 11: CallbackError,
    12: DistributedError,
}


# ---------------------------------------------------------------------------------------------
# Finding the library
# ---------------------------------------------------------------------------------------------
_LIB_NAMES = ("libloom.so", "libloom.so.0", "libloom.dylib", "loom.dll")


def _candidates():
    """Where libloom may be, in order (see the package README / pyproject)."""
    env = os.environ.get("LOOM_LIBRARY")
    if env:
        yield env
        return  # an explicit override is not second-guessed
    here = os.path.dirname(os.path.abspath(__file__))
    try:  # written by `cmake --install` (cmake/LoomInstall.cmake)
        from . import _install_paths  # noqa: PLC0415
        for name in _LIB_NAMES:
            yield os.path.join(_install_paths.LIBRARY_DIR, name)
    except ImportError:
        pass
    # Installed into PREFIX/lib/pythonX.Y/dist-packages/loom: the library is in PREFIX/lib (or
    # PREFIX/lib64, PREFIX/lib/<multiarch>).
    prefix_lib = os.path.normpath(os.path.join(here, "..", "..", ".."))
    prefix = os.path.dirname(prefix_lib)
    for libdir in (prefix_lib, os.path.join(prefix, "lib64")):
        for name in _LIB_NAMES:
            yield os.path.join(libdir, name)
    # Run from the source tree: bindings/python/loom -> the repository's build folders.
    repo = os.path.normpath(os.path.join(here, "..", "..", ".."))
    for build in ("build", "build-release"):
        yield os.path.join(repo, build, "src", "libloom.so")
    found = ctypes.util.find_library("loom")
    if found:
        yield found
    yield "libloom.so.0"


def _load():
    errors = []
    seen = set()
    for path in _candidates():
        if path in seen:
            continue
        seen.add(path)
        if os.path.isabs(path) and not os.path.exists(path):
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError("loom: cannot load libloom (set LOOM_LIBRARY to the path of libloom.so):\n  " +
                      "\n  ".join(errors or ["no candidate found"]))


lib, LIBRARY_PATH = _load()

# ---------------------------------------------------------------------------------------------
# Types and signatures
# ---------------------------------------------------------------------------------------------
P = ctypes.c_void_p
I32, I64, U64, F64, SZ, STR = (ctypes.c_int32, ctypes.c_int64, ctypes.c_uint64, ctypes.c_double, ctypes.c_size_t,
                               ctypes.c_char_p)
PP = ctypes.POINTER(ctypes.c_void_p)
PI64 = ctypes.POINTER(I64)
PI32 = ctypes.POINTER(I32)
PF64 = ctypes.POINTER(F64)
PSZ = ctypes.POINTER(SZ)
PSTR = ctypes.POINTER(STR)
BUF = ctypes.c_char_p  # writable char buffers (create_string_buffer)

DELETER = ctypes.CFUNCTYPE(None, P, P)
EPOCH_CALLBACK = ctypes.CFUNCTYPE(I32, P, I32, PSTR, PF64, I32)
CUSTOM_FORWARD = ctypes.CFUNCTYPE(I32, P, PP, I32, PP, I32, PI32)
CUSTOM_BACKWARD = ctypes.CFUNCTYPE(I32, P, PP, I32, PP, I32, PP)
DESTROY = ctypes.CFUNCTYPE(None, P)
LAYER_CREATE = ctypes.CFUNCTYPE(I32, P, STR, PP)
LAYER_BUILD = ctypes.CFUNCTYPE(I32, P, P, PI64, I32)
LAYER_CALL = ctypes.CFUNCTYPE(I32, P, P, PP, I32, I32, PP)
LAYER_GET_CONFIG = ctypes.CFUNCTYPE(I32, P, P, SZ, PSZ)
FIT_EPOCH_END = ctypes.CFUNCTYPE(I32, P, P, I32, PSTR, PF64, I32)
FIT_BATCH_END = ctypes.CFUNCTYPE(I32, P, P, I64, PSTR, PF64, I32)


class DeviceInfo(ctypes.Structure):
    """loom_device_info."""
    _fields_ = [
        ("struct_size", SZ),
        ("name", ctypes.c_char * 32),
        ("device_type", ctypes.c_char * 8),
        ("description", ctypes.c_char * 256),
        ("total_memory", I64),
        ("free_memory", I64),
        ("memory_limit", I64),
        ("compute_capability_major", I32),
        ("compute_capability_minor", I32),
    ]


class LayerType(ctypes.Structure):
    """loom_layer_type."""
    _fields_ = [
        ("struct_size", SZ),
        ("create", LAYER_CREATE),
        ("build", LAYER_BUILD),
        ("call", LAYER_CALL),
        ("get_config", LAYER_GET_CONFIG),
        ("destroy", DESTROY),
        ("type_user", P),
        ("destroy_type", DESTROY),
    ]


class FitCallbacks(ctypes.Structure):
    """loom_fit_callbacks."""
    _fields_ = [
        ("struct_size", SZ),
        ("epoch_end", FIT_EPOCH_END),
        ("batch_end", FIT_BATCH_END),
        ("user", P),
    ]


S = I32  # loom_status
V = None  # void
# name: (restype, argtypes). Every function of loom.h is here (tests/test_ffi.py checks it).
SIGNATURES = {
    # library
    "loom_abi_version": (I32, []),
    "loom_version_string": (STR, []),
    "loom_init": (S, [I32]),
    "loom_last_error_code": (S, []),
    "loom_last_error_message": (STR, []),
    "loom_last_error_copy": (SZ, [BUF, SZ]),
    "loom_set_num_threads": (S, [I32]),
    "loom_get_num_threads": (I32, []),
    "loom_set_seed": (S, [U64]),
    "loom_set_global_policy": (S, [STR]),
    "loom_global_policy": (S, [BUF, SZ]),
    # tensors
    "loom_tensor_from_host": (S, [P, SZ, PI64, I32, I32, PP]),
    "loom_tensor_wrap_host": (S, [P, SZ, PI64, I32, I32, DELETER, P, PP]),
    "loom_tensor_fill": (S, [PI64, I32, F64, I32, PP]),
    "loom_tensor_zeros": (S, [PI64, I32, I32, PP]),
    "loom_tensor_ones": (S, [PI64, I32, I32, PP]),
    "loom_tensor_arange": (S, [F64, F64, F64, I32, PP]),
    "loom_tensor_random_normal": (S, [PI64, I32, F64, F64, I32, U64, PP]),
    "loom_tensor_random_uniform": (S, [PI64, I32, F64, F64, I32, U64, PP]),
    "loom_tensor_release": (V, None),  # hot: handles are always c_void_p objects
    "loom_tensor_rank": (S, [P, PI32]),
    "loom_tensor_shape": (S, [P, PI64, I32, PI32]),
    "loom_tensor_dtype": (S, [P, PI32]),
    "loom_tensor_numel": (S, [P, PI64]),
    "loom_tensor_nbytes": (S, [P, PSZ]),
    "loom_tensor_device": (S, [P, BUF, SZ]),
    "loom_tensor_to_host": (S, [P, P, SZ]),
    "loom_tensor_item": (S, [P, PF64]),
    "loom_tensor_cast": (S, [P, I32, PP]),
    "loom_tensor_to_device": (S, [P, STR, PP]),
    "loom_tensor_save_npy": (S, [P, STR]),
    "loom_tensor_load_npy": (S, [STR, PP]),
    "loom_idx_load": (S, [STR, PP]),
    # ops
    "loom_attrs_new": (S, [PP]),
    "loom_attrs_release": (V, [P]),
    "loom_attrs_set_int": (S, [P, STR, I64]),
    "loom_attrs_set_float": (S, [P, STR, F64]),
    "loom_attrs_set_bool": (S, [P, STR, I32]),
    "loom_attrs_set_string": (S, [P, STR, STR]),
    "loom_attrs_set_int_list": (S, [P, STR, PI64, I32]),
    "loom_attrs_set_float_list": (S, [P, STR, PF64, I32]),
    "loom_attrs_set_dtype": (S, [P, STR, I32]),
    "loom_op_call": (S, [STR, PP, I32, P, PP, I32, PI32]),
    "loom_op_count": (S, [PI32]),
    "loom_op_name": (S, [I32, BUF, SZ]),
    "loom_op_schema": (S, [STR, BUF, SZ, PSZ]),
    # typed fast paths: (handle, handle, byref(out)); no argtypes (hot, always c_void_p objects)
    "loom_add": (S, None),
    "loom_sub": (S, None),
    "loom_mul": (S, None),
    "loom_div": (S, None),
    "loom_matmul": (S, [P, P, I32, I32, PP]),
    "loom_exp": (S, [P, PP]),
    "loom_relu": (S, [P, PP]),
    "loom_reduce_sum": (S, [P, PI64, I32, I32, PP]),
    "loom_reduce_mean": (S, [P, PI64, I32, I32, PP]),
    "loom_reshape": (S, [P, PI64, I32, PP]),
    "loom_transpose": (S, [P, PI64, I32, PP]),
    "loom_conv2d": (S, [P, P, P, PI64, STR, PP]),
    "loom_softmax": (S, [P, I64, PP]),
    # variables
    "loom_variable_new": (S, [P, STR, I32, PP]),
    "loom_variable_release": (V, [P]),
    "loom_variable_tensor": (S, [P, PP]),
    "loom_variable_read": (S, [P, PP]),
    "loom_variable_name": (S, [P, BUF, SZ]),
    "loom_variable_assign": (S, [P, P]),
    "loom_variable_assign_add": (S, [P, P]),
    "loom_variable_assign_sub": (S, [P, P]),
    "loom_variable_assign_slice": (S, [P, PI64, PI64, PI64, I32, P]),
    # tape
    "loom_tape_new": (S, [I32, I32, PP]),
    "loom_tape_release": (V, [P]),
    "loom_tape_watch": (S, [P, P]),
    "loom_tape_watch_variable": (S, [P, P]),
    "loom_tape_stop_recording": (S, [P]),
    "loom_tape_resume_recording": (S, [P]),
    "loom_tape_reset": (S, [P]),
    "loom_tape_gradient": (S, [P, P, PP, I32, PP, I32, P, I32, PP]),
    "loom_custom_gradient": (S, [CUSTOM_FORWARD, CUSTOM_BACKWARD, P, DESTROY, PP, I32, PP, I32, PI32]),
    # devices
    "loom_device_count": (S, [STR, PI32]),
    "loom_device_info_get": (S, [STR, I32, ctypes.POINTER(DeviceInfo)]),
    "loom_device_find": (S, [STR, ctypes.POINTER(DeviceInfo)]),
    "loom_device_scope_push": (S, [STR]),
    "loom_device_scope_pop": (S, []),
    "loom_device_set_memory_limit": (S, [STR, I64]),
    "loom_device_set_memory_growth": (S, [STR, I32]),
    "loom_device_synchronize": (S, [STR]),
    "loom_device_memory_stats": (S, [STR, PI64, PI64, PI64]),
    "loom_set_float32_matmul_precision": (S, [STR]),
    "loom_set_cudnn_enabled": (S, [I32]),
    # layers and models
    "loom_layer_new": (S, [STR, P, PP]),
    "loom_layer_release": (V, [P]),
    "loom_layer_name": (S, [P, BUF, SZ]),
    "loom_layer_call": (S, [P, P, I32, PP]),
    "loom_layer_weight_count": (S, [P, PI32]),
    "loom_layer_weight": (S, [P, I32, PP]),
    "loom_sequential_new": (S, [PI64, I32, STR, PP]),
    "loom_sequential_add": (S, [P, P]),
    "loom_model_release": (V, [P]),
    "loom_model_layer_count": (S, [P, PI32]),
    "loom_model_get_layer": (S, [P, I32, PP]),
    "loom_model_get_layer_by_name": (S, [P, STR, PP]),
    "loom_model_call": (S, [P, P, I32, PP]),
    "loom_model_trainable_variables": (S, [P, PP, I32, PI32]),
    "loom_model_weight_count": (S, [P, PI32]),
    "loom_model_get_weights": (S, [P, PP, I32]),
    "loom_model_set_weights": (S, [P, PP, I32]),
    "loom_model_compile": (S, [P, STR, P, STR, P, PSTR, I32]),
    "loom_model_fit": (S, [P, P, P, P, EPOCH_CALLBACK, P, PF64, I32, PI32]),
    "loom_model_evaluate": (S, [P, P, P, I64, PF64, I32, PI32]),
    "loom_model_metric_name": (S, [P, I32, BUF, SZ]),
    "loom_model_predict": (S, [P, P, I64, PP]),
    "loom_model_save_weights": (S, [P, STR]),
    "loom_model_load_weights": (S, [P, STR, I32]),
    # optimizers
    "loom_optimizer_new": (S, [STR, P, PP]),
    "loom_optimizer_release": (V, [P]),
    "loom_optimizer_loss_scale": (S, [P, PF64]),
    # distributed training (loom.distributed)
    "loom_dist_init": (S, [STR]),
    "loom_dist_finalize": (S, []),
    "loom_dist_initialized": (S, [PI32]),
    "loom_dist_rank": (S, [PI32]),
    "loom_dist_size": (S, [PI32]),
    "loom_dist_local_rank": (S, [PI32]),
    "loom_dist_set_timeout": (S, [F64]),
    "loom_dist_get_timeout": (S, [PF64]),
    "loom_dist_set_validation": (S, [I32]),
    "loom_dist_all_reduce": (S, [P, I32, PP]),
    "loom_dist_all_reduce_variable": (S, [P, I32]),
    "loom_dist_broadcast": (S, [P, I32, PP]),
    "loom_dist_broadcast_variable": (S, [P, I32]),
    "loom_dist_broadcast_model": (S, [P, I32]),
    "loom_dist_all_gather": (S, [P, PP]),
    "loom_dist_reduce_scatter": (S, [P, I32, PP]),
    "loom_dist_barrier": (S, []),
    "loom_dist_optimizer_new": (S, [P, I64, PP]),
    "loom_dist_optimizer_release": (V, [P]),
    "loom_dist_optimizer_watch": (S, [P, P, PP, I32]),
    "loom_dist_optimizer_apply_gradients": (S, [P, PP, PP, I32]),
    "loom_dist_optimizer_broadcast_state": (S, [P, PP, I32, I32]),
    "loom_dist_optimizer_stats": (S, [P, PI64, PI64, PF64, PF64]),
    "loom_optimizer_apply_gradients": (S, [P, PP, PP, I32]),
    # functional models
    "loom_input_new": (S, [PI64, I32, I32, STR, PP]),
    "loom_symbolic_release": (V, [P]),
    "loom_symbolic_shape": (S, [P, PI64, I32, PI32]),
    "loom_symbolic_dtype": (S, [P, PI32]),
    "loom_layer_apply": (S, [P, PP, I32, PP, I32, PI32]),
    "loom_model_new": (S, [PP, I32, PP, I32, STR, PP]),
    "loom_model_as_layer": (S, [P, PP]),
    "loom_model_summary": (S, [P, BUF, SZ, PSZ]),
    "loom_model_input_count": (S, [P, PI32]),
    "loom_model_output_count": (S, [P, PI32]),
    # custom layers
    "loom_register_layer_type": (S, [STR, ctypes.POINTER(LayerType)]),
    "loom_layer_new_custom": (S, [STR, STR, STR, PP]),
    "loom_layer_add_weight": (S, [P, STR, PI64, I32, I32, STR, I32, PP]),
    "loom_layer_track": (S, [P, P]),
    "loom_set_error": (S, [S, STR]),
    # training with several inputs and outputs
    "loom_model_fit_arrays": (S, [P, PP, I32, PP, I32, P, ctypes.POINTER(FitCallbacks), PF64, I32, PI32]),
    "loom_model_evaluate_arrays": (S, [P, PP, I32, PP, I32, I64, PF64, I32, PI32]),
    "loom_model_predict_arrays": (S, [P, PP, I32, I64, PP, I32, PI32]),
    "loom_model_metric_count": (S, [P, PI32]),
    "loom_model_stop_training": (S, [P]),
    "loom_model_set_learning_rate": (S, [P, F64]),
    "loom_model_get_learning_rate": (S, [P, PF64]),
    # files
    "loom_model_save": (S, [P, STR]),
    "loom_model_save_as": (S, [P, STR, I32]),
    "loom_model_load": (S, [STR, I32, PP]),
    "loom_model_save_checkpoint": (S, [P, STR, I32]),
    "loom_model_load_checkpoint": (S, [P, STR, PI32]),
    "loom_named_tensors_new": (S, [PP]),
    "loom_named_tensors_release": (V, [P]),
    "loom_safetensors_load": (S, [STR, PP]),
    "loom_safetensors_save": (S, [STR, P]),
    "loom_named_tensors_count": (S, [P, PI32]),
    "loom_named_tensors_name": (S, [P, I32, BUF, SZ]),
    "loom_named_tensors_get": (S, [P, STR, PP]),
    "loom_named_tensors_set": (S, [P, STR, P]),
    "loom_named_tensors_metadata_count": (S, [P, PI32]),
    "loom_named_tensors_metadata_key": (S, [P, I32, BUF, SZ]),
    "loom_named_tensors_metadata_get": (S, [P, STR, BUF, SZ, PSZ]),
    "loom_named_tensors_metadata_set": (S, [P, STR, STR]),
    "loom_idx_save": (S, [STR, P]),
    "loom_mnist_load": (S, [STR, PP, PP, PP, PP]),
    "loom_onnx_export": (S, [P, STR, I32]),
    "loom_onnx_import": (S, [STR, PP]),
    "loom_onnx_import_operators": (S, [BUF, SZ, PSZ]),
}


class _Functions:
    """The declared C functions as attributes (f.loom_add, ...)."""


F = _Functions()
MISSING = []
for _name, (_restype, _argtypes) in SIGNATURES.items():
    try:
        _fn = getattr(lib, _name)
    except AttributeError:  # an older library: the function fails when used
        MISSING.append(_name)
        continue
    _fn.restype = _restype
    if _argtypes is not None:
        _fn.argtypes = _argtypes
    setattr(F, _name, _fn)

_last_error_message = lib.loom_last_error_message
_set_error = lib.loom_set_error

# ---------------------------------------------------------------------------------------------
# Status checks and errors from callbacks
# ---------------------------------------------------------------------------------------------
_pending = {}  # thread id -> the Python exception a callback raised during the current C call
_get_ident = threading.get_ident


def last_error_message():
    raw = _last_error_message()
    return raw.decode("utf-8", "replace") if raw else ""


def make_error(status, where):
    """The LoomError subclass for `status`, its message `where: <C message>`."""
    message = last_error_message()
    if where:
        message = f"{where}: {message}"
    return ERROR_CLASSES.get(status, LoomError)(status, message)


def check(status, where=None):
    """Raises for a failed status: the exception a Python callback raised during the call, if
    one did, else the LoomError subclass of the status with the C message."""
    if status:
        raise_for(status, where)


def raise_for(status, where):
    exc = _pending.pop(_get_ident(), None)
    if exc is not None:
        raise exc
    raise make_error(status, where)


def raise_pending():
    """After a C call that succeeded although a callback failed (a fit callback's error stops
    training without a C error): raises the stored exception, if any."""
    if _pending:
        exc = _pending.pop(_get_ident(), None)
        if exc is not None:
            raise exc


def store_callback_error(exc, where):
    """Called in a ctypes callback's `except`: keeps `exc` for the thread (the first one wins
    until it is raised) and records a C error message; returns the status to return to C."""
    ident = _get_ident()
    if ident not in _pending:
        _pending[ident] = exc
    try:
        text = f"{where}: {type(exc).__name__}: {exc}"
        _set_error(CALLBACK_STATUS, text.encode("utf-8", "replace"))
    except Exception:  # pragma: no cover - never let anything escape into C
        pass
    return CALLBACK_STATUS


def clear_pending():
    _pending.pop(_get_ident(), None)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def int64_array(values):
    values = [int(v) for v in values]
    return (I64 * max(1, len(values)))(*values), len(values)


def handle_array(handles):
    handles = list(handles)
    return (P * max(1, len(handles)))(*handles)


def read_string(fn, *args, where=None, size=256):
    """Calls fn(*args, buffer, capacity) that copies a NUL-terminated string out, growing the
    buffer when the string does not fit."""
    for _ in range(4):
        buffer = ctypes.create_string_buffer(size)
        status = fn(*args, buffer, size)
        if status == 0:
            return buffer.value.decode("utf-8", "replace")
        needed = re.search(r"cannot hold .*\(needs (\d+)\)$", last_error_message(), re.S)
        if needed is None or int(needed.group(1)) <= size:
            break
        size = int(needed.group(1))
    raise_for(status, where)


def read_sized_string(fn, *args, where=None):
    """Calls fn(*args, buffer, capacity, &needed) that reports the size it needs."""
    needed = SZ(0)
    check(fn(*args, None, 0, ctypes.byref(needed)), where)
    size = max(1, needed.value)
    buffer = ctypes.create_string_buffer(size)
    check(fn(*args, buffer, size, ctypes.byref(needed)), where)
    return buffer.value.decode("utf-8", "replace")


check(F.loom_init(ABI_VERSION), "loom (import)")
