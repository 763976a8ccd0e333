#pragma once
// A run of the ALS tissue model (docs/model.md): slow steps of the cell states, operator-split
// with the species solves on the back end; timed and milestone-relative interventions and assays;
// readouts. Writes, beside the field files of every run:
//   readouts.csv     one row per readout interval (model.readout_interval) and per event
//   evans_blue.csv   one row per Evans Blue assay: µg/g per region
//   events.csv       when each milestone was reached and each event fired
//   summary.json     milestones (onset, early disease, end stage, duration, in days) and, for
//                    every labelled event, the readouts at that moment as <label>_<name>
#include <filesystem>
#include <functional>
#include <string>

#include "host/config/scenario.hpp"
#include "host/model/problem.hpp"
#include "kernels/backend.hpp"

namespace cordsim {

class Checkpoints;
class CheckpointReader;
class Decomposition;
class RankGroup;

struct AlsRunResult {
  std::filesystem::path xdmf;  // committed output
  bool stopped = false;        // stopped after a checkpoint (a signal, --stop-at): nothing committed
};

struct AlsRunOptions {
  std::filesystem::path out_dir;
  bool overwrite = false;
  std::string version;
  std::function<void(double t_s, long sweeps)> progress;  // after every slow step
  std::function<void(const std::filesystem::path&)> before_commit;  // e.g. a sweep row's row.json
  // Checkpoints (host/io/checkpoint.hpp): asked after every slow step whether to write one and
  // whether to stop; nullptr: none. `resume`: continue from this checkpoint (its OUT.partial).
  Checkpoints* checkpoints = nullptr;
  const CheckpointReader* resume = nullptr;
  // A decomposed run (docs/parallel.md, "The ALS model across ranks"): the ranks, the slabs, this
  // rank's slab of the problem (ghost planes included, as the back end holds it) and whether the
  // ranks write cordsim.h5 collectively. Each rank holds and advances the cell states of its own
  // planes; every global sum adds the ranks' terms in grid order, so that every rank computes the
  // same readouts, milestones and events. Null: one rank.
  RankGroup* ranks = nullptr;
  const Decomposition* decomposition = nullptr;
  const Problem* slab = nullptr;
  bool collective_output = false;
};

AlsRunResult run_als_model(const Scenario& scenario, const Problem& problem, Backend& backend,
                           const AlsRunOptions& options);

}  // namespace cordsim
