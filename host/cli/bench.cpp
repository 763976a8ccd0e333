// `cordsim bench`: figures, not pass/fail. Prints
//   1. a STREAM-like triad (a = b + s·c) bandwidth on this machine, same run;
//   2. the explicit kernel: voxel updates per second and achieved bandwidth as a fraction of the
//      triad, at 100³ (cache-resident), 128³ and 256³, for 1 and 6 species;
//   3. the Gaussian race: 100³ voxels of 20 µm, no-flux walls, D = 1000 µm²/s, k = 0.1/min,
//      σ = 100 µm Gaussian, 60 s: stepping wall time and relative L2 error against the exact
//      (mirror-image) solution, beside BioFVM's 3.2 s and paraBioFVM's 0.54 s for 5.9e-3;
//   4. with --solvers, instead of 1–3: the implicit solvers: Jacobi-CG and multigrid-CG iterations and times
//      to 1e-8 at 64³, 128³, 256³ for λ = 60 µm and 2 mm; one quasi-steady NO solve at 256³ against
//      explicit stepping to the same steady state; the Gaussian race with backward Euler and
//      Crank–Nicolson at the largest step keeping the error ≤ 5.9e-3.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <vector>

#include "cordsim/build_info.hpp"
#include "host/cli/commands.hpp"
#include "host/config/scenario.hpp"
#include "host/model/problem.hpp"
#include "host/solver/stepper.hpp"
#include "host/verification/analytic.hpp"
#include "kernels/backend.hpp"
#include "kernels/cpu/huge_page_allocator.hpp"

namespace cordsim {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// STREAM-like triad a = b + s·c over arrays far larger than the caches, in the same kind of
// allocation as the CPU back end's fields. Bandwidth counts 12 bytes per element, as STREAM does.
class Triad {
 public:
  explicit Triad(std::size_t n) : a_(n), b_(n), c_(n) {
#pragma omp parallel for schedule(static)
    for (std::size_t i = 0; i < n; ++i) {
      a_[i] = 0.f;
      b_[i] = 1.f;
      c_[i] = 2.f;
    }
  }

  // Best of `repeats` runs (GB/s).
  double bandwidth(int repeats) {
    const std::size_t n = a_.size();
    float* pa = a_.data();
    const float* pb = b_.data();
    const float* pc = c_.data();
    const float s = 3.f;
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
      const auto t0 = Clock::now();
#pragma omp parallel for simd schedule(static)
      for (std::size_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
      best = std::min(best, seconds_since(t0));
    }
    if (a_[n / 2] != 7.f) fmt::print("warning: triad result check failed\n");
    return 12.0 * double(n) / best / 1e9;
  }

 private:
  std::vector<float, HugePageAllocator<float>> a_, b_, c_;
};

// Explicit forward-Euler sweeps over a full cube (all tissue, uniform coefficients) for several
// species. Each voxel update streams 7 values (float32, or float64 in a CORDSIM_DOUBLE build): c,
// gx, gy, gz, diag, rhs in and c_next out.
class ExplicitKernel {
 public:
  ExplicitKernel(Backend& backend, int n, int species) : backend_(backend), n_(n), species_(species) {
    const GridDims dims{n, n, n};
    const std::size_t voxels = std::size_t(dims.size());
    const std::vector<std::uint8_t> tissue(voxels, 1);
    const std::vector<float> D(voxels, 1000.f), k(voxels, 1e-3f), S(voxels, 0.f), c0(voxels, 1.f);
    backend.initialise(dims, Spacing{{20.f, 20.f, 20.f}}, species, tissue.data());
    const SpeciesCoefficients coefficients{{D.data(), D.data(), D.data()}, k.data(), S.data(), BoundaryParams{}};
    for (int s = 0; s < species; ++s) {
      backend.set_coefficients(s, coefficients);
      backend.set_concentration(s, c0.data());
    }
    dt_ = 0.9 * backend.stability_limit(0);
    for (int s = 0; s < species; ++s) backend.step_explicit(s, dt_, 2);  // warm-up
  }

  // Best voxel-update rate (1/s) over bursts of `burst` sweeps of every species, repeated for about
  // `seconds`. The best burst is the closest to what the hardware sustains on a shared machine.
  double updates_per_second(double seconds) {
    const int burst = 4;
    double best = 1e30;
    const auto t0 = Clock::now();
    do {
      const auto b0 = Clock::now();
      for (int s = 0; s < species_; ++s) backend_.step_explicit(s, dt_, burst);
      best = std::min(best, seconds_since(b0));
    } while (seconds_since(t0) < seconds);
    return double(n_) * n_ * n_ * species_ * burst / best;
  }

