#pragma once
// Records a measured figure and the bound a test holds it to, as GoogleTest properties that
// tools/validation.py collects into docs/validation.md ("measured: <quantity>", "bound:
// <quantity>"), and prints it.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace cordsim::test {

// `format` is a printf conversion for one double: "%.3e" for errors and residuals, "%.3g" for
// ratios and physical readouts.
inline void report(const std::string& quantity, double measured, const std::string& bound,
                   const char* format = "%.3e") {
  char text[32];
  std::snprintf(text, sizeof text, format, measured);
  ::testing::Test::RecordProperty("measured: " + quantity, text);
  ::testing::Test::RecordProperty("bound: " + quantity, bound);
  std::printf("%s = %s (bound %s)\n", quantity.c_str(), text, bound.c_str());
}

}  // namespace cordsim::test
