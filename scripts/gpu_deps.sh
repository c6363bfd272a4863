#!/usr/bin/env bash
# Downloads the Debian packages loom builds with into .gpu-deps/ (ignored by git), for a GPU
# machine that cannot reach a package registry: pass it along and run bench/gpu_check.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu-deps
cd .gpu-deps
apt-get download libdnnl2 libdnnl-dev libopenblas0-openmp libopenblas-openmp-dev libgfortran5 libquadmath0 \
  libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian nlohmann-json3-dev zlib1g-dev \
  ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers opencl-clhpp-headers \
  libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libhwloc15 libevent-2.1-7 libevent-core-2.1-7 \
  libevent-pthreads-2.1-7 libpmix2 2>/dev/null
du -sh .
