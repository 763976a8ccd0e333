#pragma once
// Per-voxel math of the finite-volume reaction–diffusion operator, shared by the CPU and CUDA
// back ends. For one species c (nM) on the tissue voxels:
//
//   dc/dt = ∇·(D ∇c) − k c + S
//
// Finite volumes on a uniform grid: the rate of change of voxel v is the sum of the diffusive
// fluxes through its six faces divided by its width, minus decay, plus source:
//
//   dc_v/dt = Σ_faces g_f (c_nb − c_v)  +  Σ_boundary faces b_f (c_b − c_v)  −  k_v c_v  +  S_v
//
//   interior face (both voxels in tissue):  g_f = D_f / h²,  D_f = 2 D_v D_nb / (D_v + D_nb)
//     (harmonic mean: the exact conductance of two half-cells in series, so a jump in D between
//      gray and white matter is handled without smearing, and flux leaving v enters nb exactly);
//   boundary face (neighbour outside tissue or outside the grid), per species condition:
//     no-flux    b_f = 0
//     Dirichlet  b_f = 2 D_v / h²                     (value c_b on the face, half a cell away)
//     Robin      b_f = (2 D_v / h²) · P h / (P h + 2 D_v)   (−D ∂c/∂n = P (c_face − c_b): the
//                half-cell and the membrane of permeability P in series)
//
// Assembly folds everything that does not depend on c into five per-voxel arrays, so the hot
// loop reads seven values per voxel and has no mask or boundary branches:
//   gx, gy, gz  conductance of the face to the +x, +y, +z neighbour (1/s); 0 where that face is
//               not an interior tissue face
//   diag        Σ b_f + k_v (1/s)
//   rhs         Σ b_f c_b + S_v (nM/s)
// Voxels outside the tissue get all five zero and therefore never change.
#include <cstdint>

#include "kernels/cell/grid.hpp"

namespace cordsim {

// Memory layout of every per-voxel array on a back end: nx·ny·nz values in x-fastest order,
// preceded and followed by one x–y plane (nx·ny values) of zeros. Views point at the first
// interior value, so index v ∈ [0, nx·ny·nz) is the voxel and v ± s_z never leaves the allocation.
struct FieldLayout {
  GridDims dims;
  CORDSIM_HD VoxelIndex halo() const { return VoxelIndex(dims.nx) * dims.ny; }
  CORDSIM_HD VoxelIndex allocation() const { return dims.size() + 2 * halo(); }
};

struct BoundaryParams {
  enum Kind : int { no_flux = 0, dirichlet = 1, robin = 2 };
  int kind = no_flux;
  real value = 0;         // c_b (nM)
  real permeability = 0;  // P (µm/s), Robin only
};

// Conductance per unit volume (1/s) of a boundary face of a voxel with diffusivity D (µm²/s)
// along the face normal, voxel width h (µm).
CORDSIM_HD real boundary_conductance(const BoundaryParams& bc, real D, real h) {
  const real half_cell = real(2) * D / (h * h);
  if (bc.kind == BoundaryParams::dirichlet) return half_cell;
  if (bc.kind == BoundaryParams::robin) {
    const real ph = bc.permeability * h;
    return half_cell * (ph / (ph + real(2) * D));
  }
  return 0;
}

// Harmonic mean of two diffusivities; 0 if both are 0. Symmetric in its arguments bit for bit,
// which makes the two voxels of a face see the same conductance (exact conservation).
CORDSIM_HD real harmonic_mean(real a, real b) {
  const real sum = a + b;
  return sum > real(0) ? real(2) * a * b / sum : real(0);
}

// Per-voxel model inputs of one species (device or host pointers, nx·ny·nz entries each).
struct CoefficientView {
  GridDims dims;
  Spacing spacing;
  const std::uint8_t* tissue;     // 1 inside tissue
  const real* diffusivity[3];     // D along x, y, z (µm²/s)
  const real* decay;              // k (1/s)
  const real* source;             // S (nM/s)
  BoundaryParams boundary;
};

// The assembled operator (see the header comment).
struct OperatorView {
  GridDims dims;
  const real* g[3];  // gx, gy, gz
  const real* diag;
  const real* rhs;
};

struct MutableOperatorView {
  GridDims dims;
  real* g[3];
  real* diag;
  real* rhs;
  OperatorView as_const() const { return OperatorView{dims, {g[0], g[1], g[2]}, diag, rhs}; }
};

// Assembles the operator arrays of voxel (i, j, k) from the model inputs.
struct AssembleOperator {
  CoefficientView in;
  MutableOperatorView out;

