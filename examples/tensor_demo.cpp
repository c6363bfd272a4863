// A short tour of loom's tensors, ops and gradient tape (the seed's first chapters).
#include <loom/loom.hpp>

#include <iostream>

using namespace loom;

int main() {
  std::cout << "loom " << version_string() << " on";
  for (const auto& d : list_physical_devices()) std::cout << " " << d.name << " (" << d.description << ")";
  std::cout << "\n\n";

  const Tensor x = range(12);
  std::cout << "x = range(12):\n" << x << "\n";
  const Tensor X = reshape(cast(x, DType::Float32), {3, 4});
  const Tensor Y = constant({{2.0, 1.0, 4.0, 3.0}, {1.0, 2.0, 3.0, 4.0}, {4.0, 3.0, 2.0, 1.0}});
  std::cout << "X + Y =\n" << X + Y << "\n";
  std::cout << "exp(Y) =\n" << exp(Y) << "\n";
  std::cout << "X @ Y^T =\n" << matmul(X, Y, false, true) << "\n";
  std::cout << "concat([X, Y], axis 1) =\n" << concat({X, Y}, 1) << "\n";
  std::cout << "X == Y =\n" << (X == Y) << "\n";
  std::cout << "broadcast: range(3)[:, None] + range(2)[None, :] =\n"
            << reshape(range(3), {3, 1}) + reshape(range(2), {1, 2}) << "\n";
  std::cout << "X[1:3] =\n" << X[{Slice(1, 3)}] << "\n";

  Variable V(X, "V");
  V[{1, 2}].assign(9);
  std::cout << "after V[1, 2].assign(9):\n" << V << "\n";

  const Tensor v = constant({0.0, 1.0, 2.0, 3.0});
  GradientTape tape;
  tape.watch(v);
  const Tensor y = 2.0 * matmul(reshape(v, {1, 4}), reshape(v, {4, 1}));
  std::cout << "d(2 x^T x)/dx at x = [0, 1, 2, 3]: " << tape.gradient(y, v) << "\n";
  std::cout << "random_normal((2, 3), seed 42):\n" << random_normal({2, 3}, 0, 1, DType::Float32, 42) << "\n";
  return 0;
}
