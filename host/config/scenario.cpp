#include "host/config/scenario.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "host/config/units.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

// Stands in for "<file>:<line>" in messages about values given on the command line.
constexpr std::string_view kOverrideOrigin = "--set";

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// The internal unit of a dimension as describe() spells it, e.g. "um^2/s" from
// "diffusivity [um^2/s]", so that range messages use the same units as the rest of cordsim.
std::string unit_of(const Dimension& d) {
  const std::string description = describe(d);
  const std::size_t open = description.find('[');
  const std::size_t close = description.rfind(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  return description.substr(open + 1, close - open - 1);
}

// How to write a value of a dimension, for "value without unit" hints.
struct UnitHint {
  Dimension dimension;
  std::string_view noun;  // with its article
  std::string_view example_unit;
};

constexpr UnitHint kUnitHints[] = {
    {dim::length, "a length", "um"},
    {dim::time, "a time", "s"},
    {dim::rate, "a rate", "1/s"},
    {dim::diffusivity, "a diffusivity", "um^2/s"},
    {dim::velocity, "a velocity", "um/s"},
    {dim::concentration, "a concentration", "nM"},
    {dim::concentration_rate, "a concentration rate", "nM/s"},
    {dim::amount, "an amount", "amol"},
    {dim::amount_rate, "an amount rate", "amol/s"},
};

// e.g. `a rate, e.g. "0.7 1/s"` for a bare 0.7 written where a decay rate belongs.
std::string expectation(std::initializer_list<Dimension> allowed, std::string_view number) {
  const std::string shown_number = number.empty() ? "1" : std::string(number);
  std::vector<std::string> nouns;
  std::vector<std::string> examples;
  for (const Dimension& d : allowed) {
    const auto hint = std::find_if(std::begin(kUnitHints), std::end(kUnitHints),
                                   [&](const UnitHint& h) { return h.dimension == d; });
    if (hint == std::end(kUnitHints)) {
      nouns.push_back(describe(d));
      examples.push_back(fmt::format("\"{} {}\"", shown_number, unit_of(d)));
    } else {
      nouns.emplace_back(hint->noun);
      examples.push_back(fmt::format("\"{} {}\"", shown_number, hint->example_unit));
    }
  }
  return fmt::format("{}, e.g. {}", join(nouns, " or "), join(examples, " or "));
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date/time";
  }
}

// Knows where every TOML node came from (the scenario file or one --set override) and the text it
// was parsed from, so that messages can quote a value exactly as the user wrote it.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file_label) : file_label_(std::move(file_label)) {}

  void add_source(const toml::source_path_ptr& path, std::string text, bool is_override) {
    if (!path) return;
    Source source;
    source.path = path;
    source.text = std::move(text);
    source.is_override = is_override;
    source.line_starts.push_back(0);
    for (std::size_t i = 0; i < source.text.size(); ++i) {
      if (source.text[i] == '\n') source.line_starts.push_back(i + 1);
    }
    sources_[path.get()] = std::move(source);
  }

  const std::string& file_label() const { return file_label_; }

  bool from_override(const toml::source_region& region) const {
    const Source* source = find_source(region);
    return source != nullptr && source->is_override;
  }

  // "<file>:<line>", "--set", or "<file>" when the line is unknown (nodes created by overrides).
  std::string where(const toml::source_region& region) const {
    if (from_override(region)) return std::string(kOverrideOrigin);
    if (region.begin.line == 0) return file_label_;
    return fmt::format("{}:{}", file_label_, region.begin.line);
  }

  std::string where(const toml::node& node) const { return where(node.source()); }

  std::string written(const toml::node& node) const {
    if (std::optional<std::string> text = slice(node.source())) return *text;
    std::ostringstream out;
    node.visit([&](const auto& concrete) {
      out << toml::toml_formatter{concrete, toml::format_flags::allow_unicode_strings};
    });
    return out.str();
  }

  SourceLocation location(const toml::node& node, std::string key) const {
    SourceLocation location;
    const bool is_override = from_override(node.source());
    location.file = is_override ? std::string(kOverrideOrigin) : file_label_;
    location.line = is_override ? 0 : static_cast<int>(node.source().begin.line);
    location.key = std::move(key);
    location.value = written(node);
    return location;
  }

  [[noreturn]] void bad_value(const toml::node& node, std::string_view key,
                              std::string_view what) const {
    // A [section] or [[section]] has no single written value worth quoting.
    const toml::table* table = node.as_table();
    if ((table != nullptr && !table->is_inline()) || node.is_array_of_tables()) {
      bad_key(where(node), key, what);
    }
    throw InputError(fmt::format("{}: {} = {}: {}", where(node), key, written(node), what));
  }

  [[noreturn]] void bad_key(const std::string& where, std::string_view key,
                            std::string_view what) const {
    throw InputError(fmt::format("{}: {}: {}", where, key, what));
  }

 private:
  struct Source {
    toml::source_path_ptr path;  // held so that the pointer used as map key stays unique
    std::string text;
    std::vector<std::size_t> line_starts;
    bool is_override = false;
  };

  const Source* find_source(const toml::source_region& region) const {
    if (!region.path) return nullptr;
    const auto it = sources_.find(region.path.get());
    return it == sources_.end() ? nullptr : &it->second;
  }

  // Byte offset of a 1-based (line, column) position; toml++ counts columns in code points.
  static std::optional<std::size_t> offset_of(const Source& source,
                                              toml::source_position position) {
    if (position.line == 0 || position.column == 0 || position.line > source.line_starts.size()) {
      return std::nullopt;
    }
    std::size_t offset = source.line_starts[position.line - 1];
    for (toml::source_index column = 1; column < position.column; ++column) {
      if (offset >= source.text.size()) return std::nullopt;
      ++offset;
      while (offset < source.text.size() &&
             (static_cast<unsigned char>(source.text[offset]) & 0xC0) == 0x80) {
        ++offset;
      }
    }
    return offset;
  }

  // The node's text as written, with line breaks inside multi-line arrays folded into spaces.
  std::optional<std::string> slice(const toml::source_region& region) const {
    const Source* source = find_source(region);
    if (source == nullptr) return std::nullopt;
    const std::optional<std::size_t> begin = offset_of(*source, region.begin);
    const std::optional<std::size_t> end = offset_of(*source, region.end);
    if (!begin || !end || *end <= *begin) return std::nullopt;
    std::string folded;
    bool in_break = false;
    for (const char c : std::string_view(source->text).substr(*begin, *end - *begin)) {
      if (c == '\n' || c == '\r') {
        in_break = true;
      } else if (in_break && (c == ' ' || c == '\t')) {
        continue;
      } else {
        if (in_break) folded += ' ';
        in_break = false;
        folded += c;
      }
    }
    return folded;
  }

  std::string file_label_;
  std::map<const std::string*, Source> sources_;
};

