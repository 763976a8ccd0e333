#!/usr/bin/env bash
# Fuzzes the scenario parser with libFuzzer (clang) under AddressSanitizer and UBSan for a bounded
# time, starting from a seed corpus of every scenario in the repository.
#   tools/fuzz.sh [SECONDS]     (default 60; CI runs it)
# Prints libFuzzer's summary ("Done N runs in S second(s)"); exits non-zero on a crash, with the
# crashing input saved as build-fuzz/crash-*.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
out="$repo/build-fuzz"
mkdir -p "$out/corpus"
cp "$repo"/scenarios/*.toml "$repo"/tests/data/bad/*.toml "$repo"/tests/data/io/*.toml "$out/corpus/" 2>/dev/null || true
clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -DTOML_HEADER_ONLY=0 -DTOML_SHARED_LIB=1 -I"$repo" \
  "$repo"/tests/fuzz/fuzz_scenario.cpp "$repo"/host/config/*.cpp \
  -ltomlplusplus -lfmt -o "$out/fuzz_scenario"
cd "$out"
status=0
./fuzz_scenario -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 corpus > fuzz.log 2>&1 || status=$?
grep -E "^Done|stat::number_of_executed_units|ERROR|SUMMARY|crash-|==[0-9]+==" fuzz.log || true
if ((status != 0)); then
  echo "fuzz: the parser crashed (exit $status); see $out/fuzz.log and the crash-* input" >&2
  tail -40 fuzz.log >&2
fi
exit "$status"
