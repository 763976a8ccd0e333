// Scenario loading: the demo scenario, defaults, --set overrides, and one test per kind of bad
// input, each checking that the message names the file, line, key and value.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/solver/stepper.hpp"
#include "kernels/cell/real.hpp"
#include "tests/support/test_support.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

constexpr char kLabel[] = "t.toml";

// A small valid scenario; tests edit single lines of it.
const std::string kMinimal = R"(# minimal scenario for the config tests
[scenario]
name = "minimal"

[grid]
shape = [8, 6, 4]
spacing = "10 um"

[[species]]
name = "NO"
diffusivity = "3300 um^2/s"
decay = "0.7 1/s"

[run]
duration = "1 s"
output_interval = "0.5 s"
)";

using test::read_text;
using test::TempDir;

// `text` with the first occurrence of `from` replaced by `to`.
std::string edit(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "test bug: '" << from << "' is not in the scenario";
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// "t.toml:<line>" for the line on which `needle` first appears.
std::string at_line_of(const std::string& text, const std::string& needle) {
  const std::size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << "test bug: '" << needle << "' is not in the scenario";
  const long line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n');
  return std::string(kLabel) + ":" + std::to_string(line) + ":";
}

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    parse_scenario(text, kLabel, overrides);
    ADD_FAILURE() << "expected an InputError for:\n" << text;
  } catch (const InputError& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message spans lines: " << message;
    return message;
  }
  return {};
}

