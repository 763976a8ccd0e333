#pragma once
// Small programmatic scenarios for the numerics tests (no scenario file needed), and helpers to
// run them on the CPU back end and compare with exact solutions.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <functional>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/model/problem.hpp"
#include "kernels/backend.hpp"

namespace cordsim::fixtures {

// Records a measured figure and the bound the test holds it to, as GoogleTest properties that
// tools/validation.py collects into docs/validation.md, and prints it.
inline void report(const std::string& quantity, double measured, const std::string& bound) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3e", measured);
  ::testing::Test::RecordProperty("measured: " + quantity, text);
  ::testing::Test::RecordProperty("bound: " + quantity, bound);
  std::printf("%s = %s (bound %s)\n", quantity.c_str(), text, bound.c_str());
}

inline Scenario box_scenario(std::array<int, 3> shape, std::array<double, 3> spacing_um, double D,
                             double D_axial, double decay, BoundarySpec::Kind bc = BoundarySpec::Kind::no_flux) {
  Scenario s;
  s.file = "<test>";
  s.name = "test";
  s.grid.shape = shape;
  s.grid.spacing_um = spacing_um;
  SpeciesSpec sp;
  sp.name = "c";
  sp.diffusivity_um2_per_s = D;
  sp.diffusivity_axial_um2_per_s = D_axial;
  sp.decay_per_s = decay;
  sp.boundary.kind = bc;
  s.species.push_back(sp);
  s.run.duration_s = 1.0;
  s.run.output_interval_s = 1.0;
  return s;
}

// Centre of voxel (i, j, k) in µm for a grid with origin 0.
inline std::array<double, 3> centre(const Scenario& s, int i, int j, int k) {
  return {(i + 0.5) * s.grid.spacing_um[0], (j + 0.5) * s.grid.spacing_um[1], (k + 0.5) * s.grid.spacing_um[2]};
}

// Relative L2 difference ‖c − exact‖ / ‖exact‖ over voxels accepted by `use`.
inline double relative_l2(const Scenario& s, const std::vector<float>& c,
                          const std::function<double(const std::array<double, 3>&)>& exact,
                          const std::function<bool(const std::array<double, 3>&)>& use = nullptr) {
  double diff2 = 0.0, norm2 = 0.0;
  std::size_t v = 0;
  for (int k = 0; k < s.grid.shape[2]; ++k)
    for (int j = 0; j < s.grid.shape[1]; ++j)
      for (int i = 0; i < s.grid.shape[0]; ++i, ++v) {
        const auto x = centre(s, i, j, k);
        if (use && !use(x)) continue;
        const double e = exact(x);
        diff2 += (double(c[v]) - e) * (double(c[v]) - e);
        norm2 += e * e;
      }
  return std::sqrt(diff2 / norm2);
}

}  // namespace cordsim::fixtures
