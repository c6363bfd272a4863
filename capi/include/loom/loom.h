/** \file loom.h
 * The loom C ABI: tensors, ops, variables, the gradient tape, devices, layers, models, training
 * and files, for C and any language with a C FFI.
 *
 * Conventions:
 *  - every call that can fail returns loom_status (0 = LOOM_OK); the message of the last
 *    failure on this thread is loom_last_error_message() ("loom_fn: [op] what went wrong");
 *  - results come back through trailing out-parameters; handle out-parameters are set to NULL
 *    on failure, so the caller owns nothing then;
 *  - every handle returned is a new reference released with `loom_<object>_release` (NULL is
 *    accepted); arguments are borrowed; containers keep their own references;
 *  - nothing aborts, exits or lets an exception escape; NULL, released and wrong-kind handles
 *    are LOOM_ERROR_INVALID_ARGUMENT;
 *  - `dims`/`rank` pairs describe a shape (rank 0: a scalar; dims may then be NULL), and
 *    `int32_t` flags are true when non-zero;
 *  - a C++ error maps to the status of its category (loom::ErrorCode); the C++ API documents
 *    what each entry point does in detail.
 *
 * Pure C99; only fixed-width integers, size_t, double, const char* and opaque handles cross. */
#ifndef LOOM_LOOM_H
#define LOOM_LOOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
/// Marks the exported entry points of the library.
#define LOOM_CAPI __declspec(dllexport)
#else
/// Marks the exported entry points of the library.
#define LOOM_CAPI __attribute__((visibility("default")))
#endif

/// Version of this header's ABI; loom_init(LOOM_ABI_VERSION) checks it against the library.
#define LOOM_ABI_VERSION 1

/// Result of every call that can fail: LOOM_OK or one of the LOOM_ERROR_* codes (append only;
/// 1 to 9 and 12 are the values of loom::ErrorCode).
typedef int32_t loom_status;
#define LOOM_OK 0                      ///< Success.
#define LOOM_ERROR_INVALID_ARGUMENT 1  ///< A bad argument: NULL, a released handle, a value out of range.
#define LOOM_ERROR_SHAPE 2             ///< Shapes that do not fit.
#define LOOM_ERROR_DTYPE 3             ///< An unknown, unsupported or mismatched dtype.
#define LOOM_ERROR_DEVICE 4            ///< A device that does not exist, or inputs on different devices.
#define LOOM_ERROR_OUT_OF_MEMORY 5     ///< An allocation failed or exceeded a memory limit.
#define LOOM_ERROR_IO 6                ///< A file could not be read or written, or is corrupt.
#define LOOM_ERROR_NOT_FOUND 7         ///< An unknown op, layer type, optimizer or layer name.
#define LOOM_ERROR_UNIMPLEMENTED 8     ///< No kernel for the op on this device.
#define LOOM_ERROR_INTERNAL 9          ///< A bug in loom.
#define LOOM_ERROR_ABI_MISMATCH 10     ///< loom_init: the application needs a newer library.
#define LOOM_ERROR_CALLBACK 11         ///< A user callback failed or returned bad handles.
#define LOOM_ERROR_DISTRIBUTED 12      ///< A collective failed or timed out, or no communicator (loom::DistributedError).

/* dtypes (append only). */
#define LOOM_F32 0   ///< float32 (loom::DType::Float32).
#define LOOM_F64 1   ///< float64.
#define LOOM_I32 2   ///< int32.
#define LOOM_I64 3   ///< int64.
#define LOOM_BOOL 4  ///< bool, one byte holding 0 or 1.
#define LOOM_U8 5    ///< uint8.
#define LOOM_F16 6   ///< IEEE float16.
#define LOOM_BF16 7  ///< bfloat16.

/* Open slice bounds for loom_variable_assign_slice. */
#define LOOM_SLICE_START INT64_MIN  ///< Open begin bound for loom_variable_assign_slice.
#define LOOM_SLICE_END INT64_MAX    ///< Open end bound for loom_variable_assign_slice.

typedef struct loom_tensor loom_tensor;        ///< Handle to an immutable tensor (loom::Tensor).
typedef struct loom_attrs loom_attrs;          ///< Handle to named attributes of an op or a config (loom::Attrs).
typedef struct loom_variable loom_variable;    ///< Handle to a mutable, named tensor (loom::Variable).
typedef struct loom_tape loom_tape;            ///< Handle to a gradient tape (loom::GradientTape).
typedef struct loom_layer loom_layer;          ///< Handle to a layer (loom::nn::Layer).
typedef struct loom_model loom_model;          ///< Handle to a Sequential model (loom::nn::Sequential).
typedef struct loom_optimizer loom_optimizer;  ///< Handle to an optimizer (loom::nn::Optimizer).
typedef struct loom_symbolic loom_symbolic;    ///< Handle to a symbolic tensor of a functional model (loom::nn::SymbolicTensor).
typedef struct loom_named_tensors loom_named_tensors;  ///< Handle to named tensors with string metadata (a safetensors file's contents).
typedef struct loom_dist_optimizer loom_dist_optimizer;  ///< Handle to an optimizer that averages gradients over ranks (loom::nn::DistributedOptimizer).

/* ---- library ---- */
/// The ABI version of the library (the LOOM_ABI_VERSION it was built with).
LOOM_CAPI int32_t loom_abi_version(void);
/// The library version, "MAJOR.MINOR.PATCH"; a static string.
LOOM_CAPI const char* loom_version_string(void);
/// Checks that the library serves the ABI the application was built for: call it first with
/// LOOM_ABI_VERSION. LOOM_ERROR_ABI_MISMATCH when the application was built against a newer
/// header (or the version is < 1).
LOOM_CAPI loom_status loom_init(int32_t abi_version);
/// The status of the last failure on this thread (LOOM_OK if none); success does not reset it.
LOOM_CAPI loom_status loom_last_error_code(void);
/// The message of the last failure on this thread. Valid until the next failing call on this
/// thread; "" when there was none.
LOOM_CAPI const char* loom_last_error_message(void);
/// Copies the message (truncated, NUL-terminated) into `buffer` of `capacity` bytes; returns its
/// full length without the NUL. `buffer` may be NULL (with any capacity) to ask for the length.
LOOM_CAPI size_t loom_last_error_copy(char* buffer, size_t capacity);
/// Sets the CPU thread budget (loom::set_num_threads); LOOM_ERROR_INVALID_ARGUMENT for n < 1.
LOOM_CAPI loom_status loom_set_num_threads(int32_t n);
/// The CPU thread budget.
LOOM_CAPI int32_t loom_get_num_threads(void);
/// Reseeds the global generator behind unseeded random calls (loom::set_seed).
LOOM_CAPI loom_status loom_set_seed(uint64_t seed);
/// Sets the dtype policy of layers made from now on (Keras' set_global_policy): "float32",
/// "mixed_bfloat16", "mixed_float16" (compute in 16 bits, float32 variables), "bfloat16",
/// "float16". A layer's own policy is its config attribute "dtype". LOOM_ERROR_INVALID_ARGUMENT
/// for an unknown name.
LOOM_CAPI loom_status loom_set_global_policy(const char* policy);
/// The name of the policy new layers on this thread get (truncated, NUL-terminated).
LOOM_CAPI loom_status loom_global_policy(char* buffer, size_t capacity);

