#include "host/solver/stepper.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
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
// of the step from gaining a step to rounding. More than kMaxStencilSweeps steps (or a step that
// is not positive) is refused rather than converted to a long that overflows.
long steps_covering(double interval_s, double max_step_s, const std::string& species) {
  const double steps = std::ceil(interval_s / max_step_s * (1.0 - 1e-9));
  if (!(steps <= kMaxStencilSweeps)) {
    throw InputError(fmt::format(
        "species '{}': an interval of {:.6g} s in steps of at most {:.4g} s would take {:.4g} steps, more than the "
        "{:.0e} stencil sweeps a species may take (README, \"Bad input\"); check its diffusivity, decay and time "
        "step and the grid spacing",
        species, interval_s, max_step_s, steps, kMaxStencilSweeps));
  }
  return std::max(1L, long(steps));
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
    const bool explicit_steps = info.integrator == SpeciesSpec::Integrator::forward_euler ||
                                info.integrator == SpeciesSpec::Integrator::rkl2;
    if (explicit_steps && !(info.stability_limit_s > 0.0)) {
      throw InputError(fmt::format(
          "species '{}': the assembled operator's explicit stability limit is {} s: its conductances overflow {} "
          "or the stable step underflows; check species[{}].diffusivity and decay and the grid spacing, or use "
          "integrator = \"backward_euler\"",
          species.name, info.stability_limit_s, kRealName, species.name));
    }
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
    // The whole run, from the assembled operator's limit (parse_scenario checked a bound on it).
    const double sweeps = double(p.steps) * double(p.stages) *
                          std::ceil(scenario.run.duration_s / scenario.run.output_interval_s * (1.0 - 1e-12));
    if (explicit_steps && !(sweeps <= kMaxStencilSweeps)) {
      throw InputError(fmt::format(
          "species '{}': {} steps of {:.4g} s ({} stages each) per output interval over run.duration = {} s make "
          "{:.4g} stencil sweeps, more than the {:.0e} a species may take (stability limit {:.4g} s from the "
          "assembled operator); use integrator = \"backward_euler\", a coarser grid or a shorter run",
          species.name, p.steps, p.step_s, p.stages, scenario.run.duration_s, sweeps, kMaxStencilSweeps,
          info.stability_limit_s));
    }
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
  check_converged(species, report);
}

