/* The wave-2 C ABI from C: functional models (residual and merge layers, several inputs and
 * outputs), custom layers written in C, fit callbacks that use their model, whole-model files,
 * checkpoints, safetensors as named tensors, IDX files. Values are hand-computed. */
#include "check.h"

static loom_layer* layer_of(const char* type, const char* key, int64_t value, const char* activation) {
  loom_attrs* attrs = NULL;
  loom_layer* layer = NULL;
  CHECK_OK(loom_attrs_new(&attrs));
  if (key) CHECK_OK(loom_attrs_set_int(attrs, key, value));
  if (activation) CHECK_OK(loom_attrs_set_string(attrs, "activation", activation));
  CHECK_OK(loom_layer_new(type, attrs, &layer));
  loom_attrs_release(attrs);
  return layer;
}

/* Applies a one-output layer to one or two symbolic tensors; the caller releases the result. */
static loom_symbolic* apply1(loom_layer* layer, loom_symbolic* a, loom_symbolic* b) {
  const loom_symbolic* in[2];
  loom_symbolic* out = NULL;
  int32_t n = 0;
  in[0] = a;
  in[1] = b;
  CHECK_OK(loom_layer_apply(layer, in, b ? 2 : 1, &out, 1, &n));
  CHECK(n == 1);
  return out;
}

/* A residual block y = x + dense(x) with a dense kernel of ones: for x = (1, 2), y = x + 3. */
static void test_residual_model(void) {
  const int64_t shape[] = {2}, d[] = {1, 2};
  const float xs[] = {1, 2};
  loom_symbolic *x = NULL, *h = NULL, *y = NULL;
  loom_layer *dense = NULL, *add = layer_of("Add", NULL, 0, NULL);
  loom_attrs* attrs = NULL;
  loom_model* model = NULL;
  loom_tensor *in = tensor_f32(xs, d, 2), *out = NULL;
  int64_t dims[4];
  int32_t rank = 0, count = 0;
  float v[2];
  char summary[2048];
  size_t needed = 0;
  CHECK_OK(loom_attrs_new(&attrs));
  CHECK_OK(loom_attrs_set_int(attrs, "units", 2));
  CHECK_OK(loom_attrs_set_string(attrs, "kernel_initializer", "ones"));
  CHECK_OK(loom_layer_new("Dense", attrs, &dense));
  CHECK_OK(loom_input_new(shape, 1, LOOM_F32, "x", &x));
  h = apply1(dense, x, NULL);
  y = apply1(add, x, h);
  CHECK_OK(loom_symbolic_shape(y, dims, 4, &rank));
  CHECK(rank == 2 && dims[0] == -1 && dims[1] == 2);
  CHECK_OK(loom_model_new((const loom_symbolic* const*)&x, 1, (const loom_symbolic* const*)&y, 1, "residual", &model));
  CHECK_OK(loom_model_predict(model, in, 8, &out));
  values_f32(out, v, 2);
  CHECK(v[0] == 4 && v[1] == 5);
  CHECK_OK(loom_model_layer_count(model, &count));
  CHECK(count == 3); /* the input, the dense layer, the addition */
  CHECK_OK(loom_model_summary(model, NULL, 0, &needed));
  CHECK(needed > 10 && needed < sizeof summary);
  CHECK_OK(loom_model_summary(model, summary, sizeof summary, NULL));
  CHECK(strstr(summary, "(Functional)") == NULL && strstr(summary, "(Dense)") != NULL && strstr(summary, "(Add)") != NULL);
  loom_tensor_release(out);
  loom_tensor_release(in);
  loom_symbolic_release(x);
  loom_symbolic_release(h);
  loom_symbolic_release(y);
  loom_layer_release(dense);
  loom_layer_release(add);
  loom_attrs_release(attrs);
  loom_model_release(model);
}

