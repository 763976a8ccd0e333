#pragma once
// Preconditioned conjugate gradients for A x = b (A = α I − β L_h, kernels/cell/linear_solver.hpp)
// on a back end, written once over the execution model `Exec` of backend_impl.hpp: every voxel
// loop is Exec::for_each_voxel over a functor of kernels/cell/linear_solver.hpp, every dot product
// a Thrust transform over x-rows (float64, fixed order) summed in row order on the host, so the
// iterates and iteration counts are identical for any number of threads.
//
//   r = b − A x;  z = M r;  p = z
//   repeat:  q = A p;  a = (r·z)/(p·q);  x += a p;  r −= a q;
//            stop when ‖r‖/‖b‖ ≤ tol;  z = M r;  p = z + ((r·z)_new/(r·z)) p
//
// At the recurrence's stop the true residual b − A x is recomputed; if float64 drift left it above
// the tolerance, CG restarts from x (within the same iteration budget). M is Jacobi (1/A_vv) or one
// multigrid V-cycle with red–black Gauss–Seidel smoothing (symmetric: red-black before, black-red
// after the coarse correction; the coarsest level is solved by symmetric sweeps).
//
// On a slab of a decomposed grid (kernels/halo.hpp) the solver works on the owned planes: x and p
// get their ghost planes from the neighbours before A is applied to them, dot products add the
// ranks' partial sums in rank order (the same on every rank, but a different order from one rank's
// row sum, so iterates agree with the serial ones to within the tolerance, not bitwise), Jacobi is
// unchanged (A_vv is local), and the multigrid V-cycle runs on each slab alone with zero ghost
// planes: a block-Jacobi preconditioner whose blocks are V-cycles for the slab's principal
// submatrix of A (symmetric positive definite, so CG stays valid; see docs/parallel.md for what it
// does to the iteration counts).
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/cell/linear_solver.hpp"
#include "kernels/halo.hpp"

namespace cordsim {

template <class Exec>
class ImplicitSolver {
  template <class T>
  using Buffer = typename Exec::template Buffer<T>;

 public:
  // Red–black sweeps before and after each coarse correction, and at the coarsest level.
  static constexpr int smoothing_sweeps = 3;
  static constexpr int coarsest_sweeps = 24;
  // Coarsening stops once no extent exceeds this.
  static constexpr int coarsest_extent = 4;

  // The vectors (6 float64 per voxel, plus about 1/7 of that for the coarse levels) are allocated
  // by the first solve, so runs without implicit species do not pay for them.
  void set_grid(const GridDims& dims, SlabHalo<Exec>* halo = nullptr) {
    dims_ = dims;
    halo_ = halo;
    for (auto* v : {&x_, &b_, &r_, &z_, &p_, &q_}) v->clear();
    invalidate();
  }

  // The multigrid hierarchy belongs to one operator; a new one must be built after the operator
  // (or α, β) changes.
  void invalidate() { hierarchy_owner_ = -1; }

  // Solves A x = b where ThetaRightHandSide (α, dt, 1 − θ) builds b from the field c, starting from
  // c, and writes x back to c. `owner` identifies the operator (its species) for the hierarchy cache.
  LinearSolveReport solve(int owner, const OperatorView& op, const std::uint8_t* tissue, real* c, double alpha,
                          double beta, double dt, double explicit_weight, const LinearSolverSettings& settings) {
    const std::size_t allocation = std::size_t(FieldLayout{dims_}.allocation());
    if (x_.size() != allocation) {
      for (auto* v : {&x_, &b_, &r_, &z_, &p_, &q_}) v->assign(allocation, 0.0);
      row_sums_.resize(std::size_t(dims_.rows()));
      host_rows_.resize(std::size_t(dims_.rows()));
    }
    const ShiftedOperator a{op, tissue, alpha, beta};
    // c's ghost planes are current (the back end exchanged them).
    Exec::for_each_voxel(dims_, ThetaRightHandSide{op, tissue, c, raw(b_), raw(x_), alpha, dt, explicit_weight});
    const bool multigrid = settings.preconditioner == LinearSolverSettings::Preconditioner::multigrid;
    if (multigrid && (hierarchy_owner_ != owner || hierarchy_alpha_ != alpha || hierarchy_beta_ != beta)) {
      build_hierarchy(a);
      hierarchy_owner_ = owner;
      hierarchy_alpha_ = alpha;
      hierarchy_beta_ = beta;
    }
    LinearSolveReport report;
    report.solves = 1;
    const double b_norm = std::sqrt(dot(b_, b_));
    if (b_norm == 0.0) {
      // A is non-singular, so b = 0 has the solution 0.
      Exec::for_each_voxel(dims_, ZeroVector{dims_, raw(x_)});
    } else {
      report.relative_residual = conjugate_gradients(a, b_norm, settings, multigrid, &report.iterations);
      report.converged = report.relative_residual <= settings.tolerance;
    }
    Exec::for_each_voxel(dims_, StoreSolution{dims_, raw(x_), c});
    return report;
  }

