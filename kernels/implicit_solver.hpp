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
// unchanged (A_vv is local), and the multigrid V-cycle is the one-rank V-cycle (docs/parallel.md):
//   - the slab cuts are multiples of 2^L (SlabPlacement), so the levels 0 .. L − 1 are distributed:
//     a slab's planes [z0, z1) of level l coarsen to [z0 / 2, ceil(z1 / 2)) of level l + 1, the
//     planes of the one-rank hierarchy, and every coarse voxel's children are on its rank;
//   - on those levels every red or black half-sweep and every residual first refreshes the ghost
//     planes of x (a red–black sweep with current ghosts is exactly the one-rank sweep; z0 is even,
//     so the local colours are the global ones), and each level has its own ghost planes;
//   - their coarse operators are built from the slab's own fine planes (every child is local), and
//     the face conductance g_z of the plane below the first owned one comes from the neighbour;
//   - level L is gathered: each rank restricts its planes of the right-hand side, an all-gather
//     gives every rank the whole level-L grid, and the rest of the V-cycle runs redundantly (the
//     same on every rank) on the whole grid; each rank prolongs from its own planes of it. Level L's
//     operator is gathered once per hierarchy. L = 0 gathers the fine residual itself.
// The preconditioner is then the serial one voxel for voxel, and CG's iteration counts those of one
// rank (up to the rounding of the dot products).
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform.h>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <stdexcept>
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
  static constexpr int coarsest_extent = multigrid_coarsest_extent;

  // The vectors (6 float64 per voxel, plus about 1/7 of that for the coarse levels) are allocated
  // by the first solve, so runs without implicit species do not pay for them. On a slab (halo
  // active), `placement` says where it lies in the global grid.
  void set_grid(const GridDims& dims, SlabHalo<Exec>* halo = nullptr, const SlabPlacement* placement = nullptr) {
    dims_ = dims;
    halo_ = halo;
    distributed_ = halo && halo->active();
    if (distributed_ && !placement) throw std::logic_error("a decomposed linear solve needs the slab placement");
    if (distributed_) placement_ = *placement;
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
      if (distributed_)
        build_slab_hierarchy(a);
      else
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
    if (!distributed_) {
      cycle(levels_, a, dims_, raw(z_), raw(r_), raw(q_), 0);
    } else if (gather_level_ > 0) {
      slab_cycle(0, a, *halo_, z_, raw(r_), raw(q_));
    } else {
      Exec::for_each_voxel(dims_, CopyVector{dims_, gathered_cycle(dims_, raw(r_)), raw(z_)});
    }
  }

  // One V-cycle on `level` (0 = fine) for A x = b, improving x in place: pre-smoothing, the
  // coarse-grid correction (one V-cycle of the next level from 0), post-smoothing.
  // `levels`: the coarse levels below `a` (levels_ on one rank; on a slab, those below the gathered level).
  void cycle(std::vector<Level>& levels, const ShiftedOperator& a, const GridDims& dims, double* x, const double* b,
             double* residual, std::size_t level) {
    if (level == levels.size()) {
      solve_coarsest(a, dims, x, b);
      return;
    }
    relax(a, dims, x, b, smoothing_sweeps, 0);
    Exec::for_each_voxel(dims, Residual{a, x, b, residual});
    Level& coarse = levels[level];
    Exec::for_each_voxel(coarse.dims, RestrictResidual{dims, coarse.dims, residual, coarse.interior(coarse.b)});
    Exec::for_each_voxel(coarse.dims, ZeroVector{coarse.dims, coarse.interior(coarse.x)});
    cycle(levels, coarse.op(), coarse.dims, coarse.interior(coarse.x), coarse.interior(coarse.b),
          coarse.interior(coarse.r), level + 1);
    Exec::for_each_voxel(dims, ProlongAndCorrect{dims, coarse.dims, a.tissue, coarse.interior(coarse.x), x});
    relax(a, dims, x, b, smoothing_sweeps, 1);
  }

  // `sweeps` red–black sweeps in the order red, black (first = 0) or black, red (first = 1).
  void relax(const ShiftedOperator& a, const GridDims& dims, double* x, const double* b, int sweeps, int first) {
    for (int s = 0; s < sweeps; ++s) {
      Exec::for_each_voxel(RedBlackRelaxHalf::launch(dims), RedBlackRelaxHalf{{a, b, x, first}});
      Exec::for_each_voxel(RedBlackRelaxHalf::launch(dims), RedBlackRelaxHalf{{a, b, x, 1 - first}});
    }
  }

  // Symmetric coarsest solve: red-black sweeps, then as many black-red.
  void solve_coarsest(const ShiftedOperator& a, const GridDims& dims, double* x, const double* b) {
    relax(a, dims, x, b, coarsest_sweeps, 0);
    relax(a, dims, x, b, coarsest_sweeps, 1);
  }

  void build_hierarchy(const ShiftedOperator& fine) {
    const std::vector<GridDims> coarse_dims = multigrid_coarse_dims(dims_);
    if (levels_.size() != coarse_dims.size()) levels_ = std::vector<Level>(coarse_dims.size());
    build_levels(levels_, coarse_dims, fine);
  }

  // Galerkin coarse operators of `levels` (dims `coarse_dims`), each from the one above, starting from `parent`.
  static void build_levels(std::vector<Level>& levels, const std::vector<GridDims>& coarse_dims,
                           ShiftedOperator parent) {
    for (std::size_t l = 0; l < coarse_dims.size(); ++l) {
      Level& level = levels[l];
      allocate(level, coarse_dims[l]);
      const ShiftedOperator coarse = level.op();
      Exec::for_each_voxel(level.dims, CoarsenOperator{parent, mutable_view(level, 0), level.interior(level.tissue)});
      parent = coarse;
    }
  }

  static void allocate(Level& level, const GridDims& dims) {
    if (level.dims.nx == dims.nx && level.dims.ny == dims.ny && level.dims.nz == dims.nz) return;
    level.dims = dims;
    const std::size_t allocation = std::size_t(FieldLayout{level.dims}.allocation());
    for (auto* f : {&level.g[0], &level.g[1], &level.g[2], &level.diag, &level.rhs}) f->assign(allocation, real(0));
    level.tissue.assign(allocation, 0);
    for (auto* v : {&level.x, &level.b, &level.r}) v->assign(allocation, 0.0);
  }

  // The operator arrays of `level` from voxel `offset` on, as a view of `dims` (default: the level's).
  static MutableOperatorView mutable_view(Level& level, std::size_t offset, GridDims dims = GridDims{}) {
    if (dims.nx == 0) dims = level.dims;
    return MutableOperatorView{dims,
                               {level.interior(level.g[0]) + offset, level.interior(level.g[1]) + offset,
                                level.interior(level.g[2]) + offset},
                               level.interior(level.diag) + offset, level.interior(level.rhs) + offset};
  }

  // ---- the V-cycle on a slab (see the header comment) --------------------------------------

  // Rank r's planes [first, end) of level l.
  int first_plane(int r, int l) const { return placement_.cuts[std::size_t(r)] >> l; }
  int end_plane(int r, int l, const GridDims& level_dims) const {
    return r + 2 < int(placement_.cuts.size()) ? placement_.cuts[std::size_t(r) + 1] >> l : level_dims.nz;
  }

  void build_slab_hierarchy(const ShiftedOperator& fine) {
    const int ranks = int(placement_.cuts.size()) - 1;
    const int me = placement_.rank;
    const GridDims global{dims_.nx, dims_.ny, placement_.cuts.back()};
    const std::vector<GridDims> coarse_dims = multigrid_coarse_dims(global);
    const int depth = int(coarse_dims.size());
    const int gather = std::min(placement_.multigrid_levels, depth);
    for (int r = 0; r < ranks; ++r)
      if (placement_.cuts[std::size_t(r)] % (1 << gather) != 0)
        throw std::logic_error("the slab cuts are not aligned to the distributed multigrid levels");
    if (end_plane(me, 0, global) - first_plane(me, 0) != dims_.nz)
      throw std::logic_error("the slab placement does not match the slab");
    gather_level_ = gather;
    const auto level_dims = [&](int l) { return l == 0 ? global : coarse_dims[std::size_t(l) - 1]; };

    // Levels 1 .. L − 1: this rank's planes, with ghost planes of their own.
    if (slab_levels_.size() != std::size_t(std::max(gather - 1, 0))) {
      slab_levels_ = std::vector<Level>(std::size_t(std::max(gather - 1, 0)));
      slab_halos_ = std::vector<SlabHalo<Exec>>(slab_levels_.size());
    }
    ShiftedOperator parent = fine;
    for (int l = 1; l < gather; ++l) {
      const GridDims whole = level_dims(l);
      Level& level = slab_levels_[std::size_t(l) - 1];
      allocate(level, GridDims{whole.nx, whole.ny, end_plane(me, l, whole) - first_plane(me, l)});
      slab_halos_[std::size_t(l) - 1].configure(halo_->exchange(), level.dims);
      Exec::for_each_voxel(level.dims, CoarsenOperator{parent, mutable_view(level, 0), level.interior(level.tissue)});
      // The stencil of the first owned plane reads g_z of the plane below: the neighbour's.
      slab_halos_[std::size_t(l) - 1].exchange(level.g[2]);
      parent = level.op();
    }

    // Level L, whole on every rank: this rank's planes computed here, the others' gathered.
    const GridDims whole = level_dims(gather);
    allocate(gathered_, whole);
    const std::size_t plane = std::size_t(whole.nx) * std::size_t(whole.ny);
    gathered_counts_.assign(std::size_t(ranks), 0);
    for (int r = 0; r < ranks; ++r)
      gathered_counts_[std::size_t(r)] = std::size_t(end_plane(r, gather, whole) - first_plane(r, gather)) * plane;
    gathered_owned_ = GridDims{whole.nx, whole.ny, end_plane(me, gather, whole) - first_plane(me, gather)};
    gathered_offset_ = std::size_t(first_plane(me, gather)) * plane;
    const MutableOperatorView mine = mutable_view(gathered_, gathered_offset_, gathered_owned_);
    std::uint8_t* mine_tissue = gathered_.interior(gathered_.tissue) + gathered_offset_;
    if (gather == 0)
      Exec::for_each_voxel(gathered_owned_, CopyOperator{fine.op, fine.tissue, mine, mine_tissue});
    else
      Exec::for_each_voxel(gathered_owned_, CoarsenOperator{parent, mine, mine_tissue});
    const std::size_t first = std::size_t(FieldLayout{whole}.halo());
    for (auto* f : {&gathered_.g[0], &gathered_.g[1], &gathered_.g[2], &gathered_.diag, &gathered_.rhs})
      halo_->allgather(*f, first, gathered_counts_, me);
    halo_->allgather(gathered_.tissue, first, gathered_counts_, me);
    gathered_op_ = gathered_.op();
    if (gather == 0) {
      gathered_op_.alpha = fine.alpha;  // the fine operator keeps α and β apart
      gathered_op_.beta = fine.beta;
    }

    // Levels L + 1 .. : the one-rank hierarchy below level L, built alike on every rank.
    const std::vector<GridDims> below(coarse_dims.begin() + gather, coarse_dims.end());
    if (gathered_levels_.size() != below.size()) gathered_levels_ = std::vector<Level>(below.size());
    build_levels(gathered_levels_, below, gathered_op_);
  }

  // One V-cycle from distributed level `level` < L, with its operator `a` (dims: the owned planes),
  // improving x (in `x_buffer`, whose ghost planes `halo` refreshes) for the right-hand side b.
  void slab_cycle(int level, const ShiftedOperator& a, SlabHalo<Exec>& halo, Buffer<double>& x_buffer,
                  const double* b, double* residual) {
    const GridDims dims = a.op.dims;
    double* x = Exec::raw(x_buffer) + FieldLayout{dims}.halo();
    slab_relax(halo, x_buffer, a, b, smoothing_sweeps, 0);
    halo.sweep(x_buffer, Residual{a, x, b, residual});
    if (level + 1 < gather_level_) {
      Level& coarse = slab_levels_[std::size_t(level)];
      Exec::for_each_voxel(coarse.dims, RestrictResidual{dims, coarse.dims, residual, coarse.interior(coarse.b)});
      Exec::for_each_voxel(coarse.dims, ZeroVector{coarse.dims, coarse.interior(coarse.x)});
      slab_cycle(level + 1, coarse.op(), slab_halos_[std::size_t(level)], coarse.x, coarse.interior(coarse.b),
                 coarse.interior(coarse.r));
      Exec::for_each_voxel(dims, ProlongAndCorrect{dims, coarse.dims, a.tissue, coarse.interior(coarse.x), x});
    } else {
      const double* coarse_x = gathered_cycle(dims, residual);
      Exec::for_each_voxel(dims, ProlongAndCorrect{dims, gathered_owned_, a.tissue, coarse_x, x});
    }
    slab_relax(halo, x_buffer, a, b, smoothing_sweeps, 1);
  }

  // Level L from the residual of level L − 1 on this rank's planes (the residual itself for L = 0):
  // restricts it into this rank's planes of the whole level-L right-hand side, gathers the others',
  // runs the rest of the V-cycle on the whole grid and returns this rank's planes of its solution.
  const double* gathered_cycle(const GridDims& fine_dims, const double* fine_residual) {
    double* b_mine = gathered_.interior(gathered_.b) + gathered_offset_;
    if (gather_level_ == 0)
      Exec::for_each_voxel(gathered_owned_, CopyVector{gathered_owned_, fine_residual, b_mine});
    else
      Exec::for_each_voxel(gathered_owned_, RestrictResidual{fine_dims, gathered_owned_, fine_residual, b_mine});
    halo_->allgather(gathered_.b, std::size_t(FieldLayout{gathered_.dims}.halo()), gathered_counts_, placement_.rank);
    Exec::for_each_voxel(gathered_.dims, ZeroVector{gathered_.dims, gathered_.interior(gathered_.x)});
    cycle(gathered_levels_, gathered_op_, gathered_.dims, gathered_.interior(gathered_.x),
          gathered_.interior(gathered_.b), gathered_.interior(gathered_.r), 0);
    return gathered_.interior(gathered_.x) + gathered_offset_;
  }

  // relax() on a slab: the ghost planes of x refreshed before each colour's half-sweep.
  static void slab_relax(SlabHalo<Exec>& halo, Buffer<double>& x_buffer, const ShiftedOperator& a, const double* b,
                         int sweeps, int first) {
    double* x = Exec::raw(x_buffer) + FieldLayout{a.op.dims}.halo();
    for (int s = 0; s < sweeps; ++s) {
      halo.sweep(x_buffer, RedBlackRelax{a, b, x, first});
      halo.sweep(x_buffer, RedBlackRelax{a, b, x, 1 - first});
    }
  }

  GridDims dims_;
  SlabHalo<Exec>* halo_ = nullptr;  // ghost planes and global sums on a slab (inactive on one rank)
  bool distributed_ = false;         // a slab of a decomposed grid
  SlabPlacement placement_;
  Buffer<double> x_, b_, r_, z_, p_, q_;
  Buffer<double> row_sums_;
  std::vector<double> host_rows_;
  std::vector<Level> levels_;
  // On a slab: levels 1 .. L − 1 (this rank's planes) and their ghost planes; level L whole, its
  // operator (with α, β for L = 0), the voxels of each rank's planes and where this rank's start;
  // the levels below L (whole).
  int gather_level_ = 0;
  std::vector<Level> slab_levels_;
  std::vector<SlabHalo<Exec>> slab_halos_;
  Level gathered_;
  ShiftedOperator gathered_op_{};
  std::vector<std::size_t> gathered_counts_;
  GridDims gathered_owned_;
  std::size_t gathered_offset_ = 0;
  std::vector<Level> gathered_levels_;
  int hierarchy_owner_ = -1;
  double hierarchy_alpha_ = 0.0, hierarchy_beta_ = 0.0;
};

}  // namespace cordsim
