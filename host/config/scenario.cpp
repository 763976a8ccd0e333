#include "host/config/scenario.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "host/config/model_reader.hpp"
#include "host/config/toml_reader.hpp"
#include "host/config/units.hpp"
#include "kernels/cell/real.hpp"

namespace cordsim {
namespace {

namespace fs = std::filesystem;

using namespace toml_input;

bool valid_species_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

// Reads the parsed (and overridden) document into a Scenario, validating as it goes.
class ScenarioReader : public ValueReader {
 public:
  explicit ScenarioReader(const Diagnostics& diagnostics) : ValueReader(diagnostics) {}

  void read(const toml::table& root, Scenario& scenario) {
    TableReader top(diag_, root, "");
    top.allow_only({"scenario", "grid", "tissue", "geometry", "species", "source", "run", "output", "model"});
    read_scenario_table(table_at(top, "scenario"), scenario);
    if (const toml::node* geometry = top.find("geometry")) {
      for (const char* form : {"grid", "tissue"}) {
        if (const toml::node* node = top.find(form)) {
          diag_.bad_key(diag_.where(*node), form,
                        fmt::format("not allowed with [geometry] (at {}): give either [grid] (with optional "
                                    "[tissue]) or [geometry], which lays out the grid and the tissue itself",
                                    diag_.where(*geometry)));
        }
      }
      scenario.geometry = read_geometry(TableReader(diag_, as_table(*geometry, "geometry"), "geometry"));
    } else {
      if (top.find("grid") == nullptr) {
        diag_.bad_key(diag_.file_label(), "grid",
                      "missing required table [grid] (or a [geometry] naming a mesh, e.g. mesh = "
                      "\"../meshes/rat_lumbar.toml\", voxel = \"40 um\")");
      }
      scenario.grid = read_grid(table_at(top, "grid"));
      if (const toml::node* tissue = top.find("tissue")) {
        scenario.tissue = read_tissue(TableReader(diag_, as_table(*tissue, "tissue"), "tissue"));
      }
    }
    read_species_list(top, scenario);
    read_sources(top, scenario);
    scenario.run = read_run(table_at(top, "run"));
    if (const toml::node* output = top.find("output")) {
      scenario.output = read_output(TableReader(diag_, as_table(*output, "output"), "output"), scenario.species);
    }
    if (const toml::node* model = top.find("model")) {
      if (!scenario.geometry) {
        diag_.bad_key(diag_.where(*model), "model",
                      "the ALS model needs a cord: give a [geometry] (e.g. mesh = \"../../meshes/rat_lumbar.toml\")");
      }
      scenario.model = model_input::read_model(*this, diag_, TableReader(diag_, as_table(*model, "model"), "model"));
      for (const char* name : kModelSpecies) {
        const bool declared = std::any_of(scenario.species.begin(), scenario.species.end(),
                                          [&](const SpeciesSpec& s) { return s.name == name; });
        if (!declared)
          diag_.bad_key(diag_.where(*model), "model",
                        fmt::format("the ALS model needs a [[species]] named \"{}\" (it drives NO, TNF, IFNg, NRTN, "
                                    "EB and DAMP; see scenarios/als/)", name));
      }
    }
    check_ranges_and_counts(root, scenario);
  }

 private:
  // ---- counts and float ranges (README "Bad input") -----------------------------------------
  // What the values imply once combined: the counts of frames, checkpoints, model steps, time
  // steps and RKL2 stages (at most the kMax* of scenario.hpp, so that none overflows), the
  // per-voxel values the problem stores as float32 and the conductances D/h² of the assembled
  // operator, stored as `real`, which must stay finite.

  const toml::node& node_at(const toml::table& root, const std::string& path) const {
    const toml::node* node = root.at_path(path).node();
    if (node == nullptr) throw std::logic_error("ScenarioReader: no value at " + path);
    return *node;
  }

  // A value stored per voxel in float32 (host/model/problem.hpp): beyond ±FLT_MAX it would be ±inf.
  void require_float32(const toml::node& node, const std::string& key, double value, Dimension d) const {
    constexpr double largest = double(std::numeric_limits<float>::max());
    if (std::abs(value) <= largest) return;
    diag_.bad_value(node, key,
                    fmt::format("magnitude above {:.4g} {}, the largest float32 (the per-voxel inputs are stored "
                                "as float32)",
                                largest, unit_of(d)));
  }

  void check_ranges_and_counts(const toml::table& root, const Scenario& s) const {
    const RunSpec& run = s.run;
    const toml::node& duration = node_at(root, "run.duration");
    const std::string over =
        fmt::format("run.duration = {} ({})", diag_.written(duration), diag_.where(duration));
    const double intervals = std::ceil(run.duration_s / run.output_interval_s * (1.0 - 1e-12));
    if (!(intervals + 1.0 <= kMaxOutputFrames)) {
      diag_.bad_value(node_at(root, "run.output_interval"), "run.output_interval",
                      fmt::format("{:.4g} output frames over {}: more than the {:.0f} a run may write; choose a "
                                  "longer run.output_interval or a shorter run.duration",
                                  intervals + 1.0, over, kMaxOutputFrames));
    }
    if (run.checkpoint_interval_s && !(run.duration_s / *run.checkpoint_interval_s <= kMaxCheckpointIntervals)) {
      diag_.bad_value(node_at(root, "run.checkpoint_interval"), "run.checkpoint_interval",
                      fmt::format("{:.4g} checkpoint intervals over {}: more than the {:.0f} a run may have",
                                  run.duration_s / *run.checkpoint_interval_s, over, kMaxCheckpointIntervals));
    }
    if (s.model) {
      const std::pair<const char*, double> cadences[] = {{"slow_step", s.model->settings.slow_step_s},
                                                         {"readout_interval", s.model->settings.readout_interval_s}};
      for (const auto& [key, seconds] : cadences) {
        const double count = run.duration_s / seconds;
        if (count <= kMaxModelSteps) continue;
        const std::string path = fmt::format("model.{}", key);
        const std::string what = fmt::format("{:.4g} model {} over {}: more than the {:.0f} a model run may take",
                                             count, key == std::string("slow_step") ? "slow steps" : "readouts",
                                             over, kMaxModelSteps);
        if (const toml::node* node = root.at_path(path).node()) diag_.bad_value(*node, path, what);
        diag_.bad_value(duration, "run.duration", fmt::format("{} (at the default {} = {} s)", what, path, seconds));
      }
    }
    for (std::size_t i = 0; i < s.species.size(); ++i) check_species(root, s, i);
    const Vec3 h = s.geometry ? s.geometry->voxel_um : s.grid.spacing_um;
    for (std::size_t i = 0; i < s.sources.size(); ++i) {
      // A total rate lands on one voxel at most densely (a point source): rate / voxel volume.
      const SourceSpec& source = s.sources[i];
      const std::string key = fmt::format("source[{}].rate", i);
      const bool total = source.rate_kind == SourceSpec::Rate::total;
      require_float32(node_at(root, key), key, total ? source.rate / (h[0] * h[1] * h[2]) : source.rate,
                      dim::concentration_rate);
    }
  }

