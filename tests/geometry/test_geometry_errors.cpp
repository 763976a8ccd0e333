// Bad geometry input gives one clear InputError naming the file, line, key or value.
#include <climits>
#include <functional>

#include "host/config/scenario.hpp"
#include "host/model/problem.hpp"
#include "tests/geometry/geometry_fixtures.hpp"

namespace cordsim::test {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

std::string open_error(const fs::path& mesh, double voxel_um = 40.0, std::vector<std::string> segments = {}) {
  return error_of([&] { open_geometry(request(mesh, voxel_um, std::move(segments))); });
}

// The rat mesh with `from` replaced by `to`, written to a temporary file.
fs::path edited_rat_mesh(const TempDir& dir, const std::string& from, const std::string& to) {
  std::string text = read_text(kMeshes / "rat_lumbar.toml");
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  return dir.write("mesh.toml", text);
}

TEST(GeometryErrors, MeshFileMistakesNameFileLineAndKey) {
  const TempDir dir;
  const fs::path unitless = edited_rat_mesh(dir, "length = \"2.7 mm\"", "length = 2.7");
  {
    const std::string e = open_error(unitless);
    EXPECT_NE(e.find("mesh.toml:"), std::string::npos) << e;
    EXPECT_NE(e.find("segment[L4].length = 2.7: value without unit"), std::string::npos) << e;
  }
  const std::string unknown = open_error(edited_rat_mesh(dir, "white_rim = 0.06", "white_rimm = 0.06"));
  EXPECT_NE(unknown.find("cord.white_rimm: unknown key"), std::string::npos) << unknown;
  const std::string missing = open_error(edited_rat_mesh(dir, "gray_fraction = 0.46 ", "# "));
  EXPECT_NE(missing.find("segment[L4].gray_fraction: missing required key"), std::string::npos) << missing;
  const std::string wrong_unit = open_error(edited_rat_mesh(dir, "\"2.45 mm\"", "\"2.45 s\""));
  EXPECT_NE(wrong_unit.find("dorsoventral_width = \"2.45 s\": wrong unit"), std::string::npos) << wrong_unit;
  const std::string unreachable = open_error(edited_rat_mesh(dir, "gray_fraction = 0.46", "gray_fraction = 0.89"));
  EXPECT_NE(unreachable.find("segment[L4].gray_fraction = 0.89: not reachable"), std::string::npos) << unreachable;
}

TEST(GeometryErrors, MissingOrCorruptFiles) {
  const TempDir dir;
  const std::string missing = open_error(dir.path() / "nowhere.toml");
  EXPECT_NE(missing.find("nowhere.toml': no such file"), std::string::npos) << missing;
  const std::string missing_nifti = open_error(dir.path() / "cord.nii.gz");
  EXPECT_NE(missing_nifti.find("cord.nii.gz': no such file"), std::string::npos) << missing_nifti;
  const fs::path corrupt = dir.write("corrupt_cord.nii.gz", std::string(400, 'x'));
  const std::string bad = open_error(corrupt);
  EXPECT_NE(bad.find("cannot read NIfTI file"), std::string::npos) << bad;
  const fs::path atlas = dir.write("atlas.toml", "[mesh]\nkind = \"atlas\"\nname = \"a\"\n[atlas]\ncord = \"gone.nii.gz\"\n");
  const std::string named = open_error(atlas);
  EXPECT_NE(named.find("atlas.toml:5: atlas.cord = \"gone.nii.gz\": file"), std::string::npos) << named;
}

TEST(GeometryErrors, VoxelSizesGivingEmptyOrHugeGrids) {
  const fs::path rat = kMeshes / "rat_lumbar.toml";
  const std::string huge = open_error(rat, 0.5);
  EXPECT_NE(huge.find("more than the 2147483647 supported"), std::string::npos) << huge;
  // A 10 mm voxel: one voxel across, whose centre lies on the cord axis, in the central canal,
  // which is not simulated: no parenchyma.
  const std::string empty = error_of([&] { build_labelled_grid(*open_geometry(request(rat, 10000.0))); });
  EXPECT_NE(empty.find("no voxel centre of the 1x1x2 grid lies in the parenchyma"), std::string::npos) << empty;
  const std::string memory = error_of([] { check_memory(std::uint64_t(1) << 40, 57.0, "a test grid"); });
  EXPECT_NE(memory.find("a test grid needs"), std::string::npos) << memory;
  EXPECT_NE(memory.find("GiB of memory is available"), std::string::npos) << memory;
  const std::string segment = open_error(rat, 40.0, {"L7", "L7"});
  EXPECT_NE(segment.find("unknown segment 'L7'"), std::string::npos) << segment;
  const std::string order = open_error(rat, 40.0, {"L5", "L3"});
  EXPECT_NE(order.find("must not lie caudal"), std::string::npos) << order;
}

// Exactly one of [grid] and [geometry].
TEST(GeometryErrors, ScenarioGivesExactlyOneOfGridAndGeometry) {
  const TempDir dir;
  const std::string mesh = (kMeshes / "rat_lumbar.toml").string();
  const std::string species = "[[species]]\nname = \"NO\"\ndiffusivity = \"3300 um^2/s\"\ndecay = \"0.7 1/s\"\n"
                              "[run]\nduration = \"1 s\"\noutput_interval = \"1 s\"\n";
  const std::string geometry = "[geometry]\nmesh = \"" + mesh + "\"\nvoxel = \"50 um\"\n";
  const std::string grid = "[grid]\nshape = [4, 4, 4]\nspacing = \"10 um\"\n";
  const auto parse_error = [&](const std::string& text) {
    return error_of([&] { parse_scenario(text, (dir.path() / "s.toml").string()); });
  };
  const std::string both = parse_error("[scenario]\nname = \"x\"\n" + grid + geometry + species);
  EXPECT_NE(both.find("s.toml:3: grid: not allowed with [geometry] (at "), std::string::npos) << both;
  const std::string neither = parse_error("[scenario]\nname = \"x\"\n" + species);
  EXPECT_NE(neither.find("missing required table [grid] (or a [geometry]"), std::string::npos) << neither;
  const std::string voxel = parse_error("[scenario]\nname = \"x\"\n[geometry]\nmesh = \"" + mesh +
                                        "\"\nvoxel = 50\n" + species);
  EXPECT_NE(voxel.find("s.toml:5: geometry.voxel = 50: value without unit"), std::string::npos) << voxel;
  const std::string file = parse_error("[scenario]\nname = \"x\"\n[geometry]\nmesh = \"nope.toml\"\nvoxel = \"50 um\"\n" + species);
  EXPECT_NE(file.find("s.toml:4: geometry.mesh = \"nope.toml\": file"), std::string::npos) << file;
}

// The runnable scenario: its grid comes from the mesh, its tissue mask from the labels, and its
// point sources sit in the ventral horns.
TEST(GeometryScenario, RatLumbarNoUsesTheLabels) {
  Scenario scenario = load_scenario((fs::path(CORDSIM_SOURCE_DIR) / "scenarios" / "rat_lumbar_no.toml").string());
  ASSERT_TRUE(scenario.geometry);
  resolve_geometry(scenario);
  EXPECT_EQ(scenario.grid.spacing_um[0], 50.0);
  const Problem problem = build_problem(scenario);
  ASSERT_EQ(problem.labels.voxels(), problem.tissue.size());
  for (std::size_t v = 0; v < problem.tissue.size(); ++v) {
    ASSERT_EQ(problem.tissue[v], std::uint8_t(is_parenchyma(problem.labels.tissue[v]))) << v;
  }
  const auto& source = problem.species[0].source;
  int in_ventral_horn = 0;
  for (std::size_t v = 0; v < source.size(); ++v) {
    if (source[v] <= 0.f) continue;
    const std::uint8_t t = problem.labels.tissue[v];
    in_ventral_horn += t == std::uint8_t(Tissue::ventral_horn) || t == std::uint8_t(Tissue::motor_neuron_pool);
  }
  EXPECT_EQ(in_ventral_horn, 3);
}

}  // namespace
}  // namespace cordsim::test