testing::AssertionResult mentions(const std::string& message, const std::string& part) {
  if (message.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "message \"" << message << "\" does not mention \"" << part
                                     << "\"";
}

// ---- valid input ------------------------------------------------------------------------------

TEST(Scenario, DemoParsesWithExpectedValues) {
  const std::string path = CORDSIM_SOURCE_DIR "/scenarios/demo.toml";
  const Scenario s = load_scenario(path);
  EXPECT_EQ(s.file, path);
  EXPECT_EQ(s.text, read_text(path));
  EXPECT_TRUE(s.overrides.empty());
  EXPECT_EQ(s.name, "demo");
  EXPECT_FALSE(s.description.empty());

  EXPECT_EQ(s.grid.shape, (std::array<int, 3>{144, 104, 48}));
  EXPECT_EQ(s.grid.spacing_um, (Vec3{25, 25, 50}));
  EXPECT_EQ(s.grid.origin_um, (Vec3{0, 0, 0}));

  EXPECT_EQ(s.tissue.shape, TissueSpec::Shape::elliptic_cylinder);
  EXPECT_DOUBLE_EQ(s.tissue.center_um[0], 1800);
  EXPECT_DOUBLE_EQ(s.tissue.center_um[1], 1300);
  EXPECT_DOUBLE_EQ(s.tissue.semi_axes_um[0], 1700);
  EXPECT_DOUBLE_EQ(s.tissue.semi_axes_um[1], 1250);

  ASSERT_EQ(s.species.size(), 3u);
  const SpeciesSpec& no = s.species[0];
  EXPECT_EQ(no.name, "NO");
  EXPECT_DOUBLE_EQ(no.diffusivity_um2_per_s, 3300);
  EXPECT_DOUBLE_EQ(no.diffusivity_axial_um2_per_s, 3300);
  EXPECT_DOUBLE_EQ(no.decay_per_s, 0.7);
  EXPECT_EQ(no.boundary.kind, BoundarySpec::Kind::dirichlet);
  EXPECT_DOUBLE_EQ(no.boundary.value_nM, 0);
  EXPECT_EQ(no.initial.shape, InitialFieldSpec::Shape::uniform);
  EXPECT_DOUBLE_EQ(no.initial.value_nM, 0);

  const SpeciesSpec& tnf = s.species[1];
  EXPECT_EQ(tnf.name, "TNF");
  EXPECT_DOUBLE_EQ(tnf.diffusivity_um2_per_s, 23);
  EXPECT_DOUBLE_EQ(tnf.diffusivity_axial_um2_per_s, 30);
  EXPECT_DOUBLE_EQ(tnf.decay_per_s, 2e-4);
  EXPECT_EQ(tnf.boundary.kind, BoundarySpec::Kind::robin);
  EXPECT_DOUBLE_EQ(tnf.boundary.permeability_um_per_s, 0.05);
  EXPECT_DOUBLE_EQ(tnf.boundary.value_nM, 0);
  EXPECT_DOUBLE_EQ(tnf.initial.value_nM, 0.005);

  const SpeciesSpec& ntn = s.species[2];
  EXPECT_EQ(ntn.name, "neurturin");
  EXPECT_DOUBLE_EQ(ntn.decay_per_s, 2e-5);
  EXPECT_EQ(ntn.boundary.kind, BoundarySpec::Kind::no_flux);
  EXPECT_EQ(ntn.initial.shape, InitialFieldSpec::Shape::gaussian);
  EXPECT_EQ(ntn.initial.center_um, (Vec3{2400, 1900, 1200}));
  EXPECT_DOUBLE_EQ(ntn.initial.sigma_um, 150);
  EXPECT_DOUBLE_EQ(ntn.initial.peak_nM, 0.05);
  EXPECT_DOUBLE_EQ(ntn.initial.value_nM, 0);

  ASSERT_EQ(s.sources.size(), 3u);
  EXPECT_EQ(s.sources[0].species, "NO");
  EXPECT_EQ(s.sources[0].shape, SourceSpec::Shape::point);
  EXPECT_EQ(s.sources[0].center_um, (Vec3{1200, 1900, 1200}));
  EXPECT_EQ(s.sources[0].rate_kind, SourceSpec::Rate::total);
  EXPECT_DOUBLE_EQ(s.sources[0].rate, 5e5);  // 0.5 amol/s in ymol/s
  EXPECT_EQ(s.sources[1].shape, SourceSpec::Shape::sphere);
  EXPECT_DOUBLE_EQ(s.sources[1].radius_um, 150);
  EXPECT_EQ(s.sources[1].rate_kind, SourceSpec::Rate::volumetric);
  EXPECT_DOUBLE_EQ(s.sources[1].rate, 2);
  EXPECT_EQ(s.sources[2].species, "TNF");
  EXPECT_EQ(s.sources[2].shape, SourceSpec::Shape::box);
  EXPECT_EQ(s.sources[2].box_min_um, (Vec3{950, 1650, 400}));
  EXPECT_EQ(s.sources[2].box_max_um, (Vec3{1400, 2050, 2000}));
  EXPECT_DOUBLE_EQ(s.sources[2].rate, 1e-5);

  EXPECT_DOUBLE_EQ(s.run.duration_s, 120);
  EXPECT_DOUBLE_EQ(s.run.output_interval_s, 10);
  EXPECT_FALSE(s.run.time_step_s.has_value());
  EXPECT_DOUBLE_EQ(s.run.stability_safety, 0.9);
}

TEST(Scenario, DefaultsOfOptionalKeys) {
  const Scenario s = parse_scenario(kMinimal, kLabel);
  EXPECT_EQ(s.file, kLabel);
  EXPECT_EQ(s.text, kMinimal);
  EXPECT_TRUE(s.description.empty());
  EXPECT_EQ(s.grid.spacing_um, (Vec3{10, 10, 10}));
  EXPECT_EQ(s.grid.origin_um, (Vec3{0, 0, 0}));
  EXPECT_EQ(s.tissue.shape, TissueSpec::Shape::all);
  ASSERT_EQ(s.species.size(), 1u);
  EXPECT_DOUBLE_EQ(s.species[0].diffusivity_axial_um2_per_s, 3300);
  EXPECT_EQ(s.species[0].boundary.kind, BoundarySpec::Kind::no_flux);
  EXPECT_EQ(s.species[0].initial.shape, InitialFieldSpec::Shape::uniform);
  EXPECT_DOUBLE_EQ(s.species[0].initial.value_nM, 0);
  EXPECT_TRUE(s.sources.empty());
  EXPECT_FALSE(s.run.time_step_s.has_value());
  EXPECT_DOUBLE_EQ(s.run.stability_safety, 0.9);
}

TEST(Scenario, TimeStepRecordsWhereItWasGiven) {
  const std::string text =
      edit(kMinimal, "output_interval = \"0.5 s\"",
           "output_interval = \"0.5 s\"\ntime_step = \"2 ms\"\nstability_safety = 1");
  const Scenario s = parse_scenario(text, kLabel);
  ASSERT_TRUE(s.run.time_step_s.has_value());
  EXPECT_DOUBLE_EQ(*s.run.time_step_s, 0.002);
  EXPECT_EQ(s.run.time_step_source.file, kLabel);
  EXPECT_EQ(s.run.time_step_source.line, 17);
  EXPECT_EQ(s.run.time_step_source.key, "run.time_step");
  EXPECT_EQ(s.run.time_step_source.value, "\"2 ms\"");
  EXPECT_DOUBLE_EQ(s.run.stability_safety, 1.0);
}

TEST(Scenario, SpeciesIntegratorAndOwnTimeStep) {
  const std::string text =
      edit(kMinimal, "decay = \"0.7 1/s\"", "decay = \"0.7 1/s\"\nintegrator = \"rkl2\"\ntime_step = \"0.5 s\"");
  const Scenario s = parse_scenario(text, kLabel);
  EXPECT_EQ(s.species[0].integrator, SpeciesSpec::Integrator::rkl2);
  ASSERT_TRUE(s.species[0].time_step_s.has_value());
  EXPECT_DOUBLE_EQ(*s.species[0].time_step_s, 0.5);
  EXPECT_EQ(s.species[0].time_step_source.key, "species[NO].time_step");
  EXPECT_EQ(s.species[0].time_step_source.line, 14);
}

TEST(ScenarioErrors, Rkl2WithoutTimeStep) {
  const std::string text = edit(kMinimal, "decay = \"0.7 1/s\"", "decay = \"0.7 1/s\"\nintegrator = \"rkl2\"");
  const std::string message = error_of(text);
  EXPECT_TRUE(mentions(message, "species[NO].integrator"));
  EXPECT_TRUE(mentions(message, "species[NO].time_step"));
  EXPECT_TRUE(mentions(message, at_line_of(text, "integrator")));
}

TEST(ScenarioErrors, UnknownIntegrator) {
  const std::string text = edit(kMinimal, "decay = \"0.7 1/s\"", "decay = \"0.7 1/s\"\nintegrator = \"rk4\"");
  EXPECT_TRUE(mentions(error_of(text), "species[NO].integrator"));
}

TEST(Scenario, EllipsoidTissueAndOrigin) {
  const std::string text = edit(kMinimal, "spacing = \"10 um\"",
                                "spacing = [\"10 um\", \"20 um\", \"0.05 mm\"]\n"
                                "origin = [\"-40 um\", \"0 um\", \"1 mm\"]\n"
                                "[tissue]\nshape = \"ellipsoid\"\n"
                                "center = [\"40 um\", \"60 um\", \"100 um\"]\n"
                                "semi_axes = [\"30 um\", \"50 um\", \"80 um\"]");
  const Scenario s = parse_scenario(text, kLabel);
  EXPECT_EQ(s.grid.spacing_um, (Vec3{10, 20, 50}));
  EXPECT_EQ(s.grid.origin_um, (Vec3{-40, 0, 1000}));
  EXPECT_EQ(s.tissue.shape, TissueSpec::Shape::ellipsoid);
  EXPECT_EQ(s.tissue.center_um, (Vec3{40, 60, 100}));
  EXPECT_EQ(s.tissue.semi_axes_um, (Vec3{30, 50, 80}));
}

TEST(Scenario, CosineInitialField) {
  const std::string text =
      edit(kMinimal, "decay = \"0.7 1/s\"",
           "decay = \"0 1/s\"\ninitial = { shape = \"cosine\", amplitude = \"-2 nM\", "
           "background = \"1 uM\", modes = [1, 0, 2] }");
  const Scenario s = parse_scenario(text, kLabel);
  const InitialFieldSpec& initial = s.species[0].initial;
  EXPECT_EQ(initial.shape, InitialFieldSpec::Shape::cosine);
  EXPECT_DOUBLE_EQ(initial.amplitude_nM, -2);
  EXPECT_DOUBLE_EQ(initial.value_nM, 1000);
  EXPECT_EQ(initial.modes, (std::array<int, 3>{1, 0, 2}));
}

TEST(Scenario, Hdf5PathsResolveAgainstTheScenarioDirectory) {
  const TempDir dir;
  dir.write("mask.h5", "");
  dir.write("start.h5", "");
  const std::string text =
      edit(edit(kMinimal, "[[species]]",
                "[tissue]\nshape = \"hdf5\"\nfile = \"mask.h5\"\ndataset = \"/mask\"\n\n"
                "[[species]]"),
           "decay = \"0.7 1/s\"",
           "decay = \"0.7 1/s\"\ninitial = { shape = \"hdf5\", file = \"start.h5\", "
           "dataset = \"/NO\" }");
  const fs::path scenario_path = dir.write("scenario.toml", text);
  const Scenario s = load_scenario(scenario_path.string());
  EXPECT_EQ(s.tissue.shape, TissueSpec::Shape::hdf5);
  EXPECT_EQ(fs::path(s.tissue.file), dir.path() / "mask.h5");
  EXPECT_EQ(s.tissue.dataset, "/mask");
  EXPECT_EQ(s.species[0].initial.shape, InitialFieldSpec::Shape::hdf5);
  EXPECT_EQ(fs::path(s.species[0].initial.file), dir.path() / "start.h5");
  EXPECT_EQ(s.species[0].initial.dataset, "/NO");
}

TEST(Scenario, RobinBoundaryAndSources) {
  const std::string text =
      edit(kMinimal, "decay = \"0.7 1/s\"",
           "decay = \"0.7 1/s\"\n"
           "boundary = { type = \"robin\", value = \"1 pM\", permeability = \"1 mm/min\" }\n"
           "[[source]]\nspecies = \"NO\"\nshape = \"sphere\"\ncenter = [\"1 um\", \"2 um\", "
           "\"3 um\"]\nradius = \"5 um\"\nrate = \"1 fmol/s\"");
  const Scenario s = parse_scenario(text, kLabel);
  EXPECT_EQ(s.species[0].boundary.kind, BoundarySpec::Kind::robin);
  EXPECT_DOUBLE_EQ(s.species[0].boundary.value_nM, 1e-3);
  EXPECT_DOUBLE_EQ(s.species[0].boundary.permeability_um_per_s, 1000.0 / 60.0);
  ASSERT_EQ(s.sources.size(), 1u);
  EXPECT_EQ(s.sources[0].rate_kind, SourceSpec::Rate::total);
  EXPECT_DOUBLE_EQ(s.sources[0].rate, 1e9);
}

// ---- overrides --------------------------------------------------------------------------------

TEST(ScenarioOverrides, ApplyOnTopOfTheFile) {
  const std::vector<std::string> overrides = {
      "grid.shape=[32,32,32]",       "grid.spacing = \"5 um\"", "run.duration=2 min",
      "run.output_interval=\"1 min\"", "species.NO.decay=\"1 1/s\"", "source.1.rate=\"3 nM/s\"",
      "species[TNF].diffusivity_axial=\"40 um^2/s\""};
  const Scenario s = load_scenario(CORDSIM_SOURCE_DIR "/scenarios/demo.toml", overrides);
  EXPECT_EQ(s.overrides, overrides);
  EXPECT_EQ(s.grid.shape, (std::array<int, 3>{32, 32, 32}));
  EXPECT_EQ(s.grid.spacing_um, (Vec3{5, 5, 5}));
  EXPECT_DOUBLE_EQ(s.run.duration_s, 120);
  EXPECT_DOUBLE_EQ(s.run.output_interval_s, 60);
  EXPECT_DOUBLE_EQ(s.species[0].decay_per_s, 1);
  EXPECT_DOUBLE_EQ(s.species[1].diffusivity_axial_um2_per_s, 40);
  EXPECT_DOUBLE_EQ(s.sources[1].rate, 3);
  EXPECT_EQ(s.sources[1].rate_kind, SourceSpec::Rate::volumetric);
}

TEST(ScenarioOverrides, CanAddKeysAndTables) {
  const Scenario s =
      parse_scenario(kMinimal, kLabel,
                     {"run.time_step=\"1 ms\"", "tissue.shape=\"ellipsoid\"",
                      "tissue.center=[\"1 um\",\"2 um\",\"3 um\"]",
                      "tissue.semi_axes=[\"4 um\",\"5 um\",\"6 um\"]"});
  ASSERT_TRUE(s.run.time_step_s.has_value());
  EXPECT_DOUBLE_EQ(*s.run.time_step_s, 1e-3);
  EXPECT_EQ(s.run.time_step_source.file, "--set");
  EXPECT_EQ(s.run.time_step_source.line, 0);
  EXPECT_EQ(s.run.time_step_source.key, "run.time_step");
  EXPECT_EQ(s.run.time_step_source.value, "\"1 ms\"");
  EXPECT_EQ(s.tissue.shape, TissueSpec::Shape::ellipsoid);
  EXPECT_EQ(s.tissue.semi_axes_um, (Vec3{4, 5, 6}));
}

TEST(ScenarioOverrides, WithoutEqualsSign) {
  const std::string message = error_of(kMinimal, {"run.duration"});
  EXPECT_TRUE(mentions(message, "--set"));
  EXPECT_TRUE(mentions(message, "run.duration"));
  EXPECT_TRUE(mentions(message, "key=value"));
}

TEST(ScenarioOverrides, UnknownSpecies) {
  const std::string message = error_of(kMinimal, {"species.NOPE.decay=\"1 1/s\""});
  EXPECT_TRUE(mentions(message, "--set"));
  EXPECT_TRUE(mentions(message, "species.NOPE.decay"));
  EXPECT_TRUE(mentions(message, "no species named 'NOPE'"));
}

TEST(ScenarioOverrides, SourceIndexOutOfRange) {
  const std::string message = error_of(kMinimal, {"source.0.rate=\"1 nM/s\""});
  EXPECT_TRUE(mentions(message, "source.0.rate"));
  EXPECT_TRUE(mentions(message, "no source with index '0'"));
}

TEST(ScenarioOverrides, PathThroughAValue) {
  const std::string message = error_of(kMinimal, {"grid.spacing.x=\"1 um\""});
  EXPECT_TRUE(mentions(message, "'grid.spacing' is not a table"));
}

TEST(ScenarioOverrides, BadValueSaysSetInsteadOfALine) {
  const std::string message = error_of(kMinimal, {"species.NO.decay=0.7"});
  EXPECT_TRUE(mentions(message, "--set: species[NO].decay = 0.7: value without unit"));
}

TEST(ScenarioOverrides, UnknownKeyIsCaughtByValidation) {
  const std::string message = error_of(kMinimal, {"grid.spaceing=\"1 um\""});
  EXPECT_TRUE(mentions(message, "--set: grid.spaceing: unknown key"));
}

// ---- bad input: every message names file:line, key and value ----------------------------------

TEST(ScenarioErrors, TomlSyntaxError) {
  const std::string text = edit(kMinimal, "decay = \"0.7 1/s\"", "decay = \"0.7 1/s");
  const std::string message = error_of(text);
  EXPECT_TRUE(mentions(message, at_line_of(text, "decay")));
  EXPECT_TRUE(mentions(message, "TOML syntax error"));
}

TEST(ScenarioErrors, MissingFile) {
  try {
    load_scenario("/nonexistent/cordsim/scenario.toml");
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& error) {
    EXPECT_TRUE(mentions(error.what(),
                         "cannot open scenario file '/nonexistent/cordsim/scenario.toml': "
                         "No such file or directory"));
  }
}

TEST(ScenarioErrors, UnknownTopLevelTable) {
  const std::string text = kMinimal + "[outputs]\nformat = \"vtk\"\n";
  const std::string message = error_of(text);
  EXPECT_TRUE(mentions(message, at_line_of(text, "[outputs]") + " outputs: unknown key"));
  EXPECT_TRUE(mentions(message, "allowed: scenario, grid, tissue, geometry, species, source, run, output"));
}

TEST(ScenarioErrors, UnknownKeyIsReportedBeforeTheMissingOne) {
  const std::string text = edit(kMinimal, "spacing =", "spaceing =");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "spaceing") +
                                           " grid.spaceing: unknown key (allowed: shape, "
                                           "spacing, origin)"));
}

