#pragma once
// `cordsim sweep FILE --list | --index N | --collect` and `cordsim validate SCENARIO`.
#include <string>
#include <vector>

#include "host/cli/commands.hpp"

namespace cordsim {

struct SweepOptions {
  std::string file;       // the sweep TOML
  bool list = false;      // print the rows
  long index = -1;        // ≥ 0: run this row (0-based, so that $SLURM_ARRAY_TASK_ID can be passed)
  bool collect = false;   // merge the finished rows into DIR/<name>/sweep_results.csv
  std::string out_dir;    // empty: ./<sweep name>_sweep; rows go to DIR/<sweep name>/row_NNNN
  bool overwrite = false; // run a finished row again
  BackendChoice backend;
  double checkpoint_every_s = 0.0;  // --index: wall seconds between checkpoints (0: off)
};

int sweep_command(const SweepOptions& options);

struct ValidateOptions {
  std::string scenario_path;  // empty: the built-in demo scenario
  std::vector<std::string> overrides;
  int threads = 0;            // CPU threads of the back end built for the stability limits
  bool full = false;          // build the problem and the CPU back end whatever the grid size
};

int validate_command(const ValidateOptions& options);

}  // namespace cordsim
