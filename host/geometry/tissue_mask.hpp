#pragma once
// The tissue mask of a [grid] + [tissue] scenario: which voxels are simulated, from simple
// analytic shapes or a mask read from HDF5. Scenarios with a [geometry] take their mask from the
// cord's labels instead (geometry.hpp).
#include <cstdint>
#include <filesystem>
#include <vector>

#include "host/config/scenario.hpp"

namespace cordsim {

// Position of the centre of voxel index n along axis a (µm).
inline double voxel_centre(const GridSpec& g, int axis, int n) {
  return g.origin_um[std::size_t(axis)] + (n + 0.5) * g.spacing_um[std::size_t(axis)];
}

// One byte per voxel, 1 = tissue, in memory order i + nx·(j + ny·k). Throws InputError for an
// empty mask or an unreadable HDF5 mask (whose path the parser has already resolved).
std::vector<std::uint8_t> build_tissue_mask(const GridSpec& grid, const TissueSpec& tissue);

}  // namespace cordsim
