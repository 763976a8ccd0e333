#pragma once
// Slab decomposition of the grid along the cord axis z (docs/parallel.md): rank r owns the whole
// x–y planes [z_begin(r), z_end(r)), consecutive in rank order. The cut planes are placed so that
// every rank holds about the same number of tissue voxels (the voxels that cost work and memory
// traffic in the solvers), not the same number of planes: a cord tapers, and planes of its
// enlargements hold more tissue than the thin segments. Every rank owns at least one plane.
//
// For the multigrid preconditioner the cuts can be aligned to multiples of 2^L: then every pair of
// fine planes (2k, 2k + 1) that one coarse plane holds lies on one rank, down to level L, and the
// levels 0 .. L − 1 stay distributed (kernels/implicit_solver.hpp). The cuts are the closest
// multiples of 2^L to the balanced ones, which costs balance: a slab may gain or lose up to about
// 2^(L−1) planes at each cut, so imbalance ≲ 1 + ranks · 2^L · (largest plane's tissue) / total.
#include <cstdint>
#include <vector>

#include "host/model/problem.hpp"
#include "kernels/cell/grid.hpp"

namespace cordsim {

struct Slab {
  int z_begin = 0, z_end = 0;     // owned planes
  long long tissue_voxels = 0;    // tissue voxels in them
  int planes() const { return z_end - z_begin; }
};

class Decomposition {
 public:
  // One slab of all planes.
  Decomposition() = default;
  // Balances `ranks` slabs by tissue voxels per plane; planes without tissue count as one voxel so
  // that a region of empty planes is also shared out. Throws InputError if ranks > nz. With
  // `aligned_levels` L > 0 every cut is a multiple of 2^L and every rank owns at least 2^L planes
  // but the last (at least one); std::invalid_argument if nz cannot give that to every rank.
  Decomposition(const GridDims& dims, const std::vector<std::uint8_t>& tissue, int ranks, int aligned_levels = 0);

  int ranks() const { return int(slabs_.size()); }
  const Slab& slab(int rank) const { return slabs_.at(std::size_t(rank)); }
  const std::vector<Slab>& slabs() const { return slabs_; }
  // L: the cuts are multiples of 2^L.
  int aligned_levels() const { return aligned_levels_; }
  // Largest slab's tissue voxels over the mean: 1 is perfect balance.
  double imbalance() const;

  // The planes a rank's back end holds: its own plus one ghost plane below (rank > 0) and one above
  // (rank < ranks − 1).
  int ghost_below(int rank) const { return rank > 0 ? 1 : 0; }
  int ghost_above(int rank) const { return rank + 1 < ranks() ? 1 : 0; }

 private:
  std::vector<Slab> slabs_;
  int aligned_levels_ = 0;
};

// How many multigrid levels L a decomposition of `dims` over `ranks` slabs keeps distributed: of
// the L ≤ depth of the hierarchy (multigrid_coarse_dims) for which the cuts fit, the one with the
// least V-cycle work per rank, imbalance(L) · (1 − 8^−L) / ranks (the distributed levels) + 8^−L
// (level L and below, on every rank), among those whose imbalance exceeds the unaligned one by at
// most 0.25 (the decomposition serves every species, not only the V-cycle); ties go to the larger
// L. 0 (nothing distributed: the fine residual is gathered) on one rank or when no L ≥ 1 fits.
int multigrid_aligned_levels(const GridDims& dims, const std::vector<std::uint8_t>& tissue, int ranks);

// The part of `problem` on planes [z_begin, z_end) (every per-voxel array sliced; labels dropped):
// what one rank's back end is given, ghost planes included.
Problem slice_planes(const Problem& problem, int z_begin, int z_end);

}  // namespace cordsim
