// Sweep files (host/config/sweep.hpp): the three forms expand into the documented rows; cohort
// draws are reproducible from the seed, differ for another seed and follow their distributions;
// bad input is an InputError naming the sweep file's line, key and value.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "host/config/sweep.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

constexpr char kLabel[] = "sweep.toml";
const std::string kDemo = (fs::path(CORDSIM_SOURCE_DIR) / "scenarios" / "demo.toml").string();

std::string header() { return "[sweep]\nname = \"t\"\nscenario = \"" + kDemo + "\"\n"; }

std::vector<std::string> overrides_of(const SweepRow& row) {
  std::vector<std::string> out;
  for (const SweepParameter& p : row.parameters) out.push_back(p.override_text());
  return out;
}

// The number of a drawn value such as "0.4312 amol/s".
double number_of(const SweepParameter& p) { return std::stod(p.display); }

std::string error_of(const std::string& text, bool check_rows = true) {
  try {
    parse_sweep(text, kLabel, check_rows);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Sweep, TableFormHasOneRowPerEntryWithItsLabelAndKeysInFileOrder) {
  const Sweep s = parse_sweep(header() + R"(
[set]
run.duration = "10 s"

[[row]]
label = "control"

[[row]]
label = "low decay"
species.NO.decay = "0.35 1/s"
"source.0.rate" = "0.1 amol/s"

[[row]]
source.1.rate = "3 nM/s"
run.output_interval = "5 s"
)",
                              kLabel);
  EXPECT_EQ(s.form, Sweep::Form::table);
  EXPECT_EQ(s.name, "t");
  ASSERT_EQ(s.rows.size(), 3u);
  EXPECT_EQ(s.rows[0].label, "control");
  EXPECT_TRUE(s.rows[0].parameters.empty());
  EXPECT_EQ(s.rows[1].label, "low decay");
  EXPECT_EQ(overrides_of(s.rows[1]),
            (std::vector<std::string>{"species.NO.decay=\"0.35 1/s\"", "source.0.rate=\"0.1 amol/s\""}));
  EXPECT_EQ(s.rows[1].parameters[0].display, "0.35 1/s");
  EXPECT_EQ(s.rows[1].parameters[0].line, 13);
  EXPECT_EQ(s.rows[2].label, "");
  EXPECT_EQ(overrides_of(s.rows[2]),
            (std::vector<std::string>{"source.1.rate=\"3 nM/s\"", "run.output_interval=\"5 s\""}));
  EXPECT_EQ(s.parameter_keys,
            (std::vector<std::string>{"species.NO.decay", "source.0.rate", "source.1.rate", "run.output_interval"}));
  // The fixed overrides come first, as `cordsim run --set` would apply them.
  EXPECT_EQ(s.overrides(1), (std::vector<std::string>{"run.duration=\"10 s\"", "species.NO.decay=\"0.35 1/s\"",
                                                       "source.0.rate=\"0.1 amol/s\""}));
}

TEST(Sweep, GridFormIsTheCartesianProductWithTheFirstKeySlowest) {
  const Sweep s = parse_sweep(header() + R"(
[set]
run.duration = "10 s"
[vary]
species.NO.decay = ["0.35 1/s", "0.7 1/s", "1.4 1/s"]
grid.spacing = [["100 um", "100 um", "200 um"], "50 um"]
)",
                              kLabel);
  EXPECT_EQ(s.form, Sweep::Form::grid);
  ASSERT_EQ(s.rows.size(), 6u);
  EXPECT_EQ(s.parameter_keys, (std::vector<std::string>{"species.NO.decay", "grid.spacing"}));
  EXPECT_EQ(overrides_of(s.rows[0]), (std::vector<std::string>{"species.NO.decay=\"0.35 1/s\"",
                                                                "grid.spacing=[\"100 um\", \"100 um\", \"200 um\"]"}));
  EXPECT_EQ(overrides_of(s.rows[1]),
            (std::vector<std::string>{"species.NO.decay=\"0.35 1/s\"", "grid.spacing=\"50 um\""}));
  EXPECT_EQ(overrides_of(s.rows[5]),
            (std::vector<std::string>{"species.NO.decay=\"1.4 1/s\"", "grid.spacing=\"50 um\""}));
  for (std::size_t r = 0; r < s.rows.size(); ++r) EXPECT_EQ(s.rows[r].index, r);
}

