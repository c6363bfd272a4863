/* loom C ABI: tensors, ops, variables, the gradient tape, devices, layers, models, training
 * and files, for C and any language with a C FFI. Conventions (see docs in README):
 *  - every call that can fail returns loom_status (0 = LOOM_OK); the message of the last
 *    failure on this thread is loom_last_error_message();
 *  - results come back through trailing out-parameters, set to NULL on failure;
 *  - every handle returned is a new reference released with loom_<object>_release (NULL is
 *    accepted); arguments are borrowed; containers keep their own references;
 *  - nothing aborts, exits or lets an exception escape; NULL and released handles are errors.
 * Pure C99; only fixed-width integers, size_t, double, const char* and opaque handles cross. */
#ifndef LOOM_LOOM_H
#define LOOM_LOOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LOOM_CAPI __declspec(dllexport)
#else
#define LOOM_CAPI __attribute__((visibility("default")))
#endif

/* Version of this header's ABI; loom_init(LOOM_ABI_VERSION) checks it against the library. */
#define LOOM_ABI_VERSION 1

/* Status codes (append only). */
typedef int32_t loom_status;
#define LOOM_OK 0
#define LOOM_ERROR_INVALID_ARGUMENT 1
#define LOOM_ERROR_SHAPE 2
#define LOOM_ERROR_DTYPE 3
#define LOOM_ERROR_DEVICE 4
#define LOOM_ERROR_OUT_OF_MEMORY 5
#define LOOM_ERROR_IO 6
#define LOOM_ERROR_NOT_FOUND 7
#define LOOM_ERROR_UNIMPLEMENTED 8
#define LOOM_ERROR_INTERNAL 9
#define LOOM_ERROR_ABI_MISMATCH 10
#define LOOM_ERROR_CALLBACK 11

/* dtypes (append only). */
#define LOOM_F32 0
#define LOOM_F64 1
#define LOOM_I32 2
#define LOOM_I64 3
#define LOOM_BOOL 4
#define LOOM_U8 5
#define LOOM_F16 6
#define LOOM_BF16 7

/* Open slice bounds for loom_variable_assign_slice. */
#define LOOM_SLICE_START INT64_MIN
#define LOOM_SLICE_END INT64_MAX

typedef struct loom_tensor loom_tensor;
typedef struct loom_attrs loom_attrs;
typedef struct loom_variable loom_variable;
typedef struct loom_tape loom_tape;
typedef struct loom_layer loom_layer;
typedef struct loom_model loom_model;
typedef struct loom_optimizer loom_optimizer;

/* ---- library ---- */
LOOM_CAPI int32_t loom_abi_version(void);
LOOM_CAPI const char* loom_version_string(void);
/* LOOM_ERROR_ABI_MISMATCH when the application was built against a newer header. */
LOOM_CAPI loom_status loom_init(int32_t abi_version);
LOOM_CAPI loom_status loom_last_error_code(void);
/* Valid until the next failing call on this thread; "" when there was none. */
LOOM_CAPI const char* loom_last_error_message(void);
/* Copies the message (truncated, NUL-terminated); returns its full length. */
LOOM_CAPI size_t loom_last_error_copy(char* buffer, size_t capacity);
LOOM_CAPI loom_status loom_set_num_threads(int32_t n);
LOOM_CAPI int32_t loom_get_num_threads(void);
LOOM_CAPI loom_status loom_set_seed(uint64_t seed);

/* ---- tensors ---- */
LOOM_CAPI loom_status loom_tensor_from_host(const void* data, size_t nbytes, const int64_t* dims, int32_t rank,
                                            int32_t dtype, loom_tensor** out);
/* Zero-copy: `deleter(data, user)` is called exactly once, also when this call fails. */
LOOM_CAPI loom_status loom_tensor_wrap_host(void* data, size_t nbytes, const int64_t* dims, int32_t rank, int32_t dtype,
                                            void (*deleter)(void* data, void* user), void* user, loom_tensor** out);
