#include "host/config/model_spec.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "host/config/model_reader.hpp"
#include "host/config/toml_reader.hpp"

namespace cordsim {
namespace {

// A registry row and where its value goes: a rate-law parameter, a genotype fraction or a setting.
// `scale` converts the parsed internal value to the struct's unit (densities: per µm³ → per mm³).
struct Row {
  ModelParameterInfo info;
  double TissueModelParams::*param = nullptr;
  double ModelSpec::*spec = nullptr;
  double ModelSettings::*setting = nullptr;
  double scale = 1.0;
};

using P = TissueModelParams;
using S = ModelSettings;

// Defaults are the LoxSOD1G37R mouse calibration (science.md §5, target 5); the rat scenarios
// override the rates that differ (scenarios/als/rat_sod1g93a.toml). "cal. N" = fitted to target N.
const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
      // genotype of the animal line (the cells that carry the transgene; Cre-excised cells carry none)
      {{"genotype", "sod1_motor_neurons", "s_MN", "1", "", 0, 1, "transgene (H)", "mutant-SOD1 level of transgene-carrying motor neurons"}, &P::sod1_motor_neurons},
      {{"genotype", "sod1_astrocytes", "s_A", "1", "", 0, 1, "transgene (H)", "mutant-SOD1 level of transgene-carrying astrocytes"}, &P::sod1_astrocytes},
      {{"genotype", "sod1_microglia", "s_M", "1", "", 0, 1, "transgene (H)", "mutant-SOD1 level of transgene-carrying microglia"}, &P::sod1_microglia},
      {{"genotype", "fus_sg_persistence", "φ_FUS", "0", "", 0, 10, "Ichiyanagi 2016: FUS-mutant MNs keep stress granules (L)", "stress clearance ÷(1 + φ_FUS)"}, &P::fus_sg_persistence},
      {{"genotype", "tbk1_activity", "c_TBK1", "1", "", 0, 1, "Watanabe 2023: MAM disruption lowers TBK1 activity, stress granules fail (L)", "TBK1 activity (1 normal): stress-granule buffering ε_SG c_TBK1"}, &P::tbk1_activity},
      {{"genotype", "tardbp_endothelium", "τ", "0", "", 0, 1, "Matsuo 2024 (M)", "fraction of endothelium carrying TARDBP N345K"}, &P::tardbp_endothelium},
      // motor neurons
      {{"motor_neurons", "intrinsic_stress_rate", "r_int", "0.004 1/d", "1/d", 0, 1, "fitted per line: onset (cal. 3, 5)", "misfolding load of mutant SOD1 in the MN", "fitted"}, &P::stress_intrinsic_rate},
      {{"motor_neurons", "no_stress_rate", "r_NO", "0.1 1/d", "1/d", 0, 100, "assumption (L); K_NO from science.md §4", "stress rate at NO = K_NO (in the toxic band)"}, &P::stress_no_rate},
      {{"motor_neurons", "tnf_stress_rate", "r_TNF", "0.005 1/d", "1/d", 0, 100, "assumption (L); bounded by cal. 9 (wild type keeps ≥ 95% at 100 pM)", "stress rate at TNF = K_TNF"}, &P::stress_tnf_rate},
      {{"motor_neurons", "astrocyte_stress_rate", "r_A", "0.02 1/d", "1/d", 0, 100, "Nagai 2007, Howland 2002 EAAT2 loss (M); size assumption (L)", "stress from fully reactive mutant astrocytes (lost support, toxic factors)"}, &P::stress_astrocyte_rate},
      {{"motor_neurons", "stress_repair_rate", "r_rep", "0.005 1/d", "1/d", 0, 10, "assumption (L): clearance over months", "clearance of the stress load"}, &P::stress_repair_rate},
      {{"motor_neurons", "neurturin_repair_gain", "p", "1", "", 0, 100, "assumption (L)", "clearance ×(1 + p Hill(NRTN))"}, &P::neurturin_repair_gain},
      {{"motor_neurons", "neurturin_half", "K_NRTN", "30 pM", "pM", 1, 1000, "science.md §4: EC50 10–100 pM (L–M)", "neurturin half-effect"}, &P::neurturin_half},
      {{"motor_neurons", "sg_buffering", "ε_SG", "0.5", "", 0, 1, "Watanabe 2023 (L)", "share of nitrosative stress absorbed by stress granules at full TBK1"}, &P::sg_buffering},
      {{"motor_neurons", "death_rate", "κ", "0.5 1/d", "1/d", 0, 100, "fitted per line: duration (cal. 3, 5)", "death rate at H = 1 is κ/2", "fitted"}, &P::death_rate},
      {{"motor_neurons", "death_hill", "m", "4", "", 1, 16, "assumption (L): graded, no cliff", "steepness of death in the load, Hill(H; 1, m)"}, &P::death_hill},
      {{"motor_neurons", "no_damage_half", "K_NO", "150 nM", "nM", 1, 10000, "science.md §4: ≥100–200 nM half-max (M)", "NO half-maximal damage"}, &P::no_damage_half},
      {{"motor_neurons", "no_damage_hill", "n_NO", "2", "", 1, 8, "assumption (L)", "steepness of NO damage"}, &P::no_damage_hill},
      {{"motor_neurons", "tnf_receptor_half", "K_TNF", "100 pM", "pM", 1, 10000, "science.md §4: TNFR1 20–500 pM (L–M)", "TNF half-effect"}, &P::tnf_receptor_half},
      {{"motor_neurons", "neurturin_survival_gain", "g", "3", "", 0, 100, "assumption (L)", "death ÷(1 + g Hill(NRTN))"}, &P::neurturin_survival_gain},
      {{"motor_neurons", "danger_release", "q_X", "300 ymol/s", "ymol/s", 0, 1e6, "normalisation (L): X ≈ K_X in a mouse pool around onset", "danger signal released per MN at full death propensity Hill(H; 1, m)"}, &P::danger_per_stress},
      // microglia
      {{"microglia", "rate", "k_M", "0.3 1/d", "1/d", 0, 100, "assumption: days (M)", "activation kinetics"}, &P::microglia_rate},
      {{"microglia", "danger_drive", "a_X", "1", "", 0, 100, "normalisation", "drive at saturating danger signal"}, &P::microglia_danger},
      {{"microglia", "danger_half", "K_X", "0.05 nM", "nM", 1e-6, 1e6, "normalisation (sets the unit of X)", "danger-signal half-effect"}, &P::danger_half},
      {{"microglia", "danger_hill", "n_X", "2", "", 1, 8, "P2X7 / chemokine-receptor co-operativity (M)", "steepness of the glial response to X"}, &P::danger_hill},
      {{"microglia", "astrocyte_gain", "a_ast", "3", "", 0, 100, "fitted: astrocyte-excision duration ×2.2 (cal. 5)", "microglial drive by fully reactive mutant astrocytes", "fitted"}, &P::microglia_astrocyte_gain},
      {{"microglia", "mutant_gain", "a_mg", "1", "", 0, 100, "Frakes 2014: NF-κB in mutant microglia drives MN death (M); size assumption (L)", "mutant microglia activate ×(1 + a_mg s_M)"}, &P::microglia_mutant_gain},
      {{"microglia", "cytokine_drive", "a_cyt", "0.05", "", 0, 100, "assumption (L)", "drive by TNF + IFN-γ"}, &P::microglia_cytokine},
      {{"microglia", "cytokine_half", "K_cyt", "100 pM", "pM", 1, 10000, "science.md §4 (L–M)", "cytokine half-effect"}, &P::cytokine_half},
      {{"microglia", "resolution_rate", "δ_M", "0.2 1/d", "1/d", 0, 100, "assumption (L)", "return to surveillance"}, &P::microglia_resolution},
      {{"microglia", "proliferation", "g_M", "2", "", 0, 20, "SOD1 microgliosis 2–3× (M)", "density ×(1 + g_M M)"}, &P::microglia_proliferation},
      {{"microglia", "density_spread", "σ_M", "0.1", "", 0, 1, "assumption (L): regional variation of microglial density", "log-normal voxel-to-voxel spread of resting microglial density"}, nullptr, nullptr, &S::microglia_density_spread},
      // astrocytes
      {{"astrocytes", "rate", "k_A", "0.1 1/d", "1/d", 0, 100, "assumption (L)", "reactivity kinetics"}, &P::astrocyte_rate},
      {{"astrocytes", "mutant_gain", "a_0", "1", "", 0, 100, "Yamanaka 2008, Nagai 2007 (M); size assumption (L)", "mutant astrocytes react ×(1 + a_0 s_A)"}, &P::astrocyte_mutant_gain},
      {{"astrocytes", "danger_drive", "b", "1", "", 0, 100, "assumption (L)", "reactivity at saturating danger signal"}, &P::astrocyte_danger},
      {{"astrocytes", "danger_half", "K_XA", "0.15 nM", "nM", 1e-6, 1e6, "assumption (L): astrogliosis follows microgliosis in SOD1 mice (3 K_X)", "danger-signal half-effect on astrocytes"}, &P::astrocyte_danger_half},
      {{"astrocytes", "danger_hill", "n_XA", "4", "", 1, 8, "assumption (L): astrogliosis is a threshold response to MN loss", "steepness of the astrocytes' response to X"}, &P::astrocyte_danger_hill},
      {{"astrocytes", "cytokine_drive", "c", "0.02", "", 0, 100, "assumption (L)", "reactivity by TNF"}, &P::astrocyte_cytokine},
      {{"astrocytes", "resolution_rate", "δ_A", "0.05 1/d", "1/d", 0, 100, "assumption (L)", "return to rest"}, &P::astrocyte_resolution},
      // barrier, Wnt, adhesion
      {{"barrier", "repair_rate", "k_rep", "0.2 1/d", "1/d", 0, 100, "assumption (L)", "barrier repair"}, &P::barrier_repair_rate},
      {{"barrier", "damage_rate", "k_dmg", "0.5 1/d", "1/d", 0, 100, "cal. 3 (EB only after symptoms)", "barrier damage at saturating cytokines"}, &P::barrier_damage_rate},
      {{"barrier", "microglia_damage", "d", "2", "", 0, 100, "cal. 3", "damage by activated microglia (× M²)"}, &P::barrier_microglia},
      {{"barrier", "interferon_half", "K_IFN", "100 pM", "pM", 1, 10000, "science.md §4: IFNGR 0.1 nM (L–M)", "IFN-γ half-effect"}, &P::interferon_half},
      {{"barrier", "tardbp_defect", "δ_B", "0.6", "", 0, 1, "cal. 6", "B* = 1 − δ_B max(0, 1 − W)"}, &P::barrier_tardbp_defect},
      {{"barrier", "msc_systemic_repair", "m_sys", "2", "", 0, 100, "cal. 4", "repair ×(1 + m_sys G + …)"}, &P::barrier_msc_repair},
      {{"barrier", "msc_local_repair", "m_loc", "1", "", 0, 100, "assumption (L)", "repair by MSC in the tissue"}, &P::barrier_msc_local},
      {{"barrier", "msc_local_half", "K_MSC", "1 1/mm^3", "1/mm^3", 1e-3, 1e6, "assumption (L)", "MSC density half-effect"}, &P::msc_local_half, nullptr, nullptr, 1e9},
      {{"barrier", "perfusion_loss", "p_perf", "0.9", "", 0, 1, "pericyte loss cuts flow (Winkler 2013, M); cal. 1", "perfused capillaries 1 − p_perf (1 − B)"}, &P::perfusion_loss},
      {{"barrier", "wnt_rate", "k_W", "1 1/d", "1/d", 0, 100, "assumption (L)", "Wnt signalling kinetics"}, &P::wnt_rate},
      {{"barrier", "wnt_tardbp_loss", "ω", "0.5", "", 0, 1, "Matsuo 2024: Wnt targets down (M); cal. 6", "W target 1 − ω τ"}, &P::wnt_tardbp_loss},
      {{"barrier", "wnt_chir_boost", "c_CHIR", "0.5", "", 0, 10, "Matsuo 2024: CHIR99021 restores claudin-5 (M); cal. 6", "W target + c_CHIR while dosed"}, &P::wnt_chir_boost},
      {{"barrier", "adhesion_rate", "k_V", "1 1/d", "1/d", 0, 100, "assumption (L)", "adhesion-molecule kinetics"}, &P::adhesion_rate},
      {{"barrier", "adhesion_wnt", "v_W", "2", "", 0, 100, "Matsuo 2024: VCAM-1 up (M); cal. 6", "V* ×(1 + v_W max(0, 1 − W))"}, &P::adhesion_wnt},
      {{"barrier", "adhesion_cytokine", "v_cyt", "2", "", 0, 100, "Matsuo 2024: VCAM-1 further up with TNF + IFN-γ (M); cal. 6", "V* ×(1 + v_cyt Hill(TNF) Hill(IFN))"}, &P::adhesion_cytokine},
      // MSC
      {{"msc", "homing", "h", "1e-3 1/d", "1/d", 0, 1, "cal. 4 (MSC sparse in cord)", "(cells/mm³)/day per plasma cell per unit barrier damage"}, &P::msc_homing},
      {{"msc", "loss_rate", "δ_MSC", "0.2 1/d", "1/d", 0, 100, "science.md §4: persist days to ~2 weeks (M)", "loss of MSC from the tissue"}, &P::msc_loss},
      {{"msc", "lung_fraction", "f_lung", "0.95", "", 0, 1, "science.md §4: ≪1% reach the CNS (M)", "share trapped in the lungs"}, nullptr, nullptr, &S::msc_lung_fraction},
      {{"msc", "plasma_clearance", "k_P", "1 1/h", "1/h", 1e-3, 1e3, "assumption (M)", "clearance of circulating MSC"}, nullptr, nullptr, &S::msc_plasma_clearance_per_s},
      {{"msc", "lung_loss", "k_L", "0.25 1/d", "1/d", 1e-3, 100, "science.md §4 (M)", "loss of lung-trapped MSC (their systemic signal G)"}, nullptr, nullptr, &S::msc_lung_loss_per_s},
      {{"msc", "reference_dose", "D_ref", "1e6", "cells", 1, 1e12, "Magota 2021 dose (M)", "dose whose lung pool gives G = 1"}, nullptr, nullptr, &S::msc_reference_dose},
      // sources and sinks
      {{"sources", "no_per_microglia", "q_NO", "0.8 amol/s", "amol/s", 0, 100, "science.md §4: 0.1–1 amol/s (L–M); cal. 1", "NO per activated microglia"}, &P::no_per_microglia},
      {{"sources", "oxygen_factor", "O₂/(K_m+O₂)", "0.83", "", 0, 1, "pO₂ ≈ 30 µM, K_m 6 µM (M)", "O₂ limitation of iNOS"}, &P::oxygen_factor},
      {{"sources", "no_capillary_scavenging", "γ", "0.0286 1/s", "1/s", 0, 100, "Santos 2011: gray 0.67–0.84 1/s (H); cal. 1", "NO scavenging per mm²/mm³ of perfused capillary surface"}, &P::no_capillary_scavenging},
      {{"sources", "tnf_per_microglia", "q_TNF,M", "0.3 ymol/s", "ymol/s", 0, 1e4, "science.md §4: 0.05–1 trimer/s (L)", "TNF per activated microglia"}, &P::tnf_per_microglia},
      {{"sources", "tnf_resting_fraction", "r_rest", "0.2", "", 0, 1, "cal. 2 (SOD1 cord 1.5–3× wild type)", "basal TNF of resting microglia, relative to activated"}, &P::tnf_resting_fraction},
      {{"sources", "tnf_per_astrocyte", "q_TNF,A", "0.01 ymol/s", "ymol/s", 0, 1e4, "assumption (L)", "TNF per reactive astrocyte"}, &P::tnf_per_astrocyte},
      {{"sources", "ifn_infiltration", "q_IFN", "2e-6 nM/s", "nM/s", 0, 1, "assumption (L); cal. 3", "IFN-γ from infiltrating T cells at (1 − B) V = 1"}, &P::ifn_infiltration},
      {{"sources", "neurturin_per_msc", "q_N,MSC", "0.03 ymol/s", "ymol/s", 0, 1e4, "science.md §4: 0.002–0.05 molecules/s (L)", "neurturin per MSC"}, &P::neurturin_per_msc},
      {{"sources", "neurturin_basal", "q_N,0", "0.007 ymol/s", "ymol/s", 0, 1e4, "Widenfalk 1997: neurturin expressed in the adult rat cord (M); level assumption (L)", "basal neurturin per astrocyte"}, &P::neurturin_basal},
      {{"sources", "neurturin_host", "q_N,host", "0.02 ymol/s", "ymol/s", 0, 1e4, "cal. 4 (neurturin up on day 1)", "extra neurturin per astrocyte at full MSC signal"}, &P::neurturin_host},
      {{"sources", "msc_signal_half", "K_G", "0.1", "", 1e-6, 100, "assumption (L)", "systemic MSC signal half-effect"}, &P::msc_signal_half},
      // Evans Blue assay
      {{"evans_blue", "plasma_concentration", "C_p", "2.08 mM", "mM", 0, 100, "science.md §4: 80 mg/kg → 2 mg/mL (H)", "plasma EB during the assay"}, nullptr, nullptr, &S::eb_plasma_nM},
      {{"evans_blue", "circulation_time", "t_EB", "1 h", "h", 1e-3, 100, "science.md §4: 1–2 h (H)", "circulation before perfusion"}, nullptr, nullptr, &S::eb_circulation_s},
      {{"evans_blue", "permeability_gray", "PS₀", "4e-7 1/s", "1/s", 0, 1, "science.md §4: 2–6e-7 mL/g/s (L)", "albumin PS in normal gray matter"}, nullptr, nullptr, &S::eb_permeability_gray_per_s},
      {{"evans_blue", "leak_gain", "β", "4", "", 0, 1000, "science.md §4: symptomatic 2–5× (L)", "PS ×(1 + β (1 − B))"}, nullptr, nullptr, &S::eb_leak_gain},
      {{"evans_blue", "ecs_fraction", "α", "0.2", "", 1e-3, 1, "Syková & Nicholson 2008 (H)", "extracellular volume fraction (back-flux c/α)"}, nullptr, nullptr, &S::eb_ecs_fraction},
      {{"evans_blue", "time_step", "Δt_EB", "10 min", "min", 1e-3, 1e3, "numerics", "backward-Euler step of the assay"}, nullptr, nullptr, &S::eb_time_step_s},
      // readouts
      {{"readouts", "locomotor_from_segment", "k_hl", "3", "", 1, 64, "lumbar enlargement L3–S1 holds the hindlimb pools (Toossi 2021, H)", "the locomotor score reads the MNs of segments k_hl and caudal"}, nullptr, nullptr, &S::locomotor_from_segment},
      {{"readouts", "bbb_full_fraction", "f₁", "0.85", "", 0, 1, "assumption (M): no deficit while compensatory sprouting hides the first 15% loss", "no locomotor deficit above this hindlimb-MN fraction"}, nullptr, nullptr, &S::bbb_full_fraction},
      {{"readouts", "bbb_zero_fraction", "f₀", "0.35", "", 0, 1, "Boillée 2006: ≈55% of MNs lost at end stage (M); BBB 3 at 58% hindlimb-MN loss", "BBB 0 below this hindlimb-MN fraction"}, nullptr, nullptr, &S::bbb_zero_fraction},
      {{"readouts", "onset_score", "BBB_onset", "20", "", 0, 21, "definition", "onset: BBB first below"}, nullptr, nullptr, &S::onset_score},
      {{"readouts", "early_disease_score", "BBB_early", "16", "", 0, 21, "Magota 2021 day 0 (H)", "early disease: BBB first at or below"}, nullptr, nullptr, &S::early_disease_score},
      {{"readouts", "end_stage_score", "BBB_end", "3", "", 0, 21, "definition", "end stage: BBB first at or below"}, nullptr, nullptr, &S::end_stage_score},
      {{"readouts", "section_thickness", "t_sec", "30 um", "um", 1, 1000, "Nissl protocol (M)", "virtual section thickness"}, nullptr, nullptr, &S::section_thickness_um},
      {{"readouts", "counted_fraction", "f_count", "0.11", "", 0, 1, "cal.: 15–30 MN per horn per section (L)", "share of lamina-IX neurons a large-MN Nissl count includes"}, nullptr, nullptr, &S::counted_fraction},
  };
  return table;
}