  void check_species(const toml::table& root, const Scenario& s, std::size_t index) const {
    const SpeciesSpec& sp = s.species[index];
    const RunSpec& run = s.run;
    const std::string path = fmt::format("species[{}]", index);  // in the document
    const std::string named = fmt::format("species[{}]", sp.name);  // in messages
    const auto node = [&](const std::string& key) { return root.at_path(path + "." + key).node(); };
    const std::optional<std::array<double, 2>>& wm = sp.white_matter_um2_per_s;
    const std::pair<const char*, std::pair<double, Dimension>> stored[] = {
        {"diffusivity", {sp.diffusivity_um2_per_s, dim::diffusivity}},
        {"diffusivity_axial", {sp.diffusivity_axial_um2_per_s, dim::diffusivity}},
        {"white_matter.perpendicular", {wm ? (*wm)[0] : 0.0, dim::diffusivity}},
        {"white_matter.parallel", {wm ? (*wm)[1] : 0.0, dim::diffusivity}},
        {"decay", {sp.decay_per_s, dim::rate}},
        {"boundary.value", {sp.boundary.value_nM, dim::concentration}},
        {"boundary.permeability", {sp.boundary.permeability_um_per_s, dim::velocity}},
        {"initial.value", {sp.initial.value_nM, dim::concentration}},
        {"initial.background", {sp.initial.value_nM, dim::concentration}},
        {"initial.peak", {sp.initial.peak_nM, dim::concentration}},
        {"initial.amplitude", {sp.initial.amplitude_nM, dim::concentration}}};
    for (const auto& [key, value] : stored) {
      if (const toml::node* n = node(key)) require_float32(*n, named + "." + key, value.first, value.second);
    }

    // The operator as kernels/cell/diffusion.hpp assembles it in `real`: per axis h², the
    // harmonic mean 2·D·D'/(D + D') of the largest diffusivity along the axis over h², and the
    // diagonal Σ 2 D/h² + k of an interior voxel; a Robin face's P·h.
    const Vec3 h = s.geometry ? s.geometry->voxel_um : s.grid.spacing_um;
    const std::string spacing_path = s.geometry ? "geometry.voxel" : "grid.spacing";
    const std::string spacing = s.geometry ? fmt::format("geometry.voxel = ({}, {}, {}) um", h[0], h[1], h[2])
                                           : fmt::format("grid.spacing = ({}, {}, {}) um", h[0], h[1], h[2]);
    const double d_high[3] = {wm ? std::max(sp.diffusivity_um2_per_s, (*wm)[0]) : sp.diffusivity_um2_per_s,
                              wm ? std::max(sp.diffusivity_um2_per_s, (*wm)[0]) : sp.diffusivity_um2_per_s,
                              wm ? std::max(sp.diffusivity_axial_um2_per_s, (*wm)[1]) : sp.diffusivity_axial_um2_per_s};
    const auto axis_key = [&](int axis) -> std::string {
      if (axis == 2 && node("diffusivity_axial")) return "diffusivity_axial";
      return "diffusivity";
    };
    constexpr double real_max = double(std::numeric_limits<real>::max());
    constexpr double real_min = double(std::numeric_limits<real>::min());
    double diagonal = sp.decay_per_s;
    for (int axis = 0; axis < 3; ++axis) {
      const double h2 = h[axis] * h[axis];
      if (!(h2 >= real_min)) {
        diag_.bad_value(node_at(root, spacing_path), spacing_path,
                        fmt::format("h^2 = {:.4g} um^2 underflows {} (at least {:.4g}): the operator's conductances "
                                    "D/h^2 would be infinite",
                                    h2, kRealName, real_min));
      }
      const double g = d_high[axis] / h2;
      diagonal += 2.0 * g;
      const double product = 2.0 * d_high[axis] * d_high[axis];
      if (!(g <= real_max) || !(product <= real_max)) {
        const std::string key = axis_key(axis);
        diag_.bad_value(node_at(root, path + "." + key), named + "." + key,
                        fmt::format("with {} the operator's conductance 2 D D / (D + D) / h^2 = {:.4g} 1/s overflows "
                                    "{} (its intermediate 2 D^2 = {:.4g}; at most {:.4g})",
                                    spacing, g, kRealName, product, real_max));
      }
    }
    if (sp.boundary.kind == BoundarySpec::Kind::robin) {
      const double ph = sp.boundary.permeability_um_per_s * std::max({h[0], h[1], h[2]});
      if (!(ph <= real_max))
        diag_.bad_value(node_at(root, path + ".boundary.permeability"), named + ".boundary.permeability",
                        fmt::format("with {} the boundary conductance's P h = {:.4g} um^2/s overflows {}", spacing, ph,
                                    kRealName));
    }
    if (!(diagonal <= real_max)) {
      diag_.bad_value(node_at(root, path + ".diffusivity"), named + ".diffusivity",
                      fmt::format("with {} and decay {} 1/s the operator's diagonal sum 2 D/h^2 + k = {:.4g} 1/s "
                                  "overflows {}",
                                  spacing, sp.decay_per_s, diagonal, kRealName));
    }

    // Time steps given: their number over the run.
    const bool own_step = sp.time_step_s.has_value();
    const std::optional<double> step = own_step ? sp.time_step_s : run.time_step_s;
    const std::string step_path = own_step ? path + ".time_step" : "run.time_step";
    const std::string step_key = own_step ? named + ".time_step" : "run.time_step";
    const std::string over = fmt::format("run.duration = {} s", run.duration_s);
    if (step && sp.integrator != SpeciesSpec::Integrator::quasi_steady && !(run.duration_s / *step <= kMaxStencilSweeps)) {
      diag_.bad_value(node_at(root, step_path), step_key,
                      fmt::format("{:.4g} steps of species '{}' over {}: more than the {:.0e} stencil sweeps a "
                                  "species may take",
                                  run.duration_s / *step, sp.name, over, kMaxStencilSweeps));
    }
    const bool explicit_limit = (sp.integrator == SpeciesSpec::Integrator::forward_euler && !step) ||
                                sp.integrator == SpeciesSpec::Integrator::rkl2;
    if (!explicit_limit) return;
    // The stable explicit step is 1 / max over voxels of (Σ conductances + k). A lower bound on
    // that maximum: one neighbour along the stiffest axis that has more than one voxel, with the
    // smaller of the gray- and white-matter diffusivities, plus k; so the bound on the stable step
    // below is never smaller than the assembled operator's (the Stepper checks that one again).
    const double d_low[3] = {wm ? std::min(sp.diffusivity_um2_per_s, (*wm)[0]) : sp.diffusivity_um2_per_s,
                             wm ? std::min(sp.diffusivity_um2_per_s, (*wm)[0]) : sp.diffusivity_um2_per_s,
                             wm ? std::min(sp.diffusivity_axial_um2_per_s, (*wm)[1]) : sp.diffusivity_axial_um2_per_s};
    double stiffest = 0.0;
    int stiffest_axis = 0;
    for (int axis = 0; axis < 3; ++axis) {
      if (!s.geometry && s.grid.shape[std::size_t(axis)] < 2) continue;
      const double g = d_low[axis] / (h[axis] * h[axis]);
      if (g > stiffest) {
        stiffest = g;
        stiffest_axis = axis;
      }
    }
    const double largest_rate = stiffest + sp.decay_per_s;
    if (!(largest_rate > 0.0)) return;  // nothing to resolve: one step per interval
    const double limit = 1.0 / largest_rate;
    const std::string culprit = sp.decay_per_s > stiffest ? "decay" : axis_key(stiffest_axis);
    const toml::node& culprit_node = node_at(root, path + "." + culprit);
    const std::string stable = fmt::format("the explicit stable step of species '{}' is at most {:.4g} s (with {})",
                                           sp.name, limit, spacing);
    const double safety = run.stability_safety;
    if (sp.integrator == SpeciesSpec::Integrator::forward_euler) {
      const double steps = run.duration_s / (safety * limit);
      if (!(steps <= kMaxStencilSweeps)) {
        diag_.bad_value(culprit_node, named + "." + culprit,
                        fmt::format("{}: {} would need {:.4g} forward-Euler steps, more than the {:.0e} stencil "
                                    "sweeps a species may take; use integrator = \"backward_euler\" (any step is "
                                    "stable), a coarser grid or a shorter run",
                                    stable, over, steps, kMaxStencilSweeps));
      }
      return;
    }
    // RKL2: super-steps τ ≤ time_step, each of the fewest stages s with safety·limit·(s² + s − 2)/4 ≥ τ.
    const double tau = std::min(*step, run.output_interval_s);
    const double ratio = tau / (safety * limit);
    const double stages = std::max(2.0, std::ceil((-1.0 + std::sqrt(9.0 + 16.0 * ratio)) / 2.0));
    if (!(stages <= double(kMaxRkl2Stages))) {
      diag_.bad_value(node_at(root, step_path), step_key,
                      fmt::format("{}: RKL2 super-steps of {:.4g} s would need {:.4g} stages, more than the {} "
                                  "supported; use a smaller time step or integrator = \"backward_euler\"",
                                  stable, tau, stages, kMaxRkl2Stages));
    }
    const double sweeps = std::ceil(run.duration_s / tau) * stages;
    if (!(sweeps <= kMaxStencilSweeps)) {
      diag_.bad_value(culprit_node, named + "." + culprit,
                      fmt::format("{}: {} would need {:.4g} RKL2 stages in all, more than the {:.0e} stencil sweeps "
                                  "a species may take",
                                  stable, over, sweeps, kMaxStencilSweeps));
    }
  }

