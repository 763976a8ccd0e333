// RunOutput and read_grid_dataset: the files of a run read back with the HDF5 C API (dims z y x,
// attributes, times), the XDMF index, the mass budget, the staging/commit life cycle, and a
// `cordsim run` end to end.
#include "host/io/run_output.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <vtkFieldData.h>
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkStringArray.h>
#include <vtkXMLImageDataReader.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/test_support.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

// ---- helpers -----------------------------------------------------------------------------------

using test::lines_of;
using test::read_text;
using test::TempDir;
using test::write_text;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

// Every capture of `pattern`'s first group in `text`, in order.
std::vector<std::string> captures(const std::string& text, const std::string& pattern) {
  std::vector<std::string> out;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].str());
  }
  return out;
}

std::vector<double> numbers(const std::string& s) {
  std::vector<double> v;
  std::istringstream in(s);
  for (double x; in >> x;) v.push_back(x);
  return v;
}

// Minimal RAII for the test's own HDF5 reads; failures throw, which GoogleTest reports.
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

Id open_file(const fs::path& p) {
  return Id(H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose, "open " + p.string());
}
Id open_dataset(hid_t file, const std::string& name) {
  return Id(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, "open dataset " + name);
}
Id open_group(hid_t file, const std::string& name) {
  return Id(H5Gopen2(file, name.c_str(), H5P_DEFAULT), H5Gclose, "open group " + name);
}

bool link_exists(hid_t file, const std::string& name) { return H5Lexists(file, name.c_str(), H5P_DEFAULT) > 0; }

