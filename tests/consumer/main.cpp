// Built against an installed loom by the install_consumer test.
#include <loom/loom.hpp>

#include <iostream>

int main() {
  const loom::Tensor x = loom::constant({{1.0, 2.0}, {3.0, 4.0}});
  const double total = loom::reduce_sum(loom::matmul(x, x)).item<double>();
  std::cout << "loom " << loom::version_string() << " sum(x@x) = " << total << "\n";
  return total == 54.0 ? 0 : 1;  // [[7, 10], [15, 22]]
}