LOOM_CAPI loom_status loom_tensor_fill(const int64_t* dims, int32_t rank, double value, int32_t dtype, loom_tensor** out);
LOOM_CAPI loom_status loom_tensor_zeros(const int64_t* dims, int32_t rank, int32_t dtype, loom_tensor** out);
LOOM_CAPI loom_status loom_tensor_ones(const int64_t* dims, int32_t rank, int32_t dtype, loom_tensor** out);
LOOM_CAPI loom_status loom_tensor_arange(double start, double stop, double step, int32_t dtype, loom_tensor** out);
LOOM_CAPI loom_status loom_tensor_random_normal(const int64_t* dims, int32_t rank, double mean, double stddev, int32_t dtype,
                                                uint64_t seed, loom_tensor** out);
LOOM_CAPI loom_status loom_tensor_random_uniform(const int64_t* dims, int32_t rank, double minval, double maxval,
                                                 int32_t dtype, uint64_t seed, loom_tensor** out);
LOOM_CAPI void loom_tensor_release(loom_tensor* tensor);
LOOM_CAPI loom_status loom_tensor_rank(const loom_tensor* tensor, int32_t* out);
/* Writes up to `capacity` dims and the rank (which may exceed capacity). */
LOOM_CAPI loom_status loom_tensor_shape(const loom_tensor* tensor, int64_t* dims, int32_t capacity, int32_t* rank);
LOOM_CAPI loom_status loom_tensor_dtype(const loom_tensor* tensor, int32_t* out);
LOOM_CAPI loom_status loom_tensor_numel(const loom_tensor* tensor, int64_t* out);
LOOM_CAPI loom_status loom_tensor_nbytes(const loom_tensor* tensor, size_t* out);
/* The device name ("CPU:0"), NUL-terminated; LOOM_ERROR_INVALID_ARGUMENT if it does not fit. */
LOOM_CAPI loom_status loom_tensor_device(const loom_tensor* tensor, char* buffer, size_t capacity);
/* Dense row-major copy of the values; nbytes must equal numel * dtype size. */
LOOM_CAPI loom_status loom_tensor_to_host(const loom_tensor* tensor, void* dst, size_t nbytes);
/* The single value, converted to double. */
LOOM_CAPI loom_status loom_tensor_item(const loom_tensor* tensor, double* out);
LOOM_CAPI loom_status loom_tensor_cast(const loom_tensor* tensor, int32_t dtype, loom_tensor** out);
LOOM_CAPI loom_status loom_tensor_to_device(const loom_tensor* tensor, const char* device, loom_tensor** out);
LOOM_CAPI loom_status loom_tensor_save_npy(const loom_tensor* tensor, const char* path);
LOOM_CAPI loom_status loom_tensor_load_npy(const char* path, loom_tensor** out);
LOOM_CAPI loom_status loom_idx_load(const char* path, loom_tensor** out);

/* ---- ops ---- */
LOOM_CAPI loom_status loom_attrs_new(loom_attrs** out);
LOOM_CAPI void loom_attrs_release(loom_attrs* attrs);
LOOM_CAPI loom_status loom_attrs_set_int(loom_attrs* attrs, const char* name, int64_t value);
LOOM_CAPI loom_status loom_attrs_set_float(loom_attrs* attrs, const char* name, double value);
LOOM_CAPI loom_status loom_attrs_set_bool(loom_attrs* attrs, const char* name, int32_t value);
LOOM_CAPI loom_status loom_attrs_set_string(loom_attrs* attrs, const char* name, const char* value);
LOOM_CAPI loom_status loom_attrs_set_int_list(loom_attrs* attrs, const char* name, const int64_t* values, int32_t count);
LOOM_CAPI loom_status loom_attrs_set_float_list(loom_attrs* attrs, const char* name, const double* values, int32_t count);
LOOM_CAPI loom_status loom_attrs_set_dtype(loom_attrs* attrs, const char* name, int32_t dtype);
/* Any op of the registry by name; attrs may be NULL. Writes up to `capacity` outputs (new
 * references) and their count; more outputs than capacity is an error (nothing returned). */
LOOM_CAPI loom_status loom_op_call(const char* name, const loom_tensor* const* inputs, int32_t n_inputs,
                                   const loom_attrs* attrs, loom_tensor** outputs, int32_t capacity, int32_t* n_outputs);
