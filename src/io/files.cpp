#include "io/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/fault_hooks.hpp"
#include "loom/error.hpp"

namespace loom::io {
namespace {

[[noreturn]] void fail(const char* op, const std::string& what, const std::string& path, int err) {
  throw IOError(std::string("[") + op + "] " + what + " '" + path + "': " + std::strerror(err));
}

}  // namespace

void write_file_atomically_with(const std::string& path, const std::function<void(const std::string& tmp)>& write,
                                const char* op) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  try {
    write(tmp);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(op, "cannot reopen", tmp, err);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_error = errno;
  if (::close(fd) != 0 || !synced) {
    const int err = synced ? errno : sync_error;
    ::unlink(tmp.c_str());
    fail(op, "cannot flush", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(op, "cannot replace", path, err);
  }
}

void write_file_atomically(const std::string& path, const std::vector<char>& bytes, const char* op) {
  write_file_atomically_with(path, [&](const std::string& tmp) {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail(op, "cannot create", tmp, errno);
    size_t done = 0;
    while (done < bytes.size()) {
      const size_t allowed = detail::injected_write_allowance(bytes.size() - done);
      if (allowed == 0) errno = ENOSPC;
      const ssize_t n = allowed == 0 ? -1 : ::write(fd, bytes.data() + done, allowed);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        fail(op, "cannot write", tmp, err);
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) fail(op, "cannot write", tmp, errno);
  }, op);
}

void check_readable(const std::string& path, const char* op) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(op, "cannot open", path, errno);
  if (S_ISDIR(st.st_mode)) fail(op, "cannot read", path, EISDIR);
  if (::access(path.c_str(), R_OK) != 0) fail(op, "cannot open", path, errno);
}

std::vector<char> read_file(const std::string& path, const char* op) {
  check_readable(path, op);
  struct stat st {};
  ::stat(path.c_str(), &st);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(op, "cannot open", path, errno ? errno : EIO);
  std::vector<char> bytes(static_cast<size_t>(st.st_size));
  if (!bytes.empty() && !in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    fail(op, "cannot read", path, errno ? errno : EIO);
  }
  return bytes;
}

}  // namespace loom::io
