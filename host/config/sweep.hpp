#pragma once
// Sweeps and virtual cohorts: one base scenario and a list of rows, each row a list of overrides
// in exactly the form `cordsim run --set key=value` takes (a dotted scenario key and a TOML value
// with its unit). `cordsim sweep` lists the rows, runs one of them (a cluster job array runs them
// all, one per task) and collects the finished rows' summaries into one CSV table.
//
// A sweep file (TOML; scenarios/sweeps/ has examples):
//
//   [sweep]
//   name = "demo_decay"                  # optional; default: the file's stem. Names the output.
//   description = "..."                  # optional
//   scenario = "../demo.toml"            # the base scenario, relative to this file
//
//   [set]                                # optional: overrides applied to every row
//   run.duration = "10 s"                # nested keys and quoted dotted keys both work
//   "grid.shape" = [36, 26, 12]
//
// and exactly one of three forms:
//
//   [[row]]                              # a parameter table: one row per [[row]]
//   label = "slow NO decay"              # optional
//   species.NO.decay = "0.35 1/s"        # the other keys are the row's overrides
//
//   [vary]                               # a grid: the cartesian product of the value lists,
//   species.NO.decay = ["0.35 1/s", "0.7 1/s"]   # the first key varying slowest; a value that is
//   "source.0.rate" = ["0.25 amol/s", "0.5 amol/s"]  # itself an array is an element of the list
//
//   [cohort]                             # N virtual animals with drawn parameters
//   animals = 20
//   seed = 2024                          # the same seed gives the same animals on every machine
//   label = "mouse"                      # optional prefix of the row labels (default "animal")
//   [[draw]]
//   key = "species.NO.decay"
//   distribution = "lognormal"           # median, sigma (of the natural log, a plain number)
//   median = "0.7 1/s"
//   [[draw]]
//   key = "source.0.rate"
//   distribution = "normal"              # mean, sd; optional min and/or max truncate it (a draw
//   mean = "0.5 amol/s"                  #   outside is drawn again)
//   sd = "0.1 amol/s"
//   min = "0 amol/s"
//   [[draw]]
//   key = "source.1.rate"
//   distribution = "uniform"             # min, max
//   min = "1 nM/s"
//   max = "3 nM/s"
//
// Values with units: the distribution is over the number, in the unit of its first value (mean,
// median or min); the other values are converted into that unit, and the drawn number is written
// with it, to 6 significant digits ("0.4312 amol/s"). Plain numbers give plain numbers.
//
// Draws: animal i (0-based) has its own std::mt19937_64 seeded by std::seed_seq{seed (low and high
// 32 bits), i}, and takes its draws in file order. Both are fixed by the C++ standard, and the
// transforms below are cordsim's own (not std::normal_distribution, whose output differs between
// standard libraries), so the draws are the same on every machine, and animal i does not change
// when the cohort grows. (std::log, std::exp and std::cos are not correctly rounded by every C
// library: a last-bit difference could move the 6th printed digit of a draw that sits exactly on a
// rounding boundary. row.json records the values a row ran with.)
//
// Every row is checked against the base scenario when the sweep is loaded: an unknown key, a value
// with a wrong unit or out of range is reported at the sweep file's line before anything runs.
#include <cstdint>
#include <string>
#include <vector>

#include "host/config/scenario.hpp"

namespace cordsim {

struct SweepParameter {
  std::string key;      // dotted scenario key, e.g. "species.NO.decay"
  std::string value;    // TOML value text, e.g. "\"0.35 1/s\"" or "[36, 26, 12]"
  std::string display;  // the value for people and tables: a string's content, else the TOML text
  int line = 0;         // where it was written (or drawn) in the sweep file
  std::string override_text() const { return key + "=" + value; }
};

struct SweepRow {
  std::size_t index = 0;
  std::string label;                       // may be empty (grid rows, unlabelled table rows)
  int line = 0;                            // the row's entry in the sweep file
  std::vector<SweepParameter> parameters;  // what this row varies
};

struct Sweep {
  enum class Form { table, grid, cohort } form = Form::table;
  std::string file;         // the sweep file as given
  std::string name;
  std::string description;
  std::string scenario;     // the base scenario, resolved against the sweep file
  std::uint64_t seed = 0;   // cohort only
  std::vector<SweepParameter> fixed;     // [set], applied to every row first
  std::vector<std::string> parameter_keys;  // the varied keys, in file order (table: first use)
  std::vector<SweepRow> rows;
  // The value in the base scenario, with [set] applied, of each varied key that some row leaves
  // (a table row that runs the base value); line 0. A key the base scenario leaves to its default
  // (outside the model's parameter registry) has none. See scenario_value.
  std::vector<SweepParameter> base_values;

  // The row's --set strings: the fixed ones, then the row's own.
  std::vector<std::string> overrides(std::size_t row) const;

  // The effective value of every varied key in the row: its own parameters, then the base values
  // of the keys it leaves (those base_values has).
  std::vector<SweepParameter> effective_parameters(std::size_t row) const;

  // The base value of `key` (base_values), or null.
  const SweepParameter* base_value(const std::string& key) const;
};

// Reads, expands and checks a sweep file. Throws InputError naming file:line for a TOML error, an
// unknown or missing key, a missing base scenario, a bad distribution, or a row the base scenario
// rejects. `check_rows` = false skips parsing the base scenario once per row (tests of the
// expansion alone).
Sweep load_sweep(const std::string& path, bool check_rows = true);
Sweep parse_sweep(const std::string& text, const std::string& file_label, bool check_rows = true);

// The index named on the command line, checked against the sweep's rows (InputError otherwise).
const SweepRow& sweep_row(const Sweep& sweep, long index);

// The generator behind the cohort draws, exposed for tests: uniform in [0, 1) with 53 random bits,
// and a standard normal by Box–Muller (one normal per two uniforms, the second one discarded).
namespace draws {
double uniform01(std::uint64_t bits);
double standard_normal(std::uint64_t bits1, std::uint64_t bits2);
}  // namespace draws

}  // namespace cordsim
