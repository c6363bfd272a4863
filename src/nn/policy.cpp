#include "loom/nn/policy.hpp"

#include <mutex>

#include "loom/error.hpp"

namespace loom::nn {
namespace {

std::mutex& global_mutex() {
  static std::mutex m;
  return m;
}
std::string& global_name() {
  static std::string name = "float32";
  return name;
}
thread_local const Policy* scoped = nullptr;  // the innermost PolicyScope's policy

}  // namespace

Policy::Policy(const std::string& name) : name_(name) {
  if (name == "float32") {
    compute_ = variable_ = DType::Float32;
  } else if (name == "mixed_bfloat16" || name == "mixed_float16") {
    compute_ = name == "mixed_bfloat16" ? DType::BFloat16 : DType::Float16;
    variable_ = DType::Float32;
  } else if (name == "bfloat16" || name == "float16") {
    compute_ = variable_ = name == "bfloat16" ? DType::BFloat16 : DType::Float16;
  } else {
    throw InvalidArgument("[Policy] unknown dtype policy '" + name +
                          "' (known: float32, mixed_bfloat16, mixed_float16, bfloat16, float16)");
  }
}

void set_global_policy(const std::string& name) {
  const Policy checked(name);
  std::lock_guard<std::mutex> lock(global_mutex());
  global_name() = checked.name();
}

Policy global_policy() {
  if (scoped) return *scoped;
  std::lock_guard<std::mutex> lock(global_mutex());
  return Policy(global_name());
}

PolicyScope::PolicyScope(const Policy& policy) : outer_(scoped), policy_(policy) { scoped = &policy_; }
PolicyScope::~PolicyScope() { scoped = outer_; }

}  // namespace loom::nn
