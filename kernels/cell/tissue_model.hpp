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
// host/model/parameters.cpp, the one table docs/model.md is generated from.
struct TissueModelParams {
  // Genotype, scenario-wide (per-voxel mutant fractions s_MN, s_A, s_M are in VoxelInputs).
  double fus_vulnerability = 0.0;   // φ_FUS: extra intrinsic MN stress of a FUS mutation
  double tbk1_sensitivity = 1.0;    // σ_TBK1: scales MN damage from NO and TNF (MAM/TBK1 loss > 1)
  double tardbp_endothelium = 0.0;  // τ: fraction of endothelium carrying TARDBP N345K

  // Motor neurons: stress H and density N.
  double stress_intrinsic_rate = 0;  // r_int (1/s): mutant-SOD1 stress accumulation
  double stress_repair_rate = 0;     // r_rep (1/s)
  double neurturin_repair_gain = 0;  // p: repair ×(1 + p·Hill(NRTN))
  double neurturin_half = 0.03;      // K_NRTN (nM): GFRα2/RET EC50
  double death_rate = 0;             // κ_int (1/s): intrinsic death once stress passes H_c
  double death_threshold = 1;        // H_c
  double death_hill = 6;             // m
  double vulnerable_fraction = 0.4;  // φ_v: fraction of MNs (fast-fatigable) open to intrinsic death
  double toxic_death_rate = 0;       // κ_tox (1/s): death at saturating NO
  double no_damage_half = 150;       // K_NO (nM): half-maximal damage
  double no_damage_hill = 2;         // n_NO
  double tnf_toxicity = 0;           // w_TNF: TNF's toxicity relative to NO's
  double tnf_toxicity_hill = 4;      // n_TNF: co-operative, so baseline pM TNF does no harm
  double tnf_receptor_half = 0.1;    // K_TNF (nM): TNFR1
  double neurturin_survival_gain = 0;  // death rate ÷ (1 + g·Hill(NRTN))

  // Microglia M and astrocytes A.
  double microglia_rate = 0;          // k_M (1/s)
  double microglia_injury = 0;        // a_dmg: drive per unit local MN loss
  double microglia_astrocyte_gain = 0;  // a_ast: amplification of that drive by mutant reactive astrocytes
  double microglia_mutant_gain = 0;   // a_mg: amplification by mutant microglia
  double microglia_cytokine = 0;      // a_cyt: drive by TNF + IFN-γ
  double cytokine_half = 0.1;         // K_cyt (nM)
  double microglia_resolution = 0;    // δ_M (1/s)
  double microglia_proliferation = 0; // g: microglial density ×(1 + g·M)
  double astrocyte_rate = 0;          // k_A (1/s)
  double astrocyte_intrinsic = 0;     // a_0: reactivity of mutant astrocytes
  double astrocyte_injury = 0;        // b
  double astrocyte_cytokine = 0;      // c
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
  double neurturin_host = 0;          // ymol/s per astrocyte at full systemic MSC signal
  double msc_signal_half = 0.1;       // K_G: Hill half of the systemic signal
  double capillary_surface_gray = 21; // mm²/mm³, the reference density of the rates above
};

// What a voxel is, fixed over a run except where an intervention changes it.
struct VoxelInputs {
  double motor_neurons_initial;  // N₀ (cells/mm³)
  double microglia_baseline;     // ρ_M0 (cells/mm³)
  double astrocytes;             // ρ_A (cells/mm³)
  double capillary_surface;      // S_v (mm²/mm³)
  double sod1_motor_neurons;     // s_MN: mutant fraction (1 − Cre excision)
  double sod1_astrocytes;        // s_A
  double sod1_microglia;         // s_M
};

// What a voxel sees of its surroundings: the diffusing species (nM), and the injury signal D,
// the MN loss 1 − N/N₀ of its ventral horn (one segment, one side; 0 outside the ventral horns):
// microglia and astrocytes across the horn respond to the motor neurons dying in its pool.
struct LocalFields {
  double no, tnf, ifn, neurturin;
  double injury;
};

// Scenario-wide drivers at the current time.
struct SystemicDrivers {
  double plasma_msc = 0;   // P: MSC in the circulation (cells)
  double msc_signal = 0;   // G: systemic MSC signal (lung-trapped cells / reference dose)
  double chir = 0;         // 1 while CHIR99021 acts, else 0
};

