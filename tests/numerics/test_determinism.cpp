// Fields and totals are bitwise identical for any number of OpenMP threads.
#include <gtest/gtest.h>

#include <cstring>

#include "host/solver/stepper.hpp"
#include "problem_fixtures.hpp"

using namespace cordsim;

namespace {
struct Outcome {
  std::vector<float> field;
  double total;
};

Outcome run_with_threads(int threads) {
  Scenario s = fixtures::box_scenario({37, 29, 23}, {10, 10, 20}, 800, 1500, 0.3, BoundarySpec::Kind::robin);
  s.species[0].boundary.permeability_um_per_s = 2.0;
  s.species[0].boundary.value_nM = 0.5;
  s.tissue.shape = TissueSpec::Shape::ellipsoid;
  s.tissue.center_um = {185, 145, 230};
  s.tissue.semi_axes_um = {170, 130, 220};
  auto& init = s.species[0].initial;
  init.shape = InitialFieldSpec::Shape::gaussian;
  init.center_um = {150, 140, 200};
  init.sigma_um = 50;
  init.peak_nM = 3.0;
  SourceSpec src;
  src.species = "c";
  src.shape = SourceSpec::Shape::sphere;
  src.center_um = {200, 150, 250};
  src.radius_um = 40;
  src.rate_kind = SourceSpec::Rate::volumetric;
  src.rate = 1.5;
  s.sources.push_back(src);
  const Problem p = build_problem(s);
  auto backend = make_cpu_backend(threads);
  Stepper stepper(s, p, *backend);
  stepper.advance(2.0);
  Outcome o{std::vector<float>(p.tissue.size()), backend->total_amount(0)};
  backend->get_concentration(0, o.field.data());
  return o;
}
}  // namespace

TEST(Determinism, BitwiseIdenticalForOneTwoAndFiveThreads) {
  const Outcome one = run_with_threads(1), two = run_with_threads(2), five = run_with_threads(5);
  ASSERT_EQ(one.field.size(), two.field.size());
  EXPECT_EQ(std::memcmp(one.field.data(), two.field.data(), one.field.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(one.field.data(), five.field.data(), one.field.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(&one.total, &two.total, sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&one.total, &five.total, sizeof(double)), 0);
}