/* ---- tensors ---- */
/// A tensor holding a copy of `nbytes` of row-major host data, which must equal numel * dtype
/// size (LOOM_ERROR_INVALID_ARGUMENT otherwise; LOOM_ERROR_DTYPE for an unknown dtype,
/// LOOM_ERROR_SHAPE for negative dims). Placed on the pushed device scope, else the CPU.
LOOM_CAPI loom_status loom_tensor_from_host(const void* data, size_t nbytes, const int64_t* dims, int32_t rank,
                                            int32_t dtype, loom_tensor** out);
/// Zero-copy: a CPU tensor over the caller's `data`, which must stay valid until
/// `deleter(data, user)` runs. The deleter (may be NULL) is called exactly once, when the last
/// tensor using the memory is released, and also when this call fails.
LOOM_CAPI loom_status loom_tensor_wrap_host(void* data, size_t nbytes, const int64_t* dims, int32_t rank, int32_t dtype,
                                            void (*deleter)(void* data, void* user), void* user, loom_tensor** out);
/// A tensor of the shape filled with `value`, converted to `dtype`.
LOOM_CAPI loom_status loom_tensor_fill(const int64_t* dims, int32_t rank, double value, int32_t dtype, loom_tensor** out);
/// A tensor of the shape filled with 0.
LOOM_CAPI loom_status loom_tensor_zeros(const int64_t* dims, int32_t rank, int32_t dtype, loom_tensor** out);
/// A tensor of the shape filled with 1.
LOOM_CAPI loom_status loom_tensor_ones(const int64_t* dims, int32_t rank, int32_t dtype, loom_tensor** out);
/// start, start + step, ... up to (not including) stop; LOOM_ERROR_INVALID_ARGUMENT for a zero
/// step.
LOOM_CAPI loom_status loom_tensor_arange(double start, double stop, double step, int32_t dtype, loom_tensor** out);
/// Normal values from `seed` (the same on every run and device); dtype LOOM_F32 or LOOM_F64.
LOOM_CAPI loom_status loom_tensor_random_normal(const int64_t* dims, int32_t rank, double mean, double stddev, int32_t dtype,
                                                uint64_t seed, loom_tensor** out);
/// Uniform values in [minval, maxval) from `seed`; dtype LOOM_F32, LOOM_F64, LOOM_I32 or LOOM_I64.
LOOM_CAPI loom_status loom_tensor_random_uniform(const int64_t* dims, int32_t rank, double minval, double maxval,
                                                 int32_t dtype, uint64_t seed, loom_tensor** out);
/// Releases a tensor handle (NULL is accepted; a stale handle is reported through the last
/// error and otherwise ignored).
LOOM_CAPI void loom_tensor_release(loom_tensor* tensor);
/// The number of axes.
LOOM_CAPI loom_status loom_tensor_rank(const loom_tensor* tensor, int32_t* out);
/// Writes up to `capacity` dims and the rank (which may exceed capacity); `rank` may be NULL.
LOOM_CAPI loom_status loom_tensor_shape(const loom_tensor* tensor, int64_t* dims, int32_t capacity, int32_t* rank);
/// The dtype code (LOOM_F32 ...).
LOOM_CAPI loom_status loom_tensor_dtype(const loom_tensor* tensor, int32_t* out);
/// The number of elements.
LOOM_CAPI loom_status loom_tensor_numel(const loom_tensor* tensor, int64_t* out);
/// The size of the values in bytes (numel * dtype size).
LOOM_CAPI loom_status loom_tensor_nbytes(const loom_tensor* tensor, size_t* out);
/// The device name ("CPU:0"), NUL-terminated; LOOM_ERROR_INVALID_ARGUMENT if it does not fit.
LOOM_CAPI loom_status loom_tensor_device(const loom_tensor* tensor, char* buffer, size_t capacity);
/// Dense row-major copy of the values; nbytes must equal numel * dtype size.
LOOM_CAPI loom_status loom_tensor_to_host(const loom_tensor* tensor, void* dst, size_t nbytes);
/// The single value, converted to double; LOOM_ERROR_INVALID_ARGUMENT unless numel is 1.
LOOM_CAPI loom_status loom_tensor_item(const loom_tensor* tensor, double* out);
/// The values converted to `dtype` (floats to integers truncate toward zero).
LOOM_CAPI loom_status loom_tensor_cast(const loom_tensor* tensor, int32_t dtype, loom_tensor** out);
/// A copy on `device` ("GPU:0"); LOOM_ERROR_DEVICE when it does not exist.
LOOM_CAPI loom_status loom_tensor_to_device(const loom_tensor* tensor, const char* device, loom_tensor** out);
/// Saves as NumPy .npy, atomically; LOOM_ERROR_DTYPE for bfloat16, LOOM_ERROR_IO when writing fails.
LOOM_CAPI loom_status loom_tensor_save_npy(const loom_tensor* tensor, const char* path);
/// Loads a NumPy .npy file; LOOM_ERROR_IO for a missing or malformed file.
LOOM_CAPI loom_status loom_tensor_load_npy(const char* path, loom_tensor** out);
/// Loads an IDX file (MNIST format, optionally gzipped); LOOM_ERROR_IO for a missing or
/// malformed file.
LOOM_CAPI loom_status loom_idx_load(const char* path, loom_tensor** out);

/* ---- ops ---- */
/// An empty attribute set.
LOOM_CAPI loom_status loom_attrs_new(loom_attrs** out);
/// Releases an attribute set (NULL is accepted).
LOOM_CAPI void loom_attrs_release(loom_attrs* attrs);
/// Sets `name` to an integer (each setter replaces an earlier value of that name).
LOOM_CAPI loom_status loom_attrs_set_int(loom_attrs* attrs, const char* name, int64_t value);
/// Sets `name` to a float.
LOOM_CAPI loom_status loom_attrs_set_float(loom_attrs* attrs, const char* name, double value);
/// Sets `name` to a bool (non-zero: true).
LOOM_CAPI loom_status loom_attrs_set_bool(loom_attrs* attrs, const char* name, int32_t value);
/// Sets `name` to a copy of the string `value`.
LOOM_CAPI loom_status loom_attrs_set_string(loom_attrs* attrs, const char* name, const char* value);
/// Sets `name` to a copy of `count` integers.
LOOM_CAPI loom_status loom_attrs_set_int_list(loom_attrs* attrs, const char* name, const int64_t* values, int32_t count);
/// Sets `name` to a copy of `count` floats.
LOOM_CAPI loom_status loom_attrs_set_float_list(loom_attrs* attrs, const char* name, const double* values, int32_t count);
/// Sets `name` to a dtype (LOOM_F32 ...; LOOM_ERROR_DTYPE for an unknown code).
LOOM_CAPI loom_status loom_attrs_set_dtype(loom_attrs* attrs, const char* name, int32_t dtype);
/// Any op of the registry by name; attrs may be NULL. Writes up to `capacity` outputs (new
/// references) and their count (`n_outputs` may be NULL); more outputs than capacity is an error
/// (nothing returned). LOOM_ERROR_NOT_FOUND for an unknown op.
LOOM_CAPI loom_status loom_op_call(const char* name, const loom_tensor* const* inputs, int32_t n_inputs,
                                   const loom_attrs* attrs, loom_tensor** outputs, int32_t capacity, int32_t* n_outputs);
