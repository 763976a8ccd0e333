#include "host/solver/stepper.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "kernels/cell/rkl2.hpp"

namespace cordsim {
namespace {

// The time step the scenario fixes for a species, and where: its own time_step, else run.time_step.
const std::optional<double>& requested_step(const Scenario& s, std::size_t species, const SourceLocation** at) {
  const SpeciesSpec& sp = s.species[species];
  if (sp.time_step_s) {
    *at = &sp.time_step_source;
    return sp.time_step_s;
  }
  *at = &s.run.time_step_source;
  return s.run.time_step_s;
}

// Intervals are divided into equal steps; the 1e-9 keeps an interval that is an exact multiple
// of the step from gaining a step to rounding.
long steps_covering(double interval_s, double max_step_s) {
  return std::max(1L, long(std::ceil(interval_s / max_step_s * (1.0 - 1e-9))));
}

}  // namespace

Stepper::Stepper(const Scenario& scenario, const Problem& problem, Backend& backend)
    : scenario_(scenario), backend_(backend) {
  backend_.initialise(problem.dims, problem.spacing, int(problem.species.size()), problem.tissue.data());
  for (std::size_t s = 0; s < problem.species.size(); ++s) {
    const SpeciesProblem& species = problem.species[s];
    backend_.set_coefficients(int(s), species.coefficients());
    backend_.set_concentration(int(s), species.initial.data());
    SpeciesStepInfo info;
    info.name = species.name;
    info.integrator = scenario.species[s].integrator;
    info.stability_limit_s = backend_.stability_limit(int(s));
    const SourceLocation* at = nullptr;
    const auto& requested = requested_step(scenario, s, &at);
    if (info.integrator == SpeciesSpec::Integrator::forward_euler && requested &&
        *requested > info.stability_limit_s) {
      const std::string where = at->line > 0 ? fmt::format("{}:{}", at->file, at->line) : at->file;
      throw InputError(fmt::format(
          "{}: {} = {}: exceeds the explicit stability limit {:.4g} s of species '{}' "
          "(forward Euler needs dt <= 1/max(sum of face conductances + decay)); use a step of at "
          "most {:.4g} s, leave the time step out to have it chosen, or set "
          "species[{}].integrator = \"rkl2\" for super-steps",
          where, at->key.empty() ? "run.time_step" : at->key, at->value, info.stability_limit_s,
          species.name, info.stability_limit_s, species.name));
    }
    info_.push_back(info);
    const Plan p = plan(s, scenario.run.output_interval_s);
    info_.back().steps_per_interval = p.steps;
    info_.back().step_s = p.step_s;
    info_.back().stages = p.stages;
  }
}

Stepper::Plan Stepper::plan(std::size_t species, double interval_s) const {
  const SourceLocation* at = nullptr;
  const auto& requested = requested_step(scenario_, species, &at);
  const double limit = info_[species].stability_limit_s;
  const double safety = scenario_.run.stability_safety;
  if (info_[species].integrator == SpeciesSpec::Integrator::rkl2) {
    const long steps = steps_covering(interval_s, *requested);
    const double tau = interval_s / double(steps);
    return {steps, tau, rkl2_stages_for(tau, safety * limit)};
  }
  const long steps = steps_covering(interval_s, requested ? *requested : safety * limit);
  return {steps, interval_s / double(steps), 1};
}

void Stepper::advance(double interval_s) {
  if (interval_s <= 0.0) return;
  for (std::size_t s = 0; s < info_.size(); ++s) {
    const Plan p = plan(s, interval_s);
    if (info_[s].integrator == SpeciesSpec::Integrator::rkl2)
      backend_.step_rkl2(int(s), p.step_s, p.stages, p.steps);
    else
      backend_.step_explicit(int(s), p.step_s, p.steps);
    total_steps_ += p.steps * p.stages;
  }
  time_s_ += interval_s;
}

std::vector<double> output_times(const RunSpec& run) {
  std::vector<double> times{0.0};
  const long intervals = long(std::ceil(run.duration_s / run.output_interval_s * (1.0 - 1e-12)));
  for (long n = 1; n <= intervals; ++n) times.push_back(std::min(double(n) * run.output_interval_s, run.duration_s));
  return times;
}

}  // namespace cordsim