// A table whose keys are checked against an allowed list before any value is read, so that a
// misspelt key is reported as unknown rather than as the missing key it was meant to be.
class TableReader {
 public:
  TableReader(const Diagnostics& diagnostics, const toml::table& table, std::string path)
      : diagnostics_(diagnostics), table_(table), path_(std::move(path)) {}

  // `context` qualifies the allowed list, e.g. `for shape "ellipsoid"`.
  void allow_only(std::initializer_list<std::string_view> allowed,
                  std::string_view context = {}) const {
    const toml::key* first_unknown = nullptr;
    for (const auto& [key, value] : table_) {
      const bool known =
          std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end();
      if (!known && (first_unknown == nullptr || earlier(key, *first_unknown))) {
        first_unknown = &key;
      }
    }
    if (first_unknown == nullptr) return;
    std::vector<std::string> names(allowed.begin(), allowed.end());
    const toml::source_region& region = first_unknown->source().begin.line != 0
                                            ? first_unknown->source()
                                            : table_.get(first_unknown->str())->source();
    diagnostics_.bad_key(
        diagnostics_.where(region), path_of(first_unknown->str()),
        fmt::format("unknown key (allowed{}{}: {})", context.empty() ? "" : " ", context,
                    join(names, ", ")));
  }

  const toml::node* find(std::string_view key) const { return table_.get(key); }

  const toml::node& require(std::string_view key) const {
    if (const toml::node* node = table_.get(key)) return *node;
    // The document root has no line of its own; a missing top-level entry is a missing section.
    if (path_.empty()) {
      diagnostics_.bad_key(diagnostics_.file_label(), key,
                           fmt::format("missing required table [{}]", key));
    }
    diagnostics_.bad_key(diagnostics_.where(table_), path_of(key), "missing required key");
  }

  std::string path_of(std::string_view key) const {
    return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
  }

  const std::string& path() const { return path_; }

 private:
  static bool earlier(const toml::key& a, const toml::key& b) {
    const toml::source_position pa = a.source().begin;
    const toml::source_position pb = b.source().begin;
    return pa.line < pb.line || (pa.line == pb.line && pa.column < pb.column);
  }

  const Diagnostics& diagnostics_;
  const toml::table& table_;
  std::string path_;
};

bool valid_species_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

std::string resolve_against(const std::string& file_label, const std::string& file) {
  const fs::path path(file);
  if (path.is_absolute()) return file;
  return (fs::path(file_label).parent_path() / path).string();
}

// Reads the parsed (and overridden) document into a Scenario, validating as it goes.
class ScenarioReader {
 public:
  explicit ScenarioReader(const Diagnostics& diagnostics) : diag_(diagnostics) {}