// The internal value of one unit of `unit` (1 for dimensionless).
double unit_factor(const char* unit) {
  if (unit[0] == '\0' || std::string(unit) == "cells") return 1.0;
  return parse_quantity(std::string("1 ") + unit).value;
}

Quantity parse_default(const Row& row) {
  const std::string text = row.info.default_text;
  if (row.info.unit[0] == '\0' || std::string(row.info.unit) == "cells") return {std::stod(text), dim::none};
  return parse_quantity(text);
}

void assign(ModelSpec& spec, const Row& row, double internal) {
  const double v = internal * row.scale;
  if (row.param) spec.params.*row.param = v;
  if (row.spec) spec.*row.spec = v;
  if (row.setting) spec.settings.*row.setting = v;
}

}  // namespace

const std::vector<ModelParameterInfo>& model_parameter_registry() {
  static const std::vector<ModelParameterInfo> infos = [] {
    std::vector<ModelParameterInfo> out;
    for (const Row& row : rows()) out.push_back(row.info);
    return out;
  }();
  return infos;
}

std::vector<double> model_parameter_values(const ModelSpec& spec) {
  std::vector<double> values;
  for (const Row& row : rows()) {
    const double v = row.param ? spec.params.*row.param : row.spec ? spec.*row.spec : spec.settings.*row.setting;
    values.push_back(v / row.scale);
  }
  return values;
}

