/* The C ABI from C: every area of loom.h with hand-computed values. */
#include "check.h"

static const int64_t dims23[] = {2, 3};
static const float m23[] = {1, 2, 3, 4, 5, 6};

static void test_library(void) {
  CHECK_OK(loom_init(LOOM_ABI_VERSION));
  CHECK(loom_abi_version() == LOOM_ABI_VERSION);
  CHECK(strlen(loom_version_string()) > 0);
  CHECK(loom_get_num_threads() >= 1);
  {
    int32_t before = loom_get_num_threads();
    CHECK_OK(loom_set_num_threads(1));
    CHECK(loom_get_num_threads() == 1);
    CHECK_OK(loom_set_num_threads(before));
  }
}

static void test_tensor_facts_and_copies(void) {
  loom_tensor* t = tensor_f32(m23, dims23, 2);
  int32_t rank = -1, dtype = -1;
  int64_t dims[4] = {0}, numel = 0;
  size_t nbytes = 0;
  char device[16];
  float back[6];
  CHECK_OK(loom_tensor_rank(t, &rank));
  CHECK(rank == 2);
  CHECK_OK(loom_tensor_shape(t, dims, 4, &rank));
  CHECK(dims[0] == 2 && dims[1] == 3 && rank == 2);
  CHECK_OK(loom_tensor_dtype(t, &dtype));
  CHECK(dtype == LOOM_F32);
  CHECK_OK(loom_tensor_numel(t, &numel));
  CHECK(numel == 6);
  CHECK_OK(loom_tensor_nbytes(t, &nbytes));
  CHECK(nbytes == 24);
  CHECK_OK(loom_tensor_device(t, device, sizeof device));
  CHECK(strcmp(device, "CPU:0") == 0);
  values_f32(t, back, 6);
  CHECK(memcmp(back, m23, sizeof back) == 0);
  {
    loom_tensor* i = NULL;
    int32_t ints[6];
    CHECK_OK(loom_tensor_cast(t, LOOM_I32, &i));
    CHECK_OK(loom_tensor_to_host(i, ints, sizeof ints));
    CHECK(ints[0] == 1 && ints[5] == 6);
    loom_tensor_release(i);
  }
  loom_tensor_release(t);
}

static int deleter_calls = 0;
static void count_deleter(void* data, void* user) {
  (void)data;
  ++*(int*)user;
}

static void test_wrap_host(void) {
  float* data = malloc(6 * sizeof(float));
  loom_tensor *t = NULL, *doubled = NULL;
  float out[6];
  memcpy(data, m23, sizeof m23);
  CHECK_OK(loom_tensor_wrap_host(data, 6 * sizeof(float), dims23, 2, LOOM_F32, count_deleter, &deleter_calls, &t));
  data[0] = 10; /* zero-copy: the tensor sees the caller's memory */
  CHECK_OK(loom_add(t, t, &doubled));
  values_f32(doubled, out, 6);
  CHECK(out[0] == 20 && out[5] == 12);
  CHECK(deleter_calls == 0);
  loom_tensor_release(t);
  CHECK(deleter_calls == 1);
  loom_tensor_release(doubled);
  free(data);
}

static void test_creation(void) {
  const int64_t d[] = {2, 2};
  loom_tensor *z = NULL, *o = NULL, *f = NULL, *r = NULL, *a = NULL, *b = NULL, *c = NULL;
  float v[4], w[4];
  double dv[4];
  int64_t iv[4];
  CHECK_OK(loom_tensor_zeros(d, 2, LOOM_F32, &z));
  values_f32(z, v, 4);
  CHECK(v[0] == 0 && v[3] == 0);
  CHECK_OK(loom_tensor_ones(d, 2, LOOM_F64, &o));
  CHECK_OK(loom_tensor_to_host(o, dv, sizeof dv));
  CHECK(dv[0] == 1 && dv[3] == 1);
  CHECK_OK(loom_tensor_fill(d, 2, 2.5, LOOM_F32, &f));
  values_f32(f, v, 4);
  CHECK(v[2] == 2.5f);
  CHECK_OK(loom_tensor_arange(0, 8, 2, LOOM_I64, &r));
  CHECK_OK(loom_tensor_to_host(r, iv, sizeof iv));
  CHECK(iv[0] == 0 && iv[1] == 2 && iv[3] == 6);
  /* Same seed, same values; another seed, other values. */
  CHECK_OK(loom_tensor_random_normal(d, 2, 0.0, 1.0, LOOM_F32, 42, &a));
  CHECK_OK(loom_tensor_random_normal(d, 2, 0.0, 1.0, LOOM_F32, 42, &b));
  CHECK_OK(loom_tensor_random_uniform(d, 2, 5.0, 6.0, LOOM_F32, 43, &c));
  values_f32(a, v, 4);
  values_f32(b, w, 4);
  CHECK(memcmp(v, w, sizeof v) == 0);
  values_f32(c, w, 4);
  CHECK(w[0] >= 5 && w[0] < 6 && w[3] >= 5 && w[3] < 6);
  loom_tensor_release(z);
  loom_tensor_release(o);
  loom_tensor_release(f);
  loom_tensor_release(r);
  loom_tensor_release(a);
  loom_tensor_release(b);
  loom_tensor_release(c);
}