/* Two inputs, two outputs (sum and difference of a shared layer's outputs), trained on both. */
static void test_two_inputs_two_outputs(void) {
  const int64_t shape[] = {3}, d[] = {16, 3}, dy[] = {16, 2};
  float xa[48], xb[48], ya[32], yb[32];
  loom_symbolic *a = NULL, *b = NULL, *ha, *hb, *outs[2];
  loom_layer *shared = layer_of("Dense", "units", 2, NULL), *sum = layer_of("Add", NULL, 0, NULL),
             *diff = layer_of("Subtract", NULL, 0, NULL);
  loom_model* model = NULL;
  loom_tensor *x[2], *y[2], *pred[3] = {NULL, NULL, NULL};
  const char* metrics[] = {"mae"};
  double history[3], values[8];
  int32_t ran = 0, n = 0, count = 0, i;
  char name[32];
  for (i = 0; i < 48; ++i) {
    xa[i] = (float)((i * 7) % 11) / 11.0f;
    xb[i] = (float)((i * 5) % 13) / 13.0f;
  }
  for (i = 0; i < 32; ++i) ya[i] = yb[i] = 0.5f;
  CHECK_OK(loom_input_new(shape, 1, LOOM_F32, "a", &a));
  CHECK_OK(loom_input_new(shape, 1, LOOM_F32, "b", &b));
  ha = apply1(shared, a, NULL);
  hb = apply1(shared, b, NULL);
  outs[0] = apply1(sum, ha, hb);
  outs[1] = apply1(diff, ha, hb);
  {
    const loom_symbolic* ins[2];
    ins[0] = a;
    ins[1] = b;
    CHECK_OK(loom_model_new(ins, 2, (const loom_symbolic* const*)outs, 2, NULL, &model));
  }
  CHECK_OK(loom_model_input_count(model, &n));
  CHECK(n == 2);
  CHECK_OK(loom_model_output_count(model, &n));
  CHECK(n == 2);
  x[0] = tensor_f32(xa, d, 2);
  x[1] = tensor_f32(xb, d, 2);
  y[0] = tensor_f32(ya, dy, 2);
  y[1] = tensor_f32(yb, dy, 2);
  CHECK_OK(loom_model_compile(model, "sgd", NULL, "mse", NULL, metrics, 1));
  CHECK_OK(loom_model_fit_arrays(model, (const loom_tensor* const*)x, 2, (const loom_tensor* const*)y, 2, NULL, NULL,
                                 history, 3, &ran));
  CHECK(ran == 1);
  CHECK_OK(loom_model_metric_count(model, &count));
  CHECK(count == 5); /* loss, two output losses, two output maes */
  CHECK_OK(loom_model_metric_name(model, 2, name, sizeof name));
  CHECK(strstr(name, "_loss") != NULL);
  CHECK_OK(loom_model_evaluate_arrays(model, (const loom_tensor* const*)x, 2, (const loom_tensor* const*)y, 2, 8, values,
                                      8, &count));
  CHECK(count == 5);
  CHECK_NEAR(values[0], values[1] + values[2], 1e-5);
  CHECK_OK(loom_model_predict_arrays(model, (const loom_tensor* const*)x, 2, 8, pred, 3, &n));
  CHECK(n == 2 && pred[2] == NULL);
  CHECK_FAILS(loom_model_fit_arrays(model, (const loom_tensor* const*)y, 1, (const loom_tensor* const*)y, 1, NULL, NULL,
                                    history, 3, &ran),
              LOOM_ERROR_INVALID_ARGUMENT, "loom_model_fit_arrays", "expects 2 input(s), got 1");
  for (i = 0; i < 2; ++i) {
    loom_tensor_release(pred[i]);
    loom_tensor_release(x[i]);
    loom_tensor_release(y[i]);
    loom_symbolic_release(outs[i]);
  }
  loom_symbolic_release(a);
  loom_symbolic_release(b);
  loom_symbolic_release(ha);
  loom_symbolic_release(hb);
  loom_layer_release(shared);
  loom_layer_release(sum);
  loom_layer_release(diff);
  loom_model_release(model);
}

/* A custom layer in C: y = x * scale + offset, `scale` a weight of ones created in build,
 * `offset` from the config JSON. */
typedef struct {
  double offset;
  loom_variable* scale;
} affine_state;

static int destroyed_states = 0;

static int32_t affine_create(void* type_user, const char* config_json, void** state) {
  affine_state* s = (affine_state*)calloc(1, sizeof(affine_state));
  const char* at = strstr(config_json, "\"offset\":");
  (void)type_user;
  if (!s) return loom_set_error(LOOM_ERROR_OUT_OF_MEMORY, "affine: no memory");
  s->offset = at ? atof(at + 9) : 0.0;
  *state = s;
  return 0;
}

