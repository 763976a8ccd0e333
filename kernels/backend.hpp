#pragma once
// The interface the host program drives: fields live in the back end's memory (host RAM for the
// CPU back end, device memory for CUDA); the host uploads model inputs and initial fields,
// advances species, and downloads fields and totals for output. Both back ends are the same
// template (backend_impl.hpp) over different loop launchers, so they run the same per-voxel math.
//
// Storage precision: the back ends keep fields, operators and model inputs as `real`
// (kernels/cell/real.hpp): float32, or float64 in a build configured with -DCORDSIM_DOUBLE=ON (a
// verification build; docs/numerics.md). The host arrays below may be float or double either way:
// they are converted to and from `real` at the interface, so a float64 build driven through the
// float overloads (as the run command and the ALS model do) computes in float64 but takes its
// inputs and gives its fields rounded to float32, while the double overloads keep every digit.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cell/diffusion.hpp"
#include "kernels/cell/grid.hpp"

namespace cordsim {

// Host-side model inputs of one species (nx·ny·nz values of type T each, T = float or double).
template <class T>
struct SpeciesCoefficientsOf {
  const T* diffusivity[3] = {nullptr, nullptr, nullptr};  // µm²/s along x, y, z
  const T* decay = nullptr;                               // 1/s
  const T* source = nullptr;                              // nM/s
  BoundaryParams boundary;
};
using SpeciesCoefficients = SpeciesCoefficientsOf<float>;

// Settings of the implicit and quasi-steady solves (kernels/cell/linear_solver.hpp): conjugate
// gradients, preconditioned by Jacobi or by a geometric multigrid V-cycle, stopped when the
// relative residual ‖b − A x‖ / ‖b‖ (float64) reaches `tolerance`.
struct LinearSolverSettings {
  enum class Preconditioner { jacobi, multigrid };
  double tolerance = 1e-8;
  int max_iterations = 500;
  Preconditioner preconditioner = Preconditioner::multigrid;
};

// What one call's solves did: CG iterations summed over them, the largest final relative
// residual (recomputed from b − A x, not the recurrence), and whether every solve converged.
// A call stops at the first solve that does not converge and leaves the field at its last iterate.
struct LinearSolveReport {
  long iterations = 0;
  long solves = 0;
  double relative_residual = 0.0;
  bool converged = true;
};

// The communication a slab-decomposed run needs (docs/parallel.md), implemented with MPI in
// host/parallel/mpi_exchange.cpp. Ranks own consecutive runs of whole z-planes in rank order; a
// rank's neighbours are the ranks owning the planes just below and above its own.
class HaloExchange {
 public:
  virtual ~HaloExchange() = default;
  virtual bool lower() const = 0;  // a rank owns the planes below this one's
  virtual bool upper() const = 0;  // ... and above
  // Whether start() may be given device pointers (CUDA-aware MPI); else the back end stages.
  virtual bool accepts_device_memory() const = 0;
  // Posts sending `bytes` from send_lower to the rank below and from send_upper to the rank above,
  // and receiving as many into recv_lower (from below) and recv_upper (from above); the pointers of
  // a missing neighbour are null. finish() waits for all four.
  virtual void start(const void* send_lower, const void* send_upper, void* recv_lower, void* recv_upper,
                     std::size_t bytes) = 0;
  virtual void finish() = 0;
  // Global reductions, identical on every rank: the sum adds the ranks' values in rank order.
  virtual double sum(double local) = 0;
  virtual double max(double local) = 0;
  // Σ over all ranks' terms, added one by one in rank order and term order (as one rank would).
  virtual double ordered_sum(const std::vector<double>& local_terms) = 0;
  // In-place all-gather: `data` holds every rank's block, rank r's `bytes[r]` bytes following the
  // blocks of ranks 0 .. r − 1; each rank has filled its own block, and on return every rank holds
  // all of them. `data` may be device memory when accepts_device_memory().
  virtual void allgather(void* data, const std::vector<std::size_t>& bytes) = 0;
};

// Where a rank's slab lies in the global grid (Backend::set_decomposition): rank r owns the global
// planes [cuts[r], cuts[r + 1]), cuts.back() is the global nz. `multigrid_levels` (L): the cuts are
// multiples of 2^L, so the multigrid levels 0 .. L − 1 stay distributed over the slabs and level L
// is gathered to every rank (kernels/implicit_solver.hpp).
struct SlabPlacement {
  int rank = 0;
  std::vector<int> cuts;
  int multigrid_levels = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // e.g. "cpu (OpenMP, 2 threads)" or "cuda (NVIDIA H100, sm_90)".
  virtual std::string description() const = 0;

