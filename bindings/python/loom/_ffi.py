"""Loading libloom and declaring the C functions used by the package (ctypes)."""
import ctypes
import ctypes.util
import os

ABI_VERSION = 1

STATUS_NAMES = {
    0: "OK", 1: "INVALID_ARGUMENT", 2: "SHAPE", 3: "DTYPE", 4: "DEVICE", 5: "OUT_OF_MEMORY", 6: "IO",
    7: "NOT_FOUND", 8: "UNIMPLEMENTED", 9: "INTERNAL", 10: "ABI_MISMATCH", 11: "CALLBACK",
}


class LoomError(Exception):
    """A failed loom call: `status` is the C status code, the message names the function."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.status_name = STATUS_NAMES.get(status, str(status))


def _candidates():
    if os.environ.get("LOOM_LIBRARY"):
        yield os.environ["LOOM_LIBRARY"]
    here = os.path.dirname(os.path.abspath(__file__))
    for build in ("build", "build-release"):
        yield os.path.join(here, "..", "..", "..", build, "src", "libloom.so")
    found = ctypes.util.find_library("loom")
    if found:
        yield found
    yield "libloom.so.0"


def _load():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError("cannot load libloom (set LOOM_LIBRARY to its path):\n  " + "\n  ".join(errors))


lib = _load()

P = ctypes.c_void_p
I32, I64, U64, F64, SZ, STR = ctypes.c_int32, ctypes.c_int64, ctypes.c_uint64, ctypes.c_double, ctypes.c_size_t, ctypes.c_char_p
PP = ctypes.POINTER(ctypes.c_void_p)
PI64 = ctypes.POINTER(I64)
PI32 = ctypes.POINTER(I32)
PF64 = ctypes.POINTER(F64)
EPOCH_CALLBACK = ctypes.CFUNCTYPE(I32, P, I32, ctypes.POINTER(STR), PF64, I32)

# name: (restype, argtypes); restype I32 is a loom_status checked by call().
_SIGNATURES = {
    "loom_init": (I32, [I32]),
    "loom_version_string": (STR, []),
    "loom_last_error_message": (STR, []),
    "loom_set_seed": (I32, [U64]),
    "loom_set_num_threads": (I32, [I32]),
    "loom_get_num_threads": (I32, []),
    "loom_tensor_from_host": (I32, [P, SZ, PI64, I32, I32, PP]),
    "loom_tensor_release": (None, [P]),
    "loom_tensor_shape": (I32, [P, PI64, I32, PI32]),
    "loom_tensor_dtype": (I32, [P, PI32]),
    "loom_tensor_nbytes": (I32, [P, ctypes.POINTER(SZ)]),
    "loom_tensor_to_host": (I32, [P, P, SZ]),
    "loom_tensor_cast": (I32, [P, I32, PP]),
    "loom_tensor_device": (I32, [P, ctypes.c_char_p, SZ]),
    "loom_tensor_to_device": (I32, [P, STR, PP]),
    "loom_tensor_random_normal": (I32, [PI64, I32, F64, F64, I32, U64, PP]),
    "loom_tensor_save_npy": (I32, [P, STR]),
    "loom_tensor_load_npy": (I32, [STR, PP]),
    "loom_mnist_load": (I32, [STR, PP, PP, PP, PP]),
    "loom_attrs_new": (I32, [PP]),
    "loom_attrs_release": (None, [P]),
    "loom_attrs_set_int": (I32, [P, STR, I64]),
    "loom_attrs_set_float": (I32, [P, STR, F64]),
    "loom_attrs_set_bool": (I32, [P, STR, I32]),
    "loom_attrs_set_string": (I32, [P, STR, STR]),
    "loom_attrs_set_int_list": (I32, [P, STR, PI64, I32]),
    "loom_attrs_set_float_list": (I32, [P, STR, PF64, I32]),
    "loom_op_call": (I32, [STR, PP, I32, P, PP, I32, PI32]),
    "loom_matmul": (I32, [P, P, I32, I32, PP]),
    "loom_variable_new": (I32, [P, STR, I32, PP]),
    "loom_variable_release": (None, [P]),
    "loom_variable_tensor": (I32, [P, PP]),
    "loom_variable_read": (I32, [P, PP]),
    "loom_variable_assign": (I32, [P, P]),
    "loom_variable_assign_add": (I32, [P, P]),
    "loom_variable_assign_sub": (I32, [P, P]),
    "loom_tape_new": (I32, [I32, I32, PP]),
    "loom_tape_release": (None, [P]),
    "loom_tape_watch": (I32, [P, P]),
    "loom_tape_watch_variable": (I32, [P, P]),
    "loom_tape_stop_recording": (I32, [P]),
    "loom_tape_resume_recording": (I32, [P]),
    "loom_tape_gradient": (I32, [P, P, PP, I32, PP, I32, P, I32, PP]),
    "loom_layer_new": (I32, [STR, P, PP]),
    "loom_layer_release": (None, [P]),
    "loom_sequential_new": (I32, [PI64, I32, STR, PP]),
    "loom_sequential_add": (I32, [P, P]),
    "loom_model_release": (None, [P]),
    "loom_model_call": (I32, [P, P, I32, PP]),
    "loom_model_trainable_variables": (I32, [P, PP, I32, PI32]),
    "loom_model_weight_count": (I32, [P, PI32]),
    "loom_model_compile": (I32, [P, STR, P, STR, P, ctypes.POINTER(STR), I32]),
    "loom_model_fit": (I32, [P, P, P, P, EPOCH_CALLBACK, P, PF64, I32, PI32]),
    "loom_model_evaluate": (I32, [P, P, P, I64, PF64, I32, PI32]),
    "loom_model_metric_name": (I32, [P, I32, ctypes.c_char_p, SZ]),
    "loom_model_predict": (I32, [P, P, I64, PP]),
    "loom_model_save_weights": (I32, [P, STR]),
    "loom_model_load_weights": (I32, [P, STR, I32]),
    "loom_onnx_export": (I32, [P, STR, I32]),
    "loom_onnx_import": (I32, [STR, PP]),
    "loom_optimizer_new": (I32, [STR, P, PP]),
    "loom_optimizer_release": (None, [P]),
    "loom_optimizer_apply_gradients": (I32, [P, PP, PP, I32]),
}
for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes


def call(name, *args):
    """Calls a loom function that returns a status; raises LoomError on failure."""
    status = getattr(lib, name)(*args)
    if status != 0:
        raise LoomError(status, lib.loom_last_error_message().decode("utf-8", "replace"))


def out_handle(name, *args):
    """Calls a function whose last parameter is a handle out-parameter; returns the handle."""
    handle = ctypes.c_void_p()
    call(name, *args, ctypes.byref(handle))
    return handle.value


def int64_array(values):
    values = list(values)
    return (I64 * max(1, len(values)))(*values), len(values)


def handle_array(handles):
    handles = list(handles)
    return (ctypes.c_void_p * max(1, len(handles)))(*handles)


call("loom_init", ABI_VERSION)