static void test_npy_roundtrip(void) {
  char path[] = "/tmp/loom_capi_XXXXXX";
  loom_tensor *t = tensor_f32(m23, dims23, 2), *back = NULL;
  float v[6];
  int64_t d[2];
  int32_t rank = 0;
  CHECK(make_temp_file(path));
  CHECK_OK(loom_tensor_save_npy(t, path));
  CHECK_OK(loom_tensor_load_npy(path, &back));
  CHECK_OK(loom_tensor_shape(back, d, 2, &rank));
  CHECK(rank == 2 && d[0] == 2 && d[1] == 3);
  values_f32(back, v, 6);
  CHECK(memcmp(v, m23, sizeof v) == 0);
  remove(path);
  loom_tensor_release(t);
  loom_tensor_release(back);
}

static void test_typed_ops(void) {
  const int64_t d3[] = {3}, d32[] = {3, 2}, d6[] = {6}, d2[] = {2};
  const float row[] = {10, 20, 30}, m32[] = {1, 0, 0, 1, 1, 1}, sm[] = {0.0f, 0.69314718f};
  loom_tensor *a = tensor_f32(m23, dims23, 2), *b = tensor_f32(row, d3, 1), *c = tensor_f32(m32, d32, 2);
  loom_tensor *s = tensor_f32(sm, d2, 1), *r = NULL;
  float v[6];
  int64_t d[3];
  int32_t rank;
  CHECK_OK(loom_add(a, b, &r)); /* broadcasting (2,3) + (3) */
  values_f32(r, v, 6);
  CHECK(v[0] == 11 && v[4] == 25);
  loom_tensor_release(r);
  CHECK_OK(loom_sub(a, b, &r));
  values_f32(r, v, 6);
  CHECK(v[2] == -27);
  loom_tensor_release(r);
  CHECK_OK(loom_mul(a, b, &r));
  values_f32(r, v, 6);
  CHECK(v[5] == 180);
  loom_tensor_release(r);
  CHECK_OK(loom_div(a, b, &r));
  values_f32(r, v, 6);
  CHECK_NEAR(v[3], 0.4, 1e-6);
  loom_tensor_release(r);
  /* [[1,2,3],[4,5,6]] @ [[1,0],[0,1],[1,1]] = [[4,5],[10,11]] */
  CHECK_OK(loom_matmul(a, c, 0, 0, &r));
  values_f32(r, v, 4);
  CHECK(v[0] == 4 && v[1] == 5 && v[2] == 10 && v[3] == 11);
  loom_tensor_release(r);
  /* a @ a^T = [[14, 32], [32, 77]] */
  CHECK_OK(loom_matmul(a, a, 0, 1, &r));
  values_f32(r, v, 4);
  CHECK(v[0] == 14 && v[1] == 32 && v[3] == 77);
  loom_tensor_release(r);
  CHECK_OK(loom_exp(s, &r));
  values_f32(r, v, 2);
  CHECK_NEAR(v[0], 1, 1e-6);
  CHECK_NEAR(v[1], 2, 1e-5);
  loom_tensor_release(r);
  CHECK_OK(loom_softmax(s, -1, &r));
  values_f32(r, v, 2);
  CHECK_NEAR(v[0], 1.0 / 3, 1e-6);
  CHECK_NEAR(v[1], 2.0 / 3, 1e-6);
  loom_tensor_release(r);
  {
    const float neg[] = {-1, 2};
    loom_tensor* n = tensor_f32(neg, d2, 1);
    CHECK_OK(loom_relu(n, &r));
    values_f32(r, v, 2);
    CHECK(v[0] == 0 && v[1] == 2);
    loom_tensor_release(r);
    loom_tensor_release(n);
  }
  {
    const int64_t axis1 = 1;
    CHECK_OK(loom_reduce_sum(a, &axis1, 1, 0, &r));
    values_f32(r, v, 2);
    CHECK(v[0] == 6 && v[1] == 15);
    loom_tensor_release(r);
    CHECK_OK(loom_reduce_sum(a, NULL, -1, 0, &r));
    CHECK(scalar_of(r) == 21);
    loom_tensor_release(r);
    CHECK_OK(loom_reduce_mean(a, &axis1, 1, 1, &r));
    CHECK_OK(loom_tensor_shape(r, d, 3, &rank));
    CHECK(rank == 2 && d[0] == 2 && d[1] == 1);
    values_f32(r, v, 2);
    CHECK(v[0] == 2 && v[1] == 5);
    loom_tensor_release(r);
  }
  {
    const int64_t infer[] = {-1};
    CHECK_OK(loom_reshape(a, infer, 1, &r));
    CHECK_OK(loom_tensor_shape(r, d, 3, &rank));
    CHECK(rank == 1 && d[0] == 6);
    loom_tensor_release(r);
    CHECK_OK(loom_transpose(a, NULL, 0, &r));
    CHECK_OK(loom_tensor_shape(r, d, 3, &rank));
    CHECK(rank == 2 && d[0] == 3 && d[1] == 2);
    values_f32(r, v, 6);
    CHECK(v[0] == 1 && v[1] == 4 && v[2] == 2);
    loom_tensor_release(r);
    (void)d6;
  }
  loom_tensor_release(a);
  loom_tensor_release(b);
  loom_tensor_release(c);
  loom_tensor_release(s);
}

