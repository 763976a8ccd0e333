#pragma once
// The subcommands of the cordsim binary.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace cordsim {

// Exit codes (documented in the README).
enum ExitCode : int {
  exit_ok = 0,
  exit_usage = 1,          // command-line syntax (CLI11)
  exit_bad_input = 2,      // scenario or option rejected; nothing was written
  exit_run_failed = 3,     // failure while running (I/O, device, a field gone NaN/Inf or negative); the
                           // partial output was removed, or kept with its last checkpoint if it has one
  exit_checkpointed = 4,   // stopped by SIGTERM/SIGINT/SIGUSR1 or --stop-at after writing a checkpoint;
                           // `cordsim run SCENARIO --resume OUT.partial` continues it
                           // (tools/slurm: CORDSIM_CHECKPOINT_EXIT)
  exit_interrupted = 5,    // a second signal: exited at once; files are intact, the last checkpoint
                           // (if any) resumes the run (host/io/stop_signals.hpp)
};

struct BackendChoice {
  std::string kind = "auto";  // auto | cpu | cuda
  int threads = 0;            // CPU threads (0: OpenMP default)
  int device = 0;             // CUDA device index
};

struct RunOptions {
  std::string scenario_path;  // empty: the built-in demo scenario
  std::string out_dir;        // empty: ./<scenario name>_out
  std::vector<std::string> overrides;
  bool overwrite = false;
  BackendChoice backend;
  // Checkpoint and restart (README "Checkpoint and restart", host/io/checkpoint.hpp).
  std::string resume_dir;           // --resume DIR: continue the stopped run in DIR (OUT or OUT.partial)
  bool resume_if_checkpointed = false;  // --continue (and sweep rows): resume OUT.partial's checkpoint if any
  double checkpoint_every_s = 0.0;  // --checkpoint-every: wall seconds between checkpoints (0: off)
  std::string stop_at;              // --stop-at TIME: checkpoint and exit 4 once the run reaches TIME
  std::string resume_hint;          // how to resume, when not `cordsim run ... --resume` (a sweep row)
  // Called with the staging directory after summary.json is written and before the commit, so
  // that a caller's own files (a sweep row's row.json) appear together with the run or not at all.
  std::function<void(const std::filesystem::path& staging_dir)> before_commit;
};

int run_command(const RunOptions& options);

// Tells the user where the ParaView files of a committed output directory are, and the unit of
// their times ("s", or "d" for an ALS run).
void announce_paraview_files(const std::filesystem::path& xdmf, const std::string& time_unit = "s");

// Runs a subcommand's body and maps its exceptions to the documented exit codes, with one line on
// stderr: InputError → exit_bad_input, any other failure → exit_run_failed.
int with_exit_codes(const char* command, const std::function<int()>& body);

struct BenchOptions {
  int threads = 0;
  bool quick = false;  // smaller sizes, for a smoke run
  bool solvers = false;  // only the implicit-solver section (bench_solvers)
};

int bench_command(const BenchOptions& options);

}  // namespace cordsim
