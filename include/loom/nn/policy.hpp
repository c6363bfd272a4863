#pragma once
// Dtype policies for mixed precision (Keras' keras.mixed_precision): a layer computes in its
// policy's compute dtype while its variables keep the variable dtype.
#include <string>

#include "loom/dtype.hpp"
#include "loom/export.hpp"

namespace loom::nn {

/// A dtype policy: the dtype a layer computes in and the dtype of its variables.
///
/// "float32" (the default), "mixed_bfloat16" and "mixed_float16" (compute in the 16-bit type,
/// variables in float32), "bfloat16" and "float16" (both in the 16-bit type). A layer casts
/// its floating inputs to the compute dtype and reads its float32 variables as that dtype
/// (loom/autocast.hpp); the gradients reach the variables in float32.
class LOOM_API Policy {
 public:
  /// The policy named `name`; InvalidArgument naming the known policies otherwise.
  explicit Policy(const std::string& name = "float32");
  /// The policy's name.
  const std::string& name() const { return name_; }
  /// The dtype layers compute in.
  DType compute_dtype() const { return compute_; }
  /// The dtype of the layers' variables.
  DType variable_dtype() const { return variable_; }
  /// Whether the policy computes in a narrower dtype than its variables hold.
  bool is_mixed() const { return compute_ != variable_; }

 private:
  std::string name_;
  DType compute_;
  DType variable_;
};

/// Sets the policy of layers created from now on (Keras' set_global_policy); layers made before
/// keep theirs. InvalidArgument for an unknown name.
LOOM_API void set_global_policy(const std::string& name);
/// The policy new layers on this thread get: the innermost PolicyScope's, else the global one.
LOOM_API Policy global_policy();

/// While alive, layers made on this thread get `policy` (Keras' policy_scope); scopes nest.
class LOOM_API PolicyScope {
 public:
  /// Starts giving new layers on this thread `policy`.
  explicit PolicyScope(const Policy& policy);
  /// Restores the enclosing scope (or the global policy).
  ~PolicyScope();
  PolicyScope(const PolicyScope&) = delete;             ///< Not copyable.
  PolicyScope& operator=(const PolicyScope&) = delete;  ///< Not copyable.

 private:
  const Policy* outer_;
  Policy policy_;
};

}  // namespace loom::nn