const std::string kCohort = R"(
[cohort]
animals = 40
seed = 7
[[draw]]
key = "species.NO.decay"
distribution = "lognormal"
median = "0.7 1/s"
sigma = 0.25
[[draw]]
key = "source.0.rate"
distribution = "normal"
mean = "0.5 amol/s"
sd = "0.1 amol/s"
[[draw]]
key = "source.1.rate"
distribution = "uniform"
min = "1 nM/s"
max = "3 nM/s"
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "test bug: '" << from << "' not found";
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(Sweep, CohortDrawsAreReproducibleFromTheSeedAndDifferForAnotherSeed) {
  const Sweep a = parse_sweep(header() + kCohort, kLabel);
  const Sweep b = parse_sweep(header() + kCohort, kLabel);
  const Sweep other = parse_sweep(header() + with(kCohort, "seed = 7", "seed = 8"), kLabel);
  ASSERT_EQ(a.rows.size(), 40u);
  EXPECT_EQ(a.form, Sweep::Form::cohort);
  EXPECT_EQ(a.rows[0].label, "animal_000");
  EXPECT_EQ(a.rows[39].label, "animal_039");
  std::size_t differing = 0;
  for (std::size_t r = 0; r < a.rows.size(); ++r) {
    EXPECT_EQ(overrides_of(a.rows[r]), overrides_of(b.rows[r])) << r;
    for (std::size_t k = 0; k < 3; ++k) differing += a.rows[r].parameters[k].value != other.rows[r].parameters[k].value;
    // The unit is kept; the drawn number carries 6 significant digits.
    EXPECT_NE(a.rows[r].parameters[0].display.find(" 1/s"), std::string::npos);
    EXPECT_NE(a.rows[r].parameters[1].display.find(" amol/s"), std::string::npos);
    EXPECT_NE(a.rows[r].parameters[2].display.find(" nM/s"), std::string::npos);
  }
  EXPECT_EQ(differing, 120u);
  // Different animals of one cohort differ too.
  EXPECT_NE(a.rows[0].parameters[0].value, a.rows[1].parameters[0].value);
}

// Animal i has its own generator, so growing the cohort keeps the animals already drawn.
TEST(Sweep, AnAnimalDoesNotChangeWhenTheCohortGrows) {
  const Sweep small = parse_sweep(header() + kCohort, kLabel);
  const Sweep large = parse_sweep(header() + with(kCohort, "animals = 40", "animals = 60"), kLabel);
  for (std::size_t r = 0; r < small.rows.size(); ++r) EXPECT_EQ(overrides_of(small.rows[r]), overrides_of(large.rows[r]));
}

// The draws of scenarios/sweeps/demo_cohort.toml, pinned: the generator (std::mt19937_64 seeded by
// std::seed_seq) and the transforms are fixed, so these are the same with any compiler and
// standard library. A change here changes every published cohort.
TEST(Sweep, ExampleCohortDrawsArePinned) {
  const Sweep s = load_sweep((fs::path(CORDSIM_SOURCE_DIR) / "scenarios/sweeps/demo_cohort.toml").string());
  ASSERT_EQ(s.rows.size(), 12u);
  EXPECT_EQ(s.rows[0].label, "rat_000");
  EXPECT_EQ(overrides_of(s.rows[0]),
            (std::vector<std::string>{"species.NO.decay=\"0.561727 1/s\"", "source.0.rate=\"0.639868 amol/s\"",
                                      "source.1.rate=\"1.59422 nM/s\""}));
  EXPECT_EQ(overrides_of(s.rows[11]),
            (std::vector<std::string>{"species.NO.decay=\"0.886611 1/s\"", "source.0.rate=\"0.586802 amol/s\"",
                                      "source.1.rate=\"2.4207 nM/s\""}));
}

