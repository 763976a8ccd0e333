// The time unit of a run's files follows the scenario: a transport run writes seconds, a disease
// run (a scenario with a [model] table) days. Checked in cordsim.h5 (/times and its unit
// attributes, the file's time_unit, each field's time), cordsim.xdmf (Time values and the
// time_unit Information element), cordsim.pvd (timesteps and the comment naming the unit), the VTK
// frames' time_unit field data and mass_budget.csv's time column; for RunOutput directly, for a
// `cordsim run` of a transport scenario and of a short ALS run; and the progress line of an ALS
// run ("t = 75.8 d of 150 d") and its "Stopped at t = 1 d" line.
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <hdf5.h>

#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/cli/progress.hpp"
#include "host/io/run_output.hpp"
#include "tests/support/test_support.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;
using test::lines_of;
using test::read_text;
using test::TempDir;

// ---- reading back ------------------------------------------------------------------------------

class Id {
 public:
  Id(hid_t id, herr_t (*closer)(hid_t), const std::string& what) : id_(id), closer_(closer) {
    if (id_ < 0) throw std::runtime_error("HDF5: cannot " + what);
  }
  ~Id() { closer_(id_); }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  operator hid_t() const { return id_; }

 private:
  hid_t id_;
  herr_t (*closer_)(hid_t);
};

// A scalar variable-length string attribute (as RunOutput writes them).
std::string attr_string(hid_t obj, const char* name) {
  Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose, std::string("open attribute ") + name);
  Id type(H5Aget_type(attr), H5Tclose, "get attribute type");
  Id mem(H5Tcopy(H5T_C_S1), H5Tclose, "copy type");
  H5Tset_size(mem, H5T_VARIABLE);
  H5Tset_cset(mem, H5Tget_cset(type));  // HDF5 converts no character sets
  char* text = nullptr;
  if (H5Aread(attr, mem, &text) < 0) throw std::runtime_error(std::string("cannot read attribute ") + name);
  std::string out = text != nullptr ? text : "";
  H5free_memory(text);
  return out;
}

double attr_double(hid_t obj, const char* name) {
  Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose, std::string("open attribute ") + name);
  double v = 0.0;
  if (H5Aread(attr, H5T_NATIVE_DOUBLE, &v) < 0) throw std::runtime_error(std::string("cannot read attribute ") + name);
  return v;
}

std::vector<double> read_doubles(hid_t dset) {
  Id space(H5Dget_space(dset), H5Sclose, "get dataspace");
  std::vector<double> v(std::size_t(H5Sget_simple_extent_npoints(space)));
  if (!v.empty() && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    throw std::runtime_error("H5Dread failed");
  return v;
}

std::vector<double> captured_numbers(const std::string& text, const std::string& pattern) {
  std::vector<double> out;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back(std::stod((*it)[1].str()));
  return out;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-9) << what << " [" << i << "]";
}

