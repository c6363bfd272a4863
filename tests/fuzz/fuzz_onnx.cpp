// ONNX files (import_onnx) come from other frameworks and from downloads: any bytes must import
// as a model or fail with a loom::Error, and a model that imports must run on an input of its
// declared shape.
#include "fuzz_support.hpp"
#include "loom/creation.hpp"
#include "loom/error.hpp"
#include "loom/interop.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  loom::fuzz::setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto model = loom::nn::import_onnx(loom::fuzz::input_file(data, size, ".onnx"));
    std::vector<loom::Tensor> inputs;
    for (const loom::nn::SymbolicTensor& input : model->inputs()) {
      loom::Shape one_example = input.shape();
      one_example[0] = 1;  // the batch axis (-1: any)
      inputs.push_back(loom::zeros(one_example, input.dtype()));
    }
    (void)model->predict_all(inputs);
  } catch (const loom::Error&) {
  }
  return 0;
}