TEST(ScenarioErrors, KeyNotBelongingToTheTissueShape) {
  const std::string text =
      edit(kMinimal, "[[species]]",
           "[tissue]\nshape = \"elliptic_cylinder\"\ncenter = [\"1 um\", \"1 um\"]\n"
           "semi_axes = [\"1 um\", \"1 um\"]\ndataset = \"/mask\"\n\n[[species]]");
  const std::string message = error_of(text);
  EXPECT_TRUE(mentions(message, at_line_of(text, "dataset") + " tissue.dataset: unknown key"));
  EXPECT_TRUE(mentions(message, "elliptic_cylinder"));
}

TEST(ScenarioErrors, UnknownKeyInAnInlineTable) {
  const std::string text =
      edit(kMinimal, "decay = \"0.7 1/s\"",
           "decay = \"0.7 1/s\"\nboundary = { type = \"dirichlet\", value = \"0 nM\", "
           "permeability = \"1 um/s\" }");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "boundary") +
                                           " species[NO].boundary.permeability: unknown key"));
}

TEST(ScenarioErrors, MissingRequiredKeyNamesTheEnclosingTable) {
  const std::string text = edit(kMinimal, "duration = \"1 s\"\n", "");
  EXPECT_TRUE(mentions(error_of(text),
                       at_line_of(text, "[run]") + " run.duration: missing required key"));
}