TEST(Sweep, TransformsOfTheRawBits) {
  EXPECT_EQ(draws::uniform01(0), 0.0);
  EXPECT_EQ(draws::uniform01(~0ull), 1.0 - 0x1.0p-53);
  EXPECT_EQ(draws::uniform01(1ull << 63), 0.5);
  EXPECT_EQ(draws::standard_normal(~0ull, 0), 0.0);  // u1 = 1
  // u1 = 2^-53, u2 = 0: sqrt(-2 ln 2^-53) = sqrt(106 ln 2).
  EXPECT_NEAR(draws::standard_normal(0, 0), std::sqrt(106.0 * std::log(2.0)), 1e-12);
  EXPECT_NEAR(draws::standard_normal(0, 1ull << 63), -std::sqrt(106.0 * std::log(2.0)), 1e-12);  // cos(π)
}

// 4000 animals: sample means within 5 standard errors of the distributions' means (a false
// failure has probability below 1e-6 per check; the seed fixes the outcome anyway).
TEST(Sweep, CohortSampleMeansMatchTheDistributions) {
  const Sweep s = parse_sweep(header() + with(kCohort, "animals = 40", "animals = 4000"), kLabel, false);
  ASSERT_EQ(s.rows.size(), 4000u);
  double log_sum = 0, normal_sum = 0, normal_sq = 0, uniform_sum = 0, uniform_min = 1e9, uniform_max = -1e9;
  for (const SweepRow& row : s.rows) {
    log_sum += std::log(number_of(row.parameters[0]));
    const double x = number_of(row.parameters[1]);
    normal_sum += x;
    normal_sq += x * x;
    const double u = number_of(row.parameters[2]);
    uniform_sum += u;
    uniform_min = std::min(uniform_min, u);
    uniform_max = std::max(uniform_max, u);
  }
  const double n = 4000.0;
  EXPECT_NEAR(log_sum / n, std::log(0.7), 5 * 0.25 / std::sqrt(n));         // mean of ln k = ln(median)
  EXPECT_NEAR(normal_sum / n, 0.5, 5 * 0.1 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(normal_sq / n - (normal_sum / n) * (normal_sum / n)), 0.1, 0.01);
  EXPECT_NEAR(uniform_sum / n, 2.0, 5 * (2.0 / std::sqrt(12.0)) / std::sqrt(n));
  EXPECT_GE(uniform_min, 1.0);
  EXPECT_LT(uniform_max, 3.0);
}

TEST(Sweep, ValuesInOtherUnitsAreConvertedIntoTheFirstValuesUnitAndBoundsHold) {
  // sd in zmol/s (1000 zmol = 1 amol); the truncation keeps every draw in [0.45, 0.55] amol/s.
  const Sweep s = parse_sweep(header() + R"(
[cohort]
animals = 300
seed = 1
label = "mouse"
[[draw]]
key = "source.0.rate"
distribution = "normal"
mean = "0.5 amol/s"
sd = "100 zmol/s"
min = "450 zmol/s"
max = "0.55 amol/s"
)",
                              kLabel, false);
  ASSERT_EQ(s.rows.size(), 300u);
  EXPECT_EQ(s.rows[7].label, "mouse_007");
  double sum = 0;
  for (const SweepRow& row : s.rows) {
    const double x = number_of(row.parameters[0]);
    EXPECT_GE(x, 0.45);
    EXPECT_LE(x, 0.55);
    EXPECT_NE(row.parameters[0].display.find(" amol/s"), std::string::npos);
    sum += x;
  }
  EXPECT_NEAR(sum / 300, 0.5, 0.01);
}

TEST(Sweep, PlainNumbersAreDrawnAsPlainNumbers) {
  const Sweep s = parse_sweep(header() + R"(
[cohort]
animals = 5
seed = 3
[[draw]]
key = "run.stability_safety"
distribution = "uniform"
min = 0.5
max = 0.9
)",
                              kLabel);
  for (const SweepRow& row : s.rows) {
    EXPECT_EQ(row.parameters[0].value, row.parameters[0].display);
    EXPECT_GE(number_of(row.parameters[0]), 0.5);
    EXPECT_LT(number_of(row.parameters[0]), 0.9);
  }
}

