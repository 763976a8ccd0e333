#!/usr/bin/env bash
# The whole test suite: installs, builds (CPU and, when nvcc is present, CUDA back ends), runs
# every CTest. Extra arguments go to ctest (e.g. -L numerics).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/tools/setup.sh"
cd "${CORDSIM_BUILD_DIR:-$repo/build}"
# Serially: the OpenMP tests use every core, and two of them at once oversubscribe it badly.
ctest --output-on-failure "$@"
