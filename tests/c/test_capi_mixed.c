/* Mixed precision through the C ABI: dtype policies (global and per layer), loss scaling in
 * compile and in a custom loop. */
#include "check.h"

/* Two clusters of points, labels 0/1 by the sign of x0 + x1. */
static void make_points(float* x, int64_t* y, int n) {
  int i;
  for (i = 0; i < n; ++i) {
    float a = (float)((i * 37) % 101) / 50.0f - 1.0f;
    float b = (float)((i * 53) % 97) / 48.0f - 1.0f;
    x[2 * i] = a;
    x[2 * i + 1] = b;
    y[i] = a + b > 0 ? 1 : 0;
  }
}

static loom_layer* dense_layer(int64_t units, const char* activation, const char* dtype) {
  loom_attrs* attrs = NULL;
  loom_layer* layer = NULL;
  CHECK_OK(loom_attrs_new(&attrs));
  CHECK_OK(loom_attrs_set_int(attrs, "units", units));
  CHECK_OK(loom_attrs_set_string(attrs, "activation", activation));
  if (dtype) CHECK_OK(loom_attrs_set_string(attrs, "dtype", dtype));
  CHECK_OK(loom_layer_new("Dense", attrs, &layer));
  loom_attrs_release(attrs);
  return layer;
}

/* A model trained under `policy`: its hidden layer computes in 16 bits, the last layer (float32
 * by its own policy) gives float32, the weights stay float32; it learns the clusters. */
static void train_under(const char* policy, int32_t expect_hidden_dtype) {
  enum { n = 256 };
  float x[2 * n];
  int64_t y[n];
  const int64_t xdims[2] = {n, 2}, ydims[1] = {n}, input[1] = {2};
  loom_tensor *xt = NULL, *yt = NULL, *hidden_out = NULL, *pred = NULL;
  loom_model* model = NULL;
  loom_layer *hidden = NULL, *last = NULL;
  loom_variable* weights[4];
  int32_t count = 0, dtype = -1, i;
  double values[2];
  const char* metrics[1] = {"accuracy"};
  char name[32];

  make_points(x, y, n);
  CHECK_OK(loom_tensor_from_host(x, sizeof x, xdims, 2, LOOM_F32, &xt));
  CHECK_OK(loom_tensor_from_host(y, sizeof y, ydims, 1, LOOM_I64, &yt));
  CHECK_OK(loom_set_global_policy(policy));
  CHECK_OK(loom_global_policy(name, sizeof name));
  CHECK(strcmp(name, policy) == 0);
  hidden = dense_layer(16, "relu", NULL);
  last = dense_layer(2, "linear", "float32");
  CHECK_OK(loom_set_global_policy("float32"));

  CHECK_OK(loom_sequential_new(input, 1, NULL, &model));
  CHECK_OK(loom_sequential_add(model, hidden));
  CHECK_OK(loom_sequential_add(model, last));
  {
    loom_attrs *adam = NULL, *logits = NULL;
    CHECK_OK(loom_attrs_new(&adam));
    CHECK_OK(loom_attrs_set_float(adam, "learning_rate", 0.02));
    CHECK_OK(loom_attrs_new(&logits));
    CHECK_OK(loom_attrs_set_bool(logits, "from_logits", 1));
    CHECK_OK(loom_model_compile(model, "adam", adam, "sparse_categorical_crossentropy", logits, metrics, 1));
    loom_attrs_release(adam);
    loom_attrs_release(logits);
  }
  {
    loom_attrs* options = NULL;
    CHECK_OK(loom_attrs_new(&options));
    CHECK_OK(loom_attrs_set_int(options, "epochs", 30));
    CHECK_OK(loom_attrs_set_int(options, "batch_size", 32));
    CHECK_OK(loom_model_fit(model, xt, yt, options, NULL, NULL, NULL, 0, NULL));
    loom_attrs_release(options);
  }
  CHECK_OK(loom_model_evaluate(model, xt, yt, 64, values, 2, NULL));
  CHECK(values[1] > 0.9);
  printf("  %s: loss %.4f accuracy %.4f\n", policy, values[0], values[1]);

  CHECK_OK(loom_layer_call(hidden, xt, 0, &hidden_out));
  CHECK_OK(loom_tensor_dtype(hidden_out, &dtype));
  CHECK(dtype == expect_hidden_dtype);
  CHECK_OK(loom_model_predict(model, xt, 64, &pred));
  CHECK_OK(loom_tensor_dtype(pred, &dtype));
  CHECK(dtype == LOOM_F32);
  CHECK_OK(loom_model_trainable_variables(model, weights, 4, &count));
  CHECK(count == 4);
  for (i = 0; i < count; ++i) {
    loom_tensor* w = NULL;
    CHECK_OK(loom_variable_tensor(weights[i], &w));
    CHECK_OK(loom_tensor_dtype(w, &dtype));
    CHECK(dtype == LOOM_F32);
    loom_tensor_release(w);
    loom_variable_release(weights[i]);
  }
  if (expect_hidden_dtype == LOOM_BF16) { /* an inference file with bfloat16 weights predicts as the model does */
    char path[64] = "/tmp/loom_bf16_XXXXXX";
    loom_model* back = NULL;
    loom_tensor* again = NULL;
    double worst = 0, scale = 0;
    float p1[2 * n], p2[2 * n];
    CHECK(make_temp_file(path));
    CHECK_OK(loom_model_save_as(model, path, LOOM_BF16));
    CHECK_OK(loom_model_load(path, 0, &back));
    CHECK_OK(loom_model_predict(back, xt, 64, &again));
    CHECK_OK(loom_tensor_to_host(pred, p1, sizeof p1));
    CHECK_OK(loom_tensor_to_host(again, p2, sizeof p2));
    for (i = 0; i < 2 * n; ++i) {
      worst = fabs(p1[i] - p2[i]) > worst ? fabs(p1[i] - p2[i]) : worst;
      scale = fabs(p1[i]) > scale ? fabs(p1[i]) : scale;
    }
    printf("  bfloat16 weights file: predictions within %.4f of the model's (largest %.3f)\n", worst, scale);
    CHECK(worst > 0 && worst <= scale / 64); /* the last layer's float32 weights were rounded */
    CHECK_FAILS(loom_model_save_as(model, path, LOOM_I32), LOOM_ERROR_DTYPE, "loom_model_save_as", "weights_dtype");
    remove(path);
    loom_tensor_release(again);
    loom_model_release(back);
  }
  loom_tensor_release(pred);
  loom_tensor_release(hidden_out);
  loom_layer_release(hidden);
  loom_layer_release(last);
  loom_model_release(model);
  loom_tensor_release(xt);
  loom_tensor_release(yt);
}

