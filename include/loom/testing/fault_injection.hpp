#pragma once
// Fault injection, for loom's reliability tests and for programs that want to test their own
// handling of loom's failures. Nothing is armed unless these are called.
#include <cstdint>
#include <string_view>

#include "loom/export.hpp"

/// Fault injection, for loom's reliability tests and for programs that test their own handling
/// of loom's failures. Nothing is armed unless these functions are called.
namespace loom::fault_injection {

/// The allocation `count` allocations from now (0 = the next one) on `device` fails with an
/// OutOfMemoryError, as if the device were full; -1 disarms. Returns the allocations that were
/// still to go before the previous setting fired (-1 if it was not armed or has fired).
/// One setting at a time, for one device; DeviceError for a device name that does not parse.
LOOM_API int64_t fail_allocation_after(std::string_view device, int64_t count);

/// File writes fail with "No space left on device" once `bytes` more bytes have been written;
/// -1 disarms.
LOOM_API void fail_writes_after(int64_t bytes);

}  // namespace loom::fault_injection