TEST(ScenarioErrors, MissingRequiredTable) {
  const std::string text = kMinimal.substr(0, kMinimal.find("[run]"));
  EXPECT_TRUE(mentions(error_of(text), "t.toml: run: missing required table [run]"));
}

TEST(ScenarioErrors, MissingSpecies) {
  const std::string text =
      edit(kMinimal,
           "[[species]]\nname = \"NO\"\ndiffusivity = \"3300 um^2/s\"\ndecay = \"0.7 1/s\"\n", "");
  EXPECT_TRUE(mentions(error_of(text), "at least one species"));
}

TEST(ScenarioErrors, BareNumberIsAValueWithoutUnit) {
  const std::string text = edit(kMinimal, "decay = \"0.7 1/s\"", "decay = 0.7");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "decay") +
                                           " species[NO].decay = 0.7: value without unit "
                                           "(expected a rate, e.g. \"0.7 1/s\")"));
}

TEST(ScenarioErrors, StringWithoutUnit) {
  const std::string text = edit(kMinimal, "duration = \"1 s\"", "duration = \"1\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "duration") +
                                           " run.duration = \"1\": value without unit "
                                           "(expected a time, e.g. \"1 s\")"));
}

TEST(ScenarioErrors, WrongUnitDimension) {
  const std::string text =
      edit(kMinimal, "diffusivity = \"3300 um^2/s\"", "diffusivity = \"3300 um/s\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "diffusivity") +
                                           " species[NO].diffusivity = \"3300 um/s\": wrong "
                                           "unit: expected diffusivity [um^2/s], got velocity "
                                           "[um/s]"));
}

