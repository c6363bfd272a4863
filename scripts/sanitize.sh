#!/usr/bin/env bash
# The reliability lane: the whole test suite built with clang under AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer, then each libFuzzer fuzzer for a bounded time on
# the committed corpus. Installs what is missing (clang, its sanitizer runtimes), builds in
# build-sanitize/. Then the soak test: random models and op sequences through the C ABI from 4
# threads. Usage: scripts/sanitize.sh [seconds-per-fuzzer (default 60)] [soak seconds (default 60)]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds=${1:-60}
soak_seconds=${2:-60}
scripts/install_deps.sh clang-14 libclang-rt-14-dev libomp-14-dev
export CC=clang-14 CXX=clang++-14
cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOM_SANITIZE=address,undefined \
  -DLOOM_FUZZ=ON -DLOOM_CUDA=OFF -DLOOM_BUILD_BENCH=OFF > build-sanitize.log 2>&1 || { cat build-sanitize.log; exit 1; }
cmake --build build-sanitize --parallel "$(nproc)" >> build-sanitize.log 2>&1 || { tail -50 build-sanitize.log; exit 1; }
echo "sanitizer build: ok (log in build-sanitize.log)"

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:detect_stack_use_after_return=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizer/lsan.supp:print_suppressions=0"
# Not here: valgrind (cannot run under ASan), programs built outside this build (Python, with or
# without mpirun; the README and guide programs; the installed-package consumer), and the ABI
# check of the Release library.
ctest --test-dir build-sanitize --output-on-failure --parallel "$(nproc)" --timeout 1200 \
  -E '^(valgrind_|python_|doc_snippets_|install_consumer|capi_abi_baseline|dist_|capi_dist_[0-9])'
# The jobs mpirun starts: address and undefined-behaviour checks, but no leak check: Open MPI's
# own allocations at init and finalize (libmpi and its unloaded components) show as leaks.
ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" ctest --test-dir build-sanitize --output-on-failure --timeout 1200 \
  -R '^(dist_|capi_dist_[0-9])'

# libFuzzer puts libstdc++ before the shared ASan runtime in the fuzzers' library list; preloading
# the runtime puts it first again.
asan_runtime=$("$CXX" -print-file-name=libclang_rt.asan-x86_64.so)
for source in tests/fuzz/fuzz_*.cpp; do
  fuzzer=$(basename "$source" .cpp)
  work=$(mktemp -d)  # new inputs land here; the committed corpus is read only
  echo "fuzzing $fuzzer for ${fuzz_seconds}s"
  log="build-sanitize/$fuzzer.log"
  rc=0
  LD_PRELOAD="$asan_runtime" build-sanitize/tests/fuzz/$fuzzer -max_total_time="$fuzz_seconds" -timeout=20 -rss_limit_mb=3072 \
    -print_final_stats=1 -artifact_prefix="build-sanitize/$fuzzer-" "$work" "tests/fuzz/corpus/$fuzzer" \
    > "$log" 2>&1 || rc=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY)" "$log" || true
  [ "$rc" -eq 0 ] || tail -60 "$log"
  rm -rf "$work"
  [ "$rc" -eq 0 ] || { echo "$fuzzer found a failure (artifact in build-sanitize/)"; exit 1; }
done
echo "soak test for ${soak_seconds}s"
build-sanitize/tests/loom_soak "$soak_seconds" 4
echo "sanitizers, fuzzers and soak: ok"
