#pragma once
// Exact solutions of dc/dt = D ∇²c − k c used to verify the solvers (tests, `cordsim bench`).
#include <array>

namespace cordsim::analytic {

// A Gaussian pulse c(x, 0) = peak · exp(−|x − x0|² / (2σ²)) with diagonal diffusivity D_d and
// decay k, inside a box [lo_d, hi_d] with no-flux walls:
//   c(x, t) = peak · e^{−k t} · Π_d (σ/σ_d) Σ_images exp(−(x_d − image)² / (2 σ_d²)),
//   σ_d² = σ² + 2 D_d t, images at x0_d + 2nL_d and 2lo_d − x0_d + 2nL_d (mirror images make
//   the normal derivative vanish at both walls).
struct GaussianPulse {
  std::array<double, 3> centre{0, 0, 0};
  double sigma = 0.0;
  double peak = 1.0;
  std::array<double, 3> diffusivity{0, 0, 0};
  double decay = 0.0;
  std::array<double, 3> lo{0, 0, 0};
  std::array<double, 3> hi{0, 0, 0};
  int images = 3;  // images on each side per axis; 0 = free space

  double operator()(const std::array<double, 3>& x, double t) const;
};

// Steady state around a point source of rate Q (amount/time) in an infinite medium with
// diffusivity D and decay k: c(r) = Q / (4π D r) · exp(−r / λ), λ = √(D / k).
double point_source_steady(double rate, double diffusivity, double decay, double r);

}  // namespace cordsim::analytic