 private:
  Backend& backend_;
  int n_, species_;
  double dt_ = 0.0;
};

constexpr const char* race_scenario = R"TOML(
[scenario]
name = "gaussian_race"
description = "Gaussian pulse in a no-flux box (the benchmark race)"
[grid]
shape = [100, 100, 100]
spacing = "20 um"
[[species]]
name = "pulse"
diffusivity = "1000 um^2/s"
decay = "0.1 1/min"
boundary = { type = "no_flux" }
initial = { shape = "gaussian", center = ["1000 um", "1000 um", "1000 um"], sigma = "100 um", peak = "1 nM" }
[run]
duration = "60 s"
output_interval = "60 s"
stability_safety = 1.0
)TOML";

struct RaceResult {
  double seconds;
  double error;
  long steps;
};

RaceResult gaussian_race(Backend& backend, const std::vector<std::string>& overrides) {
  const Scenario scenario = parse_scenario(race_scenario, "<gaussian race>", overrides);
  const Problem problem = build_problem(scenario);
  Stepper stepper(scenario, problem, backend);
  const auto t0 = Clock::now();
  stepper.advance(scenario.run.duration_s);
  const double elapsed = seconds_since(t0);

  std::vector<float> c(std::size_t(problem.dims.size()));
  backend.get_concentration(0, c.data());
  const SpeciesSpec& sp = scenario.species[0];
  analytic::GaussianPulse exact;
  exact.centre = sp.initial.center_um;
  exact.sigma = sp.initial.sigma_um;
  exact.peak = sp.initial.peak_nM;
  exact.diffusivity = {sp.diffusivity_um2_per_s, sp.diffusivity_um2_per_s, sp.diffusivity_axial_um2_per_s};
  exact.decay = sp.decay_per_s;
  exact.hi = {2000, 2000, 2000};
  double diff2 = 0, norm2 = 0;
  const GridSpec& g = scenario.grid;
  std::size_t v = 0;
  for (int k = 0; k < g.shape[2]; ++k)
    for (int j = 0; j < g.shape[1]; ++j)
      for (int i = 0; i < g.shape[0]; ++i, ++v) {
        const double e = exact({(i + 0.5) * 20.0, (j + 0.5) * 20.0, (k + 0.5) * 20.0}, scenario.run.duration_s);
        diff2 += (c[v] - e) * (c[v] - e);
        norm2 += e * e;
      }
  return {elapsed, std::sqrt(diff2 / norm2), stepper.total_steps()};
}

// The solver benchmark problem: a 2.56 mm cube at n³ voxels holding an elliptic cylinder along z
// (semi-axes 1.08 × 0.77 mm, a rat lumbar cord's cross-section) with no-flux walls and a 250 µm
// sphere source off-centre, D = 3300 µm²/s, decay k = D/λ². The same problem as the Multigrid tests.
constexpr const char* cord_solver_scenario = R"TOML(
[scenario]
name = "cord_solver"
[grid]
shape = [{n}, {n}, {n}]
spacing = "{h} um"
[tissue]
shape = "elliptic_cylinder"
center = ["1280 um", "1280 um"]
semi_axes = ["1080 um", "770 um"]
[[species]]
name = "c"
diffusivity = "3300 um^2/s"
decay = "{k} 1/s"
[[source]]
species = "c"
shape = "sphere"
center = ["1024 um", "1152 um", "1280 um"]
radius = "250 um"
rate = "1 nM/s"
[run]
duration = "1 s"
output_interval = "1 s"
)TOML";

struct SolveTiming {
  LinearSolveReport report;
  double seconds;
  double explicit_sweep_seconds;  // one forward-Euler sweep of the same problem
  double stability_limit_s;
};

// One quasi-steady solve from c = 0 (multigrid hierarchy set-up included).
SolveTiming cord_solve(Backend& backend, int n, double decay, LinearSolverSettings::Preconditioner preconditioner,
                       bool time_explicit_sweep) {
  const std::string text = fmt::format(fmt::runtime(cord_solver_scenario), fmt::arg("n", n),
                                       fmt::arg("h", 2560.0 / n), fmt::arg("k", decay));
  const Scenario scenario = parse_scenario(text, "<cord solver benchmark>");
  const Problem problem = build_problem(scenario);
  Stepper stepper(scenario, problem, backend);  // forward Euler: uploads and assembles only
  LinearSolverSettings settings;
  settings.preconditioner = preconditioner;
  settings.max_iterations = 20000;
  const auto t0 = Clock::now();
  const LinearSolveReport report = backend.solve_quasi_steady(0, settings);
  const double seconds = seconds_since(t0);
  double sweep = 0.0;
  const double limit = backend.stability_limit(0);
  if (time_explicit_sweep) {
    const int sweeps = 10;
    const auto t1 = Clock::now();
    backend.step_explicit(0, 0.9 * limit, sweeps);
    sweep = seconds_since(t1) / sweeps;
  }
  return {report, seconds, sweep, limit};
}