TEST(ScenarioErrors, UnknownUnit) {
  const std::string text = edit(kMinimal, "spacing = \"10 um\"", "spacing = \"10 xm\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "spacing") +
                                           " grid.spacing = \"10 xm\": unknown unit 'xm'"));
}

TEST(ScenarioErrors, MalformedNumber) {
  const std::string text = edit(kMinimal, "spacing = \"10 um\"", "spacing = \"1O um\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "spacing") +
                                           " grid.spacing = \"1O um\": malformed number"));
}

TEST(ScenarioErrors, NegativeDiffusivity) {
  const std::string text =
      edit(kMinimal, "diffusivity = \"3300 um^2/s\"", "diffusivity = \"-3 um^2/s\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "diffusivity") +
                                           " species[NO].diffusivity = \"-3 um^2/s\": must be "
                                           ">= 0 um^2/s"));
}

TEST(ScenarioErrors, NegativeAxialDiffusivity) {
  const std::string text = edit(kMinimal, "decay = \"0.7 1/s\"",
                                "decay = \"0.7 1/s\"\ndiffusivity_axial = \"-1 um^2/s\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "diffusivity_axial") +
                                           " species[NO].diffusivity_axial = \"-1 um^2/s\""));
}

TEST(ScenarioErrors, NegativeDecay) {
  const std::string text = edit(kMinimal, "decay = \"0.7 1/s\"", "decay = \"-0.7 1/s\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "decay") +
                                           " species[NO].decay = \"-0.7 1/s\": must be >= 0 1/s"));
}

TEST(ScenarioErrors, ZeroSpacing) {
  const std::string text = edit(kMinimal, "spacing = \"10 um\"", "spacing = \"0 um\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "spacing") +
                                           " grid.spacing = \"0 um\": must be > 0 um"));
}

TEST(ScenarioErrors, NegativeSpacingComponent) {
  const std::string text =
      edit(kMinimal, "spacing = \"10 um\"", "spacing = [\"10 um\", \"-1 um\", \"10 um\"]");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "spacing") +
                                           " grid.spacing[1] = \"-1 um\": must be > 0 um"));
}

TEST(ScenarioErrors, SpacingArrayOfWrongLength) {
  const std::string text = edit(kMinimal, "spacing = \"10 um\"", "spacing = [\"10 um\", \"1 um\"]");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "spacing") +
                                           " grid.spacing = [\"10 um\", \"1 um\"]: must be an "
                                           "array of 3"));
}

TEST(ScenarioErrors, GridShapeMustBePositiveIntegers) {
  const std::string zero = edit(kMinimal, "shape = [8, 6, 4]", "shape = [8, 0, 4]");
  EXPECT_TRUE(
      mentions(error_of(zero), at_line_of(zero, "shape") + " grid.shape[1] = 0: must be >= 1"));
  const std::string fractional = edit(kMinimal, "shape = [8, 6, 4]", "shape = [8, 6, 4.5]");
  EXPECT_TRUE(mentions(error_of(fractional),
                       at_line_of(fractional, "shape") +
                           " grid.shape[2] = 4.5: must be an integer"));
}

TEST(ScenarioErrors, TooManyVoxels) {
  const std::string text =
      edit(kMinimal, "shape = [8, 6, 4]", "shape = [2000, 2000, 2000]");
  EXPECT_TRUE(mentions(error_of(text), "grid.shape = [2000, 2000, 2000]: too many voxels"));
}

TEST(ScenarioErrors, NonPositiveSemiAxis) {
  const std::string text =
      edit(kMinimal, "[[species]]",
           "[tissue]\nshape = \"ellipsoid\"\ncenter = [\"1 um\", \"1 um\", \"1 um\"]\n"
           "semi_axes = [\"1 um\", \"1 um\", \"0 um\"]\n\n[[species]]");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "semi_axes") +
                                           " tissue.semi_axes[2] = \"0 um\": must be > 0 um"));
}

TEST(ScenarioErrors, UnknownTissueShape) {
  const std::string text = edit(kMinimal, "[[species]]", "[tissue]\nshape = \"cube\"\n[[species]]");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "cube") +
                                           " tissue.shape = \"cube\": must be one of \"all\""));
}

TEST(ScenarioErrors, InvalidSpeciesName) {
  const std::string text = edit(kMinimal, "name = \"NO\"", "name = \"N O\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "N O") + " species[0].name = \"N O\""));
}

TEST(ScenarioErrors, DuplicateSpeciesName) {
  const std::string text =
      kMinimal + "[[species]]\nname = \"NO\"\ndiffusivity = \"1 um^2/s\"\ndecay = \"0 1/s\"\n";
  const std::string message = error_of(text);
  EXPECT_TRUE(mentions(message, "t.toml:18: species[1].name = \"NO\": duplicate species name"));
  EXPECT_TRUE(mentions(message, "t.toml:10"));
}

