/* loom from pure C99: build a small classifier, train it with the gradient tape and an optimizer,
 * continue with compile/fit, save the weights, reload them into a fresh model, and report.
 *
 *   train_classifier [weights-path]     (default: a file in /tmp, removed at the end)
 *
 * The data: points of a 20x20 grid over [-1, 1]^2, class 1 inside the circle x^2 + y^2 < 0.5.
 * Every fifth point is held out for testing. Exits 1 on any error or if test accuracy < 90%. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, close */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loom/loom.h"

#define N_POINTS 400
#define N_TEST (N_POINTS / 5)
#define N_TRAIN (N_POINTS - N_TEST)

/* Prints the library's message for a failed call and exits. */
static void check(loom_status status, const char* what) {
  if (status != LOOM_OK) {
    fprintf(stderr, "error in %s (status %d): %s\n", what, (int)status, loom_last_error_message());
    exit(1);
  }
}

static void make_data(loom_tensor** x_train, loom_tensor** y_train, loom_tensor** x_test, loom_tensor** y_test) {
  static float xtr[N_TRAIN * 2], xte[N_TEST * 2];
  static int64_t ytr[N_TRAIN], yte[N_TEST];
  const int64_t dtr[] = {N_TRAIN, 2}, dte[] = {N_TEST, 2}, ltr[] = {N_TRAIN}, lte[] = {N_TEST};
  int i, ntr = 0, nte = 0;
  for (i = 0; i < N_POINTS; ++i) {
    const float px = -1.0f + 2.0f * (float)(i % 20) / 19.0f, py = -1.0f + 2.0f * (float)(i / 20) / 19.0f;
    const int64_t label = px * px + py * py < 0.5f;
    if (i % 5 == 0) {
      xte[2 * nte] = px;
      xte[2 * nte + 1] = py;
      yte[nte++] = label;
    } else {
      xtr[2 * ntr] = px;
      xtr[2 * ntr + 1] = py;
      ytr[ntr++] = label;
    }
  }
  check(loom_tensor_from_host(xtr, sizeof xtr, dtr, 2, LOOM_F32, x_train), "x_train");
  check(loom_tensor_from_host(ytr, sizeof ytr, ltr, 1, LOOM_I64, y_train), "y_train");
  check(loom_tensor_from_host(xte, sizeof xte, dte, 2, LOOM_F32, x_test), "x_test");
  check(loom_tensor_from_host(yte, sizeof yte, lte, 1, LOOM_I64, y_test), "y_test");
}

static loom_layer* dense(int64_t units, const char* activation) {
  loom_attrs* attrs = NULL;
  loom_layer* layer = NULL;
  check(loom_attrs_new(&attrs), "attrs");
  check(loom_attrs_set_int(attrs, "units", units), "units");
  check(loom_attrs_set_string(attrs, "activation", activation), "activation");
  check(loom_attrs_set_string(attrs, "kernel_initializer", "glorot_uniform"), "initializer");
  check(loom_layer_new("Dense", attrs, &layer), "Dense");
  loom_attrs_release(attrs);
  return layer;
}

/* 2 -> 16 (tanh) -> 16 (tanh) -> 2 logits. */
static loom_model* build_model(void) {
  const int64_t input_shape[] = {2};
  loom_layer* layers[3];
  loom_model* model = NULL;
  int i;
  layers[0] = dense(16, "tanh");
  layers[1] = dense(16, "tanh");
  layers[2] = dense(2, "linear");
  check(loom_sequential_new(input_shape, 1, "circle_classifier", &model), "model");
  for (i = 0; i < 3; ++i) {
    check(loom_sequential_add(model, layers[i]), "add");
    loom_layer_release(layers[i]); /* the model holds its own reference */
  }
  return model;
}