std::vector<hsize_t> dims_of(hid_t dset) {
  Id space(H5Dget_space(dset), H5Sclose, "get dataspace");
  std::vector<hsize_t> dims(std::size_t(H5Sget_simple_extent_ndims(space)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

std::vector<float> read_floats(hid_t dset) {
  Id space(H5Dget_space(dset), H5Sclose, "get dataspace");
  std::vector<float> v(std::size_t(H5Sget_simple_extent_npoints(space)));
  if (H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    throw std::runtime_error("H5Dread failed");
  return v;
}

std::vector<double> read_doubles(hid_t dset) {
  Id space(H5Dget_space(dset), H5Sclose, "get dataspace");
  std::vector<double> v(std::size_t(H5Sget_simple_extent_npoints(space)));
  if (H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    throw std::runtime_error("H5Dread failed");
  return v;
}

// String attribute(s), variable- or fixed-length, scalar or 1-D.
std::vector<std::string> attr_strings(hid_t obj, const char* name) {
  Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose, std::string("open attribute ") + name);
  Id type(H5Aget_type(attr), H5Tclose, "get attribute type");
  Id space(H5Aget_space(attr), H5Sclose, "get attribute space");
  if (H5Tget_class(type) != H5T_STRING) throw std::runtime_error(std::string(name) + " is not a string");
  const std::size_t n = std::size_t(H5Sget_simple_extent_npoints(space));
  std::vector<std::string> out;
  if (H5Tis_variable_str(type) > 0) {
    Id mem(H5Tcopy(H5T_C_S1), H5Tclose, "copy type");
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type));
    std::vector<char*> ptrs(n, nullptr);
    if (H5Aread(attr, mem, ptrs.data()) < 0) throw std::runtime_error("H5Aread failed");
    for (char* p : ptrs) {
      out.emplace_back(p != nullptr ? p : "");
      H5free_memory(p);
    }
  } else {
    const std::size_t size = H5Tget_size(type);
    std::vector<char> buf(n * size);
    if (H5Aread(attr, type, buf.data()) < 0) throw std::runtime_error("H5Aread failed");
    for (std::size_t i = 0; i < n; ++i) out.emplace_back(std::string(buf.data() + i * size, size).c_str());
  }
  return out;
}

std::string attr_string(hid_t obj, const char* name) {
  const auto v = attr_strings(obj, name);
  if (v.size() != 1) throw std::runtime_error(std::string(name) + " is not a single string");
  return v[0];
}

template <typename T>
std::vector<T> attr_numbers(hid_t obj, const char* name, hid_t mem_type) {
  Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose, std::string("open attribute ") + name);
  Id space(H5Aget_space(attr), H5Sclose, "get attribute space");
  std::vector<T> v(std::size_t(H5Sget_simple_extent_npoints(space)));
  if (H5Aread(attr, mem_type, v.data()) < 0) throw std::runtime_error("H5Aread failed");
  return v;
}
std::vector<double> attr_doubles(hid_t obj, const char* name) { return attr_numbers<double>(obj, name, H5T_NATIVE_DOUBLE); }
std::vector<int> attr_ints(hid_t obj, const char* name) { return attr_numbers<int>(obj, name, H5T_NATIVE_INT); }

// ---- a small hand-made run ---------------------------------------------------------------------

constexpr int kNx = 5, kNy = 4, kNz = 3;
constexpr std::size_t kCells = std::size_t(kNx) * kNy * kNz;

Scenario small_scenario() {
  Scenario s;
  s.file = "unit/scenario.toml";
  s.text = "# a scenario text with µm and \"quotes\"\n[grid]\nshape = [5, 4, 3]\n";
  s.overrides = {"run.duration=\"2 s\"", "grid.spacing=\"10 um\""};
  s.name = "unit";
  s.grid.shape = {kNx, kNy, kNz};
  s.grid.spacing_um = {10, 20, 30};
  s.grid.origin_um = {1, 2, 3};
  s.species.resize(2);
  s.species[0].name = "NO";
  s.species[1].name = "TNF";
  return s;
}

std::vector<FieldDescription> small_fields() {
  return {{"NO", "nM", "nitric oxide concentration"}, {"TNF", "nM", "TNF-alpha concentration"}};
}

std::vector<std::uint8_t> small_mask() {
  std::vector<std::uint8_t> m(kCells);
  for (std::size_t i = 0; i < kCells; ++i) m[i] = i % 3 != 0;
  return m;
}

RunMetadata small_metadata() { return {"0.1.0 (test)", "cpu (test)"}; }

// Exactly representable in float: field f, frame n, flat index i = x + nx·(y + ny·z).
float value(int f, int frame, std::size_t i) { return float(1000 * f + 100 * frame) + 0.5f * float(i); }

struct FrameData {
  std::vector<float> no, tnf;
};

FrameData frame_data(int frame) {
  FrameData d{std::vector<float>(kCells), std::vector<float>(kCells)};
  for (std::size_t i = 0; i < kCells; ++i) {
    d.no[i] = value(0, frame, i);
    d.tnf[i] = value(1, frame, i);
  }
  return d;
}

void write_small_frame(RunOutput& out, int frame, double t) {
  const FrameData d = frame_data(frame);
  out.write_frame(t, {d.no.data(), d.tnf.data()}, {1.5e6 * (frame + 1), 2.5e3});
}

const std::vector<double> kTimes = {0.0, 0.5, 1.25};

fs::path write_small_run(const fs::path& dir, bool overwrite = false) {
  RunOutput out(dir, overwrite, small_scenario(), small_metadata(), small_fields(), small_mask());
  for (int n = 0; n < int(kTimes.size()); ++n) write_small_frame(out, n, kTimes[std::size_t(n)]);
  return out.commit();
}

fs::path partial_of(const fs::path& dir) { return fs::path(dir.string() + ".partial"); }

// ---- 1. what a committed run contains -----------------------------------------------------------

TEST(RunOutput, WritesHdf5WithDimsAttributesAndTimes) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "nested" / "run";
  const fs::path xdmf = write_small_run(dir);
  EXPECT_EQ(xdmf, dir / "cordsim.xdmf");
  EXPECT_TRUE(fs::is_regular_file(xdmf));
  EXPECT_TRUE(fs::is_regular_file(dir / "cordsim.h5"));
  EXPECT_FALSE(fs::exists(partial_of(dir)));
  EXPECT_FALSE(fs::exists(dir / "cordsim.xdmf.tmp"));

  Id file = open_file(dir / "cordsim.h5");
  EXPECT_EQ(attr_string(file, "cordsim_version"), "0.1.0 (test)");
  EXPECT_EQ(attr_string(file, "backend"), "cpu (test)");
  EXPECT_EQ(attr_string(file, "scenario_file"), "unit/scenario.toml");
  EXPECT_EQ(attr_string(file, "scenario_text"), small_scenario().text);
  EXPECT_EQ(attr_string(file, "scenario_overrides"), "run.duration=\"2 s\"\ngrid.spacing=\"10 um\"");
  EXPECT_EQ(attr_strings(file, "species"), (std::vector<std::string>{"NO", "TNF"}));
  EXPECT_EQ(attr_string(file, "length_unit"), "um");
  EXPECT_EQ(attr_string(file, "time_unit"), "s");
  EXPECT_EQ(attr_string(file, "concentration_unit"), "nM");
  EXPECT_EQ(attr_doubles(file, "origin_um"), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(attr_doubles(file, "spacing_um"), (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(attr_ints(file, "shape"), (std::vector<int>{5, 4, 3}));

  Id grid = open_group(file, "/grid");
  EXPECT_EQ(attr_doubles(grid, "origin_um"), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(attr_doubles(grid, "spacing_um"), (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(attr_ints(grid, "shape"), (std::vector<int>{5, 4, 3}));

  Id mask = open_dataset(file, "/grid/tissue_mask");
  EXPECT_EQ(dims_of(mask), (std::vector<hsize_t>{3, 4, 5}));
  EXPECT_EQ(attr_string(mask, "units"), "1");
  EXPECT_FALSE(attr_string(mask, "long_name").empty());
  {
    Id type(H5Dget_type(mask), H5Tclose, "get type");
    EXPECT_EQ(H5Tget_class(type), H5T_INTEGER);
    EXPECT_EQ(H5Tget_size(type), 1u);
    EXPECT_EQ(H5Tget_sign(type), H5T_SGN_NONE);
    std::vector<std::uint8_t> m(kCells);
    ASSERT_GE(H5Dread(mask, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.data()), 0);
    EXPECT_EQ(m, small_mask());
  }
  // VTK's ghost flags: HIDDENCELL (32) outside the tissue, 0 in it, so ParaView hides the outside.
  {
    Id ghost = open_dataset(file, "/grid/vtkGhostType");
    EXPECT_EQ(dims_of(ghost), (std::vector<hsize_t>{3, 4, 5}));
    std::vector<std::uint8_t> g(kCells);
    ASSERT_GE(H5Dread(ghost, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, g.data()), 0);
    const std::vector<std::uint8_t> mask = small_mask();
    for (std::size_t i = 0; i < kCells; ++i) ASSERT_EQ(g[i], mask[i] ? 0 : 32) << "flat index " << i;
  }

  for (int n = 0; n < int(kTimes.size()); ++n) {
    for (int f = 0; f < 2; ++f) {
      const std::string name = std::string("/fields/") + (f == 0 ? "NO" : "TNF") + "/00000" + std::to_string(n);
      SCOPED_TRACE(name);
      Id dset = open_dataset(file, name);
      EXPECT_EQ(dims_of(dset), (std::vector<hsize_t>{3, 4, 5}));
      Id type(H5Dget_type(dset), H5Tclose, "get type");
      EXPECT_EQ(H5Tget_class(type), H5T_FLOAT);
      EXPECT_EQ(H5Tget_size(type), 4u);
      EXPECT_EQ(attr_string(dset, "units"), "nM");
      EXPECT_EQ(attr_string(dset, "long_name"), f == 0 ? "nitric oxide concentration" : "TNF-alpha concentration");
      EXPECT_EQ(attr_doubles(dset, "time"), (std::vector<double>{kTimes[std::size_t(n)]}));
      const std::vector<float> v = read_floats(dset);
      ASSERT_EQ(v.size(), kCells);
      for (std::size_t i = 0; i < kCells; ++i) ASSERT_EQ(v[i], value(f, n, i)) << "flat index " << i;
      // x fastest: element [z=2][y=1][x=4] is flat index 4 + 5·(1 + 4·2) = 49.
      EXPECT_EQ(v[49], value(f, n, 4 + 5 * (1 + 4 * 2)));
    }
  }
  EXPECT_FALSE(link_exists(file, "/fields/NO/000003"));

  Id times = open_dataset(file, "/times");
  EXPECT_EQ(read_doubles(times), kTimes);
  EXPECT_EQ(attr_string(times, "units"), "s");
}

TEST(RunOutput, WritesXdmfIndexingTheHdf5File) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "run";
  const std::string x = read_text(write_small_run(dir));

  EXPECT_NE(x.find("<Xdmf Version=\"3.0\""), std::string::npos);
  EXPECT_NE(x.find("GridType=\"Collection\" CollectionType=\"Temporal\""), std::string::npos);
  EXPECT_EQ(count_of(x, "GridType=\"Uniform\""), 3u);
  EXPECT_EQ(count_of(x, "TopologyType=\"3DCoRectMesh\" Dimensions=\"4 5 6\""), 3u);  // points: nz+1 ny+1 nx+1
  EXPECT_EQ(count_of(x, "GeometryType=\"ORIGIN_DXDYDZ\""), 3u);
  EXPECT_EQ(captures(x, "Name=\"Origin\"[^>]*>([^<]*)<"), std::vector<std::string>(3, "3 2 1"));  // z y x
  EXPECT_EQ(captures(x, "Name=\"Spacing\"[^>]*>([^<]*)<"), std::vector<std::string>(3, "30 20 10"));
  std::vector<double> times;
  for (const auto& t : captures(x, "<Time Value=\"([^\"]*)\"")) times.push_back(std::stod(t));
  EXPECT_EQ(times, kTimes);

  // Two fields, the mask and the ghost flags per frame, all cell-centred with dims nz ny nx.
  EXPECT_EQ(count_of(x, "Center=\"Cell\""), 12u);
  EXPECT_EQ(count_of(x, "Dimensions=\"3 4 5\""), 12u);
  std::vector<std::string> names, paths;
  for (const std::string frame : {"000000", "000001", "000002"}) {
    names.insert(names.end(), {"NO", "TNF", "tissue_mask", "vtkGhostType"});
    paths.insert(paths.end(), {"cordsim.h5:/fields/NO/" + frame, "cordsim.h5:/fields/TNF/" + frame,
                               "cordsim.h5:/grid/tissue_mask", "cordsim.h5:/grid/vtkGhostType"});
  }
  EXPECT_EQ(captures(x, "<Attribute Name=\"([^\"]*)\""), names);
  EXPECT_EQ(captures(x, "Format=\"HDF\"[^>]*>([^<]*)<"), paths);
  EXPECT_EQ(count_of(x, "NumberType=\"Float\" Precision=\"4\""), 6u);
  EXPECT_EQ(count_of(x, "NumberType=\"UChar\" Precision=\"1\""), 6u);
}

// A categorical static field (the tissue classes): the names of its values are in all three
// files, where ParaView and scripts look for them.
TEST(RunOutput, NamesTheValuesOfACategoricalFieldInHdf5XdmfAndVtk) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "run";
  const std::vector<std::string> classes = {"outside (CSF)", "white matter", "gray matter (intermediate)",
                                            "dorsal horn", "ventral horn", "motor-neuron pool (IX)",
                                            "central canal"};
  {
    RunOutput out(dir, false, small_scenario(), small_metadata(), small_fields(), small_mask());
    std::vector<std::uint8_t> labels(kCells);
    for (std::size_t i = 0; i < kCells; ++i) labels[i] = std::uint8_t(i % classes.size());
    out.add_static_field({"tissue_label", "1", "tissue class"}, labels, classes);
    out.add_static_field({"plain", "1", "not categorical"}, labels);
    for (int n = 0; n < int(kTimes.size()); ++n) write_small_frame(out, n, kTimes[std::size_t(n)]);
    out.commit();
  }
  {
    Id file = open_file(dir / "cordsim.h5");
    Id labels = open_dataset(file, "/grid/tissue_label");
    EXPECT_EQ(attr_strings(labels, "categories"), classes);
    Id plain = open_dataset(file, "/grid/plain");
    EXPECT_LE(H5Aexists(plain, "categories"), 0);
  }
  const std::string x = read_text(dir / "cordsim.xdmf");
  EXPECT_EQ(count_of(x, "<Information Name=\"tissue_label_categories\" Value=\"0=outside (CSF);1=white matter;"
                        "2=gray matter (intermediate);3=dorsal horn;4=ventral horn;"
                        "5=motor-neuron pool (IX);6=central canal\"/>"),
            1u)
      << x;
  EXPECT_EQ(count_of(x, "plain_categories"), 0u);

  vtkNew<vtkXMLImageDataReader> reader;
  reader->SetFileName((dir / "vtk" / "frame_000002.vti").c_str());
  reader->Update();
  vtkFieldData* field_data = reader->GetOutput()->GetFieldData();
  auto* annotations = vtkStringArray::SafeDownCast(field_data->GetAbstractArray("tissue_label_annotations"));
  ASSERT_NE(annotations, nullptr);
  std::vector<std::string> pairs;
  for (vtkIdType v = 0; v < annotations->GetNumberOfValues(); ++v) pairs.push_back(annotations->GetValue(v));
  std::vector<std::string> expected;
  for (std::size_t v = 0; v < classes.size(); ++v) expected.insert(expected.end(), {std::to_string(v), classes[v]});
  EXPECT_EQ(pairs, expected);
  EXPECT_EQ(field_data->GetAbstractArray("plain_annotations"), nullptr);

  // A name that would break the XDMF value is refused.
  RunOutput other(tmp.path() / "other", false, small_scenario(), small_metadata(), small_fields(), small_mask());
  EXPECT_THROW(other.add_static_field({"bad", "1", ""}, std::vector<std::uint8_t>(kCells), {"a=b"}),
               std::invalid_argument);
}

// cordsim_state.py: the run described for the state body (host/io/paraview_state.py) that follows.
TEST(RunOutput, WritesAParaViewStateScriptDescribingTheRun) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "run";
  {
    RunMetadata days = small_metadata();
    days.time_unit = TimeUnit::days();
    RunOutput out(dir, false, small_scenario(), days, small_fields(), small_mask());
    out.add_static_field({"tissue_label", "1", "tissue class"}, std::vector<std::uint8_t>(kCells, 1),
                         {"outside (CSF)", "white \"matter\""});
    write_small_frame(out, 0, 86400.0);
    out.suspend();  // a stopped run's state opens OUT.partial
    EXPECT_NE(read_text(partial_of(dir) / "cordsim_state.py").find("\"directory\": \"" + partial_of(dir).string() + "\""),
              std::string::npos);
  }
  fs::remove_all(partial_of(dir));
  {
    RunMetadata days = small_metadata();
    days.time_unit = TimeUnit::days();
    RunOutput out(dir, false, small_scenario(), days, small_fields(), small_mask());
    out.add_static_field({"tissue_label", "1", "tissue class"}, std::vector<std::uint8_t>(kCells, 1),
                         {"outside (CSF)", "white \"matter\""});
    write_small_frame(out, 0, 86400.0);
    out.commit();
  }
  const std::string state = read_text(dir / "cordsim_state.py");
  for (const std::string& line : {
           std::string("CORDSIM_RUN = {\n"),
           "    \"directory\": \"" + dir.string() + "\",\n",
           std::string("    \"fields\": [[\"NO\", \"nM\", \"nitric oxide concentration\"], "
                       "[\"TNF\", \"nM\", \"TNF-alpha concentration\"]],\n"),
           std::string("    \"grid_fields\": [\"tissue_mask\", \"tissue_label\"],\n"),
           std::string("    \"categories\": {\"tissue_label\": [\"outside (CSF)\", \"white \\\"matter\\\"\"]},\n"),
           std::string("    \"time_unit\": \"d\",\n"),
           std::string("    \"origin_um\": [1, 2, 3],\n"),
           std::string("    \"spacing_um\": [10, 20, 30],\n"),
           std::string("    \"shape\": [5, 4, 3],\n"),
           std::string("CORDSIM_STATE = build(CORDSIM_RUN)")}) {
    EXPECT_NE(state.find(line), std::string::npos) << line << "\nin\n" << state.substr(0, 1200);
  }
  EXPECT_FALSE(fs::exists(dir / "cordsim_state.py.tmp"));
}

TEST(RunOutput, WritesMassBudgetInAttomoles) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "run";
  write_small_run(dir);
  const auto lines = lines_of(read_text(dir / "mass_budget.csv"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "time_s,NO_total_amol,TNF_total_amol");
  for (std::size_t n = 0; n < kTimes.size(); ++n) {
    const auto cols = split(lines[n + 1], ',');
    ASSERT_EQ(cols.size(), 3u) << lines[n + 1];
    EXPECT_DOUBLE_EQ(std::stod(cols[0]), kTimes[n]);
    EXPECT_DOUBLE_EQ(std::stod(cols[1]), 1.5 * double(n + 1));  // 1.5e6 ymol = 1.5 amol
    EXPECT_DOUBLE_EQ(std::stod(cols[2]), 2.5e-3);
  }
  EXPECT_EQ(split(lines[1], ',')[1], "1.500000000e+00");
}

TEST(RunOutput, StagesUnderPartialUntilCommit) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "run";
  RunOutput out(dir / "", false, small_scenario(), small_metadata(), small_fields(), small_mask());
  EXPECT_EQ(out.staging_dir(), partial_of(dir));  // "run/" stages in "run.partial", not "run/.partial"
  write_small_frame(out, 0, 0.0);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(fs::is_regular_file(partial_of(dir) / "cordsim.h5"));
  EXPECT_TRUE(fs::is_regular_file(partial_of(dir) / "mass_budget.csv"));
  EXPECT_FALSE(fs::exists(partial_of(dir) / "cordsim.xdmf"));
  // Flushed per frame: the frame is readable while the run is still going.
  EXPECT_EQ(read_grid_dataset(partial_of(dir) / "cordsim.h5", "/fields/TNF/000000", {kNx, kNy, kNz}),
            frame_data(0).tnf);
  out.commit();
  EXPECT_TRUE(fs::is_regular_file(dir / "cordsim.xdmf"));
  EXPECT_FALSE(fs::exists(partial_of(dir)));
}

// ---- 2. life cycle -----------------------------------------------------------------------------

TEST(RunOutput, UncommittedRunLeavesNoDirectory) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "run";
  {
    RunOutput out(dir, false, small_scenario(), small_metadata(), small_fields(), small_mask());
    write_small_frame(out, 0, 0.0);
    EXPECT_TRUE(fs::is_directory(partial_of(dir)));
  }
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(fs::exists(partial_of(dir)));
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

TEST(RunOutput, ExistingDirectoryWithoutOverwriteIsAnInputErrorAndKept) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "run";
  fs::create_directories(dir);
  write_text(dir / "keep.txt", "old");
  try {
    RunOutput out(dir, false, small_scenario(), small_metadata(), small_fields(), small_mask());
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'" + dir.string() + "' exists; use --overwrite"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_text(dir / "keep.txt"), "old");
  EXPECT_FALSE(fs::exists(partial_of(dir)));
}

TEST(RunOutput, OverwriteReplacesAnEarlierRunOnlyAtCommit) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "run";
  {
    RunOutput first(dir, false, small_scenario(), small_metadata(), small_fields(), small_mask());
    write_small_frame(first, 0, 0.0);
    first.commit();
  }
  write_text(dir / "stale.txt", "from the first run");
  {
    RunOutput second(dir, true, small_scenario(), small_metadata(), small_fields(), small_mask());
    write_small_frame(second, 2, 7.0);
    EXPECT_TRUE(fs::exists(dir / "stale.txt"));  // the old output survives until the new one is complete
    second.commit();
  }
  EXPECT_FALSE(fs::exists(dir / "stale.txt"));
  EXPECT_EQ(read_grid_dataset(dir / "cordsim.h5", "/fields/NO/000000", {kNx, kNy, kNz}), frame_data(2).no);
  Id file = open_file(dir / "cordsim.h5");
  EXPECT_EQ(read_doubles(open_dataset(file, "/times")), std::vector<double>{7.0});
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(tmp.path())) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"run"});  // no .partial, no moved-aside old run
}

