#pragma once
// The one implementation of Backend, written once over an execution model `Exec` that supplies:
//   Exec::Buffer<T>                 a contiguous array in the back end's memory
//   Exec::raw(buffer)               its raw pointer
//   Exec::upload(host, n, buffer, offset) / Exec::download(buffer, offset, n, host)
//   Exec::for_each_voxel(dims, f)   calls f(i, j, k) for every voxel (the thin launcher)
//   Exec::policy()                  the Thrust execution policy for reductions
//   Exec::host_memory               whether buffers are in host memory
// Included by kernels/cpu/backend_cpu.cpp (OpenMP) and kernels/cuda/backend_cuda.cu (CUDA).
#include <thrust/copy.h>
#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform.h>
#include <thrust/transform_reduce.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/cell/rkl2.hpp"
#include "kernels/halo.hpp"
#include "kernels/implicit_solver.hpp"

namespace cordsim {

// What a back end's description adds about its storage: nothing for float32, ", float64" in a
// CORDSIM_DOUBLE build (so logs, run metadata and checkpoints tell the two apart).
inline std::string storage_note() { return std::is_same_v<real, float> ? "" : std::string(", ") + kRealName; }

template <class Exec>
class BackendImpl final : public Backend {
  template <class T>
  using Buffer = typename Exec::template Buffer<T>;

 public:
  explicit BackendImpl(std::string description) : description_(std::move(description)) {}

  std::string description() const override { return description_; }

  void set_decomposition(HaloExchange* exchange, const SlabPlacement& placement) override {
    exchange_ = exchange;
    placement_ = placement;
  }

  // `dims`: the owned planes plus the ghost planes (Backend::set_decomposition); the arrays keep
  // the FieldLayout of the owned planes, whose halo planes hold the ghosts.
  void initialise(const GridDims& dims, const Spacing& spacing, int n_species,
                  const std::uint8_t* tissue) override {
    const int below = exchange_ && exchange_->lower() ? 1 : 0;
    const int above = exchange_ && exchange_->upper() ? 1 : 0;
    if (dims.nz - below - above < 1)
      throw std::runtime_error("a slab of the decomposed grid must own at least one z-plane");
    slab_dims_ = dims;
    dims_ = GridDims{dims.nx, dims.ny, dims.nz - below - above};
    spacing_ = spacing;
    layout_ = FieldLayout{dims_};
    slab_offset_ = std::size_t(layout_.halo()) * std::size_t(1 - below);
    halo_.configure(exchange_, dims_);
    const std::size_t allocation = std::size_t(layout_.allocation());
    tissue_.assign(allocation, 0);
    Exec::upload(tissue, std::size_t(slab_dims_.size()), tissue_, slab_offset_);
    species_.clear();
    species_.resize(std::size_t(n_species));
    for (auto& s : species_) {
      for (auto* buffer : {&s.concentration, &s.scratch, &s.g[0], &s.g[1], &s.g[2], &s.diag, &s.rhs})
        buffer->assign(allocation, real(0));
    }
    row_sums_.resize(std::size_t(dims.rows()));
    solver_.set_grid(dims_, &halo_, exchange_ ? &placement_ : nullptr);
  }

  void set_coefficients(int species, const SpeciesCoefficientsOf<float>& coefficients) override {
    assemble(species, coefficients);
  }
  void set_coefficients(int species, const SpeciesCoefficientsOf<double>& coefficients) override {
    assemble(species, coefficients);
  }

  void set_concentration(int species, const float* host) override { upload_field(species, host); }
  void set_concentration(int species, const double* host) override { upload_field(species, host); }
  void get_concentration(int species, float* host) const override { download_field(species, host); }
  void get_concentration(int species, double* host) const override { download_field(species, host); }

  double stability_limit(int species) const override {
    const real local_max_rate = thrust::transform_reduce(
        Exec::policy(), thrust::counting_iterator<VoxelIndex>(0),
        thrust::counting_iterator<VoxelIndex>(dims_.size()),
        ExchangeRate{operator_view(species)}, real(0), thrust::maximum<real>());
    const double max_rate = halo_.max(double(local_max_rate));
    return max_rate > 0.0 ? 1.0 / max_rate : 1e300;
  }

