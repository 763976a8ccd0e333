#include "host/model/als_run.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <optional>

#include "host/geometry/geometry.hpp"
#include "host/io/run_output.hpp"
#include "host/io/summary.hpp"
#include "host/model/readouts.hpp"
#include "host/model/tissue_model.hpp"
#include "host/solver/stepper.hpp"

namespace cordsim {
namespace {

constexpr double kDay = 86400.0;

const char* kStateNames[kCellStates] = {"mn_density", "mn_stress", "microglia_activation", "astrocyte_reactivity",
                                        "barrier_integrity", "adhesion", "msc_density", "wnt"};
const char* kStateUnits[kCellStates] = {"cells/mm^3", "1", "1", "1", "1", "1", "cells/mm^3", "1"};
const char* kStateLongNames[kCellStates] = {
    "motor-neuron density", "motor-neuron stress H", "activated fraction of microglia",
    "reactive fraction of astrocytes", "blood-spinal-cord barrier integrity B", "endothelial adhesion molecules V",
    "MSC density in tissue", "Wnt/beta-catenin signalling W"};

std::string json_number(double x) {
  return std::isfinite(x) ? fmt::format("{:.9g}", x) : "null";
}

// The model's run: state, species, schedule, readouts and files.
class AlsRun {
 public:
  AlsRun(const Scenario& scenario, const Problem& problem, Backend& backend)
      : scenario_(scenario),
        problem_(problem),
        backend_(backend),
        settings_(scenario.model->settings),
        index_(model_species_index(scenario)),
        model_(scenario, problem),
        readouts_(problem, model_),
        stepper_(scenario, with_model_inputs(problem), backend) {
    const std::size_t n = problem.tissue.size();
    for (auto* f : {&no_, &tnf_, &ifn_, &nrtn_, &eb_}) f->assign(n, 0.f);
    download_fields();
    for (const ModelEvent& e : scenario.model->events) pending_.push_back({e, e.time_s});
  }

  AlsRunResult run(const AlsRunOptions& options) {
    const std::filesystem::path& out_dir = options.out_dir;
    std::vector<FieldDescription> fields;
    for (const SpeciesSpec& s : scenario_.species) fields.push_back({s.name, "nM", s.name + " concentration"});
    for (int i = 0; i < kCellStates; ++i) fields.push_back({kStateNames[i], kStateUnits[i], kStateLongNames[i]});
    fields.push_back({"sod1_astrocytes", "1", "mutant-SOD1 fraction of astrocytes (after Cre excision)"});
    const std::vector<double> times = output_times(scenario_.run);
    const std::uintmax_t expected = expected_output_bytes(scenario_, fields.size(), times.size(), 3);
    spdlog::info("ALS model: {} tissue voxels, slow step {:.3g} h ({} splitting, exponential {} reactions); output "
                 "{} frames of {} fields, at most {:.1f} MiB",
                 model_.tissue_voxels(), settings_.slow_step_s / 3600.0, settings_.strang ? "Strang" : "Lie",
                 settings_.reaction_order == 2 ? "midpoint" : "Euler", times.size(), fields.size(),
                 double(expected) / 1048576.0);
    check_disk_space(out_dir, expected);
    RunOutput output(out_dir, options.overwrite, scenario_, {options.version, backend_.description()}, fields,
                     problem_.tissue);
    add_label_fields(output, problem_.labels);

    std::vector<std::vector<float>> frame(fields.size());
    auto write_frame = [&] {
      const std::vector<float>* species[] = {&no_, &tnf_, &ifn_, &nrtn_, &eb_};
      std::vector<const float*> pointers;
      std::size_t f = 0;
      for (std::size_t s = 0; s < scenario_.species.size(); ++s, ++f) {
        const int which = species_slot(int(s));
        if (which >= 0) {
          pointers.push_back(species[which]->data());
        } else {
          frame[f].resize(problem_.tissue.size());
          backend_.get_concentration(int(s), frame[f].data());
          pointers.push_back(frame[f].data());
        }
      }
      for (int i = 0; i < kCellStates; ++i, ++f) {
        model_.state_field(i, frame[f]);
        pointers.push_back(frame[f].data());
      }
      model_.mutant_astrocyte_field(frame[f]);
      pointers.push_back(frame[f].data());
      std::vector<double> totals;
      for (std::size_t s = 0; s < scenario_.species.size(); ++s) totals.push_back(backend_.total_amount(int(s)));
      output.write_frame(time_, pointers, totals);
    };

    const double end = scenario_.run.duration_s;
    fire_due_events();
    record_readout("");
    write_frame();
    std::size_t next_output = 1;
    double next_readout = settings_.readout_interval_s;
    while (time_ < end * (1.0 - 1e-12)) {
      double next = std::min(time_ + settings_.slow_step_s, end);
      if (next_output < times.size()) next = std::min(next, times[next_output]);
      next = std::min(next, next_readout);
      for (const Pending& p : pending_)
        if (p.time_s && *p.time_s > time_ + 1.0) next = std::min(next, *p.time_s);
      step(next - time_);
      time_ = next;
      update_milestones();
      fire_due_events();
      if (time_ >= next_readout - 1.0) {
        record_readout("");
        next_readout += settings_.readout_interval_s;
      }
      if (next_output < times.size() && time_ >= times[next_output] - 1e-6) {
        write_frame();
        ++next_output;
      }
      if (options.progress) options.progress(time_, stepper_.total_steps());
    }
    write_tables(output.staging_dir());
    spdlog::info("ALS model: onset {} d, early disease {} d, end stage {} d", json_number(milestone("onset") / kDay),
                 json_number(milestone("early_disease") / kDay), json_number(milestone("end_stage") / kDay));
    if (options.before_commit) options.before_commit(output.staging_dir());
    return {output.commit()};
  }

