#include "host/geometry/nifti_atlas.hpp"

#include <fmt/format.h>
#include <nifti2_io.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

#include "host/geometry/tissue_mask.hpp"

namespace cordsim {
namespace {

constexpr double kUmPerMm = 1000.0;

// NIfTI world (mm, RAS+) → simulation frame (µm, +y dorsal = posterior, +z caudal = inferior).
void world_to_sim(const double world[3], double sim[3]) {
  sim[0] = kUmPerMm * world[0];
  sim[1] = -kUmPerMm * world[1];
  sim[2] = -kUmPerMm * world[2];
}

void sim_to_world(const double sim[3], double world[3]) {
  world[0] = sim[0] / kUmPerMm;
  world[1] = -sim[1] / kUmPerMm;
  world[2] = -sim[2] / kUmPerMm;
}

template <class T>
void convert(const void* data, std::size_t n, std::vector<float>& out) {
  const T* typed = static_cast<const T*>(data);
  for (std::size_t v = 0; v < n; ++v) out[v] = float(typed[v]);
}

int level_of_name(const std::string& name, const std::string& file) {
  for (int level = 1; level <= 40; ++level) {
    if (vertebral_level_name(level) == name) return level;
  }
  throw InputError(fmt::format("{}: unknown vertebral level '{}' (expected C1..C7, T1..T12, L1..L6, S1..)", file, name));
}

}  // namespace

std::string vertebral_level_name(int level) {
  if (level >= 1 && level <= 7) return fmt::format("C{}", level);
  if (level >= 8 && level <= 19) return fmt::format("T{}", level - 7);
  if (level >= 20 && level <= 25) return fmt::format("L{}", level - 19);
  if (level >= 26) return fmt::format("S{}", level - 25);
  return fmt::format("level{}", level);
}

float NiftiVolume::at(int i, int j, int k) const {
  if (i < 0 || j < 0 || k < 0 || i >= dims[0] || j >= dims[1] || k >= dims[2]) return 0.f;
  return values[std::size_t(i) + std::size_t(dims[0]) * (std::size_t(j) + std::size_t(dims[1]) * std::size_t(k))];
}

// c = Σ over the 8 neighbours of w_i w_j w_k · value, with w the distances to the opposite corner.
float NiftiVolume::trilinear(const double ijk[3]) const {
  const int i0 = int(std::floor(ijk[0])), j0 = int(std::floor(ijk[1])), k0 = int(std::floor(ijk[2]));
  const double fi = ijk[0] - i0, fj = ijk[1] - j0, fk = ijk[2] - k0;
  double sum = 0.0;
  for (int c = 0; c < 8; ++c) {
    const int di = c & 1, dj = (c >> 1) & 1, dk = (c >> 2) & 1;
    const double w = (di ? fi : 1 - fi) * (dj ? fj : 1 - fj) * (dk ? fk : 1 - fk);
    if (w > 0.0) sum += w * at(i0 + di, j0 + dj, k0 + dk);
  }
  return float(sum);
}

float NiftiVolume::nearest(const double ijk[3]) const {
  return at(int(std::lround(ijk[0])), int(std::lround(ijk[1])), int(std::lround(ijk[2])));
}

void NiftiVolume::index_of_sim_point(const double p_um[3], double ijk[3]) const {
  double world[3];
  sim_to_world(p_um, world);
  for (int r = 0; r < 3; ++r)
    ijk[r] = to_index[r][0] * world[0] + to_index[r][1] * world[1] + to_index[r][2] * world[2] + to_index[r][3];
}

void NiftiVolume::sim_point_of_index(const double ijk[3], double p_um[3]) const {
  double world[3];
  for (int r = 0; r < 3; ++r)
    world[r] = to_world[r][0] * ijk[0] + to_world[r][1] * ijk[1] + to_world[r][2] * ijk[2] + to_world[r][3];
  world_to_sim(world, p_um);
}

NiftiVolume read_nifti_volume(const std::string& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw InputError(fmt::format("cannot open NIfTI file '{}': {}", file,
                                 std::filesystem::exists(file, ec) ? "not a regular file" : "no such file"));
  }
  nifti_set_debug_level(0);  // we report failures ourselves, once
  const std::unique_ptr<nifti_image, void (*)(nifti_image*)> image(nifti_image_read(file.c_str(), 1),
                                                                    &nifti_image_free);
  if (!image || image->data == nullptr) {
    throw InputError(fmt::format("cannot read NIfTI file '{}': not a NIfTI-1/2 volume, or truncated or corrupt", file));
  }
  if (image->nx < 1 || image->ny < 1 || image->nz < 1 || image->nx > INT_MAX || image->ny > INT_MAX ||
      image->nz > INT_MAX || std::size_t(image->nvox) != std::size_t(image->nx * image->ny * image->nz)) {
    throw InputError(fmt::format("NIfTI file '{}': expected one 3-D volume, got dims {} x {} x {} with {} values",
                                 file, image->nx, image->ny, image->nz, image->nvox));
  }
  NiftiVolume volume;
  volume.file = file;
  volume.dims = {int(image->nx), int(image->ny), int(image->nz)};
  const std::size_t n = std::size_t(image->nvox);
  volume.values.resize(n);
  switch (image->datatype) {
    case DT_UINT8: convert<std::uint8_t>(image->data, n, volume.values); break;
    case DT_INT8: convert<std::int8_t>(image->data, n, volume.values); break;
    case DT_INT16: convert<std::int16_t>(image->data, n, volume.values); break;
    case DT_UINT16: convert<std::uint16_t>(image->data, n, volume.values); break;
    case DT_INT32: convert<std::int32_t>(image->data, n, volume.values); break;
    case DT_UINT32: convert<std::uint32_t>(image->data, n, volume.values); break;
    case DT_FLOAT32: convert<float>(image->data, n, volume.values); break;
    case DT_FLOAT64: convert<double>(image->data, n, volume.values); break;
    default:
      throw InputError(fmt::format("NIfTI file '{}': unsupported voxel type {} ({})", file, image->datatype,
                                   nifti_datatype_string(image->datatype)));
  }
  // Stored value → real value: y = scl_slope · x + scl_inter (slope 0 means "no scaling").
  if (image->scl_slope != 0.0 && (image->scl_slope != 1.0 || image->scl_inter != 0.0)) {
    for (float& x : volume.values) x = float(image->scl_slope * x + image->scl_inter);
  }
  nifti_dmat44 m{};
  if (image->sform_code > 0) {
    m = image->sto_xyz;
  } else if (image->qform_code > 0) {
    m = image->qto_xyz;
  } else {  // "method 1" of the NIfTI standard: voxel sizes only
    m.m[0][0] = image->dx;
    m.m[1][1] = image->dy;
    m.m[2][2] = image->dz;
    m.m[3][3] = 1.0;
  }
  const nifti_dmat44 inverse = nifti_dmat44_inverse(m);
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 4; ++c) {
      volume.to_world[r][c] = m.m[r][c];
      volume.to_index[r][c] = inverse.m[r][c];
    }
  }
  if (!std::isfinite(volume.to_index[0][0]) || (inverse.m[0][0] == 0 && inverse.m[0][1] == 0 && inverse.m[0][2] == 0)) {
    throw InputError(fmt::format("NIfTI file '{}': the header's orientation matrix is singular", file));
  }
  return volume;
}

