#pragma once
// Time integration of the species fields on a back end.
//
// Explicit path (the walking skeleton's only one): forward Euler, c ← c + Δt (Σ g (c_nb − c)
// − diag·c + rhs), with each species sub-stepped independently from its own stability limit
// Δt_max = 1 / max_v(Σ g + diag) (positivity-preserving; h²/(2 Σ_d D_d) for uniform D). Over an
// output interval Δ the species takes n = ⌈Δ / (safety · Δt_max)⌉ equal steps, or, when the
// scenario fixes run.time_step, n = ⌈Δ / time_step⌉ — and a time_step above Δt_max is refused.
#include <string>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/model/problem.hpp"
#include "kernels/backend.hpp"

namespace cordsim {

struct SpeciesStepInfo {
  std::string name;
  double stability_limit_s = 0.0;  // largest stable forward-Euler step
  double step_s = 0.0;             // the step used for a full output interval
  long steps_per_interval = 0;
};

class Stepper {
 public:
  // Uploads the problem to the back end. Throws InputError (naming run.time_step and where it was
  // set) when the scenario asks for an unstable explicit step.
  Stepper(const Scenario& scenario, const Problem& problem, Backend& backend);

  // Advances every species by `interval` seconds.
  void advance(double interval_s);

  double time() const { return time_s_; }
  long total_steps() const { return total_steps_; }
  const std::vector<SpeciesStepInfo>& species_info() const { return info_; }

 private:
  long steps_for(std::size_t species, double interval_s) const;

  const Scenario& scenario_;
  Backend& backend_;
  std::vector<SpeciesStepInfo> info_;
  double time_s_ = 0.0;
  long total_steps_ = 0;
};

// The output times 0, Δ, 2Δ, …, T (the last interval shortened to end exactly at T).
std::vector<double> output_times(const RunSpec& run);

}  // namespace cordsim
