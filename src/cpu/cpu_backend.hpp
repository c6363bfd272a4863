#pragma once
#include <memory>

#include "loom/backend.hpp"

namespace loom::detail {

std::unique_ptr<Backend> make_cpu_backend();

}  // namespace loom::detail
