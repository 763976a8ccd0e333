#pragma once
// The parametric lumbar cord (meshes/rat_lumbar.toml, meshes/mouse_lumbar.toml).
//
// Cross-section at axial position z, in normalised coordinates u = x/a, v = y/b (a, b the
// transverse and dorsoventral semi-axes; +v dorsal):
//   cord            u² + v² ≤ 1 (an ellipse), CSF outside it
//   gray matter     the butterfly: the union of the intermediate zone, two dorsal horns and two
//                   ventral horns, each an ellipse of the template (mirrored in u), the horns scaled
//                   about their centres by the segment's horn scales, the whole butterfly scaled
//                   about the cord axis by s, and kept inside u² + v² ≤ (1 − white_rim)²
//   lamina IX       the motor-neuron pools: an ellipse inside each ventral horn, placed at an
//                   offset from the horn's centre, scaled with the horn
//   central canal   a circle of fixed diameter (µm) at the centre of the intermediate zone
//   white matter    the rest of the cord (the funiculi)
// An affine map preserves area ratios, so the gray fraction depends only on the template, the horn
// scales and s, not on a and b: s is calibrated per segment so that the butterfly covers the
// segment's gray_fraction of the cross-section.
//
// Along z, segments L1..L6 follow each other from z = 0 (rostral end of L1), +z caudal. Between
// two segment centres every dimension p blends as p = p₁ + (p₂ − p₁)·(3t² − 2t³),
// t = (z − z₁)/(z₂ − z₁): continuous with a continuous slope, and equal to the segment's value at
// its centre. Beyond the first and last centres the values stay constant.
//
// Voxel labels. Each slice takes the cross-section at its centre z (the shape changes by well under
// a micrometre across one voxel's thickness, so only x and y are sampled). A voxel whose centre and
// whose 8 in-plane neighbours' centres fall in one class gets that class. A boundary voxel is
// sampled at 3 × 3 points (its centre and ±h/3 along x and y), the share of each class being its
// partial volume, and gets the class with the largest partial volume plus the error carried from
// the boundary voxels labelled before it in the slice (row by row, among the classes present in the
// voxel; ties go to the centre's class, then to the lower label). Each class's voxel count per slice
// thus follows its partial-volume sum to within about a voxel, and volumes converge under
// refinement even for the motor-neuron pools, a few voxels across at 20 µm, where counting centres
// alone depends on how the outline falls on the lattice (2.3% between 20 and 10 µm for the mouse
// L4 pools). Labelling is deterministic; the left half is labelled and mirrored, as the
// cross-section is symmetric in x and the grid is centred on x = 0.
#include <string>
#include <vector>

#include "host/geometry/geometry.hpp"

namespace cordsim {

// An ellipse of the butterfly template, in normalised cord coordinates (right half, u ≥ 0).
struct TemplateEllipse {
  double center_u = 0.0;     // for the motor-neuron pool: offset from the ventral horn's centre
  double center_v = 0.0;
  double half_width = 0.0;   // along u before the tilt
  double half_height = 0.0;  // along v before the tilt
  double tilt_rad = 0.0;     // counter-clockwise rotation of the ellipse's axes (right half)
};

struct SegmentShape {
  std::string name;
  double length_um = 0.0;
  double transverse_width_um = 0.0;    // 2a
  double dorsoventral_width_um = 0.0;  // 2b
  double gray_fraction = 0.0;          // gray-matter area / cord area
  double dorsal_horn_scale = 1.0;
  double ventral_horn_scale = 1.0;
};

struct CordDescription {
  std::string name;
  std::string file;  // where it was read from, for messages
  double csf_margin_um = 0.0;              // CSF rim between the widest cord and the grid faces
  double central_canal_diameter_um = 0.0;
  double white_rim = 0.0;                  // least white-matter depth, as a fraction of the radius
  TemplateEllipse intermediate_zone, dorsal_horn, ventral_horn, motor_neuron_pool;
  std::vector<SegmentShape> segments;
  TissueProperties properties;
};

class ParametricCord : public GeometrySource {
 public:
  // Crops to segments first..last (0-based, inclusive). Throws InputError when a segment's
  // gray_fraction cannot be reached with the template or the grid is too large.
  ParametricCord(CordDescription description, const Vec3& voxel_um, std::size_t first, std::size_t last);

  const GridSpec& grid() const override { return grid_; }
  const std::vector<CordSegment>& segments() const override { return segments_; }
  const TissueProperties& properties() const override { return description_.properties; }
  std::string description() const override;
  void label_slice(int k, std::uint8_t* tissue, std::uint8_t* segment) const override;

  // The dimensions at axial position z (µm).
  struct CrossSection {
    double semi_axis_x_um, semi_axis_y_um, butterfly_scale, dorsal_horn_scale, ventral_horn_scale;
  };
  CrossSection cross_section(double z_um) const;
  // The class at the point (x, y) of a cross-section (label_slice samples it per voxel).
  Tissue classify(const CrossSection& section, double x_um, double y_um) const;

 private:
  CordDescription description_;
  std::vector<double> butterfly_scale_;  // calibrated s per segment
  std::vector<double> centres_um_;       // all segments' centres (the crop keeps the shape)
  std::vector<CordSegment> segments_;    // the cropped ones
  std::size_t first_segment_ = 0;
  GridSpec grid_;
};

}  // namespace cordsim
