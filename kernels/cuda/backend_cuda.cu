// CUDA back end: the generic back end over a 3-D CUDA launch (one thread per voxel) and Thrust's
// CUDA policy. The index mapping is kernels/cell/launch_mapping.hpp, tested on the CPU.
#include <cuda_runtime.h>
#include <thrust/device_vector.h>
#include <thrust/system/cuda/execution_policy.h>

#include <stdexcept>
#include <string>

#include "kernels/backend_impl.hpp"
#include "kernels/cell/launch_mapping.hpp"

namespace cordsim {
namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(status));
}

template <class F>
__global__ void for_each_voxel_kernel(LaunchShape shape, GridDims dims, F f) {
  int i, j, k;
  if (voxel_of_thread(shape, Index3{blockIdx.x, blockIdx.y, blockIdx.z},
                      Index3{threadIdx.x, threadIdx.y, threadIdx.z}, dims, i, j, k))
    f(i, j, k);
}

struct CudaExec {
  template <class T>
  using Buffer = thrust::device_vector<T>;
  static constexpr bool host_memory = false;

  template <class T>
  static T* raw(thrust::device_vector<T>& b) { return thrust::raw_pointer_cast(b.data()); }
  template <class T>
  static const T* raw(const thrust::device_vector<T>& b) { return thrust::raw_pointer_cast(b.data()); }

  template <class T>
  static void upload(const T* host, std::size_t n, thrust::device_vector<T>& b, std::size_t offset) {
    check(cudaMemcpy(raw(b) + offset, host, n * sizeof(T), cudaMemcpyHostToDevice), "upload");
  }
  template <class T>
  static void download(const thrust::device_vector<T>& b, std::size_t offset, std::size_t n, T* host) {
    check(cudaMemcpy(host, raw(b) + offset, n * sizeof(T), cudaMemcpyDeviceToHost), "download");
  }

  template <class F>
  static void for_each_voxel(const GridDims& d, const F& f) {
    if (d.size() == 0) return;
    const LaunchShape s = launch_shape_for(d);
    for_each_voxel_kernel<<<dim3(s.grid.x, s.grid.y, s.grid.z), dim3(s.block.x, s.block.y, s.block.z)>>>(s, d, f);
    check(cudaGetLastError(), "kernel launch");
  }

  static auto policy() { return thrust::cuda::par; }
};

}  // namespace

bool cuda_backend_built() { return true; }

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device / no driver" error
    return 0;
  }
  return count;
}

std::uint64_t cuda_device_free_bytes(int device) {
  int current = 0;
  if (cudaGetDevice(&current) != cudaSuccess || cudaSetDevice(device) != cudaSuccess) {
    cudaGetLastError();
    return UINT64_MAX;
  }
  std::size_t free_bytes = 0, total_bytes = 0;
  const cudaError_t status = cudaMemGetInfo(&free_bytes, &total_bytes);
  cudaSetDevice(current);
  if (status != cudaSuccess) {
    cudaGetLastError();
    return UINT64_MAX;
  }
  return std::uint64_t(free_bytes);
}

std::unique_ptr<Backend> make_cuda_backend(int device) {
  const int count = cuda_device_count();
  if (count == 0) throw std::runtime_error("no CUDA device is available to this process");
  if (device < 0 || device >= count)
    throw std::runtime_error("CUDA device " + std::to_string(device) + " does not exist (" +
                             std::to_string(count) + " present)");
  check(cudaSetDevice(device), "cudaSetDevice");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  return std::make_unique<BackendImpl<CudaExec>>(std::string("cuda (") + prop.name + ", sm_" +
                                                 std::to_string(prop.major * 10 + prop.minor) + storage_note() +
                                                 ")");
}

}  // namespace cordsim
