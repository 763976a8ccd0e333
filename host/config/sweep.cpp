#include "host/config/sweep.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <optional>
#include <random>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "host/config/toml_reader.hpp"
#include "host/config/units.hpp"

namespace cordsim {

namespace draws {

double uniform01(std::uint64_t bits) { return double(bits >> 11) * 0x1.0p-53; }

double standard_normal(std::uint64_t bits1, std::uint64_t bits2) {
  // u1 in (0, 1], so that the logarithm is finite.
  const double u1 = (double(bits1 >> 11) + 1.0) * 0x1.0p-53;
  const double u2 = uniform01(bits2);
  constexpr double two_pi = 6.283185307179586476925286766559;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
}

}  // namespace draws

namespace {

namespace fs = std::filesystem;
using namespace toml_input;

constexpr std::size_t kMaxRows = 1000000;  // a guard against a grid multiplying out by mistake
constexpr int kMaxRedraws = 1000;          // truncated normal: attempts per value

// The sweep name becomes a directory name and a CSV file prefix.
bool valid_sweep_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.';
         });
}

int line_of(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

// "--set: key = value: problem" and "--set 'key=value': problem" become "key = value: problem" and
// "key=value: problem": the sweep's own location already says where the override came from.
std::string without_override_origin(const std::string& message) {
  const std::string origin(kOverrideOrigin);
  if (message.rfind(origin + ": ", 0) == 0) return message.substr(origin.size() + 2);
  if (message.rfind(origin + " '", 0) == 0) {
    const std::size_t close = message.find("': ", origin.size() + 2);
    if (close != std::string::npos)
      return message.substr(origin.size() + 2, close - origin.size() - 2) + message.substr(close + 1);
  }
  return message;
}

// A value of a distribution: a plain number, or a number with a unit.
struct DrawValue {
  double number = 0.0;
  std::string unit;  // as written, e.g. "amol/s"; empty for a plain number
  Dimension dimension;
  const toml::node* node = nullptr;
};

class SweepReader : public ValueReader {
 public:
  SweepReader(const Diagnostics& diagnostics, Sweep& sweep) : ValueReader(diagnostics), sweep_(sweep) {}

  void read(const toml::table& root) {
    TableReader top(diag_, root, "");
    top.allow_only({"sweep", "set", "row", "vary", "cohort", "draw"});
    read_sweep_table(table_at(top, "sweep"));
    if (const toml::node* set = top.find("set")) {
      sweep_.fixed = parameters_of(as_table(*set, "set"), "set");
    }

    std::vector<std::string> forms;
    for (const char* form : {"row", "vary", "cohort"}) {
      if (top.find(form) != nullptr) forms.push_back(form == std::string("row") ? "[[row]]" : fmt::format("[{}]", form));
    }
    if (forms.size() != 1) {
      const std::string what =
          forms.empty() ? "no rows: give one of [[row]] (a parameter table), [vary] (a grid) or [cohort] with [[draw]] "
                          "(virtual animals)"
                        : fmt::format("{} given; use exactly one form per sweep file", join(forms, " and "));
      diag_.bad_key(diag_.file_label(), "sweep", what);
    }
    if (const toml::node* draw = top.find("draw"); draw != nullptr && top.find("cohort") == nullptr) {
      diag_.bad_key(diag_.where(*draw), "draw", "[[draw]] belongs to a [cohort]; add [cohort] with animals and seed");
    }
    if (top.find("row") != nullptr) read_table_form(top);
    if (top.find("vary") != nullptr) read_grid_form(top);
    if (top.find("cohort") != nullptr) read_cohort_form(top);
    check_no_clash_with_fixed();
  }

 private:
  void read_sweep_table(const TableReader& table) {
    table.allow_only({"name", "description", "scenario"});
    if (const toml::node* name = table.find("name")) {
      sweep_.name = read_nonempty_string(*name, table.path_of("name"));
      if (!valid_sweep_name(sweep_.name)) {
        diag_.bad_value(*name, table.path_of("name"),
                        "must be a directory name: letters, digits, '_', '-' and '.' only");
      }
    } else {
      sweep_.name = fs::path(diag_.file_label()).stem().string();
      if (!valid_sweep_name(sweep_.name)) {
        diag_.bad_key(diag_.where(table.require("scenario")), "sweep.name",
                      fmt::format("the file name '{}' cannot name the output directory; give sweep.name", sweep_.name));
      }
    }
    if (const toml::node* description = table.find("description")) {
      sweep_.description = read_string(*description, table.path_of("description"));
    }
    const toml::node& scenario = table.require("scenario");
    sweep_.scenario = fs::path(read_existing_file(scenario, table.path_of("scenario"))).lexically_normal().string();
    scenario_line_ = line_of(scenario);
  }

  SweepParameter leaf(const std::string& key, const toml::node& node) const {
    SweepParameter p;
    p.key = key;
    p.value = diag_.written(node);
    p.display = node.is_string() ? node.as_string()->get() : p.value;
    p.line = line_of(node);
    return p;
  }

  struct Leaf {
    std::string key;  // dotted
    const toml::node* node;
  };

  // The leaves of a table: nested (non-inline) tables become dotted keys; an inline table is one
  // value, as on the command line. In file order (toml++ keeps keys sorted by name). A key given
  // twice (once nested, once as a quoted dotted key) is refused.
  std::vector<Leaf> leaves(const toml::table& table, const std::string& where_key, const char* reserved = nullptr) const {
    std::vector<Leaf> found;
    collect(table, "", reserved, found);
    std::stable_sort(found.begin(), found.end(), [](const Leaf& a, const Leaf& b) {
      const toml::source_position pa = a.node->source().begin, pb = b.node->source().begin;
      return pa.line < pb.line || (pa.line == pb.line && pa.column < pb.column);
    });
    for (std::size_t i = 0; i < found.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (found[j].key == found[i].key) {
          diag_.bad_key(diag_.where(*found[i].node), fmt::format("{}.{}", where_key, found[i].key),
                        fmt::format("given twice (also at {})", diag_.where(*found[j].node)));
        }
      }
    }
    return found;
  }

  void collect(const toml::table& table, const std::string& prefix, const char* reserved,
               std::vector<Leaf>& found) const {
    for (const auto& [key, node] : table) {
      if (prefix.empty() && reserved != nullptr && key.str() == reserved) continue;
      const std::string full = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
      const toml::table* nested = node.as_table();
      if (nested != nullptr && !nested->is_inline()) {
        collect(*nested, full, nullptr, found);
      } else {
        found.push_back({full, &node});
      }
    }
  }

  std::vector<SweepParameter> parameters_of(const toml::table& table, const std::string& where_key,
                                            const char* reserved = nullptr) const {
    std::vector<SweepParameter> out;
    for (const Leaf& l : leaves(table, where_key, reserved)) out.push_back(leaf(l.key, *l.node));
    return out;
  }

  void add_keys(const std::vector<SweepParameter>& parameters) {
    for (const SweepParameter& p : parameters) {
      if (std::find(sweep_.parameter_keys.begin(), sweep_.parameter_keys.end(), p.key) == sweep_.parameter_keys.end())
        sweep_.parameter_keys.push_back(p.key);
    }
  }

  void read_table_form(const TableReader& top) {
    sweep_.form = Sweep::Form::table;
    for (const toml::table* table : tables_at(top, "row")) {
      SweepRow row;
      row.index = sweep_.rows.size();
      row.line = line_of(*table);
      const std::string path = fmt::format("row[{}]", row.index);
      if (const toml::node* label = table->get("label")) row.label = read_string(*label, path + ".label");
      row.parameters = parameters_of(*table, path, "label");
      add_keys(row.parameters);
      sweep_.rows.push_back(std::move(row));
    }
    if (sweep_.rows.empty()) diag_.bad_key(diag_.file_label(), "row", "no [[row]] entries");
  }

  void read_grid_form(const TableReader& top) {
    sweep_.form = Sweep::Form::grid;
    const toml::node& vary_node = top.require("vary");
    const toml::table& vary = as_table(vary_node, "vary");
    const std::vector<Leaf> keys = leaves(vary, "vary");
    if (keys.empty()) diag_.bad_key(diag_.where(vary_node), "vary", "no keys to vary");
    // Each key's list of values.
    std::vector<std::vector<SweepParameter>> values;
    std::size_t rows = 1;
    for (const Leaf& key : keys) {
      const toml::node& list = *key.node;
      const toml::array* array = list.as_array();
      const std::string path = "vary." + key.key;
      if (array == nullptr || array->empty()) {
        diag_.bad_value(list, path,
                        "must be a non-empty list of values, e.g. [\"0.35 1/s\", \"0.7 1/s\"] (a list of arrays for a "
                        "key whose value is an array)");
      }
      std::vector<SweepParameter> options;
      for (const toml::node& element : *array) options.push_back(leaf(key.key, element));
      rows *= options.size();
      if (rows > kMaxRows) diag_.bad_value(list, path, fmt::format("the grid would have more than {} rows", kMaxRows));
      values.push_back(std::move(options));
      sweep_.parameter_keys.push_back(key.key);
    }
    for (std::size_t r = 0; r < rows; ++r) {
      SweepRow row;
      row.index = r;
      row.line = line_of(vary_node);
      // Mixed radix, the last key fastest.
      std::size_t rest = r;
      std::vector<std::size_t> digits(values.size());
      for (std::size_t k = values.size(); k-- > 0;) {
        digits[k] = rest % values[k].size();
        rest /= values[k].size();
      }
      for (std::size_t k = 0; k < values.size(); ++k) row.parameters.push_back(values[k][digits[k]]);
      sweep_.rows.push_back(std::move(row));
    }
  }

  DrawValue read_draw_value(const toml::node& node, const std::string& key) const {
    DrawValue v;
    v.node = &node;
    if (node.is_number()) {
      v.number = node.value<double>().value_or(0.0);
      v.dimension = dim::none;
      return v;
    }
    const std::string text = read_string(node, key);
    Quantity q;
    try {
      q = parse_quantity(text);
    } catch (const std::invalid_argument& error) {
      diag_.bad_value(node, key, fmt::format("{} (expected a number with a unit, e.g. \"0.5 amol/s\", or a plain number)",
                                             error.what()));
    }
    // The number as written, and the rest as the unit (parse_quantity has checked both).
    std::string_view rest = trim(text);
    if (!rest.empty() && rest.front() == '+') rest.remove_prefix(1);
    double number = 0.0;
    const auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), number);
    (void)error;
    v.number = number;
    v.unit = std::string(trim(rest.substr(std::size_t(end - rest.data()))));
    v.dimension = q.dimension;
    return v;
  }

  // `v` in the unit of `base` (same dimension, or both plain numbers).
  double in_unit_of(const DrawValue& base, const DrawValue& v, const std::string& key) const {
    if (base.unit.empty() != v.unit.empty()) {
      diag_.bad_value(*v.node, key,
                      base.unit.empty() ? "must be a plain number like the first value of this draw"
                                        : fmt::format("must carry a unit like the first value of this draw (\"{}\")",
                                                      base.unit));
    }
    if (base.unit.empty() || base.unit == v.unit) return v.number;
    if (v.dimension != base.dimension) {
      diag_.bad_value(*v.node, key, fmt::format("wrong unit: expected {} like the first value of this draw, got {}",
                                                describe(base.dimension), describe(v.dimension)));
    }
    return v.number * parse_quantity("1 " + v.unit).value / parse_quantity("1 " + base.unit).value;
  }

  double read_plain_number(const toml::node& node, const std::string& key) const {
    if (!node.is_number()) {
      diag_.bad_value(node, key, fmt::format("must be a plain number, not {}", type_name(node)));
    }
    return node.value<double>().value_or(0.0);
  }

  struct Draw {
    std::string key;
    enum class Kind { normal, lognormal, uniform } kind = Kind::normal;
    double a = 0.0, b = 0.0;  // normal: mean, sd; lognormal: median, sigma; uniform: min, max
    std::optional<double> lower, upper;  // normal truncation
    std::string unit;          // empty: plain number
    int line = 0;
  };

  Draw read_draw(const toml::table& table, std::size_t index) const {
    const std::string path = fmt::format("draw[{}]", index);
    const TableReader reader(diag_, table, path);
    Draw d;
    d.line = line_of(table);
    d.key = read_nonempty_string(reader.require("key"), reader.path_of("key"));
    const std::string kind =
        read_choice(reader.require("distribution"), reader.path_of("distribution"), {"normal", "lognormal", "uniform"});
    const std::string context = fmt::format("for distribution \"{}\"", kind);
    const auto value = [&](const char* name) { return read_draw_value(reader.require(name), reader.path_of(name)); };
    if (kind == "normal") {
      reader.allow_only({"key", "distribution", "mean", "sd", "min", "max"}, context);
      d.kind = Draw::Kind::normal;
      const DrawValue mean = value("mean");
      d.a = mean.number;
      d.unit = mean.unit;
      d.b = in_unit_of(mean, value("sd"), reader.path_of("sd"));
      if (!(d.b >= 0.0)) diag_.bad_value(reader.require("sd"), reader.path_of("sd"), "must be >= 0");
      if (reader.find("min")) d.lower = in_unit_of(mean, value("min"), reader.path_of("min"));
      if (reader.find("max")) d.upper = in_unit_of(mean, value("max"), reader.path_of("max"));
      if (d.lower && d.upper && !(*d.lower < *d.upper))
        diag_.bad_value(reader.require("max"), reader.path_of("max"), "must be above min");
      // A point mass outside the bounds can never be drawn.
      if (d.b == 0.0 && ((d.lower && d.a < *d.lower) || (d.upper && d.a > *d.upper)))
        diag_.bad_value(reader.require("mean"), reader.path_of("mean"), "lies outside min/max while sd = 0");
    } else if (kind == "lognormal") {
      reader.allow_only({"key", "distribution", "median", "sigma"}, context);
      d.kind = Draw::Kind::lognormal;
      const DrawValue median = value("median");
      d.a = median.number;
      d.unit = median.unit;
      if (!(d.a > 0.0))
        diag_.bad_value(reader.require("median"), reader.path_of("median"), "must be > 0 (a lognormal is positive)");
      d.b = read_plain_number(reader.require("sigma"), reader.path_of("sigma"));
      if (!(d.b >= 0.0))
        diag_.bad_value(reader.require("sigma"), reader.path_of("sigma"),
                        "must be >= 0 (the standard deviation of the natural log)");
    } else {
      reader.allow_only({"key", "distribution", "min", "max"}, context);
      d.kind = Draw::Kind::uniform;
      const DrawValue min = value("min");
      d.a = min.number;
      d.unit = min.unit;
      d.b = in_unit_of(min, value("max"), reader.path_of("max"));
      if (!(d.b >= d.a)) diag_.bad_value(reader.require("max"), reader.path_of("max"), "must be >= min");
    }
    return d;
  }

  double draw_number(const Draw& d, std::mt19937_64& engine) const {
    switch (d.kind) {
      case Draw::Kind::uniform: return d.a + (d.b - d.a) * draws::uniform01(engine());
      case Draw::Kind::lognormal: {
        const std::uint64_t b1 = engine();
        const std::uint64_t b2 = engine();
        return d.a * std::exp(d.b * draws::standard_normal(b1, b2));
      }
      case Draw::Kind::normal: break;
    }
    for (int attempt = 0; attempt < kMaxRedraws; ++attempt) {
      const std::uint64_t b1 = engine();
      const std::uint64_t b2 = engine();
      const double x = d.a + d.b * draws::standard_normal(b1, b2);
      if ((!d.lower || x >= *d.lower) && (!d.upper || x <= *d.upper)) return x;
    }
    diag_.bad_key(fmt::format("{}:{}", diag_.file_label(), d.line), d.key,
                  fmt::format("no draw within min/max in {} attempts: the bounds hold almost none of the normal "
                              "distribution",
                              kMaxRedraws));
  }

  void read_cohort_form(const TableReader& top) {
    sweep_.form = Sweep::Form::cohort;
    const TableReader cohort = table_at(top, "cohort");
    cohort.allow_only({"animals", "seed", "label"});
    const toml::node& animals_node = cohort.require("animals");
    const std::optional<std::int64_t> animals = animals_node.value_exact<std::int64_t>();
    if (!animals || *animals < 1 || std::uint64_t(*animals) > kMaxRows) {
      diag_.bad_value(animals_node, cohort.path_of("animals"), fmt::format("must be an integer from 1 to {}", kMaxRows));
    }
    const toml::node& seed_node = cohort.require("seed");
    const std::optional<std::int64_t> seed = seed_node.value_exact<std::int64_t>();
    if (!seed || *seed < 0) {
      diag_.bad_value(seed_node, cohort.path_of("seed"), "must be a non-negative integer, e.g. 2024");
    }
    sweep_.seed = std::uint64_t(*seed);
    std::string prefix = "animal";
    if (const toml::node* label = cohort.find("label")) prefix = read_nonempty_string(*label, cohort.path_of("label"));

    std::vector<Draw> draws_list;
    const std::vector<const toml::table*> tables = tables_at(top, "draw");
    if (tables.empty()) diag_.bad_key(diag_.where(top.require("cohort")), "draw", "a [cohort] needs at least one [[draw]]");
    for (std::size_t i = 0; i < tables.size(); ++i) {
      Draw d = read_draw(*tables[i], i);
      for (const Draw& earlier : draws_list) {
        if (earlier.key == d.key)
          diag_.bad_value(*tables[i]->get("key"), fmt::format("draw[{}].key", i),
                          fmt::format("drawn twice (also at line {})", earlier.line));
      }
      sweep_.parameter_keys.push_back(d.key);
      draws_list.push_back(std::move(d));
    }

    const int width = std::max(3, int(fmt::format("{}", *animals - 1).size()));
    const int cohort_line = line_of(top.require("cohort"));
    for (std::int64_t i = 0; i < *animals; ++i) {
      std::seed_seq seq{std::uint32_t(sweep_.seed & 0xffffffffu), std::uint32_t(sweep_.seed >> 32), std::uint32_t(i)};
      std::mt19937_64 engine(seq);
      SweepRow row;
      row.index = std::size_t(i);
      row.label = fmt::format("{}_{:0{}}", prefix, i, width);
      row.line = cohort_line;
      for (const Draw& d : draws_list) {
        const std::string number = fmt::format("{:.6g}", draw_number(d, engine));
        SweepParameter p;
        p.key = d.key;
        p.line = d.line;
        p.display = d.unit.empty() ? number : number + " " + d.unit;
        p.value = d.unit.empty() ? number : "\"" + p.display + "\"";
        row.parameters.push_back(std::move(p));
      }
      sweep_.rows.push_back(std::move(row));
    }
  }

  void check_no_clash_with_fixed() const {
    for (const SweepRow& row : sweep_.rows) {
      for (const SweepParameter& p : row.parameters) {
        for (const SweepParameter& f : sweep_.fixed) {
          if (f.key == p.key) {
            diag_.bad_key(fmt::format("{}:{}", diag_.file_label(), p.line), p.key,
                          fmt::format("is varied and also given in [set] (line {}); remove one", f.line));
          }
        }
      }
    }
  }

  Sweep& sweep_;

 public:
  int scenario_line_ = 0;
};

