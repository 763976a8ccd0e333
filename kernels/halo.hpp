#pragma once
// Ghost planes of a slab-decomposed grid on a back end (docs/parallel.md). A rank owns whole
// z-planes [z_begin, z_end) of the global grid; its per-voxel arrays keep the FieldLayout of the
// owned dims, so the one halo plane below and above each array is where the neighbour's plane
// goes (the ghost plane), and every kernel's v ± s_z read lands there unchanged. At the ends of
// the global grid the halo plane stays the zero plane of the serial layout.
//
// SlabHalo fills the ghost planes of an array through the HaloExchange of kernels/backend.hpp
// (host/parallel implements it with MPI) and runs a voxel sweep that needs them with the interior
// planes overlapping the messages: post the exchange, sweep the planes that do not touch a ghost
// plane, wait, sweep the (at most two) planes next to the ghosts. Device buffers go to the
// exchange directly when it accepts device memory (CUDA-aware MPI), else through host staging.
// Without an exchange (one rank) every call is the plain serial sweep.
#include <cstddef>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/cell/diffusion.hpp"

namespace cordsim {

// f(i, j, k + first_plane): a sweep over the planes [first_plane, first_plane + dims.nz) of a grid.
template <class F>
struct PlaneOffset {
  F f;
  int first_plane;
  CORDSIM_HD void operator()(int i, int j, int k) const { f(i, j, k + first_plane); }
};

template <class Exec>
class SlabHalo {
  template <class T>
  using Buffer = typename Exec::template Buffer<T>;

 public:
  // `owned`: the planes this rank computes. exchange == nullptr: one rank, no ghost planes.
  void configure(HaloExchange* exchange, const GridDims& owned) {
    exchange_ = exchange;
    owned_ = owned;
    below_ = exchange && exchange->lower();
    above_ = exchange && exchange->upper();
  }

  bool active() const { return exchange_ != nullptr; }
  HaloExchange* exchange() const { return exchange_; }
  int ghost_below() const { return below_ ? 1 : 0; }
  int ghost_above() const { return above_ ? 1 : 0; }

  // Posts the exchange of `buffer`'s boundary planes (an array of FieldLayout{owned}).
  template <class T>
  void start(Buffer<T>& buffer) {
    if (!exchange_) return;
    const std::size_t plane = std::size_t(FieldLayout{owned_}.halo());
    const std::size_t nz = std::size_t(owned_.nz);
    T* base = Exec::raw(buffer);
    // Owned plane 0 sits at allocation plane 1, owned plane nz − 1 at plane nz; ghosts at 0 and nz + 1.
    T* send_lower = base + plane, *send_upper = base + nz * plane;
    T* recv_lower = base, *recv_upper = base + (nz + 1) * plane;
    direct_ = Exec::host_memory || exchange_->accepts_device_memory();
    if (!direct_) {
      for (auto* s : {&send_lower_, &send_upper_, &recv_lower_, &recv_upper_}) s->resize((plane * sizeof(T) + sizeof(double) - 1) / sizeof(double));
      if (below_) Exec::download(buffer, plane, plane, reinterpret_cast<T*>(send_lower_.data()));
      if (above_) Exec::download(buffer, nz * plane, plane, reinterpret_cast<T*>(send_upper_.data()));
      send_lower = reinterpret_cast<T*>(send_lower_.data());
      send_upper = reinterpret_cast<T*>(send_upper_.data());
      recv_lower = reinterpret_cast<T*>(recv_lower_.data());
      recv_upper = reinterpret_cast<T*>(recv_upper_.data());
    }
    exchange_->start(below_ ? send_lower : nullptr, above_ ? send_upper : nullptr, below_ ? recv_lower : nullptr,
                     above_ ? recv_upper : nullptr, plane * sizeof(T));
  }

  // Waits for the exchange started on `buffer` and leaves the neighbours' planes in its ghosts.
  template <class T>
  void finish(Buffer<T>& buffer) {
    if (!exchange_) return;
    exchange_->finish();
    if (direct_) return;
    const std::size_t plane = std::size_t(FieldLayout{owned_}.halo());
    const std::size_t nz = std::size_t(owned_.nz);
    if (below_) Exec::upload(reinterpret_cast<const T*>(recv_lower_.data()), plane, buffer, 0);
    if (above_) Exec::upload(reinterpret_cast<const T*>(recv_upper_.data()), plane, buffer, (nz + 1) * plane);
  }

  template <class T>
  void exchange(Buffer<T>& buffer) {
    start(buffer);
    finish(buffer);
  }

  // Runs f(i, j, k) over the owned planes, where f reads `field`'s neighbours: the planes away from
  // the ghosts while the exchange is in flight, then the two next to them.
  template <class T, class F>
  void sweep(Buffer<T>& field, const F& f) {
    if (!exchange_) {
      Exec::for_each_voxel(owned_, f);
      return;
    }
    start(field);
    const int first = ghost_below(), last = owned_.nz - ghost_above();  // interior planes [first, last)
    if (last > first) planes(first, last, f);
    finish(field);
    if (below_) planes(0, 1, f);
    if (above_ && !(below_ && owned_.nz == 1)) planes(owned_.nz - 1, owned_.nz, f);
  }

  // In-place all-gather of consecutive blocks of `buffer` starting at element `first`: rank r's
  // block has counts[r] elements; this rank (`rank`) has filled its own. Device buffers go to the
  // exchange directly when it accepts device memory, else through a host copy, as for the planes.
  template <class T>
  void allgather(Buffer<T>& buffer, std::size_t first, const std::vector<std::size_t>& counts, int rank) {
    if (!exchange_) return;
    std::vector<std::size_t> bytes(counts.size());
    std::size_t total = 0, mine = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      bytes[r] = counts[r] * sizeof(T);
      if (int(r) < rank) mine += counts[r];
      total += counts[r];
    }
    if (Exec::host_memory || exchange_->accepts_device_memory()) {
      exchange_->allgather(Exec::raw(buffer) + first, bytes);
      return;
    }
    gathered_.resize((total * sizeof(T) + sizeof(double) - 1) / sizeof(double));
    T* host = reinterpret_cast<T*>(gathered_.data());
    Exec::download(buffer, first + mine, counts[std::size_t(rank)], host + mine);
    exchange_->allgather(host, bytes);
    Exec::upload(host, total, buffer, first);
  }

  // Global reductions (identical on every rank).
  double sum(double local) const { return exchange_ ? exchange_->sum(local) : local; }
  double max(double local) const { return exchange_ ? exchange_->max(local) : local; }

 private:
  template <class F>
  void planes(int begin, int end, const F& f) const {
    Exec::for_each_voxel(GridDims{owned_.nx, owned_.ny, end - begin}, PlaneOffset<F>{f, begin});
  }

  HaloExchange* exchange_ = nullptr;
  GridDims owned_;
  bool below_ = false, above_ = false, direct_ = true;
  std::vector<double> send_lower_, send_upper_, recv_lower_, recv_upper_;  // staging (bytes in doubles)
  std::vector<double> gathered_;                                            // all-gather staging
};

}  // namespace cordsim