TEST(Sweep, TheExampleSweepsExpandAndPassTheirChecks) {
  const fs::path dir = fs::path(CORDSIM_SOURCE_DIR) / "scenarios" / "sweeps";
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    ++files;
    const Sweep s = load_sweep(entry.path().string());
    EXPECT_FALSE(s.rows.empty()) << entry.path();
    EXPECT_EQ(s.name, entry.path().stem().string()) << entry.path();
  }
  EXPECT_GE(files, 3u);
}

// A table row that leaves a varied key runs the base scenario's value, which sweep_results.csv
// shows (host/cli/sweep_command.cpp): the value as the base scenario (with [set]) gives it.
TEST(Sweep, RowsThatLeaveAVariedKeyHaveTheBaseScenariosValue) {
  const Sweep s = parse_sweep(header() + R"(
[set]
run.duration = "10 s"

[[row]]
label = "control"

[[row]]
species.NO.decay = "0.35 1/s"
"source.0.rate" = "0.1 amol/s"

[[row]]
grid.shape = [36, 26, 12]
)",
                              kLabel);
  ASSERT_EQ(s.base_values.size(), 3u);
  EXPECT_EQ(s.base_values[0].key, "species.NO.decay");
  EXPECT_EQ(s.base_values[0].display, "0.7 1/s");  // scenarios/demo.toml
  EXPECT_EQ(s.base_values[0].value, "\"0.7 1/s\"");
  EXPECT_EQ(s.base_values[1].key, "source.0.rate");
  EXPECT_EQ(s.base_values[1].display, "0.5 amol/s");
  EXPECT_EQ(s.base_values[2].key, "grid.shape");
  EXPECT_EQ(s.base_values[2].display, "[ 144, 104, 48 ]");
  EXPECT_EQ(s.base_values[2].value, "[ 144, 104, 48 ]");

  const auto effective = [&](std::size_t row) {
    std::vector<std::string> out;
    for (const SweepParameter& p : s.effective_parameters(row)) out.push_back(p.key + "=" + p.display);
    return out;
  };
  EXPECT_EQ(effective(0), (std::vector<std::string>{"species.NO.decay=0.7 1/s", "source.0.rate=0.5 amol/s",
                                                    "grid.shape=[ 144, 104, 48 ]"}));
  EXPECT_EQ(effective(1), (std::vector<std::string>{"species.NO.decay=0.35 1/s", "source.0.rate=0.1 amol/s",
                                                    "grid.shape=[ 144, 104, 48 ]"}));
  EXPECT_EQ(effective(2), (std::vector<std::string>{"grid.shape=[36, 26, 12]", "species.NO.decay=0.7 1/s",
                                                    "source.0.rate=0.5 amol/s"}));
  // The overrides that run are only the row's own.
  EXPECT_TRUE(overrides_of(s.rows[0]).empty());

  // A grid sets every key in every row: nothing to look up.
  EXPECT_TRUE(parse_sweep(header() + "[vary]\nspecies.NO.decay = [\"0.35 1/s\"]\n", kLabel).base_values.empty());
}

TEST(Sweep, BaseValueOfAModelParameterTheScenarioLeavesIsItsRegistryDefault) {
  const std::string als = (fs::path(CORDSIM_SOURCE_DIR) / "scenarios" / "als" / "wild_type_rat.toml").string();
  const Sweep s = parse_sweep("[sweep]\nname = \"t\"\nscenario = \"" + als + R"("
[[row]]
label = "wild type"
[[row]]
model.genotype.sod1_motor_neurons = 1
model.genotype.fus_sg_persistence = 2
)",
                              kLabel, /*check_rows=*/false);
  ASSERT_EQ(s.base_values.size(), 2u);
  EXPECT_EQ(s.base_values[0].key, "model.genotype.sod1_motor_neurons");
  EXPECT_EQ(s.base_values[0].display, "0");  // written in the scenario
  EXPECT_EQ(s.base_values[1].key, "model.genotype.fus_sg_persistence");
  EXPECT_EQ(s.base_values[1].display, "0");  // left out: the registry default
  EXPECT_EQ(s.base_values[1].value, "0");
}

