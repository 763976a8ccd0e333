// Runs the real cordsim binary on bad input (tests/data/bad/*.toml, a missing file, bad --set
// overrides) and checks that it fails cleanly: non-zero exit without a crash, a message that
// names the offending key or file, and no output directory (final or staging) left behind.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

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
};

class BadInput : public ::testing::Test {
 protected:
  // `cordsim run <scenario> --out <tmp>/out [extra...]`, bounded by `timeout` so that input the
  // binary wrongly accepts cannot hang the test suite.
  test::CommandResult run_cordsim(const fs::path& scenario, const std::vector<std::string>& extra = {}) {
    std::string command = "timeout 300 " + test::shell_quote(CORDSIM_EXE) + " run " +
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

  fs::path out() const { return tmp_.path() / "out"; }

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
