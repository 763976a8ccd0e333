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
#include <string>
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
};

class Stepper {
 public:
  // Uploads the problem to the back end. Throws InputError (naming the time-step key and where
  // it was set) when the scenario asks for an unstable forward-Euler step.
  Stepper(const Scenario& scenario, const Problem& problem, Backend& backend);

  // Advances every species by `interval` seconds.
  void advance(double interval_s);

  double time() const { return time_s_; }
  // Stencil evaluations so far, summed over species (forward-Euler steps, RKL2 stages).
  long total_steps() const { return total_steps_; }
  const std::vector<SpeciesStepInfo>& species_info() const { return info_; }

 private:
  struct Plan {
    long steps;
    double step_s;
    int stages;
  };
  Plan plan(std::size_t species, double interval_s) const;

  const Scenario& scenario_;
  Backend& backend_;
  std::vector<SpeciesStepInfo> info_;
  double time_s_ = 0.0;
  long total_steps_ = 0;
};

// The output times 0, Δ, 2Δ, …, T (the last interval shortened to end exactly at T).
std::vector<double> output_times(const RunSpec& run);

}  // namespace cordsim
