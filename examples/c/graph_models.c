/* Functional models from pure C99: a small GoogLeNet (Inception blocks: four parallel paths
 * concatenated) or a small ResNet (residual blocks with batch normalisation), trained on
 * Fashion-MNIST with fit and an epoch-end callback that saves a checkpoint and prints the test
 * accuracy; then the whole model is saved to one file that other programs load.
 *
 *   graph_models_c --data DIR [--model googlenet|resnet] [--epochs N] [--batch-size B]
 *                  [--limit N] [--seed S] [--threads T] [--save PATH]
 *
 * The same architectures in C++ are fashion_mnist --model googlenet / resnet: with the same seed
 * both build the same weights and train the same way (Adam, cosine-decayed learning rate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loom/loom.h"

static void check(loom_status status, const char* what) {
  if (status != LOOM_OK) {
    fprintf(stderr, "graph_models_c: %s failed (status %d): %s\n", what, (int)status, loom_last_error_message());
    exit(1);
  }
}

/* ---- building blocks: each returns a new symbolic tensor the caller releases ---- */

static loom_symbolic* call1(loom_layer* layer, loom_symbolic* x) {
  loom_symbolic* y = NULL;
  check(loom_layer_apply(layer, (const loom_symbolic* const*)&x, 1, &y, 1, NULL), "loom_layer_apply");
  loom_layer_release(layer);
  return y;
}

static loom_layer* conv(int64_t filters, int64_t kernel, int64_t stride, const char* activation) {
  loom_attrs* a = NULL;
  loom_layer* layer = NULL;
  check(loom_attrs_new(&a), "attrs");
  check(loom_attrs_set_int(a, "filters", filters), "filters");
  check(loom_attrs_set_int(a, "kernel_size", kernel), "kernel_size");
  check(loom_attrs_set_int(a, "strides", stride), "strides");
  check(loom_attrs_set_string(a, "padding", "same"), "padding");
  check(loom_attrs_set_string(a, "activation", activation), "activation");
  check(loom_layer_new("Conv2D", a, &layer), "Conv2D");
  loom_attrs_release(a);
  return layer;
}

static loom_layer* pool(int64_t size, int64_t stride) {
  loom_attrs* a = NULL;
  loom_layer* layer = NULL;
  check(loom_attrs_new(&a), "attrs");
  check(loom_attrs_set_int(a, "pool_size", size), "pool_size");
  check(loom_attrs_set_int(a, "strides", stride), "strides");
  check(loom_attrs_set_string(a, "padding", "same"), "padding");
  check(loom_layer_new("MaxPool2D", a, &layer), "MaxPool2D");
  loom_attrs_release(a);
  return layer;
}

static loom_layer* plain(const char* type) {
  loom_layer* layer = NULL;
  check(loom_layer_new(type, NULL, &layer), type);
  return layer;
}

static loom_layer* dense(int64_t units) {
  loom_attrs* a = NULL;
  loom_layer* layer = NULL;
  check(loom_attrs_new(&a), "attrs");
  check(loom_attrs_set_int(a, "units", units), "units");
  check(loom_layer_new("Dense", a, &layer), "Dense");
  loom_attrs_release(a);
  return layer;
}

static loom_layer* activation(const char* name) {
  loom_attrs* a = NULL;
  loom_layer* layer = NULL;
  check(loom_attrs_new(&a), "attrs");
  check(loom_attrs_set_string(a, "activation", name), "activation");
  check(loom_layer_new("Activation", a, &layer), "Activation");
  loom_attrs_release(a);
  return layer;
}

/* Applies a merge layer (Concatenate, Add) to n symbolic tensors. */
static loom_symbolic* merge(const char* type, loom_symbolic** xs, int32_t n) {
  loom_layer* layer = plain(type);
  loom_symbolic* y = NULL;
  check(loom_layer_apply(layer, (const loom_symbolic* const*)xs, n, &y, 1, NULL), type);
  loom_layer_release(layer);
  return y;
}