// The largest step 60 s / n (n a whole number) whose race error is at most `bound`. The temporal
// error goes as Δt^order, so one run at n0 steps predicts n; n then grows by 5% until the bound
// holds and shrinks by 5% while it still does (the step found is within about 5% of the largest).
struct ImplicitRace {
  long steps;
  RaceResult result;
};

ImplicitRace largest_step_within(Backend& backend, const char* integrator, int order, double bound) {
  auto race = [&](long steps) {
    return gaussian_race(backend, {fmt::format("species.pulse.integrator=\"{}\"", integrator),
                                   fmt::format("species.pulse.time_step=\"{:.17g} s\"", 60.0 / double(steps))});
  };
  const long n0 = 8;
  const RaceResult first = race(n0);
  long n = std::max(1L, long(std::ceil(double(n0) * std::pow(first.error / bound, 1.0 / order))));
  RaceResult result = race(n);
  while (result.error > bound) {
    n = long(std::ceil(double(n) * 1.05));
    result = race(n);
  }
  for (;;) {
    const long fewer = long(std::floor(double(n) * 0.95));
    if (fewer < 1 || fewer == n) break;
    const RaceResult r = race(fewer);
    if (r.error > bound) break;
    n = fewer;
    result = r;
  }
  return {n, result};
}

void bench_solvers(Backend& backend, bool quick) {
  using Preconditioner = LinearSolverSettings::Preconditioner;
  fmt::print("\nImplicit solvers: quasi-steady -div(D grad c) + k c = S on a cord-like elliptic cylinder\n"
             "(2.56 mm cube, no-flux walls, D = 3300 um^2/s), from c = 0 to relative residual 1e-8\n");
  fmt::print("  {:>6} {:>9} {:>10} {:>12} {:>10} {:>12} {:>10}\n", "grid", "h (um)", "lambda", "Jacobi-CG it",
             "seconds", "MG-CG it", "seconds");
  const std::vector<int> sizes = quick ? std::vector<int>{32, 64} : std::vector<int>{64, 128, 256};
  for (double lambda : {60.0, 2000.0}) {
    for (int n : sizes) {
      const double decay = 3300.0 / (lambda * lambda);
      const SolveTiming jacobi = cord_solve(backend, n, decay, Preconditioner::jacobi, false);
      const SolveTiming multigrid = cord_solve(backend, n, decay, Preconditioner::multigrid, false);
      fmt::print("  {:>5}^3 {:>9.1f} {:>7.0f} um {:>12} {:>10.3f} {:>12} {:>10.3f}{}\n", n, 2560.0 / n, lambda,
                 jacobi.report.iterations, jacobi.seconds, multigrid.report.iterations, multigrid.seconds,
                 jacobi.report.converged && multigrid.report.converged ? "" : "  (NOT CONVERGED)");
    }
  }

  const int n = quick ? 64 : 256;
  const double no_decay = std::log(2.0);  // half-life 1 s: lambda = 69 um
  const SolveTiming no = cord_solve(backend, n, no_decay, Preconditioner::multigrid, true);
  // Explicit stepping from c = 0 approaches the steady state no slower than e^{-k t} (every mode
  // decays at least at the rate k), so reaching it within 1e-3 takes t = ln(1000)/k of steps at
  // the stability limit; the time is the measured sweep time times that many sweeps.
  const double explicit_steps = std::ceil(std::log(1000.0) / no_decay / (0.9 * no.stability_limit_s));
  const double explicit_seconds = explicit_steps * no.explicit_sweep_seconds;
  fmt::print("\nQuasi-steady NO (k = ln 2 / 1 s, lambda = 69 um) at {}^3 ({:.0f} um voxels), MG-CG: {} iterations, "
             "{:.2f} s\n  explicit stepping to the same steady state within 1e-3: {:.0f} forward-Euler sweeps "
             "x {:.3f} s = {:.1f} s (extrapolated from 10 timed sweeps), {:.0f}x the solve\n",
             n, 2560.0 / n, no.report.iterations, no.seconds, explicit_steps, no.explicit_sweep_seconds,
             explicit_seconds, explicit_seconds / no.seconds);

  fmt::print("\nGaussian race with implicit steps: the largest step 60 s / n keeping the error <= 5.9e-3\n");
  fmt::print("  {:<16} {:>8} {:>10} {:>14} {:>10} {:>12} {:>14}\n", "integrator", "steps", "step (s)",
             "CG iterations", "seconds", "rel. L2", "vs paraBioFVM");
  for (const auto& [integrator, order] : {std::pair<const char*, int>{"backward_euler", 1}, {"crank_nicolson", 2}}) {
    const ImplicitRace r = largest_step_within(backend, integrator, order, 5.9e-3);
    fmt::print("  {:<16} {:>8} {:>10.4g} {:>14} {:>10.3f} {:>12.3e} {:>13.2f}x\n", integrator, r.steps,
               60.0 / double(r.steps), r.result.steps, r.result.seconds, r.result.error, 0.54 / r.result.seconds);
  }
}

}  // namespace

