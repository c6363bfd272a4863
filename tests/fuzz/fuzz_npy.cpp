// .npy reader: any bytes give a tensor or an IOError/DTypeError, never a crash or another exception.
#include "fuzz_support.hpp"
#include "loom/error.hpp"
#include "loom/io.hpp"
#include "loom/ops.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  loom::fuzz::setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const loom::Tensor t = loom::load_npy(loom::fuzz::input_file(data, size, ".npy"));
    if (t.numel() > 0) (void)loom::reduce_sum(loom::cast(t, loom::DType::Float64)).item<double>();
  } catch (const loom::Error&) {
  }
  return 0;
}