  void read(const toml::table& root, Scenario& scenario) {
    TableReader top(diag_, root, "");
    top.allow_only({"scenario", "grid", "tissue", "species", "source", "run"});
    read_scenario_table(table_at(top, "scenario"), scenario);
    scenario.grid = read_grid(table_at(top, "grid"));
    if (const toml::node* tissue = top.find("tissue")) {
      scenario.tissue = read_tissue(TableReader(diag_, as_table(*tissue, "tissue"), "tissue"));
    }
    read_species_list(top, scenario);
    read_sources(top, scenario);
    scenario.run = read_run(table_at(top, "run"));
  }

 private:
  // ---- node helpers -------------------------------------------------------------------------

  const toml::table& as_table(const toml::node& node, const std::string& key) const {
    if (const toml::table* table = node.as_table()) return *table;
    diag_.bad_value(node, key, fmt::format("must be a table, not {}", type_name(node)));
  }

  TableReader table_at(const TableReader& parent, std::string_view key) const {
    const toml::node& node = parent.require(key);
    return TableReader(diag_, as_table(node, parent.path_of(key)), parent.path_of(key));
  }

  // The array of tables `key` ([[species]], [[source]]); empty when absent.
  std::vector<const toml::table*> tables_at(const TableReader& parent, std::string_view key) const {
    std::vector<const toml::table*> tables;
    const toml::node* node = parent.find(key);
    if (node == nullptr) return tables;
    const std::string message =
        fmt::format("must be an array of tables, each written as a [[{}]] section", key);
    const toml::array* array = node->as_array();
    if (array == nullptr) diag_.bad_value(*node, key, message);
    for (const toml::node& element : *array) {
      const toml::table* table = element.as_table();
      if (table == nullptr) diag_.bad_value(*node, key, message);
      tables.push_back(table);
    }
    return tables;
  }

  std::string read_string(const toml::node& node, const std::string& key) const {
    if (const auto* text = node.as_string()) return text->get();
    diag_.bad_value(node, key, fmt::format("must be a string, not {}", type_name(node)));
  }

  std::string read_nonempty_string(const toml::node& node, const std::string& key) const {
    std::string text = read_string(node, key);
    if (trim(text).empty()) diag_.bad_value(node, key, "must not be empty");
    return text;
  }

  // One of `choices`, for the keys that select a variant (shape, type).
  std::string read_choice(const toml::node& node, const std::string& key,
                          std::initializer_list<std::string_view> choices) const {
    std::string text = read_string(node, key);
    if (std::find(choices.begin(), choices.end(), text) != choices.end()) return text;
    std::vector<std::string> quoted;
    for (std::string_view choice : choices) quoted.push_back(fmt::format("\"{}\"", choice));
    diag_.bad_value(node, key, fmt::format("must be one of {}", join(quoted, ", ")));
  }

  Quantity read_quantity(const toml::node& node, const std::string& key,
                         std::initializer_list<Dimension> allowed) const {
    if (node.is_number()) {
      const std::string number = node.is_integer()
                                     ? fmt::format("{}", node.as_integer()->get())
                                     : fmt::format("{}", node.as_floating_point()->get());
      diag_.bad_value(node, key, fmt::format("value without unit (expected {})",
                                             expectation(allowed, number)));
    }
    const auto* text = node.as_string();
    if (text == nullptr) {
      diag_.bad_value(node, key,
                      fmt::format("must be a string with a unit ({}), not {}",
                                  expectation(allowed, ""), type_name(node)));
    }
    Quantity quantity;
    try {
      quantity = parse_quantity(text->get());
    } catch (const std::invalid_argument& error) {
      std::string what = error.what();
      // parse_quantity reports a missing unit with exactly this text; the scenario knows which
      // dimension was expected and can say how to fix it.
      if (what == "value without unit") {
        what += fmt::format(" (expected {})", expectation(allowed, trim(text->get())));
      }
      diag_.bad_value(node, key, what);
    }
    if (std::find(allowed.begin(), allowed.end(), quantity.dimension) == allowed.end()) {
      std::vector<std::string> expected;
      for (const Dimension& d : allowed) expected.push_back(describe(d));
      diag_.bad_value(node, key,
                      fmt::format("wrong unit: expected {}, got {}", join(expected, " or "),
                                  describe(quantity.dimension)));
    }
    return quantity;
  }

  double read_measure(const toml::node& node, const std::string& key, Dimension dimension) const {
    return read_quantity(node, key, {dimension}).value;
  }

  // Range check with the bound in internal units: "must be >= 0 um^2/s", "must be > 0 um".
  void require_at_least(const toml::node& node, const std::string& key, double value,
                        double bound, bool strict, Dimension dimension) const {
    if (strict ? value > bound : value >= bound) return;
    const std::string unit = unit_of(dimension);
    diag_.bad_value(node, key,
                    fmt::format("must be {} {}{}{}", strict ? ">" : ">=", bound,
                                unit.empty() ? "" : " ", unit));
  }

