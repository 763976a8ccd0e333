#include "host/geometry/parametric_cord.hpp"

#include "host/geometry/tissue_mask.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <vector>

namespace cordsim {
namespace {

// An ellipse of the butterfly template placed for one cross-section: its centre (cu, cv), its tilt
// and its half-axes scaled about that centre, in template coordinates.
struct PlacedEllipse {
  double cu, cv, cos_tilt, sin_tilt, half_u, half_v;

  PlacedEllipse(const TemplateEllipse& e, double centre_u, double centre_v, double scale)
      : cu(centre_u), cv(centre_v), cos_tilt(std::cos(e.tilt_rad)), sin_tilt(std::sin(e.tilt_rad)),
        half_u(scale * e.half_width), half_v(scale * e.half_height) {}

  bool contains(double u, double v) const {
    const double du = u - cu, dv = v - cv;
    const double along_u = (cos_tilt * du + sin_tilt * dv) / half_u;
    const double along_v = (-sin_tilt * du + cos_tilt * dv) / half_v;
    return along_u * along_u + along_v * along_v <= 1.0;
  }
};

// The butterfly for butterfly scale s and the horn scales, placed once per cross-section so that
// classifying a point needs no trigonometry. The template is evaluated at (|u|/s, v/s); gray matter
// stays inside the white rim.
class Butterfly {
 public:
  Butterfly(const CordDescription& d, double s, double dorsal_scale, double ventral_scale)
      : limit_(1.0 - d.white_rim), s_(s),
        ventral_(d.ventral_horn, d.ventral_horn.center_u, d.ventral_horn.center_v, ventral_scale),
        pool_(d.motor_neuron_pool, d.ventral_horn.center_u + ventral_scale * d.motor_neuron_pool.center_u,
              d.ventral_horn.center_v + ventral_scale * d.motor_neuron_pool.center_v, ventral_scale),
        dorsal_(d.dorsal_horn, d.dorsal_horn.center_u, d.dorsal_horn.center_v, dorsal_scale),
        intermediate_(d.intermediate_zone, d.intermediate_zone.center_u, d.intermediate_zone.center_v, 1.0) {}

  // The class at normalised cord coordinates (u, v), which lie inside the cord.
  Tissue classify(double u, double v) const {
    if (u * u + v * v > limit_ * limit_) return Tissue::white_matter;
    const double tu = std::abs(u) / s_, tv = v / s_;
    if (ventral_.contains(tu, tv)) return pool_.contains(tu, tv) ? Tissue::motor_neuron_pool : Tissue::ventral_horn;
    if (dorsal_.contains(tu, tv)) return Tissue::dorsal_horn;
    if (intermediate_.contains(tu, tv)) return Tissue::gray_matter;
    return Tissue::white_matter;
  }

