// The op registry's own rules: every op owns its schema (named inputs with dtypes, attributes
// with defaults, outputs, a doc line); defaults are filled in once before dispatch; a backend
// may only narrow an op's dtypes and only register kernels for ops that exist; a fallback (the
// op in terms of other ops) gives what the kernel gives.
#include "loom/op_schema.hpp"
#include "ops/registry.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

TEST(Registry, EveryOpHasASchemaWithADocLine) {
  for (const std::string& name : list_ops()) {
    SCOPED_TRACE(name);
    const OpSchema s = op_schema(name);
    EXPECT_EQ(s.name, name);
    EXPECT_FALSE(s.doc.empty()) << "op '" << name << "' has no doc line";
    EXPECT_EQ(s.doc.find('\n'), std::string::npos) << "the doc is one line";
    EXPECT_FALSE(s.outputs.empty());
    if (s.max_inputs >= 0) {
      EXPECT_EQ(s.inputs.size(), static_cast<size_t>(s.max_inputs)) << "every input has a name";
    } else {
      EXPECT_EQ(s.inputs.size(), 1u) << "a variadic op names the kind its inputs follow";
    }
    for (const OpInputSchema& in : s.inputs) {
      EXPECT_FALSE(in.name.empty());
      EXPECT_FALSE(in.dtypes.empty()) << "input '" << in.name << "' accepts no dtype";
    }
    for (const OpAttrSchema& a : s.attrs) {
      if (a.default_value) {
        EXPECT_FALSE(a.required) << a.name;
        EXPECT_EQ(static_cast<int>(a.default_value->index()), static_cast<int>(a.type)) << a.name;
      }
    }
  }
  expect_error<NotFoundError>([] { op_schema("no_such_op"); }, "[op_schema] unknown op 'no_such_op'");
  expect_error<NotFoundError>([] { op_schema("copy_into"); }, "internal");
}

TEST(Registry, SchemasStateWhatCallsFind) {
  const OpSchema conv = op_schema("conv2d");
  ASSERT_EQ(conv.inputs.size(), 3u);
  EXPECT_EQ(conv.inputs[0].name, "x");
  EXPECT_EQ(conv.inputs[1].name, "filter");
  EXPECT_EQ(conv.inputs[2].name, "bias");
  EXPECT_EQ(conv.min_inputs, 2);
  EXPECT_EQ(conv.max_inputs, 3);
  const auto padding = std::find_if(conv.attrs.begin(), conv.attrs.end(), [](const OpAttrSchema& a) { return a.name == "padding"; });
  ASSERT_NE(padding, conv.attrs.end());
  EXPECT_EQ(std::get<std::string>(*padding->default_value), "valid");

  const OpSchema bn = op_schema("batch_norm");
  EXPECT_EQ(bn.outputs, (std::vector<std::string>{"y", "mean", "variance"}));
  EXPECT_EQ(std::get<double>(*bn.attrs.at(0).default_value), 1e-3);
  EXPECT_EQ(op_schema("concat").max_inputs, -1);
  EXPECT_TRUE(op_schema("split").variadic_outputs);
  const OpSchema gather = op_schema("gather");
  EXPECT_EQ(gather.inputs[1].dtypes, (std::vector<DType>{DType::Int32, DType::Int64}));
  // The op's dtypes are what every device accepts between them; a CPU kernel may take fewer.
  const OpSchema exp_schema = op_schema("exp");
  EXPECT_EQ(exp_schema.inputs[0].dtypes,
            (std::vector<DType>{DType::Float32, DType::Float64, DType::Float16, DType::BFloat16}));
  // The CPU kernel takes float32 and float64: float16 runs widened to float32 and is rounded
  // back (e^1 = 2.71828... is 2.71875 in float16, whose spacing there is 2^-9).
  const Tensor e = exp(constant({1.0}).cast(DType::Float16));
  EXPECT_EQ(e.dtype(), DType::Float16);
  EXPECT_EQ(e.cast(DType::Float64).item<double>(), 2.71875);
  expect_error<DTypeError>([] { exp(constant(std::vector<int64_t>{1})); },
                           "[exp] input 0 ('x') has dtype int64, which exp does not support");
}

TEST(Registry, DefaultsAreFilledInOnceBeforeDispatch) {
  static const bool defined = [] {
    define_op("registry_test_scale").inputs({"x"}).dtypes(kFloatTypes).attr("factor", 2.5).internal()
        .composite([](const OpCall& call) -> std::vector<Tensor> {
          return {call.inputs[0] * call.attrs.get_float("factor", call.name())};  // no fallback value here
        })
        .doc("x * factor (a test op)");
    return true;
  }();
  ASSERT_TRUE(defined);
  const OpDef& op = find_op("registry_test_scale");
  expect_tensor_near(dispatch1(op, {constant({2.0})}, {}), constant({5.0}), 0, 0);
  expect_tensor_near(dispatch1(op, {constant({2.0})}, Attrs{{"factor", 3.0}}), constant({6.0}), 0, 0);
  // Omitted attributes are the schema's defaults for every op: softmax's axis is -1.
  const Tensor x = constant({1.0, 2.0, 3.0, 4.0}).reshape({2, 2});
  expect_tensor_near(call_op("softmax", {x}, {})[0], call_op("softmax", {x}, Attrs{{"axis", int64_t{-1}}})[0], 0, 0);
}

void nothing(const OpCall&, std::vector<Tensor>&) {}

TEST(Registry, KernelsForUnknownOpsOrForeignDtypesAreRefused) {
  expect_error<InternalError>([] { register_kernel("tnah", DeviceType::CPU, nothing); },
                              "a CPU kernel is registered for 'tnah', but no op of that name is defined");
  expect_error<InternalError>([] { register_kernel("exp", DeviceType::CPU, nothing, kAllTypes); },
                              "a kernel may only narrow its op's dtypes");
  EXPECT_NE(find_op("exp").kernels[0].fn, &nothing) << "a refused kernel is not installed";
  expect_error<InternalError>([] { define_op("exp"); }, "[define_op] op 'exp' is defined twice");
}

// Each fallback, run directly on the golden cases of its op, gives the kernel's results: the
// reference a device without a kernel runs is the same computation.
TEST(Registry, FallbacksGiveWhatTheKernelsGive) {
  int checked = 0;
  for (const OpDef* op : all_ops()) {
    if (!op->fallback) continue;
    SCOPED_TRACE(op->name);
    for (const auto& c : golden_cases()) {
      if (c.at("op") != op->name || c.contains("error")) continue;
      std::vector<Tensor> inputs;
      for (const auto& in : c.at("inputs")) inputs.push_back(tensor_from_json(in));
      Attrs attrs = attrs_from_json(c.at("attrs"));
      for (const auto& [name, value] : op->defaults.items()) {
        if (!attrs.has(name)) attrs.set(name, value);
      }
      const std::vector<Tensor> kernel = call_op(op->name, inputs, attrs);
      const std::vector<Tensor> reference = op->fallback(OpCall{*op, inputs, attrs, Device::cpu()});
      ASSERT_EQ(reference.size(), kernel.size());
      for (size_t i = 0; i < kernel.size(); ++i) {
        const double tol = kernel[i].dtype() == DType::Float32 ? 1e-5 : 1e-12;
        expect_tensor_near(reference[i], kernel[i], tol, tol, c.at("attrs").dump());
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 10) << "the fallbacks of softmax, log_softmax, batch_norm(_grad) and dense have golden cases";
}

}  // namespace
}  // namespace loom::testing