// Parses the base scenario with a row's overrides; on rejection names the sweep file's line of the
// parameter at fault (found by trying each parameter alone), else the row's own line.
void check_rows(const Sweep& sweep, int scenario_line) {
  const std::string text = read_text_file(sweep.scenario, "base scenario");
  const auto rejects = [&](const std::vector<std::string>& overrides) -> std::optional<std::string> {
    try {
      parse_scenario(text, sweep.scenario, overrides);
      return std::nullopt;
    } catch (const InputError& e) {
      return std::string(e.what());
    }
  };
  const auto texts = [](const std::vector<SweepParameter>& parameters) {
    std::vector<std::string> out;
    for (const SweepParameter& p : parameters) out.push_back(p.override_text());
    return out;
  };
  if (const auto message = rejects({})) {
    throw InputError(fmt::format("{}:{}: sweep.scenario: the base scenario is invalid: {}", sweep.file, scenario_line,
                                 *message));
  }
  const std::vector<std::string> fixed = texts(sweep.fixed);
  if (const auto message = rejects(fixed)) {
    for (const SweepParameter& p : sweep.fixed) {
      if (const auto alone = rejects({p.override_text()})) {
        throw InputError(fmt::format("{}:{}: [set]: {}", sweep.file, p.line, without_override_origin(*alone)));
      }
    }
    throw InputError(fmt::format("{}: [set]: {}", sweep.file, without_override_origin(*message)));
  }
  for (const SweepRow& row : sweep.rows) {
    const auto message = rejects(sweep.overrides(row.index));
    if (!message) continue;
    const std::string name = row.label.empty() ? fmt::format("row {}", row.index)
                                               : fmt::format("row {} ({})", row.index, row.label);
    int line = row.line;
    std::string reason = *message;
    for (const SweepParameter& p : row.parameters) {
      std::vector<std::string> alone = fixed;
      alone.push_back(p.override_text());
      if (const auto m = rejects(alone)) {
        line = p.line;
        reason = *m;
        break;
      }
    }
    throw InputError(fmt::format("{}:{}: {}: {}", sweep.file, line, name, without_override_origin(reason)));
  }
}

