/* Every error path of the C ABI: each returns its documented status with a message that names
 * the function and the offending value, clears the out-parameter, and crashes nothing. */
#include "check.h"

static const int64_t d23[] = {2, 3}, d4[] = {4};
static const float six[] = {1, 2, 3, 4, 5, 6};

static void test_null_handles_and_out_params(void) {
  loom_tensor* out = (loom_tensor*)&out; /* garbage that must be cleared */
  loom_tensor* t = tensor_f32(six, d23, 2);
  int32_t rank;
  CHECK_FAILS(loom_tensor_rank(NULL, &rank), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_rank", "tensor is NULL");
  CHECK_FAILS(loom_tensor_rank(t, NULL), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_rank", "out is NULL");
  CHECK_FAILS(loom_add(t, NULL, &out), LOOM_ERROR_INVALID_ARGUMENT, "loom_add", "b is NULL");
  CHECK(out == NULL);
  CHECK_FAILS(loom_tensor_zeros(d4, 1, LOOM_F32, NULL), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_zeros", "out is NULL");
  CHECK_FAILS(loom_tape_watch(NULL, t), LOOM_ERROR_INVALID_ARGUMENT, "loom_tape_watch", "tape is NULL");
  CHECK_FAILS(loom_model_fit(NULL, t, t, NULL, NULL, NULL, NULL, 0, NULL), LOOM_ERROR_INVALID_ARGUMENT,
              "loom_model_fit", "model is NULL");
  CHECK_FAILS(loom_variable_assign(NULL, t), LOOM_ERROR_INVALID_ARGUMENT, "loom_variable_assign", "variable is NULL");
  CHECK_FAILS(loom_layer_new(NULL, NULL, NULL), LOOM_ERROR_INVALID_ARGUMENT, "loom_layer_new", "is NULL");
  /* Releasing NULL is allowed and quiet. */
  loom_tensor_release(NULL);
  loom_model_release(NULL);
  loom_tape_release(NULL);
  loom_tensor_release(t);
}

static void test_released_and_wrong_kind_handles(void) {
  loom_tensor *t = tensor_f32(six, d23, 2), *out = NULL;
  loom_variable* v = NULL;
  int32_t rank;
  CHECK_OK(loom_variable_new(t, "v", 1, &v));
  loom_tensor_release(t);
  CHECK_FAILS(loom_tensor_rank(t, &rank), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_rank", "not a live tensor");
  CHECK_FAILS(loom_exp(t, &out), LOOM_ERROR_INVALID_ARGUMENT, "loom_exp", "not a live tensor");
  loom_tensor_release(t); /* a second release is reported, not a double free */
  CHECK(strstr(loom_last_error_message(), "loom_tensor_release") != NULL);
  CHECK_FAILS(loom_tensor_rank((const loom_tensor*)v, &rank), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_rank",
              "is a variable handle, not a tensor");
  loom_variable_release(v);
}

static void test_counts_and_buffers(void) {
  loom_tensor *t = tensor_f32(six, d23, 2), *out = NULL;
  loom_tensor* outs[1] = {NULL};
  const loom_tensor* inputs[2];
  float small[2];
  char tiny[3];
  int32_t n = -1;
  inputs[0] = t;
  inputs[1] = t;
  CHECK_FAILS(loom_tensor_zeros(d4, -1, LOOM_F32, &out), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_zeros", "rank");
  CHECK_FAILS(loom_tensor_zeros(NULL, 2, LOOM_F32, &out), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_zeros",
              "dims is NULL");
  CHECK_FAILS(loom_op_call("add", NULL, 2, NULL, outs, 1, &n), LOOM_ERROR_INVALID_ARGUMENT, "loom_op_call",
              "inputs is NULL");
  CHECK_FAILS(loom_op_call("add", inputs, -1, NULL, outs, 1, &n), LOOM_ERROR_INVALID_ARGUMENT, "loom_op_call",
              "n_inputs");
  CHECK_FAILS(loom_op_call("add", inputs, 1, NULL, outs, 1, &n), LOOM_ERROR_INVALID_ARGUMENT, "loom_op_call",
              "[add]");
  {
    loom_attrs* a = NULL;
    CHECK_OK(loom_attrs_new(&a));
    CHECK_OK(loom_attrs_set_int(a, "num", 3));
    CHECK_OK(loom_attrs_set_int(a, "axis", 1));
    CHECK_FAILS(loom_op_call("split", inputs, 1, a, outs, 1, &n), LOOM_ERROR_INVALID_ARGUMENT, "loom_op_call",
                "returns 3 outputs but capacity is 1");
    CHECK(outs[0] == NULL);
    loom_attrs_release(a);
  }
  CHECK_FAILS(loom_tensor_to_host(t, small, sizeof small), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_to_host",
              "8 bytes");
  CHECK_FAILS(loom_tensor_device(t, tiny, sizeof tiny), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_device",
              "needs 6");
  CHECK_FAILS(loom_tensor_from_host(six, 7, d23, 2, LOOM_F32, &out), LOOM_ERROR_INVALID_ARGUMENT,
              "loom_tensor_from_host", "(2, 3)");
  CHECK_FAILS(loom_op_name(10000, tiny, sizeof tiny), LOOM_ERROR_INVALID_ARGUMENT, "loom_op_name", "out of range");
  CHECK_FAILS(loom_op_schema("no_such_op", tiny, sizeof tiny, NULL), LOOM_ERROR_NOT_FOUND, "loom_op_schema", "unknown op");
  CHECK_FAILS(loom_op_schema("exp", tiny, sizeof tiny, NULL), LOOM_ERROR_INVALID_ARGUMENT, "loom_op_schema", "needs");
  CHECK_FAILS(loom_op_schema(NULL, tiny, sizeof tiny, NULL), LOOM_ERROR_INVALID_ARGUMENT, "loom_op_schema", "name");
  loom_tensor_release(t);
}

static void test_unknown_names_and_attribute_types(void) {
  loom_tensor* t = tensor_f32(six, d23, 2);
  loom_tensor* outs[2] = {NULL, NULL};
  loom_attrs* a = NULL;
  loom_layer* layer = NULL;
  loom_optimizer* opt = NULL;
  int32_t n;
  const loom_tensor* inputs[1];
  inputs[0] = t;
  CHECK_FAILS(loom_op_call("no_such_op", inputs, 1, NULL, outs, 2, &n), LOOM_ERROR_NOT_FOUND, "loom_op_call",
              "no_such_op");
  CHECK_OK(loom_attrs_new(&a));
  CHECK_OK(loom_attrs_set_int(a, "axez", 1));
  CHECK_FAILS(loom_op_call("reduce_sum", inputs, 1, a, outs, 2, &n), LOOM_ERROR_INVALID_ARGUMENT, "loom_op_call",
              "unknown attribute 'axez'");
  loom_attrs_release(a);
  CHECK_OK(loom_attrs_new(&a));
  CHECK_OK(loom_attrs_set_string(a, "axes", "zero"));
  CHECK_FAILS(loom_op_call("reduce_sum", inputs, 1, a, outs, 2, &n), LOOM_ERROR_INVALID_ARGUMENT, "loom_op_call",
              "axes");
  loom_attrs_release(a);
  CHECK_FAILS(loom_layer_new("Dense2", NULL, &layer), LOOM_ERROR_NOT_FOUND, "loom_layer_new", "Dense2");
  CHECK_OK(loom_attrs_new(&a));
  CHECK_OK(loom_attrs_set_int(a, "unitz", 3));
  CHECK_FAILS(loom_layer_new("Dense", a, &layer), LOOM_ERROR_INVALID_ARGUMENT, "loom_layer_new", "'unitz'");
  loom_attrs_release(a);
  CHECK_OK(loom_attrs_new(&a));
  CHECK_OK(loom_attrs_set_string(a, "units", "three"));
  CHECK_FAILS(loom_layer_new("Dense", a, &layer), LOOM_ERROR_INVALID_ARGUMENT, "loom_layer_new", "units");
  CHECK(layer == NULL);
  loom_attrs_release(a);
  CHECK_OK(loom_attrs_new(&a));
  CHECK_OK(loom_attrs_set_float(a, "momentum", 0.9));
  CHECK_FAILS(loom_optimizer_new("adam", a, &opt), LOOM_ERROR_INVALID_ARGUMENT, "loom_optimizer_new", "'momentum'");
  CHECK_FAILS(loom_optimizer_new("adagrad", NULL, &opt), LOOM_ERROR_NOT_FOUND, "loom_optimizer_new", "adagrad");
  loom_attrs_release(a);
  CHECK_FAILS(loom_attrs_set_int(NULL, "x", 1), LOOM_ERROR_INVALID_ARGUMENT, "loom_attrs_set_int", "attrs is NULL");
  loom_tensor_release(t);
}

static void test_shape_and_dtype_errors(void) {
  loom_tensor *a = tensor_f32(six, d23, 2), *b = tensor_f32(six, d4, 1), *i = NULL, *out = NULL;
  const int64_t bad[] = {4, -1}, five[] = {5};
  CHECK_FAILS(loom_add(a, b, &out), LOOM_ERROR_SHAPE, "loom_add", "(2, 3)");
  CHECK_FAILS(loom_matmul(a, a, 0, 0, &out), LOOM_ERROR_SHAPE, "loom_matmul", "(2, 3)");
  CHECK_FAILS(loom_reshape(a, bad, 2, &out), LOOM_ERROR_SHAPE, "loom_reshape", "(4, -1)");
  CHECK_FAILS(loom_reshape(a, five, 1, &out), LOOM_ERROR_SHAPE, "loom_reshape", "(5,)");
  CHECK_OK(loom_tensor_cast(a, LOOM_I32, &i));
  CHECK_FAILS(loom_add(a, i, &out), LOOM_ERROR_DTYPE, "loom_add", "int32");
  CHECK_FAILS(loom_tensor_zeros(d4, 1, 42, &out), LOOM_ERROR_DTYPE, "loom_tensor_zeros", "dtype 42");
  CHECK_FAILS(loom_tensor_item(a, NULL), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_item", "out is NULL");
  {
    double v;
    CHECK_FAILS(loom_tensor_item(a, &v), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_item", "(2, 3)");
  }
  CHECK(out == NULL);
  loom_tensor_release(a);
  loom_tensor_release(b);
  loom_tensor_release(i);
}

static void test_device_errors(void) {
  loom_tensor *t = tensor_f32(six, d4, 1), *out = NULL;
  loom_device_info info;
  int64_t live;
  info.struct_size = sizeof info;
  CHECK_FAILS(loom_tensor_to_device(t, "TPU:0", &out), LOOM_ERROR_DEVICE, "loom_tensor_to_device", "TPU:0");
  CHECK_FAILS(loom_device_scope_push("CPU:7"), LOOM_ERROR_DEVICE, "loom_device_scope_push", "CPU:7");
  CHECK_FAILS(loom_device_scope_push("banana"), LOOM_ERROR_DEVICE, "loom_device_scope_push", "banana");
  CHECK_FAILS(loom_device_scope_pop(), LOOM_ERROR_INVALID_ARGUMENT, "loom_device_scope_pop", "no device scope");
  CHECK_FAILS(loom_device_find("GPU:9", &info), LOOM_ERROR_DEVICE, "loom_device_find", "GPU:9");
  CHECK_FAILS(loom_device_info_get("CPU", 3, &info), LOOM_ERROR_INVALID_ARGUMENT, "loom_device_info_get",
              "out of range");
  info.struct_size = 8; /* from an older header: too small to fill */
  CHECK_FAILS(loom_device_info_get("CPU", 0, &info), LOOM_ERROR_INVALID_ARGUMENT, "loom_device_info_get",
              "struct_size");
  CHECK_FAILS(loom_device_memory_stats("XPU", &live, NULL, NULL), LOOM_ERROR_DEVICE, "loom_device_memory_stats",
              "XPU");
  CHECK_FAILS(loom_set_float32_matmul_precision("sloppy"), LOOM_ERROR_INVALID_ARGUMENT,
              "loom_set_float32_matmul_precision", "sloppy");
  loom_tensor_release(t);
}

static void write_bytes(const char* path, const char* bytes, size_t n) {
  FILE* f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f) {
    CHECK(fwrite(bytes, 1, n, f) == n);
    fclose(f);
  }
}

static void test_file_errors(void) {
  char path[] = "/tmp/loom_capi_bad_XXXXXX";
  loom_tensor *out = NULL, *t = tensor_f32(six, d4, 1);
  loom_model* model = NULL;
  CHECK(make_temp_file(path));
  CHECK_FAILS(loom_tensor_load_npy("/nonexistent/x.npy", &out), LOOM_ERROR_IO, "loom_tensor_load_npy",
              "/nonexistent/x.npy");
  CHECK_FAILS(loom_tensor_save_npy(t, "/nonexistent/dir/x.npy"), LOOM_ERROR_IO, "loom_tensor_save_npy",
              "/nonexistent/dir");
  write_bytes(path, "\x93NUMPY\x01\x00garbage", 15);
  CHECK_FAILS(loom_tensor_load_npy(path, &out), LOOM_ERROR_IO, "loom_tensor_load_npy", path);
  write_bytes(path, "\x00\x00\x08\x03\x00\x00", 6);
  CHECK_FAILS(loom_idx_load(path, &out), LOOM_ERROR_IO, "loom_idx_load", path);
  CHECK(out == NULL);
  CHECK_OK(loom_sequential_new(NULL, 0, NULL, &model));
  CHECK_FAILS(loom_model_load_weights(model, "/nonexistent/w.safetensors", 1), LOOM_ERROR_IO,
              "loom_model_load_weights", "/nonexistent/w.safetensors");
  write_bytes(path, "not a weights file", 18);
  CHECK_FAILS(loom_model_load_weights(model, path, 1), LOOM_ERROR_IO, "loom_model_load_weights", path);
  CHECK_FAILS(loom_tensor_load_npy(NULL, &out), LOOM_ERROR_INVALID_ARGUMENT, "loom_tensor_load_npy", "path is NULL");
  remove(path);
  loom_model_release(model);
  loom_tensor_release(t);
}

static void test_model_misuse(void) {
  const int64_t dx[] = {4, 2}, dy[] = {4, 1};
  loom_model* model = NULL;
  loom_tensor *x = NULL, *y = NULL, *out = NULL;
  loom_layer* layer = NULL;
  loom_attrs* a = NULL;
  double v[1];
  CHECK_OK(loom_tensor_zeros(dx, 2, LOOM_F32, &x));
  CHECK_OK(loom_tensor_zeros(dy, 2, LOOM_F32, &y));
  CHECK_OK(loom_sequential_new(NULL, 0, "empty", &model));
  CHECK_FAILS(loom_model_predict(model, x, 32, &out), LOOM_ERROR_INVALID_ARGUMENT, "loom_model_predict", "no layers");
  CHECK_OK(loom_attrs_new(&a));
  CHECK_OK(loom_attrs_set_int(a, "units", 1));
  CHECK_OK(loom_layer_new("Dense", a, &layer));
  CHECK_OK(loom_sequential_add(model, layer));
  CHECK_FAILS(loom_model_fit(model, x, x, NULL, NULL, NULL, NULL, 0, NULL), LOOM_ERROR_INVALID_ARGUMENT,
              "loom_model_fit", "compile");
  CHECK_FAILS(loom_model_compile(model, "sgd", NULL, "hinge", NULL, NULL, 0), LOOM_ERROR_INVALID_ARGUMENT,
              "loom_model_compile", "hinge");
  CHECK_OK(loom_model_compile(model, "sgd", NULL, "mse", NULL, NULL, 0));
  CHECK_FAILS(loom_model_fit(model, x, y, a, NULL, NULL, NULL, 0, NULL), LOOM_ERROR_INVALID_ARGUMENT, "loom_model_fit",
              "'units'");
  CHECK_FAILS(loom_model_evaluate(model, x, y, 32, v, 0, NULL), LOOM_ERROR_INVALID_ARGUMENT, "loom_model_evaluate",
              "capacity is 0");
  loom_attrs_release(a);
  loom_layer_release(layer);
  loom_model_release(model);
  loom_tensor_release(x);
  loom_tensor_release(y);
}

static int32_t failing_forward(void* user, const loom_tensor* const* in, int32_t n_in, loom_tensor** out, int32_t cap,
                               int32_t* n_out) {
  (void)user;
  (void)in;
  (void)n_in;
  (void)out;
  (void)cap;
  (void)n_out;
  return 3;
}
static int32_t unused_backward(void* user, const loom_tensor* const* in, int32_t n_in, const loom_tensor* const* dys,
                               int32_t n_dy, loom_tensor** dxs) {
  (void)user;
  (void)in;
  (void)n_in;
  (void)dys;
  (void)n_dy;
  (void)dxs;
  return 0;
}
static void count_destroy(void* user) { ++*(int*)user; }

static int32_t double_forward(void* user, const loom_tensor* const* in, int32_t n_in, loom_tensor** out, int32_t cap,
                              int32_t* n_out) {
  (void)user;
  (void)n_in;
  (void)cap;
  *n_out = 1;
  return loom_add(in[0], in[0], &out[0]);
}
/* Breaks the contract: a gradient of shape (1) for an input of shape (4). */
static int32_t wrong_shape_backward(void* user, const loom_tensor* const* in, int32_t n_in,
                                    const loom_tensor* const* dys, int32_t n_dy, loom_tensor** dxs) {
  const int64_t one[] = {1};
  (void)user;
  (void)in;
  (void)n_in;
  (void)dys;
  (void)n_dy;
  return loom_tensor_ones(one, 1, LOOM_F32, &dxs[0]);
}

static void test_callback_errors(void) {
  loom_tensor *t = tensor_f32(six, d4, 1), *out = NULL;
  int destroyed = 0;
  int32_t n = 0;
  CHECK_FAILS(loom_custom_gradient(failing_forward, unused_backward, &destroyed, count_destroy,
                                   (const loom_tensor* const*)&t, 1, &out, 1, &n),
              LOOM_ERROR_CALLBACK, "loom_custom_gradient", "forward callback returned 3");
  CHECK(destroyed == 1); /* the user data is destroyed also when the call fails */
  {
    /* A gradient function that returns the wrong shape: an internal-contract error, no crash. */
    loom_tape* tape = NULL;
    loom_tensor *y = NULL, *sum = NULL, *g = NULL;
    CHECK_OK(loom_tape_new(0, 1, &tape));
    CHECK_OK(loom_tape_watch(tape, t));
    CHECK_OK(loom_custom_gradient(double_forward, wrong_shape_backward, NULL, NULL, (const loom_tensor* const*)&t, 1,
                                  &y, 1, &n));
    CHECK_OK(loom_reduce_sum(y, NULL, -1, 0, &sum));
    CHECK_FAILS(loom_tape_gradient(tape, sum, (const loom_tensor* const*)&t, 1, NULL, 0, NULL, 0, &g),
                LOOM_ERROR_INTERNAL, "loom_tape_gradient", "has shape (1,), expected (4,)");
    CHECK(g == NULL);
    loom_tape_release(tape);
    loom_tensor_release(y);
    loom_tensor_release(sum);
  }
  CHECK_FAILS(loom_custom_gradient(NULL, unused_backward, NULL, NULL, (const loom_tensor* const*)&t, 1, &out, 1, &n),
              LOOM_ERROR_INVALID_ARGUMENT, "loom_custom_gradient", "forward is NULL");
  loom_tensor_release(t);
}

static void test_abi_and_messages(void) {
  char buffer[16];
  size_t full;
  CHECK_FAILS(loom_init(LOOM_ABI_VERSION + 1), LOOM_ERROR_ABI_MISMATCH, "loom_init", "ABI version 2");
  CHECK(loom_last_error_code() == LOOM_ERROR_ABI_MISMATCH);
  full = loom_last_error_copy(buffer, sizeof buffer);
  CHECK(full == strlen(loom_last_error_message()) && full > sizeof buffer);
  CHECK(strlen(buffer) == sizeof buffer - 1 && strncmp(buffer, "loom_init: ", 11) == 0);
  CHECK(loom_last_error_copy(NULL, 0) == full);
  CHECK_FAILS(loom_set_num_threads(0), LOOM_ERROR_INVALID_ARGUMENT, "loom_set_num_threads", "at least 1");
}

int main(void) {
  RUN(test_null_handles_and_out_params);
  RUN(test_released_and_wrong_kind_handles);
  RUN(test_counts_and_buffers);
  RUN(test_unknown_names_and_attribute_types);
  RUN(test_shape_and_dtype_errors);
  RUN(test_device_errors);
  RUN(test_file_errors);
  RUN(test_model_misuse);
  RUN(test_callback_errors);
  RUN(test_abi_and_messages);
  printf("%d failure(s)\n", check_failures);
  return check_failures == 0 ? 0 : 1;
}
