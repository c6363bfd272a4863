#include "support/test_support.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

namespace loom::testing {

namespace {
double number(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    return s == "inf" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  }
  return v.get<double>();
}
}  // namespace

Tensor tensor_from_json(const nlohmann::json& j) {
  const DType dtype = dtype_from_name(j.at("dtype").get<std::string>());
  const Shape shape(j.at("shape").get<std::vector<int64_t>>());
  Tensor t;
  if (is_integral(dtype)) {
    t = detail::constant_from_int64s(j.at("values").get<std::vector<int64_t>>(), shape, dtype);
  } else {
    std::vector<double> vals;
    for (const auto& v : j.at("values")) vals.push_back(number(v));
    t = detail::constant_from_doubles(vals, shape, dtype);
  }
  return with_layout(t, j.value("layout", "contiguous"));
}

Tensor with_layout(const Tensor& t, const std::string& layout) {
  if (t.rank() == 0 || layout == "contiguous") return t;
  if (layout == "transposed") {
    const Tensor flipped = transpose(t).contiguous();  // reversed axes, contiguous
    return transpose(flipped);                         // the original values, strided
  }
  if (layout == "strided") {  // every second element of a buffer twice as long
    const Tensor doubled = stack({t, zeros_like(t)}, -1);
    std::vector<TensorIndex> idx(static_cast<size_t>(t.rank()), TensorIndex(Slice()));
    idx.push_back(TensorIndex(0));
    return doubled.index(idx);
  }
  throw InvalidArgument("unknown layout " + layout);
}

Attrs attrs_from_json(const nlohmann::json& j) {
  Attrs attrs;
  for (const auto& [key, v] : j.items()) {
    if (v.is_boolean()) attrs.set(key, v.get<bool>());
    else if (v.is_number_integer()) attrs.set(key, v.get<int64_t>());
    else if (v.is_number()) attrs.set(key, v.get<double>());
    else if (v.is_string()) attrs.set(key, v.get<std::string>());
    else if (v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_number_integer(); }))
      attrs.set(key, v.get<std::vector<int64_t>>());
    else attrs.set(key, v.get<std::vector<double>>());
  }
  return attrs;
}

const nlohmann::json& golden_cases() {
  static const nlohmann::json cases = [] {
    nlohmann::json all = nlohmann::json::array();
    for (const char* file : {"op_cases.json", "nn_cases.json"}) {
      std::ifstream in(std::string(LOOM_GOLDEN_DIR) + "/" + file);
      if (!in) throw IOError(std::string("cannot open golden cases ") + file);
      nlohmann::json doc = nlohmann::json::parse(in);
      for (auto& c : doc.at("cases")) all.push_back(std::move(c));
    }
    return all;
  }();
  return cases;
}

std::vector<double> values_of(const Tensor& t) { return t.to_vector<double>(); }

std::vector<double> numeric_gradient(const std::function<double(const std::vector<Tensor>&)>& f,
                                     const std::vector<Tensor>& inputs, size_t i) {
  constexpr double eps = 1e-6;
  std::vector<double> base = inputs[i].to_vector<double>();
  std::vector<double> grad(base.size());
  std::vector<Tensor> probe = inputs;
  for (size_t j = 0; j < base.size(); ++j) {
    std::vector<double> v = base;
    v[j] = base[j] + eps;
    probe[i] = constant(v, inputs[i].shape(), DType::Float64);
    const double up = f(probe);
    v[j] = base[j] - eps;
    probe[i] = constant(v, inputs[i].shape(), DType::Float64);
    const double down = f(probe);
    grad[j] = (up - down) / (2 * eps);
  }
  return grad;
}


std::pair<double, double> tolerance_for(DType dtype) {
  switch (dtype) {
    case DType::Float32: return {2e-5, 1e-6};
    case DType::Float64: return {1e-12, 1e-14};
    case DType::Float16: case DType::BFloat16: return {1e-2, 1e-3};
    default: return {0.0, 0.0};
  }
}

void expect_tensor_near(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                        const std::string& context) {
  ASSERT_TRUE(actual.defined()) << context;
  ASSERT_EQ(actual.shape(), expected.shape()) << context << ": shape " << actual.shape().str()
                                              << " vs expected " << expected.shape().str();
  ASSERT_EQ(actual.dtype(), expected.dtype()) << context << ": dtype " << dtype_name(actual.dtype())
                                              << " vs expected " << dtype_name(expected.dtype());
  const auto a = values_of(actual), e = values_of(expected);
  int reported = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool both_nan = std::isnan(a[i]) && std::isnan(e[i]);
    const bool same_inf = std::isinf(a[i]) && a[i] == e[i];
    if (both_nan || same_inf) continue;
    if (!(std::abs(a[i] - e[i]) <= atol + rtol * std::abs(e[i]))) {
      ADD_FAILURE() << context << ": element " << i << " is " << a[i] << ", expected " << e[i];
      if (++reported >= 5) return;
    }
  }
}

nn::FitOptions quiet(int epochs, int64_t batch, uint64_t seed) {
  nn::FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.verbose = 0;
  o.seed = seed;
  return o;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  return reduce_max(abs(cast(a, DType::Float64) - cast(b, DType::Float64))).item<double>();
}

}  // namespace loom::testing