// The base scenario's values of the varied keys that some row leaves.
void find_base_values(Sweep& sweep) {
  std::vector<std::string> left;
  for (const std::string& key : sweep.parameter_keys) {
    for (const SweepRow& row : sweep.rows) {
      const bool sets = std::any_of(row.parameters.begin(), row.parameters.end(),
                                    [&](const SweepParameter& p) { return p.key == key; });
      if (!sets) {
        left.push_back(key);
        break;
      }
    }
  }
  if (left.empty()) return;
  std::string text;
  try {
    text = read_text_file(sweep.scenario, "base scenario");
  } catch (const std::exception&) {
    return;  // reported where the scenario is run or checked
  }
  std::vector<std::string> fixed;
  for (const SweepParameter& p : sweep.fixed) fixed.push_back(p.override_text());
  for (const std::string& key : left) {
    if (const std::optional<ScenarioValue> v = scenario_value(text, sweep.scenario, fixed, key))
      sweep.base_values.push_back(SweepParameter{key, v->value, v->display, 0});
  }
}

}  // namespace

std::vector<SweepParameter> Sweep::effective_parameters(std::size_t row) const {
  std::vector<SweepParameter> out = rows.at(row).parameters;
  for (const std::string& key : parameter_keys) {
    const bool sets = std::any_of(out.begin(), out.end(), [&](const SweepParameter& p) { return p.key == key; });
    if (!sets) {
      if (const SweepParameter* base = base_value(key)) out.push_back(*base);
    }
  }
  return out;
}

