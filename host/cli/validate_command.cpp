// `cordsim validate`: reads and checks a scenario (with --set overrides) as `cordsim run` would,
// writes nothing, and prints the numbers a user needs before submitting it to a cluster: the grid
// and tissue voxels, the memory, per species the stability limit and the chosen step, the output
// size and an estimate of the run time.
//
// Grids whose problem and CPU back end fit in kBuildBytes (1 GiB, e.g. the demo, 0.7 M voxels) are
// built as the run builds them: sources are placed, initial fields read, and the stability limits
// come from the assembled operator (so an unstable fixed time step is refused exactly as by
// `cordsim run`), and the cost of a stencil sweep is measured on this CPU. Larger grids are not
// built (--full builds them anyway): the tissue voxels are counted, the stability limits are the
// interior-voxel formula 1/(2 D_x/h_x² + 2 D_y/h_y² + 2 D_z/h_z² + k), an upper bound that Dirichlet
// and Robin faces lower, and the sweep cost is the documented CPU figure.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include "cordsim/build_info.hpp"
#include "host/cli/sweep_command.hpp"
#include "host/config/scenario.hpp"
#include "host/geometry/geometry.hpp"
#include "host/geometry/tissue_mask.hpp"
#include "host/io/run_output.hpp"
#include "host/model/problem.hpp"
#include "host/solver/stepper.hpp"
#include "kernels/backend.hpp"
#include "kernels/cell/rkl2.hpp"

