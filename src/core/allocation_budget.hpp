#pragma once
// A bound on the bytes the current thread allocates while it builds something untrusted input
// describes: loading a model file builds layers from its config, and a config that declares a
// layer far larger than the file's weights must fail before allocating, not exhaust memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/internal_api.hpp"

namespace loom::detail {

struct BudgetState {
  uint64_t token = 0;  // 0: no budget
  size_t limit = 0;
  size_t live = 0;
  std::string what;
};

// While it lives, tensors this thread allocates may hold at most `limit` bytes at once;
// allocating past it throws IOError with `what` and the figures. An inner budget replaces the
// outer one until it ends.
class LOOM_INTERNAL_API AllocationBudget {
 public:
  AllocationBudget(size_t limit, std::string what);
  ~AllocationBudget();
  AllocationBudget(const AllocationBudget&) = delete;
  AllocationBudget& operator=(const AllocationBudget&) = delete;

 private:
  BudgetState outer_;
};

// The budget's token for an allocation of `nbytes` (0 when none is active); throws when the
// allocation would pass the active budget. release_from_budget returns the bytes of a token.
uint64_t charge_to_budget(size_t nbytes);
void release_from_budget(uint64_t token, size_t nbytes);

}  // namespace loom::detail