  double read_nonnegative(const toml::node& node, const std::string& key, Dimension d) const {
    const double value = read_measure(node, key, d);
    require_at_least(node, key, value, 0.0, false, d);
    return value;
  }

  double read_positive(const toml::node& node, const std::string& key, Dimension d) const {
    const double value = read_measure(node, key, d);
    require_at_least(node, key, value, 0.0, true, d);
    return value;
  }

  const toml::array& read_array(const toml::node& node, const std::string& key, std::size_t count,
                                std::string_view example) const {
    const toml::array* array = node.as_array();
    if (array == nullptr || array->size() != count) {
      diag_.bad_value(node, key, fmt::format("must be an array of {}, e.g. {}",
                                             count == 3 ? "3 values (x, y, z)" : "2 values (x, y)",
                                             example));
    }
    return *array;
  }

  // `count` lengths (2: x, y; 3: x, y, z); unused trailing components stay 0.
  Vec3 read_lengths(const toml::node& node, const std::string& key, std::size_t count,
                    bool positive) const {
    const toml::array& array = read_array(
        node, key, count,
        count == 3 ? R"(["0 um", "0 um", "0 um"])" : R"(["0 um", "0 um"])");
    Vec3 lengths{0, 0, 0};
    for (std::size_t i = 0; i < count; ++i) {
      const std::string element_key = fmt::format("{}[{}]", key, i);
      lengths[i] = positive ? read_positive(*array.get(i), element_key, dim::length)
                            : read_measure(*array.get(i), element_key, dim::length);
    }
    return lengths;
  }

  std::array<int, 3> read_counts(const toml::node& node, const std::string& key,
                                 int minimum) const {
    const toml::array& array = read_array(node, key, 3, "[32, 32, 32]");
    std::array<int, 3> counts{0, 0, 0};
    for (std::size_t i = 0; i < 3; ++i) {
      const toml::node& element = *array.get(i);
      const std::string element_key = fmt::format("{}[{}]", key, i);
      const auto* integer = element.as_integer();
      if (integer == nullptr) {
        diag_.bad_value(element, element_key,
                        fmt::format("must be an integer, not {}", type_name(element)));
      }
      if (integer->get() < minimum) {
        diag_.bad_value(element, element_key, fmt::format("must be >= {}", minimum));
      }
      if (integer->get() > INT_MAX) {
        diag_.bad_value(element, element_key, fmt::format("must be <= {}", INT_MAX));
      }
      counts[i] = static_cast<int>(integer->get());
    }
    return counts;
  }

  // An HDF5 file named in the scenario, resolved against the scenario's directory. Checked here
  // so that a typo is reported with its key and line before any output is created.
  std::string read_existing_file(const toml::node& node, const std::string& key) const {
    const std::string written = read_nonempty_string(node, key);
    const std::string resolved = resolve_against(diag_.file_label(), written);
    std::error_code error;
    if (!fs::is_regular_file(resolved, error)) {
      diag_.bad_value(node, key,
                      fs::exists(resolved, error)
                          ? fmt::format("'{}' is not a regular file", resolved)
                          : fmt::format("file '{}' not found", resolved));
    }
    return resolved;
  }

  // ---- sections -------------------------------------------------------------------------------

  void read_scenario_table(const TableReader& table, Scenario& scenario) const {
    table.allow_only({"name", "description"});
    scenario.name = read_nonempty_string(table.require("name"), table.path_of("name"));
    if (const toml::node* description = table.find("description")) {
      scenario.description = read_string(*description, table.path_of("description"));
    }
  }

  GridSpec read_grid(const TableReader& table) const {
    table.allow_only({"shape", "spacing", "origin"});
    GridSpec grid;
    const toml::node& shape = table.require("shape");
    grid.shape = read_counts(shape, table.path_of("shape"), 1);
    // Voxel indices are 32-bit in the kernels' index arithmetic. Integer division keeps the
    // test exact without overflowing: nx > floor(floor(M / ny) / nz) exactly when nx·ny·nz > M.
    if (grid.shape[0] > INT_MAX / grid.shape[1] / grid.shape[2]) {
      diag_.bad_value(shape, table.path_of("shape"),
                      fmt::format("too many voxels (at most {} are supported)", INT_MAX));
    }

    const toml::node& spacing = table.require("spacing");
    const std::string spacing_key = table.path_of("spacing");
    if (spacing.is_array()) {
      grid.spacing_um = read_lengths(spacing, spacing_key, 3, true);
    } else {
      const double uniform = read_positive(spacing, spacing_key, dim::length);
      grid.spacing_um = {uniform, uniform, uniform};
    }
    if (const toml::node* origin = table.find("origin")) {
      grid.origin_um = read_lengths(*origin, table.path_of("origin"), 3, false);
    }
    return grid;
  }