 private:
  double limit_, s_;
  PlacedEllipse ventral_, pool_, dorsal_, intermediate_;
};

// Gray area / cord area for butterfly scale s, sampled on a 400 × 400 lattice over the unit disc
// (resolution 1/200 of a semi-axis: ~0.1% in the fraction).
double gray_fraction(const CordDescription& d, const SegmentShape& seg, double s) {
  constexpr int n = 400;
  const Butterfly b(d, s, seg.dorsal_horn_scale, seg.ventral_horn_scale);
  std::size_t cord = 0, gray = 0;
  for (int j = 0; j < n; ++j) {
    const double v = -1.0 + (j + 0.5) * 2.0 / n;
    for (int i = 0; i < n; ++i) {
      const double u = -1.0 + (i + 0.5) * 2.0 / n;
      if (u * u + v * v > 1.0) continue;
      ++cord;
      gray += b.classify(u, v) != Tissue::white_matter;
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

namespace {

// One cross-section placed for classifying many points of a slice.
class Section {
 public:
  Section(const CordDescription& d, const ParametricCord::CrossSection& c)
      : a_(c.semi_axis_x_um), b_(c.semi_axis_y_um), canal_radius_(0.5 * d.central_canal_diameter_um),
        canal_y_(c.butterfly_scale * d.intermediate_zone.center_v * c.semi_axis_y_um),
        butterfly_(d, c.butterfly_scale, c.dorsal_horn_scale, c.ventral_horn_scale) {}

  Tissue classify(double x_um, double y_um) const {
    const double u = x_um / a_, v = y_um / b_;
    if (u * u + v * v > 1.0) return Tissue::outside;
    if (x_um * x_um + (y_um - canal_y_) * (y_um - canal_y_) <= canal_radius_ * canal_radius_) return Tissue::central_canal;
    return butterfly_.classify(u, v);
  }

 private:
  double a_, b_, canal_radius_, canal_y_;
  Butterfly butterfly_;
};

}  // namespace

Tissue ParametricCord::classify(const CrossSection& c, double x_um, double y_um) const {
  return Section(description_, c).classify(x_um, y_um);
}

// Labels one slice by partial volumes (see parametric_cord.hpp, "Voxel labels"). The cross-section
// is mirror-symmetric in x and the grid is centred on x = 0, so the columns i < ceil(nx/2) are
// labelled and the others copied from their mirror images i' = nx − 1 − i.
void ParametricCord::label_slice(int k, std::uint8_t* tissue, std::uint8_t* segment) const {
  const double z = voxel_centre(grid_, 2, k);
  const Section section(description_, cross_section(z));
  std::size_t index = first_segment_;
  while (index + 1 < segments_.size() && z >= segments_[index].z_end_um) ++index;
  const int nx = grid_.shape[0], ny = grid_.shape[1], half = (nx + 1) / 2;
  const std::size_t row = std::size_t(nx);
  const auto mirror_row = [&](std::uint8_t* r) {
    for (int i = half; i < nx; ++i) r[i] = r[nx - 1 - i];
  };

  // The class at each voxel centre.
  std::vector<std::uint8_t> centre(row * std::size_t(ny));
  for (int j = 0; j < ny; ++j) {
    std::uint8_t* r = centre.data() + row * std::size_t(j);
    const double y = voxel_centre(grid_, 1, j);
    for (int i = 0; i < half; ++i) r[i] = std::uint8_t(section.classify(voxel_centre(grid_, 0, i), y));
    mirror_row(r);
  }

  // A voxel whose 8 in-plane neighbours share its centre's class keeps that class. A boundary voxel
  // is sampled at 3 × 3 points (its centre and ±h/3); each class's share of the samples is its
  // partial volume, and the label goes to the largest partial volume plus the error carried from
  // the voxels labelled before it in this slice (among the classes present in the voxel).
  constexpr int kSamples = 3;
  const double hx = grid_.spacing_um[0], hy = grid_.spacing_um[1];
  std::array<double, kTissueClasses> carry{};
  for (int j = 0; j < ny; ++j) {
    const std::uint8_t* above = centre.data() + row * std::size_t(std::max(j - 1, 0));
    const std::uint8_t* here = centre.data() + row * std::size_t(j);
    const std::uint8_t* below = centre.data() + row * std::size_t(std::min(j + 1, ny - 1));
    std::uint8_t* out = tissue + row * std::size_t(j);
    std::copy(here, here + half, out);
    const double y0 = voxel_centre(grid_, 1, j);
    for (int i = 0; i < half; ++i) {
      const std::uint8_t c0 = here[i];
      const int left = std::max(i - 1, 0), right = std::min(i + 1, nx - 1);
      bool boundary = false;
      for (int n = left; n <= right; ++n) boundary |= (above[n] != c0) | (here[n] != c0) | (below[n] != c0);
      if (!boundary) continue;
      const double x0 = voxel_centre(grid_, 0, i);
      std::array<int, kTissueClasses> votes{};
      for (int q = 0; q < kSamples; ++q) {
        const double y = y0 + ((q + 0.5) / kSamples - 0.5) * hy;
        for (int p = 0; p < kSamples; ++p) {
          const double x = x0 + ((p + 0.5) / kSamples - 0.5) * hx;
          ++votes[(p == kSamples / 2 && q == kSamples / 2) ? c0 : std::size_t(section.classify(x, y))];
        }
      }
      // The centre sample always votes for c0. Ties go to the centre's class, then to the lower label.
      constexpr double kShare = 1.0 / (kSamples * kSamples);
      std::size_t best = c0;
      double top = votes[c0] * kShare + carry[c0];
      for (std::size_t c = 0; c < std::size_t(kTissueClasses); ++c) {
        const double t = votes[c] * kShare + carry[c];
        if (votes[c] > 0 && t > top) top = t, best = c;
      }
      for (std::size_t c = 0; c < std::size_t(kTissueClasses); ++c) carry[c] += votes[c] * kShare - (c == best ? 1.0 : 0.0);
      out[i] = std::uint8_t(best);
    }
    mirror_row(out);
  }
  for (std::size_t v = 0; v < row * std::size_t(ny); ++v) {
    segment[v] = tissue[v] == std::uint8_t(Tissue::outside) ? 0 : std::uint8_t(index + 1);
  }
}

}  // namespace cordsim
