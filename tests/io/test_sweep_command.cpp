// `cordsim sweep` and `cordsim validate` as a user (or a cluster job array) runs them: rows run into
// DIR/<name>/row_NNNN with row.json and summary.json, a finished row is not run again, --collect
// merges the finished rows into one CSV and reports the missing ones; validate prints the derived
// numbers of the demo and exits 0, and exits 2 with one line on a bad scenario, writing nothing.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "host/io/summary.hpp"
#include "kernels/cell/real.hpp"
#include "tests/support/test_support.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

const fs::path& kSource = test::kSourceDir;
using test::lines_of;
using test::read_text;
using test::TempDir;
using Result = test::CommandResult;

// Runs cordsim in `cwd`, so that default output directories land there.
Result cordsim(const std::string& arguments, const fs::path& cwd) { return test::run_cordsim(arguments, cwd); }

// Three rows of the demo on a 100 µm grid for 10 simulated seconds: well under a second each.
std::string tiny_sweep() {
  return "[sweep]\nname = \"tiny\"\nscenario = \"" + (kSource / "scenarios/demo.toml").string() + R"("
[set]
grid.shape = [36, 26, 12]
grid.spacing = ["100 um", "100 um", "200 um"]
run.duration = "10 s"
output.vtk = false
[vary]
species.NO.decay = ["0.35 1/s", "0.7 1/s", "1.4 1/s"]
)";
}

TEST(SweepCommand, IndexRunsRowsAndCollectMergesTheFinishedOnes) {
  const TempDir dir;
  std::ofstream(dir.path() / "tiny.toml") << tiny_sweep();
  const fs::path root = dir.path() / "tiny_sweep" / "tiny";  // the default DIR is ./<name>_sweep

  const Result listed = cordsim("sweep tiny.toml --list", dir.path());
  ASSERT_EQ(listed.status, 0) << listed.output;
  EXPECT_NE(listed.output.find("    2  -      species.NO.decay=\"1.4 1/s\""), std::string::npos) << listed.output;

  for (const char* index : {"0", "2"}) {
    const Result r = cordsim(std::string("sweep tiny.toml --backend cpu --threads 1 --index ") + index, dir.path());
    ASSERT_EQ(r.status, 0) << r.output;
  }
  EXPECT_FALSE(fs::exists(root / "row_0001"));
  const RunSummary row = read_flat_json(root / "row_0002" / "row.json");
  EXPECT_EQ(std::get<double>(*row.find("row")), 2.0);
  EXPECT_EQ(std::get<std::string>(*row.find("species.NO.decay")), "1.4 1/s");
  EXPECT_NE(std::get<std::string>(*row.find("command")).find("--set 'species.NO.decay=\"1.4 1/s\"'"),
            std::string::npos);
  const RunSummary summary = read_flat_json(root / "row_0002" / "summary.json");
  EXPECT_EQ(std::get<std::string>(*summary.find("scenario")), "demo");
  EXPECT_EQ(std::get<double>(*summary.find("final_time_s")), 10.0);
  EXPECT_GT(std::get<double>(*summary.find("total_NO_ymol")), 0.0);
  EXPECT_GT(std::get<double>(*summary.find("max_NO_nM")), 0.0);
  EXPECT_NE(summary.find("wall_time_s"), nullptr);

  // A requeued task finds its row finished and leaves it as it is.
  const auto written = fs::last_write_time(root / "row_0002" / "summary.json");
  const Result again = cordsim("sweep tiny.toml --backend cpu --index 2", dir.path());
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("already finished"), std::string::npos) << again.output;
  EXPECT_EQ(fs::last_write_time(root / "row_0002" / "summary.json"), written);

  const Result collected = cordsim("sweep tiny.toml --collect", dir.path());
  ASSERT_EQ(collected.status, 0) << collected.output;
  EXPECT_NE(collected.output.find("1 of 3 rows not finished: 1"), std::string::npos) << collected.output;
  EXPECT_NE(collected.output.find("collected 2 of 3 rows"), std::string::npos) << collected.output;
  const std::vector<std::string> csv = lines_of(read_text(root / "sweep_results.csv"));
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_EQ(csv[0].rfind("row,label,species.NO.decay [1/s],scenario,final_time_s,wall_time_s,", 0), 0u) << csv[0];
  EXPECT_NE(csv[0].find(",total_NO_ymol,max_NO_nM,"), std::string::npos) << csv[0];
  EXPECT_EQ(csv[1].rfind("0,,0.35,demo,10,", 0), 0u) << csv[1];
  EXPECT_EQ(csv[2].rfind("2,,1.4,demo,10,", 0), 0u) << csv[2];
  // Faster decay leaves less NO in the tissue: the column is the runs' own result.
  const auto total_no = [&](const std::string& line) {
    std::vector<std::string> cells;
    std::istringstream in(line);
    for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
    std::vector<std::string> names;
    std::istringstream h(csv[0]);
    for (std::string name; std::getline(h, name, ',');) names.push_back(name);
    for (std::size_t c = 0; c < names.size(); ++c)
      if (names[c] == "total_NO_ymol") return std::stod(cells.at(c));
    return -1.0;
  };
  EXPECT_GT(total_no(csv[1]), total_no(csv[2]));
}