  // ---- sections -------------------------------------------------------------------------------

  void read_scenario_table(const TableReader& table, Scenario& scenario) const {
    table.allow_only({"name", "description", "base"});
    scenario.name = read_nonempty_string(table.require("name"), table.path_of("name"));
    if (const toml::node* description = table.find("description")) {
      scenario.description = read_string(*description, table.path_of("description"));
    }
  }

  GridSpec read_grid(const TableReader& table) const {
    table.allow_only({"shape", "spacing", "origin"});
    GridSpec grid;
    const toml::node& shape = table.require("shape");
    grid.shape = read_counts(shape, table.path_of("shape"), 1);
    // Voxel indices are 32-bit in the kernels' index arithmetic. Integer division keeps the
    // test exact without overflowing: nx > floor(floor(M / ny) / nz) exactly when nx·ny·nz > M.
    if (grid.shape[0] > INT_MAX / grid.shape[1] / grid.shape[2]) {
      diag_.bad_value(shape, table.path_of("shape"),
                      fmt::format("too many voxels (at most {} are supported)", INT_MAX));
    }

    grid.spacing_um = read_voxel_edges(table.require("spacing"), table.path_of("spacing"));
    if (const toml::node* origin = table.find("origin")) {
      grid.origin_um = read_lengths(*origin, table.path_of("origin"), 3, false);
    }
    return grid;
  }

  // Voxel edge lengths along x, y, z: three values, or one for all axes.
  Vec3 read_voxel_edges(const toml::node& node, const std::string& key) const {
    if (node.is_array()) return read_lengths(node, key, 3, true);
    const double edge = read_positive(node, key, dim::length);
    return {edge, edge, edge};
  }

