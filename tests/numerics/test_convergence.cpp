// Spatial convergence order under refinement with anisotropic diffusivity (D_z ≠ D_x): a Gaussian
// pulse in the x–z plane, h = 20, 10, 5 µm, time step a fixed fraction of the stability limit
// (∝ h², so the first-order time error is O(h²) too). The error must fall as h².
#include <gtest/gtest.h>

#include <cmath>

#include "host/solver/stepper.hpp"
#include "host/verification/analytic.hpp"
#include "problem_fixtures.hpp"

using namespace cordsim;

namespace {

double pulse_error(double h) {
  const int n = int(std::lround(640.0 / h));
  Scenario s = fixtures::box_scenario({n, 1, n}, {h, h, h}, 1000, 2500, 0.0);
  auto& init = s.species[0].initial;
  init.shape = InitialFieldSpec::Shape::gaussian;
  init.center_um = {330, 0.5 * h, 310};  // the single y layer's centre
  init.sigma_um = 70;
  init.peak_nM = 1.0;
  s.run.stability_safety = 0.5;
  const double t = 4.0;
  const Problem p = build_problem(s);
  auto backend = make_cpu_backend(0);
  Stepper stepper(s, p, *backend);
  stepper.advance(t);
  std::vector<float> c(p.tissue.size());
  backend->get_concentration(0, c.data());
  analytic::GaussianPulse exact;
  exact.centre = init.center_um;
  exact.sigma = 70;
  exact.diffusivity = {1000, 0, 2500};  // no spreading along the single y layer
  exact.lo = {0, -1e9, 0};  // no images along the single y layer
  exact.hi = {640, 1e9, 640};
  return fixtures::relative_l2(s, c, [&](const std::array<double, 3>& x) {
    // The y factor is identically 1 (a uniform layer): evaluate the x–z pulse only.
    return exact({x[0], init.center_um[1], x[2]}, t);
  });
}

}  // namespace

TEST(Convergence, SpatialOrderTwoWithAnisotropicDiffusivity) {
  const double e20 = pulse_error(20), e10 = pulse_error(10), e5 = pulse_error(5);
  const double order_coarse = std::log2(e20 / e10), order_fine = std::log2(e10 / e5);
  fixtures::report("relative L2 error, h = 20 um", e20, "-");
  fixtures::report("relative L2 error, h = 10 um", e10, "-");
  fixtures::report("relative L2 error, h = 5 um", e5, "-");
  fixtures::report("observed order, 20 -> 10 um", order_coarse, "2 +- 0.2");
  fixtures::report("observed order, 10 -> 5 um", order_fine, "2 +- 0.1");
  EXPECT_NEAR(order_fine, 2.0, 0.1);
  EXPECT_NEAR(order_coarse, 2.0, 0.2);
}