static int32_t affine_build(void* state, loom_layer* self, const int64_t* shape, int32_t rank) {
  affine_state* s = (affine_state*)state;
  const int64_t dims[] = {shape[rank - 1]};
  if (shape[0] != -1) return loom_set_error(LOOM_ERROR_SHAPE, "affine: expected a batch axis of -1");
  return loom_layer_add_weight(self, "scale", dims, 1, LOOM_F32, "ones", 1, &s->scale);
}

static int32_t affine_call(void* state, loom_layer* self, const loom_tensor* const* inputs, int32_t n, int32_t training,
                           loom_tensor** output) {
  affine_state* s = (affine_state*)state;
  loom_tensor *scale = NULL, *scaled = NULL, *offset = NULL;
  const int64_t none[1] = {0};
  int32_t status;
  (void)self;
  (void)training;
  if (n != 1) return loom_set_error(LOOM_ERROR_INVALID_ARGUMENT, "affine takes one input");
  status = loom_variable_tensor(s->scale, &scale);
  if (status == LOOM_OK) status = loom_mul(inputs[0], scale, &scaled);
  if (status == LOOM_OK) status = loom_tensor_fill(none, 0, s->offset, LOOM_F32, &offset);
  if (status == LOOM_OK) status = loom_add(scaled, offset, output);
  loom_tensor_release(scale);
  loom_tensor_release(scaled);
  loom_tensor_release(offset);
  return status;
}

static int32_t affine_get_config(void* state, char* buffer, size_t capacity, size_t* needed) {
  char text[64];
  snprintf(text, sizeof text, "{\"offset\":%g}", ((affine_state*)state)->offset);
  *needed = strlen(text) + 1;
  if (capacity >= *needed) memcpy(buffer, text, *needed);
  return 0;
}

static void affine_destroy(void* state) {
  loom_variable_release(((affine_state*)state)->scale);
  free(state);
  ++destroyed_states;
}

static int32_t failing_call(void* state, loom_layer* self, const loom_tensor* const* inputs, int32_t n, int32_t training,
                            loom_tensor** output) {
  (void)state;
  (void)self;
  (void)inputs;
  (void)n;
  (void)training;
  (void)output;
  return loom_set_error(LOOM_ERROR_INVALID_ARGUMENT, "this layer refuses every input");
}

static void register_affine(void) {
  loom_layer_type type;
  memset(&type, 0, sizeof type);
  type.struct_size = sizeof type;
  type.create = affine_create;
  type.build = affine_build;
  type.call = affine_call;
  type.get_config = affine_get_config;
  type.destroy = affine_destroy;
  CHECK_OK(loom_register_layer_type("Affine", &type));
}