  GeometrySpec read_geometry(const TableReader& table) const {
    table.allow_only({"mesh", "voxel", "segments"});
    GeometrySpec geometry;
    geometry.mesh = read_existing_file(table.require("mesh"), table.path_of("mesh"));
    geometry.voxel_um = read_voxel_edges(table.require("voxel"), table.path_of("voxel"));
    if (const toml::node* segments = table.find("segments")) {
      geometry.segments = read_name_range(*segments, table.path_of("segments"));
    }
    return geometry;
  }

  TissueSpec read_tissue(const TableReader& table) const {
    TissueSpec tissue;
    const toml::node* shape_node = table.find("shape");
    const std::string shape =
        shape_node == nullptr
            ? "all"
            : read_choice(*shape_node, table.path_of("shape"),
                          {"all", "ellipsoid", "elliptic_cylinder", "hdf5"});
    const std::string context = fmt::format("for shape \"{}\"", shape);
    if (shape == "all") {
      table.allow_only({"shape"}, context);
      tissue.shape = TissueSpec::Shape::all;
    } else if (shape == "ellipsoid" || shape == "elliptic_cylinder") {
      table.allow_only({"shape", "center", "semi_axes"}, context);
      const bool ellipsoid = shape == "ellipsoid";
      tissue.shape =
          ellipsoid ? TissueSpec::Shape::ellipsoid : TissueSpec::Shape::elliptic_cylinder;
      const std::size_t axes = ellipsoid ? 3 : 2;
      tissue.center_um =
          read_lengths(table.require("center"), table.path_of("center"), axes, false);
      tissue.semi_axes_um =
          read_lengths(table.require("semi_axes"), table.path_of("semi_axes"), axes, true);
    } else {
      table.allow_only({"shape", "file", "dataset"}, context);
      tissue.shape = TissueSpec::Shape::hdf5;
      tissue.file = read_existing_file(table.require("file"), table.path_of("file"));
      tissue.dataset = read_nonempty_string(table.require("dataset"), table.path_of("dataset"));
    }
    return tissue;
  }

  void read_species_list(const TableReader& top, Scenario& scenario) const {
    const std::vector<const toml::table*> tables = tables_at(top, "species");
    if (tables.empty()) {
      const toml::node* node = top.find("species");
      const std::string message =
          "at least one species is required (add a [[species]] section)";
      if (node != nullptr) diag_.bad_value(*node, "species", message);
      diag_.bad_key(diag_.file_label(), "species", message);
    }
    std::map<std::string, const toml::node*> seen;
    for (std::size_t index = 0; index < tables.size(); ++index) {
      SpeciesSpec species = read_species(*tables[index], index);
      const toml::node& name_node = *tables[index]->get("name");
      const auto [previous, inserted] = seen.emplace(species.name, &name_node);
      if (!inserted) {
        diag_.bad_value(name_node, fmt::format("species[{}].name", index),
                        fmt::format("duplicate species name (already declared at {})",
                                    diag_.where(*previous->second)));
      }
      scenario.species.push_back(std::move(species));
    }
  }

  SpeciesSpec read_species(const toml::table& node, std::size_t index) const {
    // Until the name is known the species is addressed by its index.
    TableReader by_index(diag_, node, fmt::format("species[{}]", index));
    by_index.allow_only(
        {"name", "diffusivity", "diffusivity_axial", "white_matter", "decay", "boundary", "initial",
         "integrator", "time_step", "solver"});
    SpeciesSpec species;
    const toml::node& name = by_index.require("name");
    species.name = read_string(name, by_index.path_of("name"));
    if (!valid_species_name(species.name)) {
      diag_.bad_value(name, by_index.path_of("name"),
                      "must be non-empty and use only letters, digits, '_' and '-'");
    }

    const TableReader table(diag_, node, fmt::format("species[{}]", species.name));
    species.diffusivity_um2_per_s = read_nonnegative(
        table.require("diffusivity"), table.path_of("diffusivity"), dim::diffusivity);
    species.diffusivity_axial_um2_per_s = species.diffusivity_um2_per_s;
    if (const toml::node* axial = table.find("diffusivity_axial")) {
      species.diffusivity_axial_um2_per_s =
          read_nonnegative(*axial, table.path_of("diffusivity_axial"), dim::diffusivity);
    }
    if (const toml::node* white = table.find("white_matter")) {
      const std::string key = table.path_of("white_matter");
      const TableReader wm(diag_, as_table(*white, key), key);
      wm.allow_only({"perpendicular", "parallel"});
      species.white_matter_um2_per_s = std::array<double, 2>{
          read_nonnegative(wm.require("perpendicular"), wm.path_of("perpendicular"), dim::diffusivity),
          read_nonnegative(wm.require("parallel"), wm.path_of("parallel"), dim::diffusivity)};
    }
    species.decay_per_s =
        read_nonnegative(table.require("decay"), table.path_of("decay"), dim::rate);
    if (const toml::node* boundary = table.find("boundary")) {
      species.boundary = read_boundary(*boundary, table.path_of("boundary"));
    }
    if (const toml::node* initial = table.find("initial")) {
      species.initial = read_initial(*initial, table.path_of("initial"));
    }
    if (const toml::node* step = table.find("time_step")) {
      const std::string key = table.path_of("time_step");
      species.time_step_s = read_positive(*step, key, dim::time);
      species.time_step_source = diag_.location(*step, key);
    }
    if (const toml::node* integrator = table.find("integrator")) {
      const std::string key = table.path_of("integrator");
      const std::string method = read_choice(
          *integrator, key,
          {"forward_euler", "rkl2", "backward_euler", "crank_nicolson", "quasi_steady"});
      if (method == "rkl2") {
        species.integrator = SpeciesSpec::Integrator::rkl2;
        if (!species.time_step_s) {
          diag_.bad_value(*integrator, key,
                          fmt::format("needs {} (the super-step; its stages are chosen from the "
                                      "stability limit)",
                                      table.path_of("time_step")));
        }
      } else if (method == "backward_euler" || method == "crank_nicolson") {
        species.integrator = method == "backward_euler" ? SpeciesSpec::Integrator::backward_euler
                                                        : SpeciesSpec::Integrator::crank_nicolson;
        if (!species.time_step_s) {
          diag_.bad_value(*integrator, key,
                          fmt::format("needs {} (the implicit step, chosen for accuracy: any step "
                                      "is stable)",
                                      table.path_of("time_step")));
        }
      } else if (method == "quasi_steady") {
        species.integrator = SpeciesSpec::Integrator::quasi_steady;
        if (species.time_step_s) {
          diag_.bad_value(*table.find("time_step"), table.path_of("time_step"),
                          "must not be given for integrator \"quasi_steady\" (the field is "
                          "solved at each output time, without time steps)");
        }
        // −∇·D∇c = S with no decay and no-flux walls has no unique solution (any constant can
        // be added) and none at all unless S sums to zero.
        if (species.decay_per_s == 0.0 && species.boundary.kind == BoundarySpec::Kind::no_flux) {
          diag_.bad_value(*integrator, key,
                          "needs decay > 0 or a dirichlet/robin boundary: without either the "
                          "steady state is not unique");
        }
      }
    }
    if (const toml::node* solver = table.find("solver")) {
      const std::string key = table.path_of("solver");
      if (!species.implicit()) {
        diag_.bad_value(*solver, key,
                        "applies only to integrator \"backward_euler\", \"crank_nicolson\" or "
                        "\"quasi_steady\"");
      }
      species.solver = read_solver(*solver, key);
    }
    return species;
  }

