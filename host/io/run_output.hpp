#pragma once
// The files of one run, written so that a crash or a bad input never leaves a half-written
// output directory behind:
//   OUT.partial/ is created first and everything is written there; commit() renames it to OUT.
//   A RunOutput destroyed without commit() removes OUT.partial, unless a checkpoint has been
//   written into it (keep_staging_on_failure(), host/io/checkpoint.hpp) or the run stopped to be
//   resumed (suspend()). A resumed run reopens OUT.partial and continues its files.
//
// Contents of OUT (names fixed, documented in the README):
//   cordsim.h5    one dataset per field per output time: /fields/<name>/<frame index, 6 digits>,
//                 float32 cell data with dims {nz, ny, nx} (x fastest), attributes units,
//                 long_name, time (0 outside the tissue: real numbers everywhere, so that
//                 sums and comparisons need no NaN handling); /grid/tissue_mask (uint8),
//                 /grid/vtkGhostType (uint8: 32 = VTK's HIDDENCELL outside the tissue, 0 in it)
//                 and any static fields /grid/<name> (add_static_field); /times (float64, in the run's time unit,
//                 attributes units and time_unit, seconds_per_time_unit); file
//                 attributes: cordsim_version, backend, scenario_file, scenario_text,
//                 scenario_overrides, species, length_unit "um", time_unit ("s", or "d"
//                 for an ALS run), concentration_unit "nM", origin_um, spacing_um, shape
//                 (x, y, z order).
//   cordsim.xdmf  XDMF 3 temporal collection of 3DCoRectMesh grids indexing cordsim.h5
//                 (ParaView: File > Open > cordsim.xdmf, reader "XDMF Reader"); times in the
//                 run's time unit, named by an <Information Name="time_unit"> element. Each
//                 frame lists /grid/vtkGhostType as the cell array vtkGhostType, which ParaView
//                 takes as its ghost array: outside voxels are hidden in slices and pictures.
//   cordsim.pvd + vtk/frame_NNNNNN.vti   the same frames as VTK image data (host/io/vtk_series.hpp),
//                 for ParaView's native reader, times in the run's time unit.
//   mass_budget.csv   time_<unit> (time_s, or time_d for an ALS run), then <species>_total_amol
//                 per species (amount in tissue).
//   cordsim_state.py  a ParaView 5.11 Python state (File > Load State): the run at its last time
//                 in a mid-cord slice with the tissue outline, units on the colour bars, the
//                 time, a scale bar and, on a cord geometry, the tissue classes with a legend
//                 (host/io/paraview_state.py, docs/paraview.md).
//
// The time unit (RunMetadata::time_unit, by default time_unit_of(scenario)): seconds for a
// transport run, days for a disease run (a scenario with a [model] table), whose frames are days
// apart. write_frame always takes seconds.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "host/config/scenario.hpp"

namespace cordsim {

struct FieldDescription {
  std::string name;       // dataset / array name, e.g. "NO"
  std::string units;      // e.g. "nM"
  std::string long_name;  // e.g. "nitric oxide concentration"
};

// A decomposed run whose ranks write cordsim.h5 together with parallel HDF5 (docs/parallel.md):
// each rank writes its own planes of every grid dataset as a hyperslab, in collective MPI-IO
// transfers. Only in a build with parallel_output_built().
struct OutputDecomposition {
  int communicator = 0;        // the ranks' MPI communicator, as MPI_Comm_c2f gives it
  int z_begin = 0, z_end = 0;  // the planes this rank writes
};

// Whether this build can write cordsim.h5 collectively: MPI and parallel HDF5 (HDF5_IS_PARALLEL).
bool parallel_output_built();

// The unit of the times a run writes into its files (HDF5, XDMF, PVD, VTK, mass budget).
struct TimeUnit {
  std::string symbol = "s";   // "s" or "d"
  double seconds = 1.0;       // seconds per unit
  static TimeUnit days() { return {"d", 86400.0}; }
};

// The time unit of a scenario's run: days for a disease run ([model]), else seconds.
TimeUnit time_unit_of(const Scenario& scenario);

struct RunMetadata {
  RunMetadata() = default;
  RunMetadata(std::string version_, std::string backend_, std::optional<TimeUnit> time_unit_ = std::nullopt)
      : version(std::move(version_)), backend(std::move(backend_)), time_unit(std::move(time_unit_)) {}

  std::string version;  // cordsim version string
  std::string backend;  // back end that produced the run, e.g. "cpu (OpenMP, 2 threads)"
  // Of the times written (write_frame converts from seconds); unset: time_unit_of(scenario).
  std::optional<TimeUnit> time_unit;
};

class RunOutput {
 public:
  // Throws InputError if `final_dir` exists and `overwrite` is false, or if it cannot be created
  // (the message names the path and the system error). A staging directory left by an earlier
  // run is removed, unless it holds a checkpoint: that is refused without `overwrite` (the message
  // says how to resume it).
  //
  // `resume_frames`: reopen the staging directory of a stopped run instead (`cordsim run
  // --resume`), keeping its first *resume_frames frames: the field datasets, /times entries, mass
  // budget lines and VTK frames written after the checkpoint are dropped, so that the next
  // write_frame continues exactly where the checkpoint left off. Static fields already in the file
  // are not written again.
  //
  // `decomposition`: every rank of a decomposed run constructs its RunOutput, and calls every
  // member in the same order (they are collectives). Rank 0 alone checks and creates the
  // directories (the other ranks then fail with it, with an InputError) and writes the side files
  // (mass_budget.csv, cordsim.xdmf, the VTK frames, for which it gathers the fields); every rank
  // writes its planes of cordsim.h5. The metadata and the tissue mask and static fields must be
  // the same on every rank (whole-grid arrays), write_frame's fields are the rank's own planes.
  // A failure on some ranks only leaves the file open (closing it is a collective): the run must
  // then end every rank (MPI_Abort), as a decomposed run does.
  RunOutput(const std::filesystem::path& final_dir, bool overwrite, const Scenario& scenario,
            const RunMetadata& metadata, std::vector<FieldDescription> fields,
            const std::vector<std::uint8_t>& tissue_mask,
            std::optional<std::size_t> resume_frames = std::nullopt,
            const OutputDecomposition* decomposition = nullptr);
  ~RunOutput();
  RunOutput(const RunOutput&) = delete;
  RunOutput& operator=(const RunOutput&) = delete;

