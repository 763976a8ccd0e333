#pragma once
// Per-voxel math of the implicit and quasi-steady solves, shared by the CPU and CUDA back ends.
//
// With L_h c = Σ_faces g (c_nb − c_v) − diag_v c_v (homogeneous_tendency: the assembled operator
// without sources) every implicit solve in cordsim is one symmetric positive definite system
//
//   A c = b,   A = α I − β L_h   on the tissue voxels,
//
//   θ-method step Δt   α = 1, β = θΔt,  b = cⁿ + Δt ((1 − θ) L_h cⁿ + rhs)
//                      (θ = 1 backward Euler, θ = ½ Crank–Nicolson)
//   quasi-steady       α = 0, β = 1,    b = rhs        (−∇·D∇c + k c = S, i.e. D∇²c − k c + S = 0)
//
// A is symmetric because both voxels of a face use the same g; it is positive definite when α > 0
// or when some voxel has diag > 0 (decay or a Dirichlet/Robin face) in every connected piece of
// tissue. Rows of voxels outside the tissue are left out: every vector is 0 there and stays 0.
//
// The solver's vectors are float64 (the iterates reach relative residuals of 1e-8, beyond float32);
// the coefficients stay the arrays of the explicit kernel (of type real: float32, or float64 in a
// CORDSIM_DOUBLE build), evaluated by the same homogeneous_tendency. Coarse multigrid levels store
// their operator in the same five-array form with α and β folded in (α = 0, β = 1, diag = the
// coarse shift), so one functor serves all levels.
#include <cstdint>
#include <vector>

#include "kernels/cell/diffusion.hpp"

namespace cordsim {

// A = α I − β L_h on one grid level.
struct ShiftedOperator {
  OperatorView op;
  const std::uint8_t* tissue;
  double alpha, beta;

  // (A x)_v at a tissue voxel v.
  CORDSIM_HD double apply(const double* x, VoxelIndex v) const {
    return alpha * x[v] - beta * homogeneous_tendency(op, x, v);
  }
  // A_vv = α + β (Σ g + diag): the forward-Euler exchange rate of the voxel.
  CORDSIM_HD double diagonal(VoxelIndex v) const {
    return alpha + beta * double(ExchangeRate{op}(v));
  }
};

// b = α cⁿ + Δt ((1 − θ) L_h cⁿ + rhs) and the warm start x = cⁿ. The quasi-steady right-hand side
// is the case α = 0, Δt = 1, θ = 1.
struct ThetaRightHandSide {
  OperatorView op;
  const std::uint8_t* tissue;
  const real* c;
  double* b;
  double* x;
  double alpha, dt, explicit_weight;  // explicit_weight = 1 − θ
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = op.dims.index(i, j, k);
    const double explicit_part = explicit_weight == 0.0 ? 0.0 : explicit_weight * double(homogeneous_tendency(op, c, v));
    b[v] = tissue[v] ? alpha * double(c[v]) + dt * (explicit_part + double(op.rhs[v])) : 0.0;
    x[v] = tissue[v] ? double(c[v]) : 0.0;
  }
};

// The solution back into the field (float32, or float64 in a CORDSIM_DOUBLE build).
struct StoreSolution {
  GridDims dims;
  const double* x;
  real* c;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = dims.index(i, j, k);
    c[v] = real(x[v]);
  }
};

// r = b − A x.
struct Residual {
  ShiftedOperator a;
  const double* x;
  const double* b;
  double* r;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = a.op.dims.index(i, j, k);
    r[v] = a.tissue[v] ? b[v] - a.apply(x, v) : 0.0;
  }
};

// q = A p.
struct ApplyOperator {
  ShiftedOperator a;
  const double* p;
  double* q;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = a.op.dims.index(i, j, k);
    q[v] = a.tissue[v] ? a.apply(p, v) : 0.0;
  }
};

// Jacobi preconditioner z = r / A_vv.
struct JacobiPreconditioner {
  ShiftedOperator a;
  const double* r;
  double* z;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = a.op.dims.index(i, j, k);
    z[v] = a.tissue[v] ? r[v] / a.diagonal(v) : 0.0;
  }
};

