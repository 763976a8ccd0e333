// The [output] table: which fields, precision, HDF5 compression, VTK on/off; the expected output
// size and the refusal to start a run whose output cannot fit on the disk.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "host/io/run_output.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cordsim;

namespace {

const char* kScenario = R"(
[scenario]
name = "controls"
[grid]
shape = [12, 10, 8]
spacing = "10 um"
[[species]]
name = "A"
diffusivity = "100 um^2/s"
decay = "0.1 1/s"
initial = { shape = "uniform", value = "1 nM" }
[[species]]
name = "B"
diffusivity = "50 um^2/s"
decay = "0.2 1/s"
initial = { shape = "uniform", value = "2 nM" }
[run]
duration = "1 s"
output_interval = "0.5 s"
)";

using test::TempDir;

// Runs cordsim on `scenario` into `out`, its output in `out`.log; returns the exit status.
int run(const fs::path& scenario, const fs::path& out, const std::string& extra = "") {
  const test::CommandResult r = test::run_cordsim(
      "run --backend cpu " + test::shell_quote(scenario.string()) + " --out " + test::shell_quote(out.string()) + " " + extra);
  test::write_text(out.string() + ".log", r.output);
  return r.status;
}

std::string read(const fs::path& path) { return test::read_text(path); }

}  // namespace

TEST(OutputControls, FieldsPrecisionCompressionAndNoVtk) {
  TempDir dir;
  std::ofstream(dir.path() / "s.toml") << kScenario
                                    << "[output]\nfields = [\"B\"]\nprecision = \"float64\"\ncompression = 4\nvtk = false\n";
  ASSERT_EQ(run(dir.path() / "s.toml", dir.path() / "out"), 0) << read(dir.path() / "out.log");
  const fs::path h5 = dir.path() / "out" / "cordsim.h5";
  const hid_t file = H5Fopen(h5.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  EXPECT_LE(H5Lexists(file, "/fields/A", H5P_DEFAULT), 0) << "A was not asked for";
  const hid_t dset = H5Dopen2(file, "/fields/B/000002", H5P_DEFAULT);
  ASSERT_GE(dset, 0);
  const hid_t type = H5Dget_type(dset);
  EXPECT_EQ(H5Tget_size(type), 8u);
  const hid_t dcpl = H5Dget_create_plist(dset);
  EXPECT_EQ(H5Pget_layout(dcpl), H5D_CHUNKED);
  EXPECT_EQ(H5Pget_nfilters(dcpl), 1);
  unsigned flags = 0, level = 0;
  std::size_t n_values = 1;
  char name[32];
  EXPECT_EQ(H5Pget_filter2(dcpl, 0, &flags, &n_values, &level, sizeof name, name, nullptr), H5Z_FILTER_DEFLATE);
  EXPECT_EQ(level, 4u);
  double value = 0;
  hsize_t one = 1;
  const hid_t mem = H5Screate_simple(1, &one, nullptr);
  const hid_t space = H5Dget_space(dset);
  const hsize_t start[3] = {0, 0, 0}, count[3] = {1, 1, 1};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  H5Dread(dset, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, &value);
  // A uniform field under no-flux walls only decays: forward Euler with its chosen step of 0.25 s
  // (2 per 0.5 s interval, from 0.9 × the limit 1/(6D/h² + k) = 0.3125 s) gives 2·(1 − 0.2·0.25)⁴.
  EXPECT_NEAR(value, 2.0 * std::pow(1.0 - 0.2 * 0.25, 4), 1e-6);
  H5Sclose(space);
  H5Sclose(mem);
  H5Pclose(dcpl);
  H5Tclose(type);
  H5Dclose(dset);
  H5Fclose(file);
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "cordsim.pvd"));
  EXPECT_FALSE(fs::exists(dir.path() / "out" / "vtk"));
  EXPECT_NE(read(dir.path() / "out" / "cordsim.xdmf").find("Precision=\"8\""), std::string::npos);
  // The totals still cover every species.
  EXPECT_NE(read(dir.path() / "out" / "mass_budget.csv").find("A_total_amol,B_total_amol"), std::string::npos);
  // The expected size was printed before the run.
  EXPECT_NE(read(dir.path() / "out.log").find("output: 3 frames of 1 field(s), float64, HDF5 (gzip 4); at most"),
            std::string::npos)
      << read(dir.path() / "out.log");
}

TEST(OutputControls, ExpectedBytesCountFramesFieldsPrecisionAndVtk) {
  Scenario s;
  s.grid.shape = {10, 10, 10};
  s.output.vtk = false;
  // The static bytes per voxel given, plus one byte of ghost flags (vtkGhostType).
  EXPECT_EQ(expected_output_bytes(s, 2, 5, 1), 5u * 2 * 1000 * 4 + 2000);
  s.output.float64 = true;
  s.output.vtk = true;
  EXPECT_EQ(expected_output_bytes(s, 2, 5, 3), 5u * 2 * 1000 * 8 + 4000 + 5u * (2 * 1000 * 8 + 4000));
}

TEST(OutputControls, RunThatCannotFitOnTheDiskStopsBeforeItStarts) {
  EXPECT_THROW(check_disk_space(fs::temp_directory_path() / "not_yet" / "out", std::uintmax_t(1) << 62), InputError);
  try {
    check_disk_space(fs::temp_directory_path(), std::uintmax_t(1) << 62);
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("MiB are free"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(check_disk_space(fs::temp_directory_path(), 1024));
}

TEST(OutputControls, BadOutputKeysAreInputErrors) {
  TempDir dir;
  const std::pair<const char*, const char*> cases[] = {
      {"fields = [\"C\"]", "output.fields[0]"},
      {"compression = 12", "output.compression"},
      {"precision = \"half\"", "output.precision"},
      {"vtk = \"yes\"", "output.vtk"},
      {"format = \"vtk\"", "output.format"},
  };
  for (const auto& [line, key] : cases) {
    std::ofstream(dir.path() / "bad.toml") << kScenario << "[output]\n" << line << "\n";
    const fs::path out = dir.path() / "bad_out";
    EXPECT_EQ(run(dir.path() / "bad.toml", out), 2) << line;
    EXPECT_NE(read(dir.path() / "bad_out.log").find(key), std::string::npos) << read(dir.path() / "bad_out.log");
    EXPECT_FALSE(fs::exists(out));
  }
}