  TissueSpec read_tissue(const TableReader& table) const {
    TissueSpec tissue;
    const toml::node* shape_node = table.find("shape");
    const std::string shape =
        shape_node == nullptr
            ? "all"
            : read_choice(*shape_node, table.path_of("shape"),
                          {"all", "ellipsoid", "elliptic_cylinder", "hdf5"});
    const std::string context = fmt::format("for shape \"{}\"", shape);
    if (shape == "all") {
      table.allow_only({"shape"}, context);
      tissue.shape = TissueSpec::Shape::all;
    } else if (shape == "ellipsoid" || shape == "elliptic_cylinder") {
      table.allow_only({"shape", "center", "semi_axes"}, context);
      const bool ellipsoid = shape == "ellipsoid";
      tissue.shape =
          ellipsoid ? TissueSpec::Shape::ellipsoid : TissueSpec::Shape::elliptic_cylinder;
      const std::size_t axes = ellipsoid ? 3 : 2;
      tissue.center_um =
          read_lengths(table.require("center"), table.path_of("center"), axes, false);
      tissue.semi_axes_um =
          read_lengths(table.require("semi_axes"), table.path_of("semi_axes"), axes, true);
    } else {
      table.allow_only({"shape", "file", "dataset"}, context);
      tissue.shape = TissueSpec::Shape::hdf5;
      tissue.file = read_existing_file(table.require("file"), table.path_of("file"));
      tissue.dataset = read_nonempty_string(table.require("dataset"), table.path_of("dataset"));
    }
    return tissue;
  }

  void read_species_list(const TableReader& top, Scenario& scenario) const {
    const std::vector<const toml::table*> tables = tables_at(top, "species");
    if (tables.empty()) {
      const toml::node* node = top.find("species");
      const std::string message =
          "at least one species is required (add a [[species]] section)";
      if (node != nullptr) diag_.bad_value(*node, "species", message);
      diag_.bad_key(diag_.file_label(), "species", message);
    }
    std::map<std::string, const toml::node*> seen;
    for (std::size_t index = 0; index < tables.size(); ++index) {
      SpeciesSpec species = read_species(*tables[index], index);
      const toml::node& name_node = *tables[index]->get("name");
      const auto [previous, inserted] = seen.emplace(species.name, &name_node);
      if (!inserted) {
        diag_.bad_value(name_node, fmt::format("species[{}].name", index),
                        fmt::format("duplicate species name (already declared at {})",
                                    diag_.where(*previous->second)));
      }
      scenario.species.push_back(std::move(species));
    }
  }

  SpeciesSpec read_species(const toml::table& node, std::size_t index) const {
    // Until the name is known the species is addressed by its index.
    TableReader by_index(diag_, node, fmt::format("species[{}]", index));
    by_index.allow_only(
        {"name", "diffusivity", "diffusivity_axial", "decay", "boundary", "initial", "integrator",
         "time_step"});
    SpeciesSpec species;
    const toml::node& name = by_index.require("name");
    species.name = read_string(name, by_index.path_of("name"));
    if (!valid_species_name(species.name)) {
      diag_.bad_value(name, by_index.path_of("name"),
                      "must be non-empty and use only letters, digits, '_' and '-'");
    }

    const TableReader table(diag_, node, fmt::format("species[{}]", species.name));
    species.diffusivity_um2_per_s = read_nonnegative(
        table.require("diffusivity"), table.path_of("diffusivity"), dim::diffusivity);
    species.diffusivity_axial_um2_per_s = species.diffusivity_um2_per_s;
    if (const toml::node* axial = table.find("diffusivity_axial")) {
      species.diffusivity_axial_um2_per_s =
          read_nonnegative(*axial, table.path_of("diffusivity_axial"), dim::diffusivity);
    }
    species.decay_per_s =
        read_nonnegative(table.require("decay"), table.path_of("decay"), dim::rate);
    if (const toml::node* boundary = table.find("boundary")) {
      species.boundary = read_boundary(*boundary, table.path_of("boundary"));
    }
    if (const toml::node* initial = table.find("initial")) {
      species.initial = read_initial(*initial, table.path_of("initial"));
    }
    if (const toml::node* step = table.find("time_step")) {
      const std::string key = table.path_of("time_step");
      species.time_step_s = read_positive(*step, key, dim::time);
      species.time_step_source = diag_.location(*step, key);
    }
    if (const toml::node* integrator = table.find("integrator")) {
      const std::string key = table.path_of("integrator");
      const std::string method = read_choice(*integrator, key, {"forward_euler", "rkl2"});
      if (method == "rkl2") {
        species.integrator = SpeciesSpec::Integrator::rkl2;
        if (!species.time_step_s) {
          diag_.bad_value(*integrator, key,
                          fmt::format("needs {} (the super-step; its stages are chosen from the "
                                      "stability limit)",
                                      table.path_of("time_step")));
        }
      }
    }
    return species;
  }

