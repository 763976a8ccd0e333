// Checkpoint pieces in-process: the HDF5 writer and reader round-trip every item type in full
// precision; the newest readable checkpoint is found (a damaged newer one is skipped); --resume
// DIR names OUT or OUT.partial; a stepper paused anywhere in an output interval, checkpointed and
// continued on a fresh back end gives the uninterrupted fields bit for bit, for every integrator;
// the field guard names species, voxel and time.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/io/checkpoint.hpp"
#include "host/model/problem.hpp"
#include "host/solver/field_guard.hpp"
#include "host/solver/stepper.hpp"
#include "kernels/backend.hpp"
#include "tests/support/test_support.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

CheckpointHeader header(std::int64_t sequence) {
  CheckpointHeader h;
  h.kind = "transport";
  h.version = "test";
  h.backend = "cpu";
  h.scenario_file = "s.toml";
  h.scenario_text = "[scenario]\nname = \"x\"\n";
  h.scenario_overrides = "run.duration=\"1 s\"";
  h.time_s = 0.1 + 0.2;  // not a short decimal: read back bit for bit
  h.frames = 7;
  h.sequence = sequence;
  h.wall_s = 12.5;
  h.written_at = "2026-01-01T00:00:00Z";
  return h;
}

TEST(Checkpoint, WriterAndReaderRoundTripEveryItemInFullPrecision) {
  const TempDir dir;
  const fs::path file = dir.path() / "c.h5";
  const std::array<int, 3> shape{3, 2, 2};
  const std::vector<float> field{1.f, -0.f, 3.5e-38f, std::numeric_limits<float>::denorm_min(), 5, 6, 7, 8, 9, 10, 11,
                                 1.f / 3.f};
  const std::vector<double> values{1.0 / 3.0, -2.5e-300, std::numeric_limits<double>::quiet_NaN()};
  std::vector<double> field64(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) field64[i] = 1.0 / 3.0 + 1e-12 * double(i);
  {
    CheckpointWriter w(file, header(3), shape);
    w.field("fields/A", field);
    w.field("fields/B", field64);  // float64, as a CORDSIM_DOUBLE build writes its species
    w.scalar("state/x", 2.0 / 3.0);
    w.integer("state/n", -(std::int64_t(1) << 40));
    w.text("state/text", "a,b\n1,2\n");
    w.text("state/empty_text", "");
    w.texts("state/names", {"onset", "", "end_stage"});
    w.texts("state/no_names", {});
    w.doubles("state/values", values);
    w.doubles("state/no_values", {});
    w.integers("state/indices", {0, 3, 5});
    w.close();
  }
  const CheckpointReader r(file);
  EXPECT_EQ(r.header().kind, "transport");
  EXPECT_EQ(r.header().scenario_text, header(3).scenario_text);
  EXPECT_EQ(r.header().scenario_overrides, header(3).scenario_overrides);
  EXPECT_EQ(r.header().time_s, 0.1 + 0.2);
  EXPECT_EQ(r.header().frames, 7);
  EXPECT_EQ(r.header().sequence, 3);
  const std::vector<float> back = r.field("fields/A", field.size());
  EXPECT_EQ(std::memcmp(back.data(), field.data(), field.size() * sizeof(float)), 0);
  // Either precision reads either: exactly in its own, converted across.
  EXPECT_EQ(r.field<double>("fields/B", field64.size()), field64);
  const std::vector<float> b_as_float = r.field("fields/B", field64.size());
  const std::vector<double> a_as_double = r.field<double>("fields/A", field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    EXPECT_EQ(b_as_float[i], float(field64[i]));
    if (i != 3) {  // [3] is a float subnormal: DAZ, set by the CPU back end, may read it as 0
      EXPECT_EQ(a_as_double[i], double(field[i]));
    }
  }
  EXPECT_EQ(r.scalar("state/x"), 2.0 / 3.0);
  EXPECT_EQ(r.integer("state/n"), -(std::int64_t(1) << 40));
  EXPECT_EQ(r.text("state/text"), "a,b\n1,2\n");
  EXPECT_EQ(r.text("state/empty_text"), "");
  EXPECT_EQ(r.texts("state/names"), (std::vector<std::string>{"onset", "", "end_stage"}));
  EXPECT_TRUE(r.texts("state/no_names").empty());
  const std::vector<double> doubles = r.doubles("state/values");
  ASSERT_EQ(doubles.size(), 3u);
  EXPECT_EQ(doubles[0], 1.0 / 3.0);
  EXPECT_EQ(doubles[1], -2.5e-300);
  EXPECT_TRUE(std::isnan(doubles[2]));
  EXPECT_TRUE(r.doubles("state/no_values").empty());
  EXPECT_EQ(r.integers("state/indices"), (std::vector<std::int64_t>{0, 3, 5}));
  EXPECT_TRUE(r.has("state/x"));
  EXPECT_FALSE(r.has("state/missing"));
  EXPECT_FALSE(r.has("nothing/here"));
  try {
    r.scalar("state/missing");
    FAIL() << "no error for a missing item";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no item 'state/missing'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(r.field("fields/A", 5), InputError);
}

TEST(Checkpoint, NewestReadableCheckpointIsFoundAndADamagedOneSkipped) {
  const TempDir dir;
  const fs::path staging = dir.path() / "out.partial";
  fs::create_directories(checkpoint_dir(staging));
  EXPECT_FALSE(open_newest_checkpoint(staging).has_value());
  for (int n : {1, 2}) {
    CheckpointWriter w(checkpoint_dir(staging) / ("checkpoint_00000" + std::to_string(n) + ".h5"), header(n),
                       {1, 1, 1});
    w.close();
  }
  // A newer file that is not a checkpoint (a truncated copy, say), and a leftover temporary file.
  std::ofstream(checkpoint_dir(staging) / "checkpoint_000010.h5") << "not HDF5";
  std::ofstream(checkpoint_dir(staging) / "checkpoint_000011.h5.tmp") << "partial";
  const std::vector<fs::path> files = checkpoint_files(staging);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].filename(), "checkpoint_000010.h5");
  EXPECT_EQ(files[2].filename(), "checkpoint_000001.h5");
  const std::optional<CheckpointReader> newest = open_newest_checkpoint(staging);
  ASSERT_TRUE(newest.has_value());
  EXPECT_EQ(newest->header().sequence, 2);
}

