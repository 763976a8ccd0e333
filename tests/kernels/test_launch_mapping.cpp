// The CUDA launcher's thread → voxel mapping, emulated on the CPU over the whole launch grid:
// every voxel is visited exactly once and no thread maps outside the grid, for odd sizes.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/cell/launch_mapping.hpp"

using namespace cordsim;

namespace {

std::vector<int> visits(const GridDims& d) {
  std::vector<int> count(std::size_t(d.size()), 0);
  const LaunchShape s = launch_shape_for(d);
  for (unsigned bz = 0; bz < s.grid.z; ++bz)
    for (unsigned by = 0; by < s.grid.y; ++by)
      for (unsigned bx = 0; bx < s.grid.x; ++bx)
        for (unsigned tz = 0; tz < s.block.z; ++tz)
          for (unsigned ty = 0; ty < s.block.y; ++ty)
            for (unsigned tx = 0; tx < s.block.x; ++tx) {
              int i, j, k;
              if (!voxel_of_thread(s, {bx, by, bz}, {tx, ty, tz}, d, i, j, k)) continue;
              EXPECT_TRUE(i >= 0 && i < d.nx && j >= 0 && j < d.ny && k >= 0 && k < d.nz);
              ++count[std::size_t(d.index(i, j, k))];
            }
  return count;
}

}  // namespace

TEST(LaunchMapping, EveryVoxelExactlyOnceForOddSizes) {
  const GridDims sizes[] = {{1, 1, 1}, {3, 5, 7}, {31, 7, 3}, {33, 5, 9}, {97, 65, 17}, {127, 3, 255}, {65, 129, 33}};
  for (const GridDims& d : sizes) {
    const std::vector<int> count = visits(d);
    std::size_t wrong = 0;
    for (int c : count) wrong += (c != 1);
    EXPECT_EQ(wrong, 0u) << "grid " << d.nx << "x" << d.ny << "x" << d.nz;
  }
}

TEST(LaunchMapping, GridCoversExtentWithLessThanOneBlockToSpare) {
  const GridDims d{97, 65, 17};
  const LaunchShape s = launch_shape_for(d);
  EXPECT_GE(s.grid.x * s.block.x, 97u);
  EXPECT_LT((s.grid.x - 1) * s.block.x, 97u);
  EXPECT_GE(s.grid.y * s.block.y, 65u);
  EXPECT_LT((s.grid.y - 1) * s.block.y, 65u);
  EXPECT_GE(s.grid.z * s.block.z, 17u);
  EXPECT_LT((s.grid.z - 1) * s.block.z, 17u);
}
