// `cordsim bench`: figures, not pass/fail. Prints
//   1. a STREAM-like triad (a = b + s·c) bandwidth on this machine, same run;
//   2. the explicit kernel: voxel updates per second and achieved bandwidth as a fraction of the
//      triad, at 100³ (cache-resident), 128³ and 256³, for 1 and 6 species;
//   3. the Gaussian race: 100³ voxels of 20 µm, no-flux walls, D = 1000 µm²/s, k = 0.1/min,
//      σ = 100 µm Gaussian, 60 s: stepping wall time and relative L2 error against the exact
//      (mirror-image) solution, beside BioFVM's 3.2 s and paraBioFVM's 0.54 s for 5.9e-3.
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

namespace cordsim {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best-of-N triad bandwidth (GB/s), counting 12 bytes per element as STREAM does.
double triad_bandwidth(std::size_t n, int repeats) {
  std::vector<float> a(n), b(n), c(n);
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = 0.f;
    b[i] = 1.f;
    c[i] = 2.f;
  }
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    const float s = 3.f;
    float* pa = a.data();
    const float* pb = b.data();
    const float* pc = c.data();
#pragma omp parallel for simd schedule(static)
    for (std::size_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
    best = std::min(best, seconds_since(t0));
  }
  if (a[n / 2] != 7.f) fmt::print("warning: triad result check failed\n");
  return 12.0 * double(n) / best / 1e9;
}

struct KernelFigure {
  double updates_per_s;
  double bandwidth_gb_s;
};

// Explicit forward-Euler sweeps over a full cube (all tissue, uniform coefficients) for `species`
// species. Each voxel update streams 7 floats: c, gx, gy, gz, diag, rhs in and c_next out.
KernelFigure explicit_kernel(Backend& backend, int n, int species, double min_seconds) {
  const GridDims dims{n, n, n};
  const std::size_t voxels = std::size_t(dims.size());
  const std::vector<std::uint8_t> tissue(voxels, 1);
  const std::vector<float> D(voxels, 1000.f), k(voxels, 1e-3f), S(voxels, 0.f), c0(voxels, 1.f);
  backend.initialise(dims, Spacing{{20.f, 20.f, 20.f}}, species, tissue.data());
  SpeciesCoefficients coefficients{{D.data(), D.data(), D.data()}, k.data(), S.data(), BoundaryParams{}};
  for (int s = 0; s < species; ++s) {
    backend.set_coefficients(s, coefficients);
    backend.set_concentration(s, c0.data());
  }
  const double dt = 0.9 * backend.stability_limit(0);
  for (int s = 0; s < species; ++s) backend.step_explicit(s, dt, 2);  // warm-up: first touch
  long sweeps = 0;
  const auto t0 = Clock::now();
  do {
    for (int s = 0; s < species; ++s) backend.step_explicit(s, dt, 5);
    sweeps += 5;
  } while (seconds_since(t0) < min_seconds);
  const double elapsed = seconds_since(t0);
  const double updates = double(voxels) * species * double(sweeps) / elapsed;
  return {updates, updates * 28.0 / 1e9};
}

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

}  // namespace

int bench_command(const BenchOptions& options) {
  std::unique_ptr<Backend> backend = make_cpu_backend(options.threads);
  fmt::print("cordsim {} bench; back end: {}\n\n", build_info::version, backend->description());

  const std::size_t triad_n = options.quick ? (std::size_t(1) << 22) : (std::size_t(1) << 26);
  const double triad = triad_bandwidth(triad_n, options.quick ? 3 : 10);
  fmt::print("STREAM-like triad a = b + s*c, {} floats per array: {:.1f} GB/s (best of runs)\n\n", triad_n, triad);

  fmt::print("Explicit kernel, CPU back end (7 floats streamed per voxel update):\n");
  fmt::print("{:>8} {:>8} {:>16} {:>12} {:>14}\n", "grid", "species", "voxel-upd/s", "GB/s", "of triad");
  const std::vector<int> sizes = options.quick ? std::vector<int>{32, 64} : std::vector<int>{100, 128, 256};
  for (int n : sizes) {
    for (int species : {1, 6}) {
      const KernelFigure f = explicit_kernel(*backend, n, species, options.quick ? 0.05 : 1.0);
      fmt::print("{:>7}^3 {:>8} {:>16.3e} {:>12.1f} {:>13.0f}%\n", n, species, f.updates_per_s,
                 f.bandwidth_gb_s, 100.0 * f.bandwidth_gb_s / triad);
    }
  }

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
  return exit_ok;
}

}  // namespace cordsim