const SweepParameter* Sweep::base_value(const std::string& key) const {
  for (const SweepParameter& p : base_values)
    if (p.key == key) return &p;
  return nullptr;
}

std::vector<std::string> Sweep::overrides(std::size_t row) const {
  std::vector<std::string> out;
  for (const SweepParameter& p : fixed) out.push_back(p.override_text());
  for (const SweepParameter& p : rows.at(row).parameters) out.push_back(p.override_text());
  return out;
}

Sweep parse_sweep(const std::string& text, const std::string& file_label, bool check) {
  Diagnostics diagnostics(file_label);
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(file_label));
  } catch (const toml::parse_error& error) {
    throw InputError(fmt::format("{}:{}:{}: TOML syntax error: {}", file_label, error.source().begin.line,
                                 error.source().begin.column, error.description()));
  }
  diagnostics.add_source(root.source().path, text, false);
  Sweep sweep;
  sweep.file = file_label;
  SweepReader reader(diagnostics, sweep);
  reader.read(root);
  if (check) check_rows(sweep, reader.scenario_line_);
  find_base_values(sweep);
  return sweep;
}

Sweep load_sweep(const std::string& path, bool check) {
  return parse_sweep(read_text_file(path, "sweep file"), path, check);
}

const SweepRow& sweep_row(const Sweep& sweep, long index) {
  if (index < 0 || std::size_t(index) >= sweep.rows.size()) {
    throw InputError(fmt::format("--index {}: out of range: sweep '{}' ({}) has {} row{} (0 to {})", index, sweep.name,
                                 sweep.file, sweep.rows.size(), sweep.rows.size() == 1 ? "" : "s",
                                 sweep.rows.size() - 1));
  }
  return sweep.rows[std::size_t(index)];
}

}  // namespace cordsim