TEST(Checkpoint, ResumeDirectoryMayNameTheOutputOrItsStagingDirectory) {
  EXPECT_EQ(resume_target("runs/a").out_dir, fs::path("runs/a"));
  EXPECT_EQ(resume_target("runs/a").staging, fs::path("runs/a.partial"));
  EXPECT_EQ(resume_target("runs/a.partial/").out_dir, fs::path("runs/a"));
  EXPECT_EQ(resume_target("runs/a.partial").staging, fs::path("runs/a.partial"));
}

TEST(Checkpoint, ACheckpointOfAnotherScenarioIsRefused) {
  const TempDir dir;
  Scenario s = parse_scenario(
      "[scenario]\nname = \"x\"\n[grid]\nshape = [2, 2, 2]\nspacing = \"10 um\"\n[[species]]\nname = \"A\"\n"
      "diffusivity = \"10 um^2/s\"\ndecay = \"0 1/s\"\n[run]\nduration = \"1 s\"\noutput_interval = \"1 s\"\n",
      "x.toml", {"run.duration=\"1 s\""});
  CheckpointHeader h = header(1);
  h.scenario_text = s.text;
  h.scenario_overrides = "run.duration=\"1 s\"";
  {
    CheckpointWriter w(dir.path() / "c.h5", h, {2, 2, 2});
    w.close();
  }
  const CheckpointReader r(dir.path() / "c.h5");
  EXPECT_NO_THROW(check_checkpoint_matches(r, s, "transport", "test"));
  EXPECT_THROW(check_checkpoint_matches(r, s, "als", "test"), InputError);
  Scenario other = s;
  other.overrides = {"run.duration=\"2 s\""};
  try {
    check_checkpoint_matches(r, other, "transport", "test");
    FAIL() << "different overrides accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("run.duration=\"2 s\""), std::string::npos) << e.what();
  }
  other = s;
  other.text += "# changed\n";
  try {
    check_checkpoint_matches(r, other, "transport", "test");
    FAIL() << "different text accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("belongs to another scenario"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("from line 13"), std::string::npos) << e.what();
  }
}

