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

}  // namespace

ModelSpeciesIndex model_species_index(const Scenario& scenario) {
  ModelSpeciesIndex index;
  for (std::size_t s = 0; s < scenario.species.size(); ++s) {
    const std::string& name = scenario.species[s].name;
    int* slot = name == "NO" ? &index.no : name == "TNF" ? &index.tnf : name == "IFNg" ? &index.ifn
              : name == "NRTN" ? &index.nrtn : name == "EB" ? &index.eb : nullptr;
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
  std::vector<double> initial_mn;  // per own tissue voxel, for the horns' initial MNs below
  for (std::size_t v = begin; v < end; ++v) {
    if (!problem.tissue[v]) continue;
    voxel_.push_back(std::uint32_t(v - offset_));
    const std::uint8_t t = labels.tissue[v];
    const int i = int(v % std::size_t(g.shape[0]));
    const int side = g.origin_um[0] + (i + 0.5) * g.spacing_um[0] < midline ? 0 : 1;
    side_.push_back(std::uint8_t(side));
    int horn = -1;
    if ((t == std::uint8_t(Tissue::ventral_horn) || t == std::uint8_t(Tissue::motor_neuron_pool)) && labels.segment[v] > 0)
      horn = 2 * (labels.segment[v] - 1) + side;
    horn_.push_back(horn);
    initial_mn.push_back(fields.motor_neuron_density[v]);
    VoxelInputs in{};
    in.motor_neurons_initial = fields.motor_neuron_density[v];
    in.microglia_baseline = fields.microglia_density[v];
    in.astrocytes = fields.astrocyte_density[v];
    in.capillary_surface = fields.capillary_surface_density[v];
    in.sod1_motor_neurons = spec_.sod1_motor_neurons;
    in.sod1_astrocytes = spec_.sod1_astrocytes;
    in.sod1_microglia = spec_.sod1_microglia;
    inputs_.push_back(in);
    CellState s{};
    s.motor_neurons = in.motor_neurons_initial;
    s.barrier = 1.0;
    s.adhesion = 1.0;
    s.wnt = 1.0;
    states_.push_back(s);
  }
  // MNs per horn, summed over the pool voxels of every rank in grid order.
  horn_initial_.assign(2 * labels.segments.size(), 0.0);
  sum_over_ranks(horn_initial_, [&](std::vector<double>& acc) {
    for (std::size_t n = 0; n < voxel_.size(); ++n)
      if (horn_[n] >= 0) acc[std::size_t(horn_[n])] += initial_mn[n];
  });
}

void TissueModel::update_injury() {
  horn_injury_.assign(horn_initial_.size(), 0.0);
  sum_over_ranks(horn_injury_, [&](std::vector<double>& acc) {
    for (std::size_t i = 0; i < voxel_.size(); ++i)
      if (horn_[i] >= 0) acc[std::size_t(horn_[i])] += states_[i].motor_neurons;
  });
  for (std::size_t h = 0; h < horn_injury_.size(); ++h)
    horn_injury_[h] = horn_initial_[h] > 0 ? 1.0 - horn_injury_[h] / horn_initial_[h] : 0.0;
}

void TissueModel::advance(const std::vector<float>& no, const std::vector<float>& tnf, const std::vector<float>& ifn,
                          const std::vector<float>& nrtn, const SystemicDrivers& drivers, double dt) {
  const long n = long(voxel_.size());
  const int order = spec_.settings.reaction_order;
  update_injury();
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) {
    const std::size_t v = voxel_[std::size_t(i)];
    const LocalFields c{no[v], tnf[v], ifn[v], nrtn[v], injury(std::size_t(i))};
    states_[std::size_t(i)] = advance_cell_state(params_, inputs_[std::size_t(i)], c, drivers, states_[std::size_t(i)], dt, order);
  }
}

void TissueModel::species_inputs(const SystemicDrivers& drivers, SpeciesInputs& out) const {
  for (auto* field : {&out.no_source, &out.no_decay, &out.tnf_source, &out.ifn_source, &out.nrtn_source})
    field->assign(grid_voxels_, 0.f);
  const long n = long(voxel_.size());
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) {
    const std::size_t v = voxel_[std::size_t(i)];
    const SpeciesTerms t = species_terms(params_, inputs_[std::size_t(i)], drivers, states_[std::size_t(i)]);
    out.no_source[v] = float(t.no_source);
    out.no_decay[v] = float(t.no_decay);
    out.tnf_source[v] = float(t.tnf_source);
    out.ifn_source[v] = float(t.ifn_source);
    out.nrtn_source[v] = float(t.neurturin_source);
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
  for (VoxelInputs& in : inputs_) {
    const double excised = std::clamp(event.efficiency + event.efficiency_spread * standard_normal(rng), 0.0, 1.0);
    double& mutant = event.cell_type == "astrocytes"      ? in.sod1_astrocytes
                     : event.cell_type == "motor_neurons" ? in.sod1_motor_neurons
                                                          : in.sod1_microglia;
    mutant *= 1.0 - excised;
  }
}

void TissueModel::state_field(int state, std::vector<float>& grid) const {
  grid.assign(grid_voxels_, 0.f);
  for (std::size_t i = 0; i < voxel_.size(); ++i) {
    CellState s = states_[i];
    grid[voxel_[i]] = float(state_at(s, state));
  }
}

void TissueModel::mutant_astrocyte_field(std::vector<float>& grid) const {
  grid.assign(grid_voxels_, 0.f);
  for (std::size_t i = 0; i < voxel_.size(); ++i) grid[voxel_[i]] = float(inputs_[i].sod1_astrocytes);
}

}  // namespace cordsim
