// Implicit and quasi-steady solves (kernels/cell/linear_solver.hpp, kernels/implicit_solver.hpp):
// analytic and manufactured solutions, temporal and spatial orders, the mass balance, a clear error
// on non-convergence, strict solver keys, and bitwise determinism over thread counts.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "host/solver/stepper.hpp"
#include "host/verification/analytic.hpp"
#include "problem_fixtures.hpp"

using namespace cordsim;

namespace {
constexpr double pi = 3.14159265358979323846;

// NO-like: D = 3300 µm²/s, half-life 1 s, λ = √(D/k) ≈ 69 µm; a point source of 1 amol/s at the
// centre voxel of an odd cube about 5.9 λ on a side each way.
struct NitricOxide {
  static constexpr double D = 3300.0;
  static constexpr double rate = 1e6;  // ymol/s = 1 amol/s
  static double decay() { return std::log(2.0) / 1.0; }
};

Scenario point_source_scenario(double h, BoundarySpec::Kind bc) {
  const int n = 2 * int(std::lround(405.0 / h)) + 1;
  Scenario s = fixtures::box_scenario({n, n, n}, {h, h, h}, NitricOxide::D, NitricOxide::D, NitricOxide::decay(), bc);
  s.species[0].integrator = SpeciesSpec::Integrator::quasi_steady;
  SourceSpec src;
  src.species = "c";
  src.shape = SourceSpec::Shape::point;
  src.center_um = {n * h / 2, n * h / 2, n * h / 2};
  src.rate_kind = SourceSpec::Rate::total;
  src.rate = NitricOxide::rate;
  s.sources.push_back(src);
  return s;
}

double point_source_error(double h, long* iterations) {
  const Scenario s = point_source_scenario(h, BoundarySpec::Kind::dirichlet);
  const Problem p = build_problem(s);
  auto backend = make_cpu_backend(0);
  const Stepper stepper(s, p, *backend);
  *iterations = stepper.species_info()[0].last_solve.iterations;
  std::vector<float> c(p.tissue.size());
  backend->get_concentration(0, c.data());
  const double mid = s.grid.shape[0] * h / 2;
  auto radius = [mid](const std::array<double, 3>& x) {
    return std::sqrt((x[0] - mid) * (x[0] - mid) + (x[1] - mid) * (x[1] - mid) + (x[2] - mid) * (x[2] - mid));
  };
  return fixtures::relative_l2(
      s, c,
      [&](const std::array<double, 3>& x) {
        return analytic::point_source_steady(NitricOxide::rate, NitricOxide::D, NitricOxide::decay(), radius(x));
      },
      [&](const std::array<double, 3>& x) { return radius(x) >= 50.0; });
}

// The decay-factor error of the cosine eigenmode after T = 8 s in n θ-method steps.
double cosine_mode_error(SpeciesSpec::Integrator integrator, int steps) {
  const double T = 8.0;
  Scenario s = fixtures::cosine_mode_scenario();
  s.species[0].integrator = integrator;
  s.species[0].time_step_s = T / steps;
  s.species[0].solver.tolerance = 1e-12;
  s.run.output_interval_s = T;
  const Problem p = build_problem(s);
  auto backend = make_cpu_backend(0);
  Stepper stepper(s, p, *backend);
  stepper.advance(T);
  std::vector<float> c(p.tissue.size());
  backend->get_concentration(0, c.data());
  return fixtures::cosine_mode_decay_error(s, p, c, T);
}

// Manufactured steady state c = Π_d sin(π x_d / L) in a cube with Dirichlet 0 walls, anisotropic
// D and decay k: the source S = (Σ_d D_d π²/L² + k) c, sampled at voxel centres, makes it exact
// for D_d ∂²c/∂x_d² − k c + S = 0. Returns the relative L2 error of the quasi-steady solve.
double manufactured_error(int n) {
  const double L = 640.0, h = L / n, Dxy = 1000.0, Dz = 2500.0, k = 0.05;
  Scenario s = fixtures::box_scenario({n, n, n}, {h, h, h}, Dxy, Dz, k, BoundarySpec::Kind::dirichlet);
  s.species[0].integrator = SpeciesSpec::Integrator::quasi_steady;
  Problem p = build_problem(s);
  auto exact = [&](const std::array<double, 3>& x) {
    return std::sin(pi * x[0] / L) * std::sin(pi * x[1] / L) * std::sin(pi * x[2] / L);
  };
  const double rate = (2 * Dxy + Dz) * pi * pi / (L * L) + k;
  std::size_t v = 0;
  for (int kk = 0; kk < n; ++kk)
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i, ++v) p.species[0].source[v] = float(rate * exact(fixtures::centre(s, i, j, kk)));
  auto backend = make_cpu_backend(0);
  const Stepper stepper(s, p, *backend);
  std::vector<float> c(p.tissue.size());
  backend->get_concentration(0, c.data());
  return fixtures::relative_l2(s, c, exact);
}
}  // namespace

