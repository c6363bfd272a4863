// loom_op_call through the C ABI with fuzzed op names, inputs (dtype, shape, raw bytes) and
// attributes (mostly of the types the op declares, sometimes not), often under a gradient tape
// that then asks for gradients. Every call must return a status; nothing may crash.
#include <string>
#include <vector>

#include "byte_reader.hpp"
#include "fuzz_support.hpp"
#include "loom/loom.h"
#include "ops/registry.hpp"

namespace {

const char* const kWords[] = {"same", "valid", "relu", "tanh", "sigmoid", "softmax", "linear", "mean", "sum",
                              "float32", "int64", "CPU:0", "GPU:0", "highest", "max", "fro", "euclidean", ""};
const char* const kAttrNames[] = {"axis", "axes", "shape", "perm", "keepdims", "dtype", "strides", "padding",
                                  "num", "depth", "activation", "alpha", "value"};

void set_attr(loom::fuzz::ByteReader& in, loom_attrs* attrs, const std::string& name, int type) {
  switch (type) {
    case 0:
      loom_attrs_set_int(attrs, name.c_str(), in.integer(-5, 7));
      break;
    case 1:
      loom_attrs_set_float(attrs, name.c_str(), in.real(-4.0, 4.0));
      break;
    case 2:
      loom_attrs_set_bool(attrs, name.c_str(), in.flag());
      break;
    case 3:
      loom_attrs_set_string(attrs, name.c_str(), in.pick(kWords));
      break;
    case 4: {
      std::vector<int64_t> v(static_cast<size_t>(in.integer(0, 5)));
      for (auto& x : v) x = in.integer(-3, 6);
      loom_attrs_set_int_list(attrs, name.c_str(), v.data(), static_cast<int32_t>(v.size()));
      break;
    }
    case 5: {
      std::vector<double> v(static_cast<size_t>(in.integer(0, 4)));
      for (auto& x : v) x = in.real(-3.0, 3.0);
      loom_attrs_set_float_list(attrs, name.c_str(), v.data(), static_cast<int32_t>(v.size()));
      break;
    }
    default:
      loom_attrs_set_dtype(attrs, name.c_str(), static_cast<int32_t>(in.integer(0, 8)));
  }
}

loom_tensor* make_input(loom::fuzz::ByteReader& in) {
  const int32_t dtype = static_cast<int32_t>(in.integer(0, 7));
  const int32_t rank = static_cast<int32_t>(in.integer(0, 4));
  int64_t dims[4];
  size_t numel = 1;
  for (int32_t i = 0; i < rank; ++i) numel *= static_cast<size_t>(dims[i] = in.integer(0, 5));
  static const size_t sizes[] = {4, 8, 4, 8, 1, 1, 2, 2};
  std::vector<uint8_t> bytes = in.bytes(numel * sizes[dtype]);
  loom_tensor* t = nullptr;
  loom_tensor_from_host(bytes.data(), bytes.size(), dims, rank, dtype, &t);
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  loom::fuzz::setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<const loom::OpDef*> ops = loom::all_ops();
  loom::fuzz::ByteReader in(data, size);
  const loom::OpDef& op = *ops[static_cast<size_t>(in.integer(0, static_cast<int64_t>(ops.size()) - 1))];
  const std::string name = in.chance(0.02) ? in.text(12) : op.name;

  std::vector<loom_tensor*> inputs(static_cast<size_t>(in.integer(0, 4)));
  for (auto& t : inputs) t = make_input(in);
  loom_attrs* attrs = nullptr;
  loom_attrs_new(&attrs);
  for (const loom::AttrSpec& spec : op.attrs) {
    if (in.flag()) set_attr(in, attrs, spec.name, in.chance(0.85) ? static_cast<int>(spec.type) : static_cast<int>(in.integer(0, 6)));
  }
  if (in.chance(0.1)) set_attr(in, attrs, in.pick(kAttrNames), static_cast<int>(in.integer(0, 6)));

  loom_tape* tape = nullptr;
  if (in.flag()) {
    loom_tape_new(1, 1, &tape);
    for (loom_tensor* t : inputs) loom_tape_watch(tape, t);
  }
  loom_tensor* outputs[8] = {};
  int32_t n = 0;
  const loom_status status = loom_op_call(name.c_str(), inputs.data(), static_cast<int32_t>(inputs.size()), attrs,
                                          outputs, 8, &n);
  if (status == LOOM_OK && tape != nullptr && n > 0) {
    loom_tensor *target = nullptr, *as_float = nullptr;
    if (loom_tensor_cast(outputs[0], LOOM_F32, &as_float) == LOOM_OK &&
        loom_reduce_sum(as_float, nullptr, -1, 0, &target) == LOOM_OK) {
      std::vector<loom_tensor*> grads(inputs.size(), nullptr);
      std::vector<const loom_tensor*> sources(inputs.begin(), inputs.end());
      if (loom_tape_gradient(tape, target, sources.data(), static_cast<int32_t>(sources.size()), nullptr, 0, nullptr,
                             in.flag(), grads.data()) == LOOM_OK) {
        for (loom_tensor* g : grads) loom_tensor_release(g);
      }
    }
    loom_tensor_release(target);
    loom_tensor_release(as_float);
  }
  for (int32_t i = 0; i < n; ++i) loom_tensor_release(outputs[i]);
  loom_tape_release(tape);
  loom_attrs_release(attrs);
  for (loom_tensor* t : inputs) loom_tensor_release(t);
  return 0;
}
