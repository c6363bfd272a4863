#!/usr/bin/env bash
# A fuzzing campaign that regrows and minimises the committed corpus: each fuzzer (built by
# scripts/sanitize.sh in build-sanitize/) runs for the given time on the committed corpus, then
# everything is merged (libFuzzer -merge=1) into an empty folder that replaces
# tests/fuzz/corpus/<fuzzer>/: the smallest set of inputs with the coverage of all of them.
# make_corpus.py then puts the named seeds back. Prints what ran and what it found.
# Usage: scripts/fuzz_campaign.sh SECONDS [fuzzer ...]  (default: every tests/fuzz/fuzz_*.cpp)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: scripts/fuzz_campaign.sh SECONDS [fuzzer ...]}
shift
fuzzers=("$@")
if [ ${#fuzzers[@]} -eq 0 ]; then
  for source in tests/fuzz/fuzz_*.cpp; do fuzzers+=("$(basename "$source" .cpp)"); done
fi
asan_runtime=$(clang++-14 -print-file-name=libclang_rt.asan-x86_64.so)
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
for fuzzer in "${fuzzers[@]}"; do
  binary=build-sanitize/tests/fuzz/$fuzzer
  [ -x "$binary" ] || { echo "$binary is missing: run scripts/sanitize.sh first"; exit 1; }
  corpus=tests/fuzz/corpus/$fuzzer
  grown=$(mktemp -d) minimal=$(mktemp -d)
  before=$(ls "$corpus" | wc -l)
  rc=0
  LD_PRELOAD="$asan_runtime" "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="build-sanitize/$fuzzer-" "$grown" "$corpus" > "build-sanitize/$fuzzer.campaign.log" 2>&1 || rc=$?
  executed=$(grep -h "stat::number_of_executed_units" "build-sanitize/$fuzzer.campaign.log" | awk '{print $2}')
  if [ "$rc" -ne 0 ]; then
    tail -40 "build-sanitize/$fuzzer.campaign.log"
    echo "$fuzzer: FAILED after ${executed:-?} inputs (artifact in build-sanitize/)"
    exit 1
  fi
  LD_PRELOAD="$asan_runtime" "$binary" -merge=1 "$minimal" "$corpus" "$grown" > "build-sanitize/$fuzzer.merge.log" 2>&1
  rm -rf "$corpus" "$grown"
  mv "$minimal" "$corpus"
  chmod 755 "$corpus"
  echo "$fuzzer: ${seconds} s, $executed inputs executed, no failure; corpus $before -> $(ls "$corpus" | wc -l) files"
done
/usr/bin/python3 tests/fuzz/make_corpus.py > /dev/null
