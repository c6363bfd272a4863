// Variables: identity, in-place assignment (whole and sliced) and error paths.
#include "support/test_support.hpp"

namespace loom::testing {
namespace {

TEST(Variable, AssignFamilyChangesValuesInPlace) {
  Variable v(reshape(cast(range(12), DType::Float32), {3, 4}), "X");
  const uint64_t id = v.id();
  EXPECT_EQ(v.name(), "X");
  EXPECT_TRUE(v.trainable());
  v.assign(ones({3, 4}));
  EXPECT_EQ(v.to_vector<float>(), std::vector<float>(12, 1.0f));
  v.assign_add(fill({4}, 2.0));  // broadcasts
  v.assign_sub(ones({3, 4}));
  EXPECT_EQ(v.to_vector<float>(), std::vector<float>(12, 2.0f));
  EXPECT_EQ(v.id(), id) << "a variable keeps its identity across assignments";
  v.assign(0.5);
  EXPECT_EQ(v.index({2, 3}).item<float>(), 0.5f);
}

TEST(Variable, SlicedAssignmentLikeTheSeed) {
  Variable X(reshape(cast(range(12), DType::Float32), {3, 4}));
  X[{1, 2}].assign(9);  // X[1, 2].assign(9)
  EXPECT_EQ(X.index({1, 2}).item<float>(), 9.0f);
  X[{Slice(0, 2), Slice()}].assign(12);  // X[0:2, :].assign(12 * ones)
  const auto v = X.to_vector<float>();
  EXPECT_EQ(v[0], 12.0f);
  EXPECT_EQ(v[7], 12.0f);
  EXPECT_EQ(v[8], 8.0f);
  X[{Slice(), 0}].assign(constant({-1.0, -2.0, -3.0}));
  EXPECT_EQ(X.index({2, 0}).item<float>(), -3.0f);
  // Assigning a variable from an overlapping view of itself reads the old values.
  Variable r(constant({1.0, 2.0, 3.0, 4.0}));
  r[{Slice(1, None)}].assign(r.index({Slice(0, 3)}));
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{1, 1, 2, 3}));
}

TEST(Variable, CopiesItsInitialValueAndReadValueSnapshots) {
  const Tensor init = constant({1.0, 2.0});
  Variable v(init);
  v.assign(constant({5.0, 6.0}));
  EXPECT_EQ(init.to_vector<float>(), (std::vector<float>{1, 2}));
  const Tensor snapshot = v.read_value();
  v.assign_add(constant({1.0, 1.0}));
  EXPECT_EQ(snapshot.to_vector<float>(), (std::vector<float>{5, 6}));
  EXPECT_EQ(v.to_vector<float>(), (std::vector<float>{6, 7}));
}

TEST(Variable, ErrorsNameTheCall) {
  Variable v(zeros({2, 2}));
  expect_error<ShapeError>([&] { v.assign(zeros({3})); }, "[Variable.assign] value has shape (3,), the variable is (2, 2)");
  expect_error<DTypeError>([&] { v.assign(zeros({2, 2}, DType::Float64)); }, "[Variable.assign] value has dtype float64");
  expect_error<ShapeError>([&] { v.assign_add(zeros({3})); }, "[Variable.assign_add]");
  expect_error<InvalidArgument>([&] { v[{5, 0}].assign(1); }, "out of range");
  expect_error<InvalidArgument>([] { Variable v{Tensor()}; }, "[Variable] the initial value is an empty tensor handle");
  expect_error<InvalidArgument>([] { Variable().name(); }, "[Variable.name] the variable handle is empty");
}

}  // namespace
}  // namespace loom::testing