/* GoogLeNet's Inception block: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max pool -> 1x1. */
static loom_symbolic* inception(loom_symbolic* x, int64_t c1, int64_t c2a, int64_t c2b, int64_t c3a, int64_t c3b, int64_t c4) {
  loom_symbolic* paths[4];
  loom_symbolic* t;
  int i;
  paths[0] = call1(conv(c1, 1, 1, "relu"), x);
  t = call1(conv(c2a, 1, 1, "relu"), x);
  paths[1] = call1(conv(c2b, 3, 1, "relu"), t);
  loom_symbolic_release(t);
  t = call1(conv(c3a, 1, 1, "relu"), x);
  paths[2] = call1(conv(c3b, 5, 1, "relu"), t);
  loom_symbolic_release(t);
  t = call1(pool(3, 1), x);
  paths[3] = call1(conv(c4, 1, 1, "relu"), t);
  loom_symbolic_release(t);
  t = merge("Concatenate", paths, 4);
  for (i = 0; i < 4; ++i) loom_symbolic_release(paths[i]);
  return t;
}

static loom_symbolic* googlenet(loom_symbolic* x) {
  loom_symbolic *a = call1(conv(16, 5, 1, "relu"), x), *b, *c, *d, *e;
  b = call1(pool(3, 2), a);
  c = inception(b, 8, 8, 12, 4, 6, 6);
  d = inception(c, 12, 12, 16, 4, 8, 8);
  e = call1(pool(3, 2), d);
  loom_symbolic_release(a);
  loom_symbolic_release(b);
  loom_symbolic_release(c);
  loom_symbolic_release(d);
  return e;
}

/* bn(conv(relu(bn(conv(x))))) + shortcut(x); the shortcut is x, or a strided 1x1 conv when the
 * block changes the shape. */
static loom_symbolic* residual(loom_symbolic* x, int64_t filters, int64_t stride, int project) {
  loom_symbolic *a = call1(conv(filters, 3, stride, "linear"), x), *b, *c, *d, *parts[2], *y;
  b = call1(plain("BatchNormalization"), a);
  c = call1(activation("relu"), b);
  d = call1(conv(filters, 3, 1, "linear"), c);
  parts[0] = call1(plain("BatchNormalization"), d);
  parts[1] = project ? call1(conv(filters, 1, stride, "linear"), x) : x;
  y = merge("Add", parts, 2);
  loom_symbolic_release(a);
  loom_symbolic_release(b);
  loom_symbolic_release(c);
  loom_symbolic_release(d);
  loom_symbolic_release(parts[0]);
  if (project) loom_symbolic_release(parts[1]);
  return y;
}

static loom_symbolic* resnet(loom_symbolic* x) {
  loom_symbolic *a = call1(conv(16, 3, 1, "relu"), x), *b, *c, *d, *e;
  b = residual(a, 16, 1, 0);
  c = call1(activation("relu"), b);
  d = residual(c, 32, 2, 1);
  e = call1(activation("relu"), d);
  loom_symbolic_release(a);
  loom_symbolic_release(b);
  loom_symbolic_release(c);
  loom_symbolic_release(d);
  return e;
}

/* ---- data ---- */

/* uint8 (N, 28, 28) images -> float32 (N, 28, 28, 1) in [0, 1]; uint8 labels -> int64. */
static loom_tensor* images(loom_tensor* raw) {
  loom_tensor *f = NULL, *scaled = NULL, *out = NULL, *scale = NULL;
  int64_t dims[3], shape[4];
  const int64_t none[1] = {0};
  loom_attrs* a = NULL;
  check(loom_tensor_shape(raw, dims, 3, NULL), "shape");
  check(loom_tensor_cast(raw, LOOM_F32, &f), "cast");
  check(loom_tensor_fill(none, 0, 255.0, LOOM_F32, &scale), "fill");
  check(loom_div(f, scale, &scaled), "scale");
  shape[0] = dims[0];
  shape[1] = dims[1];
  shape[2] = dims[2];
  shape[3] = 1;
  check(loom_attrs_new(&a), "attrs");
  check(loom_attrs_set_int_list(a, "shape", shape, 4), "shape");
  check(loom_op_call("reshape", (const loom_tensor* const*)&scaled, 1, a, &out, 1, NULL), "reshape");
  loom_attrs_release(a);
  loom_tensor_release(f);
  loom_tensor_release(scaled);
  loom_tensor_release(scale);
  loom_tensor_release(raw);
  return out;
}

