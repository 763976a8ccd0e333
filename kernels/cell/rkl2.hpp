#pragma once
// Runge–Kutta–Legendre super-time-stepping, second order (RKL2; Meyer, Balsara & Aslam,
// J. Comput. Phys. 257 (2014) 594–626). An explicit s-stage method whose stability interval grows
// as s²: one super-step τ of s stages is stable for
//
//   τ ≤ Δt_FE · (s² + s − 2) / 4,
//
// so a step that forward Euler needs N sub-steps for takes s ≈ 2√N stages. For dc/dt = L(c):
//
//   Y_0 = cⁿ
//   Y_1 = Y_0 + μ̃_1 τ L(Y_0)
//   Y_j = μ_j Y_{j−1} + ν_j Y_{j−2} + (1 − μ_j − ν_j) Y_0 + μ̃_j τ L(Y_{j−1}) + γ̃_j τ L(Y_0),  j = 2..s
//   cⁿ⁺¹ = Y_s
//
//   b_0 = b_1 = b_2 = 1/3,  b_j = (j² + j − 2) / (2j(j + 1)),  a_j = 1 − b_j,  w_1 = 4 / (s² + s − 2)
//   μ̃_1 = b_1 w_1,  μ_j = (2j − 1)/j · b_j/b_{j−1},  ν_j = −(j − 1)/j · b_j/b_{j−2},
//   μ̃_j = μ_j w_1,  γ̃_j = −a_{j−1} μ̃_j
//
// cordsim advances the increments Δ_j = Y_j − Y_0 instead. Since μ_j + ν_j + (1 − μ_j − ν_j) = 1
// and L(Y_{j−1}) = L(Y_0) + L_h(Δ_{j−1}) for the affine L = L_h + rhs,
//
//   Δ_1 = μ̃_1 τ L(Y_0),   Δ_j = μ_j Δ_{j−1} + ν_j Δ_{j−2} + μ̃_j τ L_h(Δ_{j−1}) + (μ̃_j + γ̃_j) τ L(Y_0),
//
// with Δ_0 = 0 — the same method, but a stage streams Δ_{j−1}, Δ_{j−2}, τL(Y_0) and the operator
// without rhs (8 arrays instead of 10), and increments keep more significant digits than states.
//
// The stage weights sum to 1 and L_h moves mass between voxels only, so mass is conserved as by
// forward Euler. Unlike forward Euler at its limit, RKL2 does not guarantee c ≥ 0 for rough data.
#include "kernels/cell/diffusion.hpp"

namespace cordsim {

struct Rkl2StageCoefficients {
  real mu = 0, nu = 0, mu_tilde = 0, l0_weight = 0;  // l0_weight = μ̃_j + γ̃_j
};

inline double rkl2_b(int n) { return n <= 2 ? 1.0 / 3.0 : double(n * n + n - 2) / (2.0 * n * (n + 1)); }

// Coefficients of stage j (2 ≤ j ≤ s) of an s-stage RKL2 step.
inline Rkl2StageCoefficients rkl2_stage(int s, int j) {
  const double w1 = 4.0 / double(s * s + s - 2);
  const double mu = double(2 * j - 1) / j * rkl2_b(j) / rkl2_b(j - 1);
  const double nu = j == 2 ? 0.0 : -double(j - 1) / j * rkl2_b(j) / rkl2_b(j - 2);  // Δ_0 = 0
  const double mu_tilde = mu * w1;
  const double gamma_tilde = -(1.0 - rkl2_b(j - 1)) * mu_tilde;
  return {real(mu), real(nu), real(mu_tilde), real(mu_tilde + gamma_tilde)};
}

// μ̃_1 = b_1 w_1.
inline real rkl2_first_stage_weight(int s) { return real(rkl2_b(1) * 4.0 / double(s * s + s - 2)); }

// Fewest stages (≥ 2) for which a super-step tau is stable given the forward-Euler limit.
inline int rkl2_stages_for(double tau, double forward_euler_limit) {
  int s = 2;
  while (forward_euler_limit * double(s * s + s - 2) / 4.0 < tau) ++s;
  return s;
}

// Stage 1: τ L(Y_0), kept for the later stages, and Δ_1.
struct Rkl2FirstStage {
  OperatorView op;
  const real* y0;
  real* tau_l0;   // out: τ L(Y_0)
  real* delta1;   // out: Δ_1
  real tau, weight;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = op.dims.index(i, j, k);
    const real tl = tau * tendency(op, y0, v);
    tau_l0[v] = tl;
    delta1[v] = weight * tl;
  }
};

// Stage j ≥ 2. The last stage (Final) writes Y_s = Y_0 + Δ_s instead of Δ_s.
template <bool Final>
struct Rkl2Stage {
  OperatorView op;
  const real* delta_prev;   // Δ_{j−1}
  const real* delta_prev2;  // Δ_{j−2} (not read when ν = 0)
  const real* tau_l0;
  const real* y0;           // read by the final stage only
  real* out;                // Δ_j, or Y_s for the final stage
  Rkl2StageCoefficients c;
  real tau;
  CORDSIM_HD void operator()(int i, int j, int k) const {
    const VoxelIndex v = op.dims.index(i, j, k);
    const real delta = c.mu * delta_prev[v] + c.nu * delta_prev2[v] +
                        (c.mu_tilde * tau) * homogeneous_tendency(op, delta_prev, v) +
                        c.l0_weight * tau_l0[v];
    out[v] = Final ? y0[v] + delta : delta;
  }
};

}  // namespace cordsim
