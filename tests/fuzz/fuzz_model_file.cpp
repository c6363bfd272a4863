// Whole-model files (Model::save / load_model) are shared and downloaded: any bytes must load
// as a model or fail with a loom::Error, allocate only what the file backs, and a model that
// loads must run on an input of its declared shape.
#include "fuzz_support.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/nn/model.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  loom::fuzz::setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const loom::nn::ModelPtr model = loom::nn::load_model(loom::fuzz::input_file(data, size, ".loom"));
    (void)model->summary();
    if (model->built() && model->input_shape().rank() > 0) {
      loom::Shape one_example = model->input_shape();
      one_example[0] = 1;  // the batch axis (-1: any)
      (void)model->predict(loom::zeros(one_example));
    }
  } catch (const loom::Error&) {
  }
  return 0;
}
