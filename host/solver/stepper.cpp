#include "host/solver/stepper.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>

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

LinearSolverSettings solver_settings(const SpeciesSpec& species) {
  LinearSolverSettings settings;
  settings.tolerance = species.solver.tolerance;
  settings.max_iterations = species.solver.max_iterations;
  settings.preconditioner = species.solver.preconditioner == SpeciesSpec::Solver::Preconditioner::jacobi
                                ? LinearSolverSettings::Preconditioner::jacobi
                                : LinearSolverSettings::Preconditioner::multigrid;
  return settings;
}

const char* integrator_name(SpeciesSpec::Integrator integrator) {
  switch (integrator) {
    case SpeciesSpec::Integrator::backward_euler: return "backward_euler";
    case SpeciesSpec::Integrator::crank_nicolson: return "crank_nicolson";
    case SpeciesSpec::Integrator::quasi_steady: return "quasi_steady";
    case SpeciesSpec::Integrator::rkl2: return "rkl2";
    case SpeciesSpec::Integrator::forward_euler: break;
  }
  return "forward_euler";
}

}  // namespace

Stepper::Stepper(const Scenario& scenario, const Problem& problem, Backend& backend, Setup setup)
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
    const bool needs_step = info.integrator == SpeciesSpec::Integrator::rkl2 ||
                            info.integrator == SpeciesSpec::Integrator::backward_euler ||
                            info.integrator == SpeciesSpec::Integrator::crank_nicolson;
    if (needs_step && !requested) {
      throw InputError(fmt::format("species '{}': integrator \"{}\" needs species[{}].time_step", species.name,
                                   integrator_name(info.integrator), species.name));
    }
    info_.push_back(info);
    const Plan p = plan(s, scenario.run.output_interval_s);
    info_.back().steps_per_interval = p.steps;
    info_.back().step_s = p.step_s;
    info_.back().stages = p.stages;
    if (info.integrator == SpeciesSpec::Integrator::quasi_steady && setup == Setup::run) solve_implicit(s, p);
  }
}

void Stepper::solve_implicit(std::size_t species, const Plan& p) {
  const SpeciesSpec& spec = scenario_.species[species];
  const LinearSolverSettings settings = solver_settings(spec);
  LinearSolveReport report;
  switch (spec.integrator) {
    case SpeciesSpec::Integrator::backward_euler:
      report = backend_.step_theta(int(species), p.step_s, 1.0, p.steps, settings);
      break;
    case SpeciesSpec::Integrator::crank_nicolson:
      report = backend_.step_theta(int(species), p.step_s, 0.5, p.steps, settings);
      break;
    default:
      report = backend_.solve_quasi_steady(int(species), settings);
      break;
  }
  info_[species].last_solve = report;
  total_steps_ += report.iterations;
  if (!report.converged) {
    throw std::runtime_error(fmt::format(
        "species '{}' ({}): the linear solve at t = {:.6g} s did not converge: relative residual "
        "{:.3e} after {} CG iterations, above species[{}].solver.tolerance = {:.3g} within "
        "max_iterations = {} (raise max_iterations{})",
        spec.name, integrator_name(spec.integrator), time_s_, report.relative_residual, report.iterations,
        spec.name, settings.tolerance, settings.max_iterations,
        settings.preconditioner == LinearSolverSettings::Preconditioner::jacobi
            ? ", or use preconditioner = \"multigrid\""
            : ""));
  }
}

Stepper::Plan Stepper::plan(std::size_t species, double interval_s) const {
  const SourceLocation* at = nullptr;
  const auto& requested = requested_step(scenario_, species, &at);
  const double limit = info_[species].stability_limit_s;
  const double safety = scenario_.run.stability_safety;
  const SpeciesSpec::Integrator integrator = info_[species].integrator;
  if (integrator == SpeciesSpec::Integrator::rkl2) {
    const long steps = steps_covering(interval_s, *requested);
    const double tau = interval_s / double(steps);
    return {steps, tau, rkl2_stages_for(tau, safety * limit)};
  }
  if (integrator == SpeciesSpec::Integrator::quasi_steady) return {1, interval_s, 1};
  if (integrator == SpeciesSpec::Integrator::backward_euler || integrator == SpeciesSpec::Integrator::crank_nicolson) {
    const long steps = steps_covering(interval_s, *requested);
    return {steps, interval_s / double(steps), 1};
  }
  const long steps = steps_covering(interval_s, requested ? *requested : safety * limit);
  return {steps, interval_s / double(steps), 1};
}