  SpeciesSpec::Solver read_solver(const toml::node& node, const std::string& key) const {
    const TableReader table(diag_, as_table(node, key), key);
    table.allow_only({"tolerance", "max_iterations", "preconditioner"});
    SpeciesSpec::Solver solver;
    if (const toml::node* tolerance = table.find("tolerance")) {
      const std::optional<double> value = tolerance->value<double>();
      if (!tolerance->is_number() || !value || !(*value > 0.0 && *value < 1.0)) {
        diag_.bad_value(*tolerance, table.path_of("tolerance"),
                        "must be a plain number in (0, 1) (the relative residual |b - A c| / |b|)");
      }
      solver.tolerance = *value;
    }
    if (const toml::node* iterations = table.find("max_iterations")) {
      const auto* integer = iterations->as_integer();
      if (integer == nullptr || integer->get() < 1 || integer->get() > 1000000) {
        diag_.bad_value(*iterations, table.path_of("max_iterations"),
                        "must be an integer in [1, 1000000]");
      }
      solver.max_iterations = static_cast<int>(integer->get());
    }
    if (const toml::node* preconditioner = table.find("preconditioner")) {
      const std::string name =
          read_choice(*preconditioner, table.path_of("preconditioner"), {"multigrid", "jacobi"});
      solver.preconditioner = name == "jacobi" ? SpeciesSpec::Solver::Preconditioner::jacobi
                                               : SpeciesSpec::Solver::Preconditioner::multigrid;
    }
    return solver;
  }

  BoundarySpec read_boundary(const toml::node& node, const std::string& key) const {
    const TableReader table(diag_, as_table(node, key), key);
    const std::string type = read_choice(table.require("type"), table.path_of("type"),
                                         {"no_flux", "dirichlet", "robin"});
    const std::string context = fmt::format("for type \"{}\"", type);
    BoundarySpec boundary;
    if (type == "no_flux") {
      table.allow_only({"type"}, context);
      boundary.kind = BoundarySpec::Kind::no_flux;
      return boundary;
    }
    if (type == "dirichlet") {
      table.allow_only({"type", "value"}, context);
      boundary.kind = BoundarySpec::Kind::dirichlet;
    } else {
      table.allow_only({"type", "value", "permeability"}, context);
      boundary.kind = BoundarySpec::Kind::robin;
      boundary.permeability_um_per_s = read_positive(
          table.require("permeability"), table.path_of("permeability"), dim::velocity);
    }
    boundary.value_nM =
        read_nonnegative(table.require("value"), table.path_of("value"), dim::concentration);
    return boundary;
  }

  InitialFieldSpec read_initial(const toml::node& node, const std::string& key) const {
    const TableReader table(diag_, as_table(node, key), key);
    const std::string shape = read_choice(table.require("shape"), table.path_of("shape"),
                                          {"uniform", "gaussian", "cosine", "hdf5"});
    const std::string context = fmt::format("for shape \"{}\"", shape);
    InitialFieldSpec initial;
    // Concentrations that the field starts from are physical and so non-negative; only the
    // cosine amplitude (and its background) may be signed, for verification against modes.
    if (shape == "uniform") {
      table.allow_only({"shape", "value"}, context);
      initial.shape = InitialFieldSpec::Shape::uniform;
      initial.value_nM =
          read_nonnegative(table.require("value"), table.path_of("value"), dim::concentration);
    } else if (shape == "gaussian") {
      table.allow_only({"shape", "center", "sigma", "peak", "background"}, context);
      initial.shape = InitialFieldSpec::Shape::gaussian;
      initial.center_um = read_lengths(table.require("center"), table.path_of("center"), 3, false);
      initial.sigma_um = read_positive(table.require("sigma"), table.path_of("sigma"), dim::length);
      initial.peak_nM =
          read_nonnegative(table.require("peak"), table.path_of("peak"), dim::concentration);
      if (const toml::node* background = table.find("background")) {
        initial.value_nM =
            read_nonnegative(*background, table.path_of("background"), dim::concentration);
      }
    } else if (shape == "cosine") {
      table.allow_only({"shape", "amplitude", "background", "modes"}, context);
      initial.shape = InitialFieldSpec::Shape::cosine;
      initial.amplitude_nM =
          read_measure(table.require("amplitude"), table.path_of("amplitude"), dim::concentration);
      if (const toml::node* background = table.find("background")) {
        initial.value_nM =
            read_measure(*background, table.path_of("background"), dim::concentration);
      }
      initial.modes = read_counts(table.require("modes"), table.path_of("modes"), 0);
    } else {
      table.allow_only({"shape", "file", "dataset"}, context);
      initial.shape = InitialFieldSpec::Shape::hdf5;
      initial.file = read_existing_file(table.require("file"), table.path_of("file"));
      initial.dataset = read_nonempty_string(table.require("dataset"), table.path_of("dataset"));
    }
    return initial;
  }

