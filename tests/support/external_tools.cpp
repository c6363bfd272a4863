#include "support/external_tools.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>

namespace loom::testing {
namespace {

std::string quoted(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

CommandResult run_command(const std::string& program, const std::vector<std::string>& arguments) {
  std::string line = quoted(program);
  for (const std::string& a : arguments) line.append(" ").append(quoted(a));
  line += " 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(line.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult run_python_script(const std::string& script, const std::vector<std::string>& arguments) {
  std::vector<std::string> args{std::string(LOOM_INTEROP_SCRIPTS) + "/" + script};
  args.insert(args.end(), arguments.begin(), arguments.end());
  return run_command(LOOM_PYTHON, args);
}

std::string missing_python_module(const std::string& module) {
  if (std::string(LOOM_PYTHON).empty()) return "no python3 was found when loom was configured";
  const CommandResult r = run_command(LOOM_PYTHON, {"-c", "import " + module});
  if (r.status == 0) return "";
  return std::string(LOOM_PYTHON) + " cannot import " + module + " (Debian: python3-" + module + "): " + r.output;
}

std::string missing_onnxruntime() {
  if (std::string(LOOM_NODE).empty()) return "no Node.js was found when loom was configured (Debian: nodejs)";
  const std::string package = std::string(LOOM_ONNXRUNTIME_MODULES) + "/onnxruntime-node";
  if (!std::filesystem::exists(package + "/package.json")) {
    return "onnxruntime-node is not installed in " + package + " (scripts/install_onnxruntime.sh, run by the onnxruntime_install test)";
  }
  return "";
}

}  // namespace loom::testing
