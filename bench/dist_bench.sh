#!/usr/bin/env bash
# The distributed benchmarks of bench/RESULTS.md, on this machine over shared memory:
#   1. a Fashion-MNIST LeNet epoch: 1 process x 2 threads, then 2 processes x 1 thread
#   2. all-reduce time and bus bandwidth, 4 KiB .. 64 MiB, 2 ranks
#   3. the share of all-reduce time hidden behind the backward pass by bucketing, 2 ranks
# Usage: bench/dist_bench.sh [BUILD_DIR] [DATA_DIR]   (defaults: build, data/fashion-mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
data="${2:-data/fashion-mnist}"
bench="$build/bench/dist_bench"
[ -x "$bench" ] || { echo "no $bench: it is built with the MPI communicator plugin (scripts/install_deps.sh)" >&2; exit 1; }
mpirun=(mpirun --allow-run-as-root --oversubscribe)
export LOOM_DISABLE_CUDA=1

echo "== LeNet epoch"
OMP_NUM_THREADS=2 "${mpirun[@]}" -np 1 -x OMP_NUM_THREADS "$bench" lenet --threads 2 --repeats 3 --data "$data"
OMP_NUM_THREADS=1 "${mpirun[@]}" -np 2 -x OMP_NUM_THREADS "$bench" lenet --threads 1 --repeats 3 --data "$data"
echo "== all-reduce, 2 ranks"
OMP_NUM_THREADS=1 "${mpirun[@]}" -np 2 -x OMP_NUM_THREADS "$bench" allreduce --repeats 5
echo "== bucket overlap, 2 ranks"
OMP_NUM_THREADS=1 "${mpirun[@]}" -np 2 -x OMP_NUM_THREADS "$bench" overlap --repeats 5
