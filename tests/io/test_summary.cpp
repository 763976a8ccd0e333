// summary.json (host/io/summary.hpp): keys keep their order, a repeated key is replaced in place,
// numbers read back exactly, non-finite numbers become null, and the reader refuses nested values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "host/io/summary.hpp"

namespace cordsim {
namespace {

TEST(RunSummary, KeepsInsertionOrderAndReplacesARepeatedKeyInPlace) {
  RunSummary s;
  s.add("scenario", "demo");
  s.add("onset_day", 115.2);
  s.add("motor_neurons", 4200);
  s.add("onset_day", 117.5);
  ASSERT_EQ(s.entries().size(), 3u);
  EXPECT_EQ(s.entries()[1].first, "onset_day");
  EXPECT_EQ(std::get<double>(s.entries()[1].second), 117.5);
  EXPECT_EQ(s.to_json(), "{\n  \"scenario\": \"demo\",\n  \"onset_day\": 117.5,\n  \"motor_neurons\": 4200\n}\n");
}

TEST(RunSummary, RoundTripsNumbersExactlyAndEscapesStrings) {
  RunSummary s;
  s.add("third", 1.0 / 3.0);
  s.add("tiny", 1e-300);
  s.add("big", 123456789012345.0);
  s.add("nan", std::numeric_limits<double>::quiet_NaN());
  s.add("text", "a \"quoted\" path\\with\ttab, comma\nand µm");
  const RunSummary back = parse_flat_json(s.to_json(), "t.json");
  ASSERT_EQ(back.entries().size(), 5u);
  EXPECT_EQ(std::get<double>(*back.find("third")), 1.0 / 3.0);
  EXPECT_EQ(std::get<double>(*back.find("tiny")), 1e-300);
  EXPECT_EQ(std::get<double>(*back.find("big")), 123456789012345.0);
  EXPECT_TRUE(std::isnan(std::get<double>(*back.find("nan"))));
  EXPECT_NE(s.to_json().find("\"nan\": null"), std::string::npos);
  EXPECT_EQ(std::get<std::string>(*back.find("text")), "a \"quoted\" path\\with\ttab, comma\nand µm");
}

TEST(RunSummary, CsvCells) {
  EXPECT_EQ(csv_cell(RunSummary::Value(0.1)), "0.1");
  EXPECT_EQ(csv_cell(RunSummary::Value(3.0)), "3");
  EXPECT_EQ(csv_cell(RunSummary::Value(std::numeric_limits<double>::quiet_NaN())), "");
  EXPECT_EQ(csv_cell(RunSummary::Value(std::string("plain"))), "plain");
  EXPECT_EQ(csv_cell(RunSummary::Value(std::string("a, b"))), "\"a, b\"");
  EXPECT_EQ(csv_cell(RunSummary::Value(std::string("say \"hi\""))), "\"say \"\"hi\"\"\"");
}

TEST(RunSummary, TheReaderRefusesNestedValuesAndSyntaxErrors) {
  EXPECT_THROW(parse_flat_json("{\"a\": {\"b\": 1}}", "t.json"), std::runtime_error);
  EXPECT_THROW(parse_flat_json("{\"a\": [1]}", "t.json"), std::runtime_error);
  EXPECT_THROW(parse_flat_json("{\"a\": 1", "t.json"), std::runtime_error);
  EXPECT_THROW(parse_flat_json("{\"a\": 1} x", "t.json"), std::runtime_error);
  try {
    parse_flat_json("{\"a\": }", "t.json");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "t.json: byte 6: \"a\" has no value (expected a flat JSON object of numbers and strings)");
  }
  EXPECT_TRUE(parse_flat_json(" { } ", "t.json").empty());
  EXPECT_EQ(std::get<std::string>(*parse_flat_json("{\"ok\": true}", "t.json").find("ok")), "true");
}

}  // namespace
}  // namespace cordsim