LOOM_CAPI loom_status loom_op_count(int32_t* out);
LOOM_CAPI loom_status loom_op_name(int32_t index, char* buffer, size_t capacity);
/* Typed fast paths. */
LOOM_CAPI loom_status loom_add(const loom_tensor* a, const loom_tensor* b, loom_tensor** out);
LOOM_CAPI loom_status loom_sub(const loom_tensor* a, const loom_tensor* b, loom_tensor** out);
LOOM_CAPI loom_status loom_mul(const loom_tensor* a, const loom_tensor* b, loom_tensor** out);
LOOM_CAPI loom_status loom_div(const loom_tensor* a, const loom_tensor* b, loom_tensor** out);
LOOM_CAPI loom_status loom_matmul(const loom_tensor* a, const loom_tensor* b, int32_t transpose_a, int32_t transpose_b,
                                  loom_tensor** out);
LOOM_CAPI loom_status loom_exp(const loom_tensor* x, loom_tensor** out);
LOOM_CAPI loom_status loom_relu(const loom_tensor* x, loom_tensor** out);
/* n_axes < 0: every axis. */
LOOM_CAPI loom_status loom_reduce_sum(const loom_tensor* x, const int64_t* axes, int32_t n_axes, int32_t keepdims,
                                      loom_tensor** out);
LOOM_CAPI loom_status loom_reduce_mean(const loom_tensor* x, const int64_t* axes, int32_t n_axes, int32_t keepdims,
                                       loom_tensor** out);
LOOM_CAPI loom_status loom_reshape(const loom_tensor* x, const int64_t* dims, int32_t rank, loom_tensor** out);
/* n_perm == 0: reverse the axes. */
LOOM_CAPI loom_status loom_transpose(const loom_tensor* x, const int64_t* perm, int32_t n_perm, loom_tensor** out);
/* NHWC input, (KH, KW, C_in, C_out) filter. bias may be NULL; strides: 2 values, or NULL for
 * (1, 1); padding: "same", "valid", or NULL for "valid". */
LOOM_CAPI loom_status loom_conv2d(const loom_tensor* x, const loom_tensor* filter, const loom_tensor* bias,
                                  const int64_t* strides, const char* padding, loom_tensor** out);
LOOM_CAPI loom_status loom_softmax(const loom_tensor* x, int64_t axis, loom_tensor** out);

/* ---- variables ---- */
LOOM_CAPI loom_status loom_variable_new(const loom_tensor* initial, const char* name, int32_t trainable,
                                        loom_variable** out);
LOOM_CAPI void loom_variable_release(loom_variable* variable);
/* A tensor handle for the variable itself (what ops and tapes see; follows later assignments). */
LOOM_CAPI loom_status loom_variable_tensor(const loom_variable* variable, loom_tensor** out);
/* A copy of the current values. */
LOOM_CAPI loom_status loom_variable_read(const loom_variable* variable, loom_tensor** out);
LOOM_CAPI loom_status loom_variable_name(const loom_variable* variable, char* buffer, size_t capacity);
LOOM_CAPI loom_status loom_variable_assign(loom_variable* variable, const loom_tensor* value);
LOOM_CAPI loom_status loom_variable_assign_add(loom_variable* variable, const loom_tensor* delta);
LOOM_CAPI loom_status loom_variable_assign_sub(loom_variable* variable, const loom_tensor* delta);
/* Python-style begin:end:step per axis (LOOM_SLICE_START/END for open bounds); the value
 * broadcasts to the region. */
LOOM_CAPI loom_status loom_variable_assign_slice(loom_variable* variable, const int64_t* begin, const int64_t* end,
                                                 const int64_t* step, int32_t n_axes, const loom_tensor* value);

/* ---- gradient tape (belongs to the thread that created it) ---- */
LOOM_CAPI loom_status loom_tape_new(int32_t persistent, int32_t watch_accessed_variables, loom_tape** out);
LOOM_CAPI void loom_tape_release(loom_tape* tape);
LOOM_CAPI loom_status loom_tape_watch(loom_tape* tape, const loom_tensor* tensor);
LOOM_CAPI loom_status loom_tape_watch_variable(loom_tape* tape, const loom_variable* variable);
LOOM_CAPI loom_status loom_tape_stop_recording(loom_tape* tape);
LOOM_CAPI loom_status loom_tape_resume_recording(loom_tape* tape);
LOOM_CAPI loom_status loom_tape_reset(loom_tape* tape);
/* d target / d source for each source then each variable, in `grads` (n_sources + n_variables
 * entries; NULL where there is no gradient unless unconnected_zero). output_gradient may be NULL. */
