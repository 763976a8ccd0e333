#pragma once
// The ALS tissue model's per-voxel math (docs/model.md): the slow cell states and what they make
// of the diffusing species. One place for every rate law, compiled for the host loop and for
// CUDA alike (CORDSIM_HD). Internal units: µm, s, nM; cell densities in cells/mm³ (the unit the
// histology papers use); dimensionless states in [0, 1] unless noted.
//
// Every state obeys a production–loss law  dX/dt = p(X, …) − l(X, …)·X  with p, l ≥ 0, so that
// the frozen-coefficient solution
//     X(t + Δt) = X* + (X − X*)·exp(−l Δt),   X* = p / l                                 (1)
// is a convex combination of X and X* (both ≥ 0, and ≤ 1 for the bounded states): no step size
// can make a state negative or push a fraction above 1, however stiff. Evaluating p, l once at
// the start of the step gives order 1 (exponential Euler); evaluating them again at the state (1)
// reaches after Δt/2 and taking the full step from X with those gives order 2 (exponential
// midpoint). tests/model/test_reaction_integrator.cpp measures both orders on the logistic law.
#include <cmath>

#include "kernels/cell/hd.hpp"

namespace cordsim {

// Hill(x; K, n) = xⁿ / (Kⁿ + xⁿ), 0 for x ≤ 0.
CORDSIM_HD double hill(double x, double k, double n) {
  if (!(x > 0.0)) return 0.0;
  const double r = std::pow(x / k, n);
  return r / (1.0 + r);
}

// One step of (1): the exact solution of dX/dt = p − l X with p, l frozen.
CORDSIM_HD double relax(double x, double p, double l, double dt) {
  if (l * dt < 1e-12) return x + p * dt;  // l → 0: X + p Δt
  const double target = p / l;
  return target + (x - target) * std::exp(-l * dt);
}

// Every parameter of the per-voxel laws, in internal units (s⁻¹ for rates; nM for thresholds;
// cells/mm³ for densities; ymol/s per cell for production). Defaults, ranges and sources live in
// host/config/model_spec.cpp, the one table docs/model.md is generated from.
struct TissueModelParams {
  // Genotype of the animal line: mutant-SOD1 level of the cells that carry the transgene (1 in a
  // SOD1 transgenic, 0 in a wild type); Cre-excised cells carry 0 (VoxelInputs::excised_*).
  double sod1_motor_neurons = 0.0;  // s_MN
  double sod1_astrocytes = 0.0;     // s_A
  double sod1_microglia = 0.0;      // s_M
  double fus_sg_persistence = 0.0;  // φ_FUS: FUS-mutant stress granules persist, slowing stress clearance
  double tbk1_activity = 1.0;       // c_TBK1: TBK1 activity (1 normal; MAM disruption lowers it)
  double tardbp_endothelium = 0.0;  // τ: fraction of endothelium carrying TARDBP N345K

  // Motor neurons: stress H (proteostasis load, 1 = the capacity) and density N.
  double stress_intrinsic_rate = 0;  // r_int (1/s): misfolding load of mutant SOD1 in the MN itself
  double stress_no_rate = 0;         // r_NO (1/s): stress rate at NO = K_NO (in the toxic band)
  double stress_tnf_rate = 0;        // r_TNF (1/s): stress rate at TNF = K_TNF
  double stress_astrocyte_rate = 0;  // r_A (1/s): stress from fully reactive mutant astrocytes (lost support)
  double stress_repair_rate = 0;     // r_rep (1/s): clearance of the load (autophagy, proteasome)
  double neurturin_repair_gain = 0;  // p: clearance ×(1 + p·Hill(NRTN))
  double neurturin_half = 0.03;      // K_NRTN (nM): GFRα2/RET EC50
  double sg_buffering = 0;           // ε_SG: share of nitrosative stress stress granules absorb at full TBK1
  double death_rate = 0;             // κ (1/s): death rate of MNs at H = 1
  double death_hill = 4;             // m: graded death Hill(H; 1, m)
  double no_damage_half = 150;       // K_NO (nM): half-maximal NO damage
  double no_damage_hill = 2;         // n_NO
  double tnf_receptor_half = 0.1;    // K_TNF (nM): TNFR1
  double neurturin_survival_gain = 0;  // death rate ÷ (1 + g·Hill(NRTN))
  double danger_per_stress = 0;      // q_X (ymol/s per MN at full death propensity): danger signal release

