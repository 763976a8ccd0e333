// Mass conservation with no-flux walls on an irregular, masked tissue shape with heterogeneous,
// anisotropic diffusivity: the flux form with symmetric face conductances moves mass between
// voxels without creating or destroying it.
#include <gtest/gtest.h>

#include <cmath>

#include "host/solver/stepper.hpp"
#include "problem_fixtures.hpp"

using namespace cordsim;

TEST(Conservation, NoFluxIrregularMaskThousandSteps) {
  Scenario s = fixtures::box_scenario({41, 37, 29}, {10, 10, 15}, 1000, 1900, 0.0);
  Problem p = build_problem(s);
  // Irregular tissue: a lumpy ellipsoid with a central canal removed and pseudo-random notches.
  std::size_t v = 0;
  for (int k = 0; k < 29; ++k)
    for (int j = 0; j < 37; ++j)
      for (int i = 0; i < 41; ++i, ++v) {
        const double x = (i - 20) / 19.0, y = (j - 18) / 16.0, z = (k - 14) / 13.0;
        const double lump = 0.15 * std::sin(5 * x) * std::cos(4 * y + z);
        const bool canal = (i - 20) * (i - 20) + (j - 18) * (j - 18) <= 4;
        const bool notch = ((unsigned(i) * 73856093u) ^ (unsigned(j) * 19349663u) ^ (unsigned(k) * 83492791u)) % 11u == 0u;
        p.tissue[v] = (x * x + y * y + z * z <= 1.0 + lump) && !canal && !notch;
      }
  // Gray/white-like heterogeneity: a different D in the inner region.
  SpeciesProblem& c = p.species[0];
  v = 0;
  for (int k = 0; k < 29; ++k)
    for (int j = 0; j < 37; ++j)
      for (int i = 0; i < 41; ++i, ++v) {
        const bool inner = std::abs(i - 20) < 8 && std::abs(j - 18) < 9;
        c.diffusivity[0][v] = c.diffusivity[1][v] = inner ? 400.f : 1000.f;
        c.diffusivity[2][v] = inner ? 400.f : 1900.f;
        c.initial[v] = p.tissue[v] ? float(1.0 + std::sin(0.3 * i) * std::cos(0.2 * j + 0.1 * k) +
                                           (((i * 31 + j * 17 + k * 7) % 13) / 13.0))
                                   : 0.f;
      }
  auto backend = make_cpu_backend(0);
  Stepper stepper(s, p, *backend);
  const double before = backend->total_amount(0);
  const double dt = 0.9 * backend->stability_limit(0);
  backend->step_explicit(0, dt, 1000);
  const double after = backend->total_amount(0);
  const double relative_change = std::abs(after - before) / before;
  fixtures::report("relative mass change after 1000 steps", relative_change, fixtures::conservation_bound_text);
  EXPECT_LT(relative_change, fixtures::conservation_bound) << "before " << before << " after " << after;
  // The field really moved: not a trivially conserved static state.
  std::vector<float> end(p.tissue.size());
  backend->get_concentration(0, end.data());
  double moved = 0, initial_sum = 0;
  for (std::size_t w = 0; w < end.size(); ++w) {
    moved += std::abs(end[w] - c.initial[w]);
    initial_sum += c.initial[w];
  }
  EXPECT_GT(moved / initial_sum, 0.05);
}