void print_model_parameters() {
  std::printf("| key in the scenario | symbol | default | allowed range | meaning | source / calibrated on | role |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const ModelParameterInfo& p : model_parameter_registry()) {
    const std::string unit = p.unit[0] ? fmt::format(" {}", p.unit) : "";
    std::printf("| `model.%s.%s` | %s | %s | [%g, %g]%s | %s | %s | %s |\n", p.table, p.key, p.symbol, p.default_text,
                p.minimum, p.maximum, unit.c_str(), p.meaning, p.source, p.role);
  }
}

namespace model_input {

using namespace toml_input;

ModelSpec read_model(const ValueReader& reader, const Diagnostics& diag, const TableReader& model) {
  ModelSpec spec;
  for (const Row& row : rows()) assign(spec, row, parse_default(row).value);

  model.allow_only({"slow_step", "splitting", "reaction_order", "readout_interval", "genotype", "motor_neurons",
                    "microglia", "astrocytes", "barrier", "msc", "sources", "evans_blue", "readouts", "event"});
  if (const toml::node* n = model.find("slow_step"))
    spec.settings.slow_step_s = reader.read_positive(*n, model.path_of("slow_step"), dim::time);
  if (const toml::node* n = model.find("readout_interval"))
    spec.settings.readout_interval_s = reader.read_positive(*n, model.path_of("readout_interval"), dim::time);
  if (const toml::node* n = model.find("splitting"))
    spec.settings.strang = reader.read_choice(*n, model.path_of("splitting"), {"strang", "lie"}) == "strang";
  if (const toml::node* n = model.find("reaction_order")) {
    const auto* order = n->as_integer();
    if (order == nullptr || (order->get() != 1 && order->get() != 2))
      diag.bad_value(*n, model.path_of("reaction_order"), "must be 1 (exponential Euler) or 2 (exponential midpoint)");
    spec.settings.reaction_order = int(order->get());
  }

  for (const char* table_name : {"genotype", "motor_neurons", "microglia", "astrocytes", "barrier", "msc", "sources",
                                 "evans_blue", "readouts"}) {
    const toml::node* node = model.find(table_name);
    if (node == nullptr) continue;
    const TableReader table(diag, reader.as_table(*node, model.path_of(table_name)), model.path_of(table_name));
    std::vector<std::string> keys;
    for (const Row& row : rows())
      if (std::string(row.info.table) == table_name) keys.push_back(row.info.key);
    std::vector<std::string_view> views(keys.begin(), keys.end());
    table.allow_only_list(views);
    for (const Row& row : rows()) {
      if (std::string(row.info.table) != table_name) continue;
      const toml::node* value = table.find(row.info.key);
      if (value == nullptr) continue;
      const std::string key = table.path_of(row.info.key);
      const Quantity def = parse_default(row);
      double internal = 0.0;
      if (def.dimension == dim::none) {
        const std::optional<double> number = value->value<double>();
        if (!value->is_number() || !number)
          diag.bad_value(*value, key, fmt::format("must be a plain number ({}), not {}", row.info.meaning, type_name(*value)));
        internal = *number;
      } else {
        internal = reader.read_measure(*value, key, def.dimension);
      }
      const double in_unit = internal / unit_factor(row.info.unit);
      if (!(in_unit >= row.info.minimum && in_unit <= row.info.maximum) || !std::isfinite(in_unit))
        diag.bad_value(*value, key,
                       fmt::format("out of range [{}, {}]{}{}", row.info.minimum, row.info.maximum,
                                   row.info.unit[0] ? " " : "", row.info.unit));
      assign(spec, row, internal);
    }
  }
  if (!(spec.settings.bbb_zero_fraction < spec.settings.bbb_full_fraction))
    diag.bad_key(diag.where(model.table()), "model.readouts",
                 "bbb_zero_fraction must be below bbb_full_fraction");

  for (const toml::table* event_table : reader.tables_at(model, "event")) {
    const std::string path = fmt::format("{}.event[{}]", model.path(), spec.events.size());
    const TableReader t(diag, *event_table, path);
    ModelEvent e;
    e.where = diag.where(*event_table);
    const std::string kind = reader.read_choice(t.require("kind"), t.path_of("kind"),
                                                {"cre", "msc", "chir", "evans_blue", "snapshot", "vehicle"});
    using K = ModelEvent::Kind;
    e.kind = kind == "cre" ? K::cre : kind == "msc" ? K::msc : kind == "chir" ? K::chir
             : kind == "evans_blue" ? K::evans_blue : kind == "vehicle" ? K::vehicle : K::snapshot;
    std::vector<std::string_view> allowed = {"kind", "label", "time", "after", "delay"};
    if (e.kind == K::cre) allowed.insert(allowed.end(), {"cell_type", "efficiency", "spread", "seed"});
    if (e.kind == K::msc) allowed.push_back("dose");
    if (e.kind == K::chir) allowed.push_back("duration");
    t.allow_only_list(allowed, fmt::format("for kind \"{}\"", kind));
    if (const toml::node* n = t.find("label")) e.label = reader.read_nonempty_string(*n, t.path_of("label"));
    const toml::node* time = t.find("time");
    const toml::node* after = t.find("after");
    if ((time == nullptr) == (after == nullptr))
      diag.bad_key(e.where, path, "give exactly one of time = \"<t>\" and after = \"onset|early_disease|end_stage\"");
    if (time) e.time_s = reader.read_nonnegative(*time, t.path_of("time"), dim::time);
    if (after) e.after = reader.read_choice(*after, t.path_of("after"), {"onset", "early_disease", "end_stage"});
    if (const toml::node* n = t.find("delay")) {
      if (after == nullptr) diag.bad_value(*n, t.path_of("delay"), "only with after = <milestone>");
      e.delay_s = reader.read_nonnegative(*n, t.path_of("delay"), dim::time);
    }
    if (e.kind == K::cre) {
      e.cell_type = reader.read_choice(t.require("cell_type"), t.path_of("cell_type"),
                                       {"astrocytes", "motor_neurons", "microglia"});
      const toml::node& eff = t.require("efficiency");
      const std::optional<double> v = eff.value<double>();
      if (!eff.is_number() || !v || *v < 0 || *v > 1)
        diag.bad_value(eff, t.path_of("efficiency"), "must be a number in [0, 1] (the excised fraction)");
      e.efficiency = *v;
      if (const toml::node* n = t.find("spread")) {
        const std::optional<double> s = n->value<double>();
        if (!n->is_number() || !s || *s < 0 || *s > 1)
          diag.bad_value(*n, t.path_of("spread"), "must be a number in [0, 1] (voxel-to-voxel standard deviation)");
        e.efficiency_spread = *s;
      }
      if (const toml::node* n = t.find("seed")) {
        const auto* s = n->as_integer();
        if (s == nullptr || s->get() < 0) diag.bad_value(*n, t.path_of("seed"), "must be a non-negative integer");
        e.seed = static_cast<unsigned long long>(s->get());
      }
    }
    if (e.kind == K::msc) {
      const toml::node& dose = t.require("dose");
      const std::optional<double> v = dose.value<double>();
      if (!dose.is_number() || !v || *v <= 0 || *v > 1e12)
        diag.bad_value(dose, t.path_of("dose"), "must be a number of cells in (0, 1e12]");
      e.dose_cells = *v;
    }
    if (e.kind == K::chir) e.duration_s = reader.read_positive(t.require("duration"), t.path_of("duration"), dim::time);
    spec.events.push_back(e);
  }
  return spec;
}

}  // namespace model_input
}  // namespace cordsim