 private:
  struct Pending {
    ModelEvent event;
    std::optional<double> time_s;  // unknown until its milestone is reached
  };

  // The problem with the model's initial sources and decay, so that the stepper's first
  // quasi-steady solves already see them.
  Problem with_model_inputs(const Problem& problem) {
    Problem p = problem;
    TissueModel::SpeciesInputs in;
    model_.species_inputs(systemic_.at(settings_, 0.0), in);
    add_scenario_sources(index_.no, in.no_source);
    add_scenario_sources(index_.tnf, in.tnf_source);
    add_scenario_sources(index_.ifn, in.ifn_source);
    add_scenario_sources(index_.nrtn, in.nrtn_source);
    auto& no = p.species[std::size_t(index_.no)];
    no.source = in.no_source;
    no.decay = in.no_decay;
    p.species[std::size_t(index_.tnf)].source = in.tnf_source;
    p.species[std::size_t(index_.ifn)].source = in.ifn_source;
    p.species[std::size_t(index_.nrtn)].source = in.nrtn_source;
    p.species[std::size_t(index_.eb)].source.assign(p.tissue.size(), 0.f);
    problem_with_inputs_ = std::move(p);
    return problem_with_inputs_;
  }

  // The scenario's own [[source]] terms (e.g. cytokines given to the tissue) add to the model's.
  void add_scenario_sources(int s, std::vector<float>& source) const {
    const std::vector<float>& extra = problem_.species[std::size_t(s)].source;
    for (std::size_t v = 0; v < source.size(); ++v) source[v] += extra[v];
  }

  int species_slot(int s) const {
    if (s == index_.no) return 0;
    if (s == index_.tnf) return 1;
    if (s == index_.ifn) return 2;
    if (s == index_.nrtn) return 3;
    if (s == index_.eb) return 4;
    return -1;
  }

  void download_fields() {
    backend_.get_concentration(index_.no, no_.data());
    backend_.get_concentration(index_.tnf, tnf_.data());
    backend_.get_concentration(index_.ifn, ifn_.data());
    backend_.get_concentration(index_.nrtn, nrtn_.data());
  }