/* mean(sparse softmax cross-entropy(labels, logits)) through the generic op call. */
static loom_tensor* cross_entropy(const loom_tensor* labels, const loom_tensor* logits) {
  const loom_tensor* inputs[2];
  loom_tensor *per_example = NULL, *mean = NULL;
  int32_t n = 0;
  inputs[0] = labels;
  inputs[1] = logits;
  check(loom_op_call("sparse_softmax_cross_entropy_with_logits", inputs, 2, NULL, &per_example, 1, &n), "xent");
  check(loom_reduce_mean(per_example, NULL, -1, 0, &mean), "mean");
  loom_tensor_release(per_example);
  return mean;
}

static double accuracy(loom_model* model, const loom_tensor* x, const loom_tensor* labels) {
  loom_tensor *logits = NULL, *classes = NULL, *hits = NULL, *as_float = NULL, *mean = NULL;
  loom_attrs* attrs = NULL;
  const loom_tensor* inputs[2];
  int32_t n = 0;
  double value = 0;
  check(loom_model_predict(model, x, 32, &logits), "predict");
  check(loom_attrs_new(&attrs), "attrs");
  check(loom_attrs_set_int(attrs, "axis", -1), "axis");
  inputs[0] = logits;
  check(loom_op_call("argmax", inputs, 1, attrs, &classes, 1, &n), "argmax");
  inputs[0] = classes;
  inputs[1] = labels;
  check(loom_op_call("equal", inputs, 2, NULL, &hits, 1, &n), "equal");
  check(loom_tensor_cast(hits, LOOM_F32, &as_float), "cast");
  check(loom_reduce_mean(as_float, NULL, -1, 0, &mean), "mean");
  check(loom_tensor_item(mean, &value), "item");
  loom_attrs_release(attrs);
  loom_tensor_release(logits);
  loom_tensor_release(classes);
  loom_tensor_release(hits);
  loom_tensor_release(as_float);
  loom_tensor_release(mean);
  return value;
}

/* One full-batch step with the tape: loss, gradients of the trainable variables, Adam update. */
static double train_step(loom_model* model, loom_optimizer* adam, const loom_tensor* x, const loom_tensor* y) {
  loom_variable* vars[8];
  loom_tensor* grads[8];
  loom_tape* tape = NULL;
  loom_tensor *logits = NULL, *loss = NULL;
  int32_t n_vars = 0, i;
  double value = 0;
  check(loom_model_trainable_variables(model, vars, 8, &n_vars), "trainable_variables");
  check(loom_tape_new(0, 1, &tape), "tape");
  check(loom_model_call(model, x, 1, &logits), "call");
  loss = cross_entropy(y, logits);
  check(loom_tape_gradient(tape, loss, NULL, 0, (const loom_variable* const*)vars, n_vars, NULL, 0, grads), "gradient");
  check(loom_optimizer_apply_gradients(adam, (const loom_tensor* const*)grads, vars, n_vars), "apply_gradients");
  check(loom_tensor_item(loss, &value), "loss");
  for (i = 0; i < n_vars; ++i) {
    loom_tensor_release(grads[i]);
    loom_variable_release(vars[i]);
  }
  loom_tape_release(tape);
  loom_tensor_release(logits);
  loom_tensor_release(loss);
  return value;
}

static int32_t print_epoch(void* user, int32_t epoch, const char* const* names, const double* values, int32_t count) {
  int32_t i;
  (void)user;
  if ((epoch + 1) % 5 != 0) return 0;
  printf("  fit epoch %2d:", (int)epoch + 1);
  for (i = 0; i < count; ++i) printf(" %s=%.4f", names[i], values[i]);
  printf("\n");
  return 0; /* non-zero would stop training */
}

