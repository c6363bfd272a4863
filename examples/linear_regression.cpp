// Linear regression from scratch, as the seed's chapter: synthetic data, shuffled minibatches,
// squared loss, hand-written SGD through Variable::assign_sub. `--check` exits non-zero unless
// it converged (final mean loss < 1e-4, |w - true_w| and |b - true_b| < 0.01).
#include <loom/loom.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>

using namespace loom;

struct Batch {
  Tensor X, y;
};

// The seed's data_iter: the examples in a shuffled order, batch_size at a time.
std::vector<Batch> data_iter(int64_t batch_size, const Tensor& features, const Tensor& labels, std::mt19937& rng) {
  const int64_t n = features.dim(0);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<Batch> batches;
  for (int64_t i = 0; i < n; i += batch_size) {
    const int64_t end = std::min(i + batch_size, n);
    const Tensor idx = constant(std::vector<int64_t>(order.begin() + i, order.begin() + end));
    batches.push_back({gather(features, idx), gather(labels, idx)});
  }
  return batches;
}

Tensor linreg(const Tensor& X, const Tensor& w, const Tensor& b) { return matmul(X, w) + b; }
Tensor squared_loss(const Tensor& y_hat, const Tensor& y) { return square(y_hat - reshape(y, y_hat.shape())) / 2.0; }
void sgd(std::vector<Variable>& params, const std::vector<Tensor>& grads, double lr, int64_t batch_size) {
  for (size_t i = 0; i < params.size(); ++i) params[i].assign_sub(grads[i] * (lr / static_cast<double>(batch_size)));
}

int main(int argc, char** argv) {
  const bool check = argc > 1 && std::strcmp(argv[1], "--check") == 0;
  const Tensor true_w = constant({{2.0}, {-3.4}});
  const double true_b = 4.2;
  const int64_t num_examples = 1000;
  const Tensor features = random_normal({num_examples, 2}, 0, 1, DType::Float32, 1);
  const Tensor labels = matmul(features, true_w) + true_b + random_normal({num_examples, 1}, 0, 0.01, DType::Float32, 2);

  std::vector<Variable> params = {Variable(random_normal({2, 1}, 0, 0.01, DType::Float32, 3), "w"),
                                  Variable(zeros({1}), "b")};
  const double lr = 0.03;
  const int64_t batch_size = 10;
  std::mt19937 rng(4);
  double final_loss = 0;
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (const Batch& batch : data_iter(batch_size, features, labels, rng)) {
      GradientTape tape;
      const Tensor l = squared_loss(linreg(batch.X, params[0], params[1]), batch.y);
      sgd(params, tape.gradient(l, std::vector<Tensor>(params.begin(), params.end())), lr, batch_size);
    }
    final_loss = reduce_mean(squared_loss(linreg(features, params[0], params[1]), labels)).item<double>();
    std::printf("epoch %d, loss %f\n", epoch + 1, final_loss);
  }
  const auto w = params[0].to_vector<double>();
  const double b = params[1].item<double>();
  std::printf("w = [%.4f, %.4f] (true [2, -3.4]), b = %.4f (true 4.2)\n", w[0], w[1], b);
  const bool converged = final_loss < 1e-4 && std::abs(w[0] - 2.0) < 0.01 && std::abs(w[1] + 3.4) < 0.01 &&
                         std::abs(b - true_b) < 0.01;
  if (check && !converged) {
    std::printf("did not converge\n");
    return 1;
  }
  return 0;
}
