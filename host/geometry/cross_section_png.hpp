#pragma once
// Axial cross-sections of a labelled grid as PNG images, coloured by tissue class, so that the
// anatomy can be checked without ParaView. Dorsal is up, the subject's right is on the right.
#include <filesystem>

#include "host/geometry/labels.hpp"

namespace cordsim {

// Writes slice k; each voxel becomes a square of `pixels_per_voxel` pixels. Throws
// std::runtime_error naming the file when it cannot be written.
void write_cross_section_png(const std::filesystem::path& file, const LabelledGrid& labelled, int k,
                             int pixels_per_voxel);

}  // namespace cordsim