static void test_custom_layer(void) {
  const int64_t d[] = {2, 2};
  const float xs[] = {1, 2, 3, 4};
  loom_layer* affine = NULL;
  loom_tensor *x = tensor_f32(xs, d, 2), *y = NULL, *loss = NULL, *grad = NULL;
  loom_model* seq = NULL;
  loom_tape* tape = NULL;
  loom_variable* scale = NULL;
  loom_layer_type bad;
  float v[4];
  register_affine();
  CHECK_OK(loom_layer_new_custom("Affine", "{\"offset\":0.5}", "aff", &affine));
  CHECK_OK(loom_layer_call(affine, x, 0, &y)); /* builds: scale of ones */
  values_f32(y, v, 4);
  CHECK(v[0] == 1.5f && v[3] == 4.5f);
  loom_tensor_release(y);
  /* Gradients flow through the ops it calls: d sum(x * scale) / d scale = column sums (4, 6). */
  CHECK_OK(loom_layer_weight(affine, 0, &scale));
  CHECK_OK(loom_tape_new(0, 1, &tape));
  CHECK_OK(loom_layer_call(affine, x, 1, &y));
  CHECK_OK(loom_reduce_sum(y, NULL, -1, 0, &loss));
  CHECK_OK(loom_tape_gradient(tape, loss, NULL, 0, (const loom_variable* const*)&scale, 1, NULL, 0, &grad));
  values_f32(grad, v, 2);
  CHECK(v[0] == 4 && v[1] == 6);
  /* In a Sequential model, trained with fit. */
  CHECK_OK(loom_sequential_new(NULL, 0, NULL, &seq));
  CHECK_OK(loom_sequential_add(seq, affine));
  CHECK_OK(loom_model_compile(seq, "sgd", NULL, "mse", NULL, NULL, 0));
  CHECK_OK(loom_model_fit(seq, x, x, NULL, NULL, NULL, NULL, 0, NULL));
  /* A callback's error becomes the outer call's, with its message. */
  memset(&bad, 0, sizeof bad);
  bad.struct_size = sizeof bad;
  bad.create = affine_create;
  bad.call = failing_call;
  bad.destroy = affine_destroy;
  CHECK_OK(loom_register_layer_type("Refuser", &bad));
  {
    loom_layer* refuser = NULL;
    loom_tensor* out = NULL;
    CHECK_OK(loom_layer_new_custom("Refuser", NULL, NULL, &refuser));
    CHECK_FAILS(loom_layer_call(refuser, x, 0, &out), LOOM_ERROR_CALLBACK, "loom_layer_call", "this layer refuses every input");
    CHECK(out == NULL);
    loom_layer_release(refuser);
  }
  { /* a tracked sublayer's weights are the custom layer's */
    loom_layer* inner = layer_of("Dense", "units", 2, NULL);
    loom_tensor* out = NULL;
    int32_t count = 0;
    CHECK_OK(loom_layer_call(inner, x, 0, &out));
    CHECK_OK(loom_layer_track(affine, inner));
    CHECK_OK(loom_layer_track(affine, inner)); /* tracking twice changes nothing */
    CHECK_OK(loom_layer_weight_count(affine, &count));
    CHECK(count == 3);
    CHECK_FAILS(loom_layer_track(inner, affine), LOOM_ERROR_INVALID_ARGUMENT, "loom_layer_track", "is not a custom layer");
    loom_tensor_release(out);
    loom_layer_release(inner);
  }
  CHECK_FAILS(loom_layer_new_custom("Unregistered", NULL, NULL, &affine), LOOM_ERROR_NOT_FOUND, "loom_layer_new_custom",
              "unknown layer type 'Unregistered'");
  CHECK_FAILS(loom_register_layer_type("Dense", &bad), LOOM_ERROR_INVALID_ARGUMENT, "loom_register_layer_type", "built-in");
  bad.call = NULL;
  CHECK_FAILS(loom_register_layer_type("NoCall", &bad), LOOM_ERROR_INVALID_ARGUMENT, "loom_register_layer_type", "required");
  loom_tensor_release(x);
  loom_tensor_release(y);
  loom_tensor_release(loss);
  loom_tensor_release(grad);
  loom_variable_release(scale);
  loom_tape_release(tape);
  loom_model_release(seq);
}

/* Callbacks that use the model they run in: save weights and a checkpoint, evaluate, predict,
 * change the learning rate, stop training. */
typedef struct {
  char checkpoint[64];
  char weights[64];
  loom_tensor *x, *y;
  int epochs;
  double accuracy;
  double learning_rate;
} fit_probe;

static int32_t on_epoch_end(void* user, loom_model* model, int32_t epoch, const char* const* names, const double* values,
                            int32_t count) {
  fit_probe* p = (fit_probe*)user;
  double results[4];
  loom_tensor* pred = NULL;
  int32_t n = 0;
  (void)names;
  (void)values;
  (void)count;
  ++p->epochs;
  if (loom_model_save_checkpoint(model, p->checkpoint, epoch) != LOOM_OK) return 1;
  if (loom_model_save_weights(model, p->weights) != LOOM_OK) return 1;
  if (loom_model_evaluate(model, p->x, p->y, 16, results, 4, &n) != LOOM_OK) return 1;
  p->accuracy = results[1];
  if (loom_model_predict(model, p->x, 16, &pred) != LOOM_OK) return 1;
  loom_tensor_release(pred);
  if (loom_model_set_learning_rate(model, 0.001) != LOOM_OK) return 1;
  if (loom_model_get_learning_rate(model, &p->learning_rate) != LOOM_OK) return 1;
  /* fit itself may not be re-entered from its own callback */
  if (loom_model_fit(model, p->x, p->y, NULL, NULL, NULL, NULL, 0, NULL) == LOOM_OK) return 1;
  if (epoch == 1) return loom_model_stop_training(model) == LOOM_OK ? 0 : 1;
  return 0;
}