// Conjugate-gradient update of the iterate and the residual: x += α p, r −= α q.
struct CgAdvance {
  GridDims dims;
  const double* p;
  const double* q;
  double* x;
  double* r;
  double step;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = dims.index(i, j, k);
    x[v] += step * p[v];
    r[v] -= step * q[v];
  }
};

// New search direction p = z + β p.
struct CgDirection {
  GridDims dims;
  const double* z;
  double* p;
  double beta;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = dims.index(i, j, k);
    p[v] = z[v] + beta * p[v];
  }
};

// Σ a·b over one x-row in a fixed order (as TissueRowSum): dot products are the ordered host sum
// of the row sums, identical for any thread count. Vectors are 0 outside the tissue.
struct RowDot {
  GridDims dims;
  const double* a;
  const double* b;
  CORDSIM_HD double operator()(VoxelIndex row) const {
    const VoxelIndex first = row * dims.nx;
    double sum = 0.0;
    for (int i = 0; i < dims.nx; ++i) sum += a[first + i] * b[first + i];
    return sum;
  }
};

// ---- geometric multigrid (used as the CG preconditioner) -------------------------------------
//
// Cell-centred coarsening by 2 along every axis: coarse voxel (I, J, K) has the fine children
// (2I + a, 2J + b, 2K + c), a, b, c ∈ {0, 1}, that exist (an odd extent leaves the last coarse
// voxel with one child along that axis). A coarse voxel is tissue if any child is.
// Transfers: restriction sums the children (R = Pᵀ), prolongation is piecewise constant (P).
//
// Coarse operator: the Galerkin product Pᵀ A P, whose shift is the sum of the children's
// (α + β diag) and whose face conductance is the sum of the fine conductances crossing the coarse
// face, with the conductances halved. Piecewise-constant transfers make the Galerkin couplings
// twice those of a re-discretisation on the 2h grid (4 faces of D/h² against 8 · D/(2h)² in the
// same summed units), which halves the coarse correction of smooth errors; halving them restores
// the re-discretised operator for uniform D, while the sums keep the mask and the D jumps the
// fine grid sees. Every coarse operator is again symmetric positive definite, so the V-cycle with
// symmetric smoothing is a valid CG preconditioner.
// The coarse grids of the hierarchy of a grid (level 1 first): halve (rounding up) until no extent
// exceeds `coarsest_extent`. Coarse plane K holds the fine planes 2K and 2K + 1 (if it exists), so
// the planes [z0, z1) of a grid with z0 even coarsen to the planes [z0 / 2, ceil(z1 / 2)).
constexpr int multigrid_coarsest_extent = 4;
inline std::vector<GridDims> multigrid_coarse_dims(GridDims d) {
  std::vector<GridDims> coarse;
  while (d.nx > multigrid_coarsest_extent || d.ny > multigrid_coarsest_extent || d.nz > multigrid_coarsest_extent) {
    d = GridDims{(d.nx + 1) / 2, (d.ny + 1) / 2, (d.nz + 1) / 2};
    coarse.push_back(d);
  }
  return coarse;
}

struct CoarsenOperator {
  ShiftedOperator fine;
  MutableOperatorView coarse;
  std::uint8_t* coarse_tissue;

  CORDSIM_HD void operator()(int ci, int cj, int ck) const {
    const GridDims& f = fine.op.dims;
    const VoxelIndex cv = coarse.dims.index(ci, cj, ck);
    double shift = 0.0;
    double conductance[3] = {0.0, 0.0, 0.0};
    bool any_tissue = false;
    for (int c = 0; c < 2; ++c)
      for (int b = 0; b < 2; ++b)
        for (int a = 0; a < 2; ++a) {
          const int i = 2 * ci + a, j = 2 * cj + b, k = 2 * ck + c;
          if (i >= f.nx || j >= f.ny || k >= f.nz) continue;
          const VoxelIndex v = f.index(i, j, k);
          if (!fine.tissue[v]) continue;
          any_tissue = true;
          shift += fine.alpha + fine.beta * double(fine.op.diag[v]);
          // Upper children (local index 1 along an axis) own the fine faces into the next coarse voxel.
          const int local[3] = {a, b, c};
          for (int d = 0; d < 3; ++d)
            if (local[d] == 1) conductance[d] += fine.beta * double(fine.op.g[d][v]);
        }
    coarse_tissue[cv] = any_tissue ? 1 : 0;
    coarse.diag[cv] = real(shift);
    for (int d = 0; d < 3; ++d) coarse.g[d][cv] = real(0.5 * conductance[d]);
    coarse.rhs[cv] = 0;
  }
};