// Every place a run records its times: all in `times` of `unit` ("s" or "d").
void expect_times_in(const fs::path& run, const std::vector<double>& times, const std::string& unit) {
  SCOPED_TRACE(run.string() + " in " + unit);
  {
    Id file(H5Fopen((run / "cordsim.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open cordsim.h5");
    EXPECT_EQ(attr_string(file, "time_unit"), unit);
    Id dset(H5Dopen2(file, "/times", H5P_DEFAULT), H5Dclose, "open /times");
    expect_near(read_doubles(dset), times, "/times");
    EXPECT_EQ(attr_string(dset, "units"), unit);
    EXPECT_EQ(attr_string(dset, "time_unit"), unit);
    EXPECT_EQ(attr_double(dset, "seconds_per_time_unit"), unit == "d" ? 86400.0 : 1.0);
    const std::string last = fmt::format("{:06d}", times.size() - 1);
    Id frame(H5Dopen2(file, ("/fields/NO/" + last).c_str(), H5P_DEFAULT), H5Dclose, "open the last NO frame");
    EXPECT_NEAR(attr_double(frame, "time"), times.back(), 1e-9);
  }

  const std::string xdmf = read_text(run / "cordsim.xdmf");
  expect_near(captured_numbers(xdmf, "<Time Value=\"([^\"]*)\""), times, "XDMF Time values");
  EXPECT_NE(xdmf.find("<Information Name=\"time_unit\" Value=\"" + unit + "\"/>"), std::string::npos) << xdmf;

  const std::string pvd = read_text(run / "cordsim.pvd");
  expect_near(captured_numbers(pvd, "timestep=\"([^\"]*)\""), times, "PVD timesteps");
  EXPECT_NE(pvd.find("<!-- cordsim: timestep in " + std::string(unit == "d" ? "days" : "seconds") +
                     ", time_unit=\"" + unit + "\" -->"),
            std::string::npos)
      << pvd;
  // The VTK frames carry the unit as field data next to TimeValue (the XML header is text).
  const std::string vti = read_text(run / "vtk" / "frame_000000.vti");
  EXPECT_NE(vti.find("Name=\"time_unit\""), std::string::npos);
  EXPECT_NE(vti.find("Name=\"TimeValue\""), std::string::npos);

  const std::vector<std::string> budget = lines_of(read_text(run / "mass_budget.csv"));
  ASSERT_EQ(budget.size(), times.size() + 1);
  EXPECT_EQ(budget[0].rfind("time_" + unit + ",", 0), 0u) << budget[0];
  for (std::size_t i = 0; i < times.size(); ++i)
    EXPECT_NEAR(std::stod(budget[i + 1].substr(0, budget[i + 1].find(','))), times[i], 1e-9) << budget[i + 1];
}

// ---- RunOutput ---------------------------------------------------------------------------------

Scenario box() {
  Scenario s;
  s.file = "unit/box.toml";
  s.name = "box";
  s.grid.shape = {3, 2, 2};
  s.grid.spacing_um = {10, 10, 10};
  s.species.resize(1);
  s.species[0].name = "NO";
  return s;
}

void write_box_run(const fs::path& dir, const RunMetadata& metadata, const std::vector<double>& times_s) {
  const Scenario s = box();
  RunOutput out(dir, false, s, metadata, {{"NO", "nM", "nitric oxide"}}, std::vector<std::uint8_t>(12, 1));
  const std::vector<float> values(12, 1.0f);
  for (double t : times_s) out.write_frame(t, {values.data()}, {1.0});
  out.commit();
}

TEST(TimeUnit, FollowsTheScenario) {
  Scenario transport = box();
  EXPECT_EQ(time_unit_of(transport).symbol, "s");
  EXPECT_EQ(time_unit_of(transport).seconds, 1.0);
  transport.model.emplace();
  EXPECT_EQ(time_unit_of(transport).symbol, "d");
  EXPECT_EQ(time_unit_of(transport).seconds, 86400.0);
}

TEST(TimeUnit, RunOutputWritesSecondsByDefaultAndDaysWhenAsked) {
  TempDir tmp;
  write_box_run(tmp.path() / "s", {"test", "cpu"}, {0.0, 0.5, 1.25});
  expect_times_in(tmp.path() / "s", {0.0, 0.5, 1.25}, "s");
  write_box_run(tmp.path() / "d", {"test", "cpu", TimeUnit::days()}, {0.0, 43200.0, 86400.0, 6.55e6});
  expect_times_in(tmp.path() / "d", {0.0, 0.5, 1.0, 6.55e6 / 86400.0}, "d");
}

TEST(TimeUnit, RunOutputOfAModelScenarioIsInDays) {
  TempDir tmp;
  Scenario s = box();
  s.model.emplace();
  {
    RunOutput out(tmp.path() / "run", false, s, {"test", "cpu"}, {{"NO", "nM", "nitric oxide"}},
                  std::vector<std::uint8_t>(12, 1));
    const std::vector<float> values(12, 1.0f);
    out.write_frame(0.0, {values.data()}, {1.0});
    out.write_frame(2 * 86400.0, {values.data()}, {1.0});
    // Times that do not increase are named in the run's unit.
    try {
      out.write_frame(86400.0, {values.data()}, {1.0});
      ADD_FAILURE() << "a decreasing time was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("time 1 d does not follow 2 d"), std::string::npos) << e.what();
    }
    out.commit();
  }
  expect_times_in(tmp.path() / "run", {0.0, 2.0}, "d");
}

// ---- cordsim run -------------------------------------------------------------------------------

TEST(TimeUnit, TransportRunWritesSeconds) {
  TempDir tmp;
  const fs::path run = tmp.path() / "demo";
  const test::CommandResult r = test::run_cordsim(
      {"run", (test::kSourceDir / "scenarios/demo.toml").string(), "--out", run.string(), "--backend", "cpu",
       "--threads", "1", "--set", "grid.shape=[36, 26, 12]", "--set", "grid.spacing=[\"100 um\", \"100 um\", \"200 um\"]",
       "--set", "run.duration=\"10 s\"", "--set", "run.output_interval=\"5 s\""});
  ASSERT_EQ(r.status, 0) << r.output;
  expect_times_in(run, {0.0, 5.0, 10.0}, "s");
  EXPECT_NE(r.output.find("time in s;"), std::string::npos) << r.output;
}

TEST(TimeUnit, AlsRunWritesDays) {
  TempDir tmp;
  const fs::path run = tmp.path() / "wild_type";
  const test::CommandResult r = test::run_cordsim(
      {"run", (test::kSourceDir / "scenarios/als/wild_type_rat.toml").string(), "--out", run.string(), "--backend",
       "cpu", "--threads", "1", "--set", "geometry.voxel=[\"200 um\", \"200 um\", \"400 um\"]", "--set",
       "run.duration=\"2 d\"", "--set", "run.output_interval=\"1 d\"", "--set", "output.vtk=true"});
  ASSERT_EQ(r.status, 0) << r.output;
  expect_times_in(run, {0.0, 1.0, 2.0}, "d");
  EXPECT_NE(r.output.find("time in days;"), std::string::npos) << r.output;

  // A stopped ALS run says where in days.
  const test::CommandResult stopped = test::run_cordsim(
      {"run", (test::kSourceDir / "scenarios/als/wild_type_rat.toml").string(), "--out",
       (tmp.path() / "stopped").string(), "--backend", "cpu", "--threads", "1", "--set",
       "geometry.voxel=[\"200 um\", \"200 um\", \"400 um\"]", "--set", "run.duration=\"2 d\"", "--set",
       "run.output_interval=\"1 d\"", "--set", "output.vtk=false", "--stop-at", "1 d"});
  EXPECT_EQ(stopped.status, 4) << stopped.output;
  EXPECT_NE(stopped.output.find("Stopped at t = 1 d (--stop-at)"), std::string::npos) << stopped.output;
}

// ---- progress line -----------------------------------------------------------------------------

TEST(TimeUnit, ProgressLineOfAnAlsRunIsInDays) {
  const ProgressReporter als(150 * 86400.0, false, TimeUnit::days());
  const std::string line = als.text(75.8 * 86400.0, 1000, 10.0);
  EXPECT_EQ(line.rfind("t = 75.8 d of 150 d (50.5%), 100 sweeps/s, ETA 0:00:10", 0), 0u) << line;
  const ProgressReporter transport(120.0, false);
  EXPECT_EQ(transport.text(30.0, 100, 1.0).rfind("t = 30 s of 120 s (25.0%), 100 sweeps/s, ETA 0:00:03", 0), 0u)
      << transport.text(30.0, 100, 1.0);
}

}  // namespace
}  // namespace cordsim
