// Runs the real cordsim binary on bad input (tests/data/bad/*.toml, a missing file, bad --set
// overrides) and checks that it fails cleanly: non-zero exit without a crash, a message that
// names the offending key or file, and no output directory (final or staging) left behind.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cell/real.hpp"
#include "tests/support/test_support.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

const fs::path kBadDir = fs::path(CORDSIM_TEST_DATA) / "bad";

// Every file in tests/data/bad must be exercised by one of the tests below.
const std::set<std::string> kBadFiles = {
    "unknown_key.toml",
    "missing_key.toml",
    "value_without_unit.toml",
    "wrong_unit.toml",
    "negative_diffusivity.toml",
    "negative_decay.toml",
    "negative_spacing.toml",
    "zero_spacing.toml",
    "unstable_time_step.toml",
    "missing_hdf5_initial.toml",
    "syntax_error.toml",
    "unknown_species_source.toml",
    "too_many_frames.toml",
    "too_many_time_steps.toml",
    "too_many_checkpoints.toml",
    "too_many_explicit_steps.toml",
    "huge_diffusivity.toml",
    "tiny_stable_step.toml",
    "huge_output.toml",
    "huge_grid_memory.toml",
};

// What check_run_memory counts for `species` species on the CPU back end: 7 arrays of `real` and
// the mask on the back end, 7 floats and the mask on the host (host/solver/stepper.hpp).
std::string bytes_per_voxel(std::size_t species) {
  return std::to_string(7 * sizeof(real) * species + 1 + 28 * species + 1) + " bytes";
}

class BadInput : public ::testing::Test {
 protected:
  // `cordsim run <scenario> --out <tmp>/out [extra...]`, bounded by `timeout` so that input the
  // binary wrongly accepts cannot hang the test suite.
  // `environment`: "NAME=value " words put before the command.
  test::CommandResult run_cordsim(const fs::path& scenario, const std::vector<std::string>& extra = {},
                                  const std::string& environment = "") {
    std::string command = environment + "timeout 300 " + test::shell_quote(CORDSIM_EXE) + " run " +
                          test::shell_quote(scenario.string()) + " --out " + test::shell_quote(out().string());
    for (const std::string& argument : extra) command += " " + test::shell_quote(argument);
    return test::run_shell(command + " < /dev/null");
  }

  // The binary rejected the input: an ordinary failure exit, every `mentions` in its output, and
  // no output left behind.
  void expect_rejected(const fs::path& scenario, const std::vector<std::string>& mentions,
                       const std::vector<std::string>& extra = {}) {
    ASSERT_TRUE(fs::exists(CORDSIM_EXE)) << "cordsim binary not built: " << CORDSIM_EXE;
    const test::CommandResult result = run_cordsim(scenario, extra);
    SCOPED_TRACE("cordsim output:\n" + result.output);
    EXPECT_NE(result.status, 0) << "cordsim accepted bad input";
    // timeout(1) uses 124 for a timeout, 125-127 when the command cannot run, 128+n for signal n.
    EXPECT_TRUE(result.status > 0 && result.status < 124)
        << "cordsim did not exit normally with an error (status " << result.status << ")";
    for (const std::string& part : mentions) {
      EXPECT_NE(result.output.find(part), std::string::npos) << "output does not mention '" << part
                                                             << "'";
    }
    EXPECT_FALSE(fs::exists(out())) << out() << " was left behind";
    EXPECT_FALSE(fs::exists(out().string() + ".partial")) << out() << ".partial was left behind";
  }

  // Refused as bad input (exit 2) from the scenario's numbers alone: within a few seconds, before
  // the back end was set up ("back end:" is logged once it is), and with no output left behind.
  void expect_refused_before_work(const fs::path& scenario, const std::vector<std::string>& mentions,
                                  const std::vector<std::string>& extra = {}, const std::string& environment = "") {
    ASSERT_TRUE(fs::exists(CORDSIM_EXE)) << "cordsim binary not built: " << CORDSIM_EXE;
    const auto began = std::chrono::steady_clock::now();
    const test::CommandResult result = run_cordsim(scenario, extra, environment);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    SCOPED_TRACE("cordsim output:\n" + result.output);
    EXPECT_EQ(result.status, 2) << "not refused as bad input";
    EXPECT_LT(seconds, 5.0) << "the refusal took " << seconds << " s";
    EXPECT_EQ(result.output.find("back end:"), std::string::npos) << "the run got as far as its back end";
    for (const std::string& part : mentions) {
      EXPECT_NE(result.output.find(part), std::string::npos) << "output does not mention '" << part << "'";
    }
    EXPECT_FALSE(fs::exists(out())) << out() << " was left behind";
    EXPECT_FALSE(fs::exists(out().string() + ".partial")) << out() << ".partial was left behind";
  }

  fs::path out() const { return tmp_.path() / "out"; }
  const fs::path& tmp() const { return tmp_.path(); }

 private:
  test::TempDir tmp_{"cordsim_bad_input"};
};