TEST(RunOutput, AbandonedOverwriteKeepsTheEarlierRun) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "run";
  write_small_run(dir);
  {
    RunOutput second(dir, true, small_scenario(), small_metadata(), small_fields(), small_mask());
    write_small_frame(second, 2, 7.0);
  }
  Id file = open_file(dir / "cordsim.h5");
  EXPECT_EQ(read_doubles(open_dataset(file, "/times")), kTimes);
  EXPECT_FALSE(fs::exists(partial_of(dir)));
}

TEST(RunOutput, OverwriteRefusesADirectoryThatIsNotACordsimOutput) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "thesis";
  fs::create_directories(dir);
  write_text(dir / "chapter1.tex", "precious");
  EXPECT_THROW(RunOutput(dir, true, small_scenario(), small_metadata(), small_fields(), small_mask()), InputError);
  EXPECT_EQ(read_text(dir / "chapter1.tex"), "precious");
  EXPECT_FALSE(fs::exists(partial_of(dir)));
}

TEST(RunOutput, RemovesAStaleStagingDirectory) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "run";
  fs::create_directories(partial_of(dir));
  write_text(partial_of(dir) / "cordsim.h5", "left by a killed run");
  write_text(partial_of(dir) / "junk.txt", "junk");
  write_small_run(dir);
  EXPECT_FALSE(fs::exists(dir / "junk.txt"));
  EXPECT_FALSE(fs::exists(partial_of(dir)));
}

