#include "host/model/readouts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "host/geometry/labels.hpp"

namespace cordsim {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Running mean of a field over a region.
struct Mean {
  double sum = 0.0;
  double count = 0.0;
  void add(double x) {
    sum += x;
    count += 1.0;
  }
  double value() const { return count > 0 ? sum / count : nan; }
};

// Pearson correlation of paired samples; NaN when either has no spread.
struct Correlation {
  double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  void add(double x, double y) {
    n += 1;
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
  }
  double value() const {
    const double vx = n * sxx - sx * sx, vy = n * syy - sy * sy;
    if (n < 3 || vx <= 1e-12 * (n * sxx + 1e-300) || vy <= 1e-12 * (n * syy + 1e-300)) return nan;
    return (n * sxy - sx * sy) / std::sqrt(vx * vy);
  }
};

// The accumulators of a readout as one vector of doubles, so that a decomposed run can pass them
// from rank to rank (TissueModel::sum_over_ranks) and add every term in the serial order:
// `Pack<true>` stores them into the vector, `Pack<false>` loads them from it.
template <bool store>
struct Pack {
  std::vector<double>& v;
  std::size_t at = 0;
  void operator()(double& x) {
    if (at >= v.size()) v.resize(at + 1, 0.0);
    if (store)
      v[at] = x;
    else
      x = v[at];
    ++at;
  }
  void operator()(Mean& m) {
    (*this)(m.sum);
    (*this)(m.count);
  }
  void operator()(Correlation& c) {
    for (double* x : {&c.n, &c.sx, &c.sy, &c.sxx, &c.syy, &c.sxy}) (*this)(*x);
  }
  void operator()(std::vector<double>& xs) {
    for (double& x : xs) (*this)(x);
  }
  void operator()(std::vector<Mean>& ms) {
    for (Mean& m : ms) (*this)(m);
  }
};

}  // namespace

double locomotor_score(const ModelSettings& s, double f) {
  return 21.0 * std::clamp((f - s.bbb_zero_fraction) / (s.bbb_full_fraction - s.bbb_zero_fraction), 0.0, 1.0);
}

double onset_loss(const ModelSettings& s) {
  return 1.0 - (s.bbb_zero_fraction + (s.bbb_full_fraction - s.bbb_zero_fraction) * s.onset_score / 21.0);
}

double evans_blue_ug_per_g(double nM) {
  constexpr double molar_mass_g_per_mol = 960.8;
  constexpr double tissue_g_per_mL = 1.04;
  // nM · 1e-9 mol/L · 960.8 g/mol = µg/L · 0.9608; per mL 1e-3; per g ÷ 1.04.
  return nM * 1e-9 * molar_mass_g_per_mol * 1e6 * 1e-3 / tissue_g_per_mL;
}

Readouts::Readouts(const Problem& problem, const TissueModel& model) : problem_(problem) {
  const GridSpec& g = problem.labels.grid;
  voxel_mm3_ = g.spacing_um[0] * g.spacing_um[1] * g.spacing_um[2] * 1e-9;
  for (const CordSegment& s : problem.labels.segments) segment_length_um_.push_back(s.z_end_um - s.z_begin_um);
  const std::size_t segments = problem.labels.segments.size();
  for (std::size_t n = 0; n < model.tissue_voxels(); ++n) {
    const std::uint8_t k = problem.labels.segment[model.global_voxel(n)];
    segment_of_.push_back(k > 0 && k <= segments ? int(k) - 1 : -1);
  }
  std::vector<double> pool(1 + segments, 0.0);
  model.sum_over_ranks(pool, [&](std::vector<double>& acc) {
    for (std::size_t n = 0; n < model.tissue_voxels(); ++n) {
      const double cells = model.inputs(n).motor_neurons_initial * voxel_mm3_;
      acc[0] += cells;
      if (segment_of_[n] >= 0) acc[1 + std::size_t(segment_of_[n])] += cells;
    }
  });
  initial_pool_ = pool[0];
  initial_segment_.assign(pool.begin() + 1, pool.end());
}

Readouts::Survival Readouts::survival(const TissueModel& model) const {
  const std::size_t segments = initial_segment_.size();
  std::vector<double> cells(1 + segments, 0.0);
  model.sum_over_ranks(cells, [&](std::vector<double>& acc) {
    for (std::size_t n = 0; n < model.tissue_voxels(); ++n) {
      const double mn = motor_neurons(model.state(n)) * voxel_mm3_;
      acc[0] += mn;
      if (segment_of_[n] >= 0) acc[1 + std::size_t(segment_of_[n])] += mn;
    }
  });
  Survival s;
  s.lumbar = initial_pool_ > 0 ? cells[0] / initial_pool_ : nan;
  double hind = 0.0, hind0 = 0.0;
  const std::size_t first = std::size_t(std::max(1.0, model.spec().settings.locomotor_from_segment)) - 1;
  for (std::size_t k = 0; k < segments; ++k) {
    s.segment.push_back(initial_segment_[k] > 0 ? cells[1 + k] / initial_segment_[k] : nan);
    if (k >= first) {
      hind += cells[1 + k];
      hind0 += initial_segment_[k];
    }
  }
  // A cord with fewer segments than the enlargement's first: the whole pool drives the score.
  s.hindlimb = hind0 > 0 ? hind / hind0 : s.lumbar;
  return s;
}

