// Slab decomposition (host/parallel/decomposition.hpp): slabs balanced by tissue voxels, every
// rank at least one plane, ghost planes, the cuts aligned for the multigrid levels, and the slicing
// of a problem. The decomposed runs
// themselves are tested under mpirun (label mpi, tests/parallel/mpi_run_check.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "host/parallel/decomposition.hpp"
#include "kernels/cell/linear_solver.hpp"
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

TEST(Decomposition, MultigridAlignedLevelsWeighTheVCycleAgainstTheImbalance) {
  // Uniform tissue: the L of least V-cycle work per rank, imbalance(L) (1 − 8^−L) / ranks + 8^−L.
  const auto uniform = [](const GridDims& d) { return std::vector<std::uint8_t>(std::size_t(d.size()), 1); };
  const GridDims d26{24, 22, 26};
  EXPECT_EQ(multigrid_aligned_levels(d26, uniform(d26), 1), 0);
  EXPECT_EQ(multigrid_aligned_levels(d26, uniform(d26), 2), 2);  // cuts at 12 (L = 3: 8 or 16, 1.23)
  EXPECT_EQ(multigrid_aligned_levels(d26, uniform(d26), 4), 3);  // cuts 8, 16, 24: imbalance 1.23
  const GridDims d41{32, 28, 41};                                 // depth 4 (nz 21, 11, 6, 3)
  EXPECT_EQ(multigrid_aligned_levels(d41, uniform(d41), 3), 4);  // the coarsest level gathered
  // Cuts must fit: 4 planes on 4 ranks, L = 1 would need cuts at 2, 4, 6.
  const GridDims d4{32, 28, 4};
  EXPECT_EQ(multigrid_aligned_levels(d4, uniform(d4), 2), 1);
  EXPECT_EQ(multigrid_aligned_levels(d4, uniform(d4), 4), 0);
  // Every choice keeps the imbalance within 0.25 of the unaligned one.
  for (const GridDims& d : {d26, d41, GridDims{8, 8, 400}})
    for (int ranks = 2; ranks <= 8; ++ranks) {
      const std::vector<std::uint8_t> t = uniform(d);
      const int levels = multigrid_aligned_levels(d, t, ranks);
      EXPECT_LE(levels, int(multigrid_coarse_dims(d).size()));
      EXPECT_LE(Decomposition(d, t, ranks, levels).imbalance(), Decomposition(d, t, ranks).imbalance() + 0.25);
    }
}

TEST(Decomposition, AlignedCutsAreMultiplesOfTwoToTheLevelsAndStayBalanced) {
  // A cord-like tissue profile along z: a thin thoracic cord with cervical and lumbar
  // enlargements, 150 planes of 40 × 40 voxels.
  const GridDims d{40, 40, 150};
  std::vector<int> profile(150);
  long long total = 0;
  int widest = 0;
  for (int k = 0; k < 150; ++k) {
    const double area =
        400 + 500 * std::exp(-std::pow((k - 30) / 12.0, 2)) + 600 * std::exp(-std::pow((k - 115) / 10.0, 2));
    profile[std::size_t(k)] = int(area);
    total += int(area);
    widest = std::max(widest, int(area));
  }
  const std::vector<std::uint8_t> tissue = mask(d, profile);
  for (int ranks = 2; ranks <= 9; ++ranks) {
    const int levels = multigrid_aligned_levels(d, tissue, ranks);
    const int a = 1 << levels;
    const Decomposition plain(d, tissue, ranks);
    const Decomposition aligned(d, tissue, ranks, levels);
    expect_contiguous(aligned, d.nz);
    EXPECT_EQ(aligned.aligned_levels(), levels);
    for (int r = 0; r < ranks; ++r) {
      const Slab& s = aligned.slab(r);
      EXPECT_EQ(s.z_begin % a, 0) << ranks << " ranks, rank " << r;
      if (r + 1 < ranks) {
        EXPECT_GE(s.planes(), a) << ranks << " ranks, rank " << r;
      }
    }
    // The stated bound: each cut moves by at most half an aligned block of planes.
    const double bound = 1.0 + double(ranks) * a * widest / double(total);
    EXPECT_LE(aligned.imbalance(), bound) << ranks << " ranks, alignment " << a;
    EXPECT_LE(plain.imbalance(), 1.0 + double(ranks) * widest / double(total)) << ranks << " ranks";
    std::printf("%d ranks: alignment %d, imbalance %.3f (unaligned %.3f, bound %.3f)\n", ranks, a,
                aligned.imbalance(), plain.imbalance(), bound);
  }
}

TEST(Decomposition, AlignedSlabsCoarsenToTheOneRankCoarsePlanes) {
  // Rank r's planes [z0, z1) of level l become [z0 / 2, ceil(z1 / 2)) of level l + 1: with the cuts
  // multiples of 2^L these are consecutive, cover the one-rank coarse grid (odd nz included) and
  // every rank keeps at least one plane of every distributed level.
  for (const int nz : {26, 41, 63, 64, 97}) {
    const GridDims d{16, 16, nz};
    const std::vector<std::uint8_t> tissue = mask(d, std::vector<int>(std::size_t(nz), 200));
    for (int ranks = 2; ranks <= 4; ++ranks) {
      const int levels = multigrid_aligned_levels(d, tissue, ranks);
      const Decomposition dec(d, tissue, ranks, levels);
      const std::vector<GridDims> coarse = multigrid_coarse_dims(d);
      std::vector<int> begin, end;
      for (const Slab& s : dec.slabs()) {
        begin.push_back(s.z_begin);
        end.push_back(s.z_end);
      }
      for (int l = 1; l <= levels; ++l) {
        for (int r = 0; r < ranks; ++r) {
          EXPECT_EQ(begin[std::size_t(r)] % 2, 0) << "nz " << nz << ", level " << l - 1;
          begin[std::size_t(r)] /= 2;
          end[std::size_t(r)] = (end[std::size_t(r)] + 1) / 2;
        }
        for (int r = 0; r < ranks; ++r) {
          EXPECT_EQ(begin[std::size_t(r)], r == 0 ? 0 : end[std::size_t(r) - 1]) << "nz " << nz << ", level " << l;
          EXPECT_GE(end[std::size_t(r)] - begin[std::size_t(r)], 1) << "nz " << nz << ", level " << l;
        }
        EXPECT_EQ(end.back(), coarse[std::size_t(l) - 1].nz) << "nz " << nz << ", level " << l;
      }
    }
  }
}

TEST(Decomposition, AnAlignmentThePlanesCannotGiveIsRefused) {
  const GridDims d{3, 3, 8};
  EXPECT_THROW(Decomposition(d, mask(d, std::vector<int>(8, 9)), 3, 2), std::invalid_argument);  // cuts 4, 8?
  const Decomposition two(d, mask(d, std::vector<int>(8, 9)), 2, 2);
  EXPECT_EQ(two.slab(0).z_end, 4);
}

TEST(Decomposition, WithoutALauncherThereIsOneRank) {
  // The tests run without mpirun: no rank group, the serial path (in either build).
  EXPECT_EQ(run_ranks(), nullptr);
}