LOOM_CAPI loom_status loom_tape_gradient(loom_tape* tape, const loom_tensor* target, const loom_tensor* const* sources,
                                         int32_t n_sources, const loom_variable* const* variables, int32_t n_variables,
                                         const loom_tensor* output_gradient, int32_t unconnected_zero,
                                         loom_tensor** grads);

/* Custom gradients: forward(user, inputs, n_inputs, outputs, capacity, n_outputs) computes
 * outputs; backward(user, inputs, n_inputs, output_grads, n_outputs, input_grads) writes one
 * gradient per input (new references; NULL for none). Both return 0 on success. destroy(user)
 * runs once when the recorded gradient is no longer needed (may be NULL). */
typedef int32_t (*loom_custom_forward_fn)(void* user, const loom_tensor* const* inputs, int32_t n_inputs,
                                          loom_tensor** outputs, int32_t capacity, int32_t* n_outputs);
typedef int32_t (*loom_custom_backward_fn)(void* user, const loom_tensor* const* inputs, int32_t n_inputs,
                                           const loom_tensor* const* output_grads, int32_t n_outputs,
                                           loom_tensor** input_grads);
LOOM_CAPI loom_status loom_custom_gradient(loom_custom_forward_fn forward, loom_custom_backward_fn backward, void* user,
                                           void (*destroy)(void* user), const loom_tensor* const* inputs,
                                           int32_t n_inputs, loom_tensor** outputs, int32_t capacity,
                                           int32_t* n_outputs);

/* ---- devices ---- */
typedef struct loom_device_info {
  size_t struct_size; /* set by the caller to sizeof(loom_device_info) */
  char name[32];
  char device_type[8];
  char description[256];
  int64_t total_memory;
  int64_t free_memory;
  int64_t memory_limit;
  int32_t compute_capability_major;
  int32_t compute_capability_minor;
} loom_device_info;
/* device_type "CPU", "GPU" or "" (all). */
LOOM_CAPI loom_status loom_device_count(const char* device_type, int32_t* out);
/* The index-th device of the type (the order of loom_device_count). */
LOOM_CAPI loom_status loom_device_info_get(const char* device_type, int32_t index, loom_device_info* info);
/* The device of that name ("CPU:0", "GPU:1"); LOOM_ERROR_DEVICE when there is none. */
LOOM_CAPI loom_status loom_device_find(const char* name, loom_device_info* info);
LOOM_CAPI loom_status loom_device_scope_push(const char* device);
LOOM_CAPI loom_status loom_device_scope_pop(void);
LOOM_CAPI loom_status loom_device_set_memory_limit(const char* device, int64_t bytes);
LOOM_CAPI loom_status loom_device_set_memory_growth(const char* device, int32_t enabled);
LOOM_CAPI loom_status loom_device_synchronize(const char* device);
LOOM_CAPI loom_status loom_device_memory_stats(const char* device, int64_t* live_bytes, int64_t* peak_bytes,
                                               int64_t* cached_bytes);
LOOM_CAPI loom_status loom_set_float32_matmul_precision(const char* precision);
/* GPU convolutions on cuDNN (non-zero, the default) or on loom's im2col + cuBLAS kernels (0). */
LOOM_CAPI loom_status loom_set_cudnn_enabled(int32_t enabled);

/* ---- layers and models ---- */
/* type: Dense, Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten, Reshape, Dropout,
 * Activation, BatchNormalization, Concatenate, Add; attributes by Keras argument names
 * (units, activation, use_bias, kernel_initializer, filters, kernel_size, strides, padding,
 * pool_size, rate, seed, target_shape, momentum, epsilon, axis, l2, name). attrs may be NULL. */
LOOM_CAPI loom_status loom_layer_new(const char* type, const loom_attrs* attrs, loom_layer** out);
LOOM_CAPI void loom_layer_release(loom_layer* layer);
LOOM_CAPI loom_status loom_layer_name(const loom_layer* layer, char* buffer, size_t capacity);
LOOM_CAPI loom_status loom_layer_call(loom_layer* layer, const loom_tensor* x, int32_t training, loom_tensor** out);
LOOM_CAPI loom_status loom_layer_weight_count(const loom_layer* layer, int32_t* out);
LOOM_CAPI loom_status loom_layer_weight(const loom_layer* layer, int32_t index, loom_variable** out);

