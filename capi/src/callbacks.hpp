#pragma once
// What the entry points that run user callbacks share: borrowed tensors shown as handles, the
// new references a callback returns, and a failed callback turned into LOOM_ERROR_CALLBACK
// with the callback's own message.
#include <string>
#include <vector>

#include "errors.hpp"
#include "handles.hpp"

namespace loom::capi {

// Borrowed tensors shown to a callback as handles, released when the callback returns.
class CallbackHandles {
 public:
  explicit CallbackHandles(const std::vector<loom::Tensor>& tensors) {
    for (const auto& t : tensors) handles_.push_back(t.defined() ? new_handle<loom_tensor>(t) : nullptr);
  }
  ~CallbackHandles() {
    for (loom_tensor* h : handles_) release_handle(h, "callback");
  }
  CallbackHandles(const CallbackHandles&) = delete;
  CallbackHandles& operator=(const CallbackHandles&) = delete;
  const loom_tensor* const* data() const { return handles_.data(); }
  int32_t size() const { return static_cast<int32_t>(handles_.size()); }

 private:
  std::vector<loom_tensor*> handles_;
};

// Takes the new references a callback returned: the first `count` become tensors (NULL is an
// undefined tensor where allowed); every handle is released, also those past `count`.
inline std::vector<loom::Tensor> adopt_results(const std::vector<loom_tensor*>& results, size_t count, bool allow_null) {
  std::vector<loom::Tensor> out;
  std::string bad;
  for (size_t i = 0; i < results.size(); ++i) {
    loom_tensor* h = results[i];
    const bool live_tensor = h != nullptr && unregister_handle(h, HandleKind::Tensor);
    if (i < count) {
      out.push_back(live_tensor ? h->value : loom::Tensor());
      if (!live_tensor && (h != nullptr || !allow_null) && bad.empty()) {
        bad = "result[" + std::to_string(i) + "] is not a live tensor handle";
      }
    }
    if (live_tensor) delete h;
  }
  if (!bad.empty()) throw Failure(LOOM_ERROR_CALLBACK, bad);
  return out;
}

// Made just before a user callback runs; check() turns its non-zero status into
// LOOM_ERROR_CALLBACK carrying the message of the failure the callback recorded meanwhile (a
// failing loom call or loom_set_error), if it recorded one.
class CallbackReport {
 public:
  explicit CallbackReport(std::string which) : which_(std::move(which)), before_(failure_count()) {}
  void check(int32_t status) const {
    if (status == 0) return;
    const bool reported = failure_count() != before_;
    throw Failure(LOOM_ERROR_CALLBACK, which_ + " callback returned " + std::to_string(status) +
                                           (reported ? std::string(": ") + loom_last_error_message() : " without a message"));
  }

 private:
  std::string which_;
  uint64_t before_;
};

}  // namespace loom::capi