TEST(ScenarioErrors, UnknownBoundaryType) {
  const std::string text = edit(kMinimal, "decay = \"0.7 1/s\"",
                                "decay = \"0.7 1/s\"\nboundary = { type = \"neumann\" }");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "neumann") +
                                           " species[NO].boundary.type = \"neumann\": must be "
                                           "one of"));
}

TEST(ScenarioErrors, RobinWithoutPermeability) {
  const std::string text = edit(kMinimal, "decay = \"0.7 1/s\"",
                                "decay = \"0.7 1/s\"\n"
                                "boundary = { type = \"robin\", value = \"0 nM\" }");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "robin") +
                                           " species[NO].boundary.permeability: missing required "
                                           "key"));
}

TEST(ScenarioErrors, NonPositivePermeability) {
  const std::string text =
      edit(kMinimal, "decay = \"0.7 1/s\"",
           "decay = \"0.7 1/s\"\nboundary = { type = \"robin\", value = \"0 nM\", permeability = "
           "\"0 um/s\" }");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "robin") +
                                           " species[NO].boundary.permeability = \"0 um/s\": must "
                                           "be > 0 um/s"));
}

TEST(ScenarioErrors, NegativeBoundaryValue) {
  const std::string text =
      edit(kMinimal, "decay = \"0.7 1/s\"",
           "decay = \"0.7 1/s\"\nboundary = { type = \"dirichlet\", value = \"-1 nM\" }");
  EXPECT_TRUE(mentions(error_of(text), " species[NO].boundary.value = \"-1 nM\": must be >= 0 nM"));
}

TEST(ScenarioErrors, GaussianSigmaMustBePositive) {
  const std::string text =
      edit(kMinimal, "decay = \"0.7 1/s\"",
           "decay = \"0.7 1/s\"\ninitial = { shape = \"gaussian\", center = [\"0 um\", \"0 um\", "
           "\"0 um\"], sigma = \"0 um\", peak = \"1 nM\" }");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "gaussian") +
                                           " species[NO].initial.sigma = \"0 um\": must be > 0 "
                                           "um"));
}

TEST(ScenarioErrors, NegativeCosineMode) {
  const std::string text =
      edit(kMinimal, "decay = \"0.7 1/s\"",
           "decay = \"0.7 1/s\"\ninitial = { shape = \"cosine\", amplitude = \"1 nM\", modes = "
           "[1, -1, 0] }");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "cosine") +
                                           " species[NO].initial.modes[1] = -1: must be >= 0"));
}

TEST(ScenarioErrors, MissingHdf5InitialFile) {
  const std::string text =
      edit(kMinimal, "decay = \"0.7 1/s\"",
           "decay = \"0.7 1/s\"\ninitial = { shape = \"hdf5\", file = \"no_such_initial.h5\", "
           "dataset = \"/NO\" }");
  const std::string message = error_of(text);
  EXPECT_TRUE(mentions(message, at_line_of(text, "no_such_initial.h5") +
                                    " species[NO].initial.file = \"no_such_initial.h5\""));
  EXPECT_TRUE(mentions(message, "file 'no_such_initial.h5' not found"));
}

TEST(ScenarioErrors, SourceForUnknownSpecies) {
  const std::string text =
      kMinimal + "[[source]]\nspecies = \"TNF\"\nshape = \"point\"\n"
                 "center = [\"1 um\", \"1 um\", \"1 um\"]\nrate = \"1 amol/s\"\n";
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "\"TNF\"") +
                                           " source[0].species = \"TNF\": unknown species "
                                           "(declared: NO)"));
}

TEST(ScenarioErrors, SourceRateOfWrongDimension) {
  const std::string text =
      kMinimal + "[[source]]\nspecies = \"NO\"\nshape = \"point\"\n"
                 "center = [\"1 um\", \"1 um\", \"1 um\"]\nrate = \"1 nM\"\n";
  const std::string message = error_of(text);
  EXPECT_TRUE(
      mentions(message, at_line_of(text, "rate") + " source[0].rate = \"1 nM\": wrong unit"));
  EXPECT_TRUE(mentions(message, "amount rate [ymol/s] or concentration rate [nM/s]"));
}

TEST(ScenarioErrors, NegativeSourceRate) {
  const std::string text =
      kMinimal + "[[source]]\nspecies = \"NO\"\nshape = \"point\"\n"
                 "center = [\"1 um\", \"1 um\", \"1 um\"]\nrate = \"-1 amol/s\"\n";
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "rate") +
                                           " source[0].rate = \"-1 amol/s\": must be >= 0 ymol/s"));
}

TEST(ScenarioErrors, BoxMaxNotAboveMin) {
  const std::string text =
      kMinimal + "[[source]]\nspecies = \"NO\"\nshape = \"box\"\n"
                 "min = [\"0 um\", \"5 um\", \"0 um\"]\nmax = [\"1 um\", \"5 um\", \"1 um\"]\n"
                 "rate = \"1 nM/s\"\n";
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "max") +
                                           " source[0].max = [\"1 um\", \"5 um\", \"1 um\"]: "
                                           "must exceed min on every axis (y"));
}

TEST(ScenarioErrors, KeyNotBelongingToTheSourceShape) {
  const std::string text =
      kMinimal + "[[source]]\nspecies = \"NO\"\nshape = \"point\"\n"
                 "center = [\"1 um\", \"1 um\", \"1 um\"]\nradius = \"1 um\"\n"
                 "rate = \"1 amol/s\"\n";
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "radius") +
                                           " source[0].radius: unknown key (allowed for shape "
                                           "\"point\": species, shape, center, rate)"));
}