/// The number of ops loom_op_call accepts.
LOOM_CAPI loom_status loom_op_count(int32_t* out);
/// The name of op `index` (0 to count - 1, sorted), NUL-terminated;
/// LOOM_ERROR_INVALID_ARGUMENT when out of range or when it does not fit.
LOOM_CAPI loom_status loom_op_name(int32_t index, char* buffer, size_t capacity);
/// The schema of op `name` as JSON text: {"name", "doc", "inputs": [{"name", "dtypes": [...]}],
/// "min_inputs", "max_inputs" (-1: any number), "attrs": [{"name", "type" ("int", "float", "bool",
/// "string", "int list", "float list", "dtype"), "required", "default" (when it has one)}],
/// "outputs": [names], "variadic_outputs", "differentiable"}. `*needed` (may be NULL) receives the
/// bytes the text needs with its NUL; buffer NULL with capacity 0 only asks for that size.
/// LOOM_ERROR_NOT_FOUND for an unknown op; LOOM_ERROR_INVALID_ARGUMENT when it does not fit.
LOOM_CAPI loom_status loom_op_schema(const char* name, char* buffer, size_t capacity, size_t* needed);
/* Typed fast paths. */
/// a + b with broadcasting (loom::add).
LOOM_CAPI loom_status loom_add(const loom_tensor* a, const loom_tensor* b, loom_tensor** out);
/// a - b with broadcasting.
LOOM_CAPI loom_status loom_sub(const loom_tensor* a, const loom_tensor* b, loom_tensor** out);
/// a * b with broadcasting.
LOOM_CAPI loom_status loom_mul(const loom_tensor* a, const loom_tensor* b, loom_tensor** out);
/// a / b with broadcasting; integer inputs divide truly (loom::div).
LOOM_CAPI loom_status loom_div(const loom_tensor* a, const loom_tensor* b, loom_tensor** out);
/// Matrix product, 2-D or batched, optionally transposing the last two axes of a or b.
LOOM_CAPI loom_status loom_matmul(const loom_tensor* a, const loom_tensor* b, int32_t transpose_a, int32_t transpose_b,
                                  loom_tensor** out);
/// e to the power x, elementwise.
LOOM_CAPI loom_status loom_exp(const loom_tensor* x, loom_tensor** out);
/// max(x, 0), elementwise.
LOOM_CAPI loom_status loom_relu(const loom_tensor* x, loom_tensor** out);
/// Sum over `n_axes` axes; n_axes < 0: every axis (axes may then be NULL).
LOOM_CAPI loom_status loom_reduce_sum(const loom_tensor* x, const int64_t* axes, int32_t n_axes, int32_t keepdims,
                                      loom_tensor** out);
/// Mean over `n_axes` axes; n_axes < 0: every axis.
LOOM_CAPI loom_status loom_reduce_mean(const loom_tensor* x, const int64_t* axes, int32_t n_axes, int32_t keepdims,
                                       loom_tensor** out);
/// Same values in a new shape; one dim may be -1 (inferred).
LOOM_CAPI loom_status loom_reshape(const loom_tensor* x, const int64_t* dims, int32_t rank, loom_tensor** out);
/// Permutes the axes; n_perm == 0: reverse the axes.
LOOM_CAPI loom_status loom_transpose(const loom_tensor* x, const int64_t* perm, int32_t n_perm, loom_tensor** out);
/// 2-D convolution: NHWC input, (KH, KW, C_in, C_out) filter. bias may be NULL; strides: 2
/// values, or NULL for (1, 1); padding: "same", "valid", or NULL for "valid".
LOOM_CAPI loom_status loom_conv2d(const loom_tensor* x, const loom_tensor* filter, const loom_tensor* bias,
                                  const int64_t* strides, const char* padding, loom_tensor** out);
/// Softmax along `axis` (negative counts from the end).
LOOM_CAPI loom_status loom_softmax(const loom_tensor* x, int64_t axis, loom_tensor** out);

/* ---- variables ---- */
/// A variable holding a copy of `initial`; `name` NULL: "Variable"; `trainable` non-zero: its
/// gradients are taken and applied by training.
LOOM_CAPI loom_status loom_variable_new(const loom_tensor* initial, const char* name, int32_t trainable,
                                        loom_variable** out);
/// Releases a variable handle (NULL is accepted); the variable lives while other handles or
/// models use it.
LOOM_CAPI void loom_variable_release(loom_variable* variable);
/// A tensor handle for the variable itself (what ops and tapes see; follows later assignments).
LOOM_CAPI loom_status loom_variable_tensor(const loom_variable* variable, loom_tensor** out);
/// A copy of the current values.
LOOM_CAPI loom_status loom_variable_read(const loom_variable* variable, loom_tensor** out);
/// The variable's name, NUL-terminated; LOOM_ERROR_INVALID_ARGUMENT if it does not fit.
LOOM_CAPI loom_status loom_variable_name(const loom_variable* variable, char* buffer, size_t capacity);
/// Writes `value`, of the variable's dtype (LOOM_ERROR_DTYPE) and shape (LOOM_ERROR_SHAPE).
LOOM_CAPI loom_status loom_variable_assign(loom_variable* variable, const loom_tensor* value);
/// Adds `delta` (same dtype; broadcasts to the variable's shape) in place.
LOOM_CAPI loom_status loom_variable_assign_add(loom_variable* variable, const loom_tensor* delta);
/// Subtracts `delta` (same dtype; broadcasts to the variable's shape) in place.
LOOM_CAPI loom_status loom_variable_assign_sub(loom_variable* variable, const loom_tensor* delta);
/// Python-style begin:end:step per axis (LOOM_SLICE_START/END for open bounds; `step` NULL: 1
/// on every axis); the value broadcasts to the region.
LOOM_CAPI loom_status loom_variable_assign_slice(loom_variable* variable, const int64_t* begin, const int64_t* end,
                                                 const int64_t* step, int32_t n_axes, const loom_tensor* value);

/* ---- gradient tape (belongs to the thread that created it) ---- */
/// A tape that records this thread's ops from now until it is released (loom::GradientTape);
/// `persistent`: gradients may be taken more than once; `watch_accessed_variables`: trainable
/// variables are watched when an op reads them. Using a tape from another thread is
/// LOOM_ERROR_INVALID_ARGUMENT.
LOOM_CAPI loom_status loom_tape_new(int32_t persistent, int32_t watch_accessed_variables, loom_tape** out);
/// Ends recording and releases the tape (NULL is accepted).
LOOM_CAPI void loom_tape_release(loom_tape* tape);
/// Records ops that read `tensor` from now on.
LOOM_CAPI loom_status loom_tape_watch(loom_tape* tape, const loom_tensor* tensor);
/// Records ops that read the variable from now on.
LOOM_CAPI loom_status loom_tape_watch_variable(loom_tape* tape, const loom_variable* variable);
/// Pauses recording until loom_tape_resume_recording; LOOM_ERROR_INVALID_ARGUMENT when already
/// paused.
LOOM_CAPI loom_status loom_tape_stop_recording(loom_tape* tape);
/// Resumes recording; LOOM_ERROR_INVALID_ARGUMENT when it was not paused.
LOOM_CAPI loom_status loom_tape_resume_recording(loom_tape* tape);
/// Forgets everything recorded and watched so far (the tape keeps recording).
LOOM_CAPI loom_status loom_tape_reset(loom_tape* tape);
/// d target / d source for each source then each variable, in `grads` (n_sources + n_variables
/// entries; NULL where there is no gradient unless unconnected_zero). output_gradient may be NULL.
/// A non-persistent tape answers once (then LOOM_ERROR_INVALID_ARGUMENT).
LOOM_CAPI loom_status loom_tape_gradient(loom_tape* tape, const loom_tensor* target, const loom_tensor* const* sources,
                                         int32_t n_sources, const loom_variable* const* variables, int32_t n_variables,
                                         const loom_tensor* output_gradient, int32_t unconnected_zero,
                                         loom_tensor** grads);

