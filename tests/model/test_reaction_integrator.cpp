// The per-voxel reaction integrator of the ALS model (kernels/cell/tissue_model.hpp): order of
// convergence on a 0-D law with a known solution, and positivity / boundedness at any step.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "kernels/cell/tissue_model.hpp"
#include "tests/support/report.hpp"

namespace cordsim {
namespace {

// Logistic growth x' = r x (1 − x) in production–loss form p = r x, l = r x; exact solution
// x(t) = 1 / (1 + (1/x₀ − 1) e^(−r t)).
double logistic_error(double dt, int order) {
  const double r = 1.0, x0 = 0.1, end = 5.0;
  double x[1] = {x0};
  const int steps = int(std::lround(end / dt));
  for (int n = 0; n < steps; ++n)
    exponential_step(x, dt, order, [&](const double (&y)[1], double (&p)[1], double (&l)[1]) {
      p[0] = r * y[0];
      l[0] = r * y[0];
    });
  const double exact = 1.0 / (1.0 + (1.0 / x0 - 1.0) * std::exp(-r * end));
  return std::abs(x[0] - exact);
}

TEST(ReactionIntegrator, ConvergesAtItsOrderOnTheLogisticLaw) {
  for (int order : {1, 2}) {
    const double e1 = logistic_error(0.1, order), e2 = logistic_error(0.05, order), e3 = logistic_error(0.025, order);
    const double observed = std::log2(e2 / e3);
    std::printf("order %d: errors %.3e %.3e %.3e at steps 0.1, 0.05, 0.025\n", order, e1, e2, e3);
    test::report(order == 1 ? "observed order, exponential Euler (logistic law, steps 0.05 -> 0.025)"
                            : "observed order, exponential midpoint (logistic law, steps 0.05 -> 0.025)",
                 observed, order == 1 ? "1 ± 0.15" : "2 ± 0.15", "%.3f");
    EXPECT_NEAR(observed, double(order), 0.15) << "order " << order;
    EXPECT_NEAR(std::log2(e1 / e2), double(order), 0.2) << "order " << order;
  }
}

// A stiff law (rate 1e4 per unit time) with a step 100× its time scale: the solution stays in
// [0, 1] and settles on the equilibrium, where explicit Euler would blow up.
TEST(ReactionIntegrator, StaysNonNegativeAndBoundedWhenStiff) {
  for (int order : {1, 2}) {
    double x[2] = {0.999, 1e-6};
    for (int n = 0; n < 50; ++n)
      exponential_step(x, 1e-2, order, [&](const double (&y)[2], double (&p)[2], double (&l)[2]) {
        p[0] = 1e4 * y[1];           // x₀ fed by x₁
        l[0] = 1e4 * y[1] + 1e4;     // and lost fast
        p[1] = 1e4 * y[0] * (1 - y[1]);
        l[1] = 1e4 * y[0] * (1 - y[1]) + 2e4;
      });
    for (double v : x) {
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
      EXPECT_TRUE(std::isfinite(v));
    }
  }
}

// The full cell state under extreme inputs and a 30-day step: densities stay ≥ 0, fractions in [0, 1].
TEST(ReactionIntegrator, CellStatesKeepTheirBoundsAtHugeSteps) {
  TissueModelParams q;
  q.sod1_motor_neurons = q.sod1_astrocytes = q.sod1_microglia = 1;
  q.stress_intrinsic_rate = 1e-3;
  q.stress_no_rate = 1e-2;
  q.stress_astrocyte_rate = 1e-2;
  q.death_rate = 1e-1;
  q.microglia_rate = 1e-2;
  q.microglia_danger = 5;
  q.microglia_astrocyte_gain = 3;
  q.astrocyte_rate = 1e-2;
  q.astrocyte_danger = 1;
  q.barrier_repair_rate = 1e-3;
  q.barrier_damage_rate = 1e-1;
  q.wnt_rate = 1e-3;
  q.adhesion_rate = 1e-3;
  q.msc_homing = 1e-3;
  q.msc_loss = 1e-5;
  VoxelInputs v{20000, 6500, 15000, 21, 0, 0, 0};
  const LocalFields c{5000, 10, 10, 1, 50};
  const SystemicDrivers g{1e5, 1, 1};
  CellState s{20000, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1};
  for (int n = 0; n < 20; ++n) {
    if (n == 5)
      for (int type = 0; type < 3; ++type) excise_cells(type, 0.6, v, s);  // a mosaic, mid-run
    s = advance_cell_state(q, v, c, g, s, 30 * 86400.0, 2);
    EXPECT_GE(s.mn_carrier, 0.0);
    EXPECT_GE(s.mn_excised, 0.0);
    EXPECT_LE(motor_neurons(s), 20000.0 * (1 + 1e-12));
    for (double fraction : {s.microglia_carrier, s.microglia_excised, s.astro_carrier, s.astro_excised, s.barrier,
                            v.excised_motor_neurons, v.excised_astrocytes, v.excised_microglia}) {
      EXPECT_GE(fraction, 0.0);
      EXPECT_LE(fraction, 1.0);
    }
    EXPECT_GE(s.stress_carrier, 0.0);
    EXPECT_GE(s.stress_excised, 0.0);
    EXPECT_GE(s.msc, 0.0);
    EXPECT_GE(s.adhesion, 0.0);
  }
}

// Cre excision is a mosaic: the excised share of MNs moves from the carriers to the excised
// subpopulation with the stress it had, and from then on only the carriers accumulate intrinsic
// (mutant-SOD1) stress; the MN total is unchanged by the excision itself.
TEST(ReactionIntegrator, CreExcisionSplitsTheCellsIntoTwoSubpopulations) {
  TissueModelParams q;
  q.sod1_motor_neurons = 1;
  q.stress_intrinsic_rate = 1e-6;
  VoxelInputs v{10000, 6500, 15000, 21, 0, 0, 0};
  CellState s{10000, 0, 0.3, 0, 0, 0, 0, 0, 1, 1, 0, 1};
  excise_cells(0, 0.4, v, s);
  EXPECT_DOUBLE_EQ(s.mn_excised, 4000.0);
  EXPECT_DOUBLE_EQ(s.mn_carrier, 6000.0);
  EXPECT_DOUBLE_EQ(s.stress_excised, 0.3);
  EXPECT_DOUBLE_EQ(v.excised_motor_neurons, 0.4);
  excise_cells(0, 0.5, v, s);  // a second excision takes half of the remaining carriers
  EXPECT_DOUBLE_EQ(s.mn_carrier, 3000.0);
  EXPECT_DOUBLE_EQ(v.excised_motor_neurons, 0.7);
  const CellState later = advance_cell_state(q, v, LocalFields{0, 0, 0, 0, 0}, SystemicDrivers{}, s, 86400.0, 2);
  EXPECT_NEAR(later.stress_carrier - s.stress_carrier, 0.0864, 1e-9);  // r_int s_MN Δt
  EXPECT_DOUBLE_EQ(later.stress_excised, s.stress_excised);            // no mutant gene, no load
  excise_cells(1, 0.8, v, s);
  EXPECT_DOUBLE_EQ(v.excised_astrocytes, 0.8);
}

}  // namespace
}  // namespace cordsim
