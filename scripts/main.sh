#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what is missing, builds, runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
build/examples/tensor_demo "$@"