/// The forward function of loom_custom_gradient: computes outputs from the (borrowed) inputs,
/// writing 1 to `capacity` new references to `outputs` and their count to `*n_outputs`. Its ops
/// are not recorded. Returns 0 on success.
typedef int32_t (*loom_custom_forward_fn)(void* user, const loom_tensor* const* inputs, int32_t n_inputs,
                                          loom_tensor** outputs, int32_t capacity, int32_t* n_outputs);
/// The backward function of loom_custom_gradient: from the inputs and the gradients of the
/// `n_outputs` outputs (all borrowed), writes one gradient per input to `input_grads` (new
/// references; NULL for none). Returns 0 on success.
typedef int32_t (*loom_custom_backward_fn)(void* user, const loom_tensor* const* inputs, int32_t n_inputs,
                                           const loom_tensor* const* output_grads, int32_t n_outputs,
                                           loom_tensor** input_grads);
/// Custom gradients (TF's tf.custom_gradient): calls `forward` and records the call as one op
/// whose gradient is `backward`. A callback returning non-zero, or bad handles, is
/// LOOM_ERROR_CALLBACK. destroy(user) runs once when neither this call nor the recorded
/// gradient needs `user` (also on failure; may be NULL). Writes the outputs (new references)
/// and their count (`n_outputs` may be NULL).
LOOM_CAPI loom_status loom_custom_gradient(loom_custom_forward_fn forward, loom_custom_backward_fn backward, void* user,
                                           void (*destroy)(void* user), const loom_tensor* const* inputs,
                                           int32_t n_inputs, loom_tensor** outputs, int32_t capacity,
                                           int32_t* n_outputs);

/* ---- devices ---- */
/// Facts about one device (loom::PhysicalDevice); strings are NUL-terminated and truncated to
/// fit.
typedef struct loom_device_info {
  size_t struct_size; ///< Set by the caller to sizeof(loom_device_info); less is an error.
  char name[32];                     ///< "CPU:0", "GPU:0", ...
  char device_type[8];               ///< "CPU" or "GPU".
  char description[256];             ///< Model and details of the device.
  int64_t total_memory;              ///< Bytes (0 where unknown).
  int64_t free_memory;               ///< Bytes free when asked (0 where unknown).
  int64_t memory_limit;              ///< The allocator's limit in bytes (0: none).
  int32_t compute_capability_major;  ///< CUDA compute capability, major part (0 for CPUs).
  int32_t compute_capability_minor;  ///< CUDA compute capability, minor part (0 for CPUs).
} loom_device_info;
/// The number of devices of a type: device_type "CPU", "GPU" or "" / NULL (all).
LOOM_CAPI loom_status loom_device_count(const char* device_type, int32_t* out);
/// The index-th device of the type (the order of loom_device_count); LOOM_ERROR_INVALID_ARGUMENT
/// when out of range.
LOOM_CAPI loom_status loom_device_info_get(const char* device_type, int32_t index, loom_device_info* info);
/// The device of that name ("CPU:0", "GPU:1"); LOOM_ERROR_DEVICE when there is none.
LOOM_CAPI loom_status loom_device_find(const char* name, loom_device_info* info);
/// Pins this thread's ops to `device` until the matching loom_device_scope_pop (scopes nest;
/// loom::DeviceScope); LOOM_ERROR_DEVICE when it does not exist.
LOOM_CAPI loom_status loom_device_scope_push(const char* device);
/// Ends this thread's innermost device scope; LOOM_ERROR_INVALID_ARGUMENT when there is none.
LOOM_CAPI loom_status loom_device_scope_pop(void);
/// Hard limit for the device's allocator in bytes (0 removes it); see loom::set_memory_limit.
LOOM_CAPI loom_status loom_device_set_memory_limit(const char* device, int64_t bytes);
/// Grow GPU memory on demand (non-zero, the default) or reserve it at first use; see
/// loom::set_memory_growth.
LOOM_CAPI loom_status loom_device_set_memory_growth(const char* device, int32_t enabled);
/// Waits for all queued work on the device.
LOOM_CAPI loom_status loom_device_synchronize(const char* device);
/// The device's live, peak and cached bytes; each out-parameter may be NULL.
LOOM_CAPI loom_status loom_device_memory_stats(const char* device, int64_t* live_bytes, int64_t* peak_bytes,
                                               int64_t* cached_bytes);
/// float32 matrix products on GPUs: "highest" (full float32, the default) or "high" (TF32).
LOOM_CAPI loom_status loom_set_float32_matmul_precision(const char* precision);
/// GPU convolutions on cuDNN (non-zero, the default) or on loom's im2col + cuBLAS kernels (0).
LOOM_CAPI loom_status loom_set_cudnn_enabled(int32_t enabled);

/* ---- layers and models ---- */
/// A layer by type: Dense, Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten, Reshape,
/// Dropout, Activation, BatchNormalization, SyncBatchNormalization, Concatenate, Add; attributes
/// by Keras argument names
/// (units, activation, use_bias, kernel_initializer, filters, kernel_size, strides, padding,
/// pool_size, rate, seed, target_shape, momentum, epsilon, axis, l2, name). attrs may be NULL.
/// LOOM_ERROR_NOT_FOUND for an unknown type, LOOM_ERROR_INVALID_ARGUMENT for an attribute the
/// type does not take.
LOOM_CAPI loom_status loom_layer_new(const char* type, const loom_attrs* attrs, loom_layer** out);
/// Releases a layer handle (NULL is accepted); models that contain the layer keep it.
LOOM_CAPI void loom_layer_release(loom_layer* layer);
/// The layer's name, NUL-terminated; LOOM_ERROR_INVALID_ARGUMENT if it does not fit.
LOOM_CAPI loom_status loom_layer_name(const loom_layer* layer, char* buffer, size_t capacity);
/// Applies the layer to `x` (building it on the first call); `training` non-zero selects
/// training behaviour.
LOOM_CAPI loom_status loom_layer_call(loom_layer* layer, const loom_tensor* x, int32_t training, loom_tensor** out);
/// The number of the layer's weights (0 before it is built).
LOOM_CAPI loom_status loom_layer_weight_count(const loom_layer* layer, int32_t* out);
/// Weight `index` of the layer, in creation order: a handle to the layer's own variable, so
/// assignments through it change the layer.
LOOM_CAPI loom_status loom_layer_weight(const loom_layer* layer, int32_t index, loom_variable** out);