  CORDSIM_HD void operator()(int i, int j, int k) const {
    const GridDims& d = in.dims;
    const VoxelIndex v = d.index(i, j, k);
    if (!in.tissue[v]) {
      for (int a = 0; a < 3; ++a) out.g[a][v] = 0;
      out.diag[v] = 0;
      out.rhs[v] = 0;
      return;
    }
    const int ijk[3] = {i, j, k};
    real boundary_diag = 0;
    real boundary_rhs = 0;
    for (int a = 0; a < 3; ++a) {
      const real h = in.spacing.h[a];
      const real D = in.diffusivity[a][v];
      const VoxelIndex s = d.stride(a);
      const bool upper_in_tissue = ijk[a] + 1 < d.extent(a) && in.tissue[v + s];
      const bool lower_in_tissue = ijk[a] > 0 && in.tissue[v - s];
      out.g[a][v] = upper_in_tissue ? harmonic_mean(D, in.diffusivity[a][v + s]) / (h * h) : real(0);
      const real b = boundary_conductance(in.boundary, D, h);
      const int boundary_faces = int(!upper_in_tissue) + int(!lower_in_tissue);
      boundary_diag += real(boundary_faces) * b;
      boundary_rhs += real(boundary_faces) * b * in.boundary.value;
    }
    out.diag[v] = boundary_diag + in.decay[v];
    out.rhs[v] = boundary_rhs + in.source[v];
  }
};

// dc/dt at voxel v = (i, j, k): Σ_faces g (c_nb − c_v) − diag_v c_v + rhs_v; the homogeneous
// (linear) part leaves out rhs_v.
//
// Branch-free by layout (see FieldLayout): every field carries one zero x–y plane of halo below
// and above, so all six neighbour reads are in bounds; and g is 0 on every face that is not an
// interior tissue face — including grid edges, where g[v − 1] at i = 0 is the +x face of the
// previous row's last voxel, 0 by assembly, and g[v − s_z] at k = 0 lies in the zero halo. The
// neighbour value read across such a face is finite and multiplied by 0. This lets the CPU loop
// vectorise without masks and keeps warps free of divergence on the GPU.
//
// T is the type of the field: real (kernels/cell/real.hpp) for the explicit kernels, double for the
// iterates of the linear solver (kernels/cell/linear_solver.hpp), which evaluates the same sum in
// float64.
template <class T>
CORDSIM_HD T homogeneous_tendency(const OperatorView& op, const T* c, VoxelIndex v) {
  const VoxelIndex sy = op.dims.stride(1), sz = op.dims.stride(2);
  const T cv = c[v];
  const T exchange = op.g[0][v] * (c[v + 1] - cv) + op.g[0][v - 1] * (c[v - 1] - cv) +
                         op.g[1][v] * (c[v + sy] - cv) + op.g[1][v - sy] * (c[v - sy] - cv) +
                         op.g[2][v] * (c[v + sz] - cv) + op.g[2][v - sz] * (c[v - sz] - cv);
  return exchange - op.diag[v] * cv;
}

// The full right-hand side: the linear part plus the sources and boundary values (rhs).
CORDSIM_HD real tendency(const OperatorView& op, const real* c, VoxelIndex v) {
  return homogeneous_tendency(op, c, v) + op.rhs[v];
}

// The rate at which voxel v exchanges with everything around it, Σ g + diag (1/s). Forward Euler
// keeps c ≥ 0 and is stable when dt · rate ≤ 1 for every voxel (the positivity bound; for
// uniform D it is the classic dt ≤ h² / (2 Σ_d D_d)).
struct ExchangeRate {
  OperatorView op;
  CORDSIM_HD real operator()(VoxelIndex v) const {
    const VoxelIndex sy = op.dims.stride(1), sz = op.dims.stride(2);
    return op.diag[v] + op.g[0][v] + op.g[0][v - 1] + op.g[1][v] + op.g[1][v - sy] + op.g[2][v] +
           op.g[2][v - sz];
  }
};

// One forward-Euler step: c_next = c + dt · dc/dt.
struct ForwardEulerStep {
  OperatorView op;
  const real* c;
  real* c_next;
  real dt;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = op.dims.index(i, j, k);
    c_next[v] = c[v] + dt * tendency(op, c, v);
  }
};

// Sum of c over the tissue voxels of one x-row (row r = j + ny·k), accumulated in float64 in a
// fixed order. Totals are the ordered sum of the row sums, so they do not depend on the number of
// threads or on the back end's reduction tree.
struct TissueRowSum {
  GridDims dims;
  const real* c;
  const std::uint8_t* tissue;
  CORDSIM_HD double operator()(VoxelIndex row) const {
    const VoxelIndex first = row * dims.nx;
    double sum = 0.0;
    for (int i = 0; i < dims.nx; ++i) {
      if (tissue[first + i]) sum += double(c[first + i]);
    }
    return sum;
  }
};

}  // namespace cordsim
