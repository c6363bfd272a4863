#!/usr/bin/env bash
# Installs the Debian 12 packages loom needs, only those missing (idempotent).
# Usage: scripts/install_deps.sh [extra-package ...]
#
# A package that provides a command already on PATH counts as present, whichever package or
# installer provided it: a Node.js from another distribution bundles its own npm, and asking apt
# for Debian's npm next to it fails with "nodejs : Conflicts: npm".
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libopenblas-dev libopenblas-openmp-dev libdnnl-dev
  # oneDNN's CMake config calls find_package(OpenCL); libdnnl-dev only recommends this package.
  ocl-icd-opencl-dev
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev zlib1g-dev
  libonnx-dev libprotobuf-dev libhdf5-dev
  python3 python3-numpy valgrind doxygen
  # MPI communicator plugin (libloom_mpi.so) and its tests (mpirun)
  libopenmpi-dev openmpi-bin
  # The interop tests: ONNX's checker, h5py, and Node.js for ONNX Runtime (PyTorch, which wrote
  # the committed golden ONNX files, is needed only to regenerate them).
  python3-onnx python3-h5py nodejs npm
  "$@"
)

# The command each such package provides.
command_of() {
  case "$1" in
    nodejs) echo node ;;
    npm | python3 | cmake | git) echo "$1" ;;
    *) echo "" ;;
  esac
}

installed() {
  local cmd
  cmd=$(command_of "$1")
  if [ -n "$cmd" ] && command -v "$cmd" > /dev/null 2>&1; then return 0; fi
  dpkg-query -W -f='${Status}' "$1" 2> /dev/null | grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