void Stepper::check_converged(std::size_t species, const LinearSolveReport& report) const {
  const SpeciesSpec& spec = scenario_.species[species];
  const LinearSolverSettings settings = solver_settings(spec);
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
  const std::string& name = info_[species].name;
  if (integrator == SpeciesSpec::Integrator::rkl2) {
    const long steps = steps_covering(interval_s, *requested, name);
    const double tau = interval_s / double(steps);
    // The stage count's closed form first: rkl2_stages_for counts up to it in an int.
    const double ratio = tau / (safety * limit);
    const double stages = std::ceil((-1.0 + std::sqrt(9.0 + 16.0 * ratio)) / 2.0);
    if (!(stages <= double(kMaxRkl2Stages)) || !(double(steps) * stages <= kMaxStencilSweeps)) {
      throw InputError(fmt::format(
          "species '{}': RKL2 super-steps of {:.4g} s over a stability limit of {:.4g} s would need {:.4g} stages "
          "each (at most {}, and at most {:.0e} stencil sweeps); use a smaller time step or integrator = "
          "\"backward_euler\"",
          name, tau, limit, stages, kMaxRkl2Stages, kMaxStencilSweeps));
    }
    return {steps, tau, rkl2_stages_for(tau, safety * limit)};
  }
  if (integrator == SpeciesSpec::Integrator::quasi_steady) return {1, interval_s, 1};
  if (integrator == SpeciesSpec::Integrator::backward_euler || integrator == SpeciesSpec::Integrator::crank_nicolson) {
    const long steps = steps_covering(interval_s, *requested, name);
    return {steps, interval_s / double(steps), 1};
  }
  const long steps = steps_covering(interval_s, requested ? *requested : safety * limit, name);
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

bool Stepper::advance(double interval_s, const std::function<void(double)>& progress,
                      const std::function<bool()>& pause) {
  if (interval_s <= 0.0) return true;
  if (partial_.interval_s != 0.0 && partial_.interval_s != interval_s) {
    throw std::logic_error(fmt::format("Stepper::advance: an interval of {} s was left part-way; {} s asked for",
                                       partial_.interval_s, interval_s));
  }
  const double species_count = double(info_.size());
  std::size_t s = partial_.interval_s != 0.0 ? partial_.species : 0;
  long done = partial_.interval_s != 0.0 ? partial_.steps_done : 0;
  partial_ = {};
  const auto leave = [&](std::size_t species, long steps_done) {
    partial_ = {interval_s, species, steps_done};
    return false;
  };
  for (; s < info_.size(); ++s, done = 0) {
    const Plan p = plan(s, interval_s);
    const SpeciesSpec::Integrator integrator = info_[s].integrator;
    if (integrator == SpeciesSpec::Integrator::quasi_steady) {
      if (done == 0) solve_implicit(s, p);
    } else if (scenario_.species[s].implicit() && !pause && done == 0) {
      solve_implicit(s, p);
    } else if (scenario_.species[s].implicit()) {
      // θ-method steps one at a time (each solve starts from the field it advances, so this is
      // the same as one call), with the interval's solves summed as solve_implicit does.
      const double theta = integrator == SpeciesSpec::Integrator::backward_euler ? 1.0 : 0.5;
      const LinearSolverSettings settings = solver_settings(scenario_.species[s]);
      if (done == 0) info_[s].last_solve = LinearSolveReport{};
      while (done < p.steps) {
        const LinearSolveReport one = backend_.step_theta(int(s), p.step_s, theta, 1, settings);
        LinearSolveReport& total = info_[s].last_solve;
        total.iterations += one.iterations;
        total.solves += one.solves;
        total.relative_residual = std::max(total.relative_residual, one.relative_residual);
        total.converged = total.converged && one.converged;
        total_steps_ += one.iterations;
        check_converged(s, total);
        ++done;
        if (progress) progress((double(s) + double(done) / double(p.steps)) / species_count);
        if (done < p.steps && pause && pause()) return leave(s, done);
      }
    } else {
      // Explicit steps go in chunks so that progress can be reported and a pause heard; the
      // steps themselves, and so the results, are the same as in one call. A chunk is at most
      // 1/16 of the interval and, once timed, about a second of wall time.
      const bool chunked = progress || pause;
      const long largest = chunked ? std::max(1L, p.steps / 16) : p.steps;
      long chunk = chunked ? std::min(largest, 4L) : p.steps;
      while (done < p.steps) {
        const long n = std::min(chunk, p.steps - done);
        const auto began = std::chrono::steady_clock::now();
        if (integrator == SpeciesSpec::Integrator::rkl2)
          backend_.step_rkl2(int(s), p.step_s, p.stages, n);
        else
          backend_.step_explicit(int(s), p.step_s, n);
        total_steps_ += n * p.stages;
        done += n;
        if (progress) progress((double(s) + double(done) / double(p.steps)) / species_count);
        if (chunked) {
          const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
          const double per_second = seconds > 0.0 ? double(n) / seconds : double(largest);
          chunk = std::clamp(long(std::min(per_second, double(largest))), 1L, largest);
          if (pause && agree_chunk_) chunk = agree_chunk_(chunk);
        }
        if (done < p.steps && pause && pause()) return leave(s, done);
      }
    }
    if (progress) progress(double(s + 1) / species_count);
    if (s + 1 < info_.size() && pause && pause()) return leave(s + 1, 0);
  }
  time_s_ += interval_s;
  return true;
}

Stepper::State Stepper::state() const {
  State st;
  st.time_s = time_s_;
  st.total_steps = total_steps_;
  st.interval_s = partial_.interval_s;
  st.species = partial_.species;
  st.steps_done = partial_.steps_done;
  for (const SpeciesStepInfo& info : info_) st.last_solve.push_back(info.last_solve);
  return st;
}

void Stepper::restore(const State& st) {
  if (st.last_solve.size() != info_.size() || st.species > info_.size() || st.steps_done < 0)
    throw std::invalid_argument("Stepper::restore: the state does not fit this scenario's species");
  time_s_ = st.time_s;
  total_steps_ = st.total_steps;
  partial_ = {st.interval_s, st.species, st.steps_done};
  for (std::size_t s = 0; s < info_.size(); ++s) info_[s].last_solve = st.last_solve[s];
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
  const double count = std::ceil(run.duration_s / run.output_interval_s * (1.0 - 1e-12));
  if (!(count + 1.0 <= kMaxOutputFrames))  // parse_scenario refuses these with the key's line
    throw InputError(fmt::format("run.output_interval = {} s over run.duration = {} s: {:.4g} output frames, more "
                                 "than the {:.0f} a run may write",
                                 run.output_interval_s, run.duration_s, count + 1.0, kMaxOutputFrames));
  const long intervals = long(count);
  for (long n = 1; n <= intervals; ++n) times.push_back(std::min(double(n) * run.output_interval_s, run.duration_s));
  return times;
}

double scenario_host_bytes_per_voxel(const Scenario& scenario) {
  return 28.0 * double(scenario.species.size()) + 1.0 + (scenario.geometry ? 2.0 : 0.0);
}

std::size_t scenario_backend_bytes_per_voxel(const Scenario& scenario) {
  const bool any_implicit = std::any_of(scenario.species.begin(), scenario.species.end(),
                                        [](const SpeciesSpec& sp) { return sp.implicit(); });
  // Coarse levels: 3 float64 vectors, 5 operator arrays, the mask, on 1/7 of the voxels (rounded up).
  const std::size_t workspace = 6 * sizeof(double) + (3 * sizeof(double) + 5 * sizeof(real) + 1 + 6) / 7;
  return 7 * sizeof(real) * scenario.species.size() + 1 + (any_implicit ? workspace : 0);
}

}  // namespace cordsim
