// The parametric rat and mouse lumbar cords, measured on the generated voxels against the ranges
// of ../shared/docs/science.md §4, and their convergence under refinement.
#include <cmath>
#include <cstdio>

#include "tests/geometry/geometry_fixtures.hpp"

namespace cordsim::test {
namespace {

struct Ranges {
  double width_min_mm, width_max_mm, depth_min_mm, depth_max_mm;
};

// Cross-section and gray fraction at the centre of L4, from voxels of 20 µm.
void expect_l4_in_ranges(const fs::path& mesh, const Ranges& r) {
  const LabelledGrid g = build_labelled_grid(*open_geometry(request(mesh, 20.0, {"L4"})));
  const int k = slice_at(g.grid, g.segments[3].centre_um());
  const SliceMeasure m = measure_slice(g, k);
  std::printf("%s L4 centre (20 um voxels): %.3f mm x %.3f mm, gray fraction %.4f\n", mesh.filename().c_str(),
              m.transverse_um / 1000, m.dorsoventral_um / 1000, m.gray_fraction);
  EXPECT_GE(m.transverse_um, r.width_min_mm * 1000);
  EXPECT_LE(m.transverse_um, r.width_max_mm * 1000);
  EXPECT_GE(m.dorsoventral_um, r.depth_min_mm * 1000);
  EXPECT_LE(m.dorsoventral_um, r.depth_max_mm * 1000);
  EXPECT_GE(m.gray_fraction, 0.40);
  EXPECT_LE(m.gray_fraction, 0.50);
  // Every class of the butterfly is present in the cross-section.
  std::array<bool, kTissueClasses> seen{};
  const std::size_t slice = std::size_t(g.grid.shape[0]) * std::size_t(g.grid.shape[1]);
  for (std::size_t v = slice * std::size_t(k); v < slice * std::size_t(k + 1); ++v) seen[g.tissue[v]] = true;
  for (int c = 0; c < kTissueClasses; ++c) EXPECT_TRUE(seen[std::size_t(c)]) << tissue_name(Tissue(c));
}

TEST(ParametricCord, RatL4CrossSectionAndGrayFraction) {
  expect_l4_in_ranges(kMeshes / "rat_lumbar.toml", {3.2, 3.6, 2.3, 2.6});
}

TEST(ParametricCord, MouseL4CrossSectionAndGrayFraction) {
  expect_l4_in_ranges(kMeshes / "mouse_lumbar.toml", {1.6, 1.9, 1.0, 1.3});
}

// The rat enlargement (L3–L6 here; L3–S1 in Toossi 2021): gray fraction 0.40–0.50 over whole
// segments, counted on voxels, and wider than L1 rostral to it.
TEST(ParametricCord, RatEnlargementGrayFractionPerSegment) {
  const std::unique_ptr<GeometrySource> source = open_geometry(request(kMeshes / "rat_lumbar.toml", 40.0));
  const TissueCounts counts = count_tissue(*source);
  for (std::size_t s = 2; s < 6; ++s) {
    const double fraction = double(counts.gray_per_segment[s]) / double(counts.cord_per_segment[s]);
    std::printf("rat %s gray fraction %.4f (40 um voxels)\n", source->segments()[s].name.c_str(), fraction);
    EXPECT_GE(fraction, 0.40) << source->segments()[s].name;
    EXPECT_LE(fraction, 0.50) << source->segments()[s].name;
  }
  const double l1_area = double(counts.cord_per_segment[0]) / source->segments()[0].z_end_um;
  const double l4_area = double(counts.cord_per_segment[3]) /
                         (source->segments()[3].z_end_um - source->segments()[3].z_begin_um);
  EXPECT_GT(l4_area, 1.2 * l1_area);
}

// Segment lengths measured as the number of slices labelled with each segment: rat L1 3.5–4 mm,
// L6 2–2.5 mm, L1–L6 15–18 mm; mouse segments 1.1–1.5 mm.
TEST(ParametricCord, SegmentLengthsFromLabels) {
  const auto lengths = [](const fs::path& mesh) {
    const LabelledGrid g = build_labelled_grid(*open_geometry(request(mesh, 50.0)));
    std::vector<int> slices(g.segments.size(), 0);
    const std::size_t slice = std::size_t(g.grid.shape[0]) * std::size_t(g.grid.shape[1]);
    for (int k = 0; k < g.grid.shape[2]; ++k) {
      const auto first = g.segment.begin() + std::ptrdiff_t(slice * std::size_t(k));
      const std::uint8_t s = *std::max_element(first, first + std::ptrdiff_t(slice));
      if (s > 0) ++slices[s - 1u];
    }
    std::vector<double> mm;
    for (int n : slices) mm.push_back(n * g.grid.spacing_um[2] / 1000.0);
    return mm;
  };
  const std::vector<double> rat = lengths(kMeshes / "rat_lumbar.toml");
  double total = 0;
  for (double l : rat) total += l;
  std::printf("rat L1 %.2f mm, L6 %.2f mm, L1-L6 %.2f mm\n", rat.front(), rat.back(), total);
  EXPECT_GE(rat.front(), 3.5);
  EXPECT_LE(rat.front(), 4.0);
  EXPECT_GE(rat.back(), 2.0);
  EXPECT_LE(rat.back(), 2.5);
  EXPECT_GE(total, 15.0);
  EXPECT_LE(total, 18.0);
  for (double l : lengths(kMeshes / "mouse_lumbar.toml")) {
    EXPECT_GE(l, 1.1);
    EXPECT_LE(l, 1.5);
  }
}

// Shape varies smoothly along z: between neighbouring slices the measured width changes by at
// most one voxel on each side.
TEST(ParametricCord, CrossSectionVariesSmoothlyAlongTheCord) {
  const LabelledGrid g = build_labelled_grid(*open_geometry(request(kMeshes / "rat_lumbar.toml", 50.0)));
  double largest_step = 0;
  for (int k = 1; k < g.grid.shape[2]; ++k) {
    largest_step = std::max(largest_step, std::abs(measure_slice(g, k).transverse_um - measure_slice(g, k - 1).transverse_um));
  }
  EXPECT_LE(largest_step, 2 * g.grid.spacing_um[0]);
}

// Volumes per tissue class at 20 µm and 10 µm (segment L4) agree within 2%, including the mouse's
// motor-neuron pools, ~9 × 6 voxels across at 20 µm: boundary voxels are labelled by partial
// volume, so a class's voxel count does not depend on how its outline falls on the lattice.
TEST(ParametricCord, VolumesConvergeUnderRefinement) {
  for (const char* mesh : {"rat_lumbar.toml", "mouse_lumbar.toml"}) {
    const auto volumes = [&](double h) {
      const TissueCounts c = count_tissue(*open_geometry(request(kMeshes / mesh, h, {"L4"})));
      const double voxel_mm3 = h * h * h * 1e-9;
      return std::array<double, 5>{
          double(c.parenchyma()) * voxel_mm3, double(c.gray()) * voxel_mm3,
          double(c.per_class[std::size_t(Tissue::white_matter)]) * voxel_mm3,
          double(c.per_class[std::size_t(Tissue::ventral_horn)]) * voxel_mm3,
          double(c.per_class[std::size_t(Tissue::motor_neuron_pool)]) * voxel_mm3};
    };
    const std::array<double, 5> coarse = volumes(20.0), fine = volumes(10.0);
    const char* names[] = {"parenchyma", "gray", "white", "ventral horn", "motor-neuron pool"};
    for (std::size_t i = 0; i < coarse.size(); ++i) {
      const double relative = std::abs(coarse[i] - fine[i]) / fine[i];
      std::printf("%s L4 %s: %.5f mm^3 (20 um) vs %.5f mm^3 (10 um), difference %.3f%%\n", mesh, names[i], coarse[i],
                  fine[i], 100 * relative);
      EXPECT_LT(relative, 0.02) << mesh << " " << names[i];
    }
  }
}

// Per-voxel fields: motor neurons only in the pools, capillary density gray vs white, nothing
// outside the parenchyma; the pools hold the ventral horns' motor-neuron count.
TEST(ParametricCord, TissueFieldsFollowTheLabels) {
  const LabelledGrid g = build_labelled_grid(*open_geometry(request(kMeshes / "rat_lumbar.toml", 50.0, {"L4"})));
  const TissueCounts counts = count_tissue(g);
  const TissueFields f = tissue_fields(g, counts);
  double motor_neurons = 0;
  const double voxel_mm3 = 50.0 * 50.0 * 50.0 * 1e-9;
  for (std::size_t v = 0; v < g.voxels(); ++v) {
    const std::uint8_t t = g.tissue[v];
    EXPECT_EQ(f.motor_neuron_density[v] > 0, t == std::uint8_t(Tissue::motor_neuron_pool)) << v;
    if (!is_parenchyma(t)) {
      ASSERT_EQ(f.capillary_surface_density[v], 0.f);
      ASSERT_EQ(f.microglia_density[v], 0.f);
      continue;
    }
    ASSERT_FLOAT_EQ(f.capillary_surface_density[v], is_gray(t) ? 21.f : 6.f);
    motor_neurons += f.motor_neuron_density[v] * voxel_mm3;
  }
  const double horn_mm3 = double(counts.per_class[std::size_t(Tissue::ventral_horn)] +
                                 counts.per_class[std::size_t(Tissue::motor_neuron_pool)]) * voxel_mm3;
  EXPECT_NEAR(motor_neurons, 5800.0 * horn_mm3, 1e-3 * motor_neurons);
}

}  // namespace
}  // namespace cordsim::test
