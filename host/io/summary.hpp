#pragma once
// The run summary: a short, ordered list of named results of one run (final time, wall time,
// tissue totals, and later the ALS readouts such as the onset day), written as summary.json, a
// flat JSON object, into the run's output directory. `cordsim sweep --collect` merges the summaries
// of a sweep's rows into one CSV table, so every value is a number or a string, never nested.
//
//   RunSummary summary;
//   summary.add("onset_day", 115.2);       // one line per readout; the key order is kept
//   summary.write(output.staging_dir());   // → summary.json
//
// Numbers are written in the shortest form that reads back to the same double; a non-finite
// number is written as null (JSON has no NaN or infinity) and reads back as NaN.
#include <filesystem>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace cordsim {

class RunSummary {
 public:
  using Value = std::variant<double, std::string>;
  using Entry = std::pair<std::string, Value>;

  static constexpr const char* file_name = "summary.json";

  // Adds a key, or replaces its value in place when it is already there (so a later stage may
  // refine a readout without moving its column).
  void add(const std::string& key, double value);
  void add(const std::string& key, std::string value);
  void add(const std::string& key, const char* value) { add(key, std::string(value)); }
  // Integers are exact in a double up to 2^53, far beyond any count a run produces.
  void add(const std::string& key, int value) { add(key, double(value)); }
  void add(const std::string& key, long value) { add(key, double(value)); }
  void add(const std::string& key, long long value) { add(key, double(value)); }
  void add(const std::string& key, unsigned long value) { add(key, double(value)); }
  void add(const std::string& key, unsigned long long value) { add(key, double(value)); }

  const std::vector<Entry>& entries() const { return entries_; }
  const Value* find(const std::string& key) const;
  bool empty() const { return entries_.empty(); }

  // The flat JSON object, one key per line, in insertion order.
  std::string to_json() const;
  // Writes dir/summary.json (or dir/`name`); throws std::runtime_error naming the file on failure.
  void write(const std::filesystem::path& dir, const std::string& name = file_name) const;

 private:
  std::vector<Entry> entries_;
};

// Reads a flat JSON object of numbers, strings, booleans (kept as the strings "true"/"false") and
// nulls (NaN), such as summary.json or a sweep's row.json. Throws std::runtime_error naming the
// file and the byte offset for anything else (a nested value, a syntax error).
RunSummary read_flat_json(const std::filesystem::path& file);
RunSummary parse_flat_json(const std::string& text, const std::string& label);

// One value as a CSV cell: numbers in the shortest exact form (empty for NaN), strings quoted
// when they hold a comma, a quote, a line break or surrounding spaces.
std::string csv_cell(const RunSummary::Value& value);
std::string csv_quote(const std::string& text);

}  // namespace cordsim
