// NIfTI atlas import on the PAM50 template (../shared/data/pam50): per vertebral level of the
// lumbar enlargement (T10..L1), the cord cross-sectional area and gray-matter fraction of the
// resampled grid agree within 3% with a direct computation from the NIfTI voxel values.
#include <nifti1.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include "host/geometry/nifti_atlas.hpp"
#include "tests/geometry/geometry_fixtures.hpp"

namespace cordsim::test {
namespace {

struct LevelMeasure {
  double area_mm2 = 0, gray_fraction = 0;
};

#define REQUIRE_PAM50()                                                                              \
  if (!fs::exists(kPam50 / "PAM50_cord.nii.gz"))                                                    \
  GTEST_SKIP() << "PAM50 template not found at " << kPam50.string()                                 \
               << " (the shared data folder next to the repository); the atlas import is untested"

// Directly from the atlas voxels (0.5 mm, one level per voxel): for level l, the cord voxels
// (cord ≥ 0.5) labelled l times the voxel's cross-section, averaged over the slices holding l,
// and the gray fraction Σ p_gray / cord voxels (probability-weighted).
std::map<int, LevelMeasure> direct_from_atlas() {
  const NiftiVolume cord = read_nifti_volume((kPam50 / "PAM50_cord.nii.gz").string());
  const NiftiVolume gm = read_nifti_volume((kPam50 / "PAM50_gm.nii.gz").string());
  const NiftiVolume levels = read_nifti_volume((kPam50 / "PAM50_levels.nii.gz").string());
  const double dx = std::abs(cord.to_world[0][0]), dy = std::abs(cord.to_world[1][1]);
  std::map<int, double> cord_voxels, gray_sum;
  std::map<int, std::map<int, bool>> slices;
  for (int k = 0; k < cord.dims[2]; ++k)
    for (int j = 0; j < cord.dims[1]; ++j)
      for (int i = 0; i < cord.dims[0]; ++i) {
        const int level = int(std::lround(levels.at(i, j, k)));
        if (level < 17 || level > 20) continue;
        slices[level][k] = true;
        if (!(cord.at(i, j, k) >= 0.5f)) continue;
        cord_voxels[level] += 1;
        gray_sum[level] += gm.at(i, j, k);
      }
  std::map<int, LevelMeasure> out;
  for (const auto& [level, n] : cord_voxels) {
    out[level].area_mm2 = n * dx * dy / double(slices[level].size());
    out[level].gray_fraction = gray_sum[level] / n;
  }
  return out;
}

// On the resampled grid: cord voxels of segment s times the voxel's cross-section, averaged over
// the slices that hold segment s, and gray voxels / cord voxels.
std::vector<LevelMeasure> from_grid(const LabelledGrid& g) {
  std::vector<LevelMeasure> out(g.segments.size());
  std::vector<std::size_t> cord(g.segments.size()), gray(g.segments.size());
  std::vector<std::map<int, bool>> slices(g.segments.size());
  const std::size_t slice = std::size_t(g.grid.shape[0]) * std::size_t(g.grid.shape[1]);
  for (std::size_t v = 0; v < g.voxels(); ++v) {
    if (g.segment[v] == 0) continue;
    const std::size_t s = g.segment[v] - 1u;
    ++cord[s];
    gray[s] += is_gray(g.tissue[v]);
    slices[s][int(v / slice)] = true;
  }
  for (std::size_t s = 0; s < out.size(); ++s) {
    out[s].area_mm2 = double(cord[s]) * g.grid.spacing_um[0] * g.grid.spacing_um[1] * 1e-6 / double(slices[s].size());
    out[s].gray_fraction = double(gray[s]) / double(cord[s]);
  }
  return out;
}

void expect_levels_match(double voxel_um) {
  const std::map<int, LevelMeasure> direct = direct_from_atlas();
  const LabelledGrid g = build_labelled_grid(*open_geometry(request(kMeshes / "pam50_lumbar.toml", voxel_um)));
  ASSERT_EQ(g.segments.size(), 4u);
  const std::vector<LevelMeasure> grid = from_grid(g);
  for (std::size_t s = 0; s < 4; ++s) {
    const int level = 17 + int(s);
    EXPECT_EQ(g.segments[s].name, vertebral_level_name(level));
    const LevelMeasure& d = direct.at(level);
    std::printf("PAM50 %s at %g um: area %.3f mm^2 (atlas %.3f, %+.2f%%), gray fraction %.4f (atlas %.4f, %+.2f%%)\n",
                g.segments[s].name.c_str(), voxel_um, grid[s].area_mm2, d.area_mm2,
                100 * (grid[s].area_mm2 / d.area_mm2 - 1), grid[s].gray_fraction, d.gray_fraction,
                100 * (grid[s].gray_fraction / d.gray_fraction - 1));
    EXPECT_NEAR(grid[s].area_mm2, d.area_mm2, 0.03 * d.area_mm2) << g.segments[s].name;
    EXPECT_NEAR(grid[s].gray_fraction, d.gray_fraction, 0.03 * d.gray_fraction) << g.segments[s].name;
  }
}

TEST(NiftiAtlas, Pam50LevelsAtTheAtlasResolution) {
  REQUIRE_PAM50();
  expect_levels_match(500.0);
}

TEST(NiftiAtlas, Pam50LevelsResampledTo250um) {
  REQUIRE_PAM50();
  expect_levels_match(250.0);
}

// 300 µm does not divide the atlas's 500 µm: level boundaries and the cord outline are resampled.
TEST(NiftiAtlas, Pam50LevelsResampledTo300um) {
  REQUIRE_PAM50();
  expect_levels_match(300.0);
}

// A 20³ NIfTI-1 volume of 0.5 mm voxels whose sform flips x: i increases to the left. The cord
// is a cylinder of radius 4 voxels along k around (10, 10); values come from `value(i, j, k)`.
template <class Value>
fs::path write_nifti(const TempDir& dir, const std::string& name, Value value) {
  nifti_1_header header{};
  header.sizeof_hdr = 348;
  header.dim[0] = 3;
  header.dim[1] = header.dim[2] = header.dim[3] = 20;
  header.dim[4] = header.dim[5] = header.dim[6] = header.dim[7] = 1;
  header.datatype = DT_FLOAT32;
  header.bitpix = 32;
  header.pixdim[0] = 1;
  header.pixdim[1] = header.pixdim[2] = header.pixdim[3] = 0.5f;
  header.vox_offset = 352;
  header.xyzt_units = NIFTI_UNITS_MM;
  header.sform_code = NIFTI_XFORM_SCANNER_ANAT;
  const float srow[3][4] = {{-0.5f, 0, 0, 5}, {0, 0.5f, 0, -5}, {0, 0, 0.5f, -5}};
  std::copy(srow[0], srow[0] + 4, header.srow_x);
  std::copy(srow[1], srow[1] + 4, header.srow_y);
  std::copy(srow[2], srow[2] + 4, header.srow_z);
  std::memcpy(header.magic, "n+1", 4);
  std::vector<float> data(20 * 20 * 20);
  for (int k = 0; k < 20; ++k)
    for (int j = 0; j < 20; ++j)
      for (int i = 0; i < 20; ++i) {
        const bool cord = (i - 10) * (i - 10) + (j - 10) * (j - 10) <= 16;
        data[std::size_t(i + 20 * (j + 20 * k))] = cord ? value(i, j, k) : 0.f;
      }
  const fs::path file = dir.path() / name;
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&header), sizeof header);
  const char extension[4] = {0, 0, 0, 0};
  out.write(extension, 4);
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size() * sizeof(float)));
  return file;
}

