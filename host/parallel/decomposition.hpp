#pragma once
// Slab decomposition of the grid along the cord axis z (docs/parallel.md): rank r owns the whole
// x–y planes [z_begin(r), z_end(r)), consecutive in rank order. The cut planes are placed so that
// every rank holds about the same number of tissue voxels (the voxels that cost work and memory
// traffic in the solvers), not the same number of planes: a cord tapers, and planes of its
// enlargements hold more tissue than the thin segments. Every rank owns at least one plane.
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
  // that a region of empty planes is also shared out. Throws InputError if ranks > nz.
  Decomposition(const GridDims& dims, const std::vector<std::uint8_t>& tissue, int ranks);

  int ranks() const { return int(slabs_.size()); }
  const Slab& slab(int rank) const { return slabs_.at(std::size_t(rank)); }
  const std::vector<Slab>& slabs() const { return slabs_; }
  // Largest slab's tissue voxels over the mean: 1 is perfect balance.
  double imbalance() const;

  // The planes a rank's back end holds: its own plus one ghost plane below (rank > 0) and one above
  // (rank < ranks − 1).
  int ghost_below(int rank) const { return rank > 0 ? 1 : 0; }
  int ghost_above(int rank) const { return rank + 1 < ranks() ? 1 : 0; }

 private:
  std::vector<Slab> slabs_;
};

// The part of `problem` on planes [z_begin, z_end) (every per-voxel array sliced; labels dropped):
// what one rank's back end is given, ghost planes included.
Problem slice_planes(const Problem& problem, int z_begin, int z_end);

}  // namespace cordsim