// The slow states of a voxel (see the header comment for their laws).
struct CellState {
  double motor_neurons;  // N (cells/mm³)
  double stress;         // H (≥ 0)
  double microglia;      // M ∈ [0, 1]: activated fraction
  double astrocytes;     // A ∈ [0, 1]: reactive fraction
  double barrier;        // B ∈ [0, 1]: integrity
  double adhesion;       // V (≥ 0; 1 = healthy endothelium)
  double msc;            // MSC density (cells/mm³)
  double wnt;            // W (1 = healthy)
};
inline constexpr int kCellStates = 8;

// Production p and loss l of every state, for (1).
struct StateRates {
  double p[kCellStates];
  double l[kCellStates];
};

CORDSIM_HD StateRates state_rates(const TissueModelParams& q, const VoxelInputs& v, const LocalFields& c,
                                  const SystemicDrivers& g, const CellState& s) {
  StateRates r{};
  const double injury = c.injury;
  const double h_nrtn = hill(c.neurturin, q.neurturin_half, 1.0);
  const double h_tnf = hill(c.tnf, q.tnf_receptor_half, 1.0);
  const double h_ifn = hill(c.ifn, q.interferon_half, 1.0);
  // MN stress, the cell-autonomous clock of onset (mutant protein in the MN itself):
  //   dH/dt = r_int s_MN (1 + φ_FUS) − r_rep (1 + p Hill(NRTN)) H
  r.p[1] = q.stress_intrinsic_rate * v.sod1_motor_neurons * (1.0 + q.fus_vulnerability);
  r.l[1] = q.stress_repair_rate * (1.0 + q.neurturin_repair_gain * h_nrtn);
  // MN density: intrinsic death of the vulnerable fraction φ_v once H passes the proteostasis
  // capacity H_c (this sets onset), plus death of any MN from the glia's NO and TNF, scaled by the
  // TBK1/MAM stress capacity σ (science.md §1; this sets progression), both lessened by neurturin:
  //   dN/dt = −[κ_int Hill(H; H_c, m) (N − (1 − φ_v) N₀)⁺ + κ_tox σ (Hill(NO; K_NO, n) + w Hill(TNF; K_TNF, n_TNF)) N]
  //           / (1 + g Hill(NRTN))
  const double resistant = (1.0 - q.vulnerable_fraction) * v.motor_neurons_initial;
  const double vulnerable_share = s.motor_neurons > resistant ? 1.0 - resistant / s.motor_neurons : 0.0;
  r.p[0] = 0.0;
  r.l[0] = (q.death_rate * hill(s.stress, q.death_threshold, q.death_hill) * vulnerable_share +
            q.toxic_death_rate * q.tbk1_sensitivity *
                (hill(c.no, q.no_damage_half, q.no_damage_hill) +
                 q.tnf_toxicity * hill(c.tnf, q.tnf_receptor_half, q.tnf_toxicity_hill))) /
           (1.0 + q.neurturin_survival_gain * h_nrtn);
  // Microglia: dM/dt = k_M [a_dmg·D·(1 + a_ast s_A A)(1 + a_mg s_M) + a_cyt Hill(TNF + IFN)] (1 − M) − δ_M M.
  // Injury D = 1 − N/N₀ gates the astrocyte amplification: mutant astrocytes shape the response to
  // dying MNs, not its start, which is why excising them leaves onset alone (science.md §2).
  const double m_drive =
      q.microglia_injury * injury * (1.0 + q.microglia_astrocyte_gain * v.sod1_astrocytes * s.astrocytes) *
          (1.0 + q.microglia_mutant_gain * v.sod1_microglia) +
      q.microglia_cytokine * hill(c.tnf + c.ifn, q.cytokine_half, 1.0);
  r.p[2] = q.microglia_rate * m_drive;
  r.l[2] = q.microglia_rate * m_drive + q.microglia_resolution;
  // Astrocytes: dA/dt = k_A [a_0 s_A + b D + c Hill(TNF)] (1 − A) − δ_A A
  const double a_drive = q.astrocyte_intrinsic * v.sod1_astrocytes + q.astrocyte_injury * injury +
                         q.astrocyte_cytokine * h_tnf;
  r.p[3] = q.astrocyte_rate * a_drive;
  r.l[3] = q.astrocyte_rate * a_drive + q.astrocyte_resolution;
  // Wnt: dW/dt = k_W (W* − W), W* = 1 − ω τ + c_CHIR·chir
  const double wnt_target = fmax(0.0, 1.0 - q.wnt_tardbp_loss * q.tardbp_endothelium + q.wnt_chir_boost * g.chir);
  r.p[7] = q.wnt_rate * wnt_target;
  r.l[7] = q.wnt_rate;
  // Barrier: dB/dt = k_rep (1 + m_sys G + m_loc Hill(MSC)) (B* − B) − k_dmg [Hill(TNF) + Hill(IFN) + d M] B,
  // B* = 1 − δ_B max(0, 1 − W): the intrinsic endothelial defect follows the Wnt deficit.
  const double wnt_deficit = fmax(0.0, 1.0 - s.wnt);
  const double b_target = fmax(0.0, 1.0 - q.barrier_tardbp_defect * wnt_deficit);
  const double repair = q.barrier_repair_rate *
                        (1.0 + q.barrier_msc_repair * g.msc_signal + q.barrier_msc_local * hill(s.msc, q.msc_local_half, 1.0));
  r.p[4] = repair * b_target;
  r.l[4] = repair + q.barrier_damage_rate * (h_tnf + h_ifn + q.barrier_microglia * s.microglia * s.microglia);
  // Adhesion molecules: dV/dt = k_V (V* − V), V* = (1 + v_W (1 − W)) (1 + v_cyt Hill(TNF) Hill(IFN))
  const double v_target = (1.0 + q.adhesion_wnt * wnt_deficit) * (1.0 + q.adhesion_cytokine * h_tnf * h_ifn);
  r.p[5] = q.adhesion_rate * v_target;
  r.l[5] = q.adhesion_rate;
  // MSC: dMSC/dt = h (1 − B) P (S_v / S_v,gray) − δ_MSC MSC: homing where the barrier is damaged.
  r.p[6] = q.msc_homing * fmax(0.0, 1.0 - s.barrier) * g.plasma_msc * v.capillary_surface / q.capillary_surface_gray;
  r.l[6] = q.msc_loss;
  return r;
}