// Five species, one per integrator, in a small box with sources: enough steps per interval that
// a pause can fall inside every species.
const char* kStepperScenario = R"(
[scenario]
name = "pause"
[grid]
shape = [14, 12, 10]
spacing = ["20 um", "20 um", "30 um"]
[[species]]
name = "fe"
diffusivity = "900 um^2/s"
decay = "0.3 1/s"
boundary = { type = "robin", value = "0.2 nM", permeability = "2 um/s" }
initial = { shape = "gaussian", center = ["100 um", "120 um", "150 um"], sigma = "40 um", peak = "2 nM" }
[[species]]
name = "rk"
diffusivity = "900 um^2/s"
decay = "0.1 1/s"
integrator = "rkl2"
time_step = "0.25 s"
initial = { shape = "gaussian", center = ["180 um", "100 um", "150 um"], sigma = "30 um", peak = "1 nM" }
[[species]]
name = "be"
diffusivity = "300 um^2/s"
decay = "0.05 1/s"
integrator = "backward_euler"
time_step = "0.2 s"
boundary = { type = "dirichlet", value = "0 nM" }
initial = { shape = "uniform", value = "0.5 nM" }
[[species]]
name = "cn"
diffusivity = "300 um^2/s"
decay = "0.05 1/s"
integrator = "crank_nicolson"
time_step = "0.25 s"
initial = { shape = "gaussian", center = ["140 um", "120 um", "100 um"], sigma = "50 um", peak = "1 nM" }
[[species]]
name = "qs"
diffusivity = "3000 um^2/s"
decay = "0.7 1/s"
integrator = "quasi_steady"
boundary = { type = "dirichlet", value = "0 nM" }
[[source]]
species = "qs"
shape = "sphere"
center = ["140 um", "120 um", "150 um"]
radius = "40 um"
rate = "3 nM/s"
[[source]]
species = "fe"
shape = "box"
min = ["40 um", "40 um", "60 um"]
max = ["120 um", "100 um", "200 um"]
rate = "0.5 nM/s"
[run]
duration = "3 s"
output_interval = "1.5 s"
)";

// In the back end's storage type (kernels/cell/real.hpp), as a checkpoint holds them.
std::vector<std::vector<real>> fields_of(const Backend& backend, std::size_t species, std::size_t cells) {
  std::vector<std::vector<real>> out(species, std::vector<real>(cells));
  for (std::size_t s = 0; s < species; ++s) backend.get_concentration(int(s), out[s].data());
  return out;
}