// A table over the demo in which rows leave keys that others vary: every cell of sweep_results.csv
// holds the value the row ran with, the base scenario's where the row does not set the key.
TEST(SweepCommand, CollectShowsTheEffectiveValueOfEveryVariedKeyInEveryRow) {
  const TempDir dir;
  std::ofstream(dir.path() / "arms.toml") << "[sweep]\nname = \"arms\"\nscenario = \"" +
                                                 (kSource / "scenarios/demo.toml").string() + R"("
[set]
grid.shape = [36, 26, 12]
grid.spacing = ["100 um", "100 um", "200 um"]
run.duration = "10 s"
output.vtk = false
[[row]]
label = "control"
[[row]]
label = "fast decay"
species.NO.decay = "1.4 1/s"
[[row]]
label = "weak source"
source.0.rate = "0.25 amol/s"
)";
  const fs::path root = dir.path() / "arms_sweep" / "arms";
  for (const char* index : {"0", "1", "2"}) {
    const Result r = cordsim(std::string("sweep arms.toml --backend cpu --threads 1 --index ") + index, dir.path());
    ASSERT_EQ(r.status, 0) << r.output;
  }
  // row.json records the base values too; the command stays the row's own overrides.
  const RunSummary control = read_flat_json(root / "row_0000" / "row.json");
  EXPECT_EQ(std::get<std::string>(*control.find("species.NO.decay")), "0.7 1/s");
  EXPECT_EQ(std::get<std::string>(*control.find("source.0.rate")), "0.5 amol/s");
  EXPECT_EQ(std::get<std::string>(*control.find("command")).find("species.NO.decay"), std::string::npos);

  const auto expect_table = [&] {
    const Result collected = cordsim("sweep arms.toml --collect", dir.path());
    ASSERT_EQ(collected.status, 0) << collected.output;
    EXPECT_EQ(collected.output.find("ran with"), std::string::npos) << collected.output;
    const std::vector<std::string> csv = lines_of(read_text(root / "sweep_results.csv"));
    ASSERT_EQ(csv.size(), 4u);
    EXPECT_EQ(csv[0].rfind("row,label,species.NO.decay [1/s],source.0.rate [amol/s],scenario,", 0), 0u) << csv[0];
    EXPECT_EQ(csv[1].rfind("0,control,0.7,0.5,demo,", 0), 0u) << csv[1];
    EXPECT_EQ(csv[2].rfind("1,fast decay,1.4,0.5,demo,", 0), 0u) << csv[2];
    EXPECT_EQ(csv[3].rfind("2,weak source,0.7,0.25,demo,", 0), 0u) << csv[3];
  };
  expect_table();

  // A row.json without the base values (written by an earlier cordsim): the base scenario's
  // value stands in.
  RunSummary old;
  const RunSummary recorded = read_flat_json(root / "row_0002" / "row.json");
  for (const auto& [key, value] : recorded.entries()) {
    if (key == "species.NO.decay") continue;
    if (const auto* text = std::get_if<std::string>(&value)) old.add(key, *text);
    else old.add(key, std::get<double>(value));
  }
  old.write(root / "row_0002", "row.json");
  ASSERT_EQ(read_flat_json(root / "row_0002" / "row.json").find("species.NO.decay"), nullptr);
  expect_table();
}