  // Microglia M and astrocytes A (activated / reactive fractions of each subpopulation).
  double microglia_rate = 0;          // k_M (1/s)
  double microglia_danger = 0;        // a_X: drive at saturating danger signal
  double danger_half = 1;             // K_X (nM): danger-signal half-effect (normalisation of X)
  double danger_hill = 2;             // n_X: co-operative purinergic / chemokine response
  double microglia_astrocyte_gain = 0;  // a_ast: amplification by reactive mutant astrocytes
  double microglia_mutant_gain = 0;   // a_mg: mutant microglia are primed (NF-κB) ×(1 + a_mg s)
  double microglia_cytokine = 0;      // a_cyt: drive by TNF + IFN-γ
  double cytokine_half = 0.1;         // K_cyt (nM)
  double microglia_resolution = 0;    // δ_M (1/s)
  double microglia_proliferation = 0; // g_M: microglial density ×(1 + g_M·M)
  double astrocyte_rate = 0;          // k_A (1/s)
  double astrocyte_mutant_gain = 0;   // a_0: mutant astrocytes react more ×(1 + a_0 s)
  double astrocyte_danger = 0;        // b: drive at saturating danger signal
  double astrocyte_danger_half = 1;   // K_XA (nM): astrocytes react at heavier damage than microglia
  double astrocyte_danger_hill = 4;   // n_XA: a threshold response
  double astrocyte_cytokine = 0;      // c: drive by TNF
  double astrocyte_resolution = 0;    // δ_A (1/s)

  // Barrier B, Wnt W, adhesion V.
  double barrier_repair_rate = 0;     // k_rep (1/s)
  double barrier_damage_rate = 0;     // k_dmg (1/s)
  double barrier_microglia = 0;       // d: damage per unit microglial activation
  double interferon_half = 0.1;       // K_IFN (nM): IFNGR
  double barrier_tardbp_defect = 0;   // δ_B: B* = 1 − δ_B·max(0, 1 − W)
  double barrier_msc_repair = 0;      // m_sys: repair ×(1 + m_sys·G + m_loc·Hill(MSC))
  double barrier_msc_local = 0;       // m_loc
  double msc_local_half = 1;          // K_MSC (cells/mm³)
  double wnt_rate = 0;                // k_W (1/s)
  double wnt_tardbp_loss = 0;         // ω: W target 1 − ω·τ (+ CHIR boost)
  double wnt_chir_boost = 0;          // c_CHIR: W target raised while CHIR99021 is given
  double adhesion_rate = 0;           // k_V (1/s)
  double adhesion_wnt = 0;            // v_W: V target ×(1 + v_W·max(0, 1 − W))
  double adhesion_cytokine = 0;       // v_cyt: ×(1 + v_cyt·Hill(TNF)·Hill(IFN))
  double perfusion_loss = 0;          // p_perf: capillary perfusion 1 − p_perf·(1 − B)

  // MSC in tissue.
  double msc_homing = 0;              // h ((cells/mm³)/s per plasma cell per unit barrier damage)
  double msc_loss = 0;                // δ_MSC (1/s)