int bench_command(const BenchOptions& options) {
  std::unique_ptr<Backend> backend = make_cpu_backend(options.threads);
  fmt::print("cordsim {} bench; back end: {}\n\n", build_info::version, backend->description());
  if (options.solvers) {
    bench_solvers(*backend, options.quick);
    return exit_ok;
  }

  const std::size_t triad_n = options.quick ? (std::size_t(1) << 22) : (std::size_t(1) << 26);
  Triad triad(triad_n);
  const double seconds = options.quick ? 0.05 : 0.5;
  const int rounds = options.quick ? 1 : 5;
  // Bytes streamed per voxel update: 7 values of the back end's storage type (kernels/cell/real.hpp).
  constexpr double bytes_per_update = 7.0 * double(sizeof(real));
  fmt::print("Explicit kernel, CPU back end (7 {} streamed per voxel update; STREAM counting).\n"
             "This machine is shared and noisy: each row alternates {} rounds of a triad (a = b + s*c,\n"
             "{} floats per array, best of 3) with the kernel (best burst of 4 sweeps within {} s),\n"
             "and reports the best figures and the median of the per-round ratios.\n",
             sizeof(real) == sizeof(float) ? "floats" : "doubles", rounds, triad_n, seconds);
  fmt::print("{:>8} {:>8} {:>16} {:>12} {:>12} {:>14}\n", "grid", "species", "voxel-upd/s", "kernel GB/s",
             "triad GB/s", "of triad");
  const std::vector<int> sizes = options.quick ? std::vector<int>{32, 64} : std::vector<int>{100, 128, 256};
  for (int n : sizes) {
    for (int species : {1, 6}) {
      ExplicitKernel kernel(*backend, n, species);
      double best_updates = 0, best_triad = 0;
      std::vector<double> ratios;
      for (int r = 0; r < rounds; ++r) {
        const double t = triad.bandwidth(3);
        const double u = kernel.updates_per_second(seconds);
        best_triad = std::max(best_triad, t);
        best_updates = std::max(best_updates, u);
        ratios.push_back(u * bytes_per_update / 1e9 / t);
      }
      std::sort(ratios.begin(), ratios.end());
      fmt::print("{:>7}^3 {:>8} {:>16.3e} {:>12.1f} {:>12.1f} {:>13.0f}%\n", n, species, best_updates,
                 best_updates * bytes_per_update / 1e9, best_triad, 100.0 * ratios[ratios.size() / 2]);
    }
  }
  fmt::print("(100^3 and 128^3 fields fit in this machine's last-level cache, so their ratio exceeds 100%;\n"
             " 256^3 is the memory-bound case the 70%-of-triad target is about.)\n");

  fmt::print("\nGaussian race (100^3 x 20 um, no-flux, D = 1000 um^2/s, k = 0.1/min, sigma = 100 um, 60 s):\n");
  fmt::print("  reference (2 OpenMP threads, same machines): BioFVM 3.2 s and paraBioFVM 0.54 s for 5.9e-3;\n"
             "  target <= 0.18 s at <= 5.9e-3\n");
  fmt::print("  {:<44} {:>8} {:>10} {:>12} {:>14}\n", "integrator", "sweeps", "seconds", "rel. L2", "vs paraBioFVM");
  const std::pair<const char*, std::vector<std::string>> variants[] = {
      {"forward Euler at the stability limit", {}},
      {"RKL2, 10 super-steps of 6 s (19 stages each)", {"species.pulse.integrator=\"rkl2\"", "species.pulse.time_step=\"6 s\""}},
      {"RKL2, 15 super-steps of 4 s", {"species.pulse.integrator=\"rkl2\"", "species.pulse.time_step=\"4 s\""}},
  };
  for (const auto& [label, overrides] : variants) {
    const RaceResult race = gaussian_race(*backend, overrides);
    fmt::print("  {:<44} {:>8} {:>10.3f} {:>12.3e} {:>13.2f}x\n", label, race.steps, race.seconds, race.error,
               0.54 / race.seconds);
  }
  fmt::print("\n(The implicit solvers are measured by `cordsim bench --solvers`, about 10 minutes on 2 cores.)\n");
  return exit_ok;
}

}  // namespace cordsim
