// Unit parsing: every conversion into the internal units (µm, s, ymol; nM = ymol/µm³) and the
// errors for malformed input.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "host/config/units.hpp"

namespace cordsim {
namespace {

constexpr Dimension kVolume{3, 0, 0};

// Values are compared relative to their size: conversions multiply by powers of ten.
void expect_quantity(const std::string& text, double value, const Dimension& dimension) {
  SCOPED_TRACE(text);
  const Quantity q = parse_quantity(text);
  EXPECT_NEAR(q.value, value, 1e-12 * std::abs(value));
  EXPECT_EQ(q.dimension, dimension) << "got " << describe(q.dimension) << ", expected "
                                    << describe(dimension);
}

std::string error_of(const std::string& text) {
  try {
    const Quantity q = parse_quantity(text);
    ADD_FAILURE() << "'" << text << "' parsed as " << q.value << " " << describe(q.dimension)
                  << "; expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return {};
}

testing::AssertionResult mentions(const std::string& message, const std::string& part) {
  if (message.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "message \"" << message << "\" does not mention \"" << part
                                     << "\"";
}

TEST(Units, Lengths) {
  expect_quantity("25 um", 25.0, dim::length);
  expect_quantity("1 mm", 1e3, dim::length);
  expect_quantity("2 cm", 2e4, dim::length);
  expect_quantity("1.5 m", 1.5e6, dim::length);
  expect_quantity("500 nm", 0.5, dim::length);
}

TEST(Units, MicroSignsAreAccepted) {
  expect_quantity("25 \xC2\xB5m", 25.0, dim::length);  // U+00B5 MICRO SIGN
  expect_quantity("25 \xCE\xBCm", 25.0, dim::length);  // U+03BC GREEK SMALL LETTER MU
  expect_quantity("2 \xC2\xB5M", 2000.0, dim::concentration);
  expect_quantity("3 \xCE\xBCmol", 3e18, dim::amount);
}

TEST(Units, Times) {
  expect_quantity("2 min", 120.0, dim::time);
  expect_quantity("250 ms", 0.25, dim::time);
  expect_quantity("1 h", 3600.0, dim::time);
  expect_quantity("1 d", 86400.0, dim::time);
  expect_quantity("10 s", 10.0, dim::time);
}

TEST(Units, ConcentrationsAreNanomolar) {
  expect_quantity("1 nM", 1.0, dim::concentration);
  expect_quantity("1 uM", 1000.0, dim::concentration);
  expect_quantity("10 pM", 0.01, dim::concentration);
  expect_quantity("1 fM", 1e-6, dim::concentration);
  expect_quantity("1 mM", 1e6, dim::concentration);
  expect_quantity("1 M", 1e9, dim::concentration);
}

TEST(Units, NanomolarIsYoctomolePerCubicMicrometre) {
  expect_quantity("1 ymol/um^3", 1.0, dim::concentration);
  expect_quantity("1 mol/L", 1e9, dim::concentration);
  expect_quantity("1 nmol/mL", 1e3, dim::concentration);
}

TEST(Units, AmountsAndVolumes) {
  expect_quantity("1 mol", 1e24, dim::amount);
  expect_quantity("1 amol", 1e6, dim::amount);
  expect_quantity("1 zmol", 1e3, dim::amount);
  expect_quantity("1 ymol", 1.0, dim::amount);
  expect_quantity("2 fmol", 2e9, dim::amount);
  expect_quantity("1 L", 1e15, kVolume);
  expect_quantity("1 mL", 1e12, kVolume);
  expect_quantity("1 uL", 1e9, kVolume);
}

TEST(Units, Rates) {
  expect_quantity("0.5 amol/s", 5e5, dim::amount_rate);
  expect_quantity("2 nM/s", 2.0, dim::concentration_rate);
  expect_quantity("1 uM/min", 1000.0 / 60.0, dim::concentration_rate);
  expect_quantity("0.7 1/s", 0.7, dim::rate);
  expect_quantity("0.7 s^-1", 0.7, dim::rate);
  expect_quantity("6 1/min", 0.1, dim::rate);
  expect_quantity("1 mol/L/s", 1e9, dim::concentration_rate);
}

TEST(Units, DiffusivitiesAndVelocities) {
  expect_quantity("3300 um^2/s", 3300.0, dim::diffusivity);
  expect_quantity("1 mm^2/s", 1e6, dim::diffusivity);
  expect_quantity("1e-5 cm^2/s", 1000.0, dim::diffusivity);
  expect_quantity("2 um*um/s", 2.0, dim::diffusivity);
  expect_quantity("2 um\xC2\xB7um/s", 2.0, dim::diffusivity);  // U+00B7 MIDDLE DOT
  expect_quantity("0.05 um/s", 0.05, dim::velocity);
  expect_quantity("3 um*s^-1", 3.0, dim::velocity);
}

TEST(Units, NumberFormsAndSpacing) {
  expect_quantity("  25   um  ", 25.0, dim::length);
  expect_quantity("25um", 25.0, dim::length);
  expect_quantity("+5 um", 5.0, dim::length);
  expect_quantity("-3 um^2/s", -3.0, dim::diffusivity);
  expect_quantity("2e-4 1/s", 2e-4, dim::rate);
  expect_quantity("1E3 nm", 1.0, dim::length);
  expect_quantity("3 um^2 / s", 3.0, dim::diffusivity);
}

TEST(Units, ValueWithoutUnit) {
  EXPECT_TRUE(mentions(error_of("0.7"), "value without unit"));
  EXPECT_TRUE(mentions(error_of("  42  "), "value without unit"));
}

TEST(Units, EmptyValue) { EXPECT_TRUE(mentions(error_of(""), "empty")); }

TEST(Units, UnknownUnit) {
  EXPECT_TRUE(mentions(error_of("3 xm"), "unknown unit 'xm'"));
  EXPECT_TRUE(mentions(error_of("3 um^2/sec"), "unknown unit 'sec'"));
  EXPECT_TRUE(mentions(error_of("3 nm/S"), "unknown unit 'S'"));
}

TEST(Units, MalformedNumber) {
  EXPECT_TRUE(mentions(error_of("abc um"), "malformed number"));
  EXPECT_TRUE(mentions(error_of("1.2.3 um"), "malformed number"));
  EXPECT_TRUE(mentions(error_of("3,5 um"), "malformed number"));
  EXPECT_TRUE(mentions(error_of("nan um"), "malformed number"));
  EXPECT_TRUE(mentions(error_of("inf um"), "malformed number"));
  EXPECT_TRUE(mentions(error_of("um"), "malformed number"));
  EXPECT_TRUE(mentions(error_of("1O um"), "malformed number"));
}

TEST(Units, MalformedUnitExpressions) {
  EXPECT_TRUE(mentions(error_of("1 um^"), "um^"));
  EXPECT_TRUE(mentions(error_of("1 um^x"), "integer"));
  EXPECT_TRUE(mentions(error_of("1 um/"), "missing unit"));
  EXPECT_TRUE(mentions(error_of("1 um**s"), "malformed unit"));
  EXPECT_TRUE(mentions(error_of("1 mol/(L*s)"), "malformed unit"));
}

TEST(Units, ProductAfterQuotientIsRejectedAsAmbiguous) {
  EXPECT_TRUE(mentions(error_of("1 mol/L*s"), "ambiguous"));
}

TEST(Units, DescribeNamesDimensionAndInternalUnit) {
  EXPECT_EQ(describe(dim::diffusivity), "diffusivity [um^2/s]");
  EXPECT_EQ(describe(dim::rate), "rate [1/s]");
  EXPECT_EQ(describe(dim::length), "length [um]");
  EXPECT_EQ(describe(dim::concentration), "concentration [nM]");
  EXPECT_EQ(describe(dim::concentration_rate), "concentration rate [nM/s]");
  EXPECT_EQ(describe(dim::amount_rate), "amount rate [ymol/s]");
  EXPECT_EQ(describe(dim::velocity), "velocity [um/s]");
  EXPECT_TRUE(mentions(describe(Dimension{1, 1, 0}), "um*s"));
}

}  // namespace
}  // namespace cordsim