ReadoutRow Readouts::measure(double time_s, const TissueModel& model, const SystemicState& systemic,
                             const TissueModel::ModelFields& fields) const {
  const std::vector<float>&no = *fields.no, &tnf = *fields.tnf, &ifn = *fields.ifn, &nrtn = *fields.nrtn,
                      &danger = *fields.danger;
  const ModelSettings& settings = model.spec().settings;
  const TissueModelParams& q = model.params();
  const LabelledGrid& labels = problem_.labels;
  const std::size_t segments = labels.segments.size();
  const SystemicDrivers drivers = systemic.at(settings, time_s);
  std::vector<double> pool_cells(segments * 2, 0.0);
  double cells = 0.0, msc_cells = 0.0;
  Mean activated_gray, microglia_pools, astro_gray, barrier_gray, barrier_white, adhesion_gray, no_gray, no_white,
      no_pools, tnf_gray, ifn_gray, nrtn_gray, decay_gray, decay_white, danger_gray, danger_pools, stress_pools;
  double no_max = 0.0;
  Correlation astro_microglia;
  // Summed over every rank's voxels in grid order: this rank continues the sums of the ranks below.
  // The loop is the one-rank loop on plain local accumulators, loaded before it and stored after:
  // with -march=native the compiler fuses some multiply-adds (FMA), and a loop of another shape
  // (e.g. adding into the vector directly) fuses others and changes the last bits.
  const auto pack = [&](auto&& p) {
    p(pool_cells);
    for (double* x : {&cells, &msc_cells, &no_max}) p(*x);
    for (Mean* m : {&activated_gray, &microglia_pools, &astro_gray, &barrier_gray, &barrier_white, &adhesion_gray,
                    &no_gray, &no_white, &no_pools, &tnf_gray, &ifn_gray, &nrtn_gray, &decay_gray, &decay_white,
                    &danger_gray, &danger_pools, &stress_pools})
      p(*m);
    p(astro_microglia);
  };
  std::vector<double> sums;
  pack(Pack<true>{sums});
  model.sum_over_ranks(sums, [&](std::vector<double>& a) {
    pack(Pack<false>{a});
    for (std::size_t n = 0; n < model.tissue_voxels(); ++n) {
      const std::uint32_t v = model.voxel(n);         // into the fields
      const std::size_t gv = model.global_voxel(n);  // into the labels
      const VoxelInputs& in = model.inputs(n);
      const CellState& s = model.state(n);
      const std::uint8_t t = labels.tissue[gv];
      const bool gray = is_gray(t);
      const bool pool = t == std::uint8_t(Tissue::motor_neuron_pool);
      const double mn = motor_neurons(s) * voxel_mm3_;
      const double activation = microglia_activation(in, s);
      const double activated = microglia_density(q, in, s) * activation;
      cells += mn;
      msc_cells += s.msc * voxel_mm3_;
      if (pool && labels.segment[gv] > 0) pool_cells[2 * (labels.segment[gv] - 1u) + std::size_t(model.side(n))] += mn;
      no_max = std::max(no_max, double(no[v]));
      const SpeciesTerms terms = species_terms(q, in, drivers, s);
      if (gray) {
        activated_gray.add(activated);
        astro_gray.add(astrocyte_reactivity(in, s));
        danger_gray.add(danger[v]);
        barrier_gray.add(s.barrier);
        adhesion_gray.add(s.adhesion);
        no_gray.add(no[v]);
        tnf_gray.add(tnf[v] * 1e3);
        ifn_gray.add(ifn[v] * 1e3);
        nrtn_gray.add(nrtn[v] * 1e3);
        decay_gray.add(terms.no_decay);
      } else {
        barrier_white.add(s.barrier);
        no_white.add(no[v]);
        decay_white.add(terms.no_decay);
      }
      if (pool) {
        microglia_pools.add(activation);
        no_pools.add(no[v]);
        danger_pools.add(danger[v]);
        stress_pools.add(mean_stress(s));
      }
      // Mutant-free astrocytes against activated microglia over the ventral horns, where the
      // disease acts (Yamanaka 2008). Before disease the activated density is the resting
      // variation of microglia, unrelated to the astrocytes' genotype, so r ≈ 0 there.
      if (t == std::uint8_t(Tissue::ventral_horn) || pool)
        astro_microglia.add((1.0 - q.sod1_astrocytes * (1.0 - in.excised_astrocytes)) * in.astrocytes, activated);
    }
    pack(Pack<true>{a});
  });
  pack(Pack<false>{sums});
  const double f = initial_pool_ > 0 ? cells / initial_pool_ : nan;
  const Survival survived = survival(model);  // a collective, like the sums above
  ReadoutRow row = {{"time_d", time_s / 86400.0},
                    {"mn_fraction", f},
                    {"hindlimb_mn_fraction", survived.hindlimb},
                    {"bbb_score", locomotor_score(settings, survived.hindlimb)},
                    {"mn_pool_per_side", cells * settings.counted_fraction / 2.0}};
  // The rostro-caudal profile of the disease: each segment's MN loss.
  for (std::size_t k = 0; k < segments; ++k)
    row.emplace_back("mn_loss_" + labels.segments[k].name, 1.0 - survived.segment[k]);
  for (std::size_t k = 0; k < segments; ++k) {
    // MNs per ventral horn per section: the pool of one side of the segment, the share a Nissl
    // count includes, spread over the segment's sections; the mean of both sides.
    const double sections = segment_length_um_[k] / settings.section_thickness_um;
    const double per_side = 0.5 * (pool_cells[2 * k] + pool_cells[2 * k + 1]);
    row.emplace_back("mn_per_section_" + labels.segments[k].name, per_side * settings.counted_fraction / sections);
  }
  const std::vector<std::pair<std::string, double>> rest = {
      {"activated_microglia_gray_per_mm3", activated_gray.value()},
      {"microglia_activation_pools", microglia_pools.value()},
      {"astrocyte_reactivity_gray", astro_gray.value()},
      {"barrier_gray", barrier_gray.value()},
      {"barrier_white", barrier_white.value()},
      {"adhesion_gray", adhesion_gray.value()},
      {"permeability_gray_rel", 1.0 + settings.eb_leak_gain * (1.0 - barrier_gray.value())},
      {"no_gray_nM", no_gray.value()},
      {"no_white_nM", no_white.value()},
      {"no_pools_nM", no_pools.value()},
      {"no_max_nM", no_max},
      {"no_decay_gray_per_s", decay_gray.value()},
      {"no_decay_white_per_s", decay_white.value()},
      {"tnf_gray_pM", tnf_gray.value()},
      {"ifng_gray_pM", ifn_gray.value()},
      {"nrtn_gray_pM", nrtn_gray.value()},
      {"danger_gray_nM", danger_gray.value()},
      {"danger_pools_nM", danger_pools.value()},
      {"mn_stress_pools", stress_pools.value()},
      {"msc_tissue_cells", msc_cells},
      {"msc_plasma_cells", systemic.plasma_msc},
      {"msc_lung_cells", systemic.lung_msc},
      {"msc_signal", drivers.msc_signal},
      {"astrocyte_microglia_correlation", astro_microglia.value()}};
  row.insert(row.end(), rest.begin(), rest.end());
  return row;
}

