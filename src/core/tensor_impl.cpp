#include <atomic>
#include <string>

#include "core/allocation_budget.hpp"
#include "core/fault_hooks.hpp"
#include "loom/backend/backend.hpp"
#include "loom/detail/tensor_impl.hpp"
#include "loom/error.hpp"
#include "loom/tensor.hpp"

namespace loom {
namespace {
std::atomic<uint64_t> next_tensor_id{1};

[[noreturn]] void bad_layout(const char* op, const Shape& shape, const Shape& strides, int64_t offset,
                             const std::string& why) {
  throw ShapeError(std::string("[") + op + "] a view of shape " + shape.str() + ", strides " + strides.str() +
                   " and offset " + std::to_string(offset) + " " + why);
}

// Every element the layout addresses lies in the storage; computed without wrapping.
void check_layout(const Shape& shape, const Shape& strides, int64_t offset, DType dtype, const Storage& storage,
                  const char* op) {
  const size_t nbytes = tensor_nbytes(shape, dtype, op);
  if (strides.size() != shape.size()) bad_layout(op, shape, strides, offset, "has a stride per axis missing");
  if (nbytes == 0) return;  // addresses nothing
  int64_t lowest = offset, highest = offset;  // in elements
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t span = 0;
    if (__builtin_mul_overflow(shape[i] - 1, strides[i], &span) ||
        __builtin_add_overflow(span < 0 ? lowest : highest, span, span < 0 ? &lowest : &highest)) {
      bad_layout(op, shape, strides, offset, "addresses elements beyond a 64-bit offset");
    }
  }
  const int64_t capacity = static_cast<int64_t>(storage.nbytes() / dtype_size(dtype));
  if (lowest < 0 || highest >= capacity) {
    bad_layout(op, shape, strides, offset,
               "addresses elements " + std::to_string(lowest) + " to " + std::to_string(highest) +
                   " of a storage that holds " + std::to_string(capacity) + " " + dtype_name(dtype) + " elements");
  }
}
}  // namespace

Storage::Storage(size_t nbytes, Device device, const char* op) : nbytes_(nbytes), device_(device) {
  allocator_ = &backend_for(device, op).allocator(device.index);
  detail::check_injected_allocation_failure(device, nbytes, op);
  budget_token_ = detail::charge_to_budget(nbytes);
  try {
    data_ = allocator_->allocate(nbytes, op);
  } catch (...) {
    detail::release_from_budget(budget_token_, nbytes);
    throw;
  }
}

Storage::Storage(void* data, size_t nbytes, Device device, void (*deleter)(void*, void*),
                 void* user)
    : data_(data), nbytes_(nbytes), device_(device), deleter_(deleter), deleter_user_(user) {}

Storage::~Storage() {
  detail::release_from_budget(budget_token_, nbytes_);
  if (deleter_) {
    deleter_(data_, deleter_user_);
  } else if (allocator_) {
    allocator_->deallocate(data_, nbytes_);
  }
}

TensorImpl::TensorImpl(Shape shape_, Shape strides_, int64_t offset_, DType dtype_,
                       detail::Ref<Storage> storage_, const char* op)
    : shape(std::move(shape_)),
      strides(std::move(strides_)),
      offset(offset_),
      dtype(dtype_),
      storage(std::move(storage_)),
      id(next_tensor_id.fetch_add(1, std::memory_order_relaxed)) {
  check_layout(shape, strides, offset, dtype, *storage, op);
}

TensorImpl::~TensorImpl() = default;

}  // namespace loom
