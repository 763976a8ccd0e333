// A decomposed run builds the per-species arrays of its own planes only (build_problem_grid +
// build_problem_planes, host/model/problem.hpp): they must equal, bit for bit, the same planes of
// the whole problem (slice_planes(build_problem(...))), for every kind of initial field, source and
// white-matter diffusivity, on slabs that cut through sources and the cord.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/geometry/geometry.hpp"
#include "host/model/problem.hpp"
#include "host/parallel/decomposition.hpp"

using namespace cordsim;

namespace {

const std::string kSource = CORDSIM_SOURCE_DIR;

void expect_same(const Problem& a, const Problem& b, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(a.dims.nx, b.dims.nx);
  EXPECT_EQ(a.dims.ny, b.dims.ny);
  EXPECT_EQ(a.dims.nz, b.dims.nz);
  EXPECT_EQ(a.tissue, b.tissue);
  ASSERT_EQ(a.species.size(), b.species.size());
  for (std::size_t s = 0; s < a.species.size(); ++s) {
    const SpeciesProblem &x = a.species[s], &y = b.species[s];
    EXPECT_EQ(x.name, y.name);
    for (int d = 0; d < 3; ++d) EXPECT_EQ(x.diffusivity[std::size_t(d)], y.diffusivity[std::size_t(d)]) << x.name;
    EXPECT_EQ(x.decay, y.decay) << x.name;
    EXPECT_EQ(x.source, y.source) << x.name;
    EXPECT_EQ(x.initial, y.initial) << x.name;
    EXPECT_EQ(x.boundary.kind, y.boundary.kind) << x.name;
  }
}

// Every slab of 1, 2, 3 and 4 ranks, ghost planes included, against the whole problem's planes.
void expect_slabs_match(const Scenario& scenario) {
  const Problem whole = build_problem(scenario);
  const Problem grid = build_problem_grid(scenario);
  EXPECT_EQ(grid.tissue, whole.tissue);
  ASSERT_EQ(grid.species.size(), whole.species.size());
  for (const SpeciesProblem& s : grid.species) EXPECT_TRUE(s.decay.empty() && s.initial.empty()) << s.name;
  double sources = 0.0;
  for (const SpeciesProblem& s : whole.species)
    for (float v : s.source) sources += double(v);
  EXPECT_GT(sources, 0.0) << "the scenario should have sources for this test to mean something";
  for (int ranks = 1; ranks <= 4; ++ranks) {
    const Decomposition dec(whole.dims, whole.tissue, ranks);
    for (int r = 0; r < ranks; ++r) {
      const int z0 = dec.slab(r).z_begin - dec.ghost_below(r), z1 = dec.slab(r).z_end + dec.ghost_above(r);
      expect_same(build_problem_planes(scenario, grid, z0, z1), slice_planes(whole, z0, z1),
                  "rank " + std::to_string(r) + " of " + std::to_string(ranks));
    }
  }
}

}  // namespace

TEST(ProblemPlanes, DemoPointSphereBoxSourcesAndGaussianInitialMatchTheWholeProblem) {
  // Coarser than the demo, so that the test is quick; the sources still sit inside the tissue.
  const Scenario s = load_scenario(kSource + "/scenarios/demo.toml",
                                   {"grid.shape=[72, 52, 24]", "grid.spacing=[\"50 um\", \"50 um\", \"100 um\"]"});
  expect_slabs_match(s);
}

TEST(ProblemPlanes, CordGeometryWithWhiteMatterDiffusivityMatchesTheWholeProblem) {
  Scenario s = load_scenario(kSource + "/scenarios/rat_lumbar_no.toml",
                             {"geometry.voxel=[\"100 um\", \"100 um\", \"200 um\"]",
                              "species.NO.white_matter={ perpendicular = \"1500 um^2/s\", parallel = \"3000 um^2/s\" }"});
  resolve_geometry(s);
  const Problem whole = build_problem(s);
  std::size_t white = 0;
  for (float d : whole.species[0].diffusivity[2]) white += d == 3000.f;
  EXPECT_GT(white, 0u) << "white matter should have D∥";
  expect_slabs_match(s);
}

TEST(ProblemPlanes, PlanesOutsideTheGridAreRefused) {
  const Scenario s = load_scenario(kSource + "/scenarios/demo.toml",
                                   {"grid.shape=[72, 52, 24]", "grid.spacing=[\"50 um\", \"50 um\", \"100 um\"]"});
  const Problem grid = build_problem_grid(s);
  EXPECT_THROW(build_problem_planes(s, grid, 2, 25), std::invalid_argument);
  EXPECT_THROW(build_problem_planes(s, grid, 3, 3), std::invalid_argument);
}