TEST(Sweep, IndexOutOfRangeNamesTheSweepAndItsRows) {
  const Sweep s = parse_sweep(header() + "[vary]\nspecies.NO.decay = [\"0.35 1/s\", \"0.7 1/s\"]\n", kLabel);
  EXPECT_EQ(sweep_row(s, 1).index, 1u);
  try {
    sweep_row(s, 2);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "--index 2: out of range: sweep 't' (sweep.toml) has 2 rows (0 to 1)");
  }
}

struct BadSweep {
  const char* name;
  std::string text;      // appended to the [sweep] header (lines 1-3) unless it starts with "!"
  std::string expected;  // the exact message, or its start when it ends with "..."
};

class BadSweepInput : public ::testing::TestWithParam<BadSweep> {};

TEST_P(BadSweepInput, IsAnInputErrorNamingFileLineKeyAndValue) {
  const BadSweep& c = GetParam();
  const std::string text = c.text.rfind("!", 0) == 0 ? c.text.substr(1) : header() + c.text;
  const std::string message = error_of(text);
  const std::string expected = c.expected;
  if (expected.size() > 3 && expected.compare(expected.size() - 3, 3, "...") == 0) {
    EXPECT_EQ(message.substr(0, expected.size() - 3), expected.substr(0, expected.size() - 3));
  } else {
    EXPECT_EQ(message, expected);
  }
}

const std::string kDraw = "[cohort]\nanimals = 3\nseed = 1\n[[draw]]\nkey = \"species.NO.decay\"\n";