 private:
  struct Level {
    GridDims dims;
    Buffer<real> g[3], diag, rhs;
    Buffer<std::uint8_t> tissue;
    Buffer<double> x, b, r;
    ShiftedOperator op() {
      return ShiftedOperator{OperatorView{dims, {interior(g[0]), interior(g[1]), interior(g[2])}, interior(diag),
                                          interior(rhs)},
                             interior(tissue), 0.0, 1.0};
    }
    template <class T>
    T* interior(Buffer<T>& buffer) const { return Exec::raw(buffer) + FieldLayout{dims}.halo(); }
  };

  template <class T>
  T* raw(Buffer<T>& buffer) const { return Exec::raw(buffer) + FieldLayout{dims_}.halo(); }

  // Σ a·b over the grid: float64 row sums, added on the host in row order.
  double dot(Buffer<double>& a, Buffer<double>& b) {
    thrust::transform(Exec::policy(), thrust::counting_iterator<VoxelIndex>(0),
                      thrust::counting_iterator<VoxelIndex>(dims_.rows()), Exec::raw(row_sums_),
                      RowDot{dims_, raw(a), raw(b)});
    Exec::download(row_sums_, 0, host_rows_.size(), host_rows_.data());
    double sum = 0.0;
    for (double row : host_rows_) sum += row;
    return halo_ ? halo_->sum(sum) : sum;
  }

  // f over the fine grid, reading `field`'s neighbours (ghost planes exchanged on a slab).
  template <class F>
  void sweep(Buffer<double>& field, const F& f) {
    if (halo_)
      halo_->sweep(field, f);
    else
      Exec::for_each_voxel(dims_, f);
  }

  // Returns the final true relative residual; adds the iterations to *iterations.
  double conjugate_gradients(const ShiftedOperator& a, double b_norm, const LinearSolverSettings& settings,
                             bool multigrid, long* iterations) {
    for (;;) {
      sweep(x_, Residual{a, raw(x_), raw(b_), raw(r_)});
      double relative = std::sqrt(dot(r_, r_)) / b_norm;
      if (relative <= settings.tolerance || *iterations >= settings.max_iterations) return relative;
      precondition(a, multigrid);
      Exec::for_each_voxel(dims_, CgDirection{dims_, raw(z_), raw(p_), 0.0});
      double rz = dot(r_, z_);
      while (*iterations < settings.max_iterations) {
        sweep(p_, ApplyOperator{a, raw(p_), raw(q_)});
        const double step = rz / dot(p_, q_);
        Exec::for_each_voxel(dims_, CgAdvance{dims_, raw(p_), raw(q_), raw(x_), raw(r_), step});
        ++*iterations;
        relative = std::sqrt(dot(r_, r_)) / b_norm;
        if (relative <= settings.tolerance) break;
        precondition(a, multigrid);
        const double rz_next = dot(r_, z_);
        Exec::for_each_voxel(dims_, CgDirection{dims_, raw(z_), raw(p_), rz_next / rz});
        rz = rz_next;
      }
    }
  }

  // z = M r.
  void precondition(const ShiftedOperator& a, bool multigrid) {
    if (!multigrid) {
      Exec::for_each_voxel(dims_, JacobiPreconditioner{a, raw(r_), raw(z_)});
      return;
    }
    // Level 0 is the fine grid itself: solution z, right-hand side r, residual scratch q (free
    // while the preconditioner runs).
    Exec::for_each_voxel(dims_, ZeroVector{dims_, raw(z_)});
    cycle(a, dims_, raw(z_), raw(r_), raw(q_), 0);
  }