int main(int argc, char** argv) {
  char default_path[] = "/tmp/loom_c_example_XXXXXX";
  const char* path = argc > 1 ? argv[1] : NULL;
  const char* metrics[] = {"accuracy"};
  loom_tensor *x_train = NULL, *y_train = NULL, *x_test = NULL, *y_test = NULL, *p1 = NULL, *p2 = NULL;
  loom_model *model = NULL, *reloaded = NULL;
  loom_optimizer* adam = NULL;
  loom_attrs *opt_attrs = NULL, *loss_attrs = NULL, *fit_attrs = NULL;
  double results[2], acc;
  float a[N_TEST * 2], b[N_TEST * 2];
  int32_t step, count = 0, epochs = 0;

  check(loom_init(LOOM_ABI_VERSION), "init");
  printf("loom %s (C ABI %d)\n", loom_version_string(), (int)loom_abi_version());
  check(loom_set_seed(1234), "seed");
  make_data(&x_train, &y_train, &x_test, &y_test);
  model = build_model();

  /* 1. A custom training loop with the tape and an optimizer. */
  check(loom_attrs_new(&opt_attrs), "attrs");
  check(loom_attrs_set_float(opt_attrs, "learning_rate", 0.05), "learning_rate");
  check(loom_optimizer_new("adam", opt_attrs, &adam), "adam");
  for (step = 1; step <= 100; ++step) {
    const double loss = train_step(model, adam, x_train, y_train);
    if (step % 25 == 0) printf("  tape step %3d: loss=%.4f\n", (int)step, loss);
  }
  printf("after the tape loop: test accuracy %.3f\n", accuracy(model, x_test, y_test));

  /* 2. Keras-style compile and fit, with an epoch callback. */
  check(loom_attrs_set_float(opt_attrs, "learning_rate", 0.002), "learning_rate");
  check(loom_attrs_new(&loss_attrs), "attrs");
  check(loom_attrs_set_bool(loss_attrs, "from_logits", 1), "from_logits"); /* the model outputs logits */
  check(loom_model_compile(model, "adam", opt_attrs, "sparse_categorical_crossentropy", loss_attrs, metrics, 1),
        "compile");
  check(loom_attrs_new(&fit_attrs), "attrs");
  check(loom_attrs_set_int(fit_attrs, "epochs", 20), "epochs");
  check(loom_attrs_set_int(fit_attrs, "batch_size", 32), "batch_size");
  check(loom_attrs_set_int(fit_attrs, "seed", 7), "seed");
  check(loom_model_fit(model, x_train, y_train, fit_attrs, print_epoch, NULL, NULL, 0, &epochs), "fit");
  check(loom_model_evaluate(model, x_test, y_test, 32, results, 2, &count), "evaluate");
  printf("after fit (%d epochs): test loss %.4f, test accuracy %.3f\n", (int)epochs, results[0], results[1]);

  /* 3. Save, reload into a fresh model, and compare predictions. */
  if (path == NULL) {
    int fd = mkstemp(default_path);
    if (fd < 0) {
      perror("mkstemp");
      return 1;
    }
    close(fd);
    path = default_path;
  }
  check(loom_model_save_weights(model, path), "save_weights");
  reloaded = build_model();
  check(loom_model_load_weights(reloaded, path, 1), "load_weights");
  check(loom_model_predict(model, x_test, 32, &p1), "predict");
  check(loom_model_predict(reloaded, x_test, 32, &p2), "predict");
  check(loom_tensor_to_host(p1, a, sizeof a), "to_host");
  check(loom_tensor_to_host(p2, b, sizeof b), "to_host");
  acc = accuracy(reloaded, x_test, y_test);
  printf("reloaded from %s: predictions %s, test accuracy %.3f\n", path,
         memcmp(a, b, sizeof a) == 0 ? "identical" : "DIFFERENT", acc);
  if (path == default_path) remove(path);

  loom_tensor_release(x_train);
  loom_tensor_release(y_train);
  loom_tensor_release(x_test);
  loom_tensor_release(y_test);
  loom_tensor_release(p1);
  loom_tensor_release(p2);
  loom_attrs_release(opt_attrs);
  loom_attrs_release(loss_attrs);
  loom_attrs_release(fit_attrs);
  loom_optimizer_release(adam);
  loom_model_release(model);
  loom_model_release(reloaded);
  return memcmp(a, b, sizeof a) == 0 && acc >= 0.9 ? 0 : 1;
}
