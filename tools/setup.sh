#!/usr/bin/env bash
# Installs what cordsim needs to build on Debian 12 (only missing packages; needs root or sudo),
# then configures and builds it in ./build. Used by tools/demo.sh, tools/test.sh and CI.
#   CORDSIM_BUILD_DIR   build directory (default: <repo>/build)
#   CORDSIM_JOBS        parallel build jobs (default: number of cores)
#   CORDSIM_CMAKE_ARGS  extra CMake arguments (e.g. -DCORDSIM_WITH_CUDA=OFF)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CORDSIM_BUILD_DIR:-$repo/build}"
jobs="${CORDSIM_JOBS:-$(nproc)}"

packages=(g++ cmake make pkg-config libhdf5-dev hdf5-tools libcli11-dev libtomlplusplus-dev
          libspdlog-dev libfmt-dev libthrust-dev libgtest-dev libbenchmark-dev libnifti2-dev libpng-dev
          paraview-dev paraview python3-paraview python3-h5py python3-matplotlib python3-scipy xvfb xauth
          clang libclang-rt-14-dev libopenmpi-dev openmpi-bin libhdf5-openmpi-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "cordsim setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# nvcc is usually not on PATH in batch shells; CMake also looks in /usr/local/cuda itself.
[[ -x /usr/local/cuda/bin/nvcc && ":$PATH:" != *":/usr/local/cuda/bin:"* ]] && export PATH="$PATH:/usr/local/cuda/bin"

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release ${CORDSIM_CMAKE_ARGS:-} | grep -E "cordsim|Error|error" || true
cmake --build "$build" -j "$jobs"
