// safetensors reader (weights files): malformed headers, offsets and dtypes are IOErrors.
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
    const loom::NamedTensors file = loom::load_safetensors(loom::fuzz::input_file(data, size, ".safetensors"));
    for (const auto& [name, t] : file.tensors) {
      if (t.numel() > 0) (void)loom::reduce_sum(loom::cast(t, loom::DType::Float64)).item<double>();
    }
  } catch (const loom::Error&) {
  }
  return 0;
}
