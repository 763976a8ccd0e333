#pragma once
// The floating-point type the back ends store: fields, the assembled operator, the RKL2 stages,
// the coarse multigrid operators and the model inputs while they are assembled. float32 by
// default; float64 in the verification build configured with -DCORDSIM_DOUBLE=ON, where CMake
// defines CORDSIM_DOUBLE=1 for every target (host and device code alike, so all translation units
// agree on the layout of the types below). The linear solver's vectors, its dot products and the
// totals are float64 in both builds.
namespace cordsim {

#if defined(CORDSIM_DOUBLE) && CORDSIM_DOUBLE
using real = double;
inline constexpr const char* kRealName = "float64";
#else
using real = float;
inline constexpr const char* kRealName = "float32";
#endif

}  // namespace cordsim
