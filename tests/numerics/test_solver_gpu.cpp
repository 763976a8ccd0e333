// CPU versus CUDA: the implicit solves give the same fields voxel by voxel on both back ends.
// Skips (with the reason) where no CUDA device is present; runs on any GPU node.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "host/solver/stepper.hpp"
#include "problem_fixtures.hpp"

using namespace cordsim;

namespace {

// A masked, anisotropic problem with a source, Robin walls and a Gaussian start.
Scenario agreement_scenario(SpeciesSpec::Integrator integrator) {
  Scenario s = fixtures::box_scenario({45, 37, 29}, {10, 10, 20}, 900, 2000, 0.2, BoundarySpec::Kind::robin);
  s.species[0].boundary.permeability_um_per_s = 3.0;
  s.species[0].boundary.value_nM = 0.2;
  s.tissue.shape = TissueSpec::Shape::elliptic_cylinder;
  s.tissue.center_um = {225, 185, 290};
  s.tissue.semi_axes_um = {200, 150, 0};
  s.species[0].initial.shape = InitialFieldSpec::Shape::gaussian;
  s.species[0].initial.center_um = {200, 170, 300};
  s.species[0].initial.sigma_um = 60;
  s.species[0].initial.peak_nM = 2.0;
  s.species[0].integrator = integrator;
  if (integrator != SpeciesSpec::Integrator::quasi_steady) s.species[0].time_step_s = 0.5;
  SourceSpec src;
  src.species = "c";
  src.shape = SourceSpec::Shape::sphere;
  src.center_um = {250, 200, 250};
  src.radius_um = 50;
  src.rate_kind = SourceSpec::Rate::volumetric;
  src.rate = 2.0;
  s.sources.push_back(src);
  s.run.output_interval_s = 2.0;
  return s;
}

std::vector<float> solve_on(Backend& backend, const Scenario& s, const Problem& p) {
  Stepper stepper(s, p, backend);
  stepper.advance(2.0);
  std::vector<float> c(p.tissue.size());
  backend.get_concentration(0, c.data());
  return c;
}

void expect_agreement(SpeciesSpec::Integrator integrator) {
  if (cuda_device_count() == 0) {
    GTEST_SKIP() << (cuda_backend_built() ? "no CUDA device is available to this process"
                                          : "this build has no CUDA back end")
                 << ": the CPU-versus-CUDA comparison runs on a GPU node";
  }
  const Scenario s = agreement_scenario(integrator);
  const Problem p = build_problem(s);
  auto cpu = make_cpu_backend(0);
  auto cuda = make_cuda_backend(0);
  const std::vector<float> a = solve_on(*cpu, s, p), b = solve_on(*cuda, s, p);
  // Both solve to a relative residual of 1e-8 in float64 and store float32; the back ends differ
  // only in rounding (FMA contraction), far below 1e-5 of the field's scale.
  float scale = 0.f;
  for (float v : a) scale = std::max(scale, std::abs(v));
  for (std::size_t v = 0; v < a.size(); ++v) {
    ASSERT_LE(std::abs(a[v] - b[v]), 1e-5f * scale)
        << "first differing voxel " << v << " (i = " << v % 45 << ", j = " << v / 45 % 37 << ", k = " << v / (45 * 37)
        << "): cpu " << a[v] << ", cuda " << b[v];
  }
}

}  // namespace

TEST(SolverGpu, CrankNicolsonAgreesVoxelByVoxel) { expect_agreement(SpeciesSpec::Integrator::crank_nicolson); }

TEST(SolverGpu, QuasiSteadyAgreesVoxelByVoxel) { expect_agreement(SpeciesSpec::Integrator::quasi_steady); }
