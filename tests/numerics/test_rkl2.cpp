// RKL2 super-time-stepping (kernels/cell/rkl2.hpp): second order in time, conservative, and
// accurate at super-steps far beyond the forward-Euler limit.
#include <gtest/gtest.h>

#include <cmath>

#include "host/solver/stepper.hpp"
#include "host/verification/analytic.hpp"
#include "kernels/cell/rkl2.hpp"
#include "problem_fixtures.hpp"

using namespace cordsim;

namespace {
// The decay-factor error of the cosine eigenmode after T = 8 s in n RKL2 super-steps.
double cosine_mode_error(int steps, int* stages_used) {
  const double T = 8.0;
  const Scenario s = fixtures::cosine_mode_scenario();
  const Problem p = build_problem(s);
  auto backend = make_cpu_backend(0);
  Stepper stepper(s, p, *backend);
  const double tau = T / steps;
  const int stages = rkl2_stages_for(tau, backend->stability_limit(0));
  *stages_used = stages;
  backend->step_rkl2(0, tau, stages, steps);
  std::vector<float> c(p.tissue.size());
  backend->get_concentration(0, c.data());
  return fixtures::cosine_mode_decay_error(s, p, c, T);
}
}  // namespace

TEST(Rkl2, SecondOrderInTime) {
  int s8, s16, s32;
  const double e8 = cosine_mode_error(8, &s8), e16 = cosine_mode_error(16, &s16), e32 = cosine_mode_error(32, &s32);
  const double order_coarse = std::log2(e8 / e16), order_fine = std::log2(e16 / e32);
  fixtures::report("decay-factor error, 8 super-steps of " + std::to_string(s8) + " stages", e8, "-");
  fixtures::report("decay-factor error, 16 super-steps of " + std::to_string(s16) + " stages", e16, "-");
  fixtures::report("decay-factor error, 32 super-steps of " + std::to_string(s32) + " stages", e32, "-");
  fixtures::report("observed order, 8 -> 16 steps", order_coarse, "2 +- 0.3");
  fixtures::report("observed order, 16 -> 32 steps", order_fine, "2 +- 0.25");
  EXPECT_GE(s32, 6);  // even the finest run takes super-steps well beyond the forward-Euler limit
  EXPECT_NEAR(order_fine, 2.0, 0.25);
  EXPECT_NEAR(order_coarse, 2.0, 0.3);
}

TEST(Rkl2, ConservesMassOnMaskedNoFluxDomain) {
  Scenario s = fixtures::box_scenario({31, 27, 19}, {10, 10, 20}, 1000, 1900, 0.0);
  s.tissue.shape = TissueSpec::Shape::ellipsoid;
  s.tissue.center_um = {150, 130, 190};
  s.tissue.semi_axes_um = {140, 120, 170};
  auto& init = s.species[0].initial;
  init.shape = InitialFieldSpec::Shape::gaussian;
  init.center_um = {120, 140, 170};
  init.sigma_um = 30;
  init.peak_nM = 5.0;
  init.value_nM = 1.0;
  const Problem p = build_problem(s);
  auto backend = make_cpu_backend(0);
  Stepper stepper(s, p, *backend);
  const double before = backend->total_amount(0);
  const double tau = 40 * backend->stability_limit(0);
  backend->step_rkl2(0, tau, rkl2_stages_for(tau, backend->stability_limit(0)), 25);
  const double after = backend->total_amount(0);
  fixtures::report("relative mass change after 25 super-steps", std::abs(after - before) / before,
                   fixtures::conservation_bound_text);
  EXPECT_LT(std::abs(after - before) / before, fixtures::conservation_bound) << before << " -> " << after;
}

// The Gaussian pulse of the heat-kernel test, in 0.375 s super-steps (≈ 22 forward-Euler limits).
TEST(Rkl2, GaussianPulseWithSuperStepsMatchesHeatKernel) {
  Scenario s = fixtures::gaussian_pulse_scenario();
  s.species[0].integrator = SpeciesSpec::Integrator::rkl2;
  s.species[0].time_step_s = 0.375;
  s.run.output_interval_s = 3.0;
  const double t = 3.0;
  const Problem p = build_problem(s);
  auto backend = make_cpu_backend(0);
  Stepper stepper(s, p, *backend);
  EXPECT_GT(stepper.species_info()[0].step_s / stepper.species_info()[0].stability_limit_s, 20.0);
  stepper.advance(t);
  std::vector<float> c(p.tissue.size());
  backend->get_concentration(0, c.data());
  const analytic::GaussianPulse exact = fixtures::exact_pulse(s);
  const double error = fixtures::relative_l2(s, c, [&](const std::array<double, 3>& x) { return exact(x, t); });
  fixtures::report("relative L2 error, 0.375 s super-steps of " + std::to_string(stepper.species_info()[0].stages) +
                       " stages",
                   error, "< 5e-3");
  EXPECT_LT(error, 5e-3);
}