NiftiAtlas::NiftiAtlas(AtlasDescription description, const Vec3& voxel_um) : description_(std::move(description)) {
  const AtlasDescription& d = description_;
  cord_ = read_nifti_volume(d.cord);
  if (!d.gray_matter.empty()) gray_ = read_nifti_volume(d.gray_matter);
  if (!d.white_matter.empty()) white_ = read_nifti_volume(d.white_matter);
  if (!d.levels.empty()) levels_ = read_nifti_volume(d.levels);
  if (!d.segments.empty() && d.levels.empty()) {
    throw InputError(fmt::format("{}: cropping to segments {}..{} needs a vertebral level volume", d.file,
                                 d.segments.front(), d.segments.back()));
  }

  // The selected atlas voxels: cord ≥ 0.5, at a level inside the crop. Their sim-frame centres,
  // padded by half an atlas voxel's extent, bound the grid.
  struct Selected { double p[3]; int level; float gray; };
  std::vector<Selected> selected;
  const int wanted_first = d.segments.empty() ? 0 : level_of_name(d.segments.front(), d.file);
  const int wanted_last = d.segments.empty() ? INT_MAX : level_of_name(d.segments.back(), d.file);
  for (int k = 0; k < cord_.dims[2]; ++k) {
    for (int j = 0; j < cord_.dims[1]; ++j) {
      for (int i = 0; i < cord_.dims[0]; ++i) {
        if (!(cord_.at(i, j, k) >= 0.5f)) continue;
        Selected s{};
        const double ijk[3] = {double(i), double(j), double(k)};
        cord_.sim_point_of_index(ijk, s.p);
        if (!d.gray_matter.empty()) {
          double gijk[3];
          gray_.index_of_sim_point(s.p, gijk);
          s.gray = gray_.nearest(gijk);
        }
        if (!d.levels.empty()) {
          double lijk[3];
          levels_.index_of_sim_point(s.p, lijk);
          s.level = int(std::lround(levels_.nearest(lijk)));
          if (s.level < std::max(wanted_first, 1) || s.level > wanted_last) continue;
        }
        selected.push_back(s);
      }
    }
  }
  if (selected.empty()) {
    throw InputError(fmt::format("{}: the cord mask '{}' has no voxel >= 0.5{}", d.file, d.cord,
                                 d.segments.empty() ? std::string()
                                                    : fmt::format(" at levels {}..{}", d.segments.front(), d.segments.back())));
  }
  double half_extent[3];
  for (int a = 0; a < 3; ++a) {
    half_extent[a] = 0.5 * kUmPerMm *
                     (std::abs(cord_.to_world[a][0]) + std::abs(cord_.to_world[a][1]) + std::abs(cord_.to_world[a][2]));
  }
  double low[3], high[3];
  for (int a = 0; a < 3; ++a) {
    low[a] = std::numeric_limits<double>::max();
    high[a] = std::numeric_limits<double>::lowest();
  }
  first_level_ = INT_MAX;
  last_level_ = 0;
  for (const Selected& s : selected) {
    for (int a = 0; a < 3; ++a) {
      low[a] = std::min(low[a], s.p[a]);
      high[a] = std::max(high[a], s.p[a]);
    }
    first_level_ = std::min(first_level_, s.level);
    last_level_ = std::max(last_level_, s.level);
  }
  // Across the cord the grid reaches 1.5 atlas voxels beyond the outermost cord centres (the
  // interpolated cord value has fallen to 0 one voxel out), so that CSF surrounds the cord; along
  // it the grid ends at the edges of the end slices, since the levels crop it there. Both pads are
  // odd multiples of half an atlas voxel: the grid's faces lie on atlas voxel faces, so a voxel
  // size that divides the atlas's samples it symmetrically (and at its own size, exactly).
  const double pad[3] = {3.0 * half_extent[0], 3.0 * half_extent[1], half_extent[2]};
  double voxels = 1.0;
  for (std::size_t a = 0; a < 3; ++a) {
    grid_.spacing_um[a] = voxel_um[a];
    grid_.origin_um[a] = low[a] - pad[a];
    const double n = std::ceil((high[a] + pad[a] - grid_.origin_um[a]) / voxel_um[a] - 1e-9);
    voxels *= n;
    grid_.shape[a] = int(std::min(n, double(INT_MAX)));
  }
  if (voxels > double(INT_MAX)) {
    throw InputError(fmt::format("{}: a voxel of {} x {} x {} um gives {:.3g} voxels, more than the {} supported; "
                                 "choose a coarser voxel or fewer levels",
                                 d.file, voxel_um[0], voxel_um[1], voxel_um[2], voxels, INT_MAX));
  }

  if (d.levels.empty()) {
    segments_.push_back({"cord", grid_.origin_um[2], grid_.origin_um[2] + grid_.shape[2] * voxel_um[2]});
    first_level_ = last_level_ = 0;
  } else {
    for (int level = first_level_; level <= last_level_; ++level) {
      double z0 = std::numeric_limits<double>::max(), z1 = std::numeric_limits<double>::lowest();
      for (const Selected& s : selected) {
        if (s.level != level) continue;
        z0 = std::min(z0, s.p[2] - half_extent[2]);
        z1 = std::max(z1, s.p[2] + half_extent[2]);
      }
      if (z0 > z1) throw InputError(fmt::format("{}: level {} has no cord voxel", d.file, vertebral_level_name(level)));
      segments_.push_back({vertebral_level_name(level), z0, z1});
    }
  }
  // The atlas's own gray fraction per segment: Σ p_gray / cord voxels over its selected voxels.
  std::vector<double> gray_sum(segments_.size(), 0.0), cord_count(segments_.size(), 0.0);
  for (const Selected& s : selected) {
    const std::size_t segment = d.levels.empty() ? 0 : std::size_t(s.level - first_level_);
    gray_sum[segment] += s.gray;
    cord_count[segment] += 1;
  }
  for (std::size_t segment = 0; segment < segments_.size(); ++segment) gray_sum[segment] /= cord_count[segment];
  if (!d.gray_matter.empty()) calibrate_gray_thresholds(gray_sum);
}