  void read_sources(const TableReader& top, Scenario& scenario) const {
    const std::vector<const toml::table*> tables = tables_at(top, "source");
    for (std::size_t index = 0; index < tables.size(); ++index) {
      scenario.sources.push_back(read_source(*tables[index], index, scenario.species));
    }
  }

  SourceSpec read_source(const toml::table& node, std::size_t index,
                         const std::vector<SpeciesSpec>& declared) const {
    const TableReader table(diag_, node, fmt::format("source[{}]", index));
    SourceSpec source;
    const toml::node& shape_node = table.require("shape");
    const std::string shape =
        read_choice(shape_node, table.path_of("shape"), {"point", "sphere", "box"});
    const std::string context = fmt::format("for shape \"{}\"", shape);
    if (shape == "point") {
      table.allow_only({"species", "shape", "center", "rate"}, context);
      source.shape = SourceSpec::Shape::point;
      source.center_um = read_lengths(table.require("center"), table.path_of("center"), 3, false);
    } else if (shape == "sphere") {
      table.allow_only({"species", "shape", "center", "radius", "rate"}, context);
      source.shape = SourceSpec::Shape::sphere;
      source.center_um = read_lengths(table.require("center"), table.path_of("center"), 3, false);
      source.radius_um =
          read_positive(table.require("radius"), table.path_of("radius"), dim::length);
    } else {
      table.allow_only({"species", "shape", "min", "max", "rate"}, context);
      source.shape = SourceSpec::Shape::box;
      source.box_min_um = read_lengths(table.require("min"), table.path_of("min"), 3, false);
      const toml::node& max_node = table.require("max");
      source.box_max_um = read_lengths(max_node, table.path_of("max"), 3, false);
      constexpr char kAxes[] = {'x', 'y', 'z'};
      for (std::size_t axis = 0; axis < 3; ++axis) {
        if (!(source.box_max_um[axis] > source.box_min_um[axis])) {
          diag_.bad_value(max_node, table.path_of("max"),
                          fmt::format("must exceed min on every axis ({}: max {} um <= min {} um)",
                                      kAxes[axis], source.box_max_um[axis],
                                      source.box_min_um[axis]));
        }
      }
    }

    const toml::node& species_node = table.require("species");
    source.species = read_string(species_node, table.path_of("species"));
    const bool known = std::any_of(declared.begin(), declared.end(), [&](const SpeciesSpec& s) {
      return s.name == source.species;
    });
    if (!known) {
      std::vector<std::string> names;
      for (const SpeciesSpec& s : declared) names.push_back(s.name);
      diag_.bad_value(species_node, table.path_of("species"),
                      fmt::format("unknown species (declared: {})", join(names, ", ")));
    }

    const toml::node& rate_node = table.require("rate");
    const Quantity rate = read_quantity(rate_node, table.path_of("rate"),
                                        {dim::amount_rate, dim::concentration_rate});
    source.rate_kind =
        rate.dimension == dim::amount_rate ? SourceSpec::Rate::total : SourceSpec::Rate::volumetric;
    source.rate = rate.value;
    require_at_least(rate_node, table.path_of("rate"), rate.value, 0.0, false, rate.dimension);
    return source;
  }

  OutputSpec read_output(const TableReader& table, const std::vector<SpeciesSpec>& species) const {
    table.allow_only({"fields", "vtk", "precision", "compression"});
    OutputSpec output;
    if (const toml::node* fields = table.find("fields")) {
      const std::string key = table.path_of("fields");
      const toml::array* array = fields->as_array();
      if (array == nullptr || array->empty())
        diag_.bad_value(*fields, key, "must be a non-empty array of species names");
      for (std::size_t i = 0; i < array->size(); ++i) {
        const std::string name = read_nonempty_string(*array->get(i), fmt::format("{}[{}]", key, i));
        const bool declared = std::any_of(species.begin(), species.end(),
                                          [&](const SpeciesSpec& s) { return s.name == name; });
        if (!declared) {
          std::vector<std::string> names;
          for (const SpeciesSpec& s : species) names.push_back(s.name);
          diag_.bad_value(*array->get(i), fmt::format("{}[{}]", key, i),
                          fmt::format("unknown species (declared: {})", join(names, ", ")));
        }
        if (std::find(output.fields.begin(), output.fields.end(), name) != output.fields.end())
          diag_.bad_value(*array->get(i), fmt::format("{}[{}]", key, i), "listed twice");
        output.fields.push_back(name);
      }
    }
    if (const toml::node* vtk = table.find("vtk")) {
      const auto* flag = vtk->as_boolean();
      if (flag == nullptr) diag_.bad_value(*vtk, table.path_of("vtk"), "must be true or false");
      output.vtk = flag->get();
    }
    if (const toml::node* precision = table.find("precision")) {
      output.float64 = read_choice(*precision, table.path_of("precision"), {"float32", "float64"}) == "float64";
    }
    if (const toml::node* compression = table.find("compression")) {
      const auto* level = compression->as_integer();
      if (level == nullptr || level->get() < 0 || level->get() > 9) {
        diag_.bad_value(*compression, table.path_of("compression"),
                        "must be an integer gzip level in [0, 9] (0 = uncompressed)");
      }
      output.compression = static_cast<int>(level->get());
    }
    return output;
  }

