#include "host/model/tissue_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "host/geometry/geometry.hpp"
#include "host/geometry/labels.hpp"

namespace cordsim {
namespace {

// ∫₀ʰ e^(−k s) ds / h: the mean of a decaying pool over a step, relative to its start.
double mean_decay_factor(double k, double h) {
  const double x = k * h;
  return x < 1e-9 ? 1.0 : (1.0 - std::exp(-x)) / x;
}

// A standard normal draw from 64 random bits (Box–Muller on two 32-bit halves), so that draws are
// the same with every standard library (std::normal_distribution is implementation-defined).
double standard_normal(std::mt19937_64& rng) {
  const std::uint64_t bits = rng();
  const double u1 = (double(bits >> 32) + 0.5) / 4294967296.0;
  const double u2 = (double(bits & 0xffffffffu) + 0.5) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// A standard normal draw that depends only on (seed, n): SplitMix64 of both, then Box–Muller, so
// that every voxel gets the same draw on any number of ranks and in any loop order.
double hashed_normal(std::uint64_t seed, std::uint64_t n) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (n + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const double u1 = (double(z >> 32) + 0.5) / 4294967296.0;
  const double u2 = (double(z & 0xffffffffu) + 0.5) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// A source as the float32 the back end stores, with sources below 1e-24 nM/s (a molecule per
// cubic metre per year) set to 0: once the last MNs are gone their danger signal decays through
// the subnormal floats, where every solver operation is some hundred times slower.
float flush_tiny(double source) { return std::abs(source) < 1e-24 ? 0.f : float(source); }

// The seed of the resting-microglia density variation: fixed, so every arm of a line sees the
// same tissue (an arm differs from its control only by its intervention).
constexpr std::uint64_t kMicrogliaDensitySeed = 20261207;

}  // namespace

ModelSpeciesIndex model_species_index(const Scenario& scenario) {
  ModelSpeciesIndex index;
  for (std::size_t s = 0; s < scenario.species.size(); ++s) {
    const std::string& name = scenario.species[s].name;
    int* slot = name == "NO" ? &index.no : name == "TNF" ? &index.tnf : name == "IFNg" ? &index.ifn
              : name == "NRTN" ? &index.nrtn : name == "EB" ? &index.eb : name == "DAMP" ? &index.danger : nullptr;
    if (slot) *slot = int(s);
  }
  return index;
}

SystemicDrivers SystemicState::at(const ModelSettings& settings, double t) const {
  SystemicDrivers d;
  d.plasma_msc = plasma_msc;
  d.msc_signal = lung_msc / settings.msc_reference_dose;
  d.chir = t < chir_until_s ? 1.0 : 0.0;
  return d;
}

SystemicDrivers SystemicState::average_and_advance(const ModelSettings& settings, double t, double h) {
  SystemicDrivers d;
  d.plasma_msc = plasma_msc * mean_decay_factor(settings.msc_plasma_clearance_per_s, h);
  d.msc_signal = lung_msc * mean_decay_factor(settings.msc_lung_loss_per_s, h) / settings.msc_reference_dose;
  // The share of the step during which CHIR99021 acts.
  d.chir = std::clamp((chir_until_s - t) / h, 0.0, 1.0);
  plasma_msc *= std::exp(-settings.msc_plasma_clearance_per_s * h);
  lung_msc *= std::exp(-settings.msc_lung_loss_per_s * h);
  return d;
}

TissueModel::TissueModel(const Scenario& scenario, const Problem& problem, const ModelPlanes& planes)
    : spec_(*scenario.model), params_(scenario.model->params), grid_voxels_(problem.tissue.size()),
      running_sum_(planes.running_sum) {
  const ModelSpeciesIndex index = model_species_index(scenario);
  // The NO decay of the species table is the parenchymal part; capillaries add theirs per voxel.
  params_.no_parenchymal_decay = scenario.species[std::size_t(index.no)].decay_per_s;
  params_.capillary_surface_gray = problem.labels.properties.capillary_surface_gray_per_um * 1e3;
  const TissueFields fields = tissue_fields(problem.labels, count_tissue(problem.labels));
  const LabelledGrid& labels = problem.labels;
  const GridSpec& g = labels.grid;
  const double midline = g.origin_um[0] + 0.5 * g.shape[0] * g.spacing_um[0];
  const std::size_t plane = std::size_t(g.shape[0]) * std::size_t(g.shape[1]);
  const std::size_t begin = std::size_t(planes.z_begin) * plane;
  const std::size_t end = planes.z_end < 0 ? problem.tissue.size() : std::size_t(planes.z_end) * plane;
  offset_ = std::size_t(planes.first_plane) * plane;
  if (planes.grid_voxels) grid_voxels_ = planes.grid_voxels;
  owned_begin_ = begin - offset_;
  owned_end_ = end - offset_;
  for (std::size_t v = 0; v < problem.tissue.size(); ++v) {
    if (!problem.tissue[v]) continue;
    ++global_tissue_voxels_;
    if (v < begin) ++first_tissue_;
  }
  const double spread = spec_.settings.microglia_density_spread;
  for (std::size_t v = begin; v < end; ++v) {
    if (!problem.tissue[v]) continue;
    voxel_.push_back(std::uint32_t(v - offset_));
    const int i = int(v % std::size_t(g.shape[0]));
    side_.push_back(std::uint8_t(g.origin_um[0] + (i + 0.5) * g.spacing_um[0] < midline ? 0 : 1));
    VoxelInputs in{};
    in.motor_neurons_initial = fields.motor_neuron_density[v];
    // Resting microglial density varies from voxel to voxel (log-normal, mean kept): the tissue
    // noise against which the astrocyte–microglia correlation is measured.
    in.microglia_baseline = fields.microglia_density[v] * std::exp(spread * hashed_normal(kMicrogliaDensitySeed, v) -
                                                                   0.5 * spread * spread);
    in.astrocytes = fields.astrocyte_density[v];
    in.capillary_surface = fields.capillary_surface_density[v];
    inputs_.push_back(in);
    CellState s{};
    s.mn_carrier = in.motor_neurons_initial;
    s.barrier = 1.0;
    s.adhesion = 1.0;
    s.wnt = 1.0;
    states_.push_back(s);
  }
}

void TissueModel::advance(const ModelFields& f, const SystemicDrivers& drivers, double dt) {
  const long n = long(voxel_.size());
  const int order = spec_.settings.reaction_order;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) {
    const std::size_t v = voxel_[std::size_t(i)];
    const LocalFields c{(*f.no)[v], (*f.tnf)[v], (*f.ifn)[v], (*f.nrtn)[v], (*f.danger)[v]};
    states_[std::size_t(i)] = advance_cell_state(params_, inputs_[std::size_t(i)], c, drivers, states_[std::size_t(i)], dt, order);
  }
}

void TissueModel::species_inputs(const SystemicDrivers& drivers, SpeciesInputs& out) const {
  for (auto* field : {&out.no_source, &out.no_decay, &out.tnf_source, &out.ifn_source, &out.nrtn_source, &out.danger_source})
    field->assign(grid_voxels_, 0.f);
  const long n = long(voxel_.size());
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) {
    const std::size_t v = voxel_[std::size_t(i)];
    const SpeciesTerms t = species_terms(params_, inputs_[std::size_t(i)], drivers, states_[std::size_t(i)]);
    out.no_source[v] = flush_tiny(t.no_source);
    out.no_decay[v] = float(t.no_decay);
    out.tnf_source[v] = flush_tiny(t.tnf_source);
    out.ifn_source[v] = flush_tiny(t.ifn_source);
    out.nrtn_source[v] = flush_tiny(t.neurturin_source);
    out.danger_source[v] = flush_tiny(t.danger_source);
  }
}

void TissueModel::evans_blue_inputs(double base_decay, std::vector<float>& decay, std::vector<float>& source) const {
  const ModelSettings& s = spec_.settings;
  decay.assign(grid_voxels_, float(base_decay));
  source.assign(grid_voxels_, 0.f);
  for (std::size_t i = 0; i < voxel_.size(); ++i) {
    const double ps = albumin_permeability(s.eb_permeability_gray_per_s, s.eb_leak_gain, params_.capillary_surface_gray,
                                           inputs_[i], states_[i]);
    decay[voxel_[i]] = float(base_decay + ps / s.eb_ecs_fraction);
    source[voxel_[i]] = float(ps * s.eb_plasma_nM);
  }
}

void TissueModel::excise(const ModelEvent& event) {
  std::mt19937_64 rng(event.seed);
  rng.discard(first_tissue_);  // the draws of the tissue voxels on the planes below this rank's
  const int type = event.cell_type == "motor_neurons" ? 0 : event.cell_type == "astrocytes" ? 1 : 2;
  for (std::size_t n = 0; n < inputs_.size(); ++n) {
    const double e = std::clamp(event.efficiency + event.efficiency_spread * standard_normal(rng), 0.0, 1.0);
    excise_cells(type, e, inputs_[n], states_[n]);
  }
}

double TissueModel::output_value(int field, std::size_t n) const {
  const CellState& s = states_[n];
  const VoxelInputs& in = inputs_[n];
  switch (field) {
    case 0: return motor_neurons(s);
    case 1: return mean_stress(s);
    case 2: return microglia_activation(in, s);
    case 3: return astrocyte_reactivity(in, s);
    case 4: return s.barrier;
    case 5: return s.adhesion;
    case 6: return s.msc;
    case 7: return s.wnt;
    case 8: return params_.sod1_astrocytes * (1.0 - in.excised_astrocytes);
    case 9: return in.excised_motor_neurons;
    default: return in.excised_microglia;
  }
}

void TissueModel::output_field(int field, std::vector<float>& grid) const {
  grid.assign(grid_voxels_, 0.f);
  for (std::size_t i = 0; i < voxel_.size(); ++i) grid[voxel_[i]] = float(output_value(field, i));
}

}  // namespace cordsim
