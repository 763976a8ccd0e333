#pragma once
// Strict reading of TOML input documents (scenarios, mesh files): every node knows the file and
// line it came from, unknown keys are refused before values are read, and every physical value
// must carry a unit (units.hpp). Messages have the form `file:line: key = value: problem`.
// Shared by host/config/scenario.cpp and host/geometry/mesh_file.cpp.
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
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "host/config/scenario.hpp"
#include "host/config/units.hpp"

namespace cordsim::toml_input {

namespace fs = std::filesystem;

// Stands in for "<file>:<line>" in messages about values given on the command line.
inline constexpr std::string_view kOverrideOrigin = "--set";

inline std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

inline std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// The internal unit of a dimension as describe() spells it, e.g. "um^2/s" from
// "diffusivity [um^2/s]", so that range messages use the same units as the rest of cordsim.
inline std::string unit_of(const Dimension& d) {
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

inline constexpr UnitHint kUnitHints[] = {
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
inline std::string expectation(std::initializer_list<Dimension> allowed, std::string_view number) {
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

inline std::string type_name(const toml::node& node) {
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
    allow_only_list(std::vector<std::string_view>(allowed), context);
  }

  void allow_only_list(const std::vector<std::string_view>& allowed, std::string_view context = {}) const {
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
  const toml::table& table() const { return table_; }

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

inline std::string resolve_against(const std::string& file_label, const std::string& file) {
  const fs::path path(file);
  if (path.is_absolute()) return file;
  return (fs::path(file_label).parent_path() / path).string();
}

// Typed, range-checked reading of values; every failure names the node's file, line and key.
class ValueReader {
 public:
  explicit ValueReader(const Diagnostics& diagnostics) : diag_(diagnostics) {}


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

  // A file named in the document, resolved against the document's directory. Checked here
  // so that a typo is reported with its key and line before any output is created.
  std::string read_existing_file(const toml::node& node, const std::string& key) const {
    const std::string written = read_nonempty_string(node, key);
    // Relative to the file the value was written in (a scenario's base file resolves its own
    // paths); values given with --set resolve against the scenario named on the command line.
    const toml::source_path_ptr& origin = node.source().path;
    const std::string relative_to =
        origin && *origin != kOverrideOrigin ? *origin : diag_.file_label();
    const std::string resolved = resolve_against(relative_to, written);
    std::error_code error;
    if (!fs::is_regular_file(resolved, error)) {
      diag_.bad_value(node, key,
                      fs::exists(resolved, error)
                          ? fmt::format("'{}' is not a regular file", resolved)
                          : fmt::format("file '{}' not found", resolved));
    }
    return resolved;
  }

  // ["L3", "L5"] or ["L4"]: the first and last of a range of names (inclusive), e.g. segments.
  std::vector<std::string> read_name_range(const toml::node& node, const std::string& key) const {
    const toml::array* array = node.as_array();
    if (array == nullptr || array->empty() || array->size() > 2) {
      diag_.bad_value(node, key, "must be an array of one or two names, e.g. [\"L3\", \"L5\"]");
    }
    std::vector<std::string> names;
    for (std::size_t i = 0; i < array->size(); ++i) {
      names.push_back(read_nonempty_string(*array->get(i), fmt::format("{}[{}]", key, i)));
    }
    if (names.size() == 1) names.push_back(names.front());
    return names;
  }

 protected:
  const Diagnostics& diag_;
};

inline std::string read_text_file(const std::string& path, std::string_view what) {
  std::error_code error;
  if (fs::is_directory(path, error)) {
    throw InputError(
        fmt::format("cannot open {} '{}': {}", what, path, std::strerror(EISDIR)));
  }
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (!file) {
    throw InputError(fmt::format("cannot open {} '{}': {}", what, path, std::strerror(errno)));
  }
  std::string text;
  char buffer[1 << 16];
  std::size_t read = 0;
  while ((read = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, read);
  if (std::ferror(file.get())) {
    throw InputError(fmt::format("cannot read {} '{}': {}", what, path, std::strerror(errno)));
  }
  return text;
}

}  // namespace cordsim::toml_input