  BoundarySpec read_boundary(const toml::node& node, const std::string& key) const {
    const TableReader table(diag_, as_table(node, key), key);
    const std::string type = read_choice(table.require("type"), table.path_of("type"),
                                         {"no_flux", "dirichlet", "robin"});
    const std::string context = fmt::format("for type \"{}\"", type);
    BoundarySpec boundary;
    if (type == "no_flux") {
      table.allow_only({"type"}, context);
      boundary.kind = BoundarySpec::Kind::no_flux;
      return boundary;
    }
    if (type == "dirichlet") {
      table.allow_only({"type", "value"}, context);
      boundary.kind = BoundarySpec::Kind::dirichlet;
    } else {
      table.allow_only({"type", "value", "permeability"}, context);
      boundary.kind = BoundarySpec::Kind::robin;
      boundary.permeability_um_per_s = read_positive(
          table.require("permeability"), table.path_of("permeability"), dim::velocity);
    }
    boundary.value_nM =
        read_nonnegative(table.require("value"), table.path_of("value"), dim::concentration);
    return boundary;
  }

  InitialFieldSpec read_initial(const toml::node& node, const std::string& key) const {
    const TableReader table(diag_, as_table(node, key), key);
    const std::string shape = read_choice(table.require("shape"), table.path_of("shape"),
                                          {"uniform", "gaussian", "cosine", "hdf5"});
    const std::string context = fmt::format("for shape \"{}\"", shape);
    InitialFieldSpec initial;
    // Concentrations that the field starts from are physical and so non-negative; only the
    // cosine amplitude (and its background) may be signed, for verification against modes.
    if (shape == "uniform") {
      table.allow_only({"shape", "value"}, context);
      initial.shape = InitialFieldSpec::Shape::uniform;
      initial.value_nM =
          read_nonnegative(table.require("value"), table.path_of("value"), dim::concentration);
    } else if (shape == "gaussian") {
      table.allow_only({"shape", "center", "sigma", "peak", "background"}, context);
      initial.shape = InitialFieldSpec::Shape::gaussian;
      initial.center_um = read_lengths(table.require("center"), table.path_of("center"), 3, false);
      initial.sigma_um = read_positive(table.require("sigma"), table.path_of("sigma"), dim::length);
      initial.peak_nM =
          read_nonnegative(table.require("peak"), table.path_of("peak"), dim::concentration);
      if (const toml::node* background = table.find("background")) {
        initial.value_nM =
            read_nonnegative(*background, table.path_of("background"), dim::concentration);
      }
    } else if (shape == "cosine") {
      table.allow_only({"shape", "amplitude", "background", "modes"}, context);
      initial.shape = InitialFieldSpec::Shape::cosine;
      initial.amplitude_nM =
          read_measure(table.require("amplitude"), table.path_of("amplitude"), dim::concentration);
      if (const toml::node* background = table.find("background")) {
        initial.value_nM =
            read_measure(*background, table.path_of("background"), dim::concentration);
      }
      initial.modes = read_counts(table.require("modes"), table.path_of("modes"), 0);
    } else {
      table.allow_only({"shape", "file", "dataset"}, context);
      initial.shape = InitialFieldSpec::Shape::hdf5;
      initial.file = read_existing_file(table.require("file"), table.path_of("file"));
      initial.dataset = read_nonempty_string(table.require("dataset"), table.path_of("dataset"));
    }
    return initial;
  }

  void read_sources(const TableReader& top, Scenario& scenario) const {
    const std::vector<const toml::table*> tables = tables_at(top, "source");
    for (std::size_t index = 0; index < tables.size(); ++index) {
      scenario.sources.push_back(read_source(*tables[index], index, scenario.species));
    }
  }