  RunSpec read_run(const TableReader& table) const {
    table.allow_only({"duration", "output_interval", "time_step", "stability_safety", "checkpoint_interval"});
    RunSpec run;
    run.duration_s =
        read_positive(table.require("duration"), table.path_of("duration"), dim::time);
    const toml::node& interval = table.require("output_interval");
    run.output_interval_s = read_positive(interval, table.path_of("output_interval"), dim::time);
    if (run.output_interval_s > run.duration_s) {
      diag_.bad_value(interval, table.path_of("output_interval"),
                      fmt::format("must be <= run.duration ({} s)", run.duration_s));
    }
    if (const toml::node* step = table.find("time_step")) {
      const std::string key = table.path_of("time_step");
      run.time_step_s = read_positive(*step, key, dim::time);
      run.time_step_source = diag_.location(*step, key);
    }
    if (const toml::node* safety = table.find("stability_safety")) {
      const std::string key = table.path_of("stability_safety");
      const std::optional<double> value = safety->value<double>();
      if (!safety->is_number() || !value) {
        diag_.bad_value(*safety, key, fmt::format("must be a plain number in (0, 1], not {}",
                                                  type_name(*safety)));
      }
      if (!(*value > 0.0 && *value <= 1.0)) {
        diag_.bad_value(*safety, key, "must be in (0, 1]");
      }
      run.stability_safety = *value;
    }
    if (const toml::node* every = table.find("checkpoint_interval"))
      run.checkpoint_interval_s = read_positive(*every, table.path_of("checkpoint_interval"), dim::time);
    return run;
  }
};

// ---- --set overrides --------------------------------------------------------------------------

// Parses the right-hand side of an override as a TOML value; text that is not one (run.duration=2
// min) is taken as a plain string. Either way the value gets a source region pointing into the
// text registered with `diagnostics`, so messages can quote it.
toml::table parse_override_value(std::string_view value_text, Diagnostics& diagnostics) {
  const auto parse_as_value = [&](const std::string& rhs) -> std::optional<toml::table> {
    std::string document = "v = " + rhs;
    try {
      toml::table parsed =
          toml::parse(std::string_view(document), std::string_view(kOverrideOrigin));
      if (parsed.size() != 1 || parsed.get("v") == nullptr) return std::nullopt;
      diagnostics.add_source(parsed.source().path, std::move(document), true);
      return parsed;
    } catch (const toml::parse_error&) {
      return std::nullopt;
    }
  };
  if (std::optional<toml::table> parsed = parse_as_value(std::string(value_text))) {
    return std::move(*parsed);
  }
  std::ostringstream quoted;
  quoted << toml::toml_formatter{toml::value<std::string>(std::string(value_text)),
                                 toml::format_flags::allow_unicode_strings};
  if (std::optional<toml::table> parsed = parse_as_value(quoted.str())) return std::move(*parsed);
  throw InputError(fmt::format("{} '{}': cannot use the value as a string", kOverrideOrigin,
                               value_text));
}

// "species[NO].decay" (as messages print keys) is accepted as well as "species.NO.decay".
std::vector<std::string> split_key(std::string_view key) {
  std::string dotted;
  for (const char c : key) {
    if (c == '[') {
      dotted += '.';
    } else if (c != ']') {
      dotted += c;
    }
  }
  std::vector<std::string> segments;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = dotted.find('.', start);
    segments.emplace_back(trim(std::string_view(dotted).substr(start, dot - start)));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return segments;
}

// Selects the species named `name` or the source with 0-based index `name` in the array of tables
// `array_key`.
toml::table& select_element(toml::table& root, const std::string& array_key,
                            const std::string& name, const std::string& override_text) {
  const auto fail = [&](const std::string& what) -> InputError {
    return InputError(fmt::format("{} '{}': {}", kOverrideOrigin, override_text, what));
  };
  toml::array* array = root.get(array_key) ? root.get(array_key)->as_array() : nullptr;
  if (array_key == "species") {
    std::vector<std::string> names;
    if (array != nullptr) {
      for (toml::node& element : *array) {
        toml::table* table = element.as_table();
        if (table == nullptr) continue;
        const std::optional<std::string> element_name = (*table)["name"].value<std::string>();
        if (element_name && *element_name == name) return *table;
        if (element_name) names.push_back(*element_name);
      }
    }
    throw fail(fmt::format("no species named '{}' (declared: {})", name,
                           names.empty() ? "none" : join(names, ", ")));
  }
  const std::size_t count = array == nullptr ? 0 : array->size();
  std::size_t index = 0;
  const bool numeric = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  if (!numeric || name.size() > 9 || (index = std::stoul(name)) >= count) {
    throw fail(fmt::format("no source with index '{}' (sources are numbered from 0; there {} {})",
                           name, count == 1 ? "is" : "are", count));
  }
  toml::table* table = array->get(index)->as_table();
  if (table == nullptr) throw fail(fmt::format("source {} is not a table", index));
  return *table;
}

void apply_override(const std::string& override_text, toml::table& root,
                    Diagnostics& diagnostics) {
  const auto fail = [&](const std::string& what) -> InputError {
    return InputError(fmt::format("{} '{}': {}", kOverrideOrigin, override_text, what));
  };
  const std::size_t equals = override_text.find('=');
  if (equals == std::string::npos) {
    throw fail("expected key=value, e.g. run.duration=\"2 min\"");
  }
  const std::vector<std::string> segments =
      split_key(trim(std::string_view(override_text).substr(0, equals)));
  for (const std::string& segment : segments) {
    if (segment.empty()) throw fail("empty key or key segment before '='");
  }
  toml::table value_document =
      parse_override_value(trim(std::string_view(override_text).substr(equals + 1)), diagnostics);

  toml::table* current = &root;
  std::string walked;
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
    const std::string& segment = segments[i];
    walked += (walked.empty() ? "" : ".") + segment;
    if (current == &root && (segment == "species" || segment == "source")) {
      if (i + 2 == segments.size()) {
        throw fail(fmt::format("name a key inside the {0}, e.g. {0}.{1}.{2}", segment,
                               segments[i + 1], segment == "species" ? "decay" : "rate"));
      }
      current = &select_element(root, segment, segments[i + 1], override_text);
      walked += "." + segments[++i];
      continue;
    }
    toml::node* next = current->get(segment);
    if (next == nullptr) {
      next = current->insert(segment, toml::table{}).first->second.as_table();
    }
    if (!next->is_table()) throw fail(fmt::format("'{}' is not a table", walked));
    current = next->as_table();
  }
  value_document.get("v")->visit([&](auto&& value) {
    current->insert_or_assign(segments.back(), std::move(value));
  });
}

// ---- base scenarios ---------------------------------------------------------------------------

// Merges `from` (a scenario) into `into` (its base): tables merge key by key; [[species]] merge
// by name (a child's species table changes only the keys it gives); [[model.event]] lists are
// appended; any other value, inline tables and arrays included, replaces the base's.
void merge_scenario_tables(toml::table& into, toml::table& from, const std::string& path) {
  for (auto&& [key, node] : from) {
    const std::string name(key.str());
    toml::node* existing = into.get(name);
    if (existing != nullptr && existing->is_table() && node.is_table() && !node.as_table()->is_inline() &&
        !existing->as_table()->is_inline()) {
      merge_scenario_tables(*existing->as_table(), *node.as_table(), path.empty() ? name : path + "." + name);
      continue;
    }
    if (existing != nullptr && existing->is_array_of_tables() && node.is_array_of_tables() &&
        ((path.empty() && name == "species") || (path == "model" && name == "event"))) {
      toml::array& target = *existing->as_array();
      for (toml::node& element : *node.as_array()) {
        toml::table& child = *element.as_table();
        toml::table* same = nullptr;
        if (name == "species") {
          const std::optional<std::string> child_name = child["name"].value<std::string>();
          for (toml::node& candidate : target) {
            if (child_name && candidate.as_table() && (*candidate.as_table())["name"].value<std::string>() == child_name)
              same = candidate.as_table();
          }
        }
        if (same != nullptr) {
          merge_scenario_tables(*same, child, "species");
        } else {
          target.push_back(std::move(child));
        }
      }
      continue;
    }
    node.visit([&](auto&& value) { into.insert_or_assign(name, std::move(value)); });
  }
}

// Replaces a scenario whose [scenario] names a `base` by the base with the scenario merged in.
// Returns the texts read, for provenance.
std::string apply_base(toml::table& root, Diagnostics& diagnostics, int depth) {
  toml::table* header = root["scenario"].as_table();
  const toml::node* base_node = header ? header->get("base") : nullptr;
  if (base_node == nullptr) return {};
  const ValueReader reader(diagnostics);
  const std::string base_path = reader.read_existing_file(*base_node, "scenario.base");
  if (depth >= 8) {
    diagnostics.bad_value(*base_node, "scenario.base", "bases nest more than 8 deep (a cycle?)");
  }
  const std::string base_text = read_text_file(base_path, "base scenario");
  toml::table base;
  try {
    base = toml::parse(std::string_view(base_text), std::string_view(base_path));
  } catch (const toml::parse_error& error) {
    throw InputError(fmt::format("{}:{}:{}: TOML syntax error: {}", base_path, error.source().begin.line,
                                 error.source().begin.column, error.description()));
  }
  diagnostics.add_source(base.source().path, base_text, false);
  std::string texts = apply_base(base, diagnostics, depth + 1);
  header->erase("base");
  merge_scenario_tables(base, root, "");
  root = std::move(base);
  return fmt::format("\n# ---- base scenario {} ----\n{}{}", base_path, base_text, texts);
}

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& file_label,
                        const std::vector<std::string>& overrides) {
  Diagnostics diagnostics(file_label);
  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view(file_label));
  } catch (const toml::parse_error& error) {
    throw InputError(fmt::format("{}:{}:{}: TOML syntax error: {}", file_label,
                                 error.source().begin.line, error.source().begin.column,
                                 error.description()));
  }
  diagnostics.add_source(root.source().path, text, false);
  const std::string base_texts = apply_base(root, diagnostics, 0);
  for (const std::string& override_text : overrides) {
    apply_override(override_text, root, diagnostics);
  }

  Scenario scenario;
  scenario.file = file_label;
  scenario.text = text + base_texts;
  scenario.overrides = overrides;
  ScenarioReader(diagnostics).read(root, scenario);
  return scenario;
}