TEST(RunOutput, RejectsInconsistentFrames) {
  TempDir tmp;
  RunOutput out(tmp.path() / "run", false, small_scenario(), small_metadata(), small_fields(), small_mask());
  const FrameData d = frame_data(0);
  EXPECT_THROW(out.write_frame(0.0, {d.no.data()}, {1.0, 2.0}), std::invalid_argument);
  EXPECT_THROW(out.write_frame(0.0, {d.no.data(), d.tnf.data()}, {1.0}), std::invalid_argument);
  out.write_frame(1.0, {d.no.data(), d.tnf.data()}, {1.0, 2.0});
  EXPECT_THROW(out.write_frame(1.0, {d.no.data(), d.tnf.data()}, {1.0, 2.0}), std::invalid_argument);
  EXPECT_THROW(RunOutput(tmp.path() / "bad", false, small_scenario(), small_metadata(), small_fields(),
                         std::vector<std::uint8_t>(7)),
               std::invalid_argument);
  EXPECT_THROW(RunOutput(tmp.path() / "bad", false, small_scenario(), small_metadata(),
                         {{"a/b", "nM", "slash"}}, small_mask()),
               InputError);
  EXPECT_FALSE(fs::exists(tmp.path() / "bad.partial"));
}

// ---- 3. read_grid_dataset ----------------------------------------------------------------------