  // Sources and sinks of the species.
  double no_per_microglia = 0;        // q_NO (ymol/s per activated microglia)
  double oxygen_factor = 1;           // O₂/(K_m + O₂) at tissue pO₂
  double no_parenchymal_decay = 0;    // k_par (1/s)
  double no_capillary_scavenging = 0; // γ (1/s per mm²/mm³ of perfused capillary surface)
  double tnf_per_microglia = 0;       // ymol/s per activated microglia
  double tnf_per_astrocyte = 0;       // ymol/s per reactive astrocyte
  double tnf_resting_fraction = 0;    // r_rest: a resting microglia's TNF, relative to an activated one
  double ifn_infiltration = 0;        // nM/s at (1 − B)·V = 1 in gray-matter capillary density
  double neurturin_per_msc = 0;       // ymol/s per MSC
  double neurturin_basal = 0;         // ymol/s per astrocyte in the normal cord
  double neurturin_host = 0;          // ymol/s per astrocyte at full systemic MSC signal
  double msc_signal_half = 0.1;       // K_G: Hill half of the systemic signal
  double capillary_surface_gray = 21; // mm²/mm³, the reference density of the rates above
};

// What a voxel is, fixed over a run except where an intervention changes it. Cre excision makes
// a mosaic: a share of each cell type loses the gene entirely (excised), the rest keep it.
struct VoxelInputs {
  double motor_neurons_initial;  // N₀ (cells/mm³)
  double microglia_baseline;     // ρ_M0 (cells/mm³), with its voxel-to-voxel variation
  double astrocytes;             // ρ_A (cells/mm³)
  double capillary_surface;      // S_v (mm²/mm³)
  double excised_motor_neurons;  // f_MN: share of the voxel's MNs Cre has excised (recorded; N_e carries it)
  double excised_astrocytes;     // f_A: share of the astrocytes without the mutant gene
  double excised_microglia;      // f_M
};
inline constexpr int kVoxelInputs = 7;

// What a voxel sees of its surroundings: the diffusing species (nM), the danger signal X among
// them (released by stressed MNs, diffusing and decaying on the grid like any species).
struct LocalFields {
  double no, tnf, ifn, neurturin, danger;
};

// Scenario-wide drivers at the current time.
struct SystemicDrivers {
  double plasma_msc = 0;   // P: MSC in the circulation (cells)
  double msc_signal = 0;   // G: systemic MSC signal (lung-trapped cells / reference dose)
  double chir = 0;         // 1 while CHIR99021 acts, else 0
};

// The slow states of a voxel. The three cell types whose mutant gene Cre can excise are two
// subpopulations each: carriers (the line's genotype) and excised cells (no mutant gene).
struct CellState {
  double mn_carrier;         // N_c (cells/mm³): MNs carrying the line's genotype
  double mn_excised;         // N_e (cells/mm³)
  double stress_carrier;     // H_c (≥ 0; 1 = the MN's proteostasis capacity)
  double stress_excised;     // H_e
  double microglia_carrier;  // M_c ∈ [0, 1]: activated fraction of the carrier microglia
  double microglia_excised;  // M_e
  double astro_carrier;      // A_c ∈ [0, 1]: reactive fraction of the carrier astrocytes
  double astro_excised;      // A_e
  double barrier;            // B ∈ [0, 1]: integrity
  double adhesion;           // V (≥ 0; 1 = healthy endothelium)
  double msc;                // MSC density (cells/mm³)
  double wnt;                // W (1 = healthy)
};
inline constexpr int kCellStates = 12;

CORDSIM_HD double& state_at(CellState& s, int i) {
  double* fields[kCellStates] = {&s.mn_carrier,    &s.mn_excised,    &s.stress_carrier, &s.stress_excised,
                                 &s.microglia_carrier, &s.microglia_excised, &s.astro_carrier, &s.astro_excised,
                                 &s.barrier,       &s.adhesion,      &s.msc,            &s.wnt};
  return *fields[i];
}

// Voxel totals of the mosaic: MN density, mean microglial activation and astrocyte reactivity,
// and the reactive share of astrocytes that carry the mutant gene.
CORDSIM_HD double motor_neurons(const CellState& s) { return s.mn_carrier + s.mn_excised; }
CORDSIM_HD double microglia_activation(const VoxelInputs& v, const CellState& s) {
  return (1.0 - v.excised_microglia) * s.microglia_carrier + v.excised_microglia * s.microglia_excised;
}
CORDSIM_HD double astrocyte_reactivity(const VoxelInputs& v, const CellState& s) {
  return (1.0 - v.excised_astrocytes) * s.astro_carrier + v.excised_astrocytes * s.astro_excised;
}
CORDSIM_HD double reactive_mutant_astrocytes(const TissueModelParams& q, const VoxelInputs& v, const CellState& s) {
  return q.sod1_astrocytes * (1.0 - v.excised_astrocytes) * s.astro_carrier;
}
// Mean MN stress, weighted by the two subpopulations' densities (H of the carriers if none left).
CORDSIM_HD double mean_stress(const CellState& s) {
  const double n = motor_neurons(s);
  return n > 0 ? (s.mn_carrier * s.stress_carrier + s.mn_excised * s.stress_excised) / n : s.stress_carrier;
}

// Production p and loss l of every state, for (1).
struct StateRates {
  double p[kCellStates];
  double l[kCellStates];
};

CORDSIM_HD StateRates state_rates(const TissueModelParams& q, const VoxelInputs& v, const LocalFields& c,
                                  const SystemicDrivers& g, const CellState& s) {
  StateRates r{};
  const double h_nrtn = hill(c.neurturin, q.neurturin_half, 1.0);
  const double h_tnf = hill(c.tnf, q.tnf_receptor_half, 1.0);
  const double h_ifn = hill(c.ifn, q.interferon_half, 1.0);
  const double h_danger = hill(c.danger, q.danger_half, q.danger_hill);
  const double mutant_astro = reactive_mutant_astrocytes(q, v, s);
  // MN stress, per subpopulation (s = s_MN for carriers, 0 for excised MNs):
  //   dH/dt = r_int s + (1 − ε_SG c_TBK1)·2 r_NO Hill(NO; K_NO, n_NO) + 2 r_TNF Hill(TNF; K_TNF, 1)
  //           + r_A A_mut − r_rep (1 + p Hill(NRTN)) / (1 + φ_FUS) · H
  // The NO and TNF terms are written with their rate at the half-effect concentration (2·Hill = 1
  // there), so the fitted constants are rates inside the cited toxic bands. Stress granules absorb
  // a share ε_SG of the nitrosative stress, TBK1-dependently (Watanabe 2023); FUS-mutant granules
  // persist and slow clearance (Ichiyanagi 2016); lost astrocyte support (A_mut) adds load.
  const double external = (1.0 - q.sg_buffering * q.tbk1_activity) * 2.0 * q.stress_no_rate *
                              hill(c.no, q.no_damage_half, q.no_damage_hill) +
                          2.0 * q.stress_tnf_rate * h_tnf + q.stress_astrocyte_rate * mutant_astro;
  const double clearance = q.stress_repair_rate * (1.0 + q.neurturin_repair_gain * h_nrtn) / (1.0 + q.fus_sg_persistence);
  r.p[2] = q.stress_intrinsic_rate * q.sod1_motor_neurons + external;
  r.l[2] = clearance;
  r.p[3] = external;
  r.l[3] = clearance;
  // MN density, per subpopulation: dN/dt = −κ Hill(H; 1, m) N / (1 + g Hill(NRTN)): graded in the
  // stress load, lessened by neurturin.
  const double protection = 1.0 + q.neurturin_survival_gain * h_nrtn;
  r.l[0] = q.death_rate * hill(s.stress_carrier, 1.0, q.death_hill) / protection;
  r.l[1] = q.death_rate * hill(s.stress_excised, 1.0, q.death_hill) / protection;
  // Microglia, per subpopulation (s = s_M for carriers, 0 excised):
  //   dM/dt = k_M (1 + a_mg s) [a_X Hill(X; K_X, n_X) + a_ast A_mut + a_cyt Hill(TNF + IFN)] (1 − M) − δ_M M
  // The local danger signal X activates them; reactive mutant astrocytes activate them too, where
  // they are (Yamanaka 2008: fewer activated microglia after astrocyte excision, inversely
  // correlated with the mutant-free astrocytes); mutant microglia are primed.
  const double m_drive = q.microglia_danger * h_danger + q.microglia_astrocyte_gain * mutant_astro +
                         q.microglia_cytokine * hill(c.tnf + c.ifn, q.cytokine_half, 1.0);
  for (int k = 0; k < 2; ++k) {
    const double drive = q.microglia_rate * m_drive * (1.0 + q.microglia_mutant_gain * (k == 0 ? q.sod1_microglia : 0.0));
    r.p[4 + k] = drive;
    r.l[4 + k] = drive + q.microglia_resolution;
  }
  // Astrocytes, per subpopulation: dA/dt = k_A (1 + a_0 s) [b Hill(X; K_XA, n_XA) + c Hill(TNF)] (1 − A) − δ_A A
  // Their threshold K_XA lies above the microglia's and is steeper: astrogliosis follows MN loss,
  // so mutant astrocytes shape the progression more than the onset (Yamanaka 2008).
  const double a_drive =
      q.astrocyte_danger * hill(c.danger, q.astrocyte_danger_half, q.astrocyte_danger_hill) + q.astrocyte_cytokine * h_tnf;
  for (int k = 0; k < 2; ++k) {
    const double drive = q.astrocyte_rate * a_drive * (1.0 + q.astrocyte_mutant_gain * (k == 0 ? q.sod1_astrocytes : 0.0));
    r.p[6 + k] = drive;
    r.l[6 + k] = drive + q.astrocyte_resolution;
  }
  // Barrier: dB/dt = k_rep (1 + m_sys G + m_loc Hill(MSC)) (B* − B) − k_dmg [Hill(TNF) + Hill(IFN) + d M²] B,
  // B* = 1 − δ_B max(0, 1 − W): the intrinsic endothelial defect follows the Wnt deficit.
  const double m_mean = microglia_activation(v, s);
  const double wnt_deficit = fmax(0.0, 1.0 - s.wnt);
  const double b_target = fmax(0.0, 1.0 - q.barrier_tardbp_defect * wnt_deficit);
  const double repair = q.barrier_repair_rate *
                        (1.0 + q.barrier_msc_repair * g.msc_signal + q.barrier_msc_local * hill(s.msc, q.msc_local_half, 1.0));
  r.p[8] = repair * b_target;
  r.l[8] = repair + q.barrier_damage_rate * (h_tnf + h_ifn + q.barrier_microglia * m_mean * m_mean);
  // Adhesion molecules: dV/dt = k_V (V* − V), V* = (1 + v_W (1 − W)) (1 + v_cyt Hill(TNF) Hill(IFN))
  const double v_target = (1.0 + q.adhesion_wnt * wnt_deficit) * (1.0 + q.adhesion_cytokine * h_tnf * h_ifn);
  r.p[9] = q.adhesion_rate * v_target;
  r.l[9] = q.adhesion_rate;
  // MSC: dMSC/dt = h (1 − B) P (S_v / S_v,gray) − δ_MSC MSC: homing where the barrier is damaged.
  r.p[10] = q.msc_homing * fmax(0.0, 1.0 - s.barrier) * g.plasma_msc * v.capillary_surface / q.capillary_surface_gray;
  r.l[10] = q.msc_loss;
  // Wnt: dW/dt = k_W (W* − W), W* = 1 − ω τ + c_CHIR·chir
  const double wnt_target = fmax(0.0, 1.0 - q.wnt_tardbp_loss * q.tardbp_endothelium + q.wnt_chir_boost * g.chir);
  r.p[11] = q.wnt_rate * wnt_target;
  r.l[11] = q.wnt_rate;
  return r;
}

// One step of (1) for any production–loss system of N unknowns: `rates(x, p, l)` fills p and l
// for the state x. Order 1: exponential Euler; order 2: exponential midpoint (rates re-evaluated
// at the half-step state, then the full step taken from x with them).
template <int N, class Rates>
CORDSIM_HD void exponential_step(double (&x)[N], double dt, int order, const Rates& rates) {
  double p[N], l[N];
  rates(x, p, l);
  if (order >= 2) {
    double half[N];
    for (int i = 0; i < N; ++i) half[i] = relax(x[i], p[i], l[i], 0.5 * dt);
    rates(half, p, l);
  }
  for (int i = 0; i < N; ++i) x[i] = relax(x[i], p[i], l[i], dt);
}

// Advances a voxel's states by dt with the fields and drivers frozen (exponential_step).
CORDSIM_HD CellState advance_cell_state(const TissueModelParams& q, const VoxelInputs& v, const LocalFields& c,
                                        const SystemicDrivers& g, const CellState& s, double dt, int order) {
  double x[kCellStates];
  CellState work = s;
  for (int i = 0; i < kCellStates; ++i) x[i] = state_at(work, i);
  exponential_step(x, dt, order, [&](const double (&y)[kCellStates], double (&p)[kCellStates], double (&l)[kCellStates]) {
    CellState at = s;
    for (int i = 0; i < kCellStates; ++i) state_at(at, i) = y[i];
    const StateRates r = state_rates(q, v, c, g, at);
    for (int i = 0; i < kCellStates; ++i) {
      p[i] = r.p[i];
      l[i] = r.l[i];
    }
  });
  for (int i = 0; i < kCellStates; ++i) state_at(work, i) = x[i];
  return work;
}

// Cre excision of a share e of a cell type's remaining carriers in a voxel (a mosaic): the
// excised cells keep the states they had and from now on carry no mutant gene. MNs move density
// from the carriers to the excised pool (the stresses mix by density); glia change the excised
// share f → f + e (1 − f), the excised fraction's state the share-weighted mean.
CORDSIM_HD void excise_cells(int cell_type, double e, VoxelInputs& v, CellState& s) {
  if (cell_type == 0) {  // motor neurons
    const double moved = e * s.mn_carrier;
    const double total = s.mn_excised + moved;
    if (total > 0) s.stress_excised = (s.mn_excised * s.stress_excised + moved * s.stress_carrier) / total;
    s.mn_excised = total;
    s.mn_carrier -= moved;
    v.excised_motor_neurons += e * (1.0 - v.excised_motor_neurons);
    return;
  }
  double& f = cell_type == 1 ? v.excised_astrocytes : v.excised_microglia;
  double& carrier = cell_type == 1 ? s.astro_carrier : s.microglia_carrier;
  double& excised = cell_type == 1 ? s.astro_excised : s.microglia_excised;
  const double moved = e * (1.0 - f);
  const double total = f + moved;
  if (total > 0) excised = (f * excised + moved * carrier) / total;
  f = total;
}

// What the states make of the species: production S (nM/s) and first-order loss k (1/s) per
// species, for the linear transport solve D∇²c − k c + S (= ∂c/∂t).
struct SpeciesTerms {
  double no_source, no_decay;
  double tnf_source;
  double ifn_source;
  double neurturin_source;
  double danger_source;
};

CORDSIM_HD double microglia_density(const TissueModelParams& q, const VoxelInputs& v, const CellState& s) {
  return v.microglia_baseline * (1.0 + q.microglia_proliferation * microglia_activation(v, s));
}

// Perfused capillary surface (mm²/mm³): pericyte loss and a damaged barrier cut capillary flow.
CORDSIM_HD double perfused_capillary_surface(const TissueModelParams& q, const VoxelInputs& v, const CellState& s) {
  return v.capillary_surface * fmax(0.0, 1.0 - q.perfusion_loss * (1.0 - s.barrier));
}

CORDSIM_HD SpeciesTerms species_terms(const TissueModelParams& q, const VoxelInputs& v, const SystemicDrivers& g,
                                      const CellState& s) {
  // cells/mm³ × ymol/s per cell = ymol/(mm³ s) = 1e-9 ymol/(µm³ s) = 1e-9 nM/s.
  constexpr double per_mm3 = 1e-9;
  SpeciesTerms t{};
  const double activated = microglia_density(q, v, s) * microglia_activation(v, s);
  // NO: iNOS of activated microglia (O₂-limited); k = k_par + γ·perfused capillary surface, so that
  // perfused gray matter has the in-vivo apparent decay (Santos 2011) and white matter less.
  t.no_source = q.no_per_microglia * q.oxygen_factor * activated * per_mm3;
  t.no_decay = q.no_parenchymal_decay + q.no_capillary_scavenging * perfused_capillary_surface(q, v, s);
  t.tnf_source = (q.tnf_per_microglia * (activated + q.tnf_resting_fraction * v.microglia_baseline) +
                  q.tnf_per_astrocyte * v.astrocytes * astrocyte_reactivity(v, s)) * per_mm3;
  // IFN-γ: infiltrating T cells cross where the barrier is open and adhesion molecules hold them.
  t.ifn_source = q.ifn_infiltration * fmax(0.0, 1.0 - s.barrier) * s.adhesion * v.capillary_surface / q.capillary_surface_gray;
  // Neurturin: host astrocytes (basal, raised by the systemic MSC signal) and MSC in the tissue.
  t.neurturin_source = (q.neurturin_per_msc * s.msc +
                        v.astrocytes * (q.neurturin_basal + q.neurturin_host * hill(g.msc_signal, q.msc_signal_half, 1.0))) *
                       per_mm3;
  // Danger signal: MNs near death release it (ATP, HMGB1, chemokines), in proportion to their
  // death propensity: S_X = q_X Σ_j N_j Hill(H_j; 1, m). Healthy and mildly stressed MNs release
  // next to none, so the glia stay quiet until MNs start to die.
  t.danger_source = q.danger_per_stress *
                    (s.mn_carrier * hill(s.stress_carrier, 1.0, q.death_hill) +
                     s.mn_excised * hill(s.stress_excised, 1.0, q.death_hill)) *
                    per_mm3;
  return t;
}

// Evans Blue–albumin leak during an assay: ∂c/∂t ∋ PS (C_p − c / α), PS the permeability–surface
// product per tissue volume (1/s): PS₀ (S_v / S_v,gray) (1 + β (1 − B)).
CORDSIM_HD double albumin_permeability(double ps_gray, double leak_gain, double capillary_surface_gray,
                                       const VoxelInputs& v, const CellState& s) {
  return ps_gray * v.capillary_surface / capillary_surface_gray * (1.0 + leak_gain * fmax(0.0, 1.0 - s.barrier));
}

}  // namespace cordsim
