#pragma once
// The ALS tissue model on the grid: per parenchyma voxel its inputs (VoxelInputs) and slow states
// (CellState), advanced by the per-voxel laws of kernels/cell/tissue_model.hpp, and the systemic
// pools (circulating and lung-trapped MSC, CHIR99021) that drive them. The species themselves live
// in the back end; this class turns states into their sources and decay rates and reads their
// fields back (docs/model.md).
//
// The states are float64 on the host (64 B per tissue voxel, plus 56 B of inputs): the states
// change on a scale of hours to days, once per slow step, so their update is a small share of a
// step next to the species solves, which run on the back end.
#include <cstdint>
#include <string>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/model/problem.hpp"
#include "kernels/cell/tissue_model.hpp"

namespace cordsim {

// Indices of the model's species in the scenario's species list.
struct ModelSpeciesIndex {
  int no = -1, tnf = -1, ifn = -1, nrtn = -1, eb = -1;
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

class TissueModel {
 public:
  TissueModel(const Scenario& scenario, const Problem& problem);

  std::size_t tissue_voxels() const { return voxel_.size(); }
  // Grid index of tissue voxel n.
  std::uint32_t voxel(std::size_t n) const { return voxel_[n]; }
  const VoxelInputs& inputs(std::size_t n) const { return inputs_[n]; }
  VoxelInputs& inputs(std::size_t n) { return inputs_[n]; }
  const CellState& state(std::size_t n) const { return states_[n]; }
  std::vector<CellState>& states() { return states_; }
  const TissueModelParams& params() const { return params_; }
  const ModelSpec& spec() const { return spec_; }

  // Advances every voxel's states by dt with the species fields (grid arrays, nM) frozen.
  void advance(const std::vector<float>& no, const std::vector<float>& tnf, const std::vector<float>& ifn,
               const std::vector<float>& nrtn, const SystemicDrivers& drivers, double dt);

  // Sources (nM/s) and decay rates (1/s) of the species on the grid from the current states.
  // `base_decay` are the species' own first-order decay rates from the scenario.
  struct SpeciesInputs {
    std::vector<float> no_source, no_decay, tnf_source, ifn_source, nrtn_source;
  };
  void species_inputs(const SystemicDrivers& drivers, SpeciesInputs& out) const;

  // Evans Blue assay inputs: decay k_EB + PS/α and source PS·C_p per voxel.
  void evans_blue_inputs(double base_decay, std::vector<float>& decay, std::vector<float>& source) const;

  // Cre excision: each voxel loses a fraction e + spread·z of the cell type's mutant gene (z a
  // standard normal draw per voxel under the event's seed, clamped to [0, 1]).
  void excise(const ModelEvent& event);

  // A state as a grid field (0 outside the tissue) for output.
  void state_field(int state, std::vector<float>& grid) const;
  void mutant_astrocyte_field(std::vector<float>& grid) const;

  // The injury signal D of tissue voxel n (its horn's MN loss), as of the last update.
  double injury(std::size_t n) const { return horn_[n] < 0 ? 0.0 : horn_injury_[std::size_t(horn_[n])]; }
  void update_injury();

 private:
  ModelSpec spec_;
  TissueModelParams params_;
  std::size_t grid_voxels_ = 0;
  std::vector<std::uint32_t> voxel_;
  std::vector<VoxelInputs> inputs_;
  std::vector<int> horn_;                   // per tissue voxel: its ventral horn (2·segment + side), or −1
  std::vector<double> horn_initial_;        // MNs (cells/mm³ summed over pool voxels) per horn
  std::vector<double> horn_injury_;         // D per horn, refreshed before every state update
  std::vector<CellState> states_;
};

}  // namespace cordsim