void Stepper::advance_species(std::size_t s, double interval_s) {
  if (interval_s <= 0.0) return;
  const Plan p = plan(s, interval_s);
  if (scenario_.species[s].implicit()) {
    solve_implicit(s, p);
  } else if (info_[s].integrator == SpeciesSpec::Integrator::rkl2) {
    backend_.step_rkl2(int(s), p.step_s, p.stages, p.steps);
    total_steps_ += p.steps * p.stages;
  } else {
    backend_.step_explicit(int(s), p.step_s, p.steps);
    total_steps_ += p.steps;
  }
}

void Stepper::set_coefficients(std::size_t species, const SpeciesCoefficients& coefficients) {
  backend_.set_coefficients(int(species), coefficients);
  info_[species].stability_limit_s = backend_.stability_limit(int(species));
}

void Stepper::advance(double interval_s, const std::function<void(double)>& progress) {
  if (interval_s <= 0.0) return;
  const double species_count = double(info_.size());
  for (std::size_t s = 0; s < info_.size(); ++s) {
    const Plan p = plan(s, interval_s);
    if (scenario_.species[s].implicit()) {
      solve_implicit(s, p);
    } else {
      // Explicit steps go in chunks so that progress can be reported; the steps themselves, and
      // so the results, are the same as in one call.
      const long chunk = progress ? std::max(1L, p.steps / 16) : p.steps;
      for (long done = 0; done < p.steps; done += chunk) {
        const long n = std::min(chunk, p.steps - done);
        if (info_[s].integrator == SpeciesSpec::Integrator::rkl2)
          backend_.step_rkl2(int(s), p.step_s, p.stages, n);
        else
          backend_.step_explicit(int(s), p.step_s, n);
        total_steps_ += n * p.stages;
        if (progress) progress((double(s) + double(done + n) / double(p.steps)) / species_count);
      }
    }
    if (progress) progress(double(s + 1) / species_count);
  }
  time_s_ += interval_s;
}

SolverLog::SolverLog(const Scenario& scenario) {
  csv_ = "time_s";
  for (std::size_t s = 0; s < scenario.species.size(); ++s) {
    if (!scenario.species[s].implicit()) continue;
    species_.push_back(s);
    const std::string& name = scenario.species[s].name;
    csv_ += fmt::format(",{0}_solves,{0}_cg_iterations,{0}_relative_residual", name);
  }
  csv_ += "\n";
}

void SolverLog::record(const Stepper& stepper) {
  if (empty()) return;
  csv_ += fmt::format("{:.9g}", stepper.time());
  for (std::size_t s : species_) {
    const SpeciesStepInfo& info = stepper.species_info()[s];
    const LinearSolveReport& r = info.last_solve;
    csv_ += fmt::format(",{},{},{:.3e}", r.solves, r.iterations, r.relative_residual);
    spdlog::info("t = {:.6g} s: species {} ({}): {} solves, {} CG iterations, relative residual {:.3e}",
                 stepper.time(), info.name, integrator_name(info.integrator), r.solves, r.iterations,
                 r.relative_residual);
  }
  csv_ += "\n";
}

void SolverLog::write(const std::string& path) const {
  if (empty()) return;
  std::ofstream out(path);
  out << csv_;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<double> output_times(const RunSpec& run) {
  std::vector<double> times{0.0};
  const long intervals = long(std::ceil(run.duration_s / run.output_interval_s * (1.0 - 1e-12)));
  for (long n = 1; n <= intervals; ++n) times.push_back(std::min(double(n) * run.output_interval_s, run.duration_s));
  return times;
}

std::size_t scenario_backend_bytes_per_voxel(const Scenario& scenario) {
  const bool any_implicit = std::any_of(scenario.species.begin(), scenario.species.end(),
                                        [](const SpeciesSpec& sp) { return sp.implicit(); });
  return 28 * scenario.species.size() + 1 + (any_implicit ? 55 : 0);
}

}  // namespace cordsim
