// `cordsim mesh`: builds the labelled grid of a mesh file or atlas, prints its size, voxel counts per
// tissue class and the memory a run needs, and (unless --dry-run) writes it as HDF5 + XDMF with PNG
// cross-sections at every segment centre.
#include "host/cli/mesh_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cordsim/build_info.hpp"
#include "host/cli/commands.hpp"
#include "host/config/units.hpp"
#include "host/geometry/cross_section_png.hpp"
#include "host/geometry/geometry.hpp"
#include "host/io/run_output.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

constexpr double kUm3PerMm3 = 1e9;
constexpr double kMiB = double(1 << 20);

// Bytes per voxel that `cordsim mesh` holds while writing: tissue + segment labels, the mask
// copy handed to the writer and four float fields.
constexpr double kMeshBytesPerVoxel = 2.0 + 1.0 + 4.0 * 4.0;

double parse_voxel(const std::string& text) {
  Quantity q;
  try {
    q = parse_quantity(text);
  } catch (const std::invalid_argument& e) {
    throw InputError(fmt::format("--voxel {}: {} (expected a length, e.g. \"20 um\")", text, e.what()));
  }
  if (q.dimension != dim::length) throw InputError(fmt::format("--voxel {}: not a length, e.g. \"20 um\"", text));
  if (!(q.value > 0)) throw InputError(fmt::format("--voxel {}: must be > 0 um", text));
  return q.value;
}

void print_summary(const GeometrySource& source, const TissueCounts& counts) {
  const GridSpec& g = source.grid();
  const std::uint64_t voxels = std::uint64_t(g.shape[0]) * std::uint64_t(g.shape[1]) * std::uint64_t(g.shape[2]);
  const double voxel_mm3 = g.spacing_um[0] * g.spacing_um[1] * g.spacing_um[2] / kUm3PerMm3;
  std::printf("geometry: %s\n", source.description().c_str());
  std::printf("grid: %d x %d x %d voxels of %g x %g x %g um = %llu voxels; origin (%g, %g, %g) um\n", g.shape[0],
              g.shape[1], g.shape[2], g.spacing_um[0], g.spacing_um[1], g.spacing_um[2], (unsigned long long)voxels,
              g.origin_um[0], g.origin_um[1], g.origin_um[2]);
  std::printf("%-28s %14s %12s\n", "tissue class", "voxels", "volume mm^3");
  for (int c = 0; c < kTissueClasses; ++c) {
    const std::uint64_t n = counts.per_class[std::size_t(c)];
    std::printf("%-28s %14llu %12.4f\n", tissue_name(Tissue(c)), (unsigned long long)n, double(n) * voxel_mm3);
  }
  std::printf("%-28s %14llu %12.4f\n", "simulated (parenchyma)", (unsigned long long)counts.parenchyma(),
              double(counts.parenchyma()) * voxel_mm3);
  std::printf("%-10s %12s %12s %14s %14s\n", "segment", "z from um", "z to um", "cord voxels", "gray fraction");
  const std::vector<CordSegment>& segments = source.segments();
  for (std::size_t s = 0; s < segments.size(); ++s) {
    const std::uint64_t cord = counts.cord_per_segment[s];
    if (cord == 0) continue;
    std::printf("%-10s %12.1f %12.1f %14llu %14.3f\n", segments[s].name.c_str(), segments[s].z_begin_um,
                segments[s].z_end_um, (unsigned long long)cord, double(counts.gray_per_segment[s]) / double(cord));
  }
  std::printf("memory: labels 2 bytes/voxel = %.1f MiB; cordsim mesh %.0f bytes/voxel = %.1f MiB\n",
              2.0 * double(voxels) / kMiB, kMeshBytesPerVoxel, kMeshBytesPerVoxel * double(voxels) / kMiB);
  std::printf("memory of a run (back end, explicit path: %.0f bytes/voxel/species + 1):",
              backend_bytes_per_voxel(1) - 1.0);
  for (std::size_t species : {1, 3, 6}) {
    std::printf(" %zu species %.1f MiB%s", species, backend_bytes_per_voxel(species) * double(voxels) / kMiB,
                species == 6 ? "\n" : ";");
  }
}

int mesh(const MeshOptions& options) {
  const double h = parse_voxel(options.voxel);
  GeometryRequest request{options.input, {h, h, h}, options.segments};
  if (request.segments.size() == 1) request.segments.push_back(request.segments.front());
  if (request.segments.size() > 2) throw InputError("--segments: give one segment or a first and a last");
  const std::unique_ptr<GeometrySource> source = open_geometry(request);
  const GridSpec& grid = source->grid();
  const std::uint64_t voxels = std::uint64_t(grid.shape[0]) * std::uint64_t(grid.shape[1]) * std::uint64_t(grid.shape[2]);
  if (options.dry_run) {
    const TissueCounts counts = count_tissue(*source);
    print_summary(*source, counts);
    if (counts.parenchyma() == 0) throw InputError(fmt::format("{}: the grid holds no cord voxel; choose a smaller voxel", source->description()));
    return exit_ok;
  }
  check_memory(voxels, kMeshBytesPerVoxel, fmt::format("the labelled grid of {}", source->description()));
  const LabelledGrid labelled = build_labelled_grid(*source);
  const TissueCounts counts = count_tissue(labelled);
  print_summary(*source, counts);

  Scenario description;
  description.file = options.input;
  description.name = fs::path(options.input).stem().string();
  description.grid = grid;
  const fs::path out_dir = options.out_dir.empty() ? fs::path(description.name + "_mesh") : fs::path(options.out_dir);
  RunOutput output(out_dir, options.overwrite, description, {build_info::version, "cordsim mesh"}, {},
                   labelled.tissue_mask());
  add_label_fields(output, labelled);
  const TissueFields fields = tissue_fields(labelled, counts);
  output.add_static_field({"capillary_surface_density", "mm^2/mm^3", "capillary surface per tissue volume"},
                          fields.capillary_surface_density);
  output.add_static_field({"motor_neuron_density", "1/mm^3", "initial motor-neuron density"}, fields.motor_neuron_density);
  output.add_static_field({"microglia_density", "1/mm^3", "initial microglia density"}, fields.microglia_density);
  output.add_static_field({"astrocyte_density", "1/mm^3", "initial astrocyte density"}, fields.astrocyte_density);
  output.write_frame(0.0, {}, {});

  // Large enough to see the horns: at least ~600 pixels across.
  const int pixels_per_voxel = std::max(1, 600 / std::max(grid.shape[0], 1));
  for (const CordSegment& segment : labelled.segments) {
    const int k = int(std::floor((segment.centre_um() - grid.origin_um[2]) / grid.spacing_um[2]));
    if (k < 0 || k >= grid.shape[2]) continue;  // cropped away
    const fs::path png = output.staging_dir() / fmt::format("cross_section_{}.png", segment.name);
    write_cross_section_png(png, labelled, k, pixels_per_voxel);
    std::printf("cross-section %s at z = %.0f um: %s\n", segment.name.c_str(), segment.centre_um(),
                (out_dir / png.filename()).c_str());
  }
  announce_paraview_files(output.commit());
  return exit_ok;
}

}  // namespace

int mesh_command(const MeshOptions& options) {
  return with_exit_codes("mesh", [&] { return mesh(options); });
}

}  // namespace cordsim
