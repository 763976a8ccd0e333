#pragma once
// Physical quantities with units, parsed from scenario text such as "3300 um^2/s" or "0.5 amol/s".
//
// Internal units, used everywhere after parsing (conversion happens here and nowhere else):
//   length µm, time s, amount ymol (yoctomole, 1e-24 mol), so that concentration ymol/µm³ = nM.
// A quantity's dimension is the exponent vector (length, time, amount).
#include <string>
#include <string_view>

namespace cordsim {

struct Dimension {
  int length = 0;
  int time = 0;
  int amount = 0;
  friend bool operator==(const Dimension& a, const Dimension& b) {
    return a.length == b.length && a.time == b.time && a.amount == b.amount;
  }
  friend bool operator!=(const Dimension& a, const Dimension& b) { return !(a == b); }
};

namespace dim {
inline constexpr Dimension none{0, 0, 0};
inline constexpr Dimension length{1, 0, 0};
inline constexpr Dimension time{0, 1, 0};
inline constexpr Dimension rate{0, -1, 0};                 // 1/s (decay)
inline constexpr Dimension diffusivity{2, -1, 0};          // µm²/s
inline constexpr Dimension velocity{1, -1, 0};             // µm/s (Robin permeability)
inline constexpr Dimension concentration{-3, 0, 1};        // nM
inline constexpr Dimension concentration_rate{-3, -1, 1};  // nM/s (volumetric source)
inline constexpr Dimension amount{0, 0, 1};                // ymol
inline constexpr Dimension amount_rate{0, -1, 1};          // ymol/s (total source rate)
}  // namespace dim

// Human-readable name of a dimension with its internal unit, e.g. "diffusivity [um^2/s]".
std::string describe(const Dimension& d);

struct Quantity {
  double value = 0.0;  // in internal units
  Dimension dimension;
};

// Parses "<number> <unit expression>". Unit expressions: products and quotients of units with
// integer powers, e.g. "um^2/s", "1/s", "nM", "amol/s", "mol/(L*s)" is NOT supported (no
// parentheses); "mm", "um", "µm", "nm", "m", "cm"; "s", "ms", "min", "h", "d"; "M", "mM", "uM",
// "µM", "nM", "pM", "fM"; "mol", "mmol", "umol", "nmol", "pmol", "fmol", "amol", "zmol", "ymol";
// "L", "mL", "uL". Throws std::invalid_argument with a message naming what is wrong
// (missing unit, unknown unit, malformed number).
Quantity parse_quantity(std::string_view text);

}  // namespace cordsim