static void test_callbacks_use_the_model(void) {
  const int64_t input[] = {4}, dx[] = {32, 4}, dy[] = {32};
  float xs[128];
  int64_t labels[32];
  loom_model* model = NULL;
  loom_layer *hidden = layer_of("Dense", "units", 8, "relu"), *out = layer_of("Dense", "units", 2, "softmax");
  const char* metrics[] = {"accuracy"};
  loom_fit_callbacks callbacks;
  loom_attrs* options = NULL;
  fit_probe probe;
  double history[5];
  int32_t ran = 0, next = 0, i;
  memset(&probe, 0, sizeof probe);
  strcpy(probe.checkpoint, "/tmp/loom_ckpt_XXXXXX");
  strcpy(probe.weights, "/tmp/loom_weights_XXXXXX");
  CHECK(make_temp_file(probe.checkpoint) && make_temp_file(probe.weights));
  for (i = 0; i < 32; ++i) {
    labels[i] = i % 2;
    xs[4 * i] = (float)labels[i];
    xs[4 * i + 1] = (float)(1 - labels[i]);
    xs[4 * i + 2] = (float)(i % 5) / 5.0f;
    xs[4 * i + 3] = 0.5f;
  }
  probe.x = tensor_f32(xs, dx, 2);
  CHECK_OK(loom_tensor_from_host(labels, sizeof labels, dy, 1, LOOM_I64, &probe.y));
  CHECK_OK(loom_sequential_new(input, 1, "probe_model", &model));
  CHECK_OK(loom_sequential_add(model, hidden));
  CHECK_OK(loom_sequential_add(model, out));
  CHECK_OK(loom_model_compile(model, "adam", NULL, "sparse_categorical_crossentropy", NULL, metrics, 1));
  memset(&callbacks, 0, sizeof callbacks);
  callbacks.struct_size = sizeof callbacks;
  callbacks.epoch_end = on_epoch_end;
  callbacks.user = &probe;
  CHECK_OK(loom_attrs_new(&options));
  CHECK_OK(loom_attrs_set_int(options, "epochs", 5));
  CHECK_OK(loom_attrs_set_int(options, "batch_size", 8));
  CHECK_OK(loom_model_fit_arrays(model, (const loom_tensor* const*)&probe.x, 1, (const loom_tensor* const*)&probe.y, 1,
                                 options, &callbacks, history, 5, &ran));
  CHECK(ran == 2 && probe.epochs == 2); /* stopped after the second epoch */
  CHECK(probe.accuracy >= 0 && probe.accuracy <= 1);
  CHECK_NEAR(probe.learning_rate, 0.001, 1e-12);
  /* The checkpoint of epoch 1 restores into a fresh model and resumes at epoch 2. */
  {
    loom_model* fresh = NULL;
    loom_layer *h2 = layer_of("Dense", "units", 8, "relu"), *o2 = layer_of("Dense", "units", 2, "softmax");
    CHECK_OK(loom_sequential_new(input, 1, NULL, &fresh));
    CHECK_OK(loom_sequential_add(fresh, h2));
    CHECK_OK(loom_sequential_add(fresh, o2));
    CHECK_OK(loom_model_compile(fresh, "adam", NULL, "sparse_categorical_crossentropy", NULL, metrics, 1));
    CHECK_OK(loom_model_load_checkpoint(fresh, probe.checkpoint, &next));
    CHECK(next == 2);
    loom_layer_release(h2);
    loom_layer_release(o2);
    loom_model_release(fresh);
  }
  CHECK_FAILS(loom_model_load_checkpoint(model, probe.weights, &next), LOOM_ERROR_IO, "loom_model_load_checkpoint",
              "not a loom checkpoint");
  remove(probe.checkpoint);
  remove(probe.weights);
  loom_tensor_release(probe.x);
  loom_tensor_release(probe.y);
  loom_attrs_release(options);
  loom_layer_release(hidden);
  loom_layer_release(out);
  loom_model_release(model);
}

/* A model with a custom layer saved whole and loaded without the code that built it (the type
 * is registered): identical predictions. */
