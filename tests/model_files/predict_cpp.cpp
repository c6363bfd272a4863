// predict_cpp MODEL INPUT.npy OUTPUT.npy: loads a whole-model file with the C++ API and writes
// its predictions for the input (tests/model_files/interop.py compares them with C's and Python's).
#include <loom/loom.hpp>
#include <loom/nn.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: predict_cpp MODEL INPUT.npy OUTPUT.npy\n");
    return 2;
  }
  try {
    const loom::nn::ModelPtr model = loom::nn::load_model(argv[1], false);
    loom::save_npy(argv[3], model->predict(loom::load_npy(argv[2]), 16));
  } catch (const loom::Error& e) {
    std::fprintf(stderr, "predict_cpp: %s\n", e.what());
    return 1;
  }
  return 0;
}
