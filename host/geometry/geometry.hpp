#pragma once
// Geometry sources: what turns a cord description into the labelled grid.
//   meshes/*.toml with [mesh] kind = "parametric"  the rodent lumbar cords (parametric_cord.hpp)
//   meshes/*.toml with [mesh] kind = "atlas"       NIfTI-1 atlas volumes (nifti_atlas.hpp)
//   *.nii / *.nii.gz                               an atlas given by its cord mask (siblings
//                                                  *_gm, *_wm, *_levels are used when present)
// A source labels one axial slice at a time, so that counting (cordsim mesh --dry-run) needs no
// memory for the volume and building the volume is parallel over slices.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/geometry/labels.hpp"
#include "kernels/cell/real.hpp"

namespace cordsim {

class RunOutput;

class GeometrySource {
 public:
  virtual ~GeometrySource() = default;
  virtual const GridSpec& grid() const = 0;
  virtual const std::vector<CordSegment>& segments() const = 0;
  virtual const TissueProperties& properties() const = 0;
  virtual std::string description() const = 0;
  // Labels slice k (nx·ny values each, x fastest) with Tissue classes and 1-based segment indices.
  virtual void label_slice(int k, std::uint8_t* tissue, std::uint8_t* segment) const = 0;
};

struct GeometryRequest {
  std::string path;                       // mesh TOML or NIfTI file
  Vec3 voxel_um{0, 0, 0};                 // simulation voxel edges
  std::vector<std::string> segments;      // empty: all; else {first, last} (inclusive) to crop to
};

// Opens the source and lays out the grid. Throws InputError for a missing or unreadable file, a
// bad mesh description, unknown segment names, or a grid that is empty or has more than INT_MAX
// voxels.
std::unique_ptr<GeometrySource> open_geometry(const GeometryRequest& request);

// Fills the whole volume (2 bytes per voxel). Throws InputError when the labelled grid has no
// parenchyma voxel.
LabelledGrid build_labelled_grid(const GeometrySource& source);

TissueCounts count_tissue(const GeometrySource& source);
TissueCounts count_tissue(const LabelledGrid& labelled);

// The memory available now: MemAvailable of /proc/meminfo (UINT64_MAX when unknown), capped by
// the environment variable CORDSIM_MEMORY_LIMIT_BYTES (a whole number of bytes) when it is set,
// e.g. for tests or for ranks that share a node. Throws InputError for a malformed value.
std::uint64_t available_memory_bytes();
std::optional<std::uint64_t> memory_limit_from_environment();
// Where available_memory_bytes() came from, for messages: "MemAvailable of /proc/meminfo" or
// "CORDSIM_MEMORY_LIMIT_BYTES=<n>".
std::string available_memory_source();

// Throws InputError when `voxels` · `bytes_per_voxel` exceeds available_memory_bytes(), naming
// `what` needs it, how much is available and `advice` on how to shrink it.
void check_memory(std::uint64_t voxels, double bytes_per_voxel, const std::string& what,
                  const std::string& advice = "choose a coarser voxel or fewer segments");

// A scenario's [geometry] as a request.
GeometryRequest geometry_request(const GeometrySpec& spec);

// Lays out scenario.grid from scenario.geometry (nothing to do without one). Call it after loading
// a scenario with a [geometry], before anything reads its grid.
void resolve_geometry(Scenario& scenario);

// The labelled grid of a scenario's [geometry], on the grid resolve_geometry laid out. Throws
// InputError when the run would not fit in the available memory (back end + host arrays) or the
// cord has no voxel; std::logic_error when the grid was not resolved.
LabelledGrid build_scenario_geometry(const Scenario& scenario);

// Adds /grid/tissue_label and /grid/segment (uint8) to an output, documented in their long_name.
void add_label_fields(RunOutput& output, const LabelledGrid& labelled);

// The back end's bytes per voxel for `species` species on the explicit path, as the run log states:
// 7 arrays of `real` per species (c, scratch, gx, gy, gz, diag, rhs) + the 1-byte mask.
inline double backend_bytes_per_voxel(std::size_t species) {
  return 7.0 * double(sizeof(real)) * double(species) + 1.0;
}

}  // namespace cordsim
