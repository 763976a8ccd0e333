#pragma once
// Time integration of the species fields on a back end. Species are independent here, so each is
// advanced over an output interval Δ on its own schedule (docs/numerics.md):
//
//   forward Euler  c ← c + Δt (Σ g (c_nb − c) − diag·c + rhs), with Δt_max = 1 / max_v(Σ g + diag)
//                  (positivity-preserving; h²/(2 Σ_d D_d) for uniform D). n = ⌈Δ / (safety ·
//                  Δt_max)⌉ equal steps, or n = ⌈Δ / time_step⌉ when the scenario fixes the step;
//                  a fixed step above Δt_max is refused.
//   RKL2           n = ⌈Δ / time_step⌉ super-steps, each with the fewest stages s for which
//                  safety · Δt_max · (s² + s − 2)/4 covers it (kernels/cell/rkl2.hpp).
//   backward Euler, Crank–Nicolson
//                  n = ⌈Δ / time_step⌉ θ-method steps (θ = 1, ½), each one linear solve
//                  (I − θΔt L_h) cⁿ⁺¹ = cⁿ + Δt ((1 − θ) L_h cⁿ + rhs), any Δt stable.
//   quasi-steady   one solve of −L_h c = rhs at construction and at the end of every interval
//                  (sources are constant in time, so later solves start from the converged
//                  field; its float32 rounding, ~1e-7 relative, costs 1–2 CG iterations).
// A solve that misses its tolerance within max_iterations throws std::runtime_error.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/model/problem.hpp"
#include "kernels/backend.hpp"

namespace cordsim {

struct SpeciesStepInfo {
  std::string name;
  SpeciesSpec::Integrator integrator = SpeciesSpec::Integrator::forward_euler;
  double stability_limit_s = 0.0;  // largest stable forward-Euler step
  double step_s = 0.0;             // the (super-)step used for a full output interval
  long steps_per_interval = 0;
  int stages = 1;                  // stencil evaluations per step (RKL2: s)
  LinearSolveReport last_solve;    // implicit integrators: the solves of the latest interval
};

class Stepper {
 public:
  // Uploads the problem to the back end. Throws InputError (naming the time-step key and where
  // it was set) when the scenario asks for an unstable forward-Euler step.
  // `Setup::plan_only` (cordsim validate) stops after the stability limits and the step plans:
  // the quasi-steady species are not solved, so the stepper must not be advanced.
  // `Setup::restore`: the same, for a run whose fields (quasi-steady ones included) and state come
  // from a checkpoint next (set_concentration, restore()); then it is advanced as usual.
  enum class Setup { run, plan_only, restore };
  Stepper(const Scenario& scenario, const Problem& problem, Backend& backend, Setup setup = Setup::run);

  // Advances every species by `interval` seconds; returns true when the interval is done.
  // `progress`, if given, is called now and then with the fraction of the interval done.
  // `pause`, if given, is asked between chunks of steps (explicit steps in chunks of at most 1/16
  // of the interval and about a second of wall time, each implicit step, each species): when it
  // says true before the interval is done, advance returns false and leaves the interval part-way
  // (state() says where, for a checkpoint); calling advance again with the same interval continues
  // it. How the steps are chunked, and whether and where a run was paused, do not change the
  // results by a bit.
  bool advance(double interval_s, const std::function<void(double)>& progress = nullptr,
               const std::function<bool()>& pause = nullptr);

  // A decomposed run (docs/parallel.md): the chunks of explicit steps are sized from each rank's
  // own timing, and `smallest_over_ranks(n)` (a collective) makes every rank take the same chunk,
  // so that all ranks ask `pause` after the same steps and can agree on its answer.
  void set_chunk_agreement(std::function<long(long)> smallest_over_ranks) {
    agree_chunk_ = std::move(smallest_over_ranks);
  }

  // Advances one species by `interval` seconds on its own schedule; the stepper's clock is left
  // alone (a model drives its species one by one and keeps its own time).
  void advance_species(std::size_t species, double interval_s);

  // Replaces a species' per-voxel inputs (an ALS model's sources and decay change every step).
  void set_coefficients(std::size_t species, const SpeciesCoefficients& coefficients);

  double time() const { return time_s_; }
  // Stencil evaluations so far, summed over species (forward-Euler steps, RKL2 stages, CG
  // iterations of the implicit solves).
  long total_steps() const { return total_steps_; }
  const std::vector<SpeciesStepInfo>& species_info() const { return info_; }

  // What a checkpoint holds of the stepper (the fields themselves are in the back end).
  struct State {
    double time_s = 0.0;
    long total_steps = 0;
    double interval_s = 0.0;   // an output interval left part-way by a pause (0: none) ...
    std::size_t species = 0;   // ... in this species ...
    long steps_done = 0;       // ... after this many of its steps
    std::vector<LinearSolveReport> last_solve;  // per species
  };
  State state() const;
  // Continues from a checkpoint's state (after the species fields are back in the back end).
  void restore(const State& state);

 private:
  struct Plan {
    long steps;
    double step_s;
    int stages;
  };
  Plan plan(std::size_t species, double interval_s) const;
  // Runs the species' implicit solves over an interval and records them; throws on non-convergence.
  void solve_implicit(std::size_t species, const Plan& p);
  void check_converged(std::size_t species, const LinearSolveReport& report) const;

  const Scenario& scenario_;
  Backend& backend_;
  std::vector<SpeciesStepInfo> info_;
  double time_s_ = 0.0;
  long total_steps_ = 0;
  struct Partial {
    double interval_s = 0.0;
    std::size_t species = 0;
    long steps_done = 0;
  } partial_;
  std::function<long(long)> agree_chunk_;
};

// The linear solves of the implicit species, one row per output time, for solver_log.csv:
//   time_s, then per implicit species <name>_solves, <name>_cg_iterations (summed over the solves
//   since the previous row) and <name>_relative_residual (the largest final ‖b − A c‖ / ‖b‖).
// Each row is also logged. Empty (no file) when no species is implicit.
class SolverLog {
 public:
  explicit SolverLog(const Scenario& scenario);
  bool empty() const { return species_.empty(); }
  void record(const Stepper& stepper);
  void write(const std::string& path) const;
  // The CSV text so far, for a checkpoint, and back.
  const std::string& text() const { return csv_; }
  void restore(std::string text) { csv_ = std::move(text); }

 private:
  std::vector<std::size_t> species_;  // indices of the implicit species
  std::string csv_;
};

// The output times 0, Δ, 2Δ, …, T (the last interval shortened to end exactly at T). Throws
// InputError for more than kMaxOutputFrames of them.
std::vector<double> output_times(const RunSpec& run);

// Bytes per voxel the host holds for a transport run besides the back end: the problem's six
// float arrays per species (D_x, D_y, D_z, k, S, c₀), one float output buffer per species, the
// mask and, with a [geometry], the two label bytes.
double scenario_host_bytes_per_voxel(const Scenario& scenario);

// Bytes per voxel the back end holds for the scenario: 7 arrays of `real` per species (c, scratch,
// gx, gy, gz, diag, rhs) + the mask, and with any implicit species one shared solver workspace: 6
// float64 vectors and the coarse multigrid levels (3 float64 + 5 real + 1 byte per coarse voxel,
// 1/7 of the voxels): 55 B (58 B with CORDSIM_DOUBLE, whose species take 56 B instead of 28 B).
std::size_t scenario_backend_bytes_per_voxel(const Scenario& scenario);

}  // namespace cordsim