TEST(SweepCommand, OutOfRangeIndexAndNothingToCollectAreBadInput) {
  const TempDir dir;
  std::ofstream(dir.path() / "tiny.toml") << tiny_sweep();
  const Result out_of_range = cordsim("sweep tiny.toml --index 3 --out runs", dir.path());
  EXPECT_EQ(out_of_range.status, 2) << out_of_range.output;
  EXPECT_EQ(out_of_range.output,
            "cordsim: error: --index 3: out of range: sweep 'tiny' (tiny.toml) has 3 rows (0 to 2)\n");
  const Result nothing = cordsim("sweep tiny.toml --collect --out runs", dir.path());
  EXPECT_EQ(nothing.status, 2) << nothing.output;
  EXPECT_NE(nothing.output.find("no finished row of sweep 'tiny' under 'runs/tiny'"), std::string::npos)
      << nothing.output;
  EXPECT_FALSE(fs::exists(dir.path() / "runs"));
  const Result no_mode = cordsim("sweep tiny.toml", dir.path());
  EXPECT_EQ(no_mode.status, 1) << no_mode.output;
}

TEST(ValidateCommand, DemoPrintsTheDerivedNumbersAndWritesNothing) {
  const TempDir dir;
  const Result r = cordsim("validate " + (kSource / "scenarios/demo.toml").string() + " --threads 1", dir.path());
  ASSERT_EQ(r.status, 0) << r.output;
  // 3 species of 7 arrays + the mask: 85 bytes/voxel, or 169 with float64 storage (CORDSIM_DOUBLE).
  char memory[64];
  const std::size_t bytes = 3 * 7 * sizeof(real) + 1;
  std::snprintf(memory, sizeof memory, "memory: back end %.1f MiB (%zu bytes/voxel)",
                718848.0 * double(bytes) / 1048576.0, bytes);
  for (const char* expected : {
           "scenario 'demo' (",
           "grid: 144 x 104 x 48 voxels of 25 x 25 x 50 um = 718848 voxels; 513024 tissue voxels (71.4%)",
           static_cast<const char*>(memory),
           "stability limits: from the assembled operator on the cpu",
           "species NO: forward Euler; stability limit 0.02752 s; step 0.02475 s, 404 steps per output interval; "
           "4848 stencil sweeps",
           "species neurturin: forward Euler; stability limit 13.89 s; step 10 s, 1 steps per output interval",
           "output: 13 frames of 3 field(s), float32, HDF5 + VTK; at most",
           "run time: about 4.88e+03 stencil sweeps x 718848 voxels",
           "run time at 1e+10 voxel updates/s (a fast CPU node; docs/numerics.md): about 0.35 s",
       }) {
    EXPECT_NE(r.output.find(expected), std::string::npos) << expected << "\n" << r.output;
  }
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// 1e8 s of the demo: 4.06e9 sweeps of 718848 voxels, 2.92e15 voxel updates, 3.4 days even at
// 1e10 updates/s: a warning, and the estimate; still valid (exit 0).
TEST(ValidateCommand, WarnsWhenTheRunWouldTakeMoreThanADay) {
  const TempDir dir;
  const Result r = cordsim("validate " + (kSource / "scenarios/demo.toml").string() +
                               " --set 'run.duration=\"1e8 s\"' --set 'run.output_interval=\"1e6 s\"'",
                           dir.path());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("run time at 1e+10 voxel updates/s (a fast CPU node; docs/numerics.md): about 3.4 d"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("warning: the run would take more than a day (about 3.4 d at 1e+10 voxel updates/s, "
                          "2.92e+15 voxel updates)"),
            std::string::npos)
      << r.output;
}

// Counts that do not fit are refused by validate too, at once (1e12 s every 10 s used to make it
// build an output-time list of 1e11 entries, which never finished).
TEST(ValidateCommand, RefusesCountsThatDoNotFit) {
  const TempDir dir;
  const auto began = std::chrono::steady_clock::now();
  const Result r = cordsim("validate " + (kSource / "scenarios/demo.toml").string() + " --set 'run.duration=\"1e12 s\"'",
                           dir.path());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(), 5.0);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("run.output_interval = \"10 s\": 1e+11 output frames over run.duration = \"1e12 s\" "
                          "(--set): more than the 10000000"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(lines_of(r.output).size(), 1u) << r.output;
}

// A run that does not fit in the memory available (capped here by CORDSIM_MEMORY_LIMIT_BYTES):
// validate warns and does not build it; --full refuses to build it.
TEST(ValidateCommand, WarnsWhenTheRunDoesNotFitInMemory) {
  const TempDir dir;
  const std::string validate = "cd " + test::shell_quote(dir.path().string()) +
                               " && CORDSIM_MEMORY_LIMIT_BYTES=100000000 " + CORDSIM_EXE + " validate " +
                               test::shell_quote((kSource / "scenarios/demo.toml").string());
  const Result r = test::run_shell(validate);
  ASSERT_EQ(r.status, 0) << r.output;
  // 0.11 GiB (0.17 with CORDSIM_DOUBLE) against 0.09 GiB.
  EXPECT_NE(r.output.find("warning: the run needs 0.1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" GiB (back end and host arrays) but only 0.09 GiB of memory is available here "
                          "(CORDSIM_MEMORY_LIMIT_BYTES=100000000): `cordsim run` refuses it"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("stability limits: interior-voxel estimate"), std::string::npos) << r.output;
  const Result full = test::run_shell(validate + " --full");
  EXPECT_EQ(full.status, 2) << full.output;
  EXPECT_NE(full.output.find("validate --full: the problem of scenario 'demo' needs 0.1"), std::string::npos)
      << full.output;
}

TEST(ValidateCommand, LargeGridGetsTheInteriorEstimateWithoutBuildingTheProblem) {
  const TempDir dir;
  // 320 x 320 x 160 voxels: 16 M, 2.7 GiB for back end and host arrays; only the mask is built.
  const Result r = cordsim("validate " + (kSource / "scenarios/demo.toml").string() +
                               " --set grid.shape=[320,320,160] --set 'grid.spacing=\"12.5 um\"'",
                           dir.path());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("stability limits: interior-voxel estimate"), std::string::npos) << r.output;
  // 1 / (2·3300·3/12.5² + 0.7) = 0.007848 s.
  EXPECT_NE(r.output.find("species NO: forward Euler; stability limit ~0.007848 s"), std::string::npos) << r.output;
}

TEST(ValidateCommand, BadScenarioExitsWithCodeTwoAndOneLine) {
  const TempDir dir;
  const Result unknown = cordsim("validate " + (kSource / "tests/data/bad/unknown_key.toml").string(), dir.path());
  EXPECT_EQ(unknown.status, 2) << unknown.output;
  EXPECT_EQ(unknown.output.rfind("cordsim: error: ", 0), 0u) << unknown.output;
  EXPECT_EQ(lines_of(unknown.output).size(), 1u) << unknown.output;
  const Result unstable = cordsim("validate " + (kSource / "scenarios/demo.toml").string() +
                                      " --set 'run.time_step=\"1 s\"'",
                                  dir.path());
  EXPECT_EQ(unstable.status, 2) << unstable.output;
  EXPECT_NE(unstable.output.find("run.time_step = \"1 s\": exceeds the explicit stability limit 0.02752 s"),
            std::string::npos)
      << unstable.output;
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

}  // namespace
}  // namespace cordsim
