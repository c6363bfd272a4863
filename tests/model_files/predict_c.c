/* predict_c MODEL INPUT.npy OUTPUT.npy: loads a whole-model file through the C ABI alone and
 * writes its predictions for the input (tests/model_files/interop.py compares them with C++'s and
 * Python's for the same file). */
#include <stdio.h>

#include "loom/loom.h"

static int fail(const char* what) {
  fprintf(stderr, "predict_c: %s: %s\n", what, loom_last_error_message());
  return 1;
}

int main(int argc, char** argv) {
  loom_model* model = NULL;
  loom_tensor *x = NULL, *y = NULL;
  int status = 0;
  if (argc != 4) {
    fprintf(stderr, "usage: predict_c MODEL INPUT.npy OUTPUT.npy\n");
    return 2;
  }
  if (loom_init(LOOM_ABI_VERSION) != LOOM_OK) return fail("loom_init");
  if (loom_model_load(argv[1], 0, &model) != LOOM_OK) return fail("loom_model_load");
  if (loom_tensor_load_npy(argv[2], &x) != LOOM_OK) status = fail("loom_tensor_load_npy");
  if (!status && loom_model_predict(model, x, 16, &y) != LOOM_OK) status = fail("loom_model_predict");
  if (!status && loom_tensor_save_npy(y, argv[3]) != LOOM_OK) status = fail("loom_tensor_save_npy");
  loom_tensor_release(y);
  loom_tensor_release(x);
  loom_model_release(model);
  return status;
}