static void test_model_files(void) {
  const int64_t shape[] = {2}, d[] = {3, 2};
  const float xs[] = {1, 2, -1, 0.5f, 3, -2};
  char path[64] = "/tmp/loom_model_XXXXXX";
  loom_symbolic *x = NULL, *h = NULL, *y = NULL;
  loom_layer *affine = NULL, *dense = layer_of("Dense", "units", 3, "tanh");
  loom_model *model = NULL, *loaded = NULL;
  loom_tensor *in = tensor_f32(xs, d, 2), *a = NULL, *b = NULL;
  float va[9], vb[9];
  int i;
  CHECK(make_temp_file(path));
  CHECK_OK(loom_layer_new_custom("Affine", "{\"offset\":-1.25}", NULL, &affine));
  CHECK_OK(loom_input_new(shape, 1, LOOM_F32, NULL, &x));
  h = apply1(affine, x, NULL);
  y = apply1(dense, h, NULL);
  CHECK_OK(loom_model_new((const loom_symbolic* const*)&x, 1, (const loom_symbolic* const*)&y, 1, "with_custom", &model));
  CHECK_OK(loom_model_compile(model, "rmsprop", NULL, "mae", NULL, NULL, 0));
  CHECK_OK(loom_model_save(model, path));
  CHECK_OK(loom_model_load(path, 1, &loaded));
  CHECK_OK(loom_model_predict(model, in, 8, &a));
  CHECK_OK(loom_model_predict(loaded, in, 8, &b));
  values_f32(a, va, 9);
  values_f32(b, vb, 9);
  for (i = 0; i < 9; ++i) CHECK(va[i] == vb[i]);
  CHECK_FAILS(loom_model_load("/nonexistent/model.loom", 1, &loaded), LOOM_ERROR_IO, "loom_model_load",
              "/nonexistent/model.loom");
  CHECK(loaded == NULL);
  remove(path);
  loom_tensor_release(in);
  loom_tensor_release(a);
  loom_tensor_release(b);
  loom_symbolic_release(x);
  loom_symbolic_release(h);
  loom_symbolic_release(y);
  loom_layer_release(affine);
  loom_layer_release(dense);
  loom_model_release(model);
}

static void test_named_tensors_and_idx(void) {
  const int64_t d[] = {2, 2};
  const float xs[] = {1, 2, 3, 4};
  char path[64] = "/tmp/loom_named_XXXXXX", idx[64] = "/tmp/loom_idx_XXXXXX";
  loom_named_tensors *out = NULL, *in = NULL;
  loom_tensor *t = tensor_f32(xs, d, 2), *back = NULL;
  char text[32];
  size_t needed = 0;
  int32_t count = 0;
  float v[4];
  CHECK(make_temp_file(path) && make_temp_file(idx));
  CHECK_OK(loom_named_tensors_new(&out));
  CHECK_OK(loom_named_tensors_set(out, "w", t));
  CHECK_OK(loom_named_tensors_metadata_set(out, "note", "hello"));
  CHECK_OK(loom_safetensors_save(path, out));
  CHECK_OK(loom_safetensors_load(path, &in));
  CHECK_OK(loom_named_tensors_count(in, &count));
  CHECK(count == 1);
  CHECK_OK(loom_named_tensors_name(in, 0, text, sizeof text));
  CHECK(strcmp(text, "w") == 0);
  CHECK_OK(loom_named_tensors_get(in, "w", &back));
  values_f32(back, v, 4);
  CHECK(v[0] == 1 && v[3] == 4);
  loom_tensor_release(back);
  CHECK_OK(loom_named_tensors_metadata_get(in, "note", NULL, 0, &needed));
  CHECK(needed == 6);
  CHECK_OK(loom_named_tensors_metadata_get(in, "note", text, sizeof text, NULL));
  CHECK(strcmp(text, "hello") == 0);
  CHECK_FAILS(loom_named_tensors_get(in, "missing", &back), LOOM_ERROR_NOT_FOUND, "loom_named_tensors_get", "'missing'");
  CHECK_OK(loom_idx_save(idx, t));
  CHECK_OK(loom_idx_load(idx, &back));
  values_f32(back, v, 4);
  CHECK(v[1] == 2 && v[2] == 3);
  CHECK_FAILS(loom_mnist_load("/nonexistent", &back, &back, &back, &back), LOOM_ERROR_IO, "loom_mnist_load",
              "train-images-idx3-ubyte");
  remove(path);
  remove(idx);
  loom_tensor_release(back);
  loom_tensor_release(t);
  loom_named_tensors_release(out);
  loom_named_tensors_release(in);
}

int main(void) {
  if (loom_init(LOOM_ABI_VERSION) != LOOM_OK) return 1;
  loom_set_seed(7);
  RUN(test_residual_model);
  RUN(test_two_inputs_two_outputs);
  RUN(test_custom_layer);
  RUN(test_callbacks_use_the_model);
  RUN(test_model_files);
  RUN(test_named_tensors_and_idx);
  printf("%d failure(s)\n", check_failures);
  return check_failures != 0;
}
