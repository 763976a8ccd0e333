#pragma once
// The check of the species fields after every output interval (transport) and every slow step
// (ALS model): a run whose fields have gone bad stops there, with a message that names the
// species, the voxel and the time, instead of writing frames of garbage (README "Checkpoint and
// restart"; exit code 3, the last checkpoint is kept).
//
//   not finite   any NaN or ±Inf in a tissue voxel stops the run;
//   negative     a tissue value c < −kFieldGuardRelativeTolerance · max_tissue |c| stops the run
//                for every integrator that keeps concentrations non-negative (forward Euler
//                within its stability limit, backward Euler, quasi-steady; RKL2 to within small
//                undershoots). Values above that bound are float32 rounding and solver-tolerance
//                noise. Crank–Nicolson is not positivity-preserving (steps far above h²/D ring
//                around steep fronts), so for it a negative value is warned about once per
//                species and the run goes on.
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/config/scenario.hpp"

namespace cordsim {

inline constexpr double kFieldGuardRelativeTolerance = 1e-3;

// A species field went bad; what() names species, voxel (i, j, k), its centre in µm and the time.
class FieldError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FieldGuard {
 public:
  // `tissue`: the mask (nonzero = simulated), grid-sized.
  //
  // A decomposed run checks each rank's planes on that rank: `tissue` then covers the rank's
  // planes, which begin at voxel `first_voxel` of the grid (for the messages), and
  // `largest_over_ranks` (a collective) gives the negative bound the whole field's largest
  // magnitude, as on one rank. The rank that finds a bad value throws (the run then ends on all
  // ranks); the "and N more voxels" of its message counts its own planes.
  FieldGuard(const Scenario& scenario, const std::vector<std::uint8_t>& tissue, std::size_t first_voxel = 0,
             std::function<double(double)> largest_over_ranks = nullptr);

  // Checks species s's field (grid-sized, or the rank's planes) at simulated time t_s; throws
  // FieldError.
  void check(std::size_t species, const float* field, double t_s);

 private:
  const Scenario& scenario_;
  const std::vector<std::uint8_t>& tissue_;
  std::size_t first_voxel_ = 0;
  std::function<double(double)> largest_over_ranks_;
  std::vector<bool> warned_;
};

}  // namespace cordsim