  // Makes this back end one slab of a decomposed grid (before initialise; null: the whole grid).
  // The grid given to initialise, and every host array of set_coefficients, set_concentration and
  // get_concentration, then covers the rank's planes plus one ghost plane below (if lower()) and
  // one above (if upper()), as sliced from the global arrays; the back end computes the owned
  // planes only (the ghosts of get_concentration are not current), and stability_limit,
  // total_amount and the linear solves are global over all ranks. `placement` says where the slab
  // lies (the multigrid preconditioner needs it to apply the one-rank V-cycle).
  virtual void set_decomposition(HaloExchange* exchange, const SlabPlacement& placement) = 0;

  // Allocates n_species fields (zero) and their operators; `tissue` has dims.size() entries.
  virtual void initialise(const GridDims& dims, const Spacing& spacing, int n_species,
                          const std::uint8_t* tissue) = 0;

  // Assembles the species' operator from its per-voxel inputs (on the back end).
  virtual void set_coefficients(int species, const SpeciesCoefficientsOf<float>& coefficients) = 0;
  virtual void set_coefficients(int species, const SpeciesCoefficientsOf<double>& coefficients) = 0;

  // The field of a species, converted from or to the host type (see the header comment).
  virtual void set_concentration(int species, const float* host) = 0;
  virtual void set_concentration(int species, const double* host) = 0;
  virtual void get_concentration(int species, float* host) const = 0;
  virtual void get_concentration(int species, double* host) const = 0;

  // Largest forward-Euler step (s) that keeps every voxel stable and non-negative.
  virtual double stability_limit(int species) const = 0;

  // `steps` forward-Euler steps of size dt (s).
  virtual void step_explicit(int species, double dt, long steps) = 0;

  // `steps` RKL2 super-steps of size tau (s) with `stages` stages each (kernels/cell/rkl2.hpp).
  virtual void step_rkl2(int species, double tau, int stages, long steps) = 0;

  // `steps` θ-method steps of size dt (s): (I − θ dt L_h) cⁿ⁺¹ = cⁿ + dt ((1 − θ) L_h cⁿ + rhs);
  // θ = 1 backward Euler, θ = ½ Crank–Nicolson. Each solve starts from cⁿ.
  virtual LinearSolveReport step_theta(int species, double dt, double theta, long steps,
                                       const LinearSolverSettings& settings) = 0;

  // The quasi-steady field: −L_h c = rhs (D∇²c − k c + S = 0), starting from the current field.
  virtual LinearSolveReport solve_quasi_steady(int species, const LinearSolverSettings& settings) = 0;

  // Σ c · V over tissue voxels (ymol, as nM·µm³), in float64 and in a fixed summation order.
  virtual double total_amount(int species) const = 0;
};

enum class BackendKind { cpu, cuda };

bool cuda_backend_built();
// Number of CUDA devices usable by this process (0 when the back end is not built or no device).
int cuda_device_count();
// Free memory of CUDA device `device` in bytes (cudaMemGetInfo); UINT64_MAX when it cannot be
// asked (no CUDA back end, no such device), so that a check against it never refuses.
std::uint64_t cuda_device_free_bytes(int device);

// threads ≤ 0: OpenMP's default.
std::unique_ptr<Backend> make_cpu_backend(int threads);
// Throws std::runtime_error when the CUDA back end is not built or no device is present.
std::unique_ptr<Backend> make_cuda_backend(int device);

}  // namespace cordsim