static void test_mixed_bfloat16_policy(void) { train_under("mixed_bfloat16", LOOM_BF16); }

/* mixed_float16 turns loss scaling on in compile (as Keras does). */
static void test_mixed_float16_policy(void) { train_under("mixed_float16", LOOM_F16); }

/* A custom loop with dynamic loss scaling: the loss is multiplied by the scale, apply_gradients
 * divides it out; a step with an infinite gradient changes nothing and halves the scale. */
static void test_loss_scaling_in_a_custom_loop(void) {
  const float start[2] = {1.0f, 2.0f}, grad[2] = {1024.0f, 2048.0f}, bad[2] = {INFINITY, 1.0f};
  const int64_t dims[1] = {2};
  loom_attrs* attrs = NULL;
  loom_optimizer* opt = NULL;
  loom_variable* v = NULL;
  loom_tensor *init = tensor_f32(start, dims, 1), *g = tensor_f32(grad, dims, 1), *g_bad = tensor_f32(bad, dims, 1);
  loom_tensor* now = NULL;
  float w[2];
  double scale = 0;

  CHECK_OK(loom_attrs_new(&attrs));
  CHECK_OK(loom_attrs_set_float(attrs, "learning_rate", 0.5));
  CHECK_OK(loom_attrs_set_float(attrs, "loss_scale", 1024));
  CHECK_OK(loom_attrs_set_bool(attrs, "dynamic_loss_scale", 1));
  CHECK_OK(loom_optimizer_new("sgd", attrs, &opt));
  CHECK_OK(loom_optimizer_loss_scale(opt, &scale));
  CHECK(scale == 1024);
  CHECK_OK(loom_variable_new(init, "w", 1, &v));

  CHECK_OK(loom_optimizer_apply_gradients(opt, (const loom_tensor* const*)&g_bad, &v, 1));
  CHECK_OK(loom_variable_read(v, &now));
  values_f32(now, w, 2);
  CHECK(w[0] == 1.0f && w[1] == 2.0f);
  CHECK_OK(loom_optimizer_loss_scale(opt, &scale));
  CHECK(scale == 512);
  loom_tensor_release(now);

  /* Gradients of 512 x (1, 2) at scale 512: unscaled (1, 2), w -= 0.5 * (1, 2). Here (1024,
   * 2048) / 512 = (2, 4). */
  CHECK_OK(loom_optimizer_apply_gradients(opt, (const loom_tensor* const*)&g, &v, 1));
  CHECK_OK(loom_variable_read(v, &now));
  values_f32(now, w, 2);
  CHECK(w[0] == 0.0f && w[1] == 0.0f);
  loom_tensor_release(now);

  CHECK_FAILS(loom_optimizer_loss_scale(opt, NULL), LOOM_ERROR_INVALID_ARGUMENT, "loom_optimizer_loss_scale", "out");
  CHECK_FAILS(loom_set_global_policy("mixed_int8"), LOOM_ERROR_INVALID_ARGUMENT, "loom_set_global_policy",
              "mixed_int8");
  loom_variable_release(v);
  loom_optimizer_release(opt);
  loom_attrs_release(attrs);
  loom_tensor_release(init);
  loom_tensor_release(g);
  loom_tensor_release(g_bad);
}

int main(void) {
  if (loom_init(LOOM_ABI_VERSION) != LOOM_OK) return 1;
  loom_set_seed(3);
  RUN(test_mixed_bfloat16_policy);
  RUN(test_mixed_float16_policy);
  RUN(test_loss_scaling_in_a_custom_loop);
  printf("%d failure(s)\n", check_failures);
  return check_failures != 0;
}
