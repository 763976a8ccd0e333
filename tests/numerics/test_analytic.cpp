// The explicit solver against exact solutions of dc/dt = ∇·(D∇c) − k c + S.
#include <gtest/gtest.h>

#include <cmath>

#include "host/solver/stepper.hpp"
#include "host/verification/analytic.hpp"
#include "problem_fixtures.hpp"

using namespace cordsim;

namespace {
constexpr double pi = 3.14159265358979323846;

std::vector<float> run_to(const Scenario& s, const Problem& p, double t) {
  auto backend = make_cpu_backend(0);
  Stepper stepper(s, p, *backend);
  stepper.advance(t);
  std::vector<float> c(p.tissue.size());
  backend->get_concentration(0, c.data());
  return c;
}
}  // namespace

// c = A cos(k_x x) cos(k_y y) with no-flux walls decays as exp(−(D k² + decay) t).
TEST(AnalyticSolution, CosineModeDecay) {
  Scenario s = fixtures::box_scenario({48, 40, 4}, {10, 10, 10}, 1000, 1000, 0.01);
  s.species[0].initial.shape = InitialFieldSpec::Shape::cosine;
  s.species[0].initial.amplitude_nM = 2.0;
  s.species[0].initial.modes = {1, 1, 0};
  s.run.time_step_s = 0.002;
  const double kx = pi / 480.0, ky = pi / 400.0;
  const double rate = 1000.0 * (kx * kx + ky * ky) + 0.01;
  const double t = 1.0 / rate;  // one e-folding
  const Problem p = build_problem(s);
  const std::vector<float> c = run_to(s, p, t);
  const double expected = std::exp(-rate * t);
  // The decay factor seen at every voxel: c / c0.
  double worst = 0.0;
  for (std::size_t v = 0; v < c.size(); ++v) {
    if (std::abs(p.species[0].initial[v]) < 0.2) continue;  // skip the nodal lines
    worst = std::max(worst, std::abs(c[v] / p.species[0].initial[v] / expected - 1.0));
  }
  fixtures::report("worst relative error of the decay factor", worst, "< 1e-3");
  EXPECT_LT(worst, 1e-3);
}

// c = A sin(π x / L) with Dirichlet c = 0 on the walls (the half-cell boundary conductance makes
// this an exact discrete eigenvector too) decays as exp(−D (π/L)² t).
TEST(AnalyticSolution, DirichletSineModeDecay) {
  Scenario s = fixtures::box_scenario({64, 1, 1}, {10, 10, 10}, 500, 500, 0.0, BoundarySpec::Kind::dirichlet);
  // The y and z faces are grid faces with the same Dirichlet condition, so make them far away
  // in conductance terms: a very wide voxel along y and z.
  s.grid.spacing_um = {10, 1e6, 1e6};
  s.run.time_step_s = 0.005;
  Problem p = build_problem(s);
  const double L = 640.0, k = pi / L;
  for (int i = 0; i < 64; ++i) p.species[0].initial[std::size_t(i)] = float(std::sin(k * (i + 0.5) * 10.0));
  const double rate = 500.0 * k * k;
  const double t = 1.0 / rate;
  const std::vector<float> c = run_to(s, p, t);
  double worst = 0.0;
  for (int i = 8; i < 56; ++i)
    worst = std::max(worst, std::abs(c[std::size_t(i)] / p.species[0].initial[std::size_t(i)] / std::exp(-rate * t) - 1.0));
  fixtures::report("worst relative error of the decay factor", worst, "< 1e-3");
  EXPECT_LT(worst, 1e-3);
}