  void step_explicit(int species, double dt, long steps) override {
    SpeciesFields& s = at(species);
    const OperatorView op = operator_view(species);
    for (long n = 0; n < steps; ++n) {
      halo_.sweep(s.concentration,
                  ForwardEulerStep{op, interior(s.concentration), interior(s.scratch), real(dt)});
      s.concentration.swap(s.scratch);
    }
  }

  void step_rkl2(int species, double tau, int stages, long steps) override {
    SpeciesFields& s = at(species);
    const std::size_t allocation = std::size_t(layout_.allocation());
    // Two increment buffers besides scratch, and τ L(Y_0); allocated on first use only.
    for (auto* buffer : {&s.stage_a, &s.stage_b, &s.tau_l0})
      if (buffer->size() != allocation) buffer->assign(allocation, real(0));
    const OperatorView op = operator_view(species);
    const real t = real(tau);
    for (long n = 0; n < steps; ++n) {
      // Δ_{j−2}, Δ_{j−1}, Δ_j rotate through scratch, stage_a, stage_b; Y_0 stays in concentration.
      auto* prev2 = &s.scratch;
      auto* prev = &s.stage_a;
      auto* next = &s.stage_b;
      halo_.sweep(s.concentration, Rkl2FirstStage{op, interior(s.concentration), interior(s.tau_l0),
                                                  interior(*prev), t, rkl2_first_stage_weight(stages)});
      for (int j = 2; j < stages; ++j) {
        halo_.sweep(*prev, Rkl2Stage<false>{op, interior(*prev), interior(*prev2), interior(s.tau_l0),
                                            interior(s.concentration), interior(*next),
                                            rkl2_stage(stages, j), t});
        auto* free = prev2;
        prev2 = prev;
        prev = next;
        next = free;
      }
      halo_.sweep(*prev, Rkl2Stage<true>{op, interior(*prev), interior(*prev2), interior(s.tau_l0),
                                         interior(s.concentration), interior(*next),
                                         rkl2_stage(stages, stages), t});
      s.concentration.swap(*next);
    }
  }

  LinearSolveReport step_theta(int species, double dt, double theta, long steps,
                               const LinearSolverSettings& settings) override {
    LinearSolveReport total;
    for (long n = 0; n < steps && total.converged; ++n) {
      halo_.exchange(at(species).concentration);  // Crank–Nicolson's right-hand side reads the neighbours
      accumulate(total, solver_.solve(species, operator_view(species), interior(tissue_),
                                      interior(at(species).concentration), 1.0, theta * dt, dt, 1.0 - theta,
                                      settings));
    }
    return total;
  }

  LinearSolveReport solve_quasi_steady(int species, const LinearSolverSettings& settings) override {
    return solver_.solve(species, operator_view(species), interior(tissue_), interior(at(species).concentration),
                         0.0, 1.0, 1.0, 0.0, settings);
  }

  double total_amount(int species) const override {
    const SpeciesFields& s = at(species);
    thrust::transform(Exec::policy(), thrust::counting_iterator<VoxelIndex>(0),
                      thrust::counting_iterator<VoxelIndex>(dims_.rows()),
                      Exec::raw(row_sums_),
                      TissueRowSum{dims_, interior(s.concentration), interior(tissue_)});
    std::vector<double> host(row_sums_.size());
    Exec::download(row_sums_, 0, host.size(), host.data());
    double total = 0.0;
    if (halo_.active()) {
      total = exchange_->ordered_sum(host);  // the global rows in order, as on one rank: bitwise equal
    } else {
      for (double row : host) total += row;
    }
    return total * double(spacing_.volume());
  }

 private:
  template <class T>
  void assemble(int species, const SpeciesCoefficientsOf<T>& coefficients) {
    const std::size_t n = std::size_t(slab_dims_.size());
    // Model inputs only live on the back end while the operator is assembled from them. The
    // assembly reads them at the voxel itself and its upper neighbours, which stay inside the
    // array because it reads them only where the neighbour is tissue. A slab assembles its ghost
    // planes too (into the halo planes): the owned planes then see the neighbours exactly as the
    // whole grid would, and the conductance of the face below the first owned plane lands in the
    // halo of gz, where the kernels read it, so the operator equals the serial one bit for bit.
    std::array<Buffer<real>, 5> inputs;
    const T* host_inputs[5] = {coefficients.diffusivity[0], coefficients.diffusivity[1],
                               coefficients.diffusivity[2], coefficients.decay, coefficients.source};
    for (int a = 0; a < 5; ++a) {
      inputs[std::size_t(a)].resize(n);
      upload_real(host_inputs[a], n, inputs[std::size_t(a)], 0);
    }
    CoefficientView in{slab_dims_, spacing_, Exec::raw(tissue_) + slab_offset_,
                       {Exec::raw(inputs[0]), Exec::raw(inputs[1]), Exec::raw(inputs[2])},
                       Exec::raw(inputs[3]), Exec::raw(inputs[4]), coefficients.boundary};
    SpeciesFields& s = at(species);
    const MutableOperatorView out{slab_dims_,
                                  {slab(s.g[0]), slab(s.g[1]), slab(s.g[2])}, slab(s.diag), slab(s.rhs)};
    Exec::for_each_voxel(slab_dims_, AssembleOperator{in, out});
    solver_.invalidate();
  }