TEST(Implicit, QuasiSteadyNitricOxidePointSourceMatchesScreenedPoissonProfile) {
  long it20 = 0, it10 = 0;
  const double e20 = point_source_error(20.0, &it20);
  const double e10 = point_source_error(10.0, &it10);
  std::printf("MG-CG iterations: %ld (20 um), %ld (10 um)\n", it20, it10);
  fixtures::report("relative L2 error for r >= 50 um at 20 um voxels", e20, "< 3e-2");
  fixtures::report("relative L2 error for r >= 50 um at 10 um voxels", e10, "< 8e-3");
  EXPECT_LT(e20, 0.03);
  EXPECT_LT(e10, 0.008);
}

// With no-flux walls every molecule produced decays: k Σ c V = Q at the steady state.
TEST(Implicit, QuasiSteadyTotalDecayEqualsTotalProduction) {
  const Scenario s = point_source_scenario(20.0, BoundarySpec::Kind::no_flux);
  const Problem p = build_problem(s);
  auto backend = make_cpu_backend(0);
  const Stepper stepper(s, p, *backend);
  const double decay_rate = NitricOxide::decay() * backend->total_amount(0);
  const double imbalance = std::abs(decay_rate - NitricOxide::rate) / NitricOxide::rate;
  fixtures::report("|total decay - total production| / production", imbalance, "< 1e-6");
  EXPECT_LT(imbalance, 1e-6);
}

TEST(Implicit, BackwardEulerFirstOrderInTime) {
  const double e16 = cosine_mode_error(SpeciesSpec::Integrator::backward_euler, 16);
  const double e32 = cosine_mode_error(SpeciesSpec::Integrator::backward_euler, 32);
  const double e64 = cosine_mode_error(SpeciesSpec::Integrator::backward_euler, 64);
  std::printf("backward Euler decay-factor errors, 16/32/64 steps: %.3e %.3e %.3e\n", e16, e32, e64);
  fixtures::report("backward Euler temporal order (32 -> 64 steps)", std::log2(e32 / e64), "1 +- 0.1");
  EXPECT_NEAR(std::log2(e16 / e32), 1.0, 0.15);
  EXPECT_NEAR(std::log2(e32 / e64), 1.0, 0.1);
}

TEST(Implicit, CrankNicolsonSecondOrderInTime) {
  const double e8 = cosine_mode_error(SpeciesSpec::Integrator::crank_nicolson, 8);
  const double e16 = cosine_mode_error(SpeciesSpec::Integrator::crank_nicolson, 16);
  const double e32 = cosine_mode_error(SpeciesSpec::Integrator::crank_nicolson, 32);
  std::printf("Crank-Nicolson decay-factor errors, 8/16/32 steps: %.3e %.3e %.3e\n", e8, e16, e32);
  fixtures::report("Crank-Nicolson temporal order (16 -> 32 steps)", std::log2(e16 / e32), "2 +- 0.1");
  EXPECT_NEAR(std::log2(e8 / e16), 2.0, 0.15);
  EXPECT_NEAR(std::log2(e16 / e32), 2.0, 0.1);
}

TEST(Implicit, ManufacturedSteadySolutionSecondOrderInSpace) {
  const double e16 = manufactured_error(16), e32 = manufactured_error(32), e64 = manufactured_error(64);
  std::printf("manufactured steady state, relative L2 errors at 16^3/32^3/64^3: %.3e %.3e %.3e\n", e16, e32, e64);
  fixtures::report("manufactured steady state error at 64^3", e64, "< 2e-3");
  fixtures::report("spatial order (32^3 -> 64^3)", std::log2(e32 / e64), "2 +- 0.1");
  EXPECT_LT(e64, 2e-3);
  EXPECT_NEAR(std::log2(e16 / e32), 2.0, 0.15);
  EXPECT_NEAR(std::log2(e32 / e64), 2.0, 0.1);
}

TEST(Implicit, NonConvergenceIsAClearError) {
  Scenario s = point_source_scenario(20.0, BoundarySpec::Kind::dirichlet);
  s.species[0].name = "NO";
  s.sources[0].species = "NO";
  s.species[0].solver.max_iterations = 2;
  const Problem p = build_problem(s);
  auto backend = make_cpu_backend(0);
  try {
    const Stepper stepper(s, p, *backend);
    FAIL() << "a solve capped at 2 iterations reported convergence";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    std::printf("%s\n", what.c_str());
    EXPECT_NE(what.find("species 'NO'"), std::string::npos) << what;
    EXPECT_NE(what.find("after 2 CG iterations"), std::string::npos) << what;
    EXPECT_NE(what.find("relative residual"), std::string::npos) << what;
    EXPECT_NE(what.find("max_iterations = 2"), std::string::npos) << what;
  }
}

