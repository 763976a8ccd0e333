// `cordsim mesh` as a user runs it: --dry-run prints the grid, voxel counts per tissue class and
// memory and writes nothing; a real run writes HDF5 + XDMF + one PNG per segment; bad input
// exits with code 2 and one message.
#include "host/io/run_output.hpp"
#include "kernels/cell/real.hpp"
#include "tests/geometry/geometry_fixtures.hpp"

namespace cordsim::test {
namespace {

using Result = CommandResult;

CommandResult cordsim(const std::string& arguments) { return run_cordsim(arguments); }

// The count printed for a tissue class, e.g. the "ventral horn" row.
long long printed_count(const std::string& output, const std::string& row) {
  const std::size_t at = output.find("\n" + row + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(output.substr(at + 1 + row.size()));
}

TEST(MeshCommand, DryRunPrintsCountsAndMemoryAndWritesNothing) {
  const TempDir dir;
  const fs::path out = dir.path() / "rat";
  const Result r = cordsim("mesh " + (kMeshes / "rat_lumbar.toml").string() + " --voxel 40um --dry-run --out " + out.string());
  std::printf("%s", r.output.c_str());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("grid: 90 x 67 x 440 voxels of 40 x 40 x 40 um = 2653200 voxels"), std::string::npos);
  // The printed counts are those of the labelled grid.
  const TissueCounts counts = count_tissue(*open_geometry(request(kMeshes / "rat_lumbar.toml", 40.0)));
  for (int c = 0; c < kTissueClasses; ++c) {
    EXPECT_EQ(printed_count(r.output, tissue_name(Tissue(c))), (long long)counts.per_class[std::size_t(c)])
        << tissue_name(Tissue(c));
  }
  EXPECT_GT(counts.per_class[std::size_t(Tissue::motor_neuron_pool)], 0u);
  // 2,653,200 voxels × 29 bytes (one species) = 73.4 MiB; 57 bytes, 144.2 MiB, with float64 storage
  // (CORDSIM_DOUBLE, kernels/cell/real.hpp).
  char memory[128];
  std::snprintf(memory, sizeof memory,
                "memory of a run (back end, explicit path: %zu bytes/voxel/species + 1): 1 species %.1f MiB",
                7 * sizeof(real), 2653200.0 * double(7 * sizeof(real) + 1) / 1048576.0);
  EXPECT_NE(r.output.find(memory), std::string::npos) << memory;
  EXPECT_FALSE(fs::exists(out));
}

TEST(MeshCommand, WritesLabelledGridAndCrossSections) {
  const TempDir dir;
  const fs::path out = dir.path() / "mouse";
  const Result r = cordsim("mesh " + (kMeshes / "mouse_lumbar.toml").string() + " --voxel 40um --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* segment : {"L1", "L2", "L3", "L4", "L5", "L6"}) {
    const fs::path png = out / (std::string("cross_section_") + segment + ".png");
    ASSERT_TRUE(fs::exists(png)) << png;
    EXPECT_EQ(read_text(png).substr(1, 3), "PNG");
  }
  EXPECT_NE(read_text(out / "cordsim.xdmf").find("cordsim.h5:/grid/tissue_label"), std::string::npos);
  const LabelledGrid g = build_labelled_grid(*open_geometry(request(kMeshes / "mouse_lumbar.toml", 40.0)));
  const std::vector<float> labels = read_grid_dataset(out / "cordsim.h5", "/grid/tissue_label", g.grid.shape);
  ASSERT_EQ(labels.size(), g.voxels());
  for (std::size_t v = 0; v < labels.size(); ++v) ASSERT_EQ(labels[v], float(g.tissue[v])) << v;
  const std::vector<float> pools = read_grid_dataset(out / "cordsim.h5", "/grid/motor_neuron_density", g.grid.shape);
  for (std::size_t v = 0; v < labels.size(); ++v) {
    ASSERT_EQ(pools[v] > 0, g.tissue[v] == std::uint8_t(Tissue::motor_neuron_pool)) << v;
  }
}

TEST(MeshCommand, BadInputExitsWithCodeTwo) {
  const TempDir dir;
  const fs::path out = dir.path() / "never";
  const Result missing = cordsim("mesh " + (dir.path() / "none.nii.gz").string() + " --out " + out.string());
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.output.find("cordsim: error: cannot open geometry"), std::string::npos) << missing.output;
  const Result voxel = cordsim("mesh " + (kMeshes / "rat_lumbar.toml").string() + " --voxel 20 --out " + out.string());
  EXPECT_EQ(voxel.status, 2);
  EXPECT_NE(voxel.output.find("--voxel 20: value without unit"), std::string::npos) << voxel.output;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(dir.path() / "never.partial"));
}

}  // namespace
}  // namespace cordsim::test
