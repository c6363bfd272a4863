/* ONNX through the C ABI: PyTorch's LeNet (tests/golden/onnx/lenet.onnx) imports and predicts as
 * PyTorch did, exports again, and fine-tunes on Fashion-MNIST; errors name the function.
 * Usage: loom_capi_onnx_tests GOLDEN_ONNX_DIR FASHION_MNIST_DIR */
#include "check.h"

static const char* golden_dir = "";
static const char* data_dir = "";

static const char* golden(const char* file) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", golden_dir, file);
  return path;
}

static double max_abs_diff(const loom_tensor* a, const loom_tensor* b, size_t n) {
  float* x = malloc(n * sizeof(float));
  float* y = malloc(n * sizeof(float));
  double diff = INFINITY;
  size_t i;
  if (x && y && loom_tensor_to_host(a, x, n * sizeof(float)) == LOOM_OK && loom_tensor_to_host(b, y, n * sizeof(float)) == LOOM_OK) {
    diff = 0;
    for (i = 0; i < n; ++i) diff = fabs((double)x[i] - (double)y[i]) > diff ? fabs((double)x[i] - (double)y[i]) : diff;
  }
  free(x);
  free(y);
  return diff;
}

static void test_pytorch_lenet_predicts_as_pytorch(void) {
  loom_model* model = NULL;
  loom_tensor *x = NULL, *expected = NULL, *y = NULL;
  double diff;
  CHECK_OK(loom_onnx_import(golden("lenet.onnx"), &model));
  CHECK_OK(loom_tensor_load_npy(golden("lenet_input.npy"), &x));
  CHECK_OK(loom_tensor_load_npy(golden("lenet_expected.npy"), &expected));
  CHECK_OK(loom_model_predict(model, x, 8, &y));
  diff = max_abs_diff(y, expected, 8 * 10);
  printf("  PyTorch's LeNet in loom: max |loom - PyTorch| = %.3g\n", diff);
  CHECK(diff <= 1e-5);
  loom_tensor_release(y);
  loom_tensor_release(expected);
  loom_tensor_release(x);
  loom_model_release(model);
}

static void test_an_import_exports_again(void) {
  char path[] = "/tmp/loom_capi_onnx_XXXXXX";
  loom_model *model = NULL, *again = NULL;
  loom_tensor *x = NULL, *a = NULL, *b = NULL;
  CHECK(make_temp_file(path));
  CHECK_OK(loom_onnx_import(golden("lenet.onnx"), &model));
  CHECK_OK(loom_onnx_export(model, path, 0));
  CHECK_OK(loom_onnx_import(path, &again));
  CHECK_OK(loom_tensor_load_npy(golden("lenet_input.npy"), &x));
  CHECK_OK(loom_model_predict(model, x, 8, &a));
  CHECK_OK(loom_model_predict(again, x, 8, &b));
  CHECK(max_abs_diff(a, b, 8 * 10) <= 1e-5);
  CHECK_OK(loom_onnx_export(again, path, LOOM_ONNX_MAX_OPSET));
  remove(path);
  loom_tensor_release(b);
  loom_tensor_release(a);
  loom_tensor_release(x);
  loom_model_release(again);
  loom_model_release(model);
}

static void test_errors_name_the_function(void) {
  loom_model* model = (loom_model*)1;
  size_t needed = 0;
  char operators[2048];
  CHECK_FAILS(loom_onnx_import("/nonexistent/model.onnx", &model), LOOM_ERROR_IO, "loom_onnx_import", "cannot open");
  CHECK(model == NULL);
  CHECK_FAILS(loom_onnx_import(golden("lenet_input.npy"), &model), LOOM_ERROR_IO, "loom_onnx_import", "is not an ONNX model");
  CHECK_FAILS(loom_onnx_import(NULL, &model), LOOM_ERROR_INVALID_ARGUMENT, "loom_onnx_import", "path");
  CHECK_OK(loom_onnx_import(golden("lenet.onnx"), &model));
  CHECK_FAILS(loom_onnx_export(model, "/tmp/never.onnx", 12), LOOM_ERROR_INVALID_ARGUMENT, "loom_onnx_export", "opset 12");
  CHECK_FAILS(loom_onnx_export(NULL, "/tmp/never.onnx", 13), LOOM_ERROR_INVALID_ARGUMENT, "loom_onnx_export", "model");
  loom_model_release(model);
  CHECK_OK(loom_onnx_import_operators(NULL, 0, &needed));
  CHECK(needed > 100 && needed < sizeof operators);
  CHECK_OK(loom_onnx_import_operators(operators, sizeof operators, NULL));
  CHECK(strstr(operators, "BatchNormalization,") != NULL && strstr(operators, "Conv,") != NULL);
  CHECK_FAILS(loom_onnx_import_operators(operators, 4, NULL), LOOM_ERROR_INVALID_ARGUMENT, "loom_onnx_import_operators", "needs");
}

