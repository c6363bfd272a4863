// Table-driven forward tests: every op of the registry against NumPy golden values
// (tests/golden/make_op_cases.py), including broadcasting, empty, 0-d and non-contiguous inputs,
// every accepted dtype and the error paths.
#include <map>
#include <set>

#include "ops/registry.hpp"
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

// Ops whose forward behaviour is checked by dedicated tests instead of golden values.
const std::map<std::string, std::string> kTestedElsewhere = {
    {"random_normal", "test_random.cpp (statistics and reproducibility)"},
    {"random_uniform", "test_random.cpp"},
    {"truncated_normal", "test_random.cpp"},
    {"copy_to_device", "test_devices.cpp"},
    {"dropout", "test_nn.cpp (mask from the seeded generator, scaling, inference identity)"},
};

ErrorCode code_of(const std::string& name) {
  static const std::map<std::string, ErrorCode> codes = {
      {"InvalidArgument", ErrorCode::InvalidArgument}, {"ShapeError", ErrorCode::Shape},
      {"DTypeError", ErrorCode::DType}, {"DeviceError", ErrorCode::Device},
      {"NotFoundError", ErrorCode::NotFound}, {"IOError", ErrorCode::IO}};
  return codes.at(name);
}

std::vector<std::string> ops_with_cases() {
  std::set<std::string> names;
  for (const auto& c : golden_cases()) names.insert(c.at("op").get<std::string>());
  return {names.begin(), names.end()};
}

class OpCases : public ::testing::TestWithParam<std::string> {};

TEST_P(OpCases, MatchNumPy) {
  int index = 0;
  for (const auto& c : golden_cases()) {
    if (c.at("op") != GetParam()) continue;
    const std::string context = GetParam() + " case " + std::to_string(index++) + " " + c.at("attrs").dump();
    SCOPED_TRACE(context);
    std::vector<Tensor> inputs;
    for (const auto& in : c.at("inputs")) inputs.push_back(tensor_from_json(in));
    const Attrs attrs = attrs_from_json(c.at("attrs"));
    if (c.contains("error")) {
      try {
        call_op(GetParam(), inputs, attrs);
        ADD_FAILURE() << "expected " << c.at("error") << " containing '" << c.at("message") << "'";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), code_of(c.at("error"))) << e.what();
        EXPECT_NE(std::string(e.what()).find(c.at("message").get<std::string>()), std::string::npos)
            << e.what();
        EXPECT_EQ(std::string(e.what()).rfind("[", 0), 0u) << "message must start with [op]: " << e.what();
      }
      continue;
    }
    const std::vector<Tensor> outputs = call_op(GetParam(), inputs, attrs);
    if (!c.contains("outputs")) continue;  // a gradient row of a random op (dropout): no reference values
    ASSERT_EQ(outputs.size(), c.at("outputs").size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Tensor expected = tensor_from_json(c.at("outputs")[i]);
      auto [rtol, atol] = tolerance_for(expected.dtype());
      if (c.contains("tol")) {
        rtol = c.at("tol")[0];
        atol = c.at("tol")[1];
      }
      expect_tensor_near(outputs[i], expected, rtol, atol, context + " output " + std::to_string(i));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, OpCases, ::testing::ValuesIn(ops_with_cases()),
                         [](const auto& info) { return info.param; });

// An op added to the registry without golden cases (or a named dedicated test) fails here.
TEST(OpCoverage, EveryRegisteredOpHasForwardCases) {
  const auto covered = ops_with_cases();
  const std::set<std::string> with_cases(covered.begin(), covered.end());
  for (const std::string& name : list_ops()) {
    if (kTestedElsewhere.count(name)) continue;
    EXPECT_TRUE(with_cases.count(name)) << "op '" << name << "' has no golden forward cases";
  }
}

}  // namespace
}  // namespace loom::testing