static loom_tensor* labels(loom_tensor* raw) {
  loom_tensor* out = NULL;
  check(loom_tensor_cast(raw, LOOM_I64, &out), "cast labels");
  loom_tensor_release(raw);
  return out;
}

/* The first n rows of t (all when n <= 0 or n >= the row count). */
static loom_tensor* first_rows(loom_tensor* t, int64_t n) {
  int64_t dims[4];
  int32_t rank = 0;
  loom_attrs* a = NULL;
  loom_tensor* out = NULL;
  int64_t begin[4] = {0, 0, 0, 0}, end[4];
  int32_t i;
  check(loom_tensor_shape(t, dims, 4, &rank), "shape");
  if (n <= 0 || n >= dims[0]) return t;
  for (i = 0; i < rank; ++i) end[i] = dims[i];
  end[0] = n;
  check(loom_attrs_new(&a), "attrs");
  check(loom_attrs_set_int_list(a, "begin", begin, rank), "begin");
  check(loom_attrs_set_int_list(a, "end", end, rank), "end");
  check(loom_op_call("slice", (const loom_tensor* const*)&t, 1, a, &out, 1, NULL), "slice");
  loom_attrs_release(a);
  loom_tensor_release(t);
  return out;
}

/* ---- training ---- */

typedef struct {
  loom_tensor *x_test, *y_test;
  char checkpoint[512];
  double test_accuracy;
} progress;

