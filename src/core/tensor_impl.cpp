#include <atomic>

#include "core/fault_hooks.hpp"
#include "loom/backend/backend.hpp"
#include "loom/detail/tensor_impl.hpp"

namespace loom {
namespace {
std::atomic<uint64_t> next_tensor_id{1};
}  // namespace

Storage::Storage(size_t nbytes, Device device, const char* op) : nbytes_(nbytes), device_(device) {
  allocator_ = &backend_for(device, op).allocator(device.index);
  detail::check_injected_allocation_failure(device, nbytes, op);
  data_ = allocator_->allocate(nbytes, op);
}

Storage::Storage(void* data, size_t nbytes, Device device, void (*deleter)(void*, void*),
                 void* user)
    : data_(data), nbytes_(nbytes), device_(device), deleter_(deleter), deleter_user_(user) {}

Storage::~Storage() {
  if (deleter_) {
    deleter_(data_, deleter_user_);
  } else if (allocator_) {
    allocator_->deallocate(data_, nbytes_);
  }
}

TensorImpl::TensorImpl(Shape shape_, Shape strides_, int64_t offset_, DType dtype_,
                       detail::Ref<Storage> storage_)
    : shape(std::move(shape_)),
      strides(std::move(strides_)),
      offset(offset_),
      dtype(dtype_),
      storage(std::move(storage_)),
      id(next_tensor_id.fetch_add(1, std::memory_order_relaxed)) {}

TensorImpl::~TensorImpl() = default;

}  // namespace loom