// A Gaussian pulse against the heat kernel (with mirror images for the no-flux walls).
TEST(AnalyticSolution, GaussianPulseMatchesHeatKernel) {
  const Scenario s = fixtures::gaussian_pulse_scenario();
  const double t = 3.0;
  const Problem p = build_problem(s);
  const std::vector<float> c = run_to(s, p, t);
  const analytic::GaussianPulse exact = fixtures::exact_pulse(s);
  const double error = fixtures::relative_l2(s, c, [&](const std::array<double, 3>& x) { return exact(x, t); });
  fixtures::report("relative L2 error", error, "< 3e-3");
  // Second-order truncation h²/(12σ_t²)·O(1) with σ_t ≈ 100 µm, h = 10 µm: a few 1e-3.
  EXPECT_LT(error, 3e-3);
}

// Steady state around a point source with decay: c(r) = Q/(4πDr)·exp(−r/λ), λ = √(D/k),
// compared away from the source (r ≥ 3h) where the 7-point stencil resolves it.
TEST(AnalyticSolution, PointSourceWithDecaySteadyState) {
  Scenario s = fixtures::box_scenario({49, 49, 49}, {10, 10, 10}, 1000, 1000, 0.4, BoundarySpec::Kind::dirichlet);
  SourceSpec src;
  src.species = "c";
  src.shape = SourceSpec::Shape::point;
  src.center_um = {245, 245, 245};
  src.rate_kind = SourceSpec::Rate::total;
  src.rate = 1e6;  // 1 amol/s
  s.sources.push_back(src);
  const Problem p = build_problem(s);
  const std::vector<float> c = run_to(s, p, 30.0);  // 12 decay times: steady to e^-12
  const double lambda = std::sqrt(1000.0 / 0.4);
  auto radius = [](const std::array<double, 3>& x) {
    return std::sqrt((x[0] - 245) * (x[0] - 245) + (x[1] - 245) * (x[1] - 245) + (x[2] - 245) * (x[2] - 245));
  };
  const double error = fixtures::relative_l2(
      s, c, [&](const std::array<double, 3>& x) { return analytic::point_source_steady(1e6, 1000, 0.4, radius(x)); },
      [&](const std::array<double, 3>& x) { return radius(x) >= 30.0 && radius(x) <= 3 * lambda; });
  fixtures::report("relative L2 error for 3h <= r <= 3 lambda", error, "< 2e-2");
  EXPECT_LT(error, 0.02);
}

// Robin boundaries: a slab 0 < x < L with uniform source S, no decay, −D ∂c/∂n = P (c − c_b) on
// both walls, has the steady state c(x) = S x (L − x) / (2D) + S L / (2P) + c_b. The y and z
// faces are made negligible by very wide voxels along y and z.
TEST(AnalyticSolution, RobinSlabSteadyState) {
  const double L = 500.0, h = 5.0, D = 1000.0, P = 2.0, S = 0.01, cb = 0.3;
  Scenario s = fixtures::box_scenario({int(L / h), 1, 1}, {h, 1e7, 1e7}, D, D, 0.0, BoundarySpec::Kind::robin);
  s.species[0].boundary.permeability_um_per_s = P;
  s.species[0].boundary.value_nM = cb;
  s.species[0].integrator = SpeciesSpec::Integrator::rkl2;
  s.species[0].time_step_s = 2.0;
  SourceSpec src;
  src.species = "c";
  src.shape = SourceSpec::Shape::box;
  src.box_min_um = {0, 0, 0};
  src.box_max_um = {L, 1e7, 1e7};
  src.rate_kind = SourceSpec::Rate::volumetric;
  src.rate = S;
  s.sources.push_back(src);
  const Problem p = build_problem(s);
  // Slowest mode: cos-like with rate ≈ D (π/L)² ≈ 0.04/s (Robin walls are nearly no-flux here):
  // 1500 s leaves e^-60 of the initial transient.
  const std::vector<float> c = run_to(s, p, 1500.0);
  const double error = fixtures::relative_l2(s, c, [&](const std::array<double, 3>& x) {
    return S * x[0] * (L - x[0]) / (2 * D) + S * L / (2 * P) + cb;
  });
  fixtures::report("relative L2 error", error, "< 1e-3");
  EXPECT_LT(error, 1e-3);
}
