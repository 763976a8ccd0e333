#include "host/config/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace cordsim {
namespace {

struct UnitDefinition {
  std::string_view symbol;
  double scale;  // value of one of this unit in internal units (µm, s, ymol)
  Dimension dimension;
};

// 1 L = 1e-3 m³ = 1e15 µm³ and 1 mol = 1e24 ymol, so 1 M = 1e24 / 1e15 ymol/µm³ = 1e9 nM.
constexpr double kLitre = 1e15;
constexpr double kMole = 1e24;
constexpr double kMolar = kMole / kLitre;

// Symbols use ASCII 'u' for micro; 'µ' (U+00B5) and 'μ' (U+03BC) are mapped to it before lookup.
constexpr UnitDefinition kUnits[] = {
    {"m", 1e6, dim::length},
    {"cm", 1e4, dim::length},
    {"mm", 1e3, dim::length},
    {"um", 1.0, dim::length},
    {"nm", 1e-3, dim::length},
    {"s", 1.0, dim::time},
    {"ms", 1e-3, dim::time},
    {"min", 60.0, dim::time},
    {"h", 3600.0, dim::time},
    {"d", 86400.0, dim::time},
    {"M", kMolar, dim::concentration},
    {"mM", kMolar * 1e-3, dim::concentration},
    {"uM", kMolar * 1e-6, dim::concentration},
    {"nM", kMolar * 1e-9, dim::concentration},
    {"pM", kMolar * 1e-12, dim::concentration},
    {"fM", kMolar * 1e-15, dim::concentration},
    {"mol", kMole, dim::amount},
    {"mmol", kMole * 1e-3, dim::amount},
    {"umol", kMole * 1e-6, dim::amount},
    {"nmol", kMole * 1e-9, dim::amount},
    {"pmol", kMole * 1e-12, dim::amount},
    {"fmol", kMole * 1e-15, dim::amount},
    {"amol", kMole * 1e-18, dim::amount},
    {"zmol", kMole * 1e-21, dim::amount},
    {"ymol", kMole * 1e-24, dim::amount},
    {"L", kLitre, Dimension{3, 0, 0}},
    {"mL", kLitre * 1e-3, Dimension{3, 0, 0}},
    {"uL", kLitre * 1e-6, Dimension{3, 0, 0}},
};

constexpr std::string_view kKnownUnits =
    "m, cm, mm, um, nm, s, ms, min, h, d, M, mM, uM, nM, pM, fM, mol, mmol, umol, nmol, pmol, "
    "fmol, amol, zmol, ymol, L, mL, uL";

constexpr std::string_view kMicroSign = "\xC2\xB5";   // U+00B5 MICRO SIGN
constexpr std::string_view kGreekMu = "\xCE\xBC";     // U+03BC GREEK SMALL LETTER MU
constexpr std::string_view kMiddleDot = "\xC2\xB7";   // U+00B7 MIDDLE DOT (product)

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool is_unit_start(std::string_view s) {
  return !s.empty() && (std::isalpha(static_cast<unsigned char>(s.front())) ||
                        starts_with(s, kMicroSign) || starts_with(s, kGreekMu));
}

std::string normalise_micro(std::string_view symbol) {
  std::string out;
  for (std::size_t i = 0; i < symbol.size();) {
    const std::string_view rest = symbol.substr(i);
    if (starts_with(rest, kMicroSign) || starts_with(rest, kGreekMu)) {
      out += 'u';
      i += 2;
    } else {
      out += symbol[i++];
    }
  }
  return out;
}

Dimension scaled(const Dimension& d, int power) {
  return {d.length * power, d.time * power, d.amount * power};
}

Dimension combined(const Dimension& a, const Dimension& b) {
  return {a.length + b.length, a.time + b.time, a.amount + b.amount};
}

// Parses a unit expression: factor (op factor)*, op one of '*', '·', '/'. Everything after the
// first '/' is in the denominator ("a/b/c" = a/(b·c)); a '*' after a '/' is rejected because
// readers disagree on whether "mol/L*s" means mol/(L·s) or (mol/L)·s.
class UnitExpressionParser {
 public:
  explicit UnitExpressionParser(std::string_view expression)
      : whole_(expression), rest_(expression) {}

  Quantity parse() {
    Quantity result{1.0, dim::none};
    bool in_denominator = false;
    bool first = true;
    for (;;) {
      skip_spaces();
      const Quantity factor = parse_factor(first);
      const int sign = in_denominator ? -1 : 1;
      result.value *= std::pow(factor.value, sign);
      result.dimension = combined(result.dimension, scaled(factor.dimension, sign));
      first = false;
      skip_spaces();
      if (rest_.empty()) return result;
      if (rest_.front() == '/') {
        rest_.remove_prefix(1);
        in_denominator = true;
      } else if (rest_.front() == '*' || starts_with(rest_, kMiddleDot)) {
        if (in_denominator) {
          throw std::invalid_argument(fmt::format(
              "ambiguous unit '{}': after '/', write each further divisor with its own '/' "
              "(e.g. mol/L/s)",
              whole_));
        }
        rest_.remove_prefix(rest_.front() == '*' ? 1 : kMiddleDot.size());
      } else {
        throw std::invalid_argument(
            fmt::format("malformed unit '{}': unexpected '{}'", whole_, rest_));
      }
    }
  }

 private:
  void skip_spaces() {
    while (!rest_.empty() && is_space(rest_.front())) rest_.remove_prefix(1);
  }

