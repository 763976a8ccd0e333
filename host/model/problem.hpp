#pragma once
// The discrete problem a scenario describes: the tissue mask and, per species, the per-voxel
// diffusivity tensor (diagonal), decay rate, source and initial field — everything the back ends
// need, in internal units (µm, s, nM).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "host/config/scenario.hpp"
#include "host/geometry/labels.hpp"
#include "kernels/backend.hpp"

namespace cordsim {

struct SpeciesProblem {
  std::string name;
  std::array<std::vector<float>, 3> diffusivity;  // D_x, D_y, D_z per voxel (µm²/s)
  std::vector<float> decay;                       // k per voxel (1/s)
  std::vector<float> source;                      // S per voxel (nM/s)
  std::vector<float> initial;                     // c(t = 0) per voxel (nM); 0 outside tissue
  BoundaryParams boundary;

  SpeciesCoefficients coefficients() const;
};

struct Problem {
  GridDims dims;
  Spacing spacing;
  std::vector<std::uint8_t> tissue;  // 1 = simulated voxel
  LabelledGrid labels;  // with a scenario [geometry]: tissue classes and segments per voxel; else empty
  std::vector<SpeciesProblem> species;

  std::size_t tissue_voxels() const;
};

// Builds the problem; throws InputError for sources outside the tissue, unreadable initial-field
// files and the like, always naming the scenario key.
Problem build_problem(const Scenario& scenario);

// A decomposed run builds the per-species arrays of its own planes only (docs/parallel.md), so that
// a rank's memory for them falls as 1/ranks; the tissue mask and labels (3 bytes per voxel) stay
// whole on every rank, for the decomposition, the output's static fields and the model's readouts.
//
// The whole grid, with every species' name and boundary but no per-voxel arrays. Checks the
// sources as build_problem does; build_problem_planes reads the initial-field files.
Problem build_problem_grid(const Scenario& scenario);
// The problem on planes [z_begin, z_end) of `grid` (from build_problem_grid): the same, bit for
// bit, as slice_planes(build_problem(scenario), z_begin, z_end) (host/parallel/decomposition.hpp).
Problem build_problem_planes(const Scenario& scenario, const Problem& grid, int z_begin, int z_end);

}  // namespace cordsim
