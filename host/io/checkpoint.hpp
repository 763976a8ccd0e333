#pragma once
// Checkpoints: a run's whole state in full precision, so that `cordsim run SCENARIO --resume DIR`
// continues it and ends with the same files, bit for bit, as a run that was never stopped
// (README "Checkpoint and restart").
//
// Where: inside the run's staging directory, OUT.partial/checkpoints/checkpoint_NNNNNN.h5 (NNNNNN
// counts up). Each is written under the name checkpoint_NNNNNN.h5.tmp, fsync'ed, renamed and the
// directory fsync'ed, so a file with the final name is always complete; the last two are kept
// and the older ones removed only after the new one is in place. A committed run removes them.
//
// One HDF5 file:
//   attributes of /   format (1), kind ("transport" | "als"), cordsim_version, backend,
//                     scenario_file, scenario_text, scenario_overrides (one per line), time_s,
//                     frames (output frames written so far), sequence, wall_s (wall time of the
//                     run so far, all parts), written_at (UTC), mpi_ranks (the ranks of the run
//                     that wrote it; absent in older files: 1)
//   /fields/<species> dims {nz, ny, nx}: every species exactly as the back end holds it, in its
//                     storage type (float32; float64 in a CORDSIM_DOUBLE build, kernels/cell/real.hpp;
//                     either build reads either, converting). A decomposed run gathers the whole
//                     grid to rank 0, which writes the file, so the file is the same for any rank
//                     count and resumes on any other (docs/parallel.md)
//   /state/...        the run's own items: the stepper (time, stencil sweeps, an output interval
//                     left part-way), the output schedule, the solver log text; for the ALS model
//                     the cell states and voxel inputs (float64, in grid order of the tissue
//                     voxels, gathered from every rank), the systemic pools, the pending
//                     events and their resolved times, the milestones, and the readout tables
//                     accumulated so far (host/model/als_run.cpp).
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/cell/real.hpp"

#include "host/config/scenario.hpp"

namespace cordsim {

class RunOutput;

struct CheckpointHeader {
  int format = 1;
  std::string kind;  // "transport" or "als"
  std::string version, backend, scenario_file, scenario_text, scenario_overrides;
  double time_s = 0.0;
  std::int64_t frames = 0;
  std::int64_t sequence = 0;
  double wall_s = 0.0;
  std::string written_at;
  std::int64_t ranks = 1;  // attribute mpi_ranks
};

// Writes the items of one checkpoint file. Names are HDF5 paths below the root ("state/time_s");
// groups are made as needed. Every failure throws std::runtime_error naming the file and item.
class CheckpointWriter {
 public:
  CheckpointWriter(const std::filesystem::path& file, const CheckpointHeader& header, const std::array<int, 3>& shape);
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  void scalar(const std::string& name, double value);
  void integer(const std::string& name, std::int64_t value);
  void text(const std::string& name, const std::string& value);
  void texts(const std::string& name, const std::vector<std::string>& values);
  void doubles(const std::string& name, const std::vector<double>& values);
  void integers(const std::string& name, const std::vector<std::int64_t>& values);
  // A grid field with dims {nz, ny, nx} (shape (nx, ny, nz) given to the constructor), stored as
  // float32 or float64 after the element type.
  void field(const std::string& name, const std::vector<float>& values);
  void field(const std::string& name, const std::vector<double>& values);

  // Closes the file (flushing everything HDF5 holds).
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads one checkpoint file. The constructor throws InputError naming the file when it is not a
// complete cordsim checkpoint; the readers throw InputError naming file and item when it is
// missing or has the wrong size.
class CheckpointReader {
 public:
  explicit CheckpointReader(const std::filesystem::path& file);
  ~CheckpointReader();
  CheckpointReader(CheckpointReader&&) noexcept;
  CheckpointReader& operator=(CheckpointReader&&) noexcept;

  const std::filesystem::path& path() const;
  const CheckpointHeader& header() const;

