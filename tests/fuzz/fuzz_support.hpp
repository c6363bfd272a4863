#pragma once
// Shared by the fuzzers: inputs go through a real file (the readers take paths), a memory limit
// turns absurd sizes into OutOfMemoryError instead of the fuzzer's RSS limit, and loom::Error
// is the only exception a reader may throw: anything else escapes and libFuzzer reports it.
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "loom/device.hpp"
#include "loom/threads.hpp"

namespace loom::fuzz {

inline void setup() {
  set_num_threads(1);
  set_memory_limit("CPU:0", int64_t{256} << 20);
}

// Writes the input to a per-process file with this suffix and returns its path.
inline std::string input_file(const uint8_t* data, size_t size, const std::string& suffix) {
  const std::string path = "/tmp/loom_fuzz_" + std::to_string(::getpid()) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path;
}

}  // namespace loom::fuzz
