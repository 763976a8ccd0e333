// CPU back end: the generic back end over an OpenMP voxel loop and Thrust's OpenMP policy.
#include <omp.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#include <thrust/system/omp/execution_policy.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernels/backend_impl.hpp"
#include "kernels/cpu/huge_page_allocator.hpp"

namespace cordsim {
namespace {

struct CpuExec {
  template <class T>
  using Buffer = std::vector<T, HugePageAllocator<T>>;
  static constexpr bool host_memory = true;

  template <class T>
  static T* raw(Buffer<T>& b) { return b.data(); }
  template <class T>
  static const T* raw(const Buffer<T>& b) { return b.data(); }

  template <class T>
  static void upload(const T* host, std::size_t n, Buffer<T>& b, std::size_t offset) {
    std::copy(host, host + n, b.begin() + std::ptrdiff_t(offset));
  }
  template <class T>
  static void download(const Buffer<T>& b, std::size_t offset, std::size_t n, T* host) {
    std::copy(b.begin() + std::ptrdiff_t(offset), b.begin() + std::ptrdiff_t(offset + n), host);
  }

  // Threads split the (k, j) rows statically; each x-row is one SIMD loop. Every voxel's result
  // depends only on its own inputs, so fields are bitwise identical for any thread count.
  template <class F>
  static void for_each_voxel(const GridDims& d, const F& f) {
#pragma omp parallel
    {
      flush_subnormals_to_zero();
#pragma omp for collapse(2) schedule(static)
      for (int k = 0; k < d.nz; ++k) {
        for (int j = 0; j < d.ny; ++j) {
#pragma omp simd
          for (int i = 0; i < d.nx; ++i) f(i, j, k);
        }
      }
    }
  }

  // Far tails of a field (a Gaussian's exp(−r²/2σ²) at many σ, and their products in the solver's
  // dot products) reach subnormal numbers, which x86 cores handle in microcode at ~100× the cost:
  // a backward-Euler Gaussian race ran 10× slower for it. Flushing them to zero (FTZ/DAZ, as GPUs do
  // for float by default) changes only values below 1.2e-38 (float) and 2.2e-308 (double). MXCSR is
  // per thread, so every parallel region sets it; the OpenMP pool's threads also run the Thrust
  // reductions and keep the setting.
  static void flush_subnormals_to_zero() {
#if defined(__SSE2__)
    _mm_setcsr(_mm_getcsr() | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
#endif
  }

  static auto policy() { return thrust::omp::par; }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
  CpuExec::flush_subnormals_to_zero();
  const int used = omp_get_max_threads();
  return std::make_unique<BackendImpl<CpuExec>>(
      "cpu (OpenMP, " + std::to_string(used) + (used == 1 ? " thread" : " threads") + storage_note() + ")");
}

}  // namespace cordsim
