#pragma once
// The ALS tissue model's part of a scenario: the [model] table and its sub-tables (docs/model.md).
// Every rate-law parameter is listed once, in the registry of model_spec.cpp, with its unit,
// default, allowed range, source and the calibration target it was fitted to; the scenario reader,
// `cordsim model-parameters` and docs/model.md all read that one table.
#include <optional>
#include <string>
#include <vector>

#include "host/config/units.hpp"
#include "kernels/cell/tissue_model.hpp"

namespace cordsim {

// A timed intervention or assay. Its time is absolute (`time`) or a delay after a milestone of
// the disease (`after` = onset | early_disease | end_stage, `delay`), as in the Magota design,
// whose day 0 is the day the locomotor score falls to 16.
struct ModelEvent {
  enum class Kind { cre, msc, chir, evans_blue, snapshot, vehicle } kind = Kind::snapshot;
  std::string label;                  // readouts of this event go to summary.json as <label>_<name>
  std::optional<double> time_s;       // absolute time
  std::string after;                  // milestone name, when time_s is not given
  double delay_s = 0.0;
  // cre: the cell type losing the mutant gene, the mean excised fraction, and its voxel-to-voxel
  // spread (standard deviation; drawn under `seed`, so a run is reproducible).
  std::string cell_type;              // astrocytes | motor_neurons | microglia
  double efficiency = 0.0;
  double efficiency_spread = 0.0;
  unsigned long long seed = 1;
  double dose_cells = 0.0;            // msc: cells infused intravenously
  double duration_s = 0.0;            // chir: how long the Wnt activation lasts
  std::string where;                  // "file:line" for messages
};

// Settings of the model that are not rate-law parameters.
struct ModelSettings {
  double slow_step_s = 6 * 3600.0;   // cell-state step Δt (species re-solved every step)
  bool strang = true;                // Strang (½ states, species, ½ states) or Lie splitting
  int reaction_order = 2;            // exponential Euler (1) or exponential midpoint (2)
  double readout_interval_s = 86400.0;
  // Locomotor (BBB) score as a function of the surviving lumbar MN fraction f:
  //   BBB = 21 · clamp((f − f₀) / (f₁ − f₀), 0, 1)
  // f is the surviving fraction of the hindlimb MNs: the pools of segments locomotor_from_segment
  // (1-based) and caudal, the lumbar enlargement.
  double locomotor_from_segment = 3;
  double bbb_full_fraction = 0.85;   // f₁: no deficit above it (compensation by sprouting)
  double bbb_zero_fraction = 0.35;   // f₀: paralysis below it
  double onset_score = 20.0;         // onset: BBB first below this
  double early_disease_score = 16.0; // early disease (Magota day 0): BBB first at or below this
  double end_stage_score = 3.0;      // end stage: BBB first at or below this
  double section_thickness_um = 30.0;  // virtual Nissl section
  double counted_fraction = 0.1;     // share of lamina-IX neurons a Nissl count of large MNs includes
  double microglia_density_spread = 0.1;  // σ_M: log-normal spread of resting microglial density per voxel
  // MSC kinetics after an infusion (science.md §4: ≪1% reach the CNS, most are lung-trapped).
  double msc_lung_fraction = 0.95;   // trapped in the lungs: they signal systemically, then die
  double msc_plasma_clearance_per_s = 1.0 / 3600.0;  // circulating cells cleared in hours
  double msc_lung_loss_per_s = 1.0 / (4 * 86400.0);  // lung-trapped cells lost over days
  double msc_reference_dose = 1e6;   // dose whose lung pool gives systemic signal G = 1
  // Evans Blue assay (science.md §4): 2% EB, 4 mL/kg IV → plasma ≈ 2 mg/mL = 2.08 mM.
  double eb_plasma_nM = 2.08e6;
  double eb_circulation_s = 3600.0;
  double eb_permeability_gray_per_s = 4e-7;  // PS₀ of albumin in normal gray matter (mL/g/s ≈ 1/s)
  double eb_leak_gain = 4.0;         // β: PS ×(1 + β (1 − B)); symptomatic cord 2–5× normal
  double eb_ecs_fraction = 0.2;      // α: back-flux c/α (extracellular volume fraction)
  double eb_time_step_s = 600.0;     // backward-Euler step of the assay transient
};

struct ModelSpec {
  TissueModelParams params;  // the genotype (s_MN, s_A, s_M, …) among them
  ModelSettings settings;
  std::vector<ModelEvent> events;
};

// One row of the parameter registry.
struct ModelParameterInfo {
  const char* table;         // [model.<table>]
  const char* key;
  const char* symbol;        // as in docs/model.md
  const char* default_text;  // with its unit, as a scenario writes it
  const char* unit;          // the unit docs/model.md quotes (the default's)
  double minimum;            // allowed range, in the unit of default_text
  double maximum;
  const char* source;        // literature (confidence) or "calibrated: target N"
  const char* meaning;
  // "fitted": tools/calibrate.py fits it to the calibration targets (per animal line or shared);
  // "" for literature values, normalisations and assumptions.
  const char* role = "";
};
const std::vector<ModelParameterInfo>& model_parameter_registry();
// The value of every registry parameter in `spec`, in registry order and internal units.
std::vector<double> model_parameter_values(const ModelSpec& spec);

// Prints the registry as a Markdown table (docs/model.md includes it; `cordsim parameters`).
void print_model_parameters();

// Names of the species the model drives, in the order of SpeciesTerms; a model scenario declares
// each as a [[species]] (Evans Blue is only solved during an assay).
inline constexpr const char* kModelSpecies[] = {"NO", "TNF", "IFNg", "NRTN", "EB", "DAMP"};

}  // namespace cordsim