  SourceSpec read_source(const toml::table& node, std::size_t index,
                         const std::vector<SpeciesSpec>& declared) const {
    const TableReader table(diag_, node, fmt::format("source[{}]", index));
    SourceSpec source;
    const toml::node& shape_node = table.require("shape");
    const std::string shape =
        read_choice(shape_node, table.path_of("shape"), {"point", "sphere", "box"});
    const std::string context = fmt::format("for shape \"{}\"", shape);
    if (shape == "point") {
      table.allow_only({"species", "shape", "center", "rate"}, context);
      source.shape = SourceSpec::Shape::point;
      source.center_um = read_lengths(table.require("center"), table.path_of("center"), 3, false);
    } else if (shape == "sphere") {
      table.allow_only({"species", "shape", "center", "radius", "rate"}, context);
      source.shape = SourceSpec::Shape::sphere;
      source.center_um = read_lengths(table.require("center"), table.path_of("center"), 3, false);
      source.radius_um =
          read_positive(table.require("radius"), table.path_of("radius"), dim::length);
    } else {
      table.allow_only({"species", "shape", "min", "max", "rate"}, context);
      source.shape = SourceSpec::Shape::box;
      source.box_min_um = read_lengths(table.require("min"), table.path_of("min"), 3, false);
      const toml::node& max_node = table.require("max");
      source.box_max_um = read_lengths(max_node, table.path_of("max"), 3, false);
      constexpr char kAxes[] = {'x', 'y', 'z'};
      for (std::size_t axis = 0; axis < 3; ++axis) {
        if (!(source.box_max_um[axis] > source.box_min_um[axis])) {
          diag_.bad_value(max_node, table.path_of("max"),
                          fmt::format("must exceed min on every axis ({}: max {} um <= min {} um)",
                                      kAxes[axis], source.box_max_um[axis],
                                      source.box_min_um[axis]));
        }
      }
    }

    const toml::node& species_node = table.require("species");
    source.species = read_string(species_node, table.path_of("species"));
    const bool known = std::any_of(declared.begin(), declared.end(), [&](const SpeciesSpec& s) {
      return s.name == source.species;
    });
    if (!known) {
      std::vector<std::string> names;
      for (const SpeciesSpec& s : declared) names.push_back(s.name);
      diag_.bad_value(species_node, table.path_of("species"),
                      fmt::format("unknown species (declared: {})", join(names, ", ")));
    }

    const toml::node& rate_node = table.require("rate");
    const Quantity rate = read_quantity(rate_node, table.path_of("rate"),
                                        {dim::amount_rate, dim::concentration_rate});
    source.rate_kind =
        rate.dimension == dim::amount_rate ? SourceSpec::Rate::total : SourceSpec::Rate::volumetric;
    source.rate = rate.value;
    require_at_least(rate_node, table.path_of("rate"), rate.value, 0.0, false, rate.dimension);
    return source;
  }

  RunSpec read_run(const TableReader& table) const {
    table.allow_only({"duration", "output_interval", "time_step", "stability_safety"});
    RunSpec run;
    run.duration_s =
        read_positive(table.require("duration"), table.path_of("duration"), dim::time);
    const toml::node& interval = table.require("output_interval");
    run.output_interval_s = read_positive(interval, table.path_of("output_interval"), dim::time);
    if (run.output_interval_s > run.duration_s) {
      diag_.bad_value(interval, table.path_of("output_interval"),
                      fmt::format("must be <= run.duration ({} s)", run.duration_s));
    }
    if (const toml::node* step = table.find("time_step")) {
      const std::string key = table.path_of("time_step");
      run.time_step_s = read_positive(*step, key, dim::time);
      run.time_step_source = diag_.location(*step, key);
    }
    if (const toml::node* safety = table.find("stability_safety")) {
      const std::string key = table.path_of("stability_safety");
      const std::optional<double> value = safety->value<double>();
      if (!safety->is_number() || !value) {
        diag_.bad_value(*safety, key, fmt::format("must be a plain number in (0, 1], not {}",
                                                  type_name(*safety)));
      }
      if (!(*value > 0.0 && *value <= 1.0)) {
        diag_.bad_value(*safety, key, "must be in (0, 1]");
      }
      run.stability_safety = *value;
    }
    return run;
  }

  const Diagnostics& diag_;
};

// ---- --set overrides --------------------------------------------------------------------------

// Parses the right-hand side of an override as a TOML value; text that is not one (run.duration=2
// min) is taken as a plain string. Either way the value gets a source region pointing into the
// text registered with `diagnostics`, so messages can quote it.
toml::table parse_override_value(std::string_view value_text, Diagnostics& diagnostics) {
  const auto parse_as_value = [&](const std::string& rhs) -> std::optional<toml::table> {
    std::string document = "v = " + rhs;
    try {
      toml::table parsed =
          toml::parse(std::string_view(document), std::string_view(kOverrideOrigin));
      if (parsed.size() != 1 || parsed.get("v") == nullptr) return std::nullopt;
      diagnostics.add_source(parsed.source().path, std::move(document), true);
      return parsed;
    } catch (const toml::parse_error&) {
      return std::nullopt;
    }
  };
  if (std::optional<toml::table> parsed = parse_as_value(std::string(value_text))) {
    return std::move(*parsed);
  }
  std::ostringstream quoted;
  quoted << toml::toml_formatter{toml::value<std::string>(std::string(value_text)),
                                 toml::format_flags::allow_unicode_strings};
  if (std::optional<toml::table> parsed = parse_as_value(quoted.str())) return std::move(*parsed);
  throw InputError(fmt::format("{} '{}': cannot use the value as a string", kOverrideOrigin,
                               value_text));
}

// "species[NO].decay" (as messages print keys) is accepted as well as "species.NO.decay".
std::vector<std::string> split_key(std::string_view key) {
  std::string dotted;
  for (const char c : key) {
    if (c == '[') {
      dotted += '.';
    } else if (c != ']') {
      dotted += c;
    }
  }
  std::vector<std::string> segments;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = dotted.find('.', start);
    segments.emplace_back(trim(std::string_view(dotted).substr(start, dot - start)));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return segments;
}