/* input_shape (without the batch axis) may be NULL: the model builds on its first input. */
LOOM_CAPI loom_status loom_sequential_new(const int64_t* input_shape, int32_t rank, const char* name, loom_model** out);
LOOM_CAPI loom_status loom_sequential_add(loom_model* model, loom_layer* layer);
LOOM_CAPI void loom_model_release(loom_model* model);
LOOM_CAPI loom_status loom_model_layer_count(const loom_model* model, int32_t* out);
LOOM_CAPI loom_status loom_model_get_layer(const loom_model* model, int32_t index, loom_layer** out);
LOOM_CAPI loom_status loom_model_get_layer_by_name(const loom_model* model, const char* name, loom_layer** out);
LOOM_CAPI loom_status loom_model_call(loom_model* model, const loom_tensor* x, int32_t training, loom_tensor** out);
/* Writes up to capacity variables (new references) and their count. */
LOOM_CAPI loom_status loom_model_trainable_variables(const loom_model* model, loom_variable** out, int32_t capacity,
                                                     int32_t* count);
LOOM_CAPI loom_status loom_model_weight_count(const loom_model* model, int32_t* out);
LOOM_CAPI loom_status loom_model_get_weights(const loom_model* model, loom_tensor** out, int32_t capacity);
LOOM_CAPI loom_status loom_model_set_weights(loom_model* model, const loom_tensor* const* values, int32_t count);
/* optimizer: sgd, adam, adamw, rmsprop with attrs (learning_rate, momentum, nesterov, beta_1,
 * beta_2, epsilon, weight_decay, rho, clipnorm, clipvalue); loss: mse, mae,
 * sparse_categorical_crossentropy, categorical_crossentropy, binary_crossentropy with attrs
 * (from_logits); metrics by name ("accuracy", "mae", ...). attrs may be NULL. */
LOOM_CAPI loom_status loom_model_compile(loom_model* model, const char* optimizer, const loom_attrs* optimizer_attrs,
                                         const char* loss, const loom_attrs* loss_attrs, const char* const* metrics,
                                         int32_t n_metrics);
/* Called after each epoch with the logs (names and values); return non-zero to stop training. */
typedef int32_t (*loom_epoch_callback)(void* user, int32_t epoch, const char* const* names, const double* values,
                                       int32_t count);
/* options: epochs, batch_size, validation_split, shuffle, seed, verbose (default 0 here).
 * loss_history (may be NULL) receives up to capacity per-epoch training losses. */
LOOM_CAPI loom_status loom_model_fit(loom_model* model, const loom_tensor* x, const loom_tensor* y,
                                     const loom_attrs* options, loom_epoch_callback callback, void* user,
                                     double* loss_history, int32_t capacity, int32_t* epochs_run);
/* values: the loss then each compiled metric, in the order of loom_model_metric_name. */
LOOM_CAPI loom_status loom_model_evaluate(loom_model* model, const loom_tensor* x, const loom_tensor* y,
                                          int64_t batch_size, double* values, int32_t capacity, int32_t* count);
LOOM_CAPI loom_status loom_model_metric_name(const loom_model* model, int32_t index, char* buffer, size_t capacity);
LOOM_CAPI loom_status loom_model_predict(loom_model* model, const loom_tensor* x, int64_t batch_size, loom_tensor** out);
LOOM_CAPI loom_status loom_model_save_weights(const loom_model* model, const char* path);
LOOM_CAPI loom_status loom_model_load_weights(loom_model* model, const char* path, int32_t strict);

/* ---- optimizers in custom loops ---- */
LOOM_CAPI loom_status loom_optimizer_new(const char* name, const loom_attrs* attrs, loom_optimizer** out);
LOOM_CAPI void loom_optimizer_release(loom_optimizer* optimizer);
LOOM_CAPI loom_status loom_optimizer_apply_gradients(loom_optimizer* optimizer, const loom_tensor* const* grads,
                                                     loom_variable* const* variables, int32_t count);

#ifdef __cplusplus
}
#endif

#endif /* LOOM_LOOM_H */
