#pragma once
// A scratch directory for one test, removed with everything in it when the test ends.
#include <unistd.h>

#include <filesystem>
#include <iterator>
#include <string>

namespace loom::testing {

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("loom_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  size_t entries() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(path),
                                             std::filesystem::directory_iterator()));
  }
  static inline int counter = 0;
};

}  // namespace loom::testing
