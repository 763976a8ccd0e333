// Multigrid-preconditioned CG (kernels/implicit_solver.hpp): the iteration count to a relative
// residual of 1e-8 stays flat under refinement, on a masked cord-like shape, for a short (NO-like,
// 60 µm) and a long (neurturin-like, 2 mm) diffusion length, from 64³ to 256³ (about 6 s each on
// 2 cores; `cordsim bench --solvers` prints the same table with Jacobi-CG and times).
#include <gtest/gtest.h>

#include <string>

#include "host/solver/stepper.hpp"
#include "problem_fixtures.hpp"

using namespace cordsim;

namespace {

// A 2.56 mm cube at n³ voxels holding an elliptic cylinder along z (semi-axes 1.08 × 0.77 mm, a
// rat lumbar cord's cross-section) with no-flux walls, and a 250 µm sphere source off-centre (a
// ventral horn). Quasi-steady: −∇·D∇c + k c = S with D = 3300 µm²/s and k = D/λ².
long quasi_steady_iterations(int n, double lambda_um, SpeciesSpec::Solver::Preconditioner preconditioner) {
  const double L = 2560.0, h = L / n, D = 3300.0;
  Scenario s = fixtures::box_scenario({n, n, n}, {h, h, h}, D, D, D / (lambda_um * lambda_um));
  s.tissue.shape = TissueSpec::Shape::elliptic_cylinder;
  s.tissue.center_um = {L / 2, L / 2, L / 2};
  s.tissue.semi_axes_um = {1080, 770, 0};
  s.species[0].integrator = SpeciesSpec::Integrator::quasi_steady;
  s.species[0].solver.preconditioner = preconditioner;
  s.species[0].solver.max_iterations = 5000;
  SourceSpec src;
  src.species = "c";
  src.shape = SourceSpec::Shape::sphere;
  src.center_um = {0.4 * L, 0.45 * L, 0.5 * L};
  src.radius_um = 250;
  src.rate_kind = SourceSpec::Rate::volumetric;
  src.rate = 1.0;
  s.sources.push_back(src);
  const Problem p = build_problem(s);
  auto backend = make_cpu_backend(0);
  const Stepper stepper(s, p, *backend);
  const LinearSolveReport& report = stepper.species_info()[0].last_solve;
  EXPECT_TRUE(report.converged);
  EXPECT_LE(report.relative_residual, 1e-8);
  return report.iterations;
}

void expect_flat(double lambda_um) {
  using P = SpeciesSpec::Solver::Preconditioner;
  const long n64 = quasi_steady_iterations(64, lambda_um, P::multigrid);
  const long n128 = quasi_steady_iterations(128, lambda_um, P::multigrid);
  const long n256 = quasi_steady_iterations(256, lambda_um, P::multigrid);
  const long jacobi64 = quasi_steady_iterations(64, lambda_um, P::jacobi);
  std::printf("lambda = %g um: MG-CG iterations to 1e-8 at 64^3/128^3/256^3: %ld %ld %ld (Jacobi-CG at 64^3: %ld)\n",
              lambda_um, n64, n128, n256, jacobi64);
  const std::string lambda = std::to_string(int(lambda_um)) + " um";
  fixtures::report("MG-CG iterations at 128^3 / at 64^3, lambda " + lambda, double(n128) / double(n64), "0.7 .. 1.3");
  fixtures::report("MG-CG iterations at 256^3 / at 64^3, lambda " + lambda, double(n256) / double(n64), "0.7 .. 1.3");
  EXPECT_NEAR(double(n128) / double(n64), 1.0, 0.3);
  EXPECT_NEAR(double(n256) / double(n64), 1.0, 0.3);
  EXPECT_LT(3 * n64, jacobi64);
}

}  // namespace

TEST(Multigrid, IterationsFlatUnderRefinementForNitricOxideLength) { expect_flat(60.0); }

TEST(Multigrid, IterationsFlatUnderRefinementForNeurturinLength) { expect_flat(2000.0); }
