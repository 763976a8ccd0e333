// Which back ends this build has. The CUDA factory lives in cuda/backend_cuda.cu when nvcc built
// it; otherwise these definitions say so.
#include "kernels/backend.hpp"

#include <stdexcept>

namespace cordsim {

#if !defined(CORDSIM_HAVE_CUDA)
bool cuda_backend_built() { return false; }
int cuda_device_count() { return 0; }
std::uint64_t cuda_device_free_bytes(int) { return UINT64_MAX; }
std::unique_ptr<Backend> make_cuda_backend(int) {
  throw std::runtime_error("this cordsim was built without the CUDA back end (nvcc not found)");
}
#endif

}  // namespace cordsim
