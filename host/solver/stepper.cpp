#include "host/solver/stepper.hpp"

#include <fmt/format.h>

#include <cmath>

namespace cordsim {

Stepper::Stepper(const Scenario& scenario, const Problem& problem, Backend& backend)
    : scenario_(scenario), backend_(backend) {
  backend_.initialise(problem.dims, problem.spacing, int(problem.species.size()), problem.tissue.data());
  const double interval = scenario.run.output_interval_s;
  for (std::size_t s = 0; s < problem.species.size(); ++s) {
    const SpeciesProblem& species = problem.species[s];
    backend_.set_coefficients(int(s), species.coefficients());
    backend_.set_concentration(int(s), species.initial.data());
    SpeciesStepInfo info;
    info.name = species.name;
    info.stability_limit_s = backend_.stability_limit(int(s));
    const auto& requested = scenario.run.time_step_s;
    if (requested && *requested > info.stability_limit_s) {
      const SourceLocation& at = scenario.run.time_step_source;
      const std::string where = at.line > 0 ? fmt::format("{}:{}", at.file, at.line) : at.file;
      throw InputError(fmt::format(
          "{}: {} = {}: exceeds the explicit stability limit {:.4g} s of species '{}' "
          "(forward Euler needs dt <= 1/max(sum of face conductances + decay)); use a step of at "
          "most {:.4g} s or leave run.time_step out to have it chosen",
          where, at.key.empty() ? "run.time_step" : at.key, at.value,
          info.stability_limit_s, species.name, info.stability_limit_s));
    }
    info_.push_back(info);
    info_.back().steps_per_interval = steps_for(s, interval);
    info_.back().step_s = interval / double(info_.back().steps_per_interval);
  }
}

long Stepper::steps_for(std::size_t species, double interval_s) const {
  const auto& requested = scenario_.run.time_step_s;
  const double dt_max =
      requested ? *requested : scenario_.run.stability_safety * info_[species].stability_limit_s;
  // The 1e-9 keeps an interval that is an exact multiple of the step from gaining a step to
  // rounding.
  return std::max(1L, long(std::ceil(interval_s / dt_max * (1.0 - 1e-9))));
}

void Stepper::advance(double interval_s) {
  if (interval_s <= 0.0) return;
  for (std::size_t s = 0; s < info_.size(); ++s) {
    const long steps = steps_for(s, interval_s);
    backend_.step_explicit(int(s), interval_s / double(steps), steps);
    total_steps_ += steps;
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
