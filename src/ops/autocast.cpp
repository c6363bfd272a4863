#include "loom/autocast.hpp"

namespace loom {
namespace {
// The dtype number float32 variables are read as; -1: as they are.
thread_local int autocast_to = -1;
}  // namespace

AutocastScope::AutocastScope(DType compute_dtype) : outer_(autocast_to) {
  autocast_to = compute_dtype == DType::Float32 ? -1 : static_cast<int>(compute_dtype);
}
AutocastScope::~AutocastScope() { autocast_to = outer_; }

NoAutocast::NoAutocast() : outer_(autocast_to) { autocast_to = -1; }
NoAutocast::~NoAutocast() { autocast_to = outer_; }

std::optional<DType> autocast_dtype() {
  if (autocast_to < 0) return std::nullopt;
  return static_cast<DType>(autocast_to);
}

}  // namespace loom
