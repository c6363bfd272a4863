#include "loom/nn/regularizers.hpp"

#include "loom/ops.hpp"

namespace loom::nn {
namespace {

class L1L2Regularizer final : public Regularizer {
 public:
  L1L2Regularizer(double l1, double l2) : l1_(l1), l2_(l2) {}
  Tensor operator()(const Tensor& w) const override {
    Tensor penalty;
    if (l1_ != 0) penalty = reduce_sum(abs(w)) * l1_;
    if (l2_ != 0) {
      const Tensor p2 = reduce_sum(square(w)) * l2_;
      penalty = penalty.defined() ? penalty + p2 : p2;
    }
    return penalty.defined() ? penalty : reduce_sum(w) * 0.0;
  }
  Attrs get_config() const override { return Attrs{{"l1", l1_}, {"l2", l2_}}; }

 private:
  double l1_, l2_;
};

}  // namespace

Regularizer::~Regularizer() = default;

RegularizerPtr L1(double l1) { return std::make_shared<L1L2Regularizer>(l1, 0.0); }
RegularizerPtr L2(double l2) { return std::make_shared<L1L2Regularizer>(0.0, l2); }
RegularizerPtr L1L2(double l1, double l2) { return std::make_shared<L1L2Regularizer>(l1, l2); }

}  // namespace loom::nn