TEST(Checkpoint, StepperPausedAnywhereAndContinuedOnAFreshBackEndIsBitwiseIdentical) {
  const Scenario scenario = parse_scenario(kStepperScenario, "pause.toml");
  const Problem problem = build_problem(scenario);
  const std::size_t cells = problem.tissue.size(), n = scenario.species.size();

  auto reference_backend = make_cpu_backend(1);
  Stepper reference(scenario, problem, *reference_backend);
  ASSERT_TRUE(reference.advance(1.5));
  ASSERT_TRUE(reference.advance(1.5));
  const auto expected = fields_of(*reference_backend, n, cells);

  // Pause after the k-th chunk of the second interval, "checkpoint" (fields + state), continue on
  // a new back end and stepper; every k from 1 to the number of chunks.
  for (int k = 1;; ++k) {
    auto backend = make_cpu_backend(1);
    Stepper stepper(scenario, problem, *backend);
    ASSERT_TRUE(stepper.advance(1.5));
    int asked = 0;
    const bool done = stepper.advance(1.5, nullptr, [&] { return ++asked == k; });
    if (done) {
      EXPECT_GT(k, 6) << "too few pause points to cover every species";
      break;
    }
    const Stepper::State state = stepper.state();
    EXPECT_EQ(state.interval_s, 1.5);
    const auto saved = fields_of(*backend, n, cells);

    auto fresh_backend = make_cpu_backend(1);
    Stepper fresh(scenario, problem, *fresh_backend);
    for (std::size_t s = 0; s < n; ++s) fresh_backend->set_concentration(int(s), saved[s].data());
    fresh.restore(state);
    ASSERT_TRUE(fresh.advance(1.5));
    EXPECT_EQ(fresh.time(), reference.time());
    EXPECT_EQ(fresh.total_steps(), reference.total_steps()) << "pause " << k;
    const auto got = fields_of(*fresh_backend, n, cells);
    for (std::size_t s = 0; s < n; ++s) {
      EXPECT_EQ(std::memcmp(got[s].data(), expected[s].data(), cells * sizeof(real)), 0)
          << "species " << scenario.species[s].name << ", pause " << k;
      EXPECT_EQ(fresh.species_info()[s].last_solve.iterations, reference.species_info()[s].last_solve.iterations);
    }
  }
}

TEST(FieldGuard, NonFiniteAndNegativeValuesNameSpeciesVoxelAndTime) {
  Scenario scenario = parse_scenario(kStepperScenario, "pause.toml");
  const std::size_t nx = 14, ny = 12;
  const std::vector<std::uint8_t> tissue(14 * 12 * 10, 1);
  FieldGuard guard(scenario, tissue);
  std::vector<float> field(tissue.size(), 1.f);
  EXPECT_NO_THROW(guard.check(0, field.data(), 0.0));
  const std::size_t v = 3 + nx * (4 + ny * 5);  // (i, j, k) = (3, 4, 5)
  field[v] = std::numeric_limits<float>::quiet_NaN();
  try {
    guard.check(0, field.data(), 1.5);
    FAIL() << "NaN not found";
  } catch (const FieldError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("species 'fe' is not finite (nan nM)"), std::string::npos) << m;
    EXPECT_NE(m.find("(i, j, k) = (3, 4, 5), centre (70, 90, 165) um"), std::string::npos) << m;
    EXPECT_NE(m.find("t = 1.5 s"), std::string::npos) << m;
  }
  field[v] = -0.0005f;  // within −1e-3 × max: rounding noise, accepted
  EXPECT_NO_THROW(guard.check(0, field.data(), 2.0));
  field[v] = -0.5f;
  field[v + 1] = -0.25f;
  try {
    guard.check(1, field.data(), 2.0);
    FAIL() << "negative value not found";
  } catch (const FieldError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("species 'rk' is negative (-0.5 nM)"), std::string::npos) << m;
    EXPECT_NE(m.find("(3, 4, 5)"), std::string::npos) << m;
    EXPECT_NE(m.find("(and 1 more voxel)"), std::string::npos) << m;
  }
  // Crank–Nicolson may ring below zero: warned about, not stopped.
  EXPECT_NO_THROW(guard.check(3, field.data(), 2.0));
  // Outside the tissue nothing is checked.
  std::vector<std::uint8_t> mask = tissue;
  mask[v] = mask[v + 1] = 0;
  FieldGuard masked(scenario, mask);
  EXPECT_NO_THROW(masked.check(1, field.data(), 2.0));
}

}  // namespace
}  // namespace cordsim
