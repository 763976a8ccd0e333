#pragma once
// The voxel grid as the kernels see it: dimensions, spacing, linear index (x fastest).
#include <cstdint>

#include "kernels/cell/hd.hpp"
#include "kernels/cell/real.hpp"

namespace cordsim {

using VoxelIndex = std::int64_t;

struct GridDims {
  int nx = 0, ny = 0, nz = 0;

  CORDSIM_HD VoxelIndex size() const { return VoxelIndex(nx) * ny * nz; }
  CORDSIM_HD VoxelIndex rows() const { return VoxelIndex(ny) * nz; }
  // Memory order x fastest: v = i + nx·(j + ny·k). HDF5 datasets are therefore {nz, ny, nx}.
  CORDSIM_HD VoxelIndex index(int i, int j, int k) const {
    return VoxelIndex(i) + VoxelIndex(nx) * (VoxelIndex(j) + VoxelIndex(ny) * k);
  }
  CORDSIM_HD VoxelIndex stride(int axis) const {
    return axis == 0 ? 1 : axis == 1 ? VoxelIndex(nx) : VoxelIndex(nx) * ny;
  }
  CORDSIM_HD int extent(int axis) const { return axis == 0 ? nx : axis == 1 ? ny : nz; }
};

// Voxel edge lengths (µm) along x, y, z.
struct Spacing {
  real h[3] = {1, 1, 1};
  CORDSIM_HD real volume() const { return h[0] * h[1] * h[2]; }
};

}  // namespace cordsim
