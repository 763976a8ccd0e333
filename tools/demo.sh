#!/usr/bin/env bash
# The main job on the built-in demo scenario: installs, builds, runs, and says where the ParaView
# files are. Extra arguments go to `cordsim run` (e.g. --backend cpu, --set run.duration="30 s").
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$repo/tools/setup.sh"
out="${CORDSIM_DEMO_OUT:-$repo/demo_out}"
exec "${CORDSIM_BUILD_DIR:-$repo/build}/host/cordsim" run --out "$out" --overwrite "$@"