  // A species' field from or to a host array of type T, converted to or from real unless T is real.
  template <class T>
  void upload_field(int species, const T* host) {
    upload_real(host, std::size_t(slab_dims_.size()), at(species).concentration, slab_offset_);
  }
  template <class T>
  void download_field(int species, T* host) const {
    const std::size_t n = std::size_t(slab_dims_.size());
    if constexpr (std::is_same_v<T, real>) {
      Exec::download(at(species).concentration, slab_offset_, n, host);
    } else {
      std::vector<real> staged(n);
      Exec::download(at(species).concentration, slab_offset_, n, staged.data());
      std::transform(staged.begin(), staged.end(), host, [](real x) { return T(x); });
    }
  }
  template <class T>
  static void upload_real(const T* host, std::size_t n, Buffer<real>& buffer, std::size_t offset) {
    if constexpr (std::is_same_v<T, real>) {
      Exec::upload(host, n, buffer, offset);
    } else {
      std::vector<real> staged(n);
      std::transform(host, host + n, staged.begin(), [](T x) { return real(x); });
      Exec::upload(staged.data(), n, buffer, offset);
    }
  }

  struct SpeciesFields {
    Buffer<real> concentration, scratch;
    Buffer<real> g[3], diag, rhs;
    Buffer<real> stage_a, stage_b, tau_l0;  // RKL2 only
  };

  static void accumulate(LinearSolveReport& total, const LinearSolveReport& one) {
    total.iterations += one.iterations;
    total.solves += one.solves;
    total.relative_residual = std::max(total.relative_residual, one.relative_residual);
    total.converged = total.converged && one.converged;
  }

  SpeciesFields& at(int species) { return species_.at(std::size_t(species)); }
  const SpeciesFields& at(int species) const { return species_.at(std::size_t(species)); }

  MutableOperatorView mutable_operator(int species) {
    SpeciesFields& s = at(species);
    return MutableOperatorView{dims_, {interior(s.g[0]), interior(s.g[1]), interior(s.g[2])},
                               interior(s.diag), interior(s.rhs)};
  }

  OperatorView operator_view(int species) const {
    const SpeciesFields& s = at(species);
    return OperatorView{dims_, {interior(s.g[0]), interior(s.g[1]), interior(s.g[2])},
                        interior(s.diag), interior(s.rhs)};
  }

  // Halo-padded buffers (FieldLayout): the pointer to voxel 0.
  std::size_t halo() const { return std::size_t(layout_.halo()); }
  template <class Buffer>
  auto interior(Buffer& b) const { return Exec::raw(b) + halo(); }
  // The pointer to voxel 0 of the slab with its ghost planes (= interior without a lower ghost).
  template <class Buffer>
  auto slab(Buffer& b) const { return Exec::raw(b) + slab_offset_; }

  std::string description_;
  HaloExchange* exchange_ = nullptr;
  SlabPlacement placement_;
  GridDims dims_;        // the planes this back end computes (the whole grid on one rank)
  GridDims slab_dims_;   // the same with the ghost planes (dims_ on one rank)
  std::size_t slab_offset_ = 0;
  SlabHalo<Exec> halo_;
  FieldLayout layout_;
  Spacing spacing_;
  typename Exec::template Buffer<std::uint8_t> tissue_;
  std::vector<SpeciesFields> species_;
  mutable typename Exec::template Buffer<double> row_sums_;
  ImplicitSolver<Exec> solver_;  // one workspace, shared by the species' solves in turn
};

}  // namespace cordsim
