#include "host/geometry/tissue_mask.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "host/io/run_output.hpp"

namespace cordsim {

std::vector<std::uint8_t> build_tissue_mask(const GridSpec& grid, const TissueSpec& tissue) {
  const auto [nx, ny, nz] = grid.shape;
  const std::size_t n = std::size_t(nx) * std::size_t(ny) * std::size_t(nz);
  std::vector<std::uint8_t> mask(n, 0);
  using Shape = TissueSpec::Shape;
  if (tissue.shape == Shape::hdf5) {
    const std::vector<float> values =
        read_grid_dataset(tissue.file, tissue.dataset, grid.shape);
    std::transform(values.begin(), values.end(), mask.begin(),
                   [](float x) { return std::uint8_t(x != 0.f); });
  } else {
    std::size_t v = 0;
    for (int k = 0; k < nz; ++k) {
      for (int j = 0; j < ny; ++j) {
        for (int i = 0; i < nx; ++i, ++v) {
          const double p[3] = {voxel_centre(grid, 0, i), voxel_centre(grid, 1, j),
                               voxel_centre(grid, 2, k)};
          // (x−x0)²/a² + (y−y0)²/b² [+ (z−z0)²/c²] ≤ 1
          const int axes = tissue.shape == Shape::ellipsoid ? 3 : 2;
          double r2 = 0.0;
          for (int a = 0; a < axes; ++a) {
            const double u = (p[a] - tissue.center_um[std::size_t(a)]) / tissue.semi_axes_um[std::size_t(a)];
            r2 += u * u;
          }
          mask[v] = tissue.shape == Shape::all || r2 <= 1.0;
        }
      }
    }
  }
  if (std::none_of(mask.begin(), mask.end(), [](std::uint8_t m) { return m != 0; })) {
    throw InputError(fmt::format(
        "tissue: the tissue mask is empty on the {}x{}x{} grid (no voxel centre lies inside the "
        "tissue shape); check tissue.center and tissue.semi_axes against grid.origin and "
        "grid.spacing", nx, ny, nz));
  }
  return mask;
}

}  // namespace cordsim