// /grid/d (float64, {3,4,5}), /m (uint8, {3,4,5}), /bad (float32, {5,4,3}), group /g.
fs::path write_input_file(const fs::path& dir) {
  const fs::path p = dir / "input.h5";
  Id file(H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, "create " + p.string());
  Id grid(H5Gcreate2(file, "/grid", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, "create /grid");
  Id g(H5Gcreate2(file, "/g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, "create /g");
  const hsize_t good[3] = {kNz, kNy, kNx}, bad[3] = {kNx, kNy, kNz};
  Id good_space(H5Screate_simple(3, good, nullptr), H5Sclose, "dataspace");
  Id bad_space(H5Screate_simple(3, bad, nullptr), H5Sclose, "dataspace");
  std::vector<double> d(kCells);
  std::vector<std::uint8_t> m(kCells);
  std::vector<float> f(kCells, 1.0f);
  for (std::size_t i = 0; i < kCells; ++i) {
    d[i] = 0.25 * double(i);
    m[i] = std::uint8_t(i % 2);
  }
  Id dd(H5Dcreate2(file, "/grid/d", H5T_IEEE_F64LE, good_space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose, "d");
  Id dm(H5Dcreate2(file, "/m", H5T_STD_U8LE, good_space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose, "m");
  Id db(H5Dcreate2(file, "/bad", H5T_IEEE_F32LE, bad_space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose, "bad");
  if (H5Dwrite(dd, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, d.data()) < 0 ||
      H5Dwrite(dm, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, m.data()) < 0 ||
      H5Dwrite(db, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, f.data()) < 0)
    throw std::runtime_error("H5Dwrite failed");
  return p;
}

std::string input_error_of(const fs::path& file, const std::string& dataset, const std::array<int, 3>& shape) {
  try {
    read_grid_dataset(file, dataset, shape);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(ReadGridDataset, ConvertsAnyNumericTypeToFloat) {
  TempDir tmp;
  const fs::path p = write_input_file(tmp.path());
  const std::vector<float> d = read_grid_dataset(p, "/grid/d", {kNx, kNy, kNz});
  const std::vector<float> m = read_grid_dataset(p, "m", {kNx, kNy, kNz});  // relative to the root
  ASSERT_EQ(d.size(), kCells);
  ASSERT_EQ(m.size(), kCells);
  for (std::size_t i = 0; i < kCells; ++i) {
    EXPECT_EQ(d[i], float(0.25 * double(i)));
    EXPECT_EQ(m[i], float(i % 2));
  }
}

TEST(ReadGridDataset, RoundTripsAFieldWrittenByRunOutput) {
  TempDir tmp;
  write_small_run(tmp.path() / "run");
  EXPECT_EQ(read_grid_dataset(tmp.path() / "run" / "cordsim.h5", "/fields/TNF/000001", {kNx, kNy, kNz}),
            frame_data(1).tnf);
}

TEST(ReadGridDataset, WrongDimsNameTheDatasetAndBothShapes) {
  TempDir tmp;
  const fs::path p = write_input_file(tmp.path());
  const std::string msg = input_error_of(p, "/bad", {kNx, kNy, kNz});
  EXPECT_NE(msg.find("/bad"), std::string::npos) << msg;
  EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("{5, 4, 3}"), std::string::npos) << msg;
  EXPECT_NE(msg.find("{3, 4, 5}"), std::string::npos) << msg;
  // Right data, grid given in the wrong order.
  EXPECT_NE(input_error_of(p, "/grid/d", {kNz, kNy, kNx}).find("/grid/d"), std::string::npos);
}

TEST(ReadGridDataset, MissingDatasetOrFileIsAnInputError) {
  TempDir tmp;
  const fs::path p = write_input_file(tmp.path());
  for (const std::string ds : {"/nope", "/nope/deeper", "/grid/nope", "/m/below_a_dataset", ""}) {
    const std::string msg = input_error_of(p, ds, {kNx, kNy, kNz});
    EXPECT_NE(msg.find("'" + ds + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
  }
  EXPECT_NE(input_error_of(p, "/g", {kNx, kNy, kNz}).find("not a dataset"), std::string::npos);

  const fs::path missing = tmp.path() / "missing.h5";
  const std::string msg = input_error_of(missing, "/m", {kNx, kNy, kNz});
  EXPECT_NE(msg.find("cannot open HDF5 file '" + missing.string() + "': no such file"), std::string::npos) << msg;

  const fs::path text = tmp.path() / "text.h5";
  write_text(text, "not hdf5\n");
  const std::string not_h5 = input_error_of(text, "/m", {kNx, kNy, kNz});
  EXPECT_NE(not_h5.find(text.string()), std::string::npos) << not_h5;
  EXPECT_NE(not_h5.find("not an HDF5 file"), std::string::npos) << not_h5;
}

// ---- 4. `cordsim run` end to end --------------------------------------------------------------

// 12×10×8 voxels of 10×10×20 µm = 1.92e6 µm³ = 1.92e-9 L; 1 nM in it is 1.92 amol.
constexpr const char* kTinyScenario = R"(# tiny run for the output test
[scenario]
name = "io_end_to_end"
description = "uniform decay in a box"

[grid]
shape = [12, 10, 8]
spacing = ["10 um", "10 um", "20 um"]
origin = ["5 um", "0 um", "-40 um"]

[tissue]
shape = "all"

[[species]]
name = "A"
diffusivity = "100 um^2/s"
decay = "0.1 1/s"
boundary = { type = "no_flux" }
initial = { shape = "uniform", value = "1 nM" }

[run]
duration = "1 s"
output_interval = "0.25 s"
)";

TEST(CordsimRun, WritesHdf5AndXdmfThatReadBackWithDimsSpacingOriginUnitsAndTimes) {
  TempDir tmp;
  const fs::path toml = tmp.path() / "tiny.toml";
  const fs::path run = tmp.path() / "run";
  write_text(toml, kTinyScenario);
  const test::CommandResult result =
      test::run_cordsim("run " + test::shell_quote(toml.string()) + " --out " + test::shell_quote(run.string()));
  const std::string& output = result.output;
  ASSERT_EQ(result.status, 0) << output;
  ASSERT_TRUE(fs::is_regular_file(run / "cordsim.h5")) << output;
  EXPECT_FALSE(fs::exists(partial_of(run)));

  const std::vector<double> expected_times = {0.0, 0.25, 0.5, 0.75, 1.0};
  Id file = open_file(run / "cordsim.h5");
  EXPECT_EQ(attr_ints(file, "shape"), (std::vector<int>{12, 10, 8}));
  EXPECT_EQ(attr_doubles(file, "spacing_um"), (std::vector<double>{10, 10, 20}));
  EXPECT_EQ(attr_doubles(file, "origin_um"), (std::vector<double>{5, 0, -40}));
  EXPECT_EQ(attr_string(file, "length_unit"), "um");
  EXPECT_EQ(attr_string(file, "time_unit"), "s");
  EXPECT_EQ(attr_string(file, "concentration_unit"), "nM");
  EXPECT_EQ(attr_strings(file, "species"), std::vector<std::string>{"A"});
  EXPECT_EQ(attr_string(file, "scenario_text"), kTinyScenario);
  EXPECT_FALSE(attr_string(file, "cordsim_version").empty());
  EXPECT_FALSE(attr_string(file, "backend").empty());
  EXPECT_EQ(dims_of(open_dataset(file, "/grid/tissue_mask")), (std::vector<hsize_t>{8, 10, 12}));

  const std::vector<double> times = read_doubles(open_dataset(file, "/times"));
  ASSERT_EQ(times.size(), expected_times.size());
  for (std::size_t n = 0; n < times.size(); ++n) {
    EXPECT_NEAR(times[n], expected_times[n], 1e-9);
    const std::string name = "/fields/A/00000" + std::to_string(n);
    SCOPED_TRACE(name);
    Id dset = open_dataset(file, name);
    EXPECT_EQ(dims_of(dset), (std::vector<hsize_t>{8, 10, 12}));
    EXPECT_EQ(attr_string(dset, "units"), "nM");
    EXPECT_NEAR(attr_doubles(dset, "time").at(0), expected_times[n], 1e-9);
    // No flux, uniform start: c(t) = exp(−0.1 t) everywhere.
    const std::vector<float> c = read_floats(dset);
    const double exact = std::exp(-0.1 * expected_times[n]);
    EXPECT_NEAR(c.front(), exact, 1e-3 * exact);
    EXPECT_NEAR(c.back(), exact, 1e-3 * exact);
  }

  const auto budget = lines_of(read_text(run / "mass_budget.csv"));
  ASSERT_EQ(budget.size(), 1 + expected_times.size());
  EXPECT_EQ(budget[0], "time_s,A_total_amol");
  for (std::size_t n = 0; n < expected_times.size(); ++n) {
    const auto cols = split(budget[n + 1], ',');
    ASSERT_EQ(cols.size(), 2u) << budget[n + 1];
    EXPECT_NEAR(std::stod(cols[0]), expected_times[n], 1e-9);
    const double exact = 1.92 * std::exp(-0.1 * expected_times[n]);
    EXPECT_NEAR(std::stod(cols[1]), exact, 1e-3 * exact) << budget[n + 1];
  }

  const std::string x = read_text(run / "cordsim.xdmf");
  EXPECT_EQ(count_of(x, "GridType=\"Uniform\""), 5u);
  EXPECT_EQ(count_of(x, "Dimensions=\"9 11 13\""), 5u);
  const auto origins = captures(x, "Name=\"Origin\"[^>]*>([^<]*)<");
  const auto spacings = captures(x, "Name=\"Spacing\"[^>]*>([^<]*)<");
  ASSERT_EQ(origins.size(), 5u);
  ASSERT_EQ(spacings.size(), 5u);
  for (const auto& o : origins) EXPECT_EQ(numbers(o), (std::vector<double>{-40, 0, 5}));  // z y x
  for (const auto& s : spacings) EXPECT_EQ(numbers(s), (std::vector<double>{20, 10, 10}));
  const auto xdmf_times = captures(x, "<Time Value=\"([^\"]*)\"");
  ASSERT_EQ(xdmf_times.size(), expected_times.size());
  for (std::size_t n = 0; n < expected_times.size(); ++n) {
    EXPECT_NEAR(std::stod(xdmf_times[n]), expected_times[n], 1e-9);
  }
  EXPECT_NE(x.find("cordsim.h5:/fields/A/000004"), std::string::npos);
  EXPECT_EQ(count_of(x, "Dimensions=\"8 10 12\""), 15u);  // A, the mask and vtkGhostType, five frames
}

}  // namespace
}  // namespace cordsim