TEST(Implicit, SolverKeysAreParsedStrictly) {
  const std::string head = R"(
[scenario]
name = "t"
[grid]
shape = [8, 8, 8]
spacing = "10 um"
[run]
duration = "1 s"
output_interval = "1 s"
[[species]]
name = "NO"
diffusivity = "3300 um^2/s"
decay = "0.69 1/s"
integrator = "quasi_steady"
)";
  const Scenario ok = parse_scenario(head + R"(solver = { tolerance = 1e-10, max_iterations = 40, preconditioner = "jacobi" })", "t.toml");
  EXPECT_EQ(ok.species[0].integrator, SpeciesSpec::Integrator::quasi_steady);
  EXPECT_EQ(ok.species[0].solver.tolerance, 1e-10);
  EXPECT_EQ(ok.species[0].solver.max_iterations, 40);
  EXPECT_EQ(ok.species[0].solver.preconditioner, SpeciesSpec::Solver::Preconditioner::jacobi);
  auto error_of = [&](const std::string& tail) {
    try {
      parse_scenario(head + tail, "t.toml");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string unknown = error_of("solver = { tolerance = 1e-8, maxiter = 3 }");
  EXPECT_NE(unknown.find("t.toml:15"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("maxiter"), std::string::npos) << unknown;
  EXPECT_NE(error_of("solver = { tolerance = 2.0 }").find("(0, 1)"), std::string::npos);
  EXPECT_NE(error_of("time_step = \"1 s\"").find("quasi_steady"), std::string::npos);
}

// The implicit path keeps the explicit kernel's property: identical bytes for any thread count.
TEST(Implicit, BitwiseIdenticalForOneTwoAndFiveThreads) {
  auto run = [](int threads) {
    Scenario s = fixtures::box_scenario({37, 29, 23}, {10, 10, 20}, 800, 1500, 0.3, BoundarySpec::Kind::robin);
    s.species[0].boundary.permeability_um_per_s = 2.0;
    s.species[0].boundary.value_nM = 0.5;
    s.tissue.shape = TissueSpec::Shape::ellipsoid;
    s.tissue.center_um = {185, 145, 230};
    s.tissue.semi_axes_um = {170, 130, 220};
    s.species[0].initial.shape = InitialFieldSpec::Shape::gaussian;
    s.species[0].initial.center_um = {150, 140, 200};
    s.species[0].initial.sigma_um = 50;
    s.species[0].initial.peak_nM = 3.0;
    s.species[0].integrator = SpeciesSpec::Integrator::crank_nicolson;
    s.species[0].time_step_s = 0.5;
    s.run.output_interval_s = 2.0;
    const Problem p = build_problem(s);
    auto backend = make_cpu_backend(threads);
    Stepper stepper(s, p, *backend);
    stepper.advance(2.0);
    std::vector<float> c(p.tissue.size());
    backend->get_concentration(0, c.data());
    return c;
  };
  const std::vector<float> one = run(1), two = run(2), five = run(5);
  EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(one.data(), five.data(), one.size() * sizeof(float)), 0);
}

// `cordsim run` on the example scenario: quasi-steady, backward-Euler and Crank–Nicolson species
// side by side; solver_log.csv has one row per output time with converged residuals, and the
// quasi-steady NO re-solve warm-starts from its converged field (at most 2 iterations).
TEST(Implicit, RunWritesSolverLog) {
  namespace fs = std::filesystem;
  const fs::path out = fs::temp_directory_path() / ("cordsim_solver_log_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const std::string cmd = std::string("'") + CORDSIM_EXE + "' run '" + CORDSIM_SOURCE_DIR +
                          "/scenarios/no_point_source_steady.toml' --set 'run.duration=\"20 min\"' --out '" +
                          out.string() + "' > /dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd;
  std::ifstream log(out / "solver_log.csv");
  std::string header, row;
  std::getline(log, header);
  EXPECT_EQ(header,
            "time_s,NO_solves,NO_cg_iterations,NO_relative_residual,TNF_solves,TNF_cg_iterations,"
            "TNF_relative_residual,neurturin_solves,neurturin_cg_iterations,neurturin_relative_residual");
  std::vector<std::vector<double>> rows;
  while (std::getline(log, row)) {
    std::vector<double> values;
    std::stringstream fields(row);
    for (std::string field; std::getline(fields, field, ',');) values.push_back(std::stod(field));
    rows.push_back(values);
  }
  ASSERT_EQ(rows.size(), 3u);  // t = 0, 600, 1200 s
  EXPECT_EQ(rows[2][0], 1200.0);
  EXPECT_EQ(rows[2][4], 10.0);  // TNF: 10 backward-Euler steps of 60 s per 10-minute interval
  EXPECT_LE(rows[2][2], 2.0);   // NO: warm start from the converged field
  for (const auto& r : rows)
    for (std::size_t residual : {3u, 6u, 9u}) EXPECT_LE(r[residual], 1e-8);
  fs::remove_all(out);
}