TEST(BadInputData, EveryFileHasATest) {
  std::set<std::string> present;
  for (const fs::directory_entry& entry : fs::directory_iterator(kBadDir)) {
    if (entry.path().extension() == ".toml") present.insert(entry.path().filename().string());
  }
  EXPECT_EQ(present, kBadFiles);
}

TEST_F(BadInput, UnknownKey) {
  expect_rejected(kBadDir / "unknown_key.toml",
                  {"unknown_key.toml:7: grid.spaceing", "unknown key"});
}

TEST_F(BadInput, MissingKey) {
  expect_rejected(kBadDir / "missing_key.toml",
                  {"missing_key.toml:14: run.duration", "missing required key"});
}

TEST_F(BadInput, ValueWithoutUnit) {
  expect_rejected(kBadDir / "value_without_unit.toml",
                  {"value_without_unit.toml:12: species[NO].decay = 0.7", "value without unit"});
}

TEST_F(BadInput, WrongUnitDimension) {
  expect_rejected(kBadDir / "wrong_unit.toml",
                  {"wrong_unit.toml:11: species[NO].diffusivity = \"3300 um/s\"", "wrong unit"});
}

TEST_F(BadInput, NegativeDiffusivity) {
  expect_rejected(kBadDir / "negative_diffusivity.toml",
                  {"negative_diffusivity.toml:11: species[NO].diffusivity = \"-3 um^2/s\""});
}

TEST_F(BadInput, NegativeDecay) {
  expect_rejected(kBadDir / "negative_decay.toml",
                  {"negative_decay.toml:12: species[NO].decay = \"-0.7 1/s\""});
}

TEST_F(BadInput, NegativeSpacing) {
  expect_rejected(kBadDir / "negative_spacing.toml",
                  {"negative_spacing.toml:7: grid.spacing = \"-10 um\""});
}

TEST_F(BadInput, ZeroSpacing) {
  expect_rejected(kBadDir / "zero_spacing.toml",
                  {"zero_spacing.toml:7: grid.spacing[1] = \"0 um\""});
}

TEST_F(BadInput, UnstableExplicitTimeStep) {
  expect_rejected(kBadDir / "unstable_time_step.toml",
                  {"unstable_time_step.toml:17: run.time_step = \"1 s\"", "stability"});
}

TEST_F(BadInput, MissingHdf5InitialField) {
  expect_rejected(kBadDir / "missing_hdf5_initial.toml",
                  {"species[NO].initial.file", "no_such_initial_field.h5"});
}

TEST_F(BadInput, TomlSyntaxError) {
  expect_rejected(kBadDir / "syntax_error.toml", {"syntax_error.toml:12:", "TOML syntax error"});
}

TEST_F(BadInput, MissingScenarioFile) {
  expect_rejected(kBadDir / "does_not_exist.toml",
                  {"cannot open scenario file", "does_not_exist.toml"});
}

TEST_F(BadInput, SourceForUnknownSpecies) {
  expect_rejected(kBadDir / "unknown_species_source.toml",
                  {"unknown_species_source.toml:15: source[0].species = \"TNF\"",
                   "unknown species"});
}

// Counts that do not fit (README, "Bad input"): refused with the key and its line, not wrapped
// into a run that "succeeds" with the t = 0 frame alone (as 1e300 frames and 1e20 steps did).
TEST_F(BadInput, TooManyOutputFrames) {
  expect_refused_before_work(kBadDir / "too_many_frames.toml",
                             {"too_many_frames.toml:17: run.output_interval = \"1 s\"", "1e+300 output frames",
                              "run.duration = \"1e300 s\" (", "more than the 10000000"});
}

TEST_F(BadInput, TooManyOutputFramesFromASetOverride) {
  expect_refused_before_work(kBadDir / "too_many_frames.toml", {"run.output_interval", "1e+11 output frames",
                                                                 "run.duration = \"1e11 s\" (--set)"},
                             {"--set", "run.duration=\"1e11 s\""});
}

TEST_F(BadInput, TooManyFixedTimeSteps) {
  expect_refused_before_work(kBadDir / "too_many_time_steps.toml",
                             {"too_many_time_steps.toml:18: run.time_step = \"1e-20 s\"", "1e+20 steps",
                              "more than the 1e+15 stencil sweeps"});
}

TEST_F(BadInput, TooManyCheckpoints) {
  expect_refused_before_work(kBadDir / "too_many_checkpoints.toml",
                             {"too_many_checkpoints.toml:18: run.checkpoint_interval = \"1e-300 s\"",
                              "checkpoint intervals", "more than the 10000000"});
}

// The parse-time bound on the stable step passes it; the assembled operator's limit does not.
TEST_F(BadInput, TooManyStepsAtTheAssembledOperatorsLimit) {
  expect_rejected(kBadDir / "too_many_explicit_steps.toml",
                  {"species 'NO'", "steps, more than the 1e+15 stencil sweeps"});
  EXPECT_EQ(run_cordsim(kBadDir / "too_many_explicit_steps.toml").status, 2);
}

