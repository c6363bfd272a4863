#pragma once
// The reference tools the interop tests check loom's files with: Python's onnx and h5py
// (tests/interop/*.py) and ONNX Runtime under Node.js (tests/interop/run_onnxruntime.js). Their
// paths come from the build (LOOM_PYTHON, LOOM_NODE, LOOM_INTEROP_SCRIPTS, LOOM_ONNXRUNTIME_MODULES).
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace loom::testing {

struct CommandResult {
  int status = -1;     // the exit status (-1: it did not run or was killed)
  std::string output;  // stdout and stderr together
};

// Runs `program` with `arguments` (each passed as one word) and captures its output.
CommandResult run_command(const std::string& program, const std::vector<std::string>& arguments);

// A script of tests/interop/ run by Debian's python3.
CommandResult run_python_script(const std::string& script, const std::vector<std::string>& arguments);

// Why a reference tool cannot run here, or "" when it can: the build's python3 with `module`
// importable; Node.js with onnxruntime-node (installed by the onnxruntime_install test).
std::string missing_python_module(const std::string& module);
std::string missing_onnxruntime();

// Skips the test, saying why, unless `missing` (one of the above) is empty. The build requires
// these tools (cmake/LoomDependencies.cmake), so skips happen only outside a configured setup.
#define LOOM_SKIP_IF_MISSING(missing)                                        \
  do {                                                                       \
    if (const std::string loom_missing_tool = (missing); !loom_missing_tool.empty()) \
      GTEST_SKIP() << loom_missing_tool;                                     \
  } while (0)

}  // namespace loom::testing