// Orientation from the header: NIfTI's +x right, +y anterior, +z superior become the simulation's
// +x, −y (so +y dorsal) and −z (so +z caudal). Gray matter placed at small i (right, through the
// flipped sform) and small j (posterior) lands at +x and +y; the level of small k (inferior, L1)
// comes after the level of large k (superior, T12).
TEST(NiftiAtlas, OrientedFromTheHeader) {
  const TempDir dir;
  write_nifti(dir, "synthetic_cord.nii", [](int, int, int) { return 1.f; });
  write_nifti(dir, "synthetic_gm.nii", [](int i, int j, int) { return i < 10 && j < 10 ? 1.f : 0.f; });
  write_nifti(dir, "synthetic_wm.nii", [](int i, int j, int) { return i < 10 && j < 10 ? 0.f : 1.f; });
  write_nifti(dir, "synthetic_levels.nii", [](int, int, int k) { return k < 10 ? 20.f : 19.f; });
  const LabelledGrid g = build_labelled_grid(*open_geometry(request(dir.path() / "synthetic_cord.nii", 250.0)));
  ASSERT_EQ(g.segments.size(), 2u);
  EXPECT_EQ(g.segments[0].name, "T12");
  EXPECT_EQ(g.segments[1].name, "L1");
  EXPECT_LT(g.segments[0].z_begin_um, g.segments[1].z_begin_um);
  double x = 0, y = 0, cx = 0, cy = 0;
  std::size_t gray = 0, cord = 0;
  const int nx = g.grid.shape[0], ny = g.grid.shape[1];
  for (std::size_t v = 0; v < g.voxels(); ++v) {
    if (!is_parenchyma(g.tissue[v])) continue;
    const double px = g.grid.origin_um[0] + (double(v % std::size_t(nx)) + 0.5) * g.grid.spacing_um[0];
    const double py = g.grid.origin_um[1] + (double((v / std::size_t(nx)) % std::size_t(ny)) + 0.5) * g.grid.spacing_um[1];
    cx += px, cy += py, ++cord;
    if (is_gray(g.tissue[v])) x += px, y += py, ++gray;
  }
  ASSERT_GT(gray, 0u);
  std::printf("synthetic atlas: gray centre at (%+.0f, %+.0f) um from the cord centre\n", x / gray - cx / cord,
              y / gray - cy / cord);
  EXPECT_GT(x / double(gray), cx / double(cord) + 500.0);
  EXPECT_GT(y / double(gray), cy / double(cord) + 500.0);
}

TEST(NiftiAtlas, EmptyCordMaskIsAnInputError) {
  const TempDir dir;
  const fs::path empty = write_nifti(dir, "empty.nii", [](int, int, int) { return 0.f; });
  try {
    open_geometry(request(empty, 250.0));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("empty.nii' has no voxel >= 0.5"), std::string::npos) << e.what();
  }
}

// A bare cord-mask file finds its *_gm, *_wm and *_levels siblings.
TEST(NiftiAtlas, BareCordFileUsesItsSiblings) {
  REQUIRE_PAM50();
  const std::unique_ptr<GeometrySource> source =
      open_geometry(request(kPam50 / "PAM50_cord.nii.gz", 500.0, {"L1", "L1"}));
  ASSERT_EQ(source->segments().size(), 1u);
  EXPECT_EQ(source->segments()[0].name, "L1");
  EXPECT_GT(count_tissue(*source).gray(), 0u);
}

}  // namespace
}  // namespace cordsim::test