TEST(ScenarioErrors, OutputIntervalLongerThanDuration) {
  const std::string text =
      edit(kMinimal, "output_interval = \"0.5 s\"", "output_interval = \"2 s\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "output_interval") +
                                           " run.output_interval = \"2 s\": must be <= "
                                           "run.duration (1 s)"));
}

TEST(ScenarioErrors, NonPositiveTimeStep) {
  const std::string text = edit(kMinimal, "output_interval = \"0.5 s\"",
                                "output_interval = \"0.5 s\"\ntime_step = \"0 s\"");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "time_step") +
                                           " run.time_step = \"0 s\": must be > 0 s"));
}

TEST(ScenarioErrors, StabilitySafetyOutOfRange) {
  const std::string large = edit(kMinimal, "output_interval = \"0.5 s\"",
                                 "output_interval = \"0.5 s\"\nstability_safety = 1.5");
  EXPECT_TRUE(mentions(error_of(large), at_line_of(large, "stability_safety") +
                                            " run.stability_safety = 1.5: must be in (0, 1]"));
  const std::string quoted = edit(kMinimal, "output_interval = \"0.5 s\"",
                                  "output_interval = \"0.5 s\"\nstability_safety = \"0.9\"");
  EXPECT_TRUE(
      mentions(error_of(quoted), " run.stability_safety = \"0.9\": must be a plain number"));
}

TEST(ScenarioErrors, ScenarioNameMustBeAString) {
  const std::string text = edit(kMinimal, "name = \"minimal\"", "name = 3");
  EXPECT_TRUE(mentions(error_of(text),
                       at_line_of(text, "name = 3") + " scenario.name = 3: must be a string"));
}

TEST(ScenarioErrors, SpeciesWrittenAsATable) {
  const std::string text = edit(kMinimal, "[[species]]", "[species]");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "[species]") +
                                           " species: must be an array of tables, each written "
                                           "as a [[species]] section"));
}

// ---- counts and float ranges (README "Bad input") --------------------------------------------

TEST(ScenarioCounts, OutputFramesUpToTheMaximum) {
  // 9999999 intervals: 1e7 frames, the most a run may write; one more interval is refused.
  const std::string most = edit(kMinimal, "duration = \"1 s\"", "duration = \"9999999 s\"");
  EXPECT_NO_THROW(parse_scenario(edit(most, "output_interval = \"0.5 s\"", "output_interval = \"1 s\""), kLabel));
  const std::string text = edit(edit(kMinimal, "duration = \"1 s\"", "duration = \"10000000 s\""),
                                "output_interval = \"0.5 s\"", "output_interval = \"1 s\"");
  const std::string message = error_of(text);
  EXPECT_TRUE(mentions(message, at_line_of(text, "output_interval") +
                                    " run.output_interval = \"1 s\": 1e+07 output frames over "
                                    "run.duration = \"10000000 s\" ("));
  const std::string duration_line = at_line_of(text, "duration");
  EXPECT_TRUE(mentions(message, "(" + duration_line.substr(0, duration_line.size() - 1) + "): more than the 10000000"));
  // 1e300 s in 0.5 s intervals: the count is not even a long; the override is named as such.
  EXPECT_TRUE(mentions(error_of(kMinimal, {"run.duration=\"1e300 s\""}),
                       "2e+300 output frames over run.duration = \"1e300 s\" (--set)"));
  RunSpec run;
  run.duration_s = 1e300;
  run.output_interval_s = 1.0;
  EXPECT_THROW(output_times(run), InputError);
}

TEST(ScenarioCounts, CheckpointIntervals) {
  const std::string base = edit(kMinimal, "output_interval = \"0.5 s\"", "output_interval = \"0.5 s\"\ncheckpoint_interval = \"2e-7 s\"");
  EXPECT_NO_THROW(parse_scenario(base, kLabel));
  const std::string text = edit(base, "2e-7 s", "1e-8 s");
  EXPECT_TRUE(mentions(error_of(text), at_line_of(text, "checkpoint_interval") +
                                           " run.checkpoint_interval = \"1e-8 s\": 1e+08 checkpoint intervals"));
}

TEST(ScenarioCounts, FixedTimeStepsOfEveryIntegrator) {
  const std::string explicit_step = edit(kMinimal, "decay = \"0.7 1/s\"", "decay = \"0.7 1/s\"\ntime_step = \"1e-16 s\"");
  EXPECT_TRUE(mentions(error_of(explicit_step), at_line_of(explicit_step, "time_step") +
                                                    " species[NO].time_step = \"1e-16 s\": 1e+16 steps of species "
                                                    "'NO' over run.duration = 1 s: more than the 1e+15 stencil sweeps"));
  const std::string implicit = edit(explicit_step, "time_step = ", "integrator = \"backward_euler\"\ntime_step = ");
  EXPECT_TRUE(mentions(error_of(implicit), "species[NO].time_step = \"1e-16 s\": 1e+16 steps"));
  EXPECT_NO_THROW(parse_scenario(edit(implicit, "1e-16 s", "2e-15 s"), kLabel));
}

