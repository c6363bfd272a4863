#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU (H100/H200 class), builds loom in Release with
# the CUDA backend for sm_90, runs the whole test suite there (the GPU tests included), runs the
# GPU benchmarks and the same workloads in PyTorch on the same GPU, and prints one table, and runs
# the NCCL collectives test with one rank per GPU (it needs Open MPI: the system's or carried).
# Finishes in well under 8 minutes on 16 cores.
#   bench/gpu_check.sh [OUT_DIR]     (logs and JSON go to OUT_DIR, default $OUT or /tmp/loom-gpu)
# A machine without the Debian packages loom builds with can use packages carried in .gpu-deps/
# (fetched by scripts/gpu_deps.sh): they are unpacked under /opt/loomdeps.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-/tmp/loom-gpu}}"
mkdir -p "$out"
start=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - start ))s)"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi failed"
nvcc --version | tail -1
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>/dev/null || echo "no PyTorch"

cmake_args=(-DCMAKE_BUILD_TYPE=Release -DLOOM_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DLOOM_WARNINGS_AS_ERRORS=OFF)
if [ ! -f /usr/include/oneapi/dnnl/dnnl.hpp ] && [ -d .gpu-deps ]; then
  root=/opt/loomdeps
  mkdir -p "$root"
  for deb in .gpu-deps/*.deb; do
    dpkg-deb -x "$deb" "$root" 2>/dev/null || { tmp=$(mktemp -d); (cd "$tmp" && ar x "$OLDPWD/$deb" && tar -xf data.tar.* -C "$root"); rm -rf "$tmp"; }
  done
  # zlib: the carried headers with the machine's own shared library (the package's libz.so
  # link is absolute and dangles here, and its static libz.a cannot go into a shared object).
  rm -f "$root/usr/lib/x86_64-linux-gnu/libz.a" "$root/usr/lib/x86_64-linux-gnu/libz.so"
  sys_libz=$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/ {print $NF; exit}')
  [ -n "$sys_libz" ] && cmake_args+=(-DZLIB_LIBRARY="$sys_libz" -DZLIB_INCLUDE_DIR="$root/usr/include")
  export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu/openblas-openmp:${LD_LIBRARY_PATH:-}"
  cmake_args+=(-DLOOM_DEPS_ROOT="$root" -DCMAKE_PREFIX_PATH="$root/usr")
  # Open MPI from the carried packages (for the NCCL test's bootstrap): its install prefix moved
  # to $root/usr (OPAL_PREFIX), and CMake is told where its library and headers are, since the
  # mpicc and mpirun alternatives links are not in the packages.
  ompi_lib="$root/usr/lib/x86_64-linux-gnu/libmpi.so"
  if ! command -v mpirun > /dev/null && [ -e "$ompi_lib" ]; then
    export OPAL_PREFIX="$root/usr" PATH="$root/usr/bin:$PATH"
    ln -sf orterun "$root/usr/bin/mpirun"
    cmake_args+=(-DMPI_C_LIB_NAMES=mpi -DMPI_mpi_LIBRARY="$ompi_lib" -DMPIEXEC_EXECUTABLE="$root/usr/bin/mpirun"
                 -DMPI_C_HEADER_DIR="$root/usr/lib/x86_64-linux-gnu/openmpi/include")
  fi
  echo "dependencies: carried Debian packages unpacked in $root"
fi

step "configure"
if ! cmake -S . -B build-gpu -G Ninja "${cmake_args[@]}" > "$out/configure.log" 2>&1; then
  tail -40 "$out/configure.log"
  exit 1
fi
grep "loom:" "$out/configure.log"
step "build"
if ! cmake --build build-gpu -j "$(nproc)" > "$out/build.log" 2>&1; then
  grep -E "error|Error" "$out/build.log" | head -40
  exit 1
fi

step "tests"
ctest --test-dir build-gpu -j 8 --timeout 300 --output-on-failure > "$out/tests.log" 2>&1
tests_rc=$?
grep -E "tests passed|tests failed|\(Failed\)|\(SEGFAULT\)|\(Timeout\)|\(Subprocess" "$out/tests.log" | head -40
build-gpu/tests/loom_tests --gtest_filter='Cuda*:Devices*' > "$out/cuda_tests.log" 2>&1
grep -E "^\[  (FAILED|PASSED|SKIPPED) |Failure|GPU:0 =" "$out/cuda_tests.log" | head -40
grep -B2 -A12 "Failure" "$out/cuda_tests.log" | head -80

step "nccl"
# GPU tensors over NCCL with one rank per GPU (the ctest run above used one rank).
gpus=$(nvidia-smi -L 2>/dev/null | grep -c "^GPU")
if [ -x build-gpu/tests/loom_dist_nccl ] && command -v mpirun > /dev/null; then
  mpirun --allow-run-as-root --oversubscribe -np "${gpus:-1}" build-gpu/tests/loom_dist_nccl > "$out/nccl.log" 2>&1
  echo "NCCL test on ${gpus:-1} rank(s): exit $?"
  grep -E "^\[  (FAILED|PASSED) |skipped|Failure" "$out/nccl.log" | head -20
else
  echo "NCCL test not run: $( [ -x build-gpu/tests/loom_dist_nccl ] || echo "no NCCL plugin built"; command -v mpirun > /dev/null || echo "no mpirun")"
fi

step "benchmarks"
build-gpu/bench/gpu_bench --json "$out/gpu_bench.json" | tee "$out/gpu_bench.txt"
timeout 180 python3 bench/compare_pytorch_gpu.py "$out/gpu_bench.json" 2>&1 | tee "$out/compare.txt"
step "done"
exit $tests_rc
