#pragma once
// How the CUDA launcher maps threads to voxels. Written as host+device code so that the CPU tests
// can emulate the whole launch grid and prove every voxel is visited exactly once.
#include "kernels/cell/grid.hpp"

namespace cordsim {

struct Index3 {
  unsigned x = 0, y = 0, z = 0;
};

struct LaunchShape {
  Index3 block;  // threads per block
  Index3 grid;   // blocks per grid
};

// 32 threads along x (one warp reads one contiguous row segment: coalesced), 4 along y, 2 along z.
CORDSIM_HD LaunchShape launch_shape_for(const GridDims& d) {
  LaunchShape s;
  s.block = Index3{32u, 4u, 2u};
  s.grid = Index3{(unsigned(d.nx) + s.block.x - 1) / s.block.x,
                  (unsigned(d.ny) + s.block.y - 1) / s.block.y,
                  (unsigned(d.nz) + s.block.z - 1) / s.block.z};
  return s;
}

// The voxel (i, j, k) of a thread; false for the threads of partial edge blocks that fall outside.
CORDSIM_HD bool voxel_of_thread(const LaunchShape& s, const Index3& block_idx,
                                const Index3& thread_idx, const GridDims& d, int& i, int& j,
                                int& k) {
  i = int(block_idx.x * s.block.x + thread_idx.x);
  j = int(block_idx.y * s.block.y + thread_idx.y);
  k = int(block_idx.z * s.block.z + thread_idx.z);
  return i < d.nx && j < d.ny && k < d.nz;
}

}  // namespace cordsim