// Coarse right-hand side: the sum of the children's residuals (R = Pᵀ).
struct RestrictResidual {
  GridDims fine, coarse;
  const double* fine_residual;
  double* coarse_rhs;
  CORDSIM_HD void operator()(int ci, int cj, int ck) const {
    double sum = 0.0;
    for (int c = 0; c < 2; ++c)
      for (int b = 0; b < 2; ++b)
        for (int a = 0; a < 2; ++a) {
          const int i = 2 * ci + a, j = 2 * cj + b, k = 2 * ck + c;
          if (i < fine.nx && j < fine.ny && k < fine.nz) sum += fine_residual[fine.index(i, j, k)];
        }
    coarse_rhs[coarse.index(ci, cj, ck)] = sum;
  }
};

// x_fine += P x_coarse (piecewise constant), on tissue voxels only.
struct ProlongAndCorrect {
  GridDims fine, coarse;
  const std::uint8_t* fine_tissue;
  const double* coarse_x;
  double* fine_x;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = fine.index(i, j, k);
    if (fine_tissue[v]) fine_x[v] += coarse_x[coarse.index(i / 2, j / 2, k / 2)];
  }
};

// One colour of a red–black Gauss–Seidel sweep on A x = b: voxels with (i + j + k) mod 2 = colour
// take x_v += (b_v − (A x)_v) / A_vv. A voxel's neighbours all have the other colour, so the voxels
// of one colour update independently (in parallel, deterministically). Sweeping red then black
// before the coarse correction and black then red after it makes the V-cycle symmetric.
struct RedBlackRelax {
  ShiftedOperator a;
  const double* b;
  double* x;
  int colour;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    if (((i + j + k) & 1) == colour) update(a.op.dims.index(i, j, k));
  }
  CORDSIM_HD void update(VoxelIndex v) const {
    if (a.tissue[v]) x[v] += (b[v] - a.apply(x, v)) / a.diagonal(v);
  }
};

// The same colour launched over half the grid: (h, j, k) with h < ⌈nx/2⌉ is the voxel
// i = 2h + ((j + k + colour) mod 2) of the colour, so no work item falls on the other colour's
// voxels (a full-grid launch spends half of them on a test that fails). Same updates, same values.
struct RedBlackRelaxHalf {
  RedBlackRelax relax;
  static GridDims launch(const GridDims& d) { return GridDims{(d.nx + 1) / 2, d.ny, d.nz}; }
  CORDSIM_HD void operator()(int h, int j, int k) const {
    const int i = 2 * h + ((j + k + relax.colour) & 1);
    if (i < relax.a.op.dims.nx) relax.update(relax.a.op.dims.index(i, j, k));
  }
};

// y = x over a grid (the owned planes of a gathered level, back into a slab's vector).
struct CopyVector {
  GridDims dims;
  const double* x;
  double* y;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = dims.index(i, j, k);
    y[v] = x[v];
  }
};

// A level's operator arrays and tissue copied into another array of the same dims (a slab's fine
// operator into its planes of the whole grid, before they are gathered).
struct CopyOperator {
  OperatorView from;
  const std::uint8_t* from_tissue;
  MutableOperatorView to;
  std::uint8_t* to_tissue;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = from.dims.index(i, j, k);
    for (int d = 0; d < 3; ++d) to.g[d][v] = from.g[d][v];
    to.diag[v] = from.diag[v];
    to.rhs[v] = from.rhs[v];
    to_tissue[v] = from_tissue[v];
  }
};

struct ZeroVector {
  GridDims dims;
  double* x;
  CORDSIM_HD void operator()(int i, int j, int k) const { x[dims.index(i, j, k)] = 0.0; }
};

}  // namespace cordsim
