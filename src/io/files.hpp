#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace loom::io {

// Writes `bytes` to `path` through a temporary file in the same directory, fsync and rename:
// readers see the old file or the new one, never a mix. Throws IOError naming the path.
void write_file_atomically(const std::string& path, const std::vector<char>& bytes, const char* op);

// For writers that need a path (libraries that open files themselves): `write` writes the whole
// file at the temporary path it is given, next to `path`; then the file is flushed to disk and
// renamed over `path`. When `write` throws, the temporary file is removed and `path` is left as
// it was.
void write_file_atomically_with(const std::string& path, const std::function<void(const std::string& tmp)>& write,
                                const char* op);

// Throws IOError naming the path unless it is a readable regular file.
void check_readable(const std::string& path, const char* op);

// The whole file; throws IOError naming the path and the reason.
std::vector<char> read_file(const std::string& path, const char* op);

}  // namespace loom::io
