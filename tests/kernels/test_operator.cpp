// Per-voxel operator math (kernels/cell/diffusion.hpp) checked on small hand-made cases.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/backend.hpp"
#include "kernels/cell/diffusion.hpp"

using namespace cordsim;

TEST(Operator, HarmonicMeanIsSymmetricAndSeriesConductance) {
  EXPECT_EQ(harmonic_mean(3000.f, 23.f), harmonic_mean(23.f, 3000.f));
  EXPECT_FLOAT_EQ(harmonic_mean(10.f, 10.f), 10.f);
  // Two half-cells in series: 1/D_f = (1/D_a + 1/D_b)/2.
  EXPECT_FLOAT_EQ(harmonic_mean(10.f, 30.f), 2.f / (1.f / 10.f + 1.f / 30.f));
  EXPECT_EQ(harmonic_mean(0.f, 0.f), 0.f);
}

TEST(Operator, RobinConductanceSpansNoFluxToDirichlet) {
  const float D = 100.f, h = 10.f;
  BoundaryParams dirichlet{BoundaryParams::dirichlet, 0.f, 0.f};
  BoundaryParams none{BoundaryParams::no_flux, 0.f, 0.f};
  EXPECT_FLOAT_EQ(boundary_conductance(dirichlet, D, h), 2.f * D / (h * h));
  EXPECT_EQ(boundary_conductance(none, D, h), 0.f);
  BoundaryParams tight{BoundaryParams::robin, 0.f, 1e-6f};
  BoundaryParams open{BoundaryParams::robin, 0.f, 1e9f};
  EXPECT_NEAR(boundary_conductance(tight, D, h), 1e-6f / h, 1e-9f);  // membrane-limited: P/h
  EXPECT_NEAR(boundary_conductance(open, D, h), 2.f * D / (h * h), 1e-5f);
  // Series resistances: 1/b = h/(2D)·h + h/P.
  BoundaryParams mid{BoundaryParams::robin, 0.f, 5.f};
  EXPECT_NEAR(boundary_conductance(mid, D, h), 1.f / (h * (h / (2.f * D) + 1.f / 5.f)), 1e-6f);
}

// A 4×3×2 block with a hole: the assembled operator conserves mass (Σ_v tendency = 0 for no-flux,
// no decay, no source) and leaves non-tissue voxels untouched.
TEST(Operator, AssembledNoFluxOperatorConservesAndSkipsNonTissue) {
  const GridDims d{4, 3, 2};
  const std::size_t n = std::size_t(d.size());
  std::vector<std::uint8_t> tissue(n, 1);
  tissue[std::size_t(d.index(1, 1, 0))] = 0;
  std::vector<real> Dx(n), Dy(n), Dz(n), k(n, 0.f), S(n, 0.f), c(n);
  for (std::size_t v = 0; v < n; ++v) {
    Dx[v] = 10.f + float(v);
    Dy[v] = 5.f + 2.f * float(v % 3);
    Dz[v] = 20.f;
    c[v] = float((v * 7) % 5);
  }
  // Operator arrays and c in the back ends' halo-padded layout.
  const FieldLayout layout{d};
  const std::size_t padded = std::size_t(layout.allocation()), halo = std::size_t(layout.halo());
  std::vector<real> g0(padded, 0.f), g1(padded, 0.f), g2(padded, 0.f), diag(padded, 0.f), rhs(padded, 0.f),
      c_padded(padded, 0.f);
  std::copy(c.begin(), c.end(), c_padded.begin() + std::ptrdiff_t(halo));
  CoefficientView in{d, Spacing{{1.f, 2.f, 3.f}}, tissue.data(), {Dx.data(), Dy.data(), Dz.data()},
                     k.data(), S.data(), BoundaryParams{}};
  MutableOperatorView out{d, {g0.data() + halo, g1.data() + halo, g2.data() + halo}, diag.data() + halo,
                          rhs.data() + halo};
  AssembleOperator assemble{in, out};
  for (int kk = 0; kk < d.nz; ++kk)
    for (int j = 0; j < d.ny; ++j)
      for (int i = 0; i < d.nx; ++i) assemble(i, j, kk);
  double sum = 0.0;
  for (int kk = 0; kk < d.nz; ++kk)
    for (int j = 0; j < d.ny; ++j)
      for (int i = 0; i < d.nx; ++i) {
        const real t = tendency(out.as_const(), c_padded.data() + halo, d.index(i, j, kk));
        if (!tissue[std::size_t(d.index(i, j, kk))]) {
          EXPECT_EQ(t, 0.f);
        }
        sum += double(t);
      }
  EXPECT_NEAR(sum, 0.0, 1e-4);
  // The face between tissue voxel (0,1,0) and the hole carries no conductance.
  EXPECT_EQ(g0[halo + std::size_t(d.index(0, 1, 0))], 0.f);
  // Interior face conductance = harmonic mean / h².
  const std::size_t a = std::size_t(d.index(2, 0, 0)), b = std::size_t(d.index(3, 0, 0));
  EXPECT_FLOAT_EQ(g0[halo + a], harmonic_mean(Dx[a], Dx[b]) / 1.f);
  // Grid-edge faces carry no conductance: the branch-free tendency relies on it.
  for (int kk = 0; kk < d.nz; ++kk)
    for (int j = 0; j < d.ny; ++j) EXPECT_EQ(g0[halo + std::size_t(d.index(d.nx - 1, j, kk))], 0.f);
}

