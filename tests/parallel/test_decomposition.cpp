// Slab decomposition (host/parallel/decomposition.hpp): slabs balanced by tissue voxels, every
// rank at least one plane, ghost planes, and the slicing of a problem. The decomposed runs
// themselves are tested under mpirun (label mpi, tests/parallel/mpi_run_check.py).
#include <gtest/gtest.h>

#include <cstdlib>

#include "host/parallel/decomposition.hpp"
#include "host/parallel/ranks.hpp"

using namespace cordsim;

namespace {

// nx × ny × nz grid whose plane k holds tissue[k] tissue voxels.
std::vector<std::uint8_t> mask(const GridDims& d, const std::vector<int>& tissue_per_plane) {
  std::vector<std::uint8_t> m(std::size_t(d.size()), 0);
  const std::size_t plane = std::size_t(d.nx * d.ny);
  for (int k = 0; k < d.nz; ++k)
    for (int v = 0; v < tissue_per_plane[std::size_t(k)]; ++v) m[std::size_t(k) * plane + std::size_t(v)] = 1;
  return m;
}

void expect_contiguous(const Decomposition& dec, int nz) {
  int next = 0;
  for (const Slab& s : dec.slabs()) {
    EXPECT_EQ(s.z_begin, next);
    EXPECT_GE(s.planes(), 1);
    next = s.z_end;
  }
  EXPECT_EQ(next, nz);
}

}  // namespace

TEST(Decomposition, OneRankOwnsEveryPlaneWithoutGhosts) {
  const GridDims d{4, 4, 10};
  const Decomposition dec(d, mask(d, std::vector<int>(10, 16)), 1);
  ASSERT_EQ(dec.ranks(), 1);
  EXPECT_EQ(dec.slab(0).z_begin, 0);
  EXPECT_EQ(dec.slab(0).z_end, 10);
  EXPECT_EQ(dec.slab(0).tissue_voxels, 160);
  EXPECT_EQ(dec.ghost_below(0), 0);
  EXPECT_EQ(dec.ghost_above(0), 0);
  EXPECT_DOUBLE_EQ(dec.imbalance(), 1.0);
}

TEST(Decomposition, UniformTissueSplitsPlanesEvenly) {
  const GridDims d{4, 4, 12};
  const Decomposition dec(d, mask(d, std::vector<int>(12, 16)), 4);
  expect_contiguous(dec, 12);
  for (const Slab& s : dec.slabs()) EXPECT_EQ(s.planes(), 3);
  EXPECT_DOUBLE_EQ(dec.imbalance(), 1.0);
}

TEST(Decomposition, BalancesTissueVoxelsNotPlanes) {
  // A cord that is thick in planes 0–4 (16 tissue voxels each) and thin in 5–9 (1 each): splitting
  // the planes in half would give 80 and 5 voxels; balancing tissue cuts inside the thick part.
  const GridDims d{4, 4, 10};
  const Decomposition dec(d, mask(d, {16, 16, 16, 16, 16, 1, 1, 1, 1, 1}), 2);
  expect_contiguous(dec, 10);
  EXPECT_EQ(dec.slab(0).z_end, 3);
  EXPECT_EQ(dec.slab(0).tissue_voxels, 48);
  EXPECT_EQ(dec.slab(1).tissue_voxels, 37);
  EXPECT_LT(dec.imbalance(), 1.15);
  EXPECT_EQ(dec.ghost_below(0), 0);
  EXPECT_EQ(dec.ghost_above(0), 1);
  EXPECT_EQ(dec.ghost_below(1), 1);
  EXPECT_EQ(dec.ghost_above(1), 0);
}

TEST(Decomposition, EmptyPlanesAreSharedAndEveryRankGetsAPlane) {
  // All tissue in the first plane: every other rank still owns at least one plane.
  const GridDims d{3, 3, 6};
  const Decomposition dec(d, mask(d, {9, 0, 0, 0, 0, 0}), 6);
  expect_contiguous(dec, 6);
  for (const Slab& s : dec.slabs()) EXPECT_EQ(s.planes(), 1);
  const Decomposition three(d, mask(d, {0, 0, 0, 0, 0, 0}), 3);
  expect_contiguous(three, 6);
  for (const Slab& s : three.slabs()) EXPECT_EQ(s.planes(), 2);
}

TEST(Decomposition, MoreRanksThanPlanesIsAnInputError) {
  const GridDims d{3, 3, 4};
  try {
    Decomposition(d, mask(d, {9, 9, 9, 9}), 5);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("5 ranks cannot share 4 z-planes"), std::string::npos) << e.what();
  }
}

TEST(Decomposition, SlicePlanesKeepsThePlanesOfEveryArray) {
  Problem p;
  p.dims = GridDims{2, 3, 5};
  p.spacing.h[2] = 7.f;
  const std::size_t n = std::size_t(p.dims.size());
  p.tissue.assign(n, 0);
  SpeciesProblem s;
  s.name = "c";
  for (auto& d : s.diffusivity) d.assign(n, 0.f);
  s.decay.assign(n, 0.f);
  s.source.assign(n, 0.f);
  s.initial.assign(n, 0.f);
  for (std::size_t v = 0; v < n; ++v) {
    p.tissue[v] = std::uint8_t(v % 2);
    s.diffusivity[2][v] = float(v);
    s.initial[v] = float(100 + v);
  }
  p.species.push_back(s);
  const Problem slab = slice_planes(p, 1, 4);  // planes 1, 2, 3: voxels 6..23
  EXPECT_EQ(slab.dims.nz, 3);
  EXPECT_EQ(slab.spacing.h[2], 7.f);
  ASSERT_EQ(slab.tissue.size(), 18u);
  ASSERT_EQ(slab.species.size(), 1u);
  for (std::size_t v = 0; v < 18; ++v) {
    EXPECT_EQ(slab.tissue[v], std::uint8_t((v + 6) % 2));
    EXPECT_EQ(slab.species[0].diffusivity[2][v], float(v + 6));
    EXPECT_EQ(slab.species[0].initial[v], float(106 + v));
  }
}

TEST(Decomposition, WithoutALauncherThereIsOneRank) {
  // The tests run without mpirun: no rank group, the serial path (in either build).
  EXPECT_EQ(run_ranks(), nullptr);
}
