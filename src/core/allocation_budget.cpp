#include "core/allocation_budget.hpp"

#include <atomic>

#include "loom/error.hpp"

namespace loom::detail {
namespace {

thread_local BudgetState active;
std::atomic<uint64_t> next_token{1};

}  // namespace

AllocationBudget::AllocationBudget(size_t limit, std::string what) : outer_(std::move(active)) {
  active = BudgetState{next_token.fetch_add(1), limit, 0, std::move(what)};
}

AllocationBudget::~AllocationBudget() { active = std::move(outer_); }

uint64_t charge_to_budget(size_t nbytes) {
  if (active.token == 0) return 0;
  if (nbytes > active.limit - active.live) {
    throw IOError(active.what + ": building it would hold more than " + std::to_string(active.limit) +
                  " bytes at once (an allocation of " + std::to_string(nbytes) + " bytes with " +
                  std::to_string(active.live) + " held)");
  }
  active.live += nbytes;
  return active.token;
}

void release_from_budget(uint64_t token, size_t nbytes) {
  // A tensor freed after its budget ended, or on another thread, has nothing to give back.
  if (token != 0 && token == active.token) active.live -= nbytes;
}

}  // namespace loom::detail
