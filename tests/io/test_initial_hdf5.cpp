// Initial fields and tissue masks read from HDF5: a run continued from another run's output
// (its field at t = 1 s and its tissue mask) reproduces the uninterrupted run bitwise (to float32
// round-off in a CORDSIM_DOUBLE build, whose output frames round its float64 state).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "host/io/run_output.hpp"
#include "kernels/cell/real.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cordsim;

namespace {

const char* kScenario = R"(
[scenario]
name = "chain"
[grid]
shape = [24, 20, 16]
spacing = ["10 um", "10 um", "20 um"]
origin = ["0 um", "0 um", "0 um"]
[tissue]
%TISSUE%
[[species]]
name = "A"
diffusivity = "500 um^2/s"
diffusivity_axial = "900 um^2/s"
decay = "0.2 1/s"
boundary = { type = "robin", value = "0.1 nM", permeability = "3 um/s" }
%INITIAL%
[[source]]
species = "A"
shape = "sphere"
center = ["120 um", "100 um", "160 um"]
radius = "30 um"
rate = "0.5 nM/s"
[run]
duration = "%DURATION%"
output_interval = "1 s"
)";

std::string fill(std::string text, const std::string& key, const std::string& value) {
  text.replace(text.find(key), key.size(), value);
  return text;
}

// Runs from the directory above the scenario's, with relative paths, so that the scenario's
// relative HDF5 paths must be resolved against the scenario's own directory.
int run(const fs::path& scenario, const fs::path& out) {
  const fs::path base = scenario.parent_path().parent_path();
  const cordsim::test::CommandResult r =
      cordsim::test::run_cordsim("run --backend cpu " + cordsim::test::shell_quote(fs::relative(scenario, base).string()) +
                                     " --out " + cordsim::test::shell_quote(fs::relative(out, base).string()),
                                 base);
  cordsim::test::write_text(out.string() + ".log", r.output);
  return r.status;
}

}  // namespace

TEST(InitialFieldFromHdf5, ContinuingFromAnOutputFrameMatchesTheUninterruptedRun) {
  const cordsim::test::TempDir scratch("cordsim_chain");
  const fs::path& dir = scratch.path();
  std::string first = fill(kScenario, "%TISSUE%",
                           "shape = \"ellipsoid\"\ncenter = [\"120 um\", \"100 um\", \"160 um\"]\n"
                           "semi_axes = [\"110 um\", \"90 um\", \"150 um\"]");
  first = fill(first, "%INITIAL%",
               "initial = { shape = \"gaussian\", center = [\"90 um\", \"110 um\", \"150 um\"], sigma = \"40 um\", "
               "peak = \"2 nM\", background = \"0.1 nM\" }");
  std::ofstream(dir / "whole.toml") << fill(first, "%DURATION%", "2 s");
  ASSERT_EQ(run(dir / "whole.toml", dir / "whole"), 0);

  std::string second = fill(kScenario, "%TISSUE%",
                            "shape = \"hdf5\"\nfile = \"whole/cordsim.h5\"\ndataset = \"/grid/tissue_mask\"");
  second = fill(second, "%INITIAL%",
                "initial = { shape = \"hdf5\", file = \"whole/cordsim.h5\", dataset = \"/fields/A/000001\" }");
  std::ofstream(dir / "continued.toml") << fill(second, "%DURATION%", "1 s");
  ASSERT_EQ(run(dir / "continued.toml", dir / "continued"), 0);

  const std::array<int, 3> shape{24, 20, 16};
  const std::vector<float> whole = read_grid_dataset(dir / "whole" / "cordsim.h5", "/fields/A/000002", shape);
  const std::vector<float> continued = read_grid_dataset(dir / "continued" / "cordsim.h5", "/fields/A/000001", shape);
  const std::vector<float> mask_whole = read_grid_dataset(dir / "whole" / "cordsim.h5", "/grid/tissue_mask", shape);
  const std::vector<float> mask_continued = read_grid_dataset(dir / "continued" / "cordsim.h5", "/grid/tissue_mask", shape);
  EXPECT_EQ(mask_whole, mask_continued);
  ASSERT_EQ(whole.size(), continued.size());
  if (sizeof(real) == sizeof(float)) {
    EXPECT_EQ(std::memcmp(whole.data(), continued.data(), whole.size() * sizeof(float)), 0);
  } else {
    // float64 storage (CORDSIM_DOUBLE): the frame the second run starts from is the float32 rounding
    // of the first run's state, so the two agree to float32 round-off only.
    float peak = 0.f, worst = 0.f;
    for (std::size_t v = 0; v < whole.size(); ++v) {
      peak = std::max(peak, std::abs(whole[v]));
      worst = std::max(worst, std::abs(whole[v] - continued[v]));
    }
    EXPECT_LE(worst, 1e-6f * peak) << worst << " of " << peak;
  }
  // The field is not trivial: the run changed it and the mask excludes voxels.
  const std::vector<float> start = read_grid_dataset(dir / "whole" / "cordsim.h5", "/fields/A/000000", shape);
  EXPECT_NE(start, whole);
  EXPECT_LT(std::count(mask_whole.begin(), mask_whole.end(), 1.f), long(mask_whole.size()));
  fs::remove_all(dir);
}
