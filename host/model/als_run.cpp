#include "host/model/als_run.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "host/geometry/geometry.hpp"
#include "host/io/checkpoint.hpp"
#include "host/io/run_output.hpp"
#include "host/io/summary.hpp"
#include "host/model/readouts.hpp"
#include "host/model/tissue_model.hpp"
#include "host/solver/field_guard.hpp"
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
    const std::vector<ModelEvent>& events = scenario.model->events;
    for (std::size_t i = 0; i < events.size(); ++i) pending_.push_back({events[i], events[i].time_s, i});
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
    std::optional<std::size_t> resume_frames;
    if (options.resume) {
      resume_frames = load_state(*options.resume);
    } else {
      // Two checkpoints may sit beside the output: the species (in the back end's storage type), the
      // host Evans Blue field (float32), states and inputs (float64).
      check_disk_space(out_dir, expected + 2 * (problem_.tissue.size() * (scenario_.species.size() * sizeof(real) + 4) +
                                                model_.tissue_voxels() * (kCellStates + 7) * 8));
    }
    RunOutput output(out_dir, options.overwrite, scenario_, {options.version, backend_.description()}, fields,
                     problem_.tissue, resume_frames);
    add_label_fields(output, problem_.labels);
    FieldGuard guard(scenario_, problem_.tissue);

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
    if (!options.resume) {
      fire_due_events();
      record_readout("");
      write_frame();
      next_output_ = 1;
      next_readout_ = settings_.readout_interval_s;
    }
    while (time_ < end * (1.0 - 1e-12)) {
      double next = std::min(time_ + settings_.slow_step_s, end);
      if (next_output_ < times.size()) next = std::min(next, times[next_output_]);
      next = std::min(next, next_readout_);
      for (const Pending& p : pending_)
        if (p.time_s && *p.time_s > time_ + 1.0) next = std::min(next, *p.time_s);
      step(next - time_);
      time_ = next;
      for (std::size_t s : {index_.no, index_.tnf, index_.ifn, index_.nrtn, index_.eb})
        guard.check(s, species_field(int(s)).data(), time_);
      update_milestones();
      fire_due_events();
      if (time_ >= next_readout_ - 1.0) {
        record_readout("");
        next_readout_ += settings_.readout_interval_s;
      }
      if (next_output_ < times.size() && time_ >= times[next_output_] - 1e-6) {
        write_frame();
        ++next_output_;
      }
      if (options.progress) options.progress(time_, stepper_.total_steps());
      Checkpoints* checkpoints = options.checkpoints;
      if (checkpoints && time_ < end * (1.0 - 1e-12) && checkpoints->due_at(time_)) {
        std::vector<std::string> names;
        for (const SpeciesSpec& sp : scenario_.species) names.push_back(sp.name);
        checkpoints->write(
            time_, output, names,
            [&](std::size_t s, std::vector<real>& buffer) { backend_.get_concentration(int(s), buffer.data()); },
            [&](CheckpointWriter& w) { save_state(w); });
        if (checkpoints->stop_after(time_)) {
          output.suspend();
          return {{}, true};
        }
      }
    }
    write_tables(output.staging_dir());
    // The same tables inside cordsim.h5 (/readouts/<table>/<column>), for users who read HDF5 only.
    add_csv_table(output, "readouts", readouts_csv_);
    add_csv_table(output, "evans_blue", eb_csv_);
    spdlog::info("ALS model: onset {} d, early disease {} d, end stage {} d", json_number(milestone("onset") / kDay),
                 json_number(milestone("early_disease") / kDay), json_number(milestone("end_stage") / kDay));
    if (options.before_commit) options.before_commit(output.staging_dir());
    return {output.commit()};
  }

  // The model's part of a checkpoint (the species fields are written beside it from the back
  // end): everything the run loop reads that is not rebuilt from the scenario, in full precision.
  void save_state(CheckpointWriter& w) const {
    const std::size_t n = model_.tissue_voxels();
    std::vector<double> states, inputs;
    states.reserve(n * kCellStates);
    inputs.reserve(n * 7);
    for (std::size_t i = 0; i < n; ++i) {
      const CellState& c = model_.state(i);
      for (double x : {c.motor_neurons, c.stress, c.microglia, c.astrocytes, c.barrier, c.adhesion, c.msc, c.wnt})
        states.push_back(x);
      const VoxelInputs& v = model_.inputs(i);
      for (double x : {v.motor_neurons_initial, v.microglia_baseline, v.astrocytes, v.capillary_surface,
                       v.sod1_motor_neurons, v.sod1_astrocytes, v.sod1_microglia})
        inputs.push_back(x);
    }
    w.doubles("state/als/cell_states", states);
    w.doubles("state/als/voxel_inputs", inputs);
    w.field("state/als/eb_host", eb_);
    w.scalar("state/als/time_s", time_);
    w.integer("state/als/stencil_sweeps", stepper_.total_steps());
    w.integer("state/als/next_output", std::int64_t(next_output_));
    w.scalar("state/als/next_readout_s", next_readout_);
    w.doubles("state/als/systemic", {systemic_.plasma_msc, systemic_.lung_msc, systemic_.chir_until_s});
    // Pending events by their index in the scenario, with the time resolved so far (NaN: waits
    // for its milestone).
    std::vector<std::int64_t> pending;
    std::vector<double> pending_times;
    for (const Pending& p : pending_) {
      pending.push_back(std::int64_t(p.index));
      pending_times.push_back(p.time_s ? *p.time_s : std::numeric_limits<double>::quiet_NaN());
    }
    w.integers("state/als/pending_events", pending);
    w.doubles("state/als/pending_times_s", pending_times);
    auto save_map = [&](const std::string& name, const std::map<std::string, double>& map) {
      std::vector<std::string> keys;
      std::vector<double> values;
      for (const auto& [key, value] : map) {
        keys.push_back(key);
        values.push_back(value);
      }
      w.texts(name + "_names", keys);
      w.doubles(name + "_values", values);
    };
    save_map("state/als/milestones", milestones_);
    save_map("state/als/last_evans_blue", last_eb_);
    std::vector<std::string> keys;
    std::vector<double> values;
    for (const auto& [key, value] : summary_) {
      keys.push_back(key);
      values.push_back(value);
    }
    w.texts("state/als/summary_names", keys);
    w.doubles("state/als/summary_values", values);
    w.text("state/als/readouts_csv", readouts_csv_);
    w.text("state/als/evans_blue_csv", eb_csv_);
    w.text("state/als/events_csv", events_csv_);
  }

  // Puts a checkpoint's state back (the back end's fields included); returns the frames its output
  // had. Throws InputError when it does not fit this scenario.
  std::size_t load_state(const CheckpointReader& r) {
    const auto fail = [&](const std::string& what) {
      return InputError(fmt::format("--resume: checkpoint '{}' does not fit the scenario: {}", r.path().string(), what));
    };
    const std::size_t cells = problem_.tissue.size();
    for (std::size_t s = 0; s < scenario_.species.size(); ++s)
      backend_.set_concentration(int(s), r.field<real>("fields/" + scenario_.species[s].name, cells).data());
    download_fields();
    eb_ = r.field("state/als/eb_host", cells);
    const std::size_t n = model_.tissue_voxels();
    const std::vector<double> states = r.doubles("state/als/cell_states");
    const std::vector<double> inputs = r.doubles("state/als/voxel_inputs");
    if (states.size() != n * kCellStates || inputs.size() != n * 7) throw fail("tissue voxel count differs");
    for (std::size_t i = 0; i < n; ++i) {
      const double* c = &states[i * kCellStates];
      model_.states()[i] = CellState{c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
      const double* v = &inputs[i * 7];
      model_.inputs(i) = VoxelInputs{v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
    }
    time_ = r.scalar("state/als/time_s");
    Stepper::State stepper = stepper_.state();
    stepper.total_steps = long(r.integer("state/als/stencil_sweeps"));
    stepper_.restore(stepper);
    next_output_ = std::size_t(r.integer("state/als/next_output"));
    next_readout_ = r.scalar("state/als/next_readout_s");
    const std::vector<double> systemic = r.doubles("state/als/systemic");
    if (systemic.size() != 3) throw fail("systemic pools");
    systemic_.plasma_msc = systemic[0];
    systemic_.lung_msc = systemic[1];
    systemic_.chir_until_s = systemic[2];
    const auto pending = r.integers("state/als/pending_events");
    const auto pending_times = r.doubles("state/als/pending_times_s");
    const auto& events = scenario_.model->events;
    if (pending_times.size() != pending.size()) throw fail("pending events");
    pending_.clear();
    for (std::size_t i = 0; i < pending.size(); ++i) {
      if (pending[i] < 0 || std::size_t(pending[i]) >= events.size()) throw fail("pending events");
      const std::size_t index = std::size_t(pending[i]);
      pending_.push_back({events[index],
                          std::isnan(pending_times[i]) ? std::nullopt : std::optional<double>(pending_times[i]),
                          index});
    }
    auto load_map = [&](const std::string& name, std::map<std::string, double>& map) {
      const auto keys = r.texts(name + "_names");
      const auto values = r.doubles(name + "_values");
      if (keys.size() != values.size()) throw fail(name);
      map.clear();
      for (std::size_t i = 0; i < keys.size(); ++i) map[keys[i]] = values[i];
    };
    load_map("state/als/milestones", milestones_);
    load_map("state/als/last_evans_blue", last_eb_);
    const auto keys = r.texts("state/als/summary_names");
    const auto values = r.doubles("state/als/summary_values");
    if (keys.size() != values.size()) throw fail("summary");
    summary_.clear();
    for (std::size_t i = 0; i < keys.size(); ++i) summary_.emplace_back(keys[i], values[i]);
    readouts_csv_ = r.text("state/als/readouts_csv");
    eb_csv_ = r.text("state/als/evans_blue_csv");
    events_csv_ = r.text("state/als/events_csv");
    const std::int64_t frames = r.header().frames;
    if (frames < 1 || std::size_t(frames) != next_output_) throw fail("output frames");
    return std::size_t(frames);
  }

 private:
  struct Pending {
    ModelEvent event;
    std::optional<double> time_s;  // unknown until its milestone is reached
    std::size_t index = 0;         // in the scenario's events (for a checkpoint)
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

  // The host copy of a model species' field (the five the model drives).
  const std::vector<float>& species_field(int s) const {
    const std::vector<float>* fields[] = {&no_, &tnf_, &ifn_, &nrtn_, &eb_};
    return *fields[species_slot(s)];
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

  // A CSV text (header + rows) as an HDF5 table; text cells (the event labels) are left out.
  static void add_csv_table(RunOutput& output, const std::string& name, const std::string& csv) {
    if (csv.empty()) return;
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line);
    std::vector<std::string> columns;
    std::stringstream header(line);
    for (std::string cell; std::getline(header, cell, ',');) columns.push_back(cell);
    std::vector<std::vector<double>> rows;
    while (std::getline(in, line)) {
      std::vector<double> row;
      std::stringstream cells(line);
      for (std::string cell; std::getline(cells, cell, ',');) {
        char* end = nullptr;
        const double value = std::strtod(cell.c_str(), &end);
        row.push_back(cell.empty() || *end != '\0' ? std::nan("") : value);
      }
      rows.push_back(row);
    }
    std::vector<std::string> kept;
    std::vector<std::size_t> index;
    for (std::size_t c = 0; c < columns.size(); ++c)
      if (columns[c] != "label") {
        kept.push_back(columns[c]);
        index.push_back(c);
      }
    std::vector<std::vector<double>> numeric;
    for (const auto& row : rows) {
      std::vector<double> r;
      for (std::size_t c : index) r.push_back(c < row.size() ? row[c] : std::nan(""));
      numeric.push_back(r);
    }
    output.add_table(name, kept, numeric);
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
  std::size_t next_output_ = 1;  // the next output frame's index into output_times
  double next_readout_ = 0.0;
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
