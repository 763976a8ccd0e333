#pragma once
// Shared helpers of the geometry tests: paths, temporary files, measuring labelled slices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "host/geometry/geometry.hpp"
#include "tests/support/test_support.hpp"

namespace cordsim::test {

namespace fs = std::filesystem;

inline const fs::path kMeshes = fs::path(CORDSIM_SOURCE_DIR) / "meshes";
inline const fs::path kPam50 = fs::path(CORDSIM_SOURCE_DIR "/../shared/data/pam50");

inline GeometryRequest request(const fs::path& mesh, double voxel_um, std::vector<std::string> segments = {}) {
  return {mesh.string(), {voxel_um, voxel_um, voxel_um}, std::move(segments)};
}

// The extent of the cord (any non-outside label) in slice k, along x and y (µm), measured as
// (last − first + 1) voxels · h, and its gray fraction (gray / cord voxels).
struct SliceMeasure {
  double transverse_um = 0, dorsoventral_um = 0, gray_fraction = 0;
  std::size_t cord_voxels = 0;
};

inline SliceMeasure measure_slice(const LabelledGrid& g, int k) {
  const int nx = g.grid.shape[0], ny = g.grid.shape[1];
  int i0 = nx, i1 = -1, j0 = ny, j1 = -1;
  std::size_t cord = 0, gray = 0;
  for (int j = 0; j < ny; ++j) {
    for (int i = 0; i < nx; ++i) {
      const std::uint8_t t = g.tissue[std::size_t(i) + std::size_t(nx) * (std::size_t(j) + std::size_t(ny) * std::size_t(k))];
      if (!is_cord(t)) continue;
      ++cord;
      gray += is_gray(t);
      i0 = std::min(i0, i), i1 = std::max(i1, i), j0 = std::min(j0, j), j1 = std::max(j1, j);
    }
  }
  SliceMeasure m;
  m.cord_voxels = cord;
  if (cord == 0) return m;
  m.transverse_um = (i1 - i0 + 1) * g.grid.spacing_um[0];
  m.dorsoventral_um = (j1 - j0 + 1) * g.grid.spacing_um[1];
  m.gray_fraction = double(gray) / double(cord);
  return m;
}

inline int slice_at(const GridSpec& grid, double z_um) {
  return int(std::floor((z_um - grid.origin_um[2]) / grid.spacing_um[2]));
}

}  // namespace cordsim::test