/// A Sequential model. input_shape (without the batch axis) may be NULL: the model builds on
/// its first input; `name` NULL: a unique name.
LOOM_CAPI loom_status loom_sequential_new(const int64_t* input_shape, int32_t rank, const char* name, loom_model** out);
/// Appends a layer; the model keeps its own reference, so the caller may release `layer`.
LOOM_CAPI loom_status loom_sequential_add(loom_model* model, loom_layer* layer);
/// Releases a model handle (NULL is accepted).
LOOM_CAPI void loom_model_release(loom_model* model);
/// The number of layers.
LOOM_CAPI loom_status loom_model_layer_count(const loom_model* model, int32_t* out);
/// A handle to layer `index` (shared with the model); LOOM_ERROR_INVALID_ARGUMENT when out of
/// range.
LOOM_CAPI loom_status loom_model_get_layer(const loom_model* model, int32_t index, loom_layer** out);
/// A handle to the layer named `name`; LOOM_ERROR_NOT_FOUND when there is none.
LOOM_CAPI loom_status loom_model_get_layer_by_name(const loom_model* model, const char* name, loom_layer** out);
/// Applies the model to `x`; `training` non-zero selects training behaviour. Inference calls
/// on a built model may run concurrently.
LOOM_CAPI loom_status loom_model_call(loom_model* model, const loom_tensor* x, int32_t training, loom_tensor** out);
/// Writes up to capacity variables (new references) and their count; more variables than
/// capacity is LOOM_ERROR_INVALID_ARGUMENT.
LOOM_CAPI loom_status loom_model_trainable_variables(const loom_model* model, loom_variable** out, int32_t capacity,
                                                     int32_t* count);
/// The number of weights (trainable and not).
LOOM_CAPI loom_status loom_model_weight_count(const loom_model* model, int32_t* out);
/// Copies of the weights' values (new references), in the model's weight order; more weights
/// than capacity is LOOM_ERROR_INVALID_ARGUMENT.
LOOM_CAPI loom_status loom_model_get_weights(const loom_model* model, loom_tensor** out, int32_t capacity);
/// Assigns the weights in the order of loom_model_get_weights; the count and every shape must
/// match (LOOM_ERROR_INVALID_ARGUMENT, nothing assigned).
LOOM_CAPI loom_status loom_model_set_weights(loom_model* model, const loom_tensor* const* values, int32_t count);
/// Prepares the model for training. optimizer: sgd, adam, adamw, rmsprop with attrs
/// (learning_rate, momentum, nesterov, beta_1, beta_2, epsilon, weight_decay, rho, centered,
/// clipnorm, clipvalue, global_clipnorm; loss scaling for float16: loss_scale, dynamic_loss_scale,
/// dynamic_growth_steps, on by default under the mixed_float16 policy); loss: mse, mae, sparse_categorical_crossentropy,
/// categorical_crossentropy, binary_crossentropy with attrs (from_logits); metrics by name
/// ("accuracy", "mae", ...). attrs may be NULL.
LOOM_CAPI loom_status loom_model_compile(loom_model* model, const char* optimizer, const loom_attrs* optimizer_attrs,
                                         const char* loss, const loom_attrs* loss_attrs, const char* const* metrics,
                                         int32_t n_metrics);
/// Called after each epoch (numbered from 0) with the logs (`count` names and values, valid
/// during the call); return non-zero to stop training.
typedef int32_t (*loom_epoch_callback)(void* user, int32_t epoch, const char* const* names, const double* values,
                                       int32_t count);
/// Trains the compiled model on (x, y) (loom::nn::Model::fit). options: epochs, batch_size,
/// validation_split, shuffle, seed, verbose (default 0 here), initial_epoch, and distributed
/// (non-zero: data-parallel over the ranks of loom_dist_init, batch_size being the global batch;
/// see loom::nn::MultiWorkerMirroredStrategy) with bucket_bytes; may be NULL.
/// callback may be NULL. loss_history (may be NULL) receives up to capacity per-epoch training
/// losses; `epochs_run` (may be NULL) the number of epochs run.
LOOM_CAPI loom_status loom_model_fit(loom_model* model, const loom_tensor* x, const loom_tensor* y,
                                     const loom_attrs* options, loom_epoch_callback callback, void* user,
                                     double* loss_history, int32_t capacity, int32_t* epochs_run);
/// Evaluates the compiled model on (x, y) in inference mode. values: the loss then each compiled
/// metric, in the order of loom_model_metric_name (more than capacity:
/// LOOM_ERROR_INVALID_ARGUMENT); `count` may be NULL.
LOOM_CAPI loom_status loom_model_evaluate(loom_model* model, const loom_tensor* x, const loom_tensor* y,
                                          int64_t batch_size, double* values, int32_t capacity, int32_t* count);
/// The name of value `index` of loom_model_evaluate: "loss" for 0, then the metrics' names.
LOOM_CAPI loom_status loom_model_metric_name(const loom_model* model, int32_t index, char* buffer, size_t capacity);
/// The model's outputs for `x` in inference mode, computed in batches of `batch_size`. Calls on
/// a built model may run concurrently.
LOOM_CAPI loom_status loom_model_predict(loom_model* model, const loom_tensor* x, int64_t batch_size, loom_tensor** out);
/// Saves the weights atomically: as safetensors, or in Keras' HDF5 layout when the path ends in
/// .h5 or .hdf5 (docs/MODEL_FILES.md); LOOM_ERROR_IO when writing fails.
LOOM_CAPI loom_status loom_model_save_weights(const loom_model* model, const char* path);
/// Loads weights saved by loom_model_save_weights, or Keras' HDF5 weights (.h5, .hdf5: layers
/// with weights matched by position, as Keras does). `strict` non-zero: missing and unexpected
/// weights are errors (LOOM_ERROR_INVALID_ARGUMENT; shape mismatches always are).
LOOM_CAPI loom_status loom_model_load_weights(loom_model* model, const char* path, int32_t strict);

/* ---- optimizers in custom loops ---- */
/// An optimizer by name (sgd, adam, adamw, rmsprop) with the attributes of loom_model_compile;
/// attrs may be NULL. LOOM_ERROR_NOT_FOUND for an unknown name.
LOOM_CAPI loom_status loom_optimizer_new(const char* name, const loom_attrs* attrs, loom_optimizer** out);
/// Releases an optimizer handle (NULL is accepted).
LOOM_CAPI void loom_optimizer_release(loom_optimizer* optimizer);
/// One update of each of the `count` variables with its gradient (a NULL gradient skips its
/// variable); all or nothing.
LOOM_CAPI loom_status loom_optimizer_apply_gradients(loom_optimizer* optimizer, const loom_tensor* const* grads,
                                                     loom_variable* const* variables, int32_t count);
/// The factor a custom loop multiplies its loss by before taking gradients (1 without loss
/// scaling, attrs loss_scale and dynamic_loss_scale); apply_gradients divides it out, and skips
/// a step whose gradients are not finite (halving a dynamic scale).
LOOM_CAPI loom_status loom_optimizer_loss_scale(const loom_optimizer* optimizer, double* out);

/* ---- wave 2: functional models ---- */
/// A symbolic input of a functional model (keras.Input): `shape` without the batch axis,
/// `name` NULL or "" for a unique one. Release with loom_symbolic_release.
LOOM_CAPI loom_status loom_input_new(const int64_t* shape, int32_t rank, int32_t dtype, const char* name, loom_symbolic** out);
/// Releases a symbolic tensor handle (NULL is accepted); models built from it keep the graph.
LOOM_CAPI void loom_symbolic_release(loom_symbolic* symbolic);
/// Writes up to `capacity` dims (the batch axis is -1) and the rank (`rank` may be NULL).
LOOM_CAPI loom_status loom_symbolic_shape(const loom_symbolic* symbolic, int64_t* dims, int32_t capacity, int32_t* rank);
/// The dtype code of a symbolic tensor.
LOOM_CAPI loom_status loom_symbolic_dtype(const loom_symbolic* symbolic, int32_t* out);
/// Calls `layer` on symbolic tensors, recording the call in the graph (the layer is built now):
/// one input goes to the layer as a tensor, several as a list (merge layers). Writes up to
/// `capacity` outputs (new references; a nested model may have several) and their count
/// (`n_outputs` may be NULL). Errors name the layer and the input shapes (LOOM_ERROR_SHAPE for
/// shapes that do not fit).
LOOM_CAPI loom_status loom_layer_apply(loom_layer* layer, const loom_symbolic* const* inputs, int32_t n_inputs,
                                       loom_symbolic** outputs, int32_t capacity, int32_t* n_outputs);