// Selects the species named `name` or the source with 0-based index `name` in the array of tables
// `array_key`.
toml::table& select_element(toml::table& root, const std::string& array_key,
                            const std::string& name, const std::string& override_text) {
  const auto fail = [&](const std::string& what) -> InputError {
    return InputError(fmt::format("{} '{}': {}", kOverrideOrigin, override_text, what));
  };
  toml::array* array = root.get(array_key) ? root.get(array_key)->as_array() : nullptr;
  if (array_key == "species") {
    std::vector<std::string> names;
    if (array != nullptr) {
      for (toml::node& element : *array) {
        toml::table* table = element.as_table();
        if (table == nullptr) continue;
        const std::optional<std::string> element_name = (*table)["name"].value<std::string>();
        if (element_name && *element_name == name) return *table;
        if (element_name) names.push_back(*element_name);
      }
    }
    throw fail(fmt::format("no species named '{}' (declared: {})", name,
                           names.empty() ? "none" : join(names, ", ")));
  }
  const std::size_t count = array == nullptr ? 0 : array->size();
  std::size_t index = 0;
  const bool numeric = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  if (!numeric || name.size() > 9 || (index = std::stoul(name)) >= count) {
    throw fail(fmt::format("no source with index '{}' (sources are numbered from 0; there {} {})",
                           name, count == 1 ? "is" : "are", count));
  }
  toml::table* table = array->get(index)->as_table();
  if (table == nullptr) throw fail(fmt::format("source {} is not a table", index));
  return *table;
}

void apply_override(const std::string& override_text, toml::table& root,
                    Diagnostics& diagnostics) {
  const auto fail = [&](const std::string& what) -> InputError {
    return InputError(fmt::format("{} '{}': {}", kOverrideOrigin, override_text, what));
  };
  const std::size_t equals = override_text.find('=');
  if (equals == std::string::npos) {
    throw fail("expected key=value, e.g. run.duration=\"2 min\"");
  }
  const std::vector<std::string> segments =
      split_key(trim(std::string_view(override_text).substr(0, equals)));
  for (const std::string& segment : segments) {
    if (segment.empty()) throw fail("empty key or key segment before '='");
  }
  toml::table value_document =
      parse_override_value(trim(std::string_view(override_text).substr(equals + 1)), diagnostics);

  toml::table* current = &root;
  std::string walked;
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    const std::string& segment = segments[i];
    walked += (walked.empty() ? "" : ".") + segment;
    if (current == &root && (segment == "species" || segment == "source")) {
      if (i + 2 == segments.size()) {
        throw fail(fmt::format("name a key inside the {0}, e.g. {0}.{1}.{2}", segment,
                               segments[i + 1], segment == "species" ? "decay" : "rate"));
      }
      current = &select_element(root, segment, segments[i + 1], override_text);
      walked += "." + segments[++i];
      continue;
    }
    toml::node* next = current->get(segment);
    if (next == nullptr) {
      next = current->insert(segment, toml::table{}).first->second.as_table();
    }
    if (!next->is_table()) throw fail(fmt::format("'{}' is not a table", walked));
    current = next->as_table();
  }
  value_document.get("v")->visit([&](auto&& value) {
    current->insert_or_assign(segments.back(), std::move(value));
  });
}

std::string read_file(const std::string& path) {
  std::error_code error;
  if (fs::is_directory(path, error)) {
    throw InputError(
        fmt::format("cannot open scenario file '{}': {}", path, std::strerror(EISDIR)));
  }
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) {
    throw InputError(fmt::format("cannot open scenario file '{}': {}", path, std::strerror(errno)));
  }
  std::string text;
  char buffer[1 << 16];
  std::size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, read);
  if (std::ferror(file.get())) {
    throw InputError(fmt::format("cannot read scenario file '{}': {}", path, std::strerror(errno)));
  }
  return text;
}

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& file_label,
                        const std::vector<std::string>& overrides) {
  Diagnostics diagnostics(file_label);
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(file_label));
  } catch (const toml::parse_error& error) {
    throw InputError(fmt::format("{}:{}:{}: TOML syntax error: {}", file_label,
                                 error.source().begin.line, error.source().begin.column,
                                 error.description()));
  }
  diagnostics.add_source(root.source().path, text, false);
  for (const std::string& override_text : overrides) {
    apply_override(override_text, root, diagnostics);
  }

  Scenario scenario;
  scenario.file = file_label;
  scenario.text = text;
  scenario.overrides = overrides;
  ScenarioReader(diagnostics).read(root, scenario);
  return scenario;
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_scenario(read_file(path), path, overrides);
}

}  // namespace cordsim