  bool has(const std::string& name) const;
  double scalar(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  std::string text(const std::string& name) const;
  std::vector<std::string> texts(const std::string& name) const;
  std::vector<double> doubles(const std::string& name) const;
  // Values [begin, begin + count) of a float64 item (a rank's share of the ALS cell states); throws
  // InputError when the item has fewer, or its size is not `size`.
  std::vector<double> doubles(const std::string& name, std::size_t size, std::size_t begin, std::size_t count) const;
  std::vector<std::int64_t> integers(const std::string& name) const;
  // A grid field of exactly `size` values, converted to T (float or double) if stored otherwise.
  template <class T = float>
  std::vector<T> field(const std::string& name, std::size_t size) const;
  // The planes [z_begin, z_end) of a grid field of shape (nx, ny, nz): what one rank of a
  // decomposed run holds, ghost planes included; converted to T like field().
  template <class T = float>
  std::vector<T> field_planes(const std::string& name, const std::array<int, 3>& shape, int z_begin,
                              int z_end) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// fsync of a file (or directory) by path; throws std::runtime_error naming it. A directory on a
// file system that cannot sync one is let be.
void sync_to_disk(const std::filesystem::path& path, bool directory = false);

// OUT.partial/checkpoints.
std::filesystem::path checkpoint_dir(const std::filesystem::path& staging_dir);

// The complete checkpoint files in staging_dir/checkpoints, newest first.
std::vector<std::filesystem::path> checkpoint_files(const std::filesystem::path& staging_dir);

// The newest checkpoint that opens (an unreadable newer one is reported with a warning and
// skipped); std::nullopt when there is none.
std::optional<CheckpointReader> open_newest_checkpoint(const std::filesystem::path& staging_dir);

// Throws InputError (naming the checkpoint, and what differs) unless the checkpoint was written by
// a run of the same kind, scenario text (bases included) and --set overrides. A different cordsim
// version is only warned about.
void check_checkpoint_matches(const CheckpointReader& checkpoint, const Scenario& scenario, const std::string& kind,
                              const std::string& version);

// `cordsim run --resume DIR`: DIR names the staging directory OUT.partial or the output OUT.
struct ResumeTarget {
  std::filesystem::path out_dir;  // OUT
  std::filesystem::path staging;  // OUT.partial
};
ResumeTarget resume_target(const std::filesystem::path& dir);

// When to write checkpoints, and when to stop after one.
struct CheckpointSettings {
  std::optional<double> interval_s;  // run.checkpoint_interval: simulated time between checkpoints
  double wall_every_s = 0.0;         // --checkpoint-every: wall seconds between checkpoints; 0: off
  std::optional<double> stop_at_s;   // --stop-at: checkpoint and stop once the run reaches it
};

// Decides when a run writes a checkpoint, writes it, and remembers the last one. A run asks
// due_now() between step chunks (a stop signal, the wall-clock cadence) and due_at(t) at its step
// boundaries (also the simulated-time cadence and --stop-at); after a checkpoint, stop_after(t)
// says whether to exit with exit_checkpointed.
//
// A decomposed run (set_ranks): due_now() and due_at() are collectives that every rank calls at the
// same points of the run, and every rank gets the same answer. A stop signal that reached any rank,
// or a wall-clock cadence due on any rank, makes all ranks checkpoint there, and stop_after() then
// answers alike on all ranks, so that they exit together. Rank 0 writes the file (write()); the
// other ranks call written_elsewhere() instead.
class Checkpoints {
 public:
  // `start_time_s` and `wall_s_before` continue a resumed run.
  Checkpoints(CheckpointSettings settings, const Scenario& scenario, std::string kind, std::string version,
              std::string backend, double start_time_s = 0.0, double wall_s_before = 0.0);

  // A resumed run: the checkpoint it started from counts as the last one.
  void resumed_from(const CheckpointReader& checkpoint);

  // A decomposed run of `count` ranks: `largest_over_ranks(v)` is the largest v of all ranks (a
  // collective).
  void set_ranks(int count, std::function<long long(long long)> largest_over_ranks);

  bool due_now();
  bool due_at(double t_s);
  bool stop_after(double t_s) const;
  // The stop signal that stopped the run (on a decomposed run: received by any rank), or 0.
  int signal() const;

  // Writes a checkpoint into the output's staging directory at simulated time t_s: the header,
  // every species field (`download` puts species s into the buffer), then `fill` adds the run's
  // own state. The output is synced to disk first, and from then on is kept when the run fails.
  void write(double t_s, RunOutput& output, const std::vector<std::string>& species,
             const std::function<void(std::size_t, std::vector<real>&)>& download,
             const std::function<void(CheckpointWriter&)>& fill);

  // A decomposed run's ranks other than 0: rank 0 has written a checkpoint at t_s (the schedule
  // moves on as if this rank had).
  void written_elsewhere(double t_s);

  bool any() const { return last_.has_value(); }
  const std::filesystem::path& last_file() const { return *last_; }
  double last_time() const { return last_time_; }
  // Wall time of the run so far, the parts before a resume included.
  double wall_s() const;
  // "; the last checkpoint (t = … s) is kept in DIR: resume with cordsim run … --resume DIR", or
  // "" when none was written.
  std::string kept_note() const;
  // The command that resumes the run (by default `cordsim run SCENARIO --set ... --resume DIR`).
  std::string resume_command() const;
  void set_resume_command(std::string command) { resume_command_ = std::move(command); }

 private:
  using Clock = std::chrono::steady_clock;
  CheckpointSettings settings_;
  const Scenario& scenario_;
  std::string kind_, version_, backend_;
  double next_due_s_ = 0.0;  // simulated-time cadence
  double wall_s_before_ = 0.0;
  Clock::time_point started_ = Clock::now();
  Clock::time_point last_wall_ = started_;
  std::optional<std::filesystem::path> last_;  // in OUT.partial/checkpoints
  double last_time_ = 0.0;
  std::string resume_command_;
  int ranks_ = 1;
  std::function<long long(long long)> largest_over_ranks_;  // set on a decomposed run
  int agreed_signal_ = 0;  // a stop signal some rank received, as the ranks agreed on it
  void scheduled(double t_s);
};

}  // namespace cordsim