/// A functional model from its symbolic inputs and outputs (keras.Model(inputs, outputs));
/// `name` NULL: a unique one. LOOM_ERROR_INVALID_ARGUMENT when an output needs an input not
/// given, or two layers share a name.
LOOM_CAPI loom_status loom_model_new(const loom_symbolic* const* inputs, int32_t n_inputs,
                                     const loom_symbolic* const* outputs, int32_t n_outputs, const char* name,
                                     loom_model** out);
/// The model as a layer (shared, not copied), to add it to a Sequential model or call it on
/// symbolic tensors of another model.
LOOM_CAPI loom_status loom_model_as_layer(loom_model* model, loom_layer** out);
/// The model's summary (layers, types, output shapes, parameters, inbound layers) as text.
/// `*needed` (may be NULL) receives its size with the NUL; buffer NULL with capacity 0 only asks.
LOOM_CAPI loom_status loom_model_summary(loom_model* model, char* buffer, size_t capacity, size_t* needed);
/// The number of inputs of the model (1 for Sequential and subclassed models).
LOOM_CAPI loom_status loom_model_input_count(const loom_model* model, int32_t* out);
/// The number of outputs of the model.
LOOM_CAPI loom_status loom_model_output_count(const loom_model* model, int32_t* out);

/* ---- wave 2: custom layers written in C ---- */
/// A custom layer type: callbacks with their state. Each callback returns 0 on success; on
/// failure it returns non-zero, after a failing loom call or loom_set_error() set the message,
/// and the outer call fails with LOOM_ERROR_CALLBACK and that message. Handles given to a
/// callback are borrowed for the call; handles it returns are new references loom takes over.
typedef struct loom_layer_type {
  size_t struct_size;  ///< Set to sizeof(loom_layer_type); less is an error.
  /// Makes one layer's state from its config (JSON object text, "{}" when none): writes it to
  /// `*state`, which the other callbacks receive. Required.
  int32_t (*create)(void* type_user, const char* config_json, void** state);
  /// Creates the weights with loom_layer_add_weight(self, ...) for the first input's shape
  /// (batch axis -1). Runs once, before the first call. May be NULL.
  int32_t (*build)(void* state, loom_layer* self, const int64_t* input_shape, int32_t rank);
  /// Computes the output from the inputs with any loom entry points (the tape records them, so
  /// gradients flow) and writes a new reference to `*output`. Required.
  int32_t (*call)(void* state, loom_layer* self, const loom_tensor* const* inputs, int32_t n_inputs, int32_t training,
                  loom_tensor** output);
  /// Writes the layer's config as JSON object text (what `create` rebuilds it from when a saved
  /// model is loaded) into `buffer`, and its size with the NUL to `*needed`; a call with
  /// capacity 0 only asks the size. May be NULL ("{}").
  int32_t (*get_config)(void* state, char* buffer, size_t capacity, size_t* needed);
  /// Frees a layer's state when the layer goes away. May be NULL.
  void (*destroy)(void* state);
  void* type_user;  ///< Passed to `create`.
  /// Frees `type_user` once the type is replaced and no layer of it remains; never at exit (a
  /// host language's runtime may be gone by then). May be NULL.
  void (*destroy_type)(void* type_user);
} loom_layer_type;
/// Registers a custom layer type under `type_name` (copied), so that loom_layer_new_custom and
/// loom_model_load can make its layers; a later registration of the name replaces this one.
/// LOOM_ERROR_INVALID_ARGUMENT for a built-in type's name or a missing create/call callback
/// (then `type_user` stays the caller's).
LOOM_CAPI loom_status loom_register_layer_type(const char* type_name, const loom_layer_type* type);
/// A layer of a registered custom type; `config_json` NULL means "{}"; `name` NULL: a unique
/// one. LOOM_ERROR_NOT_FOUND for an unregistered type.
LOOM_CAPI loom_status loom_layer_new_custom(const char* type_name, const char* config_json, const char* name,
                                            loom_layer** out);
/// Creates a weight of a custom layer from its build callback: `initializer` a Keras name
/// ("glorot_uniform", "zeros", ...; NULL: glorot_uniform). Writes a handle to the weight's
/// variable (a new reference). LOOM_ERROR_INVALID_ARGUMENT for another layer or a name used twice.
LOOM_CAPI loom_status loom_layer_add_weight(loom_layer* self, const char* name, const int64_t* shape, int32_t rank,
                                            int32_t dtype, const char* initializer, int32_t trainable,
                                            loom_variable** out);
/// Makes `sublayer` part of custom layer `self` (Keras tracks layers set as attributes): its
/// weights become the layer's (trained by fit, saved in files) and it is built with it. The
/// layer keeps its own reference. LOOM_ERROR_INVALID_ARGUMENT for a layer that is not custom,
/// or for tracking a layer inside itself.
LOOM_CAPI loom_status loom_layer_track(loom_layer* self, loom_layer* sublayer);
/// Sets this thread's last error (for a callback that fails outside loom) and returns `status`.
LOOM_CAPI loom_status loom_set_error(loom_status status, const char* message);

/* ---- wave 2: training with several inputs and outputs; callbacks that use the model ---- */
/// Callbacks of loom_model_fit_arrays. Each receives the model handle passed to fit: it may
/// save, evaluate, predict or checkpoint the model, change its learning rate or stop training
/// (return non-zero, or loom_model_stop_training). Log names and values are valid during the call.
typedef struct loom_fit_callbacks {
  size_t struct_size;  ///< Set to sizeof(loom_fit_callbacks); less is an error.
  /// After each epoch (numbered from 0, so resumed runs continue the count). May be NULL.
  int32_t (*epoch_end)(void* user, loom_model* model, int32_t epoch, const char* const* names, const double* values,
                       int32_t count);
  /// After each batch (numbered from 0 in each epoch). May be NULL.
  int32_t (*batch_end)(void* user, loom_model* model, int64_t batch, const char* const* names, const double* values,
                       int32_t count);
  void* user;  ///< Passed to the callbacks.
} loom_fit_callbacks;
/// Trains on one tensor per model input (`x`) and one per output (`y`); options as
/// loom_model_fit (initial_epoch resumes a run: epochs are numbered as the interrupted run's).
/// `callbacks` may be NULL. A callback's non-zero return stops training without an error.
LOOM_CAPI loom_status loom_model_fit_arrays(loom_model* model, const loom_tensor* const* x, int32_t n_x,
                                            const loom_tensor* const* y, int32_t n_y, const loom_attrs* options,
                                            const loom_fit_callbacks* callbacks, double* loss_history, int32_t capacity,
                                            int32_t* epochs_run);
