#pragma once
// Readouts that mirror the lab assays (science.md §6, docs/model.md "Readouts"): the lumbar MN
// pool and the locomotor score, MN counts per ventral horn per virtual Nissl section by segment,
// glia, barrier, NO and cytokine statistics per region, neurturin, MSC, the voxelwise correlation
// of mutant-free astrocytes with activated microglia, and Evans Blue µg/g per region.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "host/model/problem.hpp"
#include "host/model/tissue_model.hpp"

namespace cordsim {

// One row of readouts: ordered (name, value) pairs; NaN where a value is undefined.
using ReadoutRow = std::vector<std::pair<std::string, double>>;

// BBB(f) = 21 · clamp((f − f₀)/(f₁ − f₀), 0, 1), f the surviving fraction of the hindlimb MNs.
double locomotor_score(const ModelSettings& settings, double hindlimb_mn_fraction);
// The MN loss 1 − f at which the score first falls below the onset score: the loss that marks a
// segment's own onset (per-segment onset day).
double onset_loss(const ModelSettings& settings);

// Micrograms of Evans Blue per gram of tissue for a concentration in nM (EB 960.8 g/mol; tissue
// 1.04 g/mL).
double evans_blue_ug_per_g(double nM);

// Every sum runs over all ranks' voxels in grid order (TissueModel::sum_over_ranks), so a
// decomposed run gets the one-rank value, bit for bit, for the same fields and states; every
// rank gets the same row.
class Readouts {
 public:
  Readouts(const Problem& problem, const TissueModel& model);

  // Surviving MN fractions: the whole lumbar pool, the hindlimb pools (segments from
  // locomotor_from_segment caudally), and each segment's.
  struct Survival {
    double lumbar = 0.0, hindlimb = 0.0;
    std::vector<double> segment;
  };
  Survival survival(const TissueModel& model) const;
  double mn_fraction(const TissueModel& model) const { return survival(model).lumbar; }

  ReadoutRow measure(double time_s, const TissueModel& model, const SystemicState& systemic,
                     const TissueModel::ModelFields& fields) const;

  // Evans Blue per region after an assay: gray, white, and gray per segment (µg/g). `eb` is the
  // field on the model's grid arrays (the rank's slab on a decomposed run).
  ReadoutRow evans_blue(const TissueModel& model, const std::vector<float>& eb) const;

 private:
  const Problem& problem_;
  double voxel_mm3_ = 0.0;
  double initial_pool_ = 0.0;            // cells in all MN pools
  std::vector<double> initial_segment_;  // cells per segment (index segment − 1)
  std::vector<int> segment_of_;          // per tissue voxel of this rank: segment − 1, or −1
  std::vector<double> segment_length_um_;
};

}  // namespace cordsim
