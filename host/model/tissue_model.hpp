#pragma once
// The ALS tissue model on the grid: per parenchyma voxel its inputs (VoxelInputs) and slow states
// (CellState), advanced by the per-voxel laws of kernels/cell/tissue_model.hpp, and the systemic
// pools (circulating and lung-trapped MSC, CHIR99021) that drive them. The species themselves live
// in the back end; this class turns states into their sources and decay rates and reads their
// fields back (docs/model.md).
//
// The states are float64 on the host (96 B per tissue voxel, plus 56 B of inputs): the states
// change on a scale of hours to days, once per slow step, so their update is a small share of a
// step next to the species solves, which run on the back end.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/model/problem.hpp"
#include "kernels/cell/tissue_model.hpp"

namespace cordsim {

// Indices of the model's species in the scenario's species list.
struct ModelSpeciesIndex {
  int no = -1, tnf = -1, ifn = -1, nrtn = -1, eb = -1, danger = -1;
};
ModelSpeciesIndex model_species_index(const Scenario& scenario);

// Circulating and lung-trapped MSC and the CHIR99021 window: scalar ODEs solved exactly.
struct SystemicState {
  double plasma_msc = 0.0;  // cells in the circulation: dP/dt = −k_P P
  double lung_msc = 0.0;    // cells trapped in the lungs: dL/dt = −k_L L; signal G = L / D_ref
  double chir_until_s = -1.0;

  // Averages of the drivers over [t, t + h] (homing integrates P, so a step much longer than the
  // plasma half-life still delivers the right number of cells), then advances the pools by h.
  SystemicDrivers average_and_advance(const ModelSettings& settings, double t, double h);
  SystemicDrivers at(const ModelSettings& settings, double t) const;
};

// Sums over the tissue voxels of every rank in global voxel order (RankGroup::running_sum): `add`
// adds this rank's terms to the running accumulators `acc`; afterwards every rank holds the sums
// over all ranks' voxels, added in the serial order.
using RunningSum = std::function<void(std::vector<double>& acc, const std::function<void(std::vector<double>&)>& add)>;

// The part of the grid a TissueModel holds (docs/parallel.md). One rank: all of it. A decomposed
// run: the rank's planes [z_begin, z_end), in grid arrays (species fields, their inputs) that
// begin at plane `first_plane` (the ghost plane below, if any) and hold `grid_voxels` voxels (the
// slab with its ghost planes); `running_sum` forms the global sums.
struct ModelPlanes {
  int z_begin = 0, z_end = -1;  // z_end −1: every plane
  int first_plane = 0;
  std::size_t grid_voxels = 0;  // 0: the whole grid
  RunningSum running_sum;       // null: one rank
};

class TissueModel {
 public:
  TissueModel(const Scenario& scenario, const Problem& problem, const ModelPlanes& planes = {});

  // This rank's tissue voxels (all of them on one rank).
  std::size_t tissue_voxels() const { return voxel_.size(); }
  // Tissue voxels of the whole grid, and the global index (in grid order) of this rank's first.
  std::size_t global_tissue_voxels() const { return global_tissue_voxels_; }
  std::size_t first_tissue_voxel() const { return first_tissue_; }
  // Index of tissue voxel n in this rank's grid arrays (the grid index on one rank).
  std::uint32_t voxel(std::size_t n) const { return voxel_[n]; }
  // This rank's own planes as a range of indices into its grid arrays (ghost planes excluded), and
  // the grid index of array element 0.
  std::size_t owned_begin() const { return owned_begin_; }
  std::size_t owned_end() const { return owned_end_; }
  std::size_t array_offset() const { return offset_; }
  // Index of tissue voxel n in the whole grid (e.g. into the labels).
  std::size_t global_voxel(std::size_t n) const { return std::size_t(voxel_[n]) + offset_; }
  // Side of the midline of tissue voxel n (0 left, 1 right).
  int side(std::size_t n) const { return side_[n]; }
  // A sum over every rank's tissue voxels in global voxel order (see RunningSum; on one rank add(acc)).
  void sum_over_ranks(std::vector<double>& acc, const std::function<void(std::vector<double>&)>& add) const {
    if (running_sum_)
      running_sum_(acc, add);
    else
      add(acc);
  }
  const VoxelInputs& inputs(std::size_t n) const { return inputs_[n]; }
  VoxelInputs& inputs(std::size_t n) { return inputs_[n]; }
  const CellState& state(std::size_t n) const { return states_[n]; }
  std::vector<CellState>& states() { return states_; }
  const TissueModelParams& params() const { return params_; }
  const ModelSpec& spec() const { return spec_; }

  // The species fields the states read (this rank's grid arrays, nM).
  struct ModelFields {
    const std::vector<float>*no, *tnf, *ifn, *nrtn, *danger;
  };
  // Advances every voxel's states by dt with the species fields frozen.
  void advance(const ModelFields& fields, const SystemicDrivers& drivers, double dt);

  // Sources (nM/s) and decay rates (1/s) of the species on the grid (this rank's arrays) from the
  // current states; the ghost planes are left to the caller (a halo exchange).
  // `base_decay` are the species' own first-order decay rates from the scenario.
  struct SpeciesInputs {
    std::vector<float> no_source, no_decay, tnf_source, ifn_source, nrtn_source, danger_source;
  };
  void species_inputs(const SystemicDrivers& drivers, SpeciesInputs& out) const;

  // Evans Blue assay inputs: decay k_EB + PS/α and source PS·C_p per voxel.
  void evans_blue_inputs(double base_decay, std::vector<float>& decay, std::vector<float>& source) const;

  // Cre excision, a mosaic: in each voxel a share e = efficiency + spread·z of the cell type's
  // remaining carriers (z a standard normal draw per voxel under the event's seed, e clamped to
  // [0, 1]) loses the gene entirely and becomes the excised subpopulation (excise_cells). The
  // draws follow the global tissue-voxel order: a rank skips the draws of the tissue voxels before
  // its planes, so every voxel gets the same draw for any number of ranks.
  void excise(const ModelEvent& event);

  // The written per-voxel fields (kOutputFields, als_run.cpp): voxel totals of the mosaic
  // (MN density, mean stress, activation, reactivity), the other states and the excised shares.
  static constexpr int kOutputFields = 11;
  double output_value(int field, std::size_t n) const;
  void output_field(int field, std::vector<float>& grid) const;

 private:
  ModelSpec spec_;
  TissueModelParams params_;
  std::size_t grid_voxels_ = 0;
  std::size_t offset_ = 0;                // grid index of this rank's array element 0
  std::size_t owned_begin_ = 0, owned_end_ = 0;
  std::size_t first_tissue_ = 0, global_tissue_voxels_ = 0;
  RunningSum running_sum_;
  std::vector<std::uint32_t> voxel_;
  std::vector<std::uint8_t> side_;
  std::vector<VoxelInputs> inputs_;
  std::vector<CellState> states_;
};

}  // namespace cordsim