/// Evaluates on one tensor per input and per output; values in the order of
/// loom_model_metric_name ("loss", per-output losses when there are several outputs, then the
/// metrics of each output).
LOOM_CAPI loom_status loom_model_evaluate_arrays(loom_model* model, const loom_tensor* const* x, int32_t n_x,
                                                 const loom_tensor* const* y, int32_t n_y, int64_t batch_size,
                                                 double* values, int32_t capacity, int32_t* count);
/// Every output for one tensor per input, in inference mode (new references; more outputs
/// than capacity is an error).
LOOM_CAPI loom_status loom_model_predict_arrays(loom_model* model, const loom_tensor* const* x, int32_t n_x,
                                                int64_t batch_size, loom_tensor** outputs, int32_t capacity,
                                                int32_t* n_outputs);
/// The number of values evaluate gives (see loom_model_metric_name); needs a compiled model.
LOOM_CAPI loom_status loom_model_metric_count(const loom_model* model, int32_t* out);
/// Ends a running fit after the current epoch (from a callback).
LOOM_CAPI loom_status loom_model_stop_training(loom_model* model);
/// Sets a constant learning rate from the next step on, replacing any schedule (Keras'
/// `model.optimizer.learning_rate = value`); LOOM_ERROR_INVALID_ARGUMENT before compile or
/// for a rate <= 0.
LOOM_CAPI loom_status loom_model_set_learning_rate(loom_model* model, double learning_rate);
/// The learning rate the next step uses.
LOOM_CAPI loom_status loom_model_get_learning_rate(const loom_model* model, double* out);

/* ---- wave 2: whole-model files and training checkpoints ---- */
/// Saves the whole model in one file (architecture, compile settings, weights; Model::save),
/// atomically; LOOM_ERROR_INVALID_ARGUMENT for a layer without a type (custom layers need a
/// registered type), LOOM_ERROR_IO when writing fails.
LOOM_CAPI loom_status loom_model_save(const loom_model* model, const char* path);
/// loom_model_save with the floating weights cast to `weights_dtype` (LOOM_BF16 or LOOM_F16: a
/// half-size file for inference; loom_model_load casts them back to the variables' dtype);
/// LOOM_ERROR_DTYPE for a dtype that is not floating.
LOOM_CAPI loom_status loom_model_save_as(const loom_model* model, const char* path, int32_t weights_dtype);
/// Loads a file of loom_model_save without the code that built the model (custom layer types
/// must be registered); compiled as saved unless `compile` is 0. LOOM_ERROR_IO for a file that
/// is no loom model or from a newer loom; LOOM_ERROR_NOT_FOUND for an unregistered layer type.
LOOM_CAPI loom_status loom_model_load(const char* path, int32_t compile, loom_model** out);
/// Saves the training state after epoch `epoch` (weights, optimizer slots and step, RNG
/// states, the shuffling seed, layers' state), atomically.
LOOM_CAPI loom_status loom_model_save_checkpoint(const loom_model* model, const char* path, int32_t epoch);
/// Restores a checkpoint into a model of the same architecture (compile it first to restore the
/// optimizer's state) and writes the epoch to resume from (`next_epoch`, the fit option
/// initial_epoch; may be NULL). A run resumed this way ends bit-identical to an uninterrupted one.
LOOM_CAPI loom_status loom_model_load_checkpoint(loom_model* model, const char* path, int32_t* next_epoch);

/* ---- wave 2: files as named tensors ---- */
/// An empty set of named tensors and metadata.
LOOM_CAPI loom_status loom_named_tensors_new(loom_named_tensors** out);
/// Releases a named-tensors handle (NULL is accepted).
LOOM_CAPI void loom_named_tensors_release(loom_named_tensors* tensors);
/// Reads a safetensors file (any tool's); LOOM_ERROR_IO for a missing or malformed file.
LOOM_CAPI loom_status loom_safetensors_load(const char* path, loom_named_tensors** out);
/// Writes named tensors and metadata as safetensors, atomically.
LOOM_CAPI loom_status loom_safetensors_save(const char* path, const loom_named_tensors* tensors);
/// The number of tensors.
LOOM_CAPI loom_status loom_named_tensors_count(const loom_named_tensors* tensors, int32_t* out);
/// The name of tensor `index` (sorted by name).
LOOM_CAPI loom_status loom_named_tensors_name(const loom_named_tensors* tensors, int32_t index, char* buffer,
                                              size_t capacity);
/// The tensor named `name` (a new reference); LOOM_ERROR_NOT_FOUND when there is none.
LOOM_CAPI loom_status loom_named_tensors_get(const loom_named_tensors* tensors, const char* name, loom_tensor** out);
/// Sets (or replaces) the tensor named `name`.
LOOM_CAPI loom_status loom_named_tensors_set(loom_named_tensors* tensors, const char* name, const loom_tensor* tensor);
/// The number of metadata entries.
LOOM_CAPI loom_status loom_named_tensors_metadata_count(const loom_named_tensors* tensors, int32_t* out);
/// The key of metadata entry `index` (sorted by key).
LOOM_CAPI loom_status loom_named_tensors_metadata_key(const loom_named_tensors* tensors, int32_t index, char* buffer,
                                                      size_t capacity);
/// The metadata value of `key` (`*needed`, may be NULL, gets its size with the NUL; buffer NULL
/// with capacity 0 only asks); LOOM_ERROR_NOT_FOUND when there is none.
LOOM_CAPI loom_status loom_named_tensors_metadata_get(const loom_named_tensors* tensors, const char* key, char* buffer,
                                                      size_t capacity, size_t* needed);
/// Sets (or replaces) a metadata entry.
LOOM_CAPI loom_status loom_named_tensors_metadata_set(loom_named_tensors* tensors, const char* key, const char* value);
/// Writes an IDX file (gzipped when the path ends in ".gz"), atomically; uint8, int32, float32
/// or float64 (LOOM_ERROR_DTYPE otherwise).
LOOM_CAPI loom_status loom_idx_save(const char* path, const loom_tensor* tensor);
/// Reads MNIST or Fashion-MNIST from `dir` (train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or .gz): images uint8 (N, 28, 28),
/// labels uint8 (N,). Every out-parameter receives a new reference; LOOM_ERROR_IO when a file is
/// missing or malformed.
LOOM_CAPI loom_status loom_mnist_load(const char* dir, loom_tensor** x_train, loom_tensor** y_train, loom_tensor** x_test,
                                      loom_tensor** y_test);