/* The first `n` entries of `t` along axis 0, as float32 scaled by `scale` (images) or int64. */
static loom_tensor* first(const loom_tensor* t, int64_t n, int32_t dtype, double scale) {
  int64_t dims[4] = {0, 0, 0, 0}, begin[4] = {0, 0, 0, 0};
  int32_t rank = 0, count = 0;
  loom_attrs *slice = NULL, *cast = NULL;
  loom_tensor *part = NULL, *typed = NULL, *factor = NULL, *out = NULL;
  CHECK_OK(loom_tensor_shape(t, dims, 4, &rank));
  dims[0] = n;
  CHECK_OK(loom_attrs_new(&slice));
  CHECK_OK(loom_attrs_set_int_list(slice, "begin", begin, rank));
  CHECK_OK(loom_attrs_set_int_list(slice, "end", dims, rank));
  CHECK_OK(loom_op_call("slice", &t, 1, slice, &part, 1, &count));
  CHECK_OK(loom_attrs_new(&cast));
  CHECK_OK(loom_attrs_set_dtype(cast, "dtype", dtype));
  CHECK_OK(loom_op_call("cast", (const loom_tensor* const*)&part, 1, cast, &typed, 1, &count));
  if (dtype == LOOM_F32) {
    int64_t image[4] = {0, 1, 28, 28};
    loom_tensor* scaled = NULL;
    image[0] = n;
    CHECK_OK(loom_tensor_fill(NULL, 0, scale, LOOM_F32, &factor));
    CHECK_OK(loom_mul(typed, factor, &scaled));
    CHECK_OK(loom_reshape(scaled, image, 4, &out));  /* NCHW, as the PyTorch model takes */
    loom_tensor_release(scaled);
  } else {
    out = typed;
    typed = NULL;
  }
  loom_tensor_release(factor);
  loom_tensor_release(typed);
  loom_tensor_release(part);
  loom_attrs_release(cast);
  loom_attrs_release(slice);
  return out;
}

/* PyTorch's accuracy on the first 2000 test images, from lenet.json. */
static double pytorch_accuracy(void) {
  char text[256] = {0};
  FILE* f = fopen(golden("lenet.json"), "r");
  const char* at;
  if (!f) return -1;
  if (fread(text, 1, sizeof text - 1, f) == 0) text[0] = 0;
  fclose(f);
  at = strstr(text, "\"test_accuracy_first_2000\":");
  return at ? strtod(at + strlen("\"test_accuracy_first_2000\":"), NULL) : -1;
}

static double accuracy(loom_model* model, const loom_tensor* x, const loom_tensor* y) {
  double values[2] = {0, 0};
  int32_t count = 0;
  CHECK_OK(loom_model_evaluate(model, x, y, 250, values, 2, &count));
  CHECK(count == 2);
  return values[1];
}

static void test_pytorch_lenet_fine_tunes_on_fashion_mnist(void) {
  loom_tensor *x_train = NULL, *y_train = NULL, *x_test = NULL, *y_test = NULL;
  loom_tensor *xt, *yt, *xs, *ys;
  loom_model* model = NULL;
  loom_attrs *adam = NULL, *logits = NULL, *options = NULL;
  const char* metrics[] = {"accuracy"};
  double before, after, reference = pytorch_accuracy(), losses[2] = {0, 0};
  int32_t epochs = 0;
  CHECK_OK(loom_mnist_load(data_dir, &x_train, &y_train, &x_test, &y_test));
  xt = first(x_train, 12000, LOOM_F32, 1.0 / 255);
  yt = first(y_train, 12000, LOOM_I64, 1);
  xs = first(x_test, 2000, LOOM_F32, 1.0 / 255);
  ys = first(y_test, 2000, LOOM_I64, 1);
  CHECK_OK(loom_onnx_import(golden("lenet.onnx"), &model));
  CHECK_OK(loom_attrs_new(&adam));
  CHECK_OK(loom_attrs_set_float(adam, "learning_rate", 0.002));
  CHECK_OK(loom_attrs_new(&logits));
  CHECK_OK(loom_attrs_set_bool(logits, "from_logits", 1));
  CHECK_OK(loom_model_compile(model, "adam", adam, "sparse_categorical_crossentropy", logits, metrics, 1));
  before = accuracy(model, xs, ys);
  printf("  imported LeNet: test accuracy %.4f (PyTorch: %.4f)\n", before, reference);
  CHECK_NEAR(before, reference, 0.001);  /* the same predictions, but for a rounding tie or two */
  CHECK_OK(loom_attrs_new(&options));
  CHECK_OK(loom_attrs_set_int(options, "epochs", 2));
  CHECK_OK(loom_attrs_set_int(options, "batch_size", 64));
  CHECK_OK(loom_attrs_set_int(options, "seed", 1));
  CHECK_OK(loom_model_fit(model, xt, yt, options, NULL, NULL, losses, 2, &epochs));
  after = accuracy(model, xs, ys);
  printf("  after 2 epochs on 12000 images: loss %.4f -> %.4f, test accuracy %.4f\n", losses[0], losses[1], after);
  CHECK(epochs == 2);
  CHECK(losses[1] < losses[0]);
  CHECK(after > before + 0.03);
  loom_attrs_release(options);
  loom_attrs_release(logits);
  loom_attrs_release(adam);
  loom_model_release(model);
  loom_tensor_release(ys);
  loom_tensor_release(xs);
  loom_tensor_release(yt);
  loom_tensor_release(xt);
  loom_tensor_release(y_test);
  loom_tensor_release(x_test);
  loom_tensor_release(y_train);
  loom_tensor_release(x_train);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s GOLDEN_ONNX_DIR FASHION_MNIST_DIR\n", argv[0]);
    return 2;
  }
  golden_dir = argv[1];
  data_dir = argv[2];
  CHECK_OK(loom_init(LOOM_ABI_VERSION));
  RUN(test_pytorch_lenet_predicts_as_pytorch);
  RUN(test_an_import_exports_again);
  RUN(test_errors_name_the_function);
  RUN(test_pytorch_lenet_fine_tunes_on_fashion_mnist);
  return check_failures;
}
