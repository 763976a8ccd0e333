#pragma once
// CORDSIM_HD marks per-voxel math that both back ends compile: nvcc sees __host__ __device__,
// the host compiler sees a plain inline function.
#if defined(__CUDACC__)
#define CORDSIM_HD __host__ __device__ __forceinline__
#else
#define CORDSIM_HD inline
#endif
