#pragma once
// Automatic casting of variables for mixed precision, as Keras' AutoCastVariable: inside an
// AutocastScope, a float32 variable that an op reads is cast to the scope's dtype first (the
// cast is recorded, so its gradient reaches the float32 variable as float32). Layers open a
// scope around call() when their dtype policy computes in a narrower type (nn::Policy).
#include <optional>

#include "loom/dtype.hpp"
#include "loom/export.hpp"

namespace loom {

/// While alive, ops on this thread read float32 variables as `compute_dtype` (bfloat16,
/// float16; float32 turns autocasting off). Scopes nest; the innermost wins.
class LOOM_API AutocastScope {
 public:
  /// Starts casting float32 variables to `compute_dtype` on this thread.
  explicit AutocastScope(DType compute_dtype);
  /// Restores the enclosing scope's setting.
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;             ///< Not copyable.
  AutocastScope& operator=(const AutocastScope&) = delete;  ///< Not copyable.

 private:
  int outer_;
};

/// While alive, variables are read as they are (for updates of float32 state such as moving
/// statistics inside a mixed-precision layer).
class LOOM_API NoAutocast {
 public:
  /// Stops autocasting on this thread.
  NoAutocast();
  /// Restores the enclosing scope's setting.
  ~NoAutocast();
  NoAutocast(const NoAutocast&) = delete;             ///< Not copyable.
  NoAutocast& operator=(const NoAutocast&) = delete;  ///< Not copyable.

 private:
  int outer_;
};

/// The dtype float32 variables are read as on this thread, if autocasting is on.
LOOM_API std::optional<DType> autocast_dtype();

}  // namespace loom