/* ---- wave 2: distributed training over MPI and NCCL (loom::dist; docs/DISTRIBUTED.md) ---- */
/* Reductions of loom_dist_all_reduce and loom_dist_reduce_scatter (append only). */
#define LOOM_REDUCE_SUM 0   ///< Sum (bool: logical or).
#define LOOM_REDUCE_MEAN 1  ///< Mean over the ranks (floating dtypes only).
#define LOOM_REDUCE_MAX 2   ///< Maximum (bool: logical or).
#define LOOM_REDUCE_MIN 3   ///< Minimum (bool: logical and).
/// Joins the job this process was launched in by mpirun: backend "mpi" (CPU tensors over MPI)
/// or "nccl" (GPU tensors over NCCL on GPU local_rank, CPU tensors over MPI); NULL means
/// "mpi". LOOM_ERROR_NOT_FOUND naming the plugin when this build or machine has no MPI or NCCL,
/// LOOM_ERROR_DISTRIBUTED when the transport fails to start.
LOOM_CAPI loom_status loom_dist_init(const char* backend);
/// Leaves the job (waits for queued collectives; after a failed one, does not wait for peers).
/// Does nothing when not initialised.
LOOM_CAPI loom_status loom_dist_finalize(void);
/// Writes 1 when loom_dist_init has been called (and loom_dist_finalize has not), else 0.
LOOM_CAPI loom_status loom_dist_initialized(int32_t* out);
/// This process's rank; LOOM_ERROR_DISTRIBUTED before loom_dist_init.
LOOM_CAPI loom_status loom_dist_rank(int32_t* out);
/// The number of ranks; LOOM_ERROR_DISTRIBUTED before loom_dist_init.
LOOM_CAPI loom_status loom_dist_size(int32_t* out);
/// This process's rank on its machine (its GPU with NCCL); LOOM_ERROR_DISTRIBUTED before
/// loom_dist_init.
LOOM_CAPI loom_status loom_dist_local_rank(int32_t* out);
/// Seconds a collective waits for the other ranks before failing with LOOM_ERROR_DISTRIBUTED
/// (default 300 or the LOOM_DIST_TIMEOUT environment variable); must be > 0.
LOOM_CAPI loom_status loom_dist_set_timeout(double seconds);
/// The collective timeout in seconds.
LOOM_CAPI loom_status loom_dist_get_timeout(double* out);
/// Validation mode (non-zero: on): each collective first compares every rank's call and fails
/// on all of them, naming two ranks and their shapes or dtypes, when they differ.
LOOM_CAPI loom_status loom_dist_set_validation(int32_t enabled);
/// `op` (LOOM_REDUCE_*) over every rank's `x`: a new tensor of x's shape and dtype.
LOOM_CAPI loom_status loom_dist_all_reduce(const loom_tensor* x, int32_t op, loom_tensor** out);
/// `op` over every rank's value of the variable, written into the variable.
LOOM_CAPI loom_status loom_dist_all_reduce_variable(loom_variable* variable, int32_t op);
/// Rank `root`'s `x` on every rank (the others' x gives the shape and dtype).
LOOM_CAPI loom_status loom_dist_broadcast(const loom_tensor* x, int32_t root, loom_tensor** out);
/// Overwrites the variable with rank `root`'s value.
LOOM_CAPI loom_status loom_dist_broadcast_variable(loom_variable* variable, int32_t root);
/// Overwrites every weight of the model (moving statistics too) with rank `root`'s values: the
/// start of a custom data-parallel loop.
LOOM_CAPI loom_status loom_dist_broadcast_model(loom_model* model, int32_t root);
/// Every rank's `x` joined along the first axis in rank order (a scalar counts as one entry);
/// the first axis may differ between ranks.
LOOM_CAPI loom_status loom_dist_all_gather(const loom_tensor* x, loom_tensor** out);
/// `op` over every rank's `x`, of which this rank gets its block of the first axis (rank r the
/// r-th of size contiguous blocks; the first n mod size blocks one row longer).
LOOM_CAPI loom_status loom_dist_reduce_scatter(const loom_tensor* x, int32_t op, loom_tensor** out);
/// Returns once every rank has called it.
LOOM_CAPI loom_status loom_dist_barrier(void);
/// An optimizer for custom loops that averages gradients over the ranks before `optimizer`
/// (shared, not copied) applies them, in buckets of `bucket_bytes` (0: 25 MiB); Horovod's
/// DistributedOptimizer. Release with loom_dist_optimizer_release.
LOOM_CAPI loom_status loom_dist_optimizer_new(loom_optimizer* optimizer, int64_t bucket_bytes, loom_dist_optimizer** out);
/// Releases a distributed optimizer handle (NULL is accepted).
LOOM_CAPI void loom_dist_optimizer_release(loom_dist_optimizer* optimizer);
/// Makes the tape's next loom_tape_gradient hand the variables' gradients over as soon as each is
/// final: full buckets all-reduce while the backward pass goes on.
LOOM_CAPI loom_status loom_dist_optimizer_watch(loom_dist_optimizer* optimizer, loom_tape* tape,
                                                loom_variable* const* variables, int32_t count);
/// Applies the average over the ranks of the gradients (those the watched tape handed over, or
/// else `grads`; NULL entries count as zeros) to the variables; all or nothing.
LOOM_CAPI loom_status loom_dist_optimizer_apply_gradients(loom_dist_optimizer* optimizer, const loom_tensor* const* grads,
                                                          loom_variable* const* variables, int32_t count);
/// Copies rank `root`'s values of the variables and the optimizer's state to every rank.
LOOM_CAPI loom_status loom_dist_optimizer_broadcast_state(loom_dist_optimizer* optimizer, loom_variable* const* variables,
                                                          int32_t count, int32_t root);
/// Timings of the last averaged step: buckets, bytes, seconds of communication and seconds of it
/// not hidden behind the backward pass; each out-parameter may be NULL.
LOOM_CAPI loom_status loom_dist_optimizer_stats(const loom_dist_optimizer* optimizer, int64_t* buckets, int64_t* bytes,
                                                double* communication_seconds, double* exposed_seconds);

/* ---- other frameworks' model files: ONNX, Keras HDF5 weights ---- */
/* Keras' HDF5 weight files need no entry points of their own: loom_model_save_weights and
 * loom_model_load_weights read and write Keras' layout for paths ending in .h5 or .hdf5. */
#define LOOM_ONNX_MIN_OPSET 13  ///< The oldest ONNX opset loom_onnx_export writes and loom_onnx_import reads.
#define LOOM_ONNX_MAX_OPSET 17  ///< The newest ONNX opset loom_onnx_export writes and loom_onnx_import reads.
/// Writes a built Sequential or functional model as an ONNX file of `opset` (LOOM_ONNX_MIN_OPSET
/// to LOOM_ONNX_MAX_OPSET; 0: LOOM_ONNX_MIN_OPSET), atomically (loom::nn::export_onnx): NHWC
/// images at the graph's boundary, a dynamic batch axis, layers in inference form.
/// LOOM_ERROR_INVALID_ARGUMENT for another opset or a model that is not built,
/// LOOM_ERROR_UNIMPLEMENTED for a layer without an ONNX form (the message names it and lists
/// those that have one), LOOM_ERROR_IO when writing fails.
LOOM_CAPI loom_status loom_onnx_export(const loom_model* model, const char* path, int32_t opset);
/// A functional model of an ONNX file's graph with its weights (loom::nn::import_onnx): inputs in
/// the file's layout (an NCHW image stays NCHW), ready to predict, compile and fit.
/// LOOM_ERROR_UNIMPLEMENTED for an operator or opset loom does not import (the message names the
/// node, its operator and the operators loom imports), LOOM_ERROR_IO for a file that is not
/// ONNX, is truncated or has a malformed graph, LOOM_ERROR_SHAPE for shapes that do not fit.
LOOM_CAPI loom_status loom_onnx_import(const char* path, loom_model** out);
/// The ONNX operators loom_onnx_import reads, sorted and comma-separated. `*needed` (may be NULL)
/// receives the size with the NUL; buffer NULL with capacity 0 only asks.
LOOM_CAPI loom_status loom_onnx_import_operators(char* buffer, size_t capacity, size_t* needed);

#ifdef __cplusplus
}
#endif

#endif /* LOOM_LOOM_H */