TEST(ScenarioCounts, Rkl2StagesAndExplicitStepsFromTheStabilityBound) {
  // D/h² = 1e10 1/s: the stable step is at most 1e-10 s; a 0.5 s super-step would need ~1.5e5 stages.
  const std::string stiff = edit(kMinimal, "\"3300 um^2/s\"", "\"1e12 um^2/s\"");
  const std::string rkl2 =
      edit(stiff, "decay = \"0.7 1/s\"", "decay = \"0.7 1/s\"\nintegrator = \"rkl2\"\ntime_step = \"0.5 s\"");
  const std::string message = error_of(rkl2);
  EXPECT_TRUE(mentions(message, at_line_of(rkl2, "time_step") + " species[NO].time_step = \"0.5 s\": the explicit "
                                                                "stable step of species 'NO' is at most 1e-10 s"));
  EXPECT_TRUE(mentions(message, "stages, more than the 10000 supported"));
  // Forward Euler: 1 s / (0.9 · 1e-10 s) = 1.1e10 steps is allowed; 1e5 times more is not.
  EXPECT_NO_THROW(parse_scenario(stiff, kLabel));
  const std::string stiffer = edit(kMinimal, "\"3300 um^2/s\"", "\"1e17 um^2/s\"");
  EXPECT_TRUE(mentions(error_of(stiffer), at_line_of(stiffer, "diffusivity") +
                                              " species[NO].diffusivity = \"1e17 um^2/s\": the explicit stable step"));
  // A decay that dominates is named instead.
  const std::string decay = edit(kMinimal, "\"0.7 1/s\"", "\"1e20 1/s\"");
  EXPECT_TRUE(mentions(error_of(decay), at_line_of(decay, "decay") + " species[NO].decay = \"1e20 1/s\""));
  // An implicit species has no stability limit to resolve.
  EXPECT_NO_THROW(parse_scenario(
      edit(stiffer, "decay = \"0.7 1/s\"", "decay = \"0.7 1/s\"\nintegrator = \"backward_euler\"\ntime_step = \"0.1 s\""),
      kLabel));
}

TEST(ScenarioRanges, PerVoxelInputsMustFitFloat32) {
  const std::string decay = edit(kMinimal, "\"0.7 1/s\"", "\"1e39 1/s\"");
  EXPECT_TRUE(mentions(error_of(decay), at_line_of(decay, "decay") +
                                            " species[NO].decay = \"1e39 1/s\": magnitude above 3.403e+38 1/s, the "
                                            "largest float32"));
  const std::string initial = edit(kMinimal, "decay = \"0.7 1/s\"",
                                   "decay = \"0.7 1/s\"\ninitial = { shape = \"uniform\", value = \"1e39 nM\" }");
  EXPECT_TRUE(mentions(error_of(initial), "species[NO].initial.value = \"1e39 nM\": magnitude above"));
  const std::string source = kMinimal + "[[source]]\nspecies = \"NO\"\nshape = \"point\"\n"
                                        "center = [\"40 um\", \"30 um\", \"20 um\"]\nrate = \"1e36 amol/s\"\n";
  // 1e42 ymol/s into one voxel of 1000 um^3: 1e39 nM/s.
  EXPECT_TRUE(mentions(error_of(source), at_line_of(source, "rate") + " source[0].rate = \"1e36 amol/s\": magnitude"));
  EXPECT_NO_THROW(parse_scenario(edit(source, "1e36 amol/s", "1e35 amol/s"), kLabel));
}

TEST(ScenarioRanges, OperatorConductancesMustFitTheStorageType) {
  const bool float32 = std::string(kRealName) == "float32";
  // h = 1e-20 um: h² underflows float32; a float64 build refuses the step count instead.
  const std::string tiny = edit(kMinimal, "spacing = \"10 um\"", "spacing = \"1e-20 um\"");
  EXPECT_TRUE(mentions(error_of(tiny), float32 ? at_line_of(tiny, "spacing") + " grid.spacing = \"1e-20 um\": h^2 = "
                                                                               "1e-40 um^2 underflows float32"
                                               : at_line_of(tiny, "diffusivity") + " species[NO].diffusivity"));
  // D = 1e20 um^2/s fits float32, but the harmonic mean's 2 D² = 2e40 does not. Over 1e-12 s its
  // explicit steps are few (1.1e6), so only the operator refuses it.
  const std::string stiff = edit(edit(edit(kMinimal, "\"3300 um^2/s\"", "\"1e20 um^2/s\""), "duration = \"1 s\"",
                                      "duration = \"1e-12 s\""),
                                 "output_interval = \"0.5 s\"", "output_interval = \"1e-12 s\"");
  if (float32) {
    EXPECT_TRUE(mentions(error_of(stiff), at_line_of(stiff, "diffusivity") +
                                              " species[NO].diffusivity = \"1e20 um^2/s\": with grid.spacing = (10, "
                                              "10, 10) um the operator's conductance 2 D D / (D + D) / h^2 = 1e+18 1/s "
                                              "overflows float32 (its intermediate 2 D^2 = 2e+40"));
  } else {
    EXPECT_NO_THROW(parse_scenario(stiff, kLabel));
  }
  const std::string robin = edit(kMinimal, "decay = \"0.7 1/s\"",
                                 "decay = \"0.7 1/s\"\nboundary = { type = \"robin\", value = \"0 nM\", "
                                 "permeability = \"1e38 um/s\" }");
  if (float32) {
    EXPECT_TRUE(mentions(error_of(robin), "species[NO].boundary.permeability = \"1e38 um/s\": with grid.spacing = "
                                          "(10, 10, 10) um the boundary conductance's P h = 1e+39 um^2/s overflows"));
  }
}

TEST(ScenarioCounts, ModelSlowStepsAndReadouts) {
  const std::string als = (test::kSourceDir / "scenarios" / "als" / "wild_type_rat.toml").string();
  EXPECT_NO_THROW(load_scenario(als));
  for (const char* key : {"slow_step", "readout_interval"}) {
    try {
      load_scenario(als, {std::string("model.") + key + "=\"0.1 s\""});  // 60 d: 5.2e7 of them
      ADD_FAILURE() << key << " = 0.1 s was accepted";
    } catch (const InputError& e) {
      EXPECT_TRUE(mentions(e.what(), std::string("--set: model.") + key + " = \"0.1 s\": 5.184e+07 model "));
      EXPECT_TRUE(mentions(e.what(), "more than the 10000000 a model run may take"));
    }
  }
}

}  // namespace
}  // namespace cordsim
