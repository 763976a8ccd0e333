#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (CPU back end; CI runs it).
# Builds in build-asan/ with -DCORDSIM_SANITIZE=ON and runs every CTest; any sanitizer report
# fails the test that produced it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$repo/build-asan"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORDSIM_WITH_CUDA=OFF -DCORDSIM_SANITIZE=ON \
  -DCORDSIM_WERROR=ON | grep -E "cordsim|Error|error" || true
cmake --build "$build" -j "${CORDSIM_JOBS:-$(nproc)}"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$repo/tools/sanitizer_suppressions.txt"
export LSAN_OPTIONS="suppressions=$repo/tools/sanitizer_suppressions_leak.txt"
cd "$build"
ctest --output-on-failure "$@"
