// `cordsim sweep`: lists a sweep's rows, runs one row (one task of a cluster job array), or collects
// the finished rows into one CSV table. The sweep file format is in host/config/sweep.hpp.
//
// Layout of DIR (default ./<sweep name>_sweep):
//   DIR/<sweep name>/row_NNNN/      a normal run directory (cordsim run's files, summary.json)
//                                   plus row.json: the row's index, label and the value of every
//                                   varied key (the base scenario's where the row leaves it)
//   DIR/<sweep name>/sweep_results.csv   written by --collect
// A row directory appears only when its run has finished (cordsim run's staging and commit), so a
// row is finished exactly when DIR/<sweep name>/row_NNNN/summary.json exists.
#include "host/cli/sweep_command.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string_view>

#include "host/config/sweep.hpp"
#include "host/io/summary.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRowFile = "row.json";
constexpr const char* kResultsFile = "sweep_results.csv";

fs::path sweep_root(const Sweep& sweep, const std::string& out_dir) {
  return (out_dir.empty() ? fs::path(sweep.name + "_sweep") : fs::path(out_dir)) / sweep.name;
}

fs::path row_dir(const fs::path& root, std::size_t index) { return root / fmt::format("row_{:04}", index); }

std::string shell_quote(const std::string& text) {
  const bool plain = !text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789_-+./=:,@%") == std::string::npos;
  if (plain) return text;
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string describe_row(const SweepRow& row) {
  return row.label.empty() ? fmt::format("row {}", row.index) : fmt::format("row {} ({})", row.index, row.label);
}

const char* form_name(Sweep::Form form) {
  switch (form) {
    case Sweep::Form::grid: return "grid";
    case Sweep::Form::cohort: return "cohort";
    case Sweep::Form::table: break;
  }
  return "table";
}

// row.json: flat, like summary.json. The parameter keys are scenario keys and so always hold a
// dot; the bookkeeping keys never do, which is how --collect tells them apart.
RunSummary row_record(const Sweep& sweep, const SweepRow& row) {
  RunSummary record;
  record.add("sweep", sweep.name);
  record.add("sweep_file", sweep.file);
  record.add("scenario", sweep.scenario);
  record.add("row", row.index);
  record.add("label", row.label);
  // Every varied key, the ones this row leaves at the base scenario's value included.
  for (const SweepParameter& p : sweep.effective_parameters(row.index)) record.add(p.key, p.display);
  std::string command = "cordsim run " + shell_quote(sweep.scenario);
  for (const std::string& o : sweep.overrides(row.index)) command += " --set " + shell_quote(o);
  record.add("command", command);
  return record;
}

int list(const Sweep& sweep) {
  std::printf("sweep '%s' (%s): %s of %zu row%s over %s\n", sweep.name.c_str(), sweep.file.c_str(),
              form_name(sweep.form), sweep.rows.size(), sweep.rows.size() == 1 ? "" : "s", sweep.scenario.c_str());
  if (!sweep.description.empty()) std::printf("  %s\n", sweep.description.c_str());
  if (sweep.form == Sweep::Form::cohort) std::printf("seed: %llu\n", (unsigned long long)sweep.seed);
  if (!sweep.fixed.empty()) {
    std::string fixed;
    for (const SweepParameter& p : sweep.fixed) fixed += " " + p.override_text();
    std::printf("every row:%s\n", fixed.c_str());
  }
  std::size_t label_width = 5;
  for (const SweepRow& row : sweep.rows) label_width = std::max(label_width, row.label.size());
  std::printf("%5s  %-*s  %s\n", "row", int(label_width), "label", "overrides");
  for (const SweepRow& row : sweep.rows) {
    std::string overrides;
    for (const SweepParameter& p : row.parameters) overrides += (overrides.empty() ? "" : " ") + p.override_text();
    std::printf("%5zu  %-*s  %s\n", row.index, int(label_width), row.label.empty() ? "-" : row.label.c_str(),
                overrides.empty() ? "(the base scenario)" : overrides.c_str());
  }
  return exit_ok;
}

int run_row(const Sweep& sweep, const SweepOptions& options) {
  const SweepRow& row = sweep_row(sweep, options.index);
  const fs::path dir = row_dir(sweep_root(sweep, options.out_dir), row.index);
  // A requeued or resubmitted array task finds its row done and leaves it be.
  if (!options.overwrite && fs::exists(dir / RunSummary::file_name)) {
    std::printf("sweep '%s' %s is already finished in %s; --overwrite runs it again\n", sweep.name.c_str(),
                describe_row(row).c_str(), dir.c_str());
    return exit_ok;
  }
  std::string overrides;
  for (const SweepParameter& p : row.parameters) overrides += " " + p.override_text();
  spdlog::info("sweep '{}' {} of {}:{}", sweep.name, describe_row(row), sweep.rows.size(),
               overrides.empty() ? " the base scenario" : overrides);
  RunOptions run;
  run.scenario_path = sweep.scenario;
  run.out_dir = dir.string();
  run.overrides = sweep.overrides(row.index);
  run.overwrite = options.overwrite;
  run.backend = options.backend;
  // A row stopped by a signal (a Slurm time limit) or a failure after a checkpoint continues
  // from it when its array task runs again.
  run.resume_if_checkpointed = true;
  run.checkpoint_every_s = options.checkpoint_every_s;
  run.resume_hint = fmt::format("cordsim sweep {} --index {}{} (the same command)", sweep.file, row.index,
                                options.out_dir.empty() ? "" : " --out " + options.out_dir);
  run.before_commit = [&](const fs::path& staging) { row_record(sweep, row).write(staging, kRowFile); };
  return run_command(run);
}

// "3, 5-7, 12": the rows that have no summary yet.
std::string ranges(const std::vector<std::size_t>& rows) {
  std::string out;
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t j = i;
    while (j + 1 < rows.size() && rows[j + 1] == rows[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") + (j == i ? fmt::format("{}", rows[i]) : fmt::format("{}-{}", rows[i], rows[j]));
    i = j + 1;
  }
  return out;
}

// "0.35 1/s" → (0.35, "1/s"); "2" → (2, ""); anything else (arrays, words) → nothing.
std::optional<std::pair<double, std::string>> number_and_unit(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0.0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data()) return std::nullopt;
  std::string_view rest = text.substr(std::size_t(end - text.data()));
  if (!rest.empty() && rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  return std::make_pair(value, std::string(rest));
}

struct FinishedRow {
  std::size_t index;
  RunSummary record;   // row.json
  RunSummary summary;  // summary.json
};

int collect(const Sweep& sweep, const SweepOptions& options) {
  const fs::path root = sweep_root(sweep, options.out_dir);
  std::vector<FinishedRow> finished;
  std::vector<std::size_t> missing;
  std::size_t partial = 0;
  for (const SweepRow& row : sweep.rows) {
    const fs::path dir = row_dir(root, row.index);
    if (!fs::exists(dir / RunSummary::file_name) || !fs::exists(dir / kRowFile)) {
      missing.push_back(row.index);
      if (fs::exists(fs::path(dir.string() + ".partial"))) ++partial;
      continue;
    }
    FinishedRow f{row.index, read_flat_json(dir / kRowFile), read_flat_json(dir / RunSummary::file_name)};
    // The parameters that ran are the ones recorded; say so when the sweep file now gives others.
    for (const SweepParameter& p : row.parameters) {
      const RunSummary::Value* ran = f.record.find(p.key);
      const std::string* text = ran ? std::get_if<std::string>(ran) : nullptr;
      if (text == nullptr || *text != p.display) {
        spdlog::warn("{}: {} ran with {} = {}, the sweep file now gives {}", dir.string(), describe_row(row), p.key,
                     text ? *text : std::string("(unset)"), p.display);
      }
    }
    finished.push_back(std::move(f));
  }
  if (finished.empty()) {
    throw InputError(fmt::format("{}: no finished row of sweep '{}' under '{}' (each has row_NNNN/{}); run them "
                                 "with cordsim sweep {} --index N",
                                 sweep.file, sweep.name, root.string(), RunSummary::file_name, sweep.file));
  }

  // Columns: row, label, the parameters (in the sweep file's order, then any only the records have),
  // then the summaries' keys in order of first appearance.
  std::vector<std::string> parameters = sweep.parameter_keys;
  std::vector<std::string> results;
  for (const FinishedRow& f : finished) {
    for (const auto& [key, value] : f.record.entries()) {
      if (key.find('.') != std::string::npos && std::find(parameters.begin(), parameters.end(), key) == parameters.end())
        parameters.push_back(key);
    }
    for (const auto& [key, value] : f.summary.entries()) {
      if (std::find(results.begin(), results.end(), key) == results.end()) results.push_back(key);
    }
  }
  // A row recorded by an older cordsim lacks the keys it left at the base value: the base
  // scenario's value stands in (the sweep file's [set] applied, as the row ran).
  std::vector<RunSummary::Value> base_cells;
  base_cells.reserve(parameters.size());
  for (const std::string& key : parameters) {
    const SweepParameter* base = sweep.base_value(key);
    base_cells.emplace_back(base ? RunSummary::Value(base->display) : RunSummary::Value(std::string()));
  }
  const auto value_of = [&](const FinishedRow& f, const std::string& key) -> const RunSummary::Value* {
    if (const RunSummary::Value* v = f.record.find(key)) return v;
    const std::size_t c = std::size_t(std::find(parameters.begin(), parameters.end(), key) - parameters.begin());
    return c < parameters.size() && sweep.base_value(key) ? &base_cells[c] : nullptr;
  };
  // A parameter whose values all share one unit becomes a numeric column with the unit in its
  // header ("species.NO.decay [1/s]"), so that the table loads as numbers.
  std::vector<std::string> header = {"row", "label"};
  std::vector<bool> numeric(parameters.size(), false);
  for (std::size_t c = 0; c < parameters.size(); ++c) {
    std::optional<std::string> unit;
    bool same = true;
    for (const FinishedRow& f : finished) {
      const RunSummary::Value* v = value_of(f, parameters[c]);
      if (v == nullptr) continue;
      const std::string* text = std::get_if<std::string>(v);
      const auto parsed = text ? number_and_unit(*text) : std::nullopt;
      if (!parsed || (unit && *unit != parsed->second)) {
        same = false;
        break;
      }
      unit = parsed->second;
    }
    numeric[c] = same && unit.has_value();
    header.push_back(numeric[c] && !unit->empty() ? fmt::format("{} [{}]", parameters[c], *unit) : parameters[c]);
  }
  for (const std::string& key : results) header.push_back(key);

  std::string csv;
  for (std::size_t c = 0; c < header.size(); ++c) csv += (c ? "," : "") + csv_quote(header[c]);
  csv += "\n";
  for (const FinishedRow& f : finished) {
    csv += fmt::format("{}", f.index);
    const RunSummary::Value* label = f.record.find("label");
    csv += "," + (label ? csv_cell(*label) : std::string());
    for (std::size_t c = 0; c < parameters.size(); ++c) {
      csv += ",";
      const RunSummary::Value* v = value_of(f, parameters[c]);
      if (v == nullptr) continue;
      const std::string* text = std::get_if<std::string>(v);
      csv += numeric[c] && text ? fmt::format("{}", number_and_unit(*text)->first) : csv_cell(*v);
    }
    for (const std::string& key : results) {
      csv += ",";
      if (const RunSummary::Value* v = f.summary.find(key)) csv += csv_cell(*v);
    }
    csv += "\n";
  }

  // Written beside and renamed, so that a reader never sees half a table.
  const fs::path table = root / kResultsFile;
  const fs::path tmp = root / (std::string(kResultsFile) + ".partial");
  {
    std::ofstream out(tmp, std::ios::binary);
    out << csv;
    out.close();
    if (!out) throw std::runtime_error(fmt::format("cannot write '{}'", tmp.string()));
  }
  fs::rename(tmp, table);
  if (!missing.empty()) {
    spdlog::warn("sweep '{}': {} of {} rows not finished: {}{}", sweep.name, missing.size(), sweep.rows.size(),
                 ranges(missing), partial ? fmt::format(" ({} with a partial run directory)", partial) : "");
  }
  std::printf("collected %zu of %zu rows of sweep '%s' into %s\n", finished.size(), sweep.rows.size(),
              sweep.name.c_str(), table.c_str());
  return exit_ok;
}

int sweep(const SweepOptions& options) {
  // --collect reads what ran; a base scenario edited since must not stop the table.
  const Sweep sweep = load_sweep(options.file, /*check_rows=*/!options.collect);
  if (options.list) return list(sweep);
  if (options.collect) return collect(sweep, options);
  return run_row(sweep, options);
}

}  // namespace

int sweep_command(const SweepOptions& options) {
  return with_exit_codes("sweep", [&] { return sweep(options); });
}

}  // namespace cordsim
