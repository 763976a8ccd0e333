#include "host/io/run_output.hpp"

#include "host/io/vtk_series.hpp"
#include "host/io/checkpoint.hpp"
#include "host/io/hdf5_util.hpp"
#include "host/io/stop_signals.hpp"

#include <hdf5.h>

#include "cordsim/paraview_state.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

// Collective writes of cordsim.h5 by the ranks of a decomposed run: an MPI build (CMake defines
// CORDSIM_PARALLEL_HDF5 when FindHDF5 reports HDF5_IS_PARALLEL) against parallel HDF5.
#if defined(CORDSIM_PARALLEL_HDF5) && defined(H5_HAVE_PARALLEL)
#define CORDSIM_COLLECTIVE_H5 1
#include <mpi.h>
#else
#define CORDSIM_COLLECTIVE_H5 0
#endif

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace cordsim {
namespace {

namespace fs = std::filesystem;
using namespace hdf5;  // Handle, throw_hdf5, ... (host/io/hdf5_util.hpp)

constexpr const char* kH5Name = "cordsim.h5";
constexpr const char* kXdmfName = "cordsim.xdmf";
constexpr const char* kCsvName = "mass_budget.csv";
constexpr const char* kStateName = "cordsim_state.py";
// VTK's ghost array (vtkDataSetAttributes::GhostArrayName()) and its HIDDENCELL flag, spelt out
// here so that the HDF5/XDMF writer does not need the VTK headers.
constexpr const char* kGhostName = "vtkGhostType";
constexpr std::uint8_t kHiddenCell = 32;

// The planes of a grid dataset that one process writes (H5Writer::write_grid).
struct GridPlanes {
  int first = 0, last = -1;  // last < 0: all planes
  hid_t transfer = H5P_DEFAULT;
};

// Writes attributes and datasets into one open file; every failure names the file and object.
class H5Writer {
 public:
  explicit H5Writer(fs::path file) : file_(std::move(file)) {}
  const fs::path& path() const { return file_; }

  Handle create_group(hid_t parent, const std::string& full_name) const {
    Handle group(H5Gcreate2(parent, full_name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    if (!group.valid()) throw_hdf5(file_, fmt::format("create group '{}'", full_name));
    return group;
  }

  void attr_string(hid_t obj, const std::string& obj_name, const char* name, const std::string& value) const {
    Handle type = string_type(file_);
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    const char* ptr = value.c_str();
    write_attr(obj, obj_name, name, type.get(), type.get(), space, &ptr);
  }

  void attr_strings(hid_t obj, const std::string& obj_name, const char* name,
                    const std::vector<std::string>& values) const {
    Handle type = string_type(file_);
    const hsize_t n = values.size();
    Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    std::vector<const char*> ptrs;
    ptrs.reserve(values.size());
    for (const auto& v : values) ptrs.push_back(v.c_str());
    // HDF5 refuses a null buffer even for an empty attribute (e.g. no species in `cordsim mesh`).
    const char* none = nullptr;
    write_attr(obj, obj_name, name, type.get(), type.get(), space, ptrs.empty() ? &none : ptrs.data());
  }

  void attr_double(hid_t obj, const std::string& obj_name, const char* name, double value) const {
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    write_attr(obj, obj_name, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space, &value);
  }

  void attr_doubles3(hid_t obj, const std::string& obj_name, const char* name, const Vec3& values) const {
    const hsize_t n = 3;
    Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    write_attr(obj, obj_name, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space, values.data());
  }

  void attr_ints3(hid_t obj, const std::string& obj_name, const char* name, const std::array<int, 3>& values) const {
    const hsize_t n = 3;
    Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
    write_attr(obj, obj_name, name, H5T_STD_I32LE, H5T_NATIVE_INT, space, values.data());
  }

  // Creates and fills a contiguous dataset with dims {nz, ny, nx}; returns it open so the caller
  // can attach attributes.
  // HDF5 converts from mem_type to file_type while writing (e.g. float32 fields to float64).
  // compression > 0: gzip at that level, in chunks of one z-plane (what a slice viewer reads).
  // `planes`: the planes [first, last) that `data` holds and this process writes, of a dataset
  // that the ranks of a decomposed run create and write together (`transfer`: collective MPI-IO);
  // by default the whole grid.
  Handle write_grid(hid_t parent, const std::string& full_name, const std::array<int, 3>& shape,
                    hid_t file_type, hid_t mem_type, const void* data, int compression = 0,
                    GridPlanes planes = GridPlanes{}) const {
    const hsize_t dims[3] = {hsize_t(shape[2]), hsize_t(shape[1]), hsize_t(shape[0])};
    Handle space(H5Screate_simple(3, dims, nullptr), H5Sclose);
    if (!space.valid()) throw_hdf5(file_, fmt::format("create the dataspace of '{}'", full_name));
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (compression > 0) {
      const hsize_t chunk[3] = {1, dims[1], dims[2]};
      if (!dcpl.valid() || H5Pset_chunk(dcpl.get(), 3, chunk) < 0 || H5Pset_deflate(dcpl.get(), unsigned(compression)) < 0)
        throw_hdf5(file_, fmt::format("set up compression of '{}'", full_name));
    }
    Handle dset(H5Dcreate2(parent, full_name.c_str(), file_type, space.get(), H5P_DEFAULT,
                           dcpl.valid() ? dcpl.get() : H5P_DEFAULT, H5P_DEFAULT),
                H5Dclose);
    if (!dset.valid()) throw_hdf5(file_, fmt::format("create dataset '{}'", full_name));
    if (planes.last < 0) {
      if (H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        throw_hdf5(file_, fmt::format("write dataset '{}'", full_name));
      return dset;
    }
    const hsize_t start[3] = {hsize_t(planes.first), 0, 0};
    const hsize_t count[3] = {hsize_t(planes.last - planes.first), dims[1], dims[2]};
    Handle memory(H5Screate_simple(3, count, nullptr), H5Sclose);
    if (!memory.valid() || H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) < 0 ||
        H5Dwrite(dset.get(), mem_type, memory.get(), space.get(), planes.transfer, data) < 0)
      throw_hdf5(file_, fmt::format("write planes [{}, {}) of dataset '{}'", planes.first, planes.last, full_name));
    return dset;
  }

 private:
  void write_attr(hid_t obj, const std::string& obj_name, const char* name, hid_t file_type, hid_t mem_type,
                  const Handle& space, const void* data) const {
    const auto what = [&] { return fmt::format("attribute '{}' of '{}'", name, obj_name); };
    if (!space.valid()) throw_hdf5(file_, "create the dataspace of " + what());
    Handle attr(H5Acreate2(obj, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!attr.valid()) throw_hdf5(file_, "create " + what());
    if (H5Awrite(attr.get(), mem_type, data) < 0) throw_hdf5(file_, "write " + what());
    if (attr.close() < 0) throw_hdf5(file_, "close " + what());
  }

  fs::path file_;
};

// ---- text helpers ------------------------------------------------------------------------------

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

// Shortest text that reads back as the same double ("0.25", "10", "1e-05").
std::string num(double v) { return fmt::format("{}", v); }

// errno after a failed stream operation, when the C library set one.
std::string io_error() { return errno != 0 ? std::strerror(errno) : "I/O error"; }

std::string frame_name(std::size_t index) { return fmt::format("{:06d}", index); }

// ---- a resumed run's cordsim.h5 -------------------------------------------------------------------
// After a crash (SIGKILL, a full disk, a failed write), cordsim.h5 may hold frames written after the
// last checkpoint whose metadata reached the disk only in part: a link to a dataset whose object
// header lies past the end of the file. Editing such a file in place fails on the first of them
// (H5Ldelete must read the object it unlinks). So a file with frames after the checkpoint is
// rebuilt instead: its root attributes and every object but /fields are copied into a new file,
// /fields/<name> with only the first `frames` datasets, /times cut to `frames`; the new file is
// synced and renamed over the old one. The kept frames were flushed and synced before the
// checkpoint was written (RunOutput::sync), so they read back whole.

void copy_attributes(const fs::path& path, hid_t from, hid_t to) {
  struct Context {
    const fs::path* path;
    hid_t to;
  } context{&path, to};
  const auto copy = [](hid_t location, const char* name, const H5A_info_t*, void* data) -> herr_t {
    const Context& c = *static_cast<Context*>(data);
    Handle a(H5Aopen(location, name, H5P_DEFAULT), H5Aclose);
    Handle type(a.valid() ? H5Aget_type(a.get()) : H5I_INVALID_HID, H5Tclose);
    Handle space(a.valid() ? H5Aget_space(a.get()) : H5I_INVALID_HID, H5Sclose);
    if (!a.valid() || !type.valid() || !space.valid()) return -1;
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    const std::size_t size = H5Tget_size(type.get());
    if (n < 0 || size == 0) return -1;
    std::vector<unsigned char> buffer(std::size_t(n) * size + 1);
    if (H5Aread(a.get(), type.get(), buffer.data()) < 0) return -1;
    Handle b(H5Acreate2(c.to, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    const bool ok = b.valid() && H5Awrite(b.get(), type.get(), buffer.data()) >= 0;
    if (H5Tdetect_class(type.get(), H5T_VLEN) > 0 || H5Tis_variable_str(type.get()) > 0)
      H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, buffer.data());
    return ok ? 0 : -1;
  };
  hsize_t index = 0;
  if (H5Aiterate2(from, H5_INDEX_NAME, H5_ITER_INC, &index, copy, &context) < 0)
    throw_hdf5(path, "copy the attributes of an object to the rebuilt file");
}

// Whether cordsim.h5 holds anything after its first `frames` frames (a /times entry or a frame
// dataset); a lookup that fails counts as yes.
bool has_frames_after(hid_t file, std::size_t frames, const std::vector<FieldDescription>& fields) {
  Handle times(H5Dopen2(file, "/times", H5P_DEFAULT), H5Dclose);
  Handle space(times.valid() ? H5Dget_space(times.get()) : H5I_INVALID_HID, H5Sclose);
  const hssize_t n = space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
  if (n < 0 || std::size_t(n) > frames) return true;
  for (const auto& f : fields) {
    const std::string group = "/fields/" + f.name, name = group + "/" + frame_name(frames);
    if (H5Lexists(file, "/fields", H5P_DEFAULT) <= 0 || H5Lexists(file, group.c_str(), H5P_DEFAULT) <= 0) return false;
    if (H5Lexists(file, name.c_str(), H5P_DEFAULT) != 0) return true;
  }
  return false;
}

// Rebuilds `path` (see above) when it holds frames after the first `frames`; else leaves it.
void drop_frames_after(const fs::path& path, std::size_t frames, const std::vector<FieldDescription>& fields) {
  const fs::path tmp = fs::path(path.string() + ".rebuild.tmp");
  {
    Handle fapl = file_access_properties(path);
    Handle src(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
    if (!src.valid()) throw_hdf5(path, "reopen the file to continue it");
    const bool rebuild = has_frames_after(src.get(), frames, fields);
    hdf5_error_detail();  // failed lookups above are answers
    if (!rebuild) {
      if (src.close() < 0) throw_hdf5(path, "close the file");
      return;
    }
    spdlog::info("'{}' holds frames written after the checkpoint: keeping its first {} frames in a rebuilt file",
                 path.string(), frames);
    Handle dst(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
    if (!dst.valid()) throw_hdf5(tmp, "create the file");
    copy_attributes(path, src.get(), dst.get());
    // Every object below the root but /fields, as it is.
    std::vector<std::string> names;
    const auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
      static_cast<std::vector<std::string>*>(data)->emplace_back(name);
      return 0;
    };
    if (H5Literate(src.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names) < 0)
      throw_hdf5(path, "list the objects of the file");
    for (const std::string& name : names) {
      if (name == "fields") continue;
      if (H5Ocopy(src.get(), name.c_str(), dst.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
        throw_hdf5(path, fmt::format("copy '/{}' to the rebuilt file", name));
    }
    Handle times(H5Dopen2(dst.get(), "/times", H5P_DEFAULT), H5Dclose);
    const hsize_t kept = frames;
    if (!times.valid() || H5Dset_extent(times.get(), &kept) < 0) throw_hdf5(tmp, "shorten dataset '/times'");
    // /fields, with the kept frames only.
    Handle from_fields(H5Gopen2(src.get(), "/fields", H5P_DEFAULT), H5Gclose);
    Handle to_fields(H5Gcreate2(dst.get(), "/fields", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    if (!from_fields.valid() || !to_fields.valid()) throw_hdf5(path, "copy group '/fields'");
    copy_attributes(path, from_fields.get(), to_fields.get());
    for (const auto& f : fields) {
      const std::string group = "/fields/" + f.name;
      Handle from(H5Gopen2(src.get(), group.c_str(), H5P_DEFAULT), H5Gclose);
      Handle to(H5Gcreate2(dst.get(), group.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
      if (!from.valid() || !to.valid()) throw_hdf5(path, fmt::format("copy group '{}'", group));
      copy_attributes(path, from.get(), to.get());
      for (std::size_t i = 0; i < frames; ++i) {
        const std::string frame = frame_name(i);
        if (H5Ocopy(from.get(), frame.c_str(), to.get(), frame.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
          throw_hdf5(path, fmt::format("copy dataset '{}/{}' (written before the checkpoint)", group, frame));
      }
    }
    times.close();
    to_fields.close();
    if (H5Fflush(dst.get(), H5F_SCOPE_GLOBAL) < 0 || dst.close() < 0) throw_hdf5(tmp, "close the file");
    src.close();  // read-only: nothing to flush
  }
  sync_to_disk(tmp);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot rename '{}' to '{}': {}", tmp.string(), path.string(), ec.message()));
  sync_to_disk(path.parent_path(), true);
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

// "out/" names the directory "out": without this, "out/" + ".partial" would be "out/.partial".
// "." and ".." have no name of their own to suffix, so they become absolute paths.
fs::path normalized_dir(const fs::path& dir) {
  fs::path p = dir;
  if (p.filename() == "." || p.filename() == "..") p = fs::absolute(p).lexically_normal();
  while (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  return p;
}

fs::path with_suffix(const fs::path& dir, const char* suffix) {
  fs::path p = dir;
  p += suffix;
  return p;
}

}  // namespace

// ---- RunOutput ---------------------------------------------------------------------------------

struct RunOutput::Impl {
  fs::path final_dir;
  fs::path staging;
  bool overwrite = false;
  std::array<int, 3> shape{0, 0, 0};
  Vec3 spacing_um{0, 0, 0};
  Vec3 origin_um{0, 0, 0};
  std::vector<std::string> species;
  std::vector<FieldDescription> fields;
  OutputSpec output;
  struct StaticField {
    std::string name;
    const char* number_type;  // XDMF NumberType
    int precision;            // bytes
    std::vector<std::string> categories;  // a categorical field: the name of each value
  };
  std::vector<StaticField> static_fields;
  std::vector<double> times;  // in time_unit
  TimeUnit time_unit;
  std::string version;  // cordsim's, for the state script

  H5Writer h5{fs::path{}};
  std::unique_ptr<VtkSeries> vtk;
  Handle file;
  Handle times_dset;
  std::ofstream csv;
  fs::path csv_path;

  bool staging_created = false;  // only a staging dir this object made is removed on failure
  bool keep_staging = false;     // it holds a checkpoint: a failure leaves it for --resume
  bool resuming = false;         // reopened a stopped run's staging directory
  bool files_closed = false;
  bool committed = false;
  std::size_t synced_vtk_frames = 0;

  // A decomposed run writing cordsim.h5 collectively (OutputDecomposition): every rank holds a
  // RunOutput and writes its planes [z_begin, z_end) of every grid dataset; rank 0 alone (`root`)
  // owns the staging directory and writes the side files (mass_budget.csv, XDMF, VTK).
  bool parallel = false;
  bool root = true;
  int z_begin = 0, z_end = 0;
  Handle transfer;  // collective MPI-IO transfer properties
#if CORDSIM_COLLECTIVE_H5
  MPI_Comm comm = MPI_COMM_NULL;
  std::vector<int> rank_planes;  // planes per rank
#endif

  std::size_t plane_size() const { return std::size_t(shape[0]) * std::size_t(shape[1]); }
  std::size_t owned_size() const { return std::size_t(z_end - z_begin) * plane_size(); }
  GridPlanes planes() const {
    return parallel ? GridPlanes{z_begin, z_end, transfer.get()} : GridPlanes{};
  }

  // True on every rank when `ok` is on every rank (one rank: `ok`).
  bool agree(bool ok) const {
#if CORDSIM_COLLECTIVE_H5
    if (parallel) {
      int mine = ok ? 1 : 0, every = 0;
      if (MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
        throw std::runtime_error("MPI: MPI_Allreduce failed");
      return every == 1;
    }
#endif
    return ok;
  }

  // Runs `step` on rank 0 only; the other ranks learn whether it succeeded and fail with it.
  void on_root(const std::function<void()>& step, const char* what) {
    std::exception_ptr failed;
    if (root) {
      try {
        step();
      } catch (...) {
        failed = std::current_exception();
      }
    }
    if (!agree(!failed)) {
      if (failed) std::rethrow_exception(failed);
      throw InputError(fmt::format("rank 0 could not {} (see its message)", what));
    }
  }

  // File access: MPI-IO over the ranks' communicator when decomposed.
  Handle access_properties(const fs::path& path) const {
    Handle fapl = file_access_properties(path);
#if CORDSIM_COLLECTIVE_H5
    if (parallel && H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL) < 0)
      throw_hdf5(path, "set up parallel (MPI-IO) file access");
#endif
    return fapl;
  }

  // The whole grid of `owned` (this rank's planes) on rank 0, for the VTK files.
  std::vector<float> gather(const float* owned) const {
    std::vector<float> whole;
#if CORDSIM_COLLECTIVE_H5
    const std::size_t ranks = rank_planes.size();
    std::vector<int> counts(ranks), offsets(ranks, 0);
    for (std::size_t r = 0; r < ranks; ++r) counts[r] = int(std::size_t(rank_planes[r]) * plane_size());
    for (std::size_t r = 1; r < ranks; ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
    if (root) whole.resize(std::size_t(offsets.back() + counts.back()));
    if (MPI_Gatherv(owned, int(owned_size()), MPI_FLOAT, whole.data(), counts.data(), offsets.data(), MPI_FLOAT, 0,
                    comm) != MPI_SUCCESS)
      throw std::runtime_error("MPI: MPI_Gatherv failed");
#else
    (void)owned;
#endif
    return whole;
  }

  ~Impl() {
    if (parallel && !files_closed) {
      // Closing the file is a collective. While an exception unwinds on some ranks, the others
      // would never join it; the run ends with MPI_Abort (host/cli/run_command.cpp), so the ids
      // are given up instead. Otherwise every rank gets here and closes it together.
      if (std::uncaught_exceptions() > 0) {
        times_dset.release();
        file.release();
      } else {
        try {
          times_dset.close();
          file.close();
        } catch (...) {
        }
      }
    }
    if (committed || !staging_created) return;
    // Handles must be closed before the directory goes, or HDF5 would write into a removed file.
    try {
      times_dset.close();
      file.close();
      if (csv.is_open()) csv.close();
      if (keep_staging) return;
      std::error_code ec;
      fs::remove_all(staging, ec);
    } catch (...) {
      // A destructor must not throw; a leftover .partial directory is removed by the next run.
    }
  }

  void check_csv(const char* action) {
    if (!csv) {
      throw std::runtime_error(
          fmt::format("cannot {} '{}': {}", action, csv_path.string(), io_error()));
    }
  }

  void write_file_attributes(const Scenario& scenario, const RunMetadata& metadata) {
    const hid_t f = file.get();
    const std::string root = "/";
    h5.attr_string(f, root, "cordsim_version", metadata.version);
    h5.attr_string(f, root, "backend", metadata.backend);
    h5.attr_string(f, root, "scenario_file", scenario.file);
    h5.attr_string(f, root, "scenario_text", scenario.text);
    h5.attr_string(f, root, "scenario_overrides", join(scenario.overrides, "\n"));
    h5.attr_strings(f, root, "species", species);
    h5.attr_string(f, root, "length_unit", "um");
    h5.attr_string(f, root, "time_unit", time_unit.symbol);
    h5.attr_string(f, root, "concentration_unit", "nM");
    h5.attr_doubles3(f, root, "origin_um", origin_um);
    h5.attr_doubles3(f, root, "spacing_um", spacing_um);
    h5.attr_ints3(f, root, "shape", shape);
  }

  void write_grid_group(const std::vector<std::uint8_t>& tissue_mask) {
    Handle grid = h5.create_group(file.get(), "/grid");
    h5.attr_doubles3(grid.get(), "/grid", "origin_um", origin_um);
    h5.attr_doubles3(grid.get(), "/grid", "spacing_um", spacing_um);
    h5.attr_ints3(grid.get(), "/grid", "shape", shape);
    const std::string name = "/grid/tissue_mask";
    Handle mask = h5.write_grid(file.get(), name, shape, H5T_STD_U8LE, H5T_NATIVE_UINT8,
                                tissue_mask.data() + std::size_t(z_begin) * plane_size(), 0, planes());
    h5.attr_string(mask.get(), name, "units", "1");
    h5.attr_string(mask.get(), name, "long_name", "tissue mask (1 = simulated tissue, 0 = outside)");
    if (mask.close() < 0) throw_hdf5(h5.path(), fmt::format("close dataset '{}'", name));
    write_ghost_dataset(tissue_mask);
  }

  // /grid/vtkGhostType: VTK's ghost flags, HIDDENCELL (32) outside the tissue and 0 in it. The XDMF
  // lists it as a cell array of that name, which ParaView's XDMF readers take as the ghost array:
  // outside voxels are left out of slices and pictures, while the fields keep their real values
  // (0 outside) for the tools that sum or compare them.
  void write_ghost_dataset(const std::vector<std::uint8_t>& tissue_mask) {
    std::vector<std::uint8_t> ghost(owned_size());
    const std::uint8_t* mine = tissue_mask.data() + std::size_t(z_begin) * plane_size();
    for (std::size_t v = 0; v < ghost.size(); ++v) ghost[v] = mine[v] != 0 ? 0 : kHiddenCell;
    const std::string name = std::string("/grid/") + kGhostName;
    Handle dset = h5.write_grid(file.get(), name, shape, H5T_STD_U8LE, H5T_NATIVE_UINT8,
                                ghost.data(), 0, planes());
    h5.attr_string(dset.get(), name, "units", "1");
    h5.attr_string(dset.get(), name, "long_name",
                   "VTK ghost flags: 32 (vtkDataSetAttributes::HIDDENCELL) outside the tissue, 0 in it");
    if (dset.close() < 0) throw_hdf5(h5.path(), fmt::format("close dataset '{}'", name));
  }

  void add_static_field(const FieldDescription& description, std::size_t size, hid_t file_type, hid_t mem_type,
                        const void* data, StaticField xdmf) {
    const std::size_t cells = std::size_t(shape[0]) * std::size_t(shape[1]) * std::size_t(shape[2]);
    if (size != cells) {
      throw std::invalid_argument(fmt::format("RunOutput::add_static_field: '{}' has {} values for a grid of {} cells",
                                              description.name, size, cells));
    }
    const std::string& field = description.name;
    const bool taken = field == "tissue_mask" || field == kGhostName || std::any_of(static_fields.begin(), static_fields.end(),
                                                             [&](const StaticField& f) { return f.name == field; });
    if (field.empty() || taken || field.find_first_of("/:") != std::string::npos) {
      throw std::invalid_argument(fmt::format("RunOutput::add_static_field: name '{}' is empty, taken or has / or :", field));
    }
    const std::string name = "/grid/" + field;
    // A resumed run finds its static fields in the file already.
    if (!resuming || H5Lexists(file.get(), name.c_str(), H5P_DEFAULT) <= 0) {
      const std::size_t offset = std::size_t(z_begin) * plane_size() * H5Tget_size(mem_type);
      Handle dset = h5.write_grid(file.get(), name, shape, file_type, mem_type,
                                  static_cast<const char*>(data) + offset, 0, planes());
      h5.attr_string(dset.get(), name, "units", description.units);
      h5.attr_string(dset.get(), name, "long_name", description.long_name);
      if (!xdmf.categories.empty()) h5.attr_strings(dset.get(), name, "categories", xdmf.categories);
      if (dset.close() < 0) throw_hdf5(h5.path(), fmt::format("close dataset '{}'", name));
    }
    xdmf.name = field;
    static_fields.push_back(xdmf);
  }

  void create_times_dataset() {
    const std::string name = "/times";
    // Extendible, so that the file on disk is complete up to the last frame after a crash.
    const hsize_t dims = 0, maxdims = H5S_UNLIMITED, chunk = 256;
    Handle space(H5Screate_simple(1, &dims, &maxdims), H5Sclose);
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (!space.valid() || !dcpl.valid() || H5Pset_chunk(dcpl.get(), 1, &chunk) < 0)
      throw_hdf5(h5.path(), "set up dataset '/times'");
    times_dset = Handle(H5Dcreate2(file.get(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                   dcpl.get(), H5P_DEFAULT),
                        H5Dclose);
    if (!times_dset.valid()) throw_hdf5(h5.path(), "create dataset '/times'");
    h5.attr_string(times_dset.get(), name, "units", time_unit.symbol);
    h5.attr_string(times_dset.get(), name, "time_unit", time_unit.symbol);
    h5.attr_double(times_dset.get(), name, "seconds_per_time_unit", time_unit.seconds);
    h5.attr_string(times_dset.get(), name, "long_name", "output times");
  }

  void append_time(double t) {
    const hsize_t index = times.size();
    const hsize_t new_size = index + 1, count = 1;
    if (H5Dset_extent(times_dset.get(), &new_size) < 0) throw_hdf5(h5.path(), "extend dataset '/times'");
    Handle file_space(H5Dget_space(times_dset.get()), H5Sclose);
    Handle mem_space(H5Screate_simple(1, &count, nullptr), H5Sclose);
    if (!file_space.valid() || !mem_space.valid() ||
        H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &index, nullptr, &count, nullptr) < 0)
      throw_hdf5(h5.path(), "append to dataset '/times'");
    // Decomposed: a collective write in which rank 0 writes the value and the others nothing.
    if (!root && (H5Sselect_none(file_space.get()) < 0 || H5Sselect_none(mem_space.get()) < 0))
      throw_hdf5(h5.path(), "append to dataset '/times'");
    if (H5Dwrite(times_dset.get(), H5T_NATIVE_DOUBLE, mem_space.get(), file_space.get(),
                 parallel ? transfer.get() : H5P_DEFAULT, &t) < 0)
      throw_hdf5(h5.path(), "append to dataset '/times'");
  }

  void close_files() {
    if (files_closed) return;
    files_closed = true;
    if (times_dset.close() < 0) throw_hdf5(h5.path(), "close dataset '/times'");
    if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) throw_hdf5(h5.path(), "flush the file");
    if (file.close() < 0) throw_hdf5(h5.path(), "close the file");
    if (!root) return;
    csv.close();
    check_csv("close");
  }

  std::string xdmf_text() const {
    const int nx = shape[0], ny = shape[1], nz = shape[2];
    const std::string cells = fmt::format("{} {} {}", nz, ny, nx);
    const std::string points = fmt::format("{} {} {}", nz + 1, ny + 1, nx + 1);
    std::string x;
    x += "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
    x += "<Xdmf Version=\"3.0\" xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n";
    x += "  <Domain>\n";
    x += "    <Grid Name=\"cordsim\" GridType=\"Collection\" CollectionType=\"Temporal\">\n";
    // The unit of the Time values below (XDMF has no attribute for it): "s", or "d" for an ALS run.
    x += fmt::format("      <Information Name=\"time_unit\" Value=\"{}\"/>\n", xml_escape(time_unit.symbol));
    // The names of a categorical field's values (the tissue classes), "0=outside (CSF);1=...".
    for (const StaticField& field : static_fields) {
      if (field.categories.empty()) continue;
      std::string value;
      for (std::size_t v = 0; v < field.categories.size(); ++v)
        value += fmt::format("{}{}={}", v == 0 ? "" : ";", v, field.categories[v]);
      x += fmt::format("      <Information Name=\"{}_categories\" Value=\"{}\"/>\n", xml_escape(field.name),
                       xml_escape(value));
    }
    for (std::size_t i = 0; i < times.size(); ++i) {
      const std::string frame = frame_name(i);
      x += fmt::format("      <Grid Name=\"frame_{}\" GridType=\"Uniform\">\n", frame);
      x += fmt::format("        <Time Value=\"{}\"/>\n", num(times[i]));
      x += fmt::format("        <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"{}\"/>\n", points);
      // ORIGIN_DXDYDZ lists z first, like every other XDMF triple.
      x += "        <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n";
      x += fmt::format(
          "          <DataItem Name=\"Origin\" Format=\"XML\" NumberType=\"Float\" Precision=\"8\" "
          "Dimensions=\"3\">{} {} {}</DataItem>\n",
          num(origin_um[2]), num(origin_um[1]), num(origin_um[0]));
      x += fmt::format(
          "          <DataItem Name=\"Spacing\" Format=\"XML\" NumberType=\"Float\" Precision=\"8\" "
          "Dimensions=\"3\">{} {} {}</DataItem>\n",
          num(spacing_um[2]), num(spacing_um[1]), num(spacing_um[0]));
      x += "        </Geometry>\n";
      for (const auto& field : fields) {
        const std::string name = xml_escape(field.name);
        x += fmt::format("        <Attribute Name=\"{}\" Center=\"Cell\" AttributeType=\"Scalar\">\n", name);
        x += fmt::format(
            "          <DataItem Format=\"HDF\" NumberType=\"Float\" Precision=\"{}\" "
            "Dimensions=\"{}\">{}:/fields/{}/{}</DataItem>\n",
            output.float64 ? 8 : 4, cells, kH5Name, name, frame);
        x += "        </Attribute>\n";
      }
      std::vector<StaticField> grid_fields = {{"tissue_mask", "UChar", 1, {}}, {kGhostName, "UChar", 1, {}}};
      grid_fields.insert(grid_fields.end(), static_fields.begin(), static_fields.end());
      for (const StaticField& field : grid_fields) {
        const std::string name = xml_escape(field.name);
        x += fmt::format("        <Attribute Name=\"{}\" Center=\"Cell\" AttributeType=\"Scalar\">\n", name);
        x += fmt::format(
            "          <DataItem Format=\"HDF\" NumberType=\"{}\" Precision=\"{}\" "
            "Dimensions=\"{}\">{}:/grid/{}</DataItem>\n",
            field.number_type, field.precision, cells, kH5Name, name);
        x += "        </Attribute>\n";
      }
      x += "      </Grid>\n";
    }
    x += "    </Grid>\n";
    x += "  </Domain>\n";
    x += "</Xdmf>\n";
    return x;
  }

  // The ParaView state script (host/io/paraview_state.py) of the run in `directory`: a
  // CORDSIM_RUN block that describes the run, then the body that every run shares.
  std::string state_text(const fs::path& directory) const {
    const auto py = [](const std::string& v) {
      std::string out = "\"";
      for (const char c : v) {
        switch (c) {
          case '\\': out += "\\\\"; break;
          case '"': out += "\\\""; break;
          case '\n': out += "\\n"; break;
          case '\r': out += "\\r"; break;
          case '\t': out += "\\t"; break;
          default:
            if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\x{:02x}", int(c));
            else out += c;
        }
      }
      return out + "\"";
    };
    const auto triple = [](const auto& v) { return fmt::format("[{}, {}, {}]", v[0], v[1], v[2]); };
    std::string x;
    x += "# ParaView state of a cordsim run, for ParaView 5.11: File > Load State > cordsim_state.py\n";
    x += "# (or `pvpython cordsim_state.py`). Written by cordsim " + version + "; see docs/paraview.md.\n";
    x += "# The block below describes the run; the rest is the same for every run.\n";
    x += "CORDSIM_RUN = {\n";
    x += "    \"directory\": " + py(fs::absolute(directory).lexically_normal().string()) + ",\n";
    x += "    \"fields\": [";
    for (std::size_t f = 0; f < fields.size(); ++f)
      x += fmt::format("{}[{}, {}, {}]", f == 0 ? "" : ", ", py(fields[f].name), py(fields[f].units),
                       py(fields[f].long_name));
    x += "],\n";
    x += "    \"grid_fields\": [" + py("tissue_mask");
    for (const StaticField& field : static_fields) x += ", " + py(field.name);
    x += "],\n";
    x += "    \"categories\": {";
    bool first = true;
    for (const StaticField& field : static_fields) {
      if (field.categories.empty()) continue;
      x += std::string(first ? "" : ", ") + py(field.name) + ": [";
      for (std::size_t v = 0; v < field.categories.size(); ++v) x += (v == 0 ? "" : ", ") + py(field.categories[v]);
      x += "]";
      first = false;
    }
    x += "},\n";
    x += "    \"time_unit\": " + py(time_unit.symbol) + ",\n";
    x += "    \"origin_um\": " + triple(origin_um) + ",\n";
    x += "    \"spacing_um\": " + triple(spacing_um) + ",\n";
    x += "    \"shape\": " + triple(shape) + ",\n";
    x += "}\n\n";
    x += paraview_state::script_body;
    return x;
  }

  // Written under a temporary name so that the file, if present, is always complete.
  void write_side_file(const char* name, const std::string& text) const {
    const fs::path tmp = staging / (std::string(name) + ".tmp");
    const fs::path dest = staging / name;
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(text.data(), std::streamsize(text.size()));
      out.close();
      if (!out) {
        throw std::runtime_error(fmt::format("cannot write '{}': {}", tmp.string(), io_error()));
      }
    }
    std::error_code ec;
    fs::rename(tmp, dest, ec);
    if (ec) {
      throw std::runtime_error(
          fmt::format("cannot rename '{}' to '{}': {}", tmp.string(), dest.string(), ec.message()));
    }
  }

  void write_xdmf() const { write_side_file(kXdmfName, xdmf_text()); }

  // The state opens the run where it will be: the final directory, or OUT.partial of a stopped run.
  void write_state(const fs::path& directory) const { write_side_file(kStateName, state_text(directory)); }

  // --resume: reopens cordsim.h5 and mass_budget.csv of the staging directory and drops what was
  // written after the checkpoint's `frames` frames.
  void reopen(std::size_t frames) {
    const fs::path h5_path = staging / kH5Name;
    std::error_code ec;
    if (!fs::is_regular_file(h5_path, ec)) {
      throw InputError(fmt::format("--resume: '{}' is missing: '{}' is not the staging directory of a stopped run",
                                   h5_path.string(), staging.string()));
    }
    h5 = H5Writer(h5_path);
    // Rank 0 alone, before the (collective) open for writing.
    on_root([&] { drop_frames_after(h5_path, frames, fields); }, "prepare cordsim.h5 for the resumed run");
    {
      Handle fapl = access_properties(h5_path);
      file = Handle(H5Fopen(h5_path.c_str(), H5F_ACC_RDWR, fapl.get()), H5Fclose);
      // Before fapl is closed: every HDF5 call clears the error stack, and with it the reason.
      if (!file.valid()) throw_hdf5(h5_path, "reopen the file to continue it");
    }
    times_dset = Handle(H5Dopen2(file.get(), "/times", H5P_DEFAULT), H5Dclose);
    if (!times_dset.valid()) throw_hdf5(h5_path, "open dataset '/times'");
    {
      Handle space(H5Dget_space(times_dset.get()), H5Sclose);
      const hssize_t n = space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
      if (n < 0) throw_hdf5(h5_path, "read the size of '/times'");
      if (std::size_t(n) < frames) {
        throw std::runtime_error(fmt::format("--resume: '{}' holds {} frames but the checkpoint needs {}",
                                             h5_path.string(), n, frames));
      }
      times.assign(std::size_t(n), 0.0);
      if (n > 0 && H5Dread(times_dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, times.data()) < 0)
        throw_hdf5(h5_path, "read dataset '/times'");
      times.resize(frames);
    }
    const hsize_t kept = frames;
    if (H5Dset_extent(times_dset.get(), &kept) < 0) throw_hdf5(h5_path, "shorten dataset '/times'");
    for (const auto& f : fields) {
      const std::string group = "/fields/" + f.name;
      if (H5Lexists(file.get(), "/fields", H5P_DEFAULT) <= 0 || H5Lexists(file.get(), group.c_str(), H5P_DEFAULT) <= 0)
        throw_hdf5(h5_path, fmt::format("find group '{}' to continue it", group));
      for (std::size_t i = frames;; ++i) {
        const std::string name = group + "/" + frame_name(i);
        const htri_t exists = H5Lexists(file.get(), name.c_str(), H5P_DEFAULT);
        if (exists < 0) throw_hdf5(h5_path, fmt::format("look up '{}'", name));
        if (exists == 0) break;
        if (H5Ldelete(file.get(), name.c_str(), H5P_DEFAULT) < 0)
          throw_hdf5(h5_path, fmt::format("drop dataset '{}' written after the checkpoint", name));
      }
    }
    if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) throw_hdf5(h5_path, "flush the file");

    // mass_budget.csv: the header and one line per kept frame, replaced atomically.
    csv_path = staging / kCsvName;
    if (!root) return;
    std::vector<std::string> lines;
    {
      std::ifstream in(csv_path);
      for (std::string line; lines.size() < frames + 1 && std::getline(in, line);) lines.push_back(line);
      if (lines.size() < frames + 1) {
        throw std::runtime_error(fmt::format("--resume: '{}' has {} lines but the checkpoint needs {}",
                                             csv_path.string(), lines.size(), frames + 1));
      }
    }
    const fs::path tmp = with_suffix(csv_path, ".tmp");
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      for (const auto& line : lines) out << line << '\n';
      out.close();
      if (!out) throw std::runtime_error(fmt::format("cannot write '{}': {}", tmp.string(), io_error()));
    }
    fs::rename(tmp, csv_path, ec);
    if (ec) {
      throw std::runtime_error(
          fmt::format("cannot rename '{}' to '{}': {}", tmp.string(), csv_path.string(), ec.message()));
    }
    csv.open(csv_path, std::ios::out | std::ios::app);
    check_csv("reopen");
  }

  // The final directory may be written at commit (RunOutput's constructor).
  void check_final_dir(bool resume) const {
    std::error_code ec;
    const fs::file_status old = fs::symlink_status(final_dir, ec);
    if (!fs::exists(old)) return;
    if (!overwrite) {
      throw InputError(fmt::format(
          "output directory '{}' exists; use --overwrite to replace it{}", final_dir.string(),
          resume ? " (a run started with --overwrite is resumed with --overwrite too)" : ""));
    }
    // --overwrite deletes the old directory at commit: refuse anything that is not a cordsim output
    // (a mistyped --out could otherwise name a home or project directory).
    if (!fs::is_directory(old)) {
      throw InputError(fmt::format("output path '{}' exists and is not a directory; not replacing it",
                                   final_dir.string()));
    }
    const bool empty = fs::is_empty(final_dir, ec);
    const bool ours = fs::exists(final_dir / kXdmfName, ec) || fs::exists(final_dir / kH5Name, ec) ||
                      fs::exists(final_dir / kCsvName, ec) || fs::exists(final_dir / VtkSeries::collection_name, ec);
    if (!empty && !ours) {
      throw InputError(fmt::format(
          "output directory '{}' exists and is not a cordsim output (no {} or {}); not replacing it even with "
          "--overwrite: remove it yourself or choose another --out",
          final_dir.string(), kXdmfName, kH5Name));
    }
  }

  // A new run's staging directory, empty.
  void prepare_staging() {
    std::error_code ec;
    // A staging directory left by a killed run is garbage by construction, unless it holds a
    // checkpoint: hours of computing are not thrown away without --overwrite.
    std::error_code status_ec;  // e.g. "not a directory" above it: create_directories reports that
    if (fs::exists(fs::symlink_status(staging, status_ec))) {
      const std::vector<fs::path> checkpoints = checkpoint_files(staging);
      if (!checkpoints.empty() && !overwrite) {
        throw InputError(fmt::format(
            "'{}' holds a checkpoint of a stopped run ({}): resume it with --resume {}, or pass --overwrite to "
            "discard it and start again",
            staging.string(), checkpoints.front().filename().string(), staging.string()));
      }
      fs::remove_all(staging, ec);
      if (ec) {
        throw InputError(fmt::format("cannot remove the stale staging directory '{}': {}", staging.string(),
                                     ec.message()));
      }
    }
    fs::create_directories(staging, ec);
    if (ec) {
      throw InputError(fmt::format("cannot create output directory '{}': {}", staging.string(), ec.message()));
    }
  }

  void move_into_place() {
    std::error_code ec;
    const bool had_old = fs::exists(fs::symlink_status(final_dir));
    if (had_old && !overwrite) {
      // Appeared while this run was going; rename() would silently replace an empty directory.
      throw InputError(
          fmt::format("output directory '{}' exists; use --overwrite to replace it", final_dir.string()));
    }
    // The old output is moved aside, not deleted first, so that a failure here loses nothing.
    const fs::path aside = with_suffix(final_dir, ".old.partial");
    if (had_old) {
      fs::remove_all(aside, ec);
      fs::rename(final_dir, aside, ec);
      if (ec) {
        throw std::runtime_error(fmt::format("cannot move the previous output '{}' aside to '{}': {}",
                                             final_dir.string(), aside.string(), ec.message()));
      }
    }
    fs::rename(staging, final_dir, ec);
    if (ec) {
      const std::string reason = ec.message();
      if (had_old) fs::rename(aside, final_dir, ec);
      throw std::runtime_error(
          fmt::format("cannot rename '{}' to '{}': {}", staging.string(), final_dir.string(), reason));
    }
    committed = true;
    // Best effort: the new output is already in place; a leftover is named *.partial.
    if (had_old) fs::remove_all(aside, ec);
    // The checkpoints of a finished run are of no further use.
    fs::remove_all(checkpoint_dir(final_dir), ec);
  }
};

RunOutput::RunOutput(const std::filesystem::path& final_dir, bool overwrite, const Scenario& scenario,
                     const RunMetadata& metadata, std::vector<FieldDescription> fields,
                     const std::vector<std::uint8_t>& tissue_mask, std::optional<std::size_t> resume_frames,
                     const OutputDecomposition* decomposition)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.final_dir = normalized_dir(final_dir);
  m.staging = with_suffix(m.final_dir, ".partial");
  m.overwrite = overwrite;
  m.shape = scenario.grid.shape;
  m.spacing_um = scenario.grid.spacing_um;
  m.origin_um = scenario.grid.origin_um;
  for (const auto& s : scenario.species) m.species.push_back(s.name);
  m.fields = std::move(fields);
  m.time_unit = metadata.time_unit.value_or(time_unit_of(scenario));
  m.version = metadata.version;
  if (!(m.time_unit.seconds > 0.0) || m.time_unit.symbol.empty())
    throw std::invalid_argument(fmt::format("RunOutput: time unit '{}' of {} s", m.time_unit.symbol, m.time_unit.seconds));

  if (m.shape[0] <= 0 || m.shape[1] <= 0 || m.shape[2] <= 0) {
    throw std::invalid_argument(
        fmt::format("RunOutput: grid shape ({}, {}, {}) is not positive", m.shape[0], m.shape[1], m.shape[2]));
  }
  const std::size_t cells = std::size_t(m.shape[0]) * std::size_t(m.shape[1]) * std::size_t(m.shape[2]);
  if (tissue_mask.size() != cells) {
    throw std::invalid_argument(
        fmt::format("RunOutput: tissue mask has {} values for a grid of {} cells", tissue_mask.size(), cells));
  }
  for (std::size_t i = 0; i < m.fields.size(); ++i) {
    const std::string& name = m.fields[i].name;
    // '/' would nest HDF5 groups, ':' splits XDMF's "file:dataset" reference.
    if (name.empty() || name == "." || name == ".." || name.find_first_of("/:") != std::string::npos) {
      throw InputError(fmt::format("field name '{}' cannot be used as an HDF5 dataset name", name));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (m.fields[j].name == name) throw InputError(fmt::format("field name '{}' is used twice", name));
    }
  }
  m.z_end = m.shape[2];
  if (decomposition) {
#if CORDSIM_COLLECTIVE_H5
    m.parallel = true;
    m.comm = MPI_Comm_f2c(decomposition->communicator);
    int rank = 0, size = 1;
    MPI_Comm_rank(m.comm, &rank);
    MPI_Comm_size(m.comm, &size);
    m.root = rank == 0;
    m.z_begin = decomposition->z_begin;
    m.z_end = decomposition->z_end;
    if (m.z_begin < 0 || m.z_end > m.shape[2] || m.z_begin >= m.z_end)
      throw std::invalid_argument(fmt::format("RunOutput: planes [{}, {}) of {}", m.z_begin, m.z_end, m.shape[2]));
    m.rank_planes.resize(std::size_t(size));
    const int planes = m.z_end - m.z_begin;
    if (MPI_Allgather(&planes, 1, MPI_INT, m.rank_planes.data(), 1, MPI_INT, m.comm) != MPI_SUCCESS)
      throw std::runtime_error("MPI: MPI_Allgather failed");
    m.transfer = Handle(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
    if (!m.transfer.valid() || H5Pset_dxpl_mpio(m.transfer.get(), H5FD_MPIO_COLLECTIVE) < 0)
      throw_hdf5(m.staging / kH5Name, "set up collective transfers");
#else
    throw std::logic_error("RunOutput: this cordsim was built without parallel HDF5 (parallel_output_built())");
#endif
  }

  m.output = scenario.output;
  silence_hdf5_error_printing();
  if (resume_frames) {
    // A stopped run's staging directory, continued in place.
    m.on_root(
        [&] {
          m.check_final_dir(true);
          std::error_code ec;
          if (!fs::is_directory(m.staging, ec))
            throw InputError(fmt::format("--resume: no staging directory '{}'", m.staging.string()));
          if (!fs::is_regular_file(m.staging / kH5Name, ec)) {
            throw InputError(
                fmt::format("--resume: '{}' is missing: '{}' is not the staging directory of a stopped run",
                            (m.staging / kH5Name).string(), m.staging.string()));
          }
        },
        "continue the stopped run's output");
    m.staging_created = m.root;
    m.keep_staging = true;
    m.resuming = true;
    const WriteGuard writing;  // cordsim.h5 is being changed in place
    m.reopen(*resume_frames);
    // A run stopped by a cordsim that wrote no ghost flags gets them now (the XDMF lists them).
    const std::string ghost = std::string("/grid/") + kGhostName;
    if (H5Lexists(m.file.get(), ghost.c_str(), H5P_DEFAULT) <= 0) m.write_ghost_dataset(tissue_mask);
    if (m.output.vtk && m.root) {
      m.vtk = std::make_unique<VtkSeries>(m.staging, scenario.grid, m.fields, tissue_mask, m.output.float64,
                                          m.time_unit.symbol);
      m.vtk->resume(m.times);
      m.synced_vtk_frames = m.times.size();
    }
    return;
  }

  // Rank 0 checks and prepares the directories; a decomposed run's other ranks wait for it.
  m.on_root(
      [&] {
        m.check_final_dir(false);
        m.prepare_staging();
      },
      "create the output directory");
  m.staging_created = m.root;

  const fs::path h5_path = m.staging / kH5Name;
  m.h5 = H5Writer(h5_path);
  {
    Handle fapl = m.access_properties(h5_path);
    m.file = Handle(H5Fcreate(h5_path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()), H5Fclose);
    // Before fapl is closed: every HDF5 call clears the error stack, and with it the reason.
    if (!m.file.valid()) throw_hdf5(h5_path, "create the file");
  }
  m.write_file_attributes(scenario, metadata);
  m.write_grid_group(tissue_mask);
  m.h5.create_group(m.file.get(), "/fields");
  for (const auto& f : m.fields) m.h5.create_group(m.file.get(), "/fields/" + f.name);
  m.create_times_dataset();
  if (H5Fflush(m.file.get(), H5F_SCOPE_GLOBAL) < 0) throw_hdf5(h5_path, "flush the file");
  if (!m.root) return;

  if (m.output.vtk)
    m.vtk = std::make_unique<VtkSeries>(m.staging, scenario.grid, m.fields, tissue_mask, m.output.float64,
                                          m.time_unit.symbol);

  m.csv_path = m.staging / kCsvName;
  m.csv.open(m.csv_path, std::ios::out | std::ios::trunc);
  m.check_csv("create");
  m.csv << "time_" << m.time_unit.symbol;
  for (const auto& s : m.species) m.csv << ',' << s << "_total_amol";
  m.csv << '\n' << std::flush;
  m.check_csv("write");
}

RunOutput::~RunOutput() = default;

void RunOutput::add_static_field(const FieldDescription& description, const std::vector<std::uint8_t>& values) {
  add_static_field(description, values, {});
}

void RunOutput::add_static_field(const FieldDescription& description, const std::vector<std::uint8_t>& values,
                                 const std::vector<std::string>& categories) {
  for (const std::string& name : categories) {
    // ';' and '=' separate the XDMF Information value.
    if (name.empty() || name.find_first_of(";=") != std::string::npos)
      throw std::invalid_argument(fmt::format("RunOutput::add_static_field: category '{}' of '{}' is empty or has ; or =",
                                              name, description.name));
  }
  impl_->add_static_field(description, values.size(), H5T_STD_U8LE, H5T_NATIVE_UINT8, values.data(),
                          {"", "UChar", 1, categories});
  if (impl_->vtk) impl_->vtk->add_static_field(description, values, categories);
}

void RunOutput::add_table(const std::string& table, const std::vector<std::string>& columns,
                          const std::vector<std::vector<double>>& rows) {
  Impl& m = *impl_;
  const hid_t file = m.file.get();
  if (H5Lexists(file, "/readouts", H5P_DEFAULT) <= 0) m.h5.create_group(file, "/readouts");
  const std::string group = "/readouts/" + table;
  if (H5Lexists(file, group.c_str(), H5P_DEFAULT) > 0 && H5Ldelete(file, group.c_str(), H5P_DEFAULT) < 0)
    throw_hdf5(m.h5.path(), fmt::format("replace group '{}'", group));
  m.h5.create_group(file, group);
  for (std::size_t c = 0; c < columns.size(); ++c) {
    std::vector<double> column;
    for (const std::vector<double>& row : rows) column.push_back(c < row.size() ? row[c] : std::nan(""));
    const std::string name = group + "/" + columns[c];
    const hsize_t dims[1] = {hsize_t(column.size())};
    Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
    Handle dset(H5Dcreate2(file, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                H5Dclose);
    if (!dset.valid() || (!column.empty() && H5Dwrite(dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                                      column.data()) < 0))
      throw_hdf5(m.h5.path(), fmt::format("write dataset '{}'", name));
  }
}

void RunOutput::add_static_field(const FieldDescription& description, const std::vector<float>& values) {
  impl_->add_static_field(description, values.size(), H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, values.data(), {"", "Float", 4, {}});
  if (impl_->vtk) impl_->vtk->add_static_field(description, values);
}

void RunOutput::write_frame(double time_s, const std::vector<const float*>& fields,
                            const std::vector<double>& totals_ymol) {
  Impl& m = *impl_;
  if (m.files_closed) throw std::logic_error("RunOutput::write_frame called after commit");
  if (fields.size() != m.fields.size()) {
    throw std::invalid_argument(
        fmt::format("RunOutput::write_frame: {} fields given, {} declared", fields.size(), m.fields.size()));
  }
  if (totals_ymol.size() != m.species.size()) {
    throw std::invalid_argument(fmt::format("RunOutput::write_frame: {} totals given for {} species",
                                            totals_ymol.size(), m.species.size()));
  }
  // Written in the run's time unit (seconds, or days for an ALS run).
  const double time = time_s / m.time_unit.seconds;
  // ParaView orders a temporal collection by time; equal or decreasing times would hide frames.
  if (!std::isfinite(time) || (!m.times.empty() && !(time > m.times.back()))) {
    throw std::invalid_argument(fmt::format("RunOutput::write_frame: time {} {} does not follow {} {}", time,
                                            m.time_unit.symbol, m.times.empty() ? 0.0 : m.times.back(),
                                            m.time_unit.symbol));
  }

  // A second stop signal waits for the frame to be complete (host/io/stop_signals.hpp).
  const WriteGuard writing;
  const std::string frame = frame_name(m.times.size());
  for (std::size_t f = 0; f < fields.size(); ++f) {
    if (fields[f] == nullptr) {
      throw std::invalid_argument(fmt::format("RunOutput::write_frame: field '{}' is null", m.fields[f].name));
    }
    const std::string name = "/fields/" + m.fields[f].name + "/" + frame;
    const void* data = fields[f];
    hid_t mem_type = H5T_NATIVE_FLOAT;
    std::vector<double> wide;
    if (m.parallel && m.output.float64) {
      // Converted here: HDF5 would fall back from collective to independent I/O to convert.
      wide.assign(fields[f], fields[f] + m.owned_size());
      data = wide.data();
      mem_type = H5T_NATIVE_DOUBLE;
    }
    Handle dset = m.h5.write_grid(m.file.get(), name, m.shape, m.output.float64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE,
                                  mem_type, data, m.output.compression, m.planes());
    m.h5.attr_string(dset.get(), name, "units", m.fields[f].units);
    m.h5.attr_string(dset.get(), name, "long_name", m.fields[f].long_name);
    m.h5.attr_double(dset.get(), name, "time", time);
    if (dset.close() < 0) throw_hdf5(m.h5.path(), fmt::format("close dataset '{}'", name));
  }
  m.append_time(time);
  m.times.push_back(time);
  if (m.parallel && m.output.vtk) {
    // The VTK frames are rank 0's: it gathers the whole fields (a collective).
    std::vector<std::vector<float>> whole;
    std::vector<const float*> pointers;
    for (const float* owned : fields) whole.push_back(m.gather(owned));
    for (const auto& w : whole) pointers.push_back(w.data());
    if (m.vtk) m.vtk->write_frame(time, pointers);
  } else if (m.vtk) {
    m.vtk->write_frame(time, fields);
  }
  // A crash after this point loses nothing written so far.
  if (H5Fflush(m.file.get(), H5F_SCOPE_GLOBAL) < 0) throw_hdf5(m.h5.path(), "flush the file");
  if (!m.root) return;

  m.csv << num(time);
  for (double total : totals_ymol) m.csv << ',' << fmt::format("{:.9e}", total * 1e-6);  // 1 amol = 1e6 ymol
  m.csv << '\n' << std::flush;
  m.check_csv("write");
}

std::filesystem::path RunOutput::commit() {
  Impl& m = *impl_;
  if (m.files_closed) throw std::logic_error("RunOutput::commit called twice");
  const WriteGuard writing;
  m.close_files();
  if (m.root) {
    m.write_xdmf();
    m.write_state(m.final_dir);
    if (m.vtk) m.vtk->write_collection();
    m.move_into_place();
  }
  m.committed = true;
  return m.final_dir / kXdmfName;
}

const std::filesystem::path& RunOutput::staging_dir() const { return impl_->staging; }

std::size_t RunOutput::frames_written() const { return impl_->times.size(); }

void RunOutput::sync() {
  Impl& m = *impl_;
  if (m.files_closed) return;
  const WriteGuard writing;
  if (H5Fflush(m.file.get(), H5F_SCOPE_GLOBAL) < 0) throw_hdf5(m.h5.path(), "flush the file");
  if (!m.root) return;
  sync_to_disk(m.h5.path());
  m.csv.flush();
  m.check_csv("write");
  sync_to_disk(m.csv_path);
  if (m.vtk) {
    for (; m.synced_vtk_frames < m.times.size(); ++m.synced_vtk_frames)
      sync_to_disk(m.staging / VtkSeries::frame_file(m.synced_vtk_frames));
  }
}

void RunOutput::keep_staging_on_failure() { impl_->keep_staging = true; }

void RunOutput::suspend() {
  Impl& m = *impl_;
  if (m.files_closed) return;
  const WriteGuard writing;
  m.keep_staging = true;
  m.close_files();
  if (!m.root) return;
  m.write_xdmf();
  m.write_state(m.staging);
  if (m.vtk) m.vtk->write_collection();
}

bool parallel_output_built() { return CORDSIM_COLLECTIVE_H5 != 0; }

TimeUnit time_unit_of(const Scenario& scenario) { return scenario.model ? TimeUnit::days() : TimeUnit{}; }

std::filesystem::path staging_dir_for(const std::filesystem::path& final_dir) {
  return with_suffix(normalized_dir(final_dir), ".partial");
}

// ---- planning ----------------------------------------------------------------------------------

std::uintmax_t expected_output_bytes(const Scenario& scenario, std::size_t written_fields, std::size_t frames,
                                     std::size_t static_bytes_per_voxel) {
  // In double, saturating, so that no product of counts wraps around (every count here is exact in
  // a double: voxels < 2^31, frames ≤ kMaxOutputFrames).
  const double voxels = double(scenario.grid.shape[0]) * double(scenario.grid.shape[1]) * double(scenario.grid.shape[2]);
  const double value_bytes = scenario.output.float64 ? 8 : 4;
  const double per_frame = voxels * double(written_fields) * value_bytes;
  // Every file holds the ghost flags (vtkGhostType, one byte per voxel) besides the static fields.
  const double static_bytes = voxels * double(static_bytes_per_voxel + 1);
  double total = double(frames) * per_frame + static_bytes;
  if (scenario.output.vtk) total += double(frames) * (per_frame + static_bytes);
  constexpr double largest = double(std::numeric_limits<std::uintmax_t>::max());
  return total >= largest ? std::numeric_limits<std::uintmax_t>::max() : std::uintmax_t(total);
}

void check_disk_space(const std::filesystem::path& out_dir, std::uintmax_t bytes) {
  std::error_code ec;
  fs::path probe = fs::absolute(out_dir, ec);
  while (!probe.empty() && !fs::exists(probe, ec)) probe = probe.parent_path();
  const fs::space_info space = fs::space(probe.empty() ? fs::path(".") : probe, ec);
  if (ec) return;  // no answer (an exotic file system): the writes themselves will report
  if (space.available < bytes) {
    throw InputError(fmt::format(
        "output: the run would write up to {:.1f} MiB but only {:.1f} MiB are free on the file system of '{}'; "
        "free space, choose another --out, or write less (output.fields, output.vtk = false, "
        "output.compression, a longer run.output_interval)",
        double(bytes) / 1048576.0, double(space.available) / 1048576.0, probe.string()));
  }
}

void check_disk_space_on_all_ranks(const std::filesystem::path& out_dir, std::uintmax_t bytes, bool check,
                                   const std::function<bool(bool)>& all_ranks_ok) {
  std::exception_ptr no_space;
  if (check) {
    try {
      check_disk_space(out_dir, bytes);
    } catch (...) {
      no_space = std::current_exception();
    }
  }
  if (all_ranks_ok && !all_ranks_ok(!no_space) && !no_space)
    throw InputError("rank 0 found too little disk space for the output (see its message)");
  if (no_space) std::rethrow_exception(no_space);
}

// ---- reading -----------------------------------------------------------------------------------

std::vector<float> read_grid_dataset(const std::filesystem::path& file, const std::string& dataset,
                                     const std::array<int, 3>& shape) {
  namespace fs = std::filesystem;
  if (shape[0] <= 0 || shape[1] <= 0 || shape[2] <= 0) {
    throw std::invalid_argument(
        fmt::format("read_grid_dataset: grid shape ({}, {}, {}) is not positive", shape[0], shape[1], shape[2]));
  }
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    throw InputError(fmt::format("cannot open HDF5 file '{}': no such file", file.string()));
  }
  if (fs::is_directory(file, ec)) {
    throw InputError(fmt::format("cannot open HDF5 file '{}': it is a directory", file.string()));
  }
  silence_hdf5_error_printing();
  const htri_t is_hdf5 = H5Fis_hdf5(file.c_str());
  if (is_hdf5 == 0) throw InputError(fmt::format("cannot open HDF5 file '{}': not an HDF5 file", file.string()));
  if (is_hdf5 < 0) throw InputError(with_detail(fmt::format("cannot open HDF5 file '{}'", file.string())));

  Handle h5;
  {
    Handle fapl = file_access_properties(file);
    h5 = Handle(H5Fopen(file.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
    // Before fapl is closed: every HDF5 call clears the error stack, and with it the reason.
    if (!h5.valid()) throw InputError(with_detail(fmt::format("cannot open HDF5 file '{}'", file.string())));
  }

  // H5Lexists fails (rather than answering no) when an intermediate group is missing, so walk the
  // path one component at a time.
  std::string path = dataset.empty() || dataset[0] != '/' ? "/" + dataset : dataset;
  const auto missing = [&] {
    return InputError(fmt::format("'{}': no dataset '{}' in the file", file.string(), dataset));
  };
  if (path == "/") throw missing();
  for (std::size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    const std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && prefix.back() != '/' && H5Lexists(h5.get(), prefix.c_str(), H5P_DEFAULT) <= 0) {
      hdf5_error_detail();  // a failed lookup is an answer here, not an error to report
      throw missing();
    }
    if (pos == std::string::npos) break;
  }
  // Opened as a generic object first: H5Dopen2 on a group would fail with a less useful message.
  Handle object(H5Oopen(h5.get(), path.c_str(), H5P_DEFAULT), H5Oclose);
  if (!object.valid()) {
    throw InputError(with_detail(fmt::format("'{}': cannot open dataset '{}'", file.string(), dataset)));
  }
  if (H5Iget_type(object.get()) != H5I_DATASET) {
    throw InputError(fmt::format("'{}': '{}' is not a dataset", file.string(), dataset));
  }
  Handle dset = std::move(object);

  Handle type(H5Dget_type(dset.get()), H5Tclose);
  if (!type.valid()) throw_hdf5(file, fmt::format("read the type of dataset '{}'", dataset));
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    throw InputError(fmt::format("'{}': dataset '{}' does not hold numbers", file.string(), dataset));
  }

  Handle space(H5Dget_space(dset.get()), H5Sclose);
  if (!space.valid()) throw_hdf5(file, fmt::format("read the dataspace of dataset '{}'", dataset));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw_hdf5(file, fmt::format("read the dims of dataset '{}'", dataset));
  std::vector<hsize_t> dims(std::size_t(rank), 0);
  if (rank > 0 && H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0)
    throw_hdf5(file, fmt::format("read the dims of dataset '{}'", dataset));
  const std::vector<hsize_t> expected = {hsize_t(shape[2]), hsize_t(shape[1]), hsize_t(shape[0])};
  if (dims != expected) {
    std::vector<std::string> text;
    for (hsize_t d : dims) text.push_back(std::to_string(d));
    throw InputError(fmt::format(
        "'{}': dataset '{}' has dims {{{}}} but the grid (nx, ny, nz) = ({}, {}, {}) needs dims {{{}, {}, {}}} "
        "(z, y, x order)",
        file.string(), dataset, join(text, ", "), shape[0], shape[1], shape[2], shape[2], shape[1], shape[0]));
  }

  const std::size_t cells = std::size_t(shape[0]) * std::size_t(shape[1]) * std::size_t(shape[2]);
  std::vector<float> values(cells);
  if (H5Dread(dset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    throw_hdf5(file, fmt::format("read dataset '{}'", dataset));
  return values;
}

}  // namespace cordsim