namespace cordsim {
namespace {

constexpr double kMiB = 1048576.0;
constexpr double kBuildBytes = 1024.0 * kMiB;
// The explicit kernel on 2 CPU threads at 256³ (docs/numerics.md, Performance): 9.4e8 voxel
// updates per second, i.e. 1.06 ns per voxel and sweep.
constexpr double kDocumentedNsPerVoxelSweep = 1.06;
// The rate behind the "more than a day" warning: 1e10 voxel updates per second, about ten times
// the documented 2-thread figure above and five times the fastest in docs/numerics.md (2.07e9/s,
// 100³ in cache): a many-core node's explicit kernel. The warning errs towards silence; it is not
// calibrated for the CUDA back end, which no GPU here has timed.
constexpr double kWarnVoxelUpdatesPerSecond = 1e10;
// Implicit species, in explicit-sweep equivalents (docs/numerics.md): one multigrid-CG iteration
// costs about 27 sweeps and a warm-started solve takes about 5 (7 from zero, 1–2 for a quasi-steady
// re-solve); a Jacobi-CG iteration costs about 8 sweeps (256³: 30 s for 201 iterations against
// 0.018 s per sweep) and takes 49 to 1606 iterations per solve: 100 is assumed.
constexpr double kSweepsPerMultigridIteration = 27.0;
constexpr double kSweepsPerJacobiIteration = 8.0;
constexpr double kMultigridIterationsPerStep = 5.0;
constexpr double kMultigridIterationsFirstSolve = 7.0;
constexpr double kMultigridIterationsResolve = 2.0;
constexpr double kJacobiIterationsPerSolve = 100.0;

const char* integrator_label(SpeciesSpec::Integrator integrator) {
  switch (integrator) {
    case SpeciesSpec::Integrator::rkl2: return "RKL2 super-steps";
    case SpeciesSpec::Integrator::backward_euler: return "backward Euler";
    case SpeciesSpec::Integrator::crank_nicolson: return "Crank-Nicolson";
    case SpeciesSpec::Integrator::quasi_steady: return "quasi-steady";
    case SpeciesSpec::Integrator::forward_euler: break;
  }
  return "forward Euler";
}

double interior_stability_limit(const GridSpec& g, const SpeciesSpec& sp) {
  const double h2[3] = {g.spacing_um[0] * g.spacing_um[0], g.spacing_um[1] * g.spacing_um[1],
                        g.spacing_um[2] * g.spacing_um[2]};
  return 1.0 / (2.0 * sp.diffusivity_um2_per_s / h2[0] + 2.0 * sp.diffusivity_um2_per_s / h2[1] +
                2.0 * sp.diffusivity_axial_um2_per_s / h2[2] + sp.decay_per_s);
}

long steps_covering(double interval_s, double max_step_s) {  // as the Stepper divides an interval
  return std::max(1L, long(std::ceil(interval_s / max_step_s * (1.0 - 1e-9))));
}

struct SpeciesEstimate {
  double limit_s = 0.0;
  double step_s = 0.0;           // for a full output interval
  long steps_per_interval = 0;
  int stages = 1;
  double sweeps = 0.0;           // over the whole run, explicit sweeps or their equivalent
  long solves = 0;               // implicit species
};

// The step plan of the Stepper (stepper.cpp, Stepper::plan), summed over the run's output intervals.
SpeciesEstimate estimate(const Scenario& s, std::size_t species, double limit_s, const std::vector<double>& times) {
  const SpeciesSpec& sp = s.species[species];
  const std::optional<double> requested = sp.time_step_s ? sp.time_step_s : s.run.time_step_s;
  const double safety = s.run.stability_safety;
  SpeciesEstimate e;
  e.limit_s = limit_s;
  const bool jacobi = sp.solver.preconditioner == SpeciesSpec::Solver::Preconditioner::jacobi;
  const double per_iteration = jacobi ? kSweepsPerJacobiIteration : kSweepsPerMultigridIteration;
  for (std::size_t n = 1; n < times.size(); ++n) {
    const double interval = times[n] - times[n - 1];
    long steps = 1;
    int stages = 1;
    switch (sp.integrator) {
      case SpeciesSpec::Integrator::forward_euler:
        steps = steps_covering(interval, requested ? *requested : safety * limit_s);
        e.sweeps += double(steps);
        break;
      case SpeciesSpec::Integrator::rkl2:
        steps = steps_covering(interval, *requested);
        stages = rkl2_stages_for(interval / double(steps), safety * limit_s);
        e.sweeps += double(steps) * stages;
        break;
      case SpeciesSpec::Integrator::backward_euler:
      case SpeciesSpec::Integrator::crank_nicolson:
        steps = steps_covering(interval, *requested);
        e.solves += steps;
        e.sweeps += double(steps) * per_iteration * (jacobi ? kJacobiIterationsPerSolve : kMultigridIterationsPerStep);
        break;
      case SpeciesSpec::Integrator::quasi_steady:
        e.solves += 1;
        e.sweeps += per_iteration * (jacobi ? kJacobiIterationsPerSolve : kMultigridIterationsResolve);
        break;
    }
    if (n == 1) {
      e.steps_per_interval = steps;
      e.stages = stages;
      e.step_s = interval / double(steps);
    }
  }
  if (sp.integrator == SpeciesSpec::Integrator::quasi_steady) {
    e.solves += 1;  // at t = 0, from zero
    e.sweeps += per_iteration * (jacobi ? kJacobiIterationsPerSolve : kMultigridIterationsFirstSolve);
  }
  return e;
}

// Seconds per voxel and sweep of the explicit kernel on this back end: the best of a few bursts of
// 8 sweeps (the first burst warms caches and pages; single sweeps would time the call overhead too),
// over at most about 0.3 s.
double measure_sweep_seconds_per_voxel(Backend& backend, const Stepper& stepper, double voxels) {
  constexpr long burst = 8;
  const double dt = 0.5 * stepper.species_info().front().stability_limit_s;
  backend.step_explicit(0, dt, burst);
  double best = INFINITY, spent = 0.0;
  for (int i = 0; i < 5 && spent < 0.3; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    backend.step_explicit(0, dt, burst);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s / double(burst));
    spent += s;
  }
  return best / voxels;
}

std::string seconds_text(double s) {
  if (s < 120) return fmt::format("{:.2g} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  if (s < 172800) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} d", s / 86400);
}

int validate(const ValidateOptions& options) {
  Scenario scenario = options.scenario_path.empty()
                          ? parse_scenario(build_info::demo_scenario, "<built-in demo>", options.overrides)
                          : load_scenario(options.scenario_path, options.overrides);
  resolve_geometry(scenario);
  const GridSpec& g = scenario.grid;
  const double voxels = double(g.shape[0]) * double(g.shape[1]) * double(g.shape[2]);
  const std::size_t species = scenario.species.size();
  const double backend_bytes = double(scenario_backend_bytes_per_voxel(scenario));
  // While running, the host also holds the problem (D_x, D_y, D_z, k, S, c₀) and one output buffer
  // per species, the mask, and with a geometry the two label bytes.
  const double host_bytes = scenario_host_bytes_per_voxel(scenario);
  // `cordsim run` refuses a run that does not fit in the memory available (run_command.cpp);
  // validate warns, does not build such a problem, and with --full refuses to.
  const std::uint64_t available = available_memory_bytes();
  const bool fits = voxels * (backend_bytes + host_bytes) <= double(available);
  if (options.full && !fits) {
    check_memory(std::uint64_t(voxels), backend_bytes + host_bytes,
                 fmt::format("validate --full: the problem of scenario '{}'", scenario.name),
                 "validate without --full estimates it without building it");
  }
  const bool build = options.full || (fits && voxels * (backend_bytes + host_bytes) <= kBuildBytes);

  std::uint64_t tissue = 0;
  std::vector<double> limits(species);
  std::vector<bool> built_limit(species, build);
  double seconds_per_voxel_sweep = kDocumentedNsPerVoxelSweep * 1e-9;
  std::string cost_source = "documented for 2 CPU threads at 256^3, docs/numerics.md";
  std::string limit_source;
  if (build) {
    const Problem problem = build_problem(scenario);
    tissue = problem.tissue_voxels();
    std::unique_ptr<Backend> backend = make_cpu_backend(options.threads);
    const Stepper stepper(scenario, problem, *backend, Stepper::Setup::plan_only);
    for (std::size_t s = 0; s < species; ++s) limits[s] = stepper.species_info()[s].stability_limit_s;
    limit_source = fmt::format("from the assembled operator on the {}", backend->description());
    seconds_per_voxel_sweep = measure_sweep_seconds_per_voxel(*backend, stepper, voxels);
    cost_source = fmt::format("measured here, {}", backend->description());
  } else {
    if (scenario.geometry) {
      tissue = count_tissue(*open_geometry(geometry_request(*scenario.geometry))).parenchyma();
    } else {
      check_memory(std::uint64_t(voxels), 1.0, fmt::format("the tissue mask of scenario '{}'", scenario.name));
      const std::vector<std::uint8_t> mask = build_tissue_mask(g, scenario.tissue);
      tissue = std::uint64_t(std::count(mask.begin(), mask.end(), std::uint8_t(1)));
    }
    for (std::size_t s = 0; s < species; ++s) limits[s] = interior_stability_limit(g, scenario.species[s]);
    limit_source =
        fits ? fmt::format(
                   "interior-voxel estimate: the problem ({:.0f} MiB) is not built above {:.0f} MiB; --full builds it",
                   voxels * (backend_bytes + host_bytes) / kMiB, kBuildBytes / kMiB)
             : fmt::format("interior-voxel estimate: the problem ({:.0f} MiB) does not fit in the memory available",
                           voxels * (backend_bytes + host_bytes) / kMiB);
  }

  std::printf("scenario '%s' (%s) is valid\n", scenario.name.c_str(), scenario.file.c_str());
  std::printf("grid: %d x %d x %d voxels of %g x %g x %g um = %.0f voxels; %llu tissue voxels (%.1f%%)\n", g.shape[0],
              g.shape[1], g.shape[2], g.spacing_um[0], g.spacing_um[1], g.spacing_um[2], voxels,
              (unsigned long long)tissue, 100.0 * double(tissue) / voxels);
  std::printf("memory: back end %.1f MiB (%.0f bytes/voxel); host arrays %.1f MiB (%.0f bytes/voxel)\n",
              voxels * backend_bytes / kMiB, backend_bytes, voxels * host_bytes / kMiB, host_bytes);
  if (!fits) {
    std::printf("warning: the run needs %.2f GiB (back end and host arrays) but only %.2f GiB of memory is "
                "available here (%s): `cordsim run` refuses it on this machine\n",
                voxels * (backend_bytes + host_bytes) / double(1ull << 30), double(available) / double(1ull << 30),
                available_memory_source().c_str());
  }
  std::printf("stability limits: %s\n", limit_source.c_str());

  const std::vector<double> times = output_times(scenario.run);
  double sweeps = 0.0;
  for (std::size_t s = 0; s < species; ++s) {
    const SpeciesSpec& sp = scenario.species[s];
    const SpeciesEstimate e = estimate(scenario, s, limits[s], times);
    sweeps += e.sweeps;
    const std::string limit = fmt::format("stability limit {}{:.4g} s", built_limit[s] ? "" : "~", e.limit_s);
    std::string plan;
    switch (sp.integrator) {
      case SpeciesSpec::Integrator::forward_euler:
        plan = fmt::format("step {:.4g} s, {} steps per output interval; {:.0f} stencil sweeps", e.step_s,
                           e.steps_per_interval, e.sweeps);
        break;
      case SpeciesSpec::Integrator::rkl2:
        plan = fmt::format("super-step {:.4g} s of {} stages, {} per output interval; {:.0f} stencil sweeps", e.step_s,
                           e.stages, e.steps_per_interval, e.sweeps);
        break;
      case SpeciesSpec::Integrator::quasi_steady:
        plan = fmt::format("{} solves (one per output time); about {:.0f} sweep equivalents", e.solves, e.sweeps);
        break;
      default:
        plan = fmt::format("step {:.4g} s, {} per output interval, {} solves; about {:.0f} sweep equivalents",
                           e.step_s, e.steps_per_interval, e.solves, e.sweeps);
        break;
    }
    std::printf("species %s: %s; %s; %s\n", sp.name.c_str(), integrator_label(sp.integrator), limit.c_str(),
                plan.c_str());
  }

  std::size_t written = 0;
  for (const SpeciesSpec& sp : scenario.species) {
    const auto& wanted = scenario.output.fields;
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), sp.name) != wanted.end()) ++written;
  }
  const std::uintmax_t bytes = expected_output_bytes(scenario, written, times.size(), scenario.geometry ? 3 : 1);
  std::printf("output: %zu frames of %zu field(s), %s, HDF5%s%s; at most %.1f MiB\n", times.size(), written,
              scenario.output.float64 ? "float64" : "float32",
              scenario.output.compression > 0 ? fmt::format(" (gzip {})", scenario.output.compression).c_str() : "",
              scenario.output.vtk ? " + VTK" : "", double(bytes) / kMiB);
  std::printf("run time: about %.3g stencil sweeps x %.0f voxels = %.3g voxel updates; about %s on the CPU "
              "(%.3g ns per voxel and sweep, %s)\n",
              sweeps, voxels, sweeps * voxels, seconds_text(sweeps * voxels * seconds_per_voxel_sweep).c_str(),
              seconds_per_voxel_sweep * 1e9, cost_source.c_str());
  // The warning does not rest on the timing above (a loaded or a fast machine sways it): the voxel
  // updates at a fixed, generous rate, so that it fires only for runs that take over a day even
  // on a fast CPU node.
  const double conservative_s = sweeps * voxels / kWarnVoxelUpdatesPerSecond;
  std::printf("run time at %.3g voxel updates/s (a fast CPU node; docs/numerics.md): about %s\n",
              kWarnVoxelUpdatesPerSecond, seconds_text(conservative_s).c_str());
  if (conservative_s > 86400.0) {
    std::printf("warning: the run would take more than a day (about %s at %.3g voxel updates/s, %.3g voxel "
                "updates): check run.duration (%.6g s), the time steps and the grid before submitting it\n",
                seconds_text(conservative_s).c_str(), kWarnVoxelUpdatesPerSecond, sweeps * voxels,
                scenario.run.duration_s);
  }
  return exit_ok;
}

}  // namespace

int validate_command(const ValidateOptions& options) {
  return with_exit_codes("validate", [&] { return validate(options); });
}

}  // namespace cordsim
