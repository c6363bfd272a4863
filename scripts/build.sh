#!/usr/bin/env bash
# Configures and builds loom (Release) in build/. Extra arguments go to CMake.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
if ! cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" > build.log 2>&1; then
  # A missing dependency is one line naming the Debian packages; anything else shows the log.
  if grep -q '^  loom: missing' build.log; then
    grep -A2 '^  loom: missing' build.log | sed 's/^  //' >&2
  else
    cat build.log >&2
  fi
  exit 1
fi
cmake --build build --parallel "$jobs" >> build.log 2>&1 || { tail -50 build.log; exit 1; }
echo "build: ok (log in build.log)"
