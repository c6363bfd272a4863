#pragma once
#include "loom/device.hpp"

namespace loom::detail {

// While an op's kernel or forward function runs, the ops it calls internally follow the op's
// own device, not the user's DeviceScope: otherwise a copy to the CPU under a GPU scope would
// send its own helper ops back to the GPU (and recurse). Pushes only when a different scope
// is active, so the common path costs a comparison.
class OpDeviceScope {
 public:
  explicit OpDeviceScope(Device device);
  ~OpDeviceScope();
  OpDeviceScope(const OpDeviceScope&) = delete;
  OpDeviceScope& operator=(const OpDeviceScope&) = delete;

 private:
  bool pushed_ = false;
};

}  // namespace loom::detail