CORDSIM_HD double& state_at(CellState& s, int i) {
  double* fields[kCellStates] = {&s.motor_neurons, &s.stress, &s.microglia, &s.astrocytes,
                                 &s.barrier, &s.adhesion, &s.msc, &s.wnt};
  return *fields[i];
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

// What the states make of the species: production S (nM/s) and first-order loss k (1/s) per
// species, for the linear transport solve D∇²c − k c + S (= ∂c/∂t).
struct SpeciesTerms {
  double no_source, no_decay;
  double tnf_source;
  double ifn_source;
  double neurturin_source;
};

CORDSIM_HD double microglia_density(const TissueModelParams& q, const VoxelInputs& v, const CellState& s) {
  return v.microglia_baseline * (1.0 + q.microglia_proliferation * s.microglia);
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
  const double activated = microglia_density(q, v, s) * s.microglia;
  // NO: iNOS of activated microglia (O₂-limited); k = k_par + γ·perfused capillary surface, so that
  // perfused gray matter has the in-vivo apparent decay (Santos 2011) and white matter less.
  t.no_source = q.no_per_microglia * q.oxygen_factor * activated * per_mm3;
  t.no_decay = q.no_parenchymal_decay + q.no_capillary_scavenging * perfused_capillary_surface(q, v, s);
  t.tnf_source = (q.tnf_per_microglia * (activated + q.tnf_resting_fraction * v.microglia_baseline) +
                  q.tnf_per_astrocyte * v.astrocytes * s.astrocytes) * per_mm3;
  // IFN-γ: infiltrating T cells cross where the barrier is open and adhesion molecules hold them.
  t.ifn_source = q.ifn_infiltration * fmax(0.0, 1.0 - s.barrier) * s.adhesion * v.capillary_surface / q.capillary_surface_gray;
  t.neurturin_source = (q.neurturin_per_msc * s.msc + q.neurturin_host * v.astrocytes * hill(g.msc_signal, q.msc_signal_half, 1.0)) * per_mm3;
  return t;
}

// Evans Blue–albumin leak during an assay: ∂c/∂t ∋ PS (C_p − c / α), PS the permeability–surface
// product per tissue volume (1/s): PS₀ (S_v / S_v,gray) (1 + β (1 − B)).
CORDSIM_HD double albumin_permeability(double ps_gray, double leak_gain, double capillary_surface_gray,
                                       const VoxelInputs& v, const CellState& s) {
  return ps_gray * v.capillary_surface / capillary_surface_gray * (1.0 + leak_gain * fmax(0.0, 1.0 - s.barrier));
}

}  // namespace cordsim