// Host arrays of either type reach the back end's storage type `real` (kernels/cell/real.hpp):
// fields round-trip exactly through the overload of their own precision and through the float
// overload as float32, and float or double model inputs of the same values assemble the same
// operator. In the default build (real = float) a double field comes back rounded to float32; in
// a CORDSIM_DOUBLE build it comes back unchanged.
TEST(Backend, HostArraysOfEitherPrecisionConvertToTheStorageType) {
  const GridDims d{5, 4, 3};
  const std::size_t n = std::size_t(d.size());
  const std::vector<std::uint8_t> tissue(n, 1);
  std::vector<double> field(n);
  for (std::size_t v = 0; v < n; ++v) field[v] = 1.0 + 1.0 / 3.0 + 1e-9 * double(v);
  auto backend = make_cpu_backend(1);
  backend->initialise(d, Spacing{{10.f, 10.f, 20.f}}, 2, tissue.data());
  backend->set_concentration(0, field.data());
  std::vector<double> back(n);
  std::vector<float> back_float(n);
  backend->get_concentration(0, back.data());
  backend->get_concentration(0, back_float.data());
  for (std::size_t v = 0; v < n; ++v) {
    EXPECT_EQ(back[v], double(real(field[v])));
    EXPECT_EQ(back_float[v], float(field[v]));
  }
  if (sizeof(real) == sizeof(double)) {
    EXPECT_EQ(back, field);
  }
  // The same inputs as float and as double arrays: the same stability limit and the same step.
  const std::vector<float> Df(n, 1000.f), kf(n, 0.5f), Sf(n, 2.f);
  const std::vector<double> Dd(n, 1000.0), kd(n, 0.5), Sd(n, 2.0);
  const BoundaryParams robin{BoundaryParams::robin, 0.25f, 3.f};
  backend->set_coefficients(0, SpeciesCoefficientsOf<float>{{Df.data(), Df.data(), Df.data()}, kf.data(), Sf.data(),
                                                            robin});
  backend->set_coefficients(1, SpeciesCoefficientsOf<double>{{Dd.data(), Dd.data(), Dd.data()}, kd.data(), Sd.data(),
                                                             robin});
  EXPECT_EQ(backend->stability_limit(0), backend->stability_limit(1));
  backend->set_concentration(1, field.data());
  backend->step_explicit(0, 0.01, 3);
  backend->step_explicit(1, 0.01, 3);
  std::vector<double> a(n), b(n);
  backend->get_concentration(0, a.data());
  backend->get_concentration(1, b.data());
  EXPECT_EQ(a, b);
}