std::string NiftiAtlas::description() const {
  return fmt::format("atlas '{}' ({})", description_.name, description_.file);
}

NiftiAtlas::Sample NiftiAtlas::sample(const double p_um[3]) const {
  Sample sample;
  double ijk[3];
  cord_.index_of_sim_point(p_um, ijk);
  if (!(cord_.trilinear(ijk) >= 0.5f)) return sample;
  sample.segment = 1;
  if (!description_.levels.empty()) {
    levels_.index_of_sim_point(p_um, ijk);
    const int level = int(std::lround(levels_.nearest(ijk)));
    if (level < first_level_ || level > last_level_) return sample;
    sample.segment = level - first_level_ + 1;
  }
  sample.inside = true;
  if (!description_.gray_matter.empty()) {
    gray_.index_of_sim_point(p_um, ijk);
    const float g = gray_.trilinear(ijk);
    float w = 1.f - g;
    if (!description_.white_matter.empty()) {
      white_.index_of_sim_point(p_um, ijk);
      w = white_.trilinear(ijk);
    }
    sample.gray_share = g + w > 0.f ? g / (g + w) : 0.f;
  }
  return sample;
}

void NiftiAtlas::calibrate_gray_thresholds(const std::vector<double>& atlas_gray_fraction) {
  // Per segment, a histogram of the gray share over the grid's cord voxels; τ is the share above
  // which the wanted fraction of them lies (to 1/4096).
  constexpr int bins = 4096;
  const std::size_t segments = atlas_gray_fraction.size();
  std::vector<std::vector<std::uint64_t>> histogram(segments, std::vector<std::uint64_t>(bins, 0));
  std::vector<std::uint64_t> cord(segments, 0);
  double p[3];
  for (int k = 0; k < grid_.shape[2]; ++k) {
    p[2] = voxel_centre(grid_, 2, k);
    for (int j = 0; j < grid_.shape[1]; ++j) {
      p[1] = voxel_centre(grid_, 1, j);
      for (int i = 0; i < grid_.shape[0]; ++i) {
        p[0] = voxel_centre(grid_, 0, i);
        const Sample s = sample(p);
        if (!s.inside) continue;
        const std::size_t segment = std::size_t(s.segment - 1);
        ++cord[segment];
        ++histogram[segment][std::size_t(std::min(bins - 1, int(s.gray_share * bins)))];
      }
    }
  }
  gray_threshold_.assign(segments, 2.f);
  for (std::size_t segment = 0; segment < segments; ++segment) {
    const double wanted = atlas_gray_fraction[segment] * double(cord[segment]);
    double above = 0;
    int bin = bins;
    while (bin > 0 && above + double(histogram[segment][std::size_t(bin - 1)]) <= wanted) {
      above += double(histogram[segment][std::size_t(--bin)]);
    }
    gray_threshold_[segment] = std::max(float(bin) / bins, 1.f / bins);
  }
}

void NiftiAtlas::label_slice(int k, std::uint8_t* tissue, std::uint8_t* segment) const {
  const int nx = grid_.shape[0], ny = grid_.shape[1];
  double p[3];
  p[2] = voxel_centre(grid_, 2, k);
  for (int j = 0; j < ny; ++j) {
    p[1] = voxel_centre(grid_, 1, j);
    for (int i = 0; i < nx; ++i) {
      p[0] = voxel_centre(grid_, 0, i);
      const std::size_t v = std::size_t(i) + std::size_t(nx) * std::size_t(j);
      const Sample s = sample(p);
      const bool gray = s.inside && !gray_threshold_.empty() && s.gray_share >= gray_threshold_[std::size_t(s.segment - 1)];
      tissue[v] = std::uint8_t(!s.inside ? Tissue::outside : gray ? Tissue::gray_matter : Tissue::white_matter);
      segment[v] = s.inside ? std::uint8_t(s.segment) : 0;
    }
  }
}

}  // namespace cordsim