INSTANTIATE_TEST_SUITE_P(
    Sweep, BadSweepInput,
    ::testing::Values(
        BadSweep{"unknown_key", "[vary]\nrun.duration = [\"10 s\"]\n[sets]\nx = 1\n",
                 "sweep.toml:6: sets: unknown key (allowed: sweep, set, row, vary, cohort, draw)"},
        BadSweep{"unknown_sweep_key", "!\n[sweep]\nscenario = \"" + kDemo + "\"\nseed = 3\n[vary]\nrun.duration = [\"10 s\"]\n",
                 "sweep.toml:4: sweep.seed: unknown key (allowed: name, description, scenario)"},
        BadSweep{"missing_base_scenario", "!\n[sweep]\nscenario = \"no_such.toml\"\n[vary]\nrun.duration = [\"10 s\"]\n",
                 "sweep.toml:3: sweep.scenario = \"no_such.toml\": file 'no_such.toml' not found"},
        BadSweep{"missing_sweep_table", "![vary]\nrun.duration = [\"10 s\"]\n",
                 "sweep.toml: sweep: missing required table [sweep]"},
        BadSweep{"unknown_scenario_key_in_a_row", "[[row]]\nlabel = \"a\"\n[[row]]\nlabel = \"b\"\nspecies.NO.decy = \"1 1/s\"\n",
                 "sweep.toml:8: row 1 (b): species[0].decy: unknown key (allowed: name, diffusivity, ..."},
        BadSweep{"wrong_unit_in_a_grid", "[vary]\nspecies.NO.decay = [\"1 1/s\", \"2 um\"]\n",
                 "sweep.toml:5: row 1: species[NO].decay = \"2 um\": wrong unit: expected rate [1/s], got length [um]"},
        BadSweep{"unknown_key_in_set", "[set]\ngrid.shap = [1, 2, 3]\n[vary]\nrun.duration = [\"10 s\"]\n",
                 "sweep.toml:5: [set]: grid.shap: unknown key (allowed: shape, spacing, origin)"},
        BadSweep{"varied_and_set", "[set]\nrun.duration = \"10 s\"\n[vary]\nrun.duration = [\"20 s\"]\n",
                 "sweep.toml:7: run.duration: is varied and also given in [set] (line 5); remove one"},
        BadSweep{"two_forms", "[vary]\nrun.duration = [\"10 s\"]\n[[row]]\nlabel = \"x\"\n",
                 "sweep.toml: sweep: [[row]] and [vary] given; use exactly one form per sweep file"},
        BadSweep{"no_form", "", "sweep.toml: sweep: no rows: give one of [[row]] (a parameter table), ..."},
        BadSweep{"not_a_list", "[vary]\nrun.duration = \"10 s\"\n",
                 "sweep.toml:5: vary.run.duration = \"10 s\": must be a non-empty list of values, ..."},
        BadSweep{"unknown_distribution", kDraw + "distribution = \"gamma\"\nmean = \"1 1/s\"\n",
                 "sweep.toml:9: draw[0].distribution = \"gamma\": must be one of \"normal\", \"lognormal\", \"uniform\""},
        BadSweep{"negative_sd", kDraw + "distribution = \"normal\"\nmean = \"1 1/s\"\nsd = \"-1 1/s\"\n",
                 "sweep.toml:11: draw[0].sd = \"-1 1/s\": must be >= 0"},
        BadSweep{"unit_mismatch", kDraw + "distribution = \"uniform\"\nmin = \"1 1/s\"\nmax = \"3 um\"\n",
                 "sweep.toml:11: draw[0].max = \"3 um\": wrong unit: expected rate [1/s] like the first value of this "
                 "draw, got length [um]"},
        BadSweep{"key_of_another_distribution", kDraw + "distribution = \"lognormal\"\nmedian = \"1 1/s\"\nsd = 0.2\n",
                 "sweep.toml:11: draw[0].sd: unknown key (allowed for distribution \"lognormal\": key, distribution, "
                 "median, sigma)"},
        BadSweep{"sigma_with_a_unit", kDraw + "distribution = \"lognormal\"\nmedian = \"1 1/s\"\nsigma = \"0.2 1/s\"\n",
                 "sweep.toml:11: draw[0].sigma = \"0.2 1/s\": must be a plain number, not a string"},
        BadSweep{"nonpositive_median", kDraw + "distribution = \"lognormal\"\nmedian = \"0 1/s\"\nsigma = 0.2\n",
                 "sweep.toml:10: draw[0].median = \"0 1/s\": must be > 0 (a lognormal is positive)"},
        BadSweep{"max_below_min", kDraw + "distribution = \"uniform\"\nmin = \"3 1/s\"\nmax = \"1 1/s\"\n",
                 "sweep.toml:11: draw[0].max = \"1 1/s\": must be >= min"},
        BadSweep{"unit_on_one_value_only", kDraw + "distribution = \"uniform\"\nmin = 1\nmax = \"3 1/s\"\n",
                 "sweep.toml:11: draw[0].max = \"3 1/s\": must be a plain number like the first value of this draw"},
        BadSweep{"value_without_unit", kDraw + "distribution = \"normal\"\nmean = \"0.7\"\nsd = \"0.1 1/s\"\n",
                 "sweep.toml:10: draw[0].mean = \"0.7\": value without unit (expected a number with a unit, ..."},
        BadSweep{"missing_seed", "[cohort]\nanimals = 3\n[[draw]]\nkey = \"run.duration\"\ndistribution = \"uniform\"\n"
                                 "min = \"1 s\"\nmax = \"2 s\"\n",
                 "sweep.toml:4: cohort.seed: missing required key"},
        BadSweep{"zero_animals", "[cohort]\nanimals = 0\nseed = 1\n[[draw]]\nkey = \"run.duration\"\n"
                                 "distribution = \"uniform\"\nmin = \"1 s\"\nmax = \"2 s\"\n",
                 "sweep.toml:5: cohort.animals = 0: must be an integer from 1 to 1000000"},
        BadSweep{"drawn_value_the_scenario_rejects",
                 kDraw + "distribution = \"normal\"\nmean = \"0.1 1/s\"\nsd = \"1 1/s\"\n",
                 "sweep.toml:7: row 0 (animal_000): species[NO].decay = \"-0.564812 1/s\": must be >= 0 1/s"},
        BadSweep{"draw_without_cohort", "[[draw]]\nkey = \"run.duration\"\n[vary]\nrun.duration = [\"10 s\"]\n",
                 "sweep.toml:4: draw: [[draw]] belongs to a [cohort]; add [cohort] with animals and seed"},
        BadSweep{"syntax_error", "[vary\n", "sweep.toml:4:6: TOML syntax error: ..."}),
    [](const ::testing::TestParamInfo<BadSweep>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace cordsim