Scenario load_scenario(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_scenario(read_text_file(path, "scenario file"), path, overrides);
}

std::optional<ScenarioValue> scenario_value(const std::string& text, const std::string& file_label,
                                            const std::vector<std::string>& overrides, const std::string& key) {
  const std::vector<std::string> segments = split_key(key);
  toml::table root;
  const toml::node* node = nullptr;
  try {
    Diagnostics diagnostics(file_label);
    root = toml::parse(std::string_view(text), std::string_view(file_label));
    diagnostics.add_source(root.source().path, text, false);
    apply_base(root, diagnostics, 0);
    for (const std::string& override_text : overrides) apply_override(override_text, root, diagnostics);
    const toml::table* current = &root;
    for (std::size_t i = 0; current != nullptr && i < segments.size(); ++i) {
      const std::string& segment = segments[i];
      if (current == &root && (segment == "species" || segment == "source") && i + 2 < segments.size()) {
        current = &select_element(root, segment, segments[i + 1], key);
        ++i;
        continue;
      }
      node = current->get(segment);
      if (node == nullptr) break;
      if (i + 1 < segments.size()) {
        current = node->as_table();
        node = nullptr;
      }
    }
  } catch (const std::exception&) {  // InputError, toml::parse_error: no value to tell
    return std::nullopt;
  }
  if (node == nullptr) {
    // A rate-law parameter left out: its registry default, written as a scenario writes it.
    if (segments.size() == 3 && segments[0] == "model") {
      for (const ModelParameterInfo& p : model_parameter_registry()) {
        if (segments[1] != p.table || segments[2] != p.key) continue;
        // A plain number ("1") stays one; a quantity ("5 1/d") is a string.
        char* end = nullptr;
        std::strtod(p.default_text, &end);
        const bool plain = end != p.default_text && *end == '\0';
        return ScenarioValue{plain ? std::string(p.default_text) : fmt::format("\"{}\"", p.default_text),
                             p.default_text};
      }
    }
    return std::nullopt;
  }
  if (const auto* string = node->as_string()) {
    std::ostringstream quoted;
    quoted << toml::toml_formatter{*string, toml::format_flags::allow_unicode_strings};
    return ScenarioValue{quoted.str(), string->get()};
  }
  std::ostringstream written;
  written << toml::toml_formatter{*node, toml::format_flags::allow_unicode_strings};
  return ScenarioValue{written.str(), written.str()};
}

}  // namespace cordsim