  // Uploads the sources and decay rates the states imply, then solves / advances the species.
  void transport(const SystemicDrivers& drivers, double h) {
    TissueModel::SpeciesInputs in;
    model_.species_inputs(drivers, in);
    auto upload = [&](int s, const std::vector<float>* decay, std::vector<float>& source) {
      add_scenario_sources(s, source);
      const SpeciesProblem& sp = problem_with_inputs_.species[std::size_t(s)];
      SpeciesCoefficients c = sp.coefficients();
      if (decay) c.decay = decay->data();
      c.source = source.data();
      stepper_.set_coefficients(std::size_t(s), c);
      stepper_.advance_species(std::size_t(s), h);
    };
    upload(index_.no, &in.no_decay, in.no_source);
    upload(index_.tnf, nullptr, in.tnf_source);
    upload(index_.ifn, nullptr, in.ifn_source);
    upload(index_.nrtn, nullptr, in.nrtn_source);
    download_fields();
  }

  // One slow step of length h: Strang (½ states, species, ½ states) or Lie (states, species).
  void step(double h) {
    const SystemicDrivers drivers = systemic_.average_and_advance(settings_, time_, h);
    if (settings_.strang) {
      model_.advance(no_, tnf_, ifn_, nrtn_, drivers, 0.5 * h);
      transport(drivers, h);
      model_.advance(no_, tnf_, ifn_, nrtn_, drivers, 0.5 * h);
    } else {
      model_.advance(no_, tnf_, ifn_, nrtn_, drivers, h);
      transport(drivers, h);
    }
  }

  double milestone(const std::string& name) const {
    const auto it = milestones_.find(name);
    return it == milestones_.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
  }

  void update_milestones() {
    const double bbb = locomotor_score(settings_, readouts_.mn_fraction(model_));
    const std::pair<const char*, bool> reached[] = {{"onset", bbb < settings_.onset_score},
                                                    {"early_disease", bbb <= settings_.early_disease_score},
                                                    {"end_stage", bbb <= settings_.end_stage_score}};
    for (const auto& [name, now] : reached) {
      if (!now || milestones_.count(name)) continue;
      milestones_[name] = time_;
      events_csv_ += fmt::format("{:.6g},milestone,{},\n", time_ / kDay, name);
      spdlog::info("t = {:.2f} d: {} (BBB {:.1f})", time_ / kDay, name, bbb);
      for (Pending& p : pending_)
        if (!p.time_s && p.event.after == name) p.time_s = time_ + p.event.delay_s;
    }
  }

