#include "host/geometry/parametric_cord.hpp"

#include "host/geometry/tissue_mask.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <climits>

namespace cordsim {
namespace {

// Is the template point (u, v) inside `e` scaled by `scale` about its own centre (cx, cv)?
bool inside(const TemplateEllipse& e, double cx, double cv, double scale, double u, double v) {
  const double du = u - cx, dv = v - cv;
  const double c = std::cos(e.tilt_rad), s = std::sin(e.tilt_rad);
  const double along_u = (c * du + s * dv) / (scale * e.half_width);
  const double along_v = (-s * du + c * dv) / (scale * e.half_height);
  return along_u * along_u + along_v * along_v <= 1.0;
}

// The butterfly's class at normalised cord coordinates (u, v) for butterfly scale s: the template
// is evaluated at (|u|/s, v/s). Gray matter stays inside the white rim.
Tissue butterfly(const CordDescription& d, double s, double dorsal_scale, double ventral_scale, double u, double v) {
  const double limit = 1.0 - d.white_rim;
  if (u * u + v * v > limit * limit) return Tissue::white_matter;
  const double tu = std::abs(u) / s, tv = v / s;
  const TemplateEllipse& vh = d.ventral_horn;
  if (inside(vh, vh.center_u, vh.center_v, ventral_scale, tu, tv)) {
    const TemplateEllipse& pool = d.motor_neuron_pool;
    const bool in_pool = inside(pool, vh.center_u + ventral_scale * pool.center_u,
                                vh.center_v + ventral_scale * pool.center_v, ventral_scale, tu, tv);
    return in_pool ? Tissue::motor_neuron_pool : Tissue::ventral_horn;
  }
  const TemplateEllipse& dh = d.dorsal_horn;
  if (inside(dh, dh.center_u, dh.center_v, dorsal_scale, tu, tv)) return Tissue::dorsal_horn;
  const TemplateEllipse& iz = d.intermediate_zone;
  if (inside(iz, iz.center_u, iz.center_v, 1.0, tu, tv)) return Tissue::gray_matter;
  return Tissue::white_matter;
}

// Gray area / cord area for butterfly scale s, sampled on a 400 × 400 lattice over the unit disc
// (resolution 1/200 of a semi-axis: ~0.1% in the fraction).
double gray_fraction(const CordDescription& d, const SegmentShape& seg, double s) {
  constexpr int n = 400;
  std::size_t cord = 0, gray = 0;
  for (int j = 0; j < n; ++j) {
    const double v = -1.0 + (j + 0.5) * 2.0 / n;
    for (int i = 0; i < n; ++i) {
      const double u = -1.0 + (i + 0.5) * 2.0 / n;
      if (u * u + v * v > 1.0) continue;
      ++cord;
      gray += butterfly(d, s, seg.dorsal_horn_scale, seg.ventral_horn_scale, u, v) != Tissue::white_matter;
    }
  }
  return double(gray) / double(cord);
}

// Bisection for gray_fraction(s) = target on s ∈ (0, 2]; the fraction grows with s.
double calibrate_butterfly_scale(const CordDescription& d, const SegmentShape& seg) {
  double low = 0.0, high = 2.0;
  const double reachable = gray_fraction(d, seg, high);
  if (reachable < seg.gray_fraction) {
    throw InputError(fmt::format(
        "{}: segment[{}].gray_fraction = {}: not reachable with this butterfly template and horn scales "
        "(at most {:.3f} inside the white rim)", d.file, seg.name, seg.gray_fraction, reachable));
  }
  for (int iteration = 0; iteration < 30; ++iteration) {
    const double mid = 0.5 * (low + high);
    (gray_fraction(d, seg, mid) < seg.gray_fraction ? low : high) = mid;
  }
  return 0.5 * (low + high);
}

double smoothstep(double t) { return t * t * (3.0 - 2.0 * t); }

}  // namespace

ParametricCord::ParametricCord(CordDescription description, const Vec3& voxel_um, std::size_t first,
                               std::size_t last)
    : description_(std::move(description)), first_segment_(first) {
  const CordDescription& d = description_;
  double z = 0.0, widest_x = 0.0, widest_y = 0.0;
  for (const SegmentShape& seg : d.segments) {
    segments_.push_back({seg.name, z, z + seg.length_um});
    centres_um_.push_back(z + 0.5 * seg.length_um);
    z += seg.length_um;
    butterfly_scale_.push_back(calibrate_butterfly_scale(d, seg));
    widest_x = std::max(widest_x, seg.transverse_width_um);
    widest_y = std::max(widest_y, seg.dorsoventral_width_um);
  }
  // The cord axis is x = y = 0; the grid is centred on it and spans the widest cross-section plus
  // the CSF margin on each side; along z it spans the cropped segments exactly (to a voxel).
  const double extent[3] = {widest_x + 2.0 * d.csf_margin_um, widest_y + 2.0 * d.csf_margin_um,
                            segments_[last].z_end_um - segments_[first].z_begin_um};
  double voxels = 1.0;
  for (std::size_t a = 0; a < 3; ++a) {
    const double n = std::ceil(extent[a] / voxel_um[a] - 1e-9);
    voxels *= n;
    grid_.shape[a] = int(std::min(n, double(INT_MAX)));
    grid_.spacing_um[a] = voxel_um[a];
  }
  if (voxels > double(INT_MAX)) {
    throw InputError(fmt::format(
        "{}: a voxel of {} x {} x {} um gives {:.3g} voxels, more than the {} supported; choose a coarser voxel "
        "or fewer segments", d.file, voxel_um[0], voxel_um[1], voxel_um[2], voxels, INT_MAX));
  }
  grid_.origin_um = {-0.5 * grid_.shape[0] * voxel_um[0], -0.5 * grid_.shape[1] * voxel_um[1],
                     segments_[first].z_begin_um};
}

std::string ParametricCord::description() const {
  return fmt::format("parametric cord '{}' ({})", description_.name, description_.file);
}

ParametricCord::CrossSection ParametricCord::cross_section(double z_um) const {
  const auto of = [&](std::size_t i) {
    const SegmentShape& seg = description_.segments[i];
    return CrossSection{0.5 * seg.transverse_width_um, 0.5 * seg.dorsoventral_width_um, butterfly_scale_[i],
                        seg.dorsal_horn_scale, seg.ventral_horn_scale};
  };
  const std::size_t after = std::size_t(std::upper_bound(centres_um_.begin(), centres_um_.end(), z_um) -
                                        centres_um_.begin());
  if (after == 0) return of(0);
  if (after == centres_um_.size()) return of(after - 1);
  const CrossSection p = of(after - 1), q = of(after);
  const double w = smoothstep((z_um - centres_um_[after - 1]) / (centres_um_[after] - centres_um_[after - 1]));
  const auto blend = [w](double x, double y) { return x + (y - x) * w; };
  return {blend(p.semi_axis_x_um, q.semi_axis_x_um), blend(p.semi_axis_y_um, q.semi_axis_y_um),
          blend(p.butterfly_scale, q.butterfly_scale), blend(p.dorsal_horn_scale, q.dorsal_horn_scale),
          blend(p.ventral_horn_scale, q.ventral_horn_scale)};
}

Tissue ParametricCord::classify(const CrossSection& c, double x_um, double y_um) const {
  const double u = x_um / c.semi_axis_x_um, v = y_um / c.semi_axis_y_um;
  if (u * u + v * v > 1.0) return Tissue::outside;
  const double canal_radius = 0.5 * description_.central_canal_diameter_um;
  const double canal_y = c.butterfly_scale * description_.intermediate_zone.center_v * c.semi_axis_y_um;
  if (x_um * x_um + (y_um - canal_y) * (y_um - canal_y) <= canal_radius * canal_radius) return Tissue::central_canal;
  return butterfly(description_, c.butterfly_scale, c.dorsal_horn_scale, c.ventral_horn_scale, u, v);
}

void ParametricCord::label_slice(int k, std::uint8_t* tissue, std::uint8_t* segment) const {
  const double z = voxel_centre(grid_, 2, k);
  const CrossSection section = cross_section(z);
  std::size_t index = first_segment_;
  while (index + 1 < segments_.size() && z >= segments_[index].z_end_um) ++index;
  const int nx = grid_.shape[0], ny = grid_.shape[1];
  for (int j = 0; j < ny; ++j) {
    const double y = voxel_centre(grid_, 1, j);
    for (int i = 0; i < nx; ++i) {
      const std::size_t v = std::size_t(i) + std::size_t(nx) * std::size_t(j);
      tissue[v] = std::uint8_t(classify(section, voxel_centre(grid_, 0, i), y));
      segment[v] = tissue[v] == std::uint8_t(Tissue::outside) ? 0 : std::uint8_t(index + 1);
    }
  }
}

}  // namespace cordsim