  // One V-cycle on `level` (0 = fine) for A x = b, improving x in place: pre-smoothing, the
  // coarse-grid correction (one V-cycle of the next level from 0), post-smoothing.
  void cycle(const ShiftedOperator& a, const GridDims& dims, double* x, const double* b, double* residual,
             std::size_t level) {
    if (level == levels_.size()) {
      solve_coarsest(a, dims, x, b);
      return;
    }
    relax(a, dims, x, b, smoothing_sweeps, 0);
    Exec::for_each_voxel(dims, Residual{a, x, b, residual});
    Level& coarse = levels_[level];
    Exec::for_each_voxel(coarse.dims, RestrictResidual{dims, coarse.dims, residual, coarse.interior(coarse.b)});
    Exec::for_each_voxel(coarse.dims, ZeroVector{coarse.dims, coarse.interior(coarse.x)});
    cycle(coarse.op(), coarse.dims, coarse.interior(coarse.x), coarse.interior(coarse.b), coarse.interior(coarse.r),
          level + 1);
    Exec::for_each_voxel(dims, ProlongAndCorrect{dims, coarse.dims, a.tissue, coarse.interior(coarse.x), x});
    relax(a, dims, x, b, smoothing_sweeps, 1);
  }

  // `sweeps` red–black sweeps in the order red, black (first = 0) or black, red (first = 1).
  void relax(const ShiftedOperator& a, const GridDims& dims, double* x, const double* b, int sweeps, int first) {
    for (int s = 0; s < sweeps; ++s) {
      Exec::for_each_voxel(dims, RedBlackRelax{a, b, x, first});
      Exec::for_each_voxel(dims, RedBlackRelax{a, b, x, 1 - first});
    }
  }

  // Symmetric coarsest solve: red-black sweeps, then as many black-red.
  void solve_coarsest(const ShiftedOperator& a, const GridDims& dims, double* x, const double* b) {
    relax(a, dims, x, b, coarsest_sweeps, 0);
    relax(a, dims, x, b, coarsest_sweeps, 1);
  }

  void build_hierarchy(const ShiftedOperator& fine) {
    std::vector<GridDims> coarse_dims;
    GridDims d = dims_;
    while (d.nx > coarsest_extent || d.ny > coarsest_extent || d.nz > coarsest_extent) {
      d = GridDims{(d.nx + 1) / 2, (d.ny + 1) / 2, (d.nz + 1) / 2};
      coarse_dims.push_back(d);
    }
    if (levels_.size() != coarse_dims.size()) levels_ = std::vector<Level>(coarse_dims.size());
    ShiftedOperator parent = fine;
    for (std::size_t l = 0; l < coarse_dims.size(); ++l) {
      Level& level = levels_[l];
      if (level.dims.nx != coarse_dims[l].nx || level.dims.ny != coarse_dims[l].ny ||
          level.dims.nz != coarse_dims[l].nz) {
        level.dims = coarse_dims[l];
        const std::size_t allocation = std::size_t(FieldLayout{level.dims}.allocation());
        for (auto* f : {&level.g[0], &level.g[1], &level.g[2], &level.diag, &level.rhs})
          f->assign(allocation, real(0));
        level.tissue.assign(allocation, 0);
        for (auto* v : {&level.x, &level.b, &level.r}) v->assign(allocation, 0.0);
      }
      const ShiftedOperator coarse = level.op();
      MutableOperatorView out{level.dims,
                              {level.interior(level.g[0]), level.interior(level.g[1]), level.interior(level.g[2])},
                              level.interior(level.diag), level.interior(level.rhs)};
      Exec::for_each_voxel(level.dims, CoarsenOperator{parent, out, level.interior(level.tissue)});
      parent = coarse;
    }
  }

  GridDims dims_;
  SlabHalo<Exec>* halo_ = nullptr;  // ghost planes and global sums on a slab (inactive on one rank)
  Buffer<double> x_, b_, r_, z_, p_, q_;
  Buffer<double> row_sums_;
  std::vector<double> host_rows_;
  std::vector<Level> levels_;
  int hierarchy_owner_ = -1;
  double hierarchy_alpha_ = 0.0, hierarchy_beta_ = 0.0;
};

}  // namespace cordsim