// Values that overflow the float32 inputs, or a stable step absurdly small for the run, are
// refused at input time instead of turning the fields into NaN at t = 1 s.
TEST_F(BadInput, DiffusivityBeyondFloat32) {
  expect_refused_before_work(kBadDir / "huge_diffusivity.toml",
                             {"huge_diffusivity.toml:12: species[NO].diffusivity = \"1e300 um^2/s\"",
                              "the largest float32"});
}

TEST_F(BadInput, StableStepAbsurdlySmallForTheRun) {
  expect_refused_before_work(kBadDir / "tiny_stable_step.toml",
                             {"tiny_stable_step.toml:13: species[NO].diffusivity = \"1e18 um^2/s\"",
                              "explicit stable step", "forward-Euler steps, more than the 1e+15"});
}

// About 10 TB of output: the disk-space estimate refuses it before the problem is built.
TEST_F(BadInput, OutputLargerThanTheDiskBeforeAnyWork) {
  expect_refused_before_work(kBadDir / "huge_output.toml", {"output: the run would write up to", "MiB are free"});
}

// 1290^3 voxels of 16 species (about 1.8 TiB, 2.6 with CORDSIM_DOUBLE): refused by the memory estimate before anything is
// allocated. CORDSIM_MEMORY_LIMIT_BYTES caps MemAvailable at 1 TiB, so that no machine runs it.
TEST_F(BadInput, GridLargerThanTheMemoryBeforeAnyAllocation) {
  expect_refused_before_work(kBadDir / "huge_grid_memory.toml",
                             {"scenario 'bad_huge_grid_memory' (1290 x 1290 x 1290 voxels, 16 species)",
                              "(2146689000 voxels x " + bytes_per_voxel(16) + ")", "GiB of memory is available"},
                             {}, "CORDSIM_MEMORY_LIMIT_BYTES=1099511627776 ");
}

// The brief's case: the demo on 1290^3 voxels (340 GiB) with the real MemAvailable, when this
// machine has less than that (else the test says so and stops: the run would really start).
TEST_F(BadInput, DemoOnAHugeGridIsRefusedForMemory) {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0;
  while (meminfo >> key >> kib && key != "MemAvailable:") meminfo.ignore(1 << 10, '\n');
  if (key == "MemAvailable:" && kib * 1024.0 > 300e9) GTEST_SKIP() << "this machine has " << kib << " KiB available";
  expect_refused_before_work(fs::path(CORDSIM_SOURCE_DIR) / "scenarios" / "demo.toml",
                             {"scenario 'demo' (1290 x 1290 x 1290 voxels, 3 species)",
                              "(2146689000 voxels x " + bytes_per_voxel(3) + ")", "(MemAvailable of /proc/meminfo)"},
                             {"--set", "grid.shape=[1290,1290,1290]"});
}

// CORDSIM_MEMORY_LIMIT_BYTES caps the memory a run may use: an 8^3 run (58 bytes per voxel,
// 29 KiB; 86 with CORDSIM_DOUBLE) is refused below that and runs above it.
TEST_F(BadInput, MemoryLimitFromTheEnvironment) {
  const fs::path small = tmp() / "small.toml";
  test::write_text(small,
                   "[scenario]\nname = \"small\"\n[grid]\nshape = [8, 8, 8]\nspacing = \"10 um\"\n"
                   "[[species]]\nname = \"NO\"\ndiffusivity = \"3300 um^2/s\"\ndecay = \"0.7 1/s\"\n"
                   "[run]\nduration = \"0.05 s\"\noutput_interval = \"0.05 s\"\n[output]\nvtk = false\n");
  expect_refused_before_work(small, {"(512 voxels x " + bytes_per_voxel(1) + ")", "(CORDSIM_MEMORY_LIMIT_BYTES=20000)"},
                             {}, "CORDSIM_MEMORY_LIMIT_BYTES=20000 ");
  const test::CommandResult runs = run_cordsim(small, {}, "CORDSIM_MEMORY_LIMIT_BYTES=10000000 ");
  EXPECT_EQ(runs.status, 0) << runs.output;
  fs::remove_all(out());
  const test::CommandResult malformed = run_cordsim(small, {}, "CORDSIM_MEMORY_LIMIT_BYTES=lots ");
  EXPECT_EQ(malformed.status, 2) << malformed.output;
  EXPECT_NE(malformed.output.find("CORDSIM_MEMORY_LIMIT_BYTES='lots': expected a whole number of bytes"),
            std::string::npos)
      << malformed.output;
}

// The demo scenario itself is valid; only the override is wrong.
TEST_F(BadInput, SetOverrideNamingAnUnknownSpecies) {
  expect_rejected(fs::path(CORDSIM_SOURCE_DIR) / "scenarios" / "demo.toml",
                  {"--set", "species.NOPE.decay", "no species named 'NOPE'"},
                  {"--set", "species.NOPE.decay=\"1 1/s\""});
}

TEST_F(BadInput, SetOverrideWithoutEqualsSign) {
  expect_rejected(fs::path(CORDSIM_SOURCE_DIR) / "scenarios" / "demo.toml",
                  {"--set", "run.duration", "key=value"}, {"--set", "run.duration"});
}

}  // namespace
}  // namespace cordsim
