#include "host/model/problem.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "host/geometry/geometry.hpp"
#include "host/geometry/tissue_mask.hpp"
#include "host/io/run_output.hpp"

namespace cordsim {
namespace {

constexpr double pi = 3.14159265358979323846;

// The planes [z_begin, z_end) of the grid whose per-species arrays are built: all of them, or one
// rank's slab with its ghost planes. A voxel's index in those arrays is its grid index less
// `first_voxel()`.
struct PlaneRange {
  const GridSpec& grid;
  int z_begin, z_end;
  std::size_t plane() const { return std::size_t(grid.shape[0]) * std::size_t(grid.shape[1]); }
  std::size_t first_voxel() const { return plane() * std::size_t(z_begin); }
  std::size_t voxels() const { return plane() * std::size_t(z_end - z_begin); }
};

// Calls f(v, x, y, z) for every tissue voxel of the planes with its centre (µm); v is the index in
// the planes' arrays, the tissue mask is the whole grid's.
template <class F>
void for_each_tissue_voxel(const PlaneRange& planes, const std::vector<std::uint8_t>& tissue, F&& f) {
  const GridSpec& grid = planes.grid;
  std::size_t v = 0;
  const std::uint8_t* in = tissue.data() + planes.first_voxel();
  for (int k = planes.z_begin; k < planes.z_end; ++k) {
    const double z = voxel_centre(grid, 2, k);
    for (int j = 0; j < grid.shape[1]; ++j) {
      const double y = voxel_centre(grid, 1, j);
      for (int i = 0; i < grid.shape[0]; ++i, ++v) {
        if (in[v]) f(v, voxel_centre(grid, 0, i), y, z);
      }
    }
  }
}

std::vector<float> initial_field(const PlaneRange& planes, const SpeciesSpec& species,
                                 const std::vector<std::uint8_t>& tissue) {
  const GridSpec& grid = planes.grid;
  const InitialFieldSpec& init = species.initial;
  std::vector<float> c(planes.voxels(), 0.f);
  using Shape = InitialFieldSpec::Shape;
  switch (init.shape) {
    case Shape::uniform:
      for_each_tissue_voxel(planes, tissue, [&](std::size_t v, double, double, double) {
        c[v] = float(init.value_nM);
      });
      break;
    case Shape::gaussian: {
      // c = background + peak · exp(−|x − x0|² / (2σ²))
      const double two_sigma2 = 2.0 * init.sigma_um * init.sigma_um;
      for_each_tissue_voxel(planes, tissue, [&](std::size_t v, double x, double y, double z) {
        const double dx = x - init.center_um[0], dy = y - init.center_um[1], dz = z - init.center_um[2];
        c[v] = float(init.value_nM + init.peak_nM * std::exp(-(dx * dx + dy * dy + dz * dz) / two_sigma2));
      });
      break;
    }
    case Shape::cosine: {
      // c = background + A · Π_d cos(π m_d (x_d − origin_d) / L_d): with cell-centred voxels and
      // no-flux grid faces each factor is an exact eigenvector of the discrete Laplacian.
      double wavenumber[3];
      for (int a = 0; a < 3; ++a) {
        const double length = grid.shape[std::size_t(a)] * grid.spacing_um[std::size_t(a)];
        wavenumber[a] = pi * init.modes[std::size_t(a)] / length;
      }
      for_each_tissue_voxel(planes, tissue, [&](std::size_t v, double x, double y, double z) {
        const double p[3] = {x, y, z};
        double product = 1.0;
        for (int a = 0; a < 3; ++a) product *= std::cos(wavenumber[a] * (p[a] - grid.origin_um[std::size_t(a)]));
        c[v] = float(init.value_nM + init.amplitude_nM * product);
      });
      break;
    }
    case Shape::hdf5: {
      // Read whole, then the planes kept (one species' field at a time).
      const std::vector<float> values = read_grid_dataset(init.file, init.dataset, grid.shape);
      const float* in = values.data() + planes.first_voxel();
      for_each_tissue_voxel(planes, tissue, [&](std::size_t v, double, double, double) { c[v] = in[v]; });
      break;
    }
  }
  return c;
}

// Adds one source term to the species' source field: a total rate Q (ymol/s) spread evenly over
// the n tissue voxels the shape covers (S = Q / (n V)), or a volumetric rate (nM/s) on each.
// The whole grid is searched (a total rate is shared by all covered voxels); only the voxels on
// `planes` are written.
void add_source(const Scenario& scenario, std::size_t source_index, const std::vector<std::uint8_t>& tissue,
                const PlaneRange& planes, std::vector<float>& source_field) {
  const GridSpec& grid = scenario.grid;
  const PlaneRange all{grid, 0, grid.shape[2]};
  const SourceSpec& spec = scenario.sources[source_index];
  const std::string key = fmt::format("source[{}]", source_index);
  std::vector<std::size_t> covered;
  using Shape = SourceSpec::Shape;
  if (spec.shape == Shape::box) {
    for_each_tissue_voxel(all, tissue, [&](std::size_t v, double x, double y, double z) {
      const double p[3] = {x, y, z};
      bool inside = true;
      for (int a = 0; a < 3; ++a)
        inside = inside && p[a] >= spec.box_min_um[std::size_t(a)] && p[a] <= spec.box_max_um[std::size_t(a)];
      if (inside) covered.push_back(v);
    });
  } else if (spec.shape == Shape::sphere) {
    const double r2 = spec.radius_um * spec.radius_um;
    for_each_tissue_voxel(all, tissue, [&](std::size_t v, double x, double y, double z) {
      const double dx = x - spec.center_um[0], dy = y - spec.center_um[1], dz = z - spec.center_um[2];
      if (dx * dx + dy * dy + dz * dz <= r2) covered.push_back(v);
    });
  }
  // A point source, or a sphere smaller than a voxel, sits in the voxel that contains its centre.
  if (spec.shape == Shape::point || (spec.shape == Shape::sphere && covered.empty())) {
    int ijk[3];
    for (int a = 0; a < 3; ++a) {
      ijk[a] = int(std::floor((spec.center_um[std::size_t(a)] - grid.origin_um[std::size_t(a)]) /
                              grid.spacing_um[std::size_t(a)]));
      if (ijk[a] < 0 || ijk[a] >= grid.shape[std::size_t(a)])
        throw InputError(fmt::format("{}: center ({} um, {} um, {} um) lies outside the grid", key,
                                     spec.center_um[0], spec.center_um[1], spec.center_um[2]));
    }
    const std::size_t v = std::size_t(ijk[0]) +
                          std::size_t(grid.shape[0]) * (std::size_t(ijk[1]) + std::size_t(grid.shape[1]) * std::size_t(ijk[2]));
    if (!tissue[v])
      throw InputError(fmt::format("{}: center ({} um, {} um, {} um) lies outside the tissue", key,
                                   spec.center_um[0], spec.center_um[1], spec.center_um[2]));
    covered.push_back(v);
  }
  if (covered.empty())
    throw InputError(fmt::format("{}: the {} covers no tissue voxel centre", key, "box"));
  const double voxel_volume = grid.spacing_um[0] * grid.spacing_um[1] * grid.spacing_um[2];
  const double density = spec.rate_kind == SourceSpec::Rate::total
                             ? spec.rate / (double(covered.size()) * voxel_volume)
                             : spec.rate;
  const std::size_t first = planes.first_voxel(), end = first + planes.voxels();
  for (std::size_t v : covered)
    if (v >= first && v < end) source_field[v - first] += float(density);
}

BoundaryParams boundary_params(const BoundarySpec& spec) {
  BoundaryParams b;
  b.kind = spec.kind == BoundarySpec::Kind::dirichlet ? BoundaryParams::dirichlet
           : spec.kind == BoundarySpec::Kind::robin   ? BoundaryParams::robin
                                                      : BoundaryParams::no_flux;
  b.value = real(spec.value_nM);
  b.permeability = real(spec.permeability_um_per_s);
  return b;
}

}  // namespace

SpeciesCoefficients SpeciesProblem::coefficients() const {
  SpeciesCoefficients c;
  for (int a = 0; a < 3; ++a) c.diffusivity[a] = diffusivity[std::size_t(a)].data();
  c.decay = decay.data();
  c.source = source.data();
  c.boundary = boundary;
  return c;
}

std::size_t Problem::tissue_voxels() const {
  return std::size_t(std::count(tissue.begin(), tissue.end(), std::uint8_t(1)));
}

namespace {

// The grid of the problem: dims, spacing, the tissue mask and (with a [geometry]) the labels.
Problem build_grid(const Scenario& scenario) {
  const GridSpec& grid = scenario.grid;
  Problem p;
  p.dims = GridDims{grid.shape[0], grid.shape[1], grid.shape[2]};
  for (int a = 0; a < 3; ++a) p.spacing.h[a] = real(grid.spacing_um[std::size_t(a)]);
  if (scenario.geometry) {
    p.labels = build_scenario_geometry(scenario);
    p.tissue = p.labels.tissue_mask();
  } else {
    p.tissue = build_tissue_mask(grid, scenario.tissue);
  }
  return p;
}

// Every species' name and boundary, and its per-voxel arrays on `planes` alone (empty with
// `with_arrays` false), from the whole grid's tissue mask and labels.
std::vector<SpeciesProblem> build_species(const Scenario& scenario, const Problem& grid, const PlaneRange& planes,
                                          bool with_arrays) {
  const std::size_t n = planes.voxels(), first = planes.first_voxel();
  std::vector<SpeciesProblem> species;
  for (const SpeciesSpec& spec : scenario.species) {
    SpeciesProblem s;
    s.name = spec.name;
    s.boundary = boundary_params(spec.boundary);
    if (with_arrays) {
      s.diffusivity[0].assign(n, float(spec.diffusivity_um2_per_s));
      s.diffusivity[1].assign(n, float(spec.diffusivity_um2_per_s));
      s.diffusivity[2].assign(n, float(spec.diffusivity_axial_um2_per_s));
      if (spec.white_matter_um2_per_s && !grid.labels.tissue.empty()) {
        // White matter: D⊥ across the fibres (x, y), D∥ along the cord axis (z).
        const auto [across, along] = *spec.white_matter_um2_per_s;
        for (std::size_t v = 0; v < n; ++v) {
          if (grid.labels.tissue[first + v] != std::uint8_t(Tissue::white_matter)) continue;
          s.diffusivity[0][v] = s.diffusivity[1][v] = float(across);
          s.diffusivity[2][v] = float(along);
        }
      }
      s.decay.assign(n, float(spec.decay_per_s));
      s.source.assign(n, 0.f);
      s.initial = initial_field(planes, spec, grid.tissue);
    }
    species.push_back(std::move(s));
  }
  // Every source is checked (an error names it on every rank alike), whether or not it is added.
  for (std::size_t i = 0; i < scenario.sources.size(); ++i) {
    const auto it = std::find_if(scenario.species.begin(), scenario.species.end(),
                                 [&](const SpeciesSpec& s) { return s.name == scenario.sources[i].species; });
    if (it == scenario.species.end())
      throw InputError(fmt::format("source[{}].species = \"{}\": no species of that name", i,
                                   scenario.sources[i].species));
    std::vector<float> unused;
    if (with_arrays)
      add_source(scenario, i, grid.tissue, planes, species[std::size_t(it - scenario.species.begin())].source);
    else
      add_source(scenario, i, grid.tissue, PlaneRange{planes.grid, 0, 0}, unused);
  }
  return species;
}

}  // namespace

Problem build_problem(const Scenario& scenario) {
  Problem p = build_grid(scenario);
  p.species = build_species(scenario, p, PlaneRange{scenario.grid, 0, scenario.grid.shape[2]}, true);
  return p;
}

Problem build_problem_grid(const Scenario& scenario) {
  Problem p = build_grid(scenario);
  p.species = build_species(scenario, p, PlaneRange{scenario.grid, 0, scenario.grid.shape[2]}, false);
  return p;
}

Problem build_problem_planes(const Scenario& scenario, const Problem& grid, int z_begin, int z_end) {
  if (z_begin < 0 || z_end > grid.dims.nz || z_begin >= z_end)
    throw std::invalid_argument(fmt::format("build_problem_planes: planes [{}, {}) of {}", z_begin, z_end, grid.dims.nz));
  const std::size_t plane = std::size_t(grid.dims.nx) * std::size_t(grid.dims.ny);
  Problem p;
  p.dims = GridDims{grid.dims.nx, grid.dims.ny, z_end - z_begin};
  p.spacing = grid.spacing;
  p.tissue.assign(grid.tissue.begin() + std::ptrdiff_t(plane * std::size_t(z_begin)),
                  grid.tissue.begin() + std::ptrdiff_t(plane * std::size_t(z_end)));
  p.species = build_species(scenario, grid, PlaneRange{scenario.grid, z_begin, z_end}, true);
  return p;
}

}  // namespace cordsim
