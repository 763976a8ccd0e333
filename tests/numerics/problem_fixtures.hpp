#pragma once
// Small programmatic scenarios for the numerics tests (no scenario file needed), and helpers to
// run them on the CPU back end and compare with exact solutions.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <functional>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/model/problem.hpp"
#include "host/verification/analytic.hpp"
#include "kernels/backend.hpp"
#include "tests/support/report.hpp"

namespace cordsim::fixtures {

using test::report;  // tests/support/report.hpp

// The bound of the mass-conservation tests: float32 round-off, or in a CORDSIM_DOUBLE build
// (float64 storage, kernels/cell/real.hpp) float64 round-off with a wide margin, so that the
// verification build checks that it really conserves to float64 precision (measured: ≤ 7e-16).
inline constexpr bool float64_storage = sizeof(real) == sizeof(double);
inline constexpr double conservation_bound = float64_storage ? 1e-12 : 1e-6;
inline const char* const conservation_bound_text = float64_storage ? "< 1e-12" : "< 1e-6";

inline Scenario box_scenario(std::array<int, 3> shape, std::array<double, 3> spacing_um, double D,
                             double D_axial, double decay, BoundarySpec::Kind bc = BoundarySpec::Kind::no_flux) {
  Scenario s;
  s.file = "<test>";
  s.name = "test";
  s.grid.shape = shape;
  s.grid.spacing_um = spacing_um;
  SpeciesSpec sp;
  sp.name = "c";
  sp.diffusivity_um2_per_s = D;
  sp.diffusivity_axial_um2_per_s = D_axial;
  sp.decay_per_s = decay;
  sp.boundary.kind = bc;
  s.species.push_back(sp);
  s.run.duration_s = 1.0;
  s.run.output_interval_s = 1.0;
  return s;
}

// Centre of voxel (i, j, k) in µm for a grid with origin 0.
inline std::array<double, 3> centre(const Scenario& s, int i, int j, int k) {
  return {(i + 0.5) * s.grid.spacing_um[0], (j + 0.5) * s.grid.spacing_um[1], (k + 0.5) * s.grid.spacing_um[2]};
}

// Relative L2 difference ‖c − exact‖ / ‖exact‖ over voxels accepted by `use`.
inline double relative_l2(const Scenario& s, const std::vector<float>& c,
                          const std::function<double(const std::array<double, 3>&)>& exact,
                          const std::function<bool(const std::array<double, 3>&)>& use = nullptr) {
  double diff2 = 0.0, norm2 = 0.0;
  std::size_t v = 0;
  for (int k = 0; k < s.grid.shape[2]; ++k)
    for (int j = 0; j < s.grid.shape[1]; ++j)
      for (int i = 0; i < s.grid.shape[0]; ++i, ++v) {
        const auto x = centre(s, i, j, k);
        if (use && !use(x)) continue;
        const double e = exact(x);
        diff2 += (double(c[v]) - e) * (double(c[v]) - e);
        norm2 += e * e;
      }
  return std::sqrt(diff2 / norm2);
}

// The 1-D no-flux cosine eigenmode used for temporal-order tests: 40 voxels of 10 µm along x,
// D = 2000 µm²/s, k = 0.02/s, c0 = cos(2π x / L).
inline Scenario cosine_mode_scenario() {
  Scenario s = box_scenario({40, 1, 1}, {10, 10, 10}, 2000, 2000, 0.02);
  s.species[0].initial.shape = InitialFieldSpec::Shape::cosine;
  s.species[0].initial.amplitude_nM = 1.0;
  s.species[0].initial.modes = {2, 0, 0};
  return s;
}

// |A(t) − exp(−λ_h t)| for the field c of cosine_mode_scenario at time t: A is the least-squares
// amplitude of the mode in c, λ_h the discrete eigenvalue D (2/h²)(1 − cos kh) + decay. What
// remains is the time integrator's own error.
inline double cosine_mode_decay_error(const Scenario& s, const Problem& p, const std::vector<float>& c, double t) {
  constexpr double pi = 3.14159265358979323846;
  const int nx = s.grid.shape[0];
  const double h = s.grid.spacing_um[0];
  const double k = pi * s.species[0].initial.modes[0] / (nx * h);
  const double lambda_h = s.species[0].diffusivity_um2_per_s * 2.0 / (h * h) * (1.0 - std::cos(k * h)) +
                          s.species[0].decay_per_s;
  double num = 0, den = 0;
  for (int i = 0; i < nx; ++i) {
    const double mode = p.species[0].initial[std::size_t(i)];
    num += c[std::size_t(i)] * mode;
    den += mode * mode;
  }
  return std::abs(num / den - std::exp(-lambda_h * t));
}

// The Gaussian pulse of the heat-kernel tests: 64³ voxels of 10 µm, no-flux walls, D = 1000 µm²/s,
// k = 0.05/s, σ = 60 µm.
inline Scenario gaussian_pulse_scenario() {
  Scenario s = box_scenario({64, 64, 64}, {10, 10, 10}, 1000, 1000, 0.05);
  auto& init = s.species[0].initial;
  init.shape = InitialFieldSpec::Shape::gaussian;
  init.center_um = {320, 300, 340};
  init.sigma_um = 60;
  init.peak_nM = 1.0;
  return s;
}

// The exact solution of a Gaussian-pulse scenario of species 0 (mirror images for the walls of a
// grid with origin 0).
inline analytic::GaussianPulse exact_pulse(const Scenario& s) {
  const SpeciesSpec& sp = s.species[0];
  analytic::GaussianPulse exact;
  exact.centre = sp.initial.center_um;
  exact.sigma = sp.initial.sigma_um;
  exact.peak = sp.initial.peak_nM;
  exact.diffusivity = {sp.diffusivity_um2_per_s, sp.diffusivity_um2_per_s, sp.diffusivity_axial_um2_per_s};
  exact.decay = sp.decay_per_s;
  for (std::size_t d = 0; d < 3; ++d) exact.hi[d] = s.grid.shape[d] * s.grid.spacing_um[d];
  return exact;
}

}  // namespace cordsim::fixtures