  // A unit symbol with an optional integer power, or "1" as the leading factor (as in "1/s").
  Quantity parse_factor(bool first) {
    if (first && !rest_.empty() && rest_.front() == '1') {
      rest_.remove_prefix(1);
      return {1.0, dim::none};
    }
    std::size_t length = 0;
    while (length < rest_.size()) {
      const std::string_view at = rest_.substr(length);
      if (std::isalpha(static_cast<unsigned char>(at.front()))) {
        ++length;
      } else if (starts_with(at, kMicroSign) || starts_with(at, kGreekMu)) {
        length += 2;
      } else {
        break;
      }
    }
    if (length == 0) {
      throw std::invalid_argument(
          rest_.empty() ? fmt::format("malformed unit '{}': missing unit after an operator", whole_)
                        : fmt::format("malformed unit '{}': expected a unit symbol at '{}'", whole_,
                                      rest_));
    }
    const std::string_view written = rest_.substr(0, length);
    rest_.remove_prefix(length);
    const UnitDefinition* unit = lookup(written);
    int power = 1;
    if (!rest_.empty() && rest_.front() == '^') {
      rest_.remove_prefix(1);
      power = parse_power(written);
    }
    return {std::pow(unit->scale, power), scaled(unit->dimension, power)};
  }

  int parse_power(std::string_view symbol) {
    std::string_view digits = rest_;
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    int power = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), power);
    if (error != std::errc() || end == digits.data()) {
      throw std::invalid_argument(
          fmt::format("malformed unit '{}': '{}^' must be followed by an integer", whole_, symbol));
    }
    rest_.remove_prefix(static_cast<std::size_t>(end - rest_.data()));
    return power;
  }

  static const UnitDefinition* lookup(std::string_view written) {
    const std::string symbol = normalise_micro(written);
    for (const UnitDefinition& unit : kUnits) {
      if (unit.symbol == symbol) return &unit;
    }
    throw std::invalid_argument(
        fmt::format("unknown unit '{}' (known units: {})", written, kKnownUnits));
  }

  std::string_view whole_;
  std::string_view rest_;
};

// "um^2" for power 2, "um" for power 1.
std::string unit_power(std::string_view symbol, int power) {
  return power == 1 ? std::string(symbol) : fmt::format("{}^{}", symbol, power);
}

// The internal unit of an arbitrary dimension, e.g. "um^2/s", "1/um^3", "ymol*um".
std::string internal_unit(const Dimension& d) {
  if (d == dim::concentration) return "nM";
  if (d == dim::concentration_rate) return "nM/s";
  const std::pair<std::string_view, int> factors[] = {
      {"um", d.length}, {"ymol", d.amount}, {"s", d.time}};
  std::string numerator;
  std::string denominator;
  for (const auto& [symbol, power] : factors) {
    if (power > 0) {
      numerator += (numerator.empty() ? "" : "*") + unit_power(symbol, power);
    } else if (power < 0) {
      denominator += "/" + unit_power(symbol, -power);
    }
  }
  if (numerator.empty()) numerator = "1";
  return numerator + denominator;
}

}  // namespace

std::string describe(const Dimension& d) {
  const std::pair<Dimension, std::string_view> names[] = {
      {dim::none, "dimensionless number"},
      {dim::length, "length"},
      {dim::time, "time"},
      {dim::rate, "rate"},
      {dim::diffusivity, "diffusivity"},
      {dim::velocity, "velocity"},
      {dim::concentration, "concentration"},
      {dim::concentration_rate, "concentration rate"},
      {dim::amount, "amount"},
      {dim::amount_rate, "amount rate"},
      {Dimension{3, 0, 0}, "volume"},
  };
  for (const auto& [dimension, name] : names) {
    if (dimension == d) {
      return d == dim::none ? std::string(name)
                            : fmt::format("{} [{}]", name, internal_unit(d));
    }
  }
  return fmt::format("quantity [{}]", internal_unit(d));
}

Quantity parse_quantity(std::string_view text) {
  const std::string_view trimmed = trim(text);
  if (trimmed.empty()) throw std::invalid_argument("empty value (expected a number and a unit)");

  // from_chars rejects a leading '+', which users may reasonably write.
  std::string_view number_text = trimmed;
  if (number_text.front() == '+') number_text.remove_prefix(1);
  double value = 0.0;
  const auto [end, error] =
      std::from_chars(number_text.data(), number_text.data() + number_text.size(), value);
  if (error == std::errc::result_out_of_range) {
    throw std::invalid_argument(fmt::format("number out of range in '{}'", trimmed));
  }
  if (error != std::errc() || end == number_text.data() || !std::isfinite(value)) {
    throw std::invalid_argument(fmt::format("malformed number in '{}'", trimmed));
  }
  std::string_view unit_text =
      number_text.substr(static_cast<std::size_t>(end - number_text.data()));
  // The number must end at a space or run straight into a space-free unit ("25um"); anything
  // else, such as "1.2.3 um", "3,5 um" or "1O um" (letter O), is a broken number, not a unit.
  const bool runs_into_unit = is_unit_start(unit_text) &&
                              unit_text.find_first_of(" \t") == std::string_view::npos;
  if (!unit_text.empty() && !is_space(unit_text.front()) && !runs_into_unit) {
    throw std::invalid_argument(fmt::format("malformed number in '{}'", trimmed));
  }
  unit_text = trim(unit_text);
  if (unit_text.empty()) throw std::invalid_argument("value without unit");

  Quantity unit = UnitExpressionParser(unit_text).parse();
  return {value * unit.value, unit.dimension};
}

}  // namespace cordsim