static int32_t epoch_end(void* user, loom_model* model, int32_t epoch, const char* const* names, const double* values,
                         int32_t count) {
  progress* p = (progress*)user;
  double results[4] = {0, 0, 0, 0};
  double loss = 0, accuracy = 0;
  int32_t i, n = 0;
  for (i = 0; i < count; ++i) {
    if (strcmp(names[i], "loss") == 0) loss = values[i];
    if (strcmp(names[i], "accuracy") == 0) accuracy = values[i];
  }
  if (loom_model_evaluate(model, p->x_test, p->y_test, 1000, results, 4, &n) != LOOM_OK ||
      loom_model_save_checkpoint(model, p->checkpoint, epoch) != LOOM_OK) {
    fprintf(stderr, "graph_models_c: epoch callback: %s\n", loom_last_error_message());
    return 1; /* stops training */
  }
  p->test_accuracy = results[1];
  printf("epoch %d: train_loss %.4f train_acc %.4f test_acc %.4f (checkpoint %s)\n", (int)epoch + 1, loss, accuracy,
         p->test_accuracy, p->checkpoint);
  fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  const char *data = "data/fashion-mnist", *model_name = "googlenet", *save = "runs/graph_model.loom";
  int64_t epochs = 3, batch = 128, limit = 0, seed = 42, threads = 0;
  const int64_t input_shape[] = {28, 28, 1};
  loom_tensor *x_train, *y_train, *x_test, *y_test;
  loom_symbolic *x = NULL, *features, *pooled, *logits;
  loom_model* model = NULL;
  loom_attrs *options = NULL, *loss_attrs = NULL, *optimizer = NULL;
  const char* metrics[] = {"accuracy"};
  loom_fit_callbacks callbacks;
  progress p;
  int i;
  for (i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--data") == 0) data = argv[i + 1];
    else if (strcmp(argv[i], "--model") == 0) model_name = argv[i + 1];
    else if (strcmp(argv[i], "--epochs") == 0) epochs = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--batch-size") == 0) batch = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--limit") == 0) limit = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--seed") == 0) seed = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0) threads = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--save") == 0) save = argv[i + 1];
    else {
      fprintf(stderr, "graph_models_c: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (i != argc || (strcmp(model_name, "googlenet") != 0 && strcmp(model_name, "resnet") != 0)) {
    fprintf(stderr, "usage: graph_models_c --data DIR [--model googlenet|resnet] [--epochs N] [--batch-size B] "
                    "[--limit N] [--seed S] [--threads T] [--save PATH]\n");
    return 2;
  }
  check(loom_init(LOOM_ABI_VERSION), "loom_init");
  if (threads > 0) check(loom_set_num_threads((int32_t)threads), "threads");
  check(loom_set_seed((uint64_t)seed), "seed");
  check(loom_mnist_load(data, &x_train, &y_train, &x_test, &y_test), "loading Fashion-MNIST");
  x_train = first_rows(images(x_train), limit);
  y_train = first_rows(labels(y_train), limit);
  x_test = images(x_test);
  y_test = labels(y_test);

  check(loom_input_new(input_shape, 3, LOOM_F32, "image", &x), "input");
  features = strcmp(model_name, "googlenet") == 0 ? googlenet(x) : resnet(x);
  pooled = call1(plain("GlobalAvgPool2D"), features);
  logits = call1(dense(10), pooled);
  check(loom_model_new((const loom_symbolic* const*)&x, 1, (const loom_symbolic* const*)&logits, 1, model_name, &model),
        "loom_model_new");
  loom_symbolic_release(x);
  loom_symbolic_release(features);
  loom_symbolic_release(pooled);
  loom_symbolic_release(logits);

  { /* Adam whose learning rate follows a cosine from 0.002 to 1% over the run, as the C++ main job */
    int64_t dims[4];
    check(loom_tensor_shape(x_train, dims, 4, NULL), "shape");
    check(loom_attrs_new(&optimizer), "attrs");
    check(loom_attrs_set_float(optimizer, "learning_rate", 0.002), "learning_rate");
    check(loom_attrs_set_string(optimizer, "schedule", "cosine_decay"), "schedule");
    check(loom_attrs_set_int(optimizer, "decay_steps", (dims[0] + batch - 1) / batch * epochs), "decay_steps");
    check(loom_attrs_set_float(optimizer, "alpha", 0.01), "alpha");
  }
  check(loom_attrs_new(&loss_attrs), "attrs");
  check(loom_attrs_set_bool(loss_attrs, "from_logits", 1), "from_logits");
  check(loom_model_compile(model, "adam", optimizer, "sparse_categorical_crossentropy", loss_attrs, metrics, 1), "compile");
  check(loom_attrs_new(&options), "attrs");
  check(loom_attrs_set_int(options, "epochs", epochs), "epochs");
  check(loom_attrs_set_int(options, "batch_size", batch), "batch_size");
  check(loom_attrs_set_int(options, "seed", seed), "seed");
  check(loom_attrs_set_int(options, "verbose", 1), "verbose");

  memset(&p, 0, sizeof p);
  p.x_test = x_test;
  p.y_test = y_test;
  snprintf(p.checkpoint, sizeof p.checkpoint, "%s.ckpt", save);
  memset(&callbacks, 0, sizeof callbacks);
  callbacks.struct_size = sizeof callbacks;
  callbacks.epoch_end = epoch_end;
  callbacks.user = &p;
  printf("%s from C: %d epochs, batch %d\n", model_name, (int)epochs, (int)batch);
  check(loom_model_fit_arrays(model, (const loom_tensor* const*)&x_train, 1, (const loom_tensor* const*)&y_train, 1,
                              options, &callbacks, NULL, 0, NULL),
        "fit");
  check(loom_model_save(model, save), "saving the model");
  printf("test accuracy: %.4f\nmodel saved to %s\n", p.test_accuracy, save);

  loom_attrs_release(options);
  loom_attrs_release(optimizer);
  loom_attrs_release(loss_attrs);
  loom_tensor_release(x_train);
  loom_tensor_release(y_train);
  loom_tensor_release(x_test);
  loom_tensor_release(y_test);
  loom_model_release(model);
  return 0;
}
