#pragma once
// Helpers shared by the tests: golden cases from tests/golden/op_cases.json and comparisons.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loom/loom.hpp"
#include "loom/nn.hpp"

namespace loom::testing {

// Builds a tensor from a golden JSON record {dtype, shape, values, layout}; layout
// "transposed" or "strided" gives a non-contiguous view holding the same values.
Tensor tensor_from_json(const nlohmann::json& j);

// The same values as t in another memory layout: "contiguous", "transposed" (a transposed view
// of a transposed copy) or "strided" (every second element of a buffer twice as long).
Tensor with_layout(const Tensor& t, const std::string& layout);

// The attributes of a golden record: JSON booleans, integers, numbers, strings and lists.
Attrs attrs_from_json(const nlohmann::json& j);

// All golden forward cases: op_cases.json (NumPy) and nn_cases.json (PyTorch), parsed once.
const nlohmann::json& golden_cases();

// Expects equal shape and dtype and values within tolerance (NaN equals NaN).
void expect_tensor_near(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                        const std::string& context = "");
// Default tolerances for a dtype: {rtol, atol}.
std::pair<double, double> tolerance_for(DType dtype);

// Values as doubles (any dtype), row-major.
std::vector<double> values_of(const Tensor& t);

// The largest |a - b| over all elements (in float64); expects equal shapes.
double max_abs_diff(const Tensor& a, const Tensor& b);

// Central differences (step 1e-6) of the float64 scalar f with respect to every element of
// float64 input i.
std::vector<double> numeric_gradient(const std::function<double(const std::vector<Tensor>&)>& f,
                                     const std::vector<Tensor>& inputs, size_t i);

// Runs f and expects an exception of class E whose message contains `fragment`.
template <class E, class F>
void expect_error(F&& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "expected an exception containing '" << fragment << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << fragment;
  }
}

// fit() options for tests: no progress output and a fixed shuffling seed.
nn::FitOptions quiet(int epochs, int64_t batch = 32, uint64_t seed = 7);

}  // namespace loom::testing