static void test_conv2d(void) {
  /* 3x3 image 1..9, 2x2 filter of ones, valid: window sums [[12,16],[24,28]]; bias 1. */
  const float img[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, ones[] = {1, 1, 1, 1}, one[] = {1};
  const int64_t dx[] = {1, 3, 3, 1}, df[] = {2, 2, 1, 1}, db[] = {1}, strides[] = {1, 1};
  loom_tensor *x = tensor_f32(img, dx, 4), *f = tensor_f32(ones, df, 4), *b = tensor_f32(one, db, 1), *y = NULL;
  float v[4];
  CHECK_OK(loom_conv2d(x, f, b, strides, "valid", &y));
  values_f32(y, v, 4);
  CHECK(v[0] == 13 && v[1] == 17 && v[2] == 25 && v[3] == 29);
  loom_tensor_release(y);
  loom_tensor_release(x);
  loom_tensor_release(f);
  loom_tensor_release(b);
}

static void test_generic_op_call(void) {
  loom_tensor* a = tensor_f32(m23, dims23, 2);
  loom_tensor* outs[4] = {NULL, NULL, NULL, NULL};
  loom_attrs* attrs = NULL;
  const loom_tensor* inputs[2];
  const int64_t axes[] = {0};
  int32_t n = 0, count = 0;
  char name[64];
  float v[6];
  inputs[0] = a;
  inputs[1] = a;
  CHECK_OK(loom_op_call("add", inputs, 2, NULL, outs, 4, &n));
  CHECK(n == 1);
  values_f32(outs[0], v, 6);
  CHECK(v[0] == 2 && v[5] == 12);
  loom_tensor_release(outs[0]);
  CHECK_OK(loom_attrs_new(&attrs));
  CHECK_OK(loom_attrs_set_int_list(attrs, "axes", axes, 1));
  CHECK_OK(loom_attrs_set_bool(attrs, "keepdims", 0));
  CHECK_OK(loom_op_call("reduce_sum", inputs, 1, attrs, outs, 4, &n));
  CHECK(n == 1);
  values_f32(outs[0], v, 3);
  CHECK(v[0] == 5 && v[1] == 7 && v[2] == 9);
  loom_tensor_release(outs[0]);
  loom_attrs_release(attrs);
  /* An op with several outputs: split into 3 columns. */
  CHECK_OK(loom_attrs_new(&attrs));
  CHECK_OK(loom_attrs_set_int(attrs, "num", 3));
  CHECK_OK(loom_attrs_set_int(attrs, "axis", 1));
  CHECK_OK(loom_op_call("split", inputs, 1, attrs, outs, 4, &n));
  CHECK(n == 3 && outs[3] == NULL);
  values_f32(outs[2], v, 2);
  CHECK(v[0] == 3 && v[1] == 6);
  for (n = 0; n < 3; ++n) loom_tensor_release(outs[n]);
  loom_attrs_release(attrs);
  CHECK_OK(loom_op_count(&count));
  CHECK(count > 50);
  {
    int found = 0;
    for (n = 0; n < count; ++n) {
      CHECK_OK(loom_op_name(n, name, sizeof name));
      found += strcmp(name, "matmul") == 0 || strcmp(name, "conv2d") == 0;
    }
    CHECK(found == 2);
  }
  {  /* schemas: a size query, then the JSON text */
    size_t needed = 0;
    char schema[2048];
    CHECK_OK(loom_op_schema("conv2d", NULL, 0, &needed));
    CHECK(needed > 100 && needed < sizeof schema);
    CHECK_OK(loom_op_schema("conv2d", schema, sizeof schema, NULL));
    CHECK(strlen(schema) + 1 == needed);
    CHECK(strstr(schema, "\"name\":\"conv2d\"") != NULL);
    CHECK(strstr(schema, "{\"dtypes\":[\"float32\",\"float64\",\"float16\",\"bfloat16\"],\"name\":\"filter\"}") != NULL);
    CHECK(strstr(schema, "\"default\":\"valid\",\"name\":\"padding\"") != NULL);
    CHECK(strstr(schema, "\"max_inputs\":3") != NULL && strstr(schema, "\"min_inputs\":2") != NULL);
  }
  loom_tensor_release(a);
}

static void test_variables(void) {
  const int64_t d33[] = {3, 3}, d[] = {1};
  const float five[] = {5};
  loom_tensor *z = NULL, *v5 = tensor_f32(five, d, 1), *view = NULL, *copy = NULL;
  loom_variable* var = NULL;
  const int64_t begin[] = {1, LOOM_SLICE_START}, end[] = {3, 2};
  float v[9];
  char name[32];
  CHECK_OK(loom_tensor_zeros(d33, 2, LOOM_F32, &z));
  CHECK_OK(loom_variable_new(z, "X", 1, &var));
  CHECK_OK(loom_variable_name(var, name, sizeof name));
  CHECK(strcmp(name, "X") == 0);
  CHECK_OK(loom_variable_tensor(var, &view));
  CHECK_OK(loom_variable_read(var, &copy));
  /* X[1:3, :2] = 5 */
  CHECK_OK(loom_variable_assign_slice(var, begin, end, NULL, 2, v5));
  values_f32(view, v, 9);
  CHECK(v[0] == 0 && v[3] == 5 && v[4] == 5 && v[5] == 0 && v[7] == 5 && v[8] == 0);
  CHECK_OK(loom_variable_assign_add(var, v5));
  values_f32(view, v, 9);
  CHECK(v[0] == 5 && v[3] == 10);
  CHECK_OK(loom_variable_assign_sub(var, v5));
  CHECK_OK(loom_variable_assign(var, z));
  values_f32(view, v, 9);
  CHECK(v[3] == 0);
  values_f32(copy, v, 9); /* a read is a copy: later assignments do not reach it */
  CHECK(v[3] == 0);
  loom_tensor_release(z);
  loom_tensor_release(v5);
  loom_tensor_release(view);
  loom_tensor_release(copy);
  loom_variable_release(var);
}

static void test_tape(void) {
  const int64_t d[] = {1};
  const float two[] = {2}, three[] = {3};
  loom_tensor *x = tensor_f32(two, d, 1), *k = tensor_f32(three, d, 1), *y = NULL, *xx = NULL, *g[2] = {NULL, NULL};
  loom_tape* tape = NULL;
  loom_variable* w = NULL;
  /* y = 3 x^2 at x = 2: dy/dx = 12; z = w * x with w a variable: dz/dw = 2. */
  CHECK_OK(loom_tape_new(1, 1, &tape));
  CHECK_OK(loom_tape_watch(tape, x));
  CHECK_OK(loom_mul(x, x, &xx));
  CHECK_OK(loom_mul(xx, k, &y));
  CHECK_OK(loom_tape_gradient(tape, y, (const loom_tensor* const*)&x, 1, NULL, 0, NULL, 0, g));
  CHECK(scalar_of(g[0]) == 12);
  loom_tensor_release(g[0]);
  /* Persistent: ask again, with an output gradient of 0.5. */
  {
    const float half[] = {0.5f};
    loom_tensor* dy = tensor_f32(half, d, 1);
    CHECK_OK(loom_tape_gradient(tape, y, (const loom_tensor* const*)&x, 1, NULL, 0, dy, 0, g));
    CHECK(scalar_of(g[0]) == 6);
    loom_tensor_release(g[0]);
    loom_tensor_release(dy);
  }
  loom_tensor_release(y);
  loom_tensor_release(xx);
  CHECK_OK(loom_variable_new(k, "w", 1, &w));
  {
    loom_tensor *wt = NULL, *z = NULL, *u = NULL;
    CHECK_OK(loom_variable_tensor(w, &wt));
    CHECK_OK(loom_tape_reset(tape)); /* forgets x too: watch it again */
    CHECK_OK(loom_tape_watch(tape, x));
    CHECK_OK(loom_mul(wt, x, &z));
    /* Under stop_recording, u = x * x is not recorded: no gradient unless zeros are asked for. */
    CHECK_OK(loom_tape_stop_recording(tape));
    CHECK_OK(loom_mul(x, x, &u));
    CHECK_OK(loom_tape_resume_recording(tape));
    CHECK_OK(loom_tape_gradient(tape, z, (const loom_tensor* const*)&x, 1, (const loom_variable* const*)&w, 1, NULL, 0, g));
    CHECK(scalar_of(g[0]) == 3 && scalar_of(g[1]) == 2);
    loom_tensor_release(g[0]);
    loom_tensor_release(g[1]);
    CHECK_OK(loom_tape_gradient(tape, u, (const loom_tensor* const*)&x, 1, NULL, 0, NULL, 0, g));
    CHECK(g[0] == NULL);
    CHECK_OK(loom_tape_gradient(tape, u, (const loom_tensor* const*)&x, 1, NULL, 0, NULL, 1, g));
    CHECK(g[0] != NULL && scalar_of(g[0]) == 0);
    loom_tensor_release(g[0]);
    loom_tensor_release(wt);
    loom_tensor_release(z);
    loom_tensor_release(u);
  }
  loom_tape_release(tape);
  loom_variable_release(w);
  loom_tensor_release(x);
  loom_tensor_release(k);
}

static void test_higher_order(void) {
  /* y = x^3 at x = 2: dy/dx = 3x^2 = 12, d2y/dx2 = 6x = 12. */
  const int64_t d[] = {1};
  const float two[] = {2};
  loom_tensor *x = tensor_f32(two, d, 1), *x2 = NULL, *y = NULL, *dy = NULL, *d2y = NULL;
  loom_tape *outer = NULL, *inner = NULL;
  CHECK_OK(loom_tape_new(0, 1, &outer));
  CHECK_OK(loom_tape_watch(outer, x));
  CHECK_OK(loom_tape_new(0, 1, &inner));
  CHECK_OK(loom_tape_watch(inner, x));
  CHECK_OK(loom_mul(x, x, &x2));
  CHECK_OK(loom_mul(x2, x, &y));
  CHECK_OK(loom_tape_gradient(inner, y, (const loom_tensor* const*)&x, 1, NULL, 0, NULL, 0, &dy));
  CHECK_OK(loom_tape_gradient(outer, dy, (const loom_tensor* const*)&x, 1, NULL, 0, NULL, 0, &d2y));
  CHECK(scalar_of(dy) == 12 && scalar_of(d2y) == 12);
  loom_tape_release(inner);
  loom_tape_release(outer);
  loom_tensor_release(x);
  loom_tensor_release(x2);
  loom_tensor_release(y);
  loom_tensor_release(dy);
  loom_tensor_release(d2y);
}

/* A custom gradient: forward y = x * x, backward deliberately 10 * dy (not 2x dy), so the test
 * sees that the callback, not the recorded mul, produced the gradient. */
static int destroyed = 0;
static int32_t square_forward(void* user, const loom_tensor* const* in, int32_t n_in, loom_tensor** out, int32_t cap,
                              int32_t* n_out) {
  (void)user;
  (void)n_in;
  (void)cap;
  *n_out = 1;
  return loom_mul(in[0], in[0], &out[0]);
}
static int32_t square_backward(void* user, const loom_tensor* const* in, int32_t n_in, const loom_tensor* const* dys,
                               int32_t n_dy, loom_tensor** dxs) {
  const int64_t d[] = {1};
  loom_tensor* ten = NULL;
  int32_t status;
  (void)user;
  (void)in;
  (void)n_in;
  (void)n_dy;
  if (loom_tensor_fill(d, 1, 10.0, LOOM_F32, &ten) != LOOM_OK) return 1;
  status = loom_mul(dys[0], ten, &dxs[0]);
  loom_tensor_release(ten);
  return status;
}
static void count_destroy(void* user) { ++*(int*)user; }

static void test_custom_gradient(void) {
  const int64_t d[] = {1};
  const float three[] = {3};
  loom_tensor *x = tensor_f32(three, d, 1), *y = NULL, *g = NULL;
  loom_tape* tape = NULL;
  int32_t n = 0;
  CHECK_OK(loom_tape_new(0, 1, &tape));
  CHECK_OK(loom_tape_watch(tape, x));
  CHECK_OK(loom_custom_gradient(square_forward, square_backward, &destroyed, count_destroy,
                                (const loom_tensor* const*)&x, 1, &y, 1, &n));
  CHECK(n == 1 && scalar_of(y) == 9);
  CHECK(destroyed == 0); /* the tape still holds the backward */
  CHECK_OK(loom_tape_gradient(tape, y, (const loom_tensor* const*)&x, 1, NULL, 0, NULL, 0, &g));
  CHECK(scalar_of(g) == 10);
  loom_tape_release(tape);
  CHECK(destroyed == 1);
  loom_tensor_release(x);
  loom_tensor_release(y);
  loom_tensor_release(g);
}

static void test_devices(void) {
  int32_t n = 0;
  loom_device_info info;
  int64_t live = -1, peak = -1, cached = -1;
  loom_tensor* t = NULL;
  const int64_t d[] = {1024};
  CHECK_OK(loom_device_count("CPU", &n));
  CHECK(n == 1);
  CHECK_OK(loom_device_count("", &n));
  CHECK(n >= 1);
  info.struct_size = sizeof info;
  CHECK_OK(loom_device_info_get("CPU", 0, &info));
  CHECK(strcmp(info.name, "CPU:0") == 0 && strcmp(info.device_type, "CPU") == 0);
  CHECK_OK(loom_device_find("/device:CPU:0", &info));
  CHECK(strcmp(info.name, "CPU:0") == 0);
  CHECK_OK(loom_device_scope_push("CPU:0"));
  CHECK_OK(loom_tensor_zeros(d, 1, LOOM_F32, &t));
  CHECK_OK(loom_device_scope_pop());
  CHECK_OK(loom_device_memory_stats("CPU:0", &live, &peak, &cached));
  CHECK(live >= 4096 && peak >= live && cached >= 0);
  CHECK_OK(loom_device_synchronize("CPU:0"));
  loom_tensor_release(t);
  {
    /* A 1 MiB limit on the CPU allocator: a 4 MiB tensor is refused, then allowed once lifted. */
    const int64_t big[] = {1024, 1024};
    CHECK_OK(loom_device_set_memory_limit("CPU:0", 1 << 20));
    CHECK_OK(loom_device_find("CPU:0", &info));
    CHECK(info.memory_limit == 1 << 20);
    CHECK_FAILS(loom_tensor_zeros(big, 2, LOOM_F32, &t), LOOM_ERROR_OUT_OF_MEMORY, "loom_tensor_zeros", "limit");
    CHECK(t == NULL);
    CHECK_OK(loom_device_set_memory_limit("CPU:0", 0));
    CHECK_OK(loom_tensor_zeros(big, 2, LOOM_F32, &t));
    CHECK_OK(loom_device_set_memory_growth("CPU:0", 1));
    loom_tensor_release(t);
  }
  {
    const int64_t one[] = {1};
    loom_tensor *src = NULL, *moved = NULL;
    char device[16];
    CHECK_OK(loom_tensor_ones(one, 1, LOOM_F32, &src));
    CHECK_OK(loom_tensor_to_device(src, "CPU:0", &moved));
    CHECK_OK(loom_tensor_device(moved, device, sizeof device));
    CHECK(strcmp(device, "CPU:0") == 0 && scalar_of(moved) == 1);
    loom_tensor_release(src);
    loom_tensor_release(moved);
  }
}

/* On a machine with a GPU: ops pinned there by the scope, values equal to the CPU's. */
static void test_gpu_when_present(void) {
  int32_t n = 0;
  loom_tensor *a = tensor_f32(m23, dims23, 2), *y = NULL, *back = NULL;
  char device[16];
  float v[4];
  CHECK_OK(loom_device_count("GPU", &n));
  if (n == 0) {
    printf("  (no GPU: skipped)\n");
    loom_tensor_release(a);
    return;
  }
  CHECK_OK(loom_device_scope_push("GPU:0"));
  CHECK_OK(loom_matmul(a, a, 0, 1, &y));
  CHECK_OK(loom_device_scope_pop());
  CHECK_OK(loom_tensor_device(y, device, sizeof device));
  CHECK(strcmp(device, "GPU:0") == 0);
  CHECK_OK(loom_tensor_to_device(y, "CPU:0", &back));
  values_f32(back, v, 4);
  CHECK(v[0] == 14 && v[1] == 32 && v[3] == 77);
  loom_tensor_release(a);
  loom_tensor_release(y);
  loom_tensor_release(back);
}

static void test_layer(void) {
  const int64_t d[] = {1, 3};
  const float x3[] = {1, 2, 3};
  loom_attrs* attrs = NULL;
  loom_layer* dense = NULL;
  loom_tensor *x = tensor_f32(x3, d, 2), *y = NULL;
  loom_variable* kernel = NULL;
  int32_t count = 0;
  float v[2];
  char name[32];
  CHECK_OK(loom_attrs_new(&attrs));
  CHECK_OK(loom_attrs_set_int(attrs, "units", 2));
  CHECK_OK(loom_attrs_set_string(attrs, "kernel_initializer", "ones"));
  CHECK_OK(loom_attrs_set_string(attrs, "activation", "relu"));
  CHECK_OK(loom_attrs_set_string(attrs, "name", "probe"));
  CHECK_OK(loom_layer_new("Dense", attrs, &dense));
  CHECK_OK(loom_layer_name(dense, name, sizeof name));
  CHECK(strcmp(name, "probe") == 0);
  CHECK_OK(loom_layer_call(dense, x, 0, &y)); /* builds: kernel of ones, bias of zeros */
  values_f32(y, v, 2);
  CHECK(v[0] == 6 && v[1] == 6);
  CHECK_OK(loom_layer_weight_count(dense, &count));
  CHECK(count == 2);
  CHECK_OK(loom_layer_weight(dense, 0, &kernel));
  CHECK_OK(loom_variable_name(kernel, name, sizeof name));
  CHECK(strcmp(name, "probe/kernel") == 0);
  loom_variable_release(kernel);
  loom_tensor_release(x);
  loom_tensor_release(y);
  loom_layer_release(dense);
  loom_attrs_release(attrs);
}

/* y = 2 x0 - 3 x1 + 1 on 64 points; a linear model fits it. */
static void make_linear_data(loom_tensor** x, loom_tensor** y) {
  float xs[128], ys[64];
  const int64_t dx[] = {64, 2}, dy[] = {64, 1};
  int i;
  for (i = 0; i < 64; ++i) {
    xs[2 * i] = (float)(i % 8) / 4.0f - 1.0f;
    xs[2 * i + 1] = (float)(i / 8) / 4.0f - 1.0f;
    ys[i] = 2 * xs[2 * i] - 3 * xs[2 * i + 1] + 1;
  }
  *x = tensor_f32(xs, dx, 2);
  *y = tensor_f32(ys, dy, 2);
}

static int32_t epochs_seen = 0;
static int32_t stop_after_eight(void* user, int32_t epoch, const char* const* names, const double* values,
                                int32_t count) {
  (void)values;
  (void)user;
  CHECK(count >= 1 && strcmp(names[0], "loss") == 0);
  epochs_seen = epoch + 1;
  return epoch + 1 >= 8;
}

static void test_model(void) {
  const int64_t in_shape[] = {2};
  const char* metrics[] = {"mae"};
  loom_model *model = NULL, *twin = NULL;
  loom_layer *layer = NULL, *found = NULL;
  loom_attrs *a = NULL, *opt = NULL, *fit = NULL;
  loom_tensor *x = NULL, *y = NULL, *p1 = NULL, *p2 = NULL;
  loom_tensor* weights[4] = {NULL, NULL, NULL, NULL};
  loom_variable* vars[4];
  double history[20], results[2];
  int32_t epochs = 0, count = 0;
  char name[16];
  float v1[64], v2[64];
  char path[] = "/tmp/loom_capi_weights_XXXXXX";
  CHECK(make_temp_file(path));
  make_linear_data(&x, &y);
  CHECK_OK(loom_sequential_new(in_shape, 1, "regressor", &model));
  CHECK_OK(loom_attrs_new(&a));
  CHECK_OK(loom_attrs_set_int(a, "units", 1));
  CHECK_OK(loom_attrs_set_string(a, "name", "out"));
  CHECK_OK(loom_layer_new("Dense", a, &layer));
  CHECK_OK(loom_sequential_add(model, layer));
  loom_layer_release(layer); /* the model keeps its own reference */
  CHECK_OK(loom_model_layer_count(model, &count));
  CHECK(count == 1);
  CHECK_OK(loom_model_weight_count(model, &count)); /* built on add: the input shape is known */
  CHECK(count == 2);
  CHECK_OK(loom_model_get_layer_by_name(model, "out", &found));
  CHECK_OK(loom_layer_name(found, name, sizeof name));
  CHECK(strcmp(name, "out") == 0);
  loom_layer_release(found);
  CHECK_OK(loom_model_trainable_variables(model, vars, 4, &count));
  CHECK(count == 2);
  loom_variable_release(vars[0]);
  loom_variable_release(vars[1]);

  CHECK_OK(loom_attrs_new(&opt));
  CHECK_OK(loom_attrs_set_float(opt, "learning_rate", 0.1));
  CHECK_OK(loom_model_compile(model, "sgd", opt, "mse", NULL, metrics, 1));
  CHECK_OK(loom_attrs_new(&fit));
  CHECK_OK(loom_attrs_set_int(fit, "epochs", 20));
  CHECK_OK(loom_attrs_set_int(fit, "batch_size", 16));
  CHECK_OK(loom_attrs_set_int(fit, "seed", 7));
  CHECK_OK(loom_model_fit(model, x, y, fit, stop_after_eight, NULL, history, 20, &epochs));
  CHECK(epochs == 8 && epochs_seen == 8); /* the callback stopped training */
  CHECK(history[7] < history[0] * 0.1);
  CHECK_OK(loom_attrs_set_int(fit, "epochs", 40));
  CHECK_OK(loom_model_fit(model, x, y, fit, NULL, NULL, NULL, 0, &epochs));
  CHECK_OK(loom_model_evaluate(model, x, y, 32, results, 2, &count));
  CHECK(count == 2 && results[0] < 1e-4 && results[1] < 1e-2);
  CHECK_OK(loom_model_metric_name(model, 1, name, sizeof name));
  CHECK(strcmp(name, "mae") == 0);
  CHECK_OK(loom_model_get_weights(model, weights, 4));
  {
    float k[2], b;
    CHECK_OK(loom_tensor_to_host(weights[0], k, sizeof k));
    CHECK_OK(loom_tensor_to_host(weights[1], &b, sizeof b));
    CHECK_NEAR(k[0], 2, 0.02);
    CHECK_NEAR(k[1], -3, 0.02);
    CHECK_NEAR(b, 1, 0.02);
  }
  CHECK_OK(loom_model_predict(model, x, 16, &p1));

  /* Save, then load into a fresh model of the same architecture: same predictions. */
  CHECK_OK(loom_model_save_weights(model, path));
  CHECK_OK(loom_sequential_new(in_shape, 1, NULL, &twin));
  CHECK_OK(loom_layer_new("Dense", a, &layer));
  CHECK_OK(loom_sequential_add(twin, layer));
  CHECK_OK(loom_model_load_weights(twin, path, 1));
  CHECK_OK(loom_model_predict(twin, x, 64, &p2));
  values_f32(p1, v1, 64);
  values_f32(p2, v2, 64);
  CHECK(memcmp(v1, v2, sizeof v1) == 0);
  /* set_weights back to the fitted values after zeroing through the twin. */
  CHECK_OK(loom_model_set_weights(twin, (const loom_tensor* const*)weights, 2));

  remove(path);
  loom_tensor_release(weights[0]);
  loom_tensor_release(weights[1]);
  loom_layer_release(layer);
  loom_attrs_release(a);
  loom_attrs_release(opt);
  loom_attrs_release(fit);
  loom_tensor_release(x);
  loom_tensor_release(y);
  loom_tensor_release(p1);
  loom_tensor_release(p2);
  loom_model_release(model);
  loom_model_release(twin);
}

static void test_optimizer(void) {
  /* SGD with learning rate 0.1: w = 1 - 0.1 * 2 = 0.8; Adam's first step moves by lr. */
  const int64_t d[] = {1};
  const float one[] = {1}, two[] = {2};
  loom_tensor *w0 = tensor_f32(one, d, 1), *g = tensor_f32(two, d, 1), *now = NULL;
  loom_variable* w = NULL;
  loom_optimizer *sgd = NULL, *adam = NULL;
  loom_attrs* attrs = NULL;
  CHECK_OK(loom_variable_new(w0, "w", 1, &w));
  CHECK_OK(loom_attrs_new(&attrs));
  CHECK_OK(loom_attrs_set_float(attrs, "learning_rate", 0.1));
  CHECK_OK(loom_optimizer_new("sgd", attrs, &sgd));
  CHECK_OK(loom_optimizer_apply_gradients(sgd, (const loom_tensor* const*)&g, &w, 1));
  CHECK_OK(loom_variable_read(w, &now));
  CHECK_NEAR(scalar_of(now), 0.8, 1e-6);
  loom_tensor_release(now);
  CHECK_OK(loom_optimizer_new("adam", attrs, &adam));
  CHECK_OK(loom_optimizer_apply_gradients(adam, (const loom_tensor* const*)&g, &w, 1));
  CHECK_OK(loom_variable_read(w, &now));
  CHECK_NEAR(scalar_of(now), 0.7, 1e-5);
  loom_tensor_release(now);
  loom_optimizer_release(sgd);
  loom_optimizer_release(adam);
  loom_attrs_release(attrs);
  loom_variable_release(w);
  loom_tensor_release(w0);
  loom_tensor_release(g);
}

static void test_idx(void) {
  /* An IDX file of 2x2 unsigned bytes: magic 0x00000802 (type 8 = ubyte, 2 dims), dims, data. */
  const unsigned char file[] = {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 250};
  char path[] = "/tmp/loom_capi_idx_XXXXXX";
  FILE* f = make_temp_file(path) ? fopen(path, "wb") : NULL;
  loom_tensor* t = NULL;
  uint8_t v[4];
  int32_t dtype = -1;
  CHECK(f != NULL && fwrite(file, 1, sizeof file, f) == sizeof file);
  fclose(f);
  CHECK_OK(loom_idx_load(path, &t));
  CHECK_OK(loom_tensor_dtype(t, &dtype));
  CHECK(dtype == LOOM_U8);
  CHECK_OK(loom_tensor_to_host(t, v, sizeof v));
  CHECK(v[0] == 1 && v[3] == 250);
  loom_tensor_release(t);
  remove(path);
}

int main(void) {
  RUN(test_library);
  RUN(test_tensor_facts_and_copies);
  RUN(test_wrap_host);
  RUN(test_creation);
  RUN(test_npy_roundtrip);
  RUN(test_typed_ops);
  RUN(test_conv2d);
  RUN(test_generic_op_call);
  RUN(test_variables);
  RUN(test_tape);
  RUN(test_higher_order);
  RUN(test_custom_gradient);
  RUN(test_devices);
  RUN(test_gpu_when_present);
  RUN(test_layer);
  RUN(test_model);
  RUN(test_optimizer);
  RUN(test_idx);
  printf("%d failure(s)\n", check_failures);
  return check_failures == 0 ? 0 : 1;
}