  // Appends one output time (`time_s` in seconds, written in the metadata's time unit): `fields[f]` points at nx·ny·nz float32 values of field f (in the
  // order given to the constructor; decomposed: at the nx·ny values of each of the rank's planes);
  // `totals_ymol[s]` is the tissue total of species s.
  void write_frame(double time_s, const std::vector<const float*>& fields,
                   const std::vector<double>& totals_ymol);

  // Adds a static (time-independent) per-voxel dataset /grid/<name> with dims {nz, ny, nx}, e.g.
  // the tissue labels of a geometry; the XDMF lists it in every frame next to the tissue mask.
  void add_static_field(const FieldDescription& description, const std::vector<std::uint8_t>& values);
  void add_static_field(const FieldDescription& description, const std::vector<float>& values);
  // A categorical static field (the tissue classes, the segments): `categories[v]` names the
  // value v. The names go wherever ParaView or a script looks for them: the string attribute
  // `categories` of /grid/<name> (index = value), an <Information Name="<name>_categories"
  // Value="0=outside (CSF);1=white matter;..."/> element in cordsim.xdmf, and the field-data
  // string array <name>_annotations of every VTK frame, laid out as ParaView's lookup-table
  // Annotations ("0", "outside (CSF)", "1", "white matter", ...); the ParaView state script
  // colours the field by them with a legend.
  void add_static_field(const FieldDescription& description, const std::vector<std::uint8_t>& values,
                        const std::vector<std::string>& categories);

  // Adds a table of readouts to cordsim.h5 as the group /readouts/<table>, one float64 dataset per
  // column (NaN where a value is undefined), e.g. an ALS run's readouts.csv. Replaces an earlier
  // table of that name (a resumed run rewrites its tables).
  void add_table(const std::string& table, const std::vector<std::string>& columns,
                 const std::vector<std::vector<double>>& rows);

  // Finishes all files and renames the staging directory to the final one. Returns the path of
  // the XDMF file.
  std::filesystem::path commit();

  const std::filesystem::path& staging_dir() const;

  // Frames written so far (the ones kept by a resume included).
  std::size_t frames_written() const;

  // Flushes cordsim.h5 and mass_budget.csv and fsyncs them and the VTK frames written since the
  // last call, so that a checkpoint written next only refers to data on disk.
  void sync();

  // From now on a failure keeps OUT.partial (it holds a checkpoint to resume from).
  void keep_staging_on_failure();

  // The run stops to be resumed later: closes the files, writes cordsim.xdmf and cordsim.pvd
  // for the frames so far (so OUT.partial opens in ParaView) and keeps OUT.partial.
  void suspend();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The staging directory RunOutput uses for `final_dir`: OUT.partial ("out/" names "out").
std::filesystem::path staging_dir_for(const std::filesystem::path& final_dir);

// Upper bound on the bytes a run writes (uncompressed): every frame's fields in HDF5 and, when
// output.vtk, again as VTK together with the static grid fields (`static_bytes_per_voxel`: the
// tissue mask and any labels; the one byte of ghost flags per voxel is added here), plus the
// static fields once in HDF5.
std::uintmax_t expected_output_bytes(const Scenario& scenario, std::size_t written_fields, std::size_t frames,
                                     std::size_t static_bytes_per_voxel);

// Throws InputError when the file system holding `out_dir` (or its nearest existing parent) has
// less than `bytes` available, so that a run that could not be written never starts.
void check_disk_space(const std::filesystem::path& out_dir, std::uintmax_t bytes);

// check_disk_space on the rank that checks (`check`: rank 0, and not on a resume). When the
// output is written collectively, every rank must fail together: `all_ranks_ok(ok)` (true on
// every rank when `ok` is true on every rank) spreads the verdict, and the other ranks throw an
// InputError that points to rank 0's message. Null `all_ranks_ok`: only this rank takes part.
void check_disk_space_on_all_ranks(const std::filesystem::path& out_dir, std::uintmax_t bytes, bool check,
                                   const std::function<bool(bool)>& all_ranks_ok);

// Reads a float dataset with dims {nz, ny, nx} (any stored numeric type, converted to float).
// `shape` is (nx, ny, nz). Throws InputError naming file and dataset when the file or dataset is
// missing or the dims differ.
std::vector<float> read_grid_dataset(const std::filesystem::path& file, const std::string& dataset,
                                     const std::array<int, 3>& shape);

}  // namespace cordsim