ReadoutRow Readouts::evans_blue(const TissueModel& model, const std::vector<float>& eb) const {
  const LabelledGrid& labels = problem_.labels;
  Mean gray, white;
  std::vector<Mean> per_segment(labels.segments.size());
  const auto pack = [&](auto&& p) {
    p(gray);
    p(white);
    p(per_segment);
  };
  std::vector<double> sums;
  pack(Pack<true>{sums});
  // This rank's planes of the field, in grid order, continuing the sums of the ranks below.
  model.sum_over_ranks(sums, [&](std::vector<double>& a) {
    pack(Pack<false>{a});
    for (std::size_t v = model.owned_begin(); v < model.owned_end(); ++v) {
      const std::size_t gv = v + model.array_offset();
      const std::uint8_t t = labels.tissue[gv];
      if (!is_parenchyma(t)) continue;
      const double ug = evans_blue_ug_per_g(eb[v]);
      if (is_gray(t)) {
        gray.add(ug);
        if (labels.segment[gv] > 0) per_segment[labels.segment[gv] - 1u].add(ug);
      } else {
        white.add(ug);
      }
    }
    pack(Pack<true>{a});
  });
  pack(Pack<false>{sums});
  ReadoutRow row = {{"eb_gray_ug_per_g", gray.value()}, {"eb_white_ug_per_g", white.value()}};
  for (std::size_t k = 0; k < per_segment.size(); ++k)
    row.emplace_back("eb_gray_" + labels.segments[k].name + "_ug_per_g", per_segment[k].value());
  return row;
}

}  // namespace cordsim