  void fire_due_events() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->time_s && *it->time_s <= time_ + 1.0) {
        fire(it->event);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void fire(const ModelEvent& e) {
    using K = ModelEvent::Kind;
    const char* kinds[] = {"cre", "msc", "chir", "evans_blue", "snapshot", "vehicle"};
    events_csv_ += fmt::format("{:.6g},{},{},{}\n", time_ / kDay, kinds[int(e.kind)], e.label, e.where);
    spdlog::info("t = {:.2f} d: event {}{}", time_ / kDay, kinds[int(e.kind)], e.label.empty() ? "" : " '" + e.label + "'");
    switch (e.kind) {
      case K::cre: model_.excise(e); break;
      case K::msc:
        systemic_.plasma_msc += e.dose_cells * (1.0 - settings_.msc_lung_fraction);
        systemic_.lung_msc += e.dose_cells * settings_.msc_lung_fraction;
        break;
      case K::chir: systemic_.chir_until_s = time_ + e.duration_s; break;
      case K::evans_blue: evans_blue_assay(e.label); break;
      case K::snapshot:
      case K::vehicle: break;
    }
    if (!e.label.empty()) record_readout(e.label);
  }

  // The virtual Evans Blue assay: plasma EB for the circulation time, leak PS(B)·(C_p − c/α),
  // then perfusion clears the vessels and the tissue EB is weighed per region. The EB field is
  // read by nothing else, so the assay cannot change the disease state it probes.
  void evans_blue_assay(const std::string& label) {
    const SpeciesProblem& sp = problem_with_inputs_.species[std::size_t(index_.eb)];
    std::vector<float> decay, source;
    model_.evans_blue_inputs(scenario_.species[std::size_t(index_.eb)].decay_per_s, decay, source);
    SpeciesCoefficients c = sp.coefficients();
    c.decay = decay.data();
    c.source = source.data();
    stepper_.set_coefficients(std::size_t(index_.eb), c);
    std::fill(eb_.begin(), eb_.end(), 0.f);
    backend_.set_concentration(index_.eb, eb_.data());
    stepper_.advance_species(std::size_t(index_.eb), settings_.eb_circulation_s);
    backend_.get_concentration(index_.eb, eb_.data());
    const ReadoutRow row = readouts_.evans_blue(eb_);
    if (eb_csv_.empty()) {
      eb_csv_ = "time_d,label";
      for (const auto& [name, value] : row) eb_csv_ += "," + name;
      eb_csv_ += "\n";
    }
    eb_csv_ += fmt::format("{:.6g},{}", time_ / kDay, label);
    for (const auto& [name, value] : row) eb_csv_ += "," + csv_cell(value);
    eb_csv_ += "\n";
    for (const auto& [name, value] : row) {
      last_eb_[name] = value;
      if (!label.empty()) summary_.emplace_back(label + "_" + name, value);
    }
    spdlog::info("t = {:.2f} d: Evans Blue assay: gray {:.3g} ug/g, white {:.3g} ug/g", time_ / kDay,
                 row[0].second, row[1].second);
  }

  void record_readout(const std::string& label) {
    const ReadoutRow row = readouts_.measure(time_, model_, systemic_, no_, tnf_, ifn_, nrtn_);
    if (readouts_csv_.empty()) {
      readouts_csv_ = "label";
      for (const auto& [name, value] : row) readouts_csv_ += "," + name;
      readouts_csv_ += "\n";
    }
    readouts_csv_ += label;
    for (const auto& [name, value] : row) readouts_csv_ += "," + csv_cell(value);
    readouts_csv_ += "\n";
    if (!label.empty())
      for (const auto& [name, value] : row) summary_.emplace_back(label + "_" + name, value);
  }

  void write_tables(const std::filesystem::path& dir) const {
    auto write = [&](const char* name, const std::string& text) {
      if (text.empty()) return;
      std::ofstream out(dir / name);
      out << text;
      if (!out) throw std::runtime_error(fmt::format("cannot write {}", (dir / name).string()));
    };
    write("readouts.csv", readouts_csv_);
    write("evans_blue.csv", eb_csv_);
    write("events.csv", "time_d,kind,label,where\n" + events_csv_);
    const double onset = milestone("onset"), early = milestone("early_disease"), end = milestone("end_stage");
    RunSummary summary;
    summary.add("scenario", scenario_.name);
    summary.add("final_time_s", time_);
    summary.add("tissue_voxels", model_.tissue_voxels());
    summary.add("onset_d", onset / kDay);
    summary.add("early_disease_d", early / kDay);
    summary.add("end_stage_d", end / kDay);
    summary.add("disease_duration_d", (end - onset) / kDay);
    summary.add("final_mn_fraction", readouts_.mn_fraction(model_));
    for (const auto& [name, value] : summary_) summary.add(name, value);
    summary.write(dir);
  }

  const Scenario& scenario_;
  const Problem& problem_;
  Backend& backend_;
  const ModelSettings& settings_;
  ModelSpeciesIndex index_;
  TissueModel model_;
  Readouts readouts_;
  Problem problem_with_inputs_;
  Stepper stepper_;
  SystemicState systemic_;
  double time_ = 0.0;
  std::vector<float> no_, tnf_, ifn_, nrtn_, eb_;
  std::vector<Pending> pending_;
  std::map<std::string, double> milestones_;
  std::map<std::string, double> last_eb_;
  std::vector<std::pair<std::string, double>> summary_;
  std::string readouts_csv_, eb_csv_, events_csv_;
};

}  // namespace

AlsRunResult run_als_model(const Scenario& scenario, const Problem& problem, Backend& backend,
                           const AlsRunOptions& options) {
  AlsRun run(scenario, problem, backend);
  return run.run(options);
}

}  // namespace cordsim
