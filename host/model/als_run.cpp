#include "host/model/als_run.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <cmath>
#include <cstdlib>
#include <exception>
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
#include "host/parallel/decomposition.hpp"
#include "host/parallel/ranks.hpp"
#include "host/solver/field_guard.hpp"
#include "host/solver/stepper.hpp"

namespace cordsim {
namespace {

constexpr double kDay = 86400.0;

constexpr int kOutputFields = TissueModel::kOutputFields;
const char* kStateNames[kOutputFields] = {"mn_density", "mn_stress", "microglia_activation", "astrocyte_reactivity",
                                          "barrier_integrity", "adhesion", "msc_density", "wnt", "sod1_astrocytes",
                                          "excised_motor_neurons", "excised_microglia"};
const char* kStateUnits[kOutputFields] = {"cells/mm^3", "1", "1", "1", "1", "1", "cells/mm^3", "1", "1", "1", "1"};
const char* kStateLongNames[kOutputFields] = {
    "motor-neuron density (both subpopulations)", "motor-neuron stress H (density-weighted mean)",
    "activated fraction of microglia", "reactive fraction of astrocytes", "blood-spinal-cord barrier integrity B",
    "endothelial adhesion molecules V", "MSC density in tissue", "Wnt/beta-catenin signalling W",
    "mutant-SOD1 level of astrocytes (carriers' share after Cre excision)", "share of MNs Cre has excised",
    "share of microglia Cre has excised"};

std::string json_number(double x) {
  return std::isfinite(x) ? fmt::format("{:.9g}", x) : "null";
}

// A table of readouts as numbers (readouts.csv, evans_blue.csv, and /readouts/<table> in
// cordsim.h5): numeric columns, one text label per row. Text is made only when a file is written.
struct ReadoutTable {
  std::vector<std::string> columns;  // the numeric columns
  std::size_t label_at = 0;          // where the label column goes in the CSV, among the columns
  std::vector<std::string> labels;   // per row
  std::vector<std::vector<double>> rows;

  bool empty() const { return rows.empty(); }
  void add(const std::string& label, std::vector<double> values) {
    labels.push_back(label);
    rows.push_back(std::move(values));
  }
  // The CSV (header and rows; "" when there are no rows). `six_digit_first`: column 0 with 6 digits
  // (the time in evans_blue.csv).
  std::string csv(bool six_digit_first = false) const {
    if (rows.empty()) return "";
    std::string out;
    for (std::size_t c = 0; c <= columns.size(); ++c) {
      if (c) out += ",";
      out += c == label_at ? std::string("label") : columns[c < label_at ? c : c - 1];
    }
    out += "\n";
    for (std::size_t r = 0; r < rows.size(); ++r) {
      for (std::size_t c = 0; c <= columns.size(); ++c) {
        if (c) out += ",";
        if (c == label_at) {
          out += labels[r];
          continue;
        }
        const std::size_t k = c < label_at ? c : c - 1;
        out += six_digit_first && k == 0 ? fmt::format("{:.6g}", rows[r][k]) : csv_cell(rows[r][k]);
      }
      out += "\n";
    }
    return out;
  }
  // Reads csv() back (a checkpoint holds the tables as their CSV text): the numbers are those
  // written (csv_cell writes the shortest text that reads back exactly; an empty cell, a
  // non-finite value, reads as NaN).
  static ReadoutTable parse(const std::string& csv) {
    ReadoutTable t;
    std::istringstream in(csv);
    std::string line;
    if (!std::getline(in, line)) return t;
    std::stringstream header(line);
    std::size_t c = 0;
    for (std::string cell; std::getline(header, cell, ','); ++c) {
      if (cell == "label")
        t.label_at = c;
      else
        t.columns.push_back(cell);
    }
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::stringstream row(line);
      for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
      cells.resize(t.columns.size() + 1);  // a trailing empty cell is not read by getline
      std::vector<double> values;
      for (std::size_t k = 0; k < cells.size(); ++k) {
        if (k == t.label_at) continue;
        char* end = nullptr;
        const double value = std::strtod(cells[k].c_str(), &end);
        values.push_back(cells[k].empty() || *end != '\0' ? std::nan("") : value);
      }
      t.add(cells[t.label_at], std::move(values));
    }
    return t;
  }
  // In cordsim.h5, without the labels; NaN where a value is not finite (an empty CSV cell).
  void add_to(RunOutput& output, const std::string& name) const {
    if (rows.empty()) return;
    std::vector<std::vector<double>> numeric = rows;
    for (auto& row : numeric)
      for (double& x : row)
        if (!std::isfinite(x)) x = std::nan("");
    output.add_table(name, columns, numeric);
  }
};

// The model's run: state, species, schedule, readouts and files.
class AlsRun {
 public:
  AlsRun(const Scenario& scenario, const Problem& problem, Backend& backend, const AlsRunOptions& options)
      : scenario_(scenario),
        problem_(problem),
        local_(options.ranks ? *options.slab : problem),
        backend_(backend),
        settings_(scenario.model->settings),
        index_(model_species_index(scenario)),
        ranks_(options.ranks),
        decomposition_(options.decomposition),
        collective_(options.ranks && options.collective_output),
        plane_(std::size_t(problem.dims.nx) * std::size_t(problem.dims.ny)),
        owned_counts_(per_rank(problem, options.decomposition, plane_, false)),
        tissue_counts_(per_rank(problem, options.decomposition, plane_, true)),
        model_(scenario, problem, model_planes()),
        readouts_(problem, model_),
        stepper_(scenario, with_model_inputs(), backend) {
    const std::size_t n = local_.tissue.size();
    for (auto* f : {&no_, &tnf_, &ifn_, &nrtn_, &eb_, &danger_}) f->assign(n, 0.f);
    download_fields();
    const std::vector<ModelEvent>& events = scenario.model->events;
    for (std::size_t i = 0; i < events.size(); ++i) pending_.push_back({events[i], events[i].time_s, i});
  }

  AlsRunResult run(const AlsRunOptions& options) {
    const std::filesystem::path& out_dir = options.out_dir;
    const bool root = !ranks_ || ranks_->root();
    std::vector<FieldDescription> fields;
    for (const SpeciesSpec& s : scenario_.species) fields.push_back({s.name, "nM", s.name + " concentration"});
    for (int i = 0; i < kOutputFields; ++i) fields.push_back({kStateNames[i], kStateUnits[i], kStateLongNames[i]});
    const std::vector<double> times = output_times(scenario_.run);
    const std::uintmax_t expected = expected_output_bytes(scenario_, fields.size(), times.size(), 3);
    spdlog::info("ALS model: {} tissue voxels, slow step {:.3g} h ({} splitting, exponential {} reactions); output "
                 "{} frames of {} fields, at most {:.1f} MiB{}",
                 model_.global_tissue_voxels(), settings_.slow_step_s / 3600.0, settings_.strang ? "Strang" : "Lie",
                 settings_.reaction_order == 2 ? "midpoint" : "Euler", times.size(), fields.size(),
                 double(expected) / 1048576.0,
                 !ranks_ ? ""
                 : collective_
                     ? "; cordsim.h5 written collectively by all ranks (parallel HDF5)"
                     : "; gathered to rank 0, which writes it");
    std::optional<std::size_t> resume_frames;
    if (options.resume) resume_frames = load_state(*options.resume);

    // The output: as for a transport run (host/cli/run_command.cpp). One rank, or gathered: rank
    // 0 writes every file from fields gathered to it. Collective: every rank writes its planes of
    // cordsim.h5, rank 0 the side files.
    std::unique_ptr<RunOutput> output;
    std::exception_ptr output_failed;
    std::string described = ranks_ ? fmt::format("{} x {}", ranks_->size(), backend_.description())
                                   : backend_.description();
    if (collective_) ranks_->broadcast(described);
    if (root || collective_) {
      try {
        // Two checkpoints may sit beside the output: the species (in the back end's storage
        // type), the host Evans Blue field (float32), states and inputs (float64).
        const std::uintmax_t checkpoint_bytes =
            2 * (problem_.tissue.size() * (scenario_.species.size() * sizeof(real) + 4) +
                 model_.global_tissue_voxels() * (kCellStates + kVoxelInputs) * 8);
        check_disk_space_on_all_ranks(
            out_dir, expected + checkpoint_bytes, root && !options.resume,
            collective_ ? std::function<bool(bool)>([this](bool ok) { return ranks_->all(ok); }) : nullptr);
        const int r = ranks_ ? ranks_->rank() : 0;
        const OutputDecomposition planes{ranks_ ? ranks_->communicator() : 0,
                                         collective_ ? decomposition_->slab(r).z_begin : 0,
                                         collective_ ? decomposition_->slab(r).z_end : 0};
        output = std::make_unique<RunOutput>(out_dir, options.overwrite, scenario_,
                                             RunMetadata{options.version, described}, fields, problem_.tissue,
                                             resume_frames, collective_ ? &planes : nullptr);
        add_label_fields(*output, problem_.labels);
      } catch (...) {
        output_failed = std::current_exception();
      }
    }
    if (ranks_ && !collective_ && !ranks_->all(!output_failed) && !output_failed)
      throw InputError("rank 0 could not create the output directory (see its message)");
    if (output_failed) std::rethrow_exception(output_failed);

    // The guard checks this rank's planes; on a decomposed run the negative bound is the whole
    // field's (a collective), as on one rank.
    std::vector<std::uint8_t> owned_tissue;
    if (ranks_) {
      const Slab& mine = decomposition_->slab(ranks_->rank());
      owned_tissue.assign(problem_.tissue.begin() + std::ptrdiff_t(std::size_t(mine.z_begin) * plane_),
                          problem_.tissue.begin() + std::ptrdiff_t(std::size_t(mine.z_end) * plane_));
    }
    RankGroup* ranks = ranks_;
    FieldGuard guard(scenario_, ranks_ ? owned_tissue : problem_.tissue,
                     ranks_ ? std::size_t(decomposition_->slab(ranks_->rank()).z_begin) * plane_ : 0,
                     ranks_ ? std::function<double(double)>([ranks](double v) { return ranks->exchange().max(v); })
                            : nullptr);

    std::vector<std::vector<float>> frame(fields.size());
    // The fields gathered to rank 0 (gathered output on a decomposed run).
    std::vector<std::vector<float>> whole(ranks_ && !collective_ ? fields.size() : 0);
    if (root)
      for (auto& w : whole) w.resize(problem_.tissue.size());
    auto write_frame = [&] {
      const std::vector<float>* species[] = {&no_, &tnf_, &ifn_, &nrtn_, &eb_, &danger_};
      std::vector<const float*> pointers;
      std::size_t f = 0;
      for (std::size_t s = 0; s < scenario_.species.size(); ++s, ++f) {
        const int which = species_slot(int(s));
        if (which >= 0) {
          pointers.push_back(species[which]->data());
        } else {
          frame[f].resize(local_.tissue.size());
          backend_.get_concentration(int(s), frame[f].data());
          pointers.push_back(frame[f].data());
        }
      }
      for (int i = 0; i < kOutputFields; ++i, ++f) {
        model_.output_field(i, frame[f]);
        pointers.push_back(frame[f].data());
      }
      std::vector<double> totals;
      for (std::size_t s = 0; s < scenario_.species.size(); ++s) totals.push_back(backend_.total_amount(int(s)));
      if (ranks_) {
        // This rank's own planes, written by it (collective) or gathered to rank 0.
        for (std::size_t k = 0; k < pointers.size(); ++k) {
          const float* mine = pointers[k] + ghost_offset();
          if (collective_) {
            pointers[k] = mine;
          } else {
            ranks_->gather(mine, owned_counts_[std::size_t(ranks_->rank())], root ? whole[k].data() : nullptr,
                           owned_counts_);
            pointers[k] = root ? whole[k].data() : nullptr;
          }
        }
      }
      if (output) output->write_frame(time_, pointers, totals);
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
      for (std::size_t s : {index_.no, index_.tnf, index_.ifn, index_.nrtn, index_.eb, index_.danger})
        guard.check(s, species_field(int(s)).data() + ghost_offset(), time_);
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
        write_checkpoint(*checkpoints, output.get());
        if (checkpoints->stop_after(time_)) {
          if (output) output->suspend();
          return {{}, true};
        }
      }
    }
    if (output) {
      // The same tables inside cordsim.h5 (/readouts/<table>/<column>), for users who read HDF5
      // only (with collective output every rank creates them alike).
      readout_table_.add_to(*output, "readouts");
      eb_table_.add_to(*output, "evans_blue");
    }
    const double final_mn_fraction = readouts_.mn_fraction(model_);  // a collective
    spdlog::info("ALS model: onset {} d, early disease {} d, end stage {} d", json_number(milestone("onset") / kDay),
                 json_number(milestone("early_disease") / kDay), json_number(milestone("end_stage") / kDay));
    if (!root) {
      if (output) output->commit();  // collective output: closing the file is a collective
      return {};
    }
    write_tables(output->staging_dir(), final_mn_fraction);
    if (options.before_commit) options.before_commit(output->staging_dir());
    return {output->commit()};
  }

  // Writes a checkpoint (rank 0) or takes part in its gathers (the other ranks of a decomposed
  // run), in the order rank 0 does them: the output's sync (collective output), each species, the
  // model's state.
  void write_checkpoint(Checkpoints& checkpoints, RunOutput* output) {
    std::vector<std::string> names;
    for (const SpeciesSpec& sp : scenario_.species) names.push_back(sp.name);
    if (ranks_ && !ranks_->root()) {
      if (output) output->sync();
      for (std::size_t s = 0; s < names.size(); ++s) fetch(s, nullptr);
      save_state(nullptr);
      checkpoints.written_elsewhere(time_);
      return;
    }
    checkpoints.write(
        time_, *output, names, [&](std::size_t s, std::vector<real>& buffer) { fetch(s, buffer.data()); },
        [&](CheckpointWriter& w) { save_state(&w); });
  }

  // Species s's whole field: downloaded, or on a decomposed run gathered to rank 0 (`whole` may be
  // null on the others).
  void fetch(std::size_t s, real* whole) {
    if (!ranks_) {
      backend_.get_concentration(int(s), whole);
      return;
    }
    slab_real_.resize(local_.tissue.size());
    backend_.get_concentration(int(s), slab_real_.data());
    ranks_->gather(slab_real_.data() + ghost_offset(), owned_counts_[std::size_t(ranks_->rank())], whole,
                   owned_counts_);
  }

  // The model's part of a checkpoint (the species fields are written beside it from the back
  // end): everything the run loop reads that is not rebuilt from the scenario, in full precision.
  // On a decomposed run the cell states, voxel inputs and host Evans Blue field are gathered to
  // rank 0 (w non-null there only), so the file holds the whole grid in the one-rank layout.
  void save_state(CheckpointWriter* writer) const {
    const std::size_t n = model_.tissue_voxels();
    std::vector<double> states, inputs;
    states.reserve(n * kCellStates);
    inputs.reserve(n * kVoxelInputs);
    for (std::size_t i = 0; i < n; ++i) {
      CellState c = model_.state(i);
      for (int k = 0; k < kCellStates; ++k) states.push_back(state_at(c, k));
      const VoxelInputs& v = model_.inputs(i);
      for (double x : {v.motor_neurons_initial, v.microglia_baseline, v.astrocytes, v.capillary_surface,
                       v.excised_motor_neurons, v.excised_astrocytes, v.excised_microglia})
        inputs.push_back(x);
    }
    static_assert(kVoxelInputs == 7, "save_state writes every VoxelInputs member");
    if (ranks_) {
      const bool root = ranks_->root();
      const std::size_t all = model_.global_tissue_voxels();
      std::vector<double> all_states(root ? all * kCellStates : 0), all_inputs(root ? all * kVoxelInputs : 0);
      std::vector<float> eb(root ? problem_.tissue.size() : 0);
      const auto times = [&](std::size_t k) {
        std::vector<std::size_t> counts;
        for (std::size_t c : tissue_counts_) counts.push_back(c * k);
        return counts;
      };
      ranks_->gather(states.data(), states.size(), root ? all_states.data() : nullptr, times(kCellStates));
      ranks_->gather(inputs.data(), inputs.size(), root ? all_inputs.data() : nullptr, times(kVoxelInputs));
      ranks_->gather(eb_.data() + ghost_offset(), owned_counts_[std::size_t(ranks_->rank())],
                     root ? eb.data() : nullptr, owned_counts_);
      if (!writer) return;
      writer->doubles("state/als/cell_states", all_states);
      writer->doubles("state/als/voxel_inputs", all_inputs);
      writer->field("state/als/eb_host", eb);
    } else {
      writer->doubles("state/als/cell_states", states);
      writer->doubles("state/als/voxel_inputs", inputs);
      writer->field("state/als/eb_host", eb_);
    }
    CheckpointWriter& w = *writer;
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
    w.text("state/als/readouts_csv", readout_table_.csv());
    w.text("state/als/evans_blue_csv", eb_table_.csv(true));
    w.text("state/als/events_csv", events_csv_);
  }

  // Puts a checkpoint's state back (the back end's fields included); returns the frames its output
  // had. Throws InputError when it does not fit this scenario.
  std::size_t load_state(const CheckpointReader& r) {
    const auto fail = [&](const std::string& what) {
      return InputError(fmt::format("--resume: checkpoint '{}' does not fit the scenario: {}", r.path().string(), what));
    };
    const std::size_t cells = problem_.tissue.size();
    // The whole grid's fields; a decomposed run's rank reads its planes and ghost planes.
    int z0 = 0, z1 = 0;
    if (ranks_) {
      const int rank = ranks_->rank();
      z0 = decomposition_->slab(rank).z_begin - decomposition_->ghost_below(rank);
      z1 = decomposition_->slab(rank).z_end + decomposition_->ghost_above(rank);
    }
    for (std::size_t s = 0; s < scenario_.species.size(); ++s) {
      const std::string name = "fields/" + scenario_.species[s].name;
      backend_.set_concentration(int(s), (ranks_ ? r.field_planes<real>(name, scenario_.grid.shape, z0, z1)
                                                 : r.field<real>(name, cells))
                                             .data());
    }
    download_fields();
    eb_ = ranks_ ? r.field_planes<float>("state/als/eb_host", scenario_.grid.shape, z0, z1)
                 : r.field("state/als/eb_host", cells);
    // The states and inputs of this rank's tissue voxels (all on one rank): in the file they are
    // in global tissue-voxel order.
    const std::size_t n = model_.tissue_voxels(), first = model_.first_tissue_voxel(),
                      all = model_.global_tissue_voxels();
    // (A checkpoint of another tissue voxel count fails here, naming both counts.)
    const std::vector<double> states =
        r.doubles("state/als/cell_states", all * kCellStates, first * kCellStates, n * kCellStates);
    const std::vector<double> inputs =
        r.doubles("state/als/voxel_inputs", all * kVoxelInputs, first * kVoxelInputs, n * kVoxelInputs);
    for (std::size_t i = 0; i < n; ++i) {
      for (int k = 0; k < kCellStates; ++k) state_at(model_.states()[i], k) = states[i * kCellStates + std::size_t(k)];
      const double* v = &inputs[i * kVoxelInputs];
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
    readout_table_ = ReadoutTable::parse(r.text("state/als/readouts_csv"));
    eb_table_ = ReadoutTable::parse(r.text("state/als/evans_blue_csv"));
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

  // Per rank of a decomposed run: its owned voxels (planes), or its tissue voxels; for the gathers
  // to rank 0.
  static std::vector<std::size_t> per_rank(const Problem& problem, const Decomposition* decomposition,
                                           std::size_t plane, bool tissue) {
    std::vector<std::size_t> counts;
    if (!decomposition) return counts;
    for (const Slab& sl : decomposition->slabs()) {
      const std::size_t begin = std::size_t(sl.z_begin) * plane, end = std::size_t(sl.z_end) * plane;
      std::size_t n = end - begin;
      if (tissue) n = std::size_t(std::count_if(problem.tissue.begin() + std::ptrdiff_t(begin),
                                               problem.tissue.begin() + std::ptrdiff_t(end),
                                               [](std::uint8_t t) { return t != 0; }));
      counts.push_back(n);
    }
    return counts;
  }

  // This rank's planes for the model (all of them on one rank).
  ModelPlanes model_planes() const {
    ModelPlanes planes;
    if (!ranks_) return planes;
    const int r = ranks_->rank();
    const Slab& mine = decomposition_->slab(r);
    planes.z_begin = mine.z_begin;
    planes.z_end = mine.z_end;
    planes.first_plane = mine.z_begin - decomposition_->ghost_below(r);
    planes.grid_voxels = local_.tissue.size();
    RankGroup* ranks = ranks_;
    planes.running_sum = [ranks](std::vector<double>& acc, const std::function<void(std::vector<double>&)>& add) {
      ranks->running_sum(acc, add);
    };
    return planes;
  }

  // Offset of this rank's first owned voxel in its arrays (the ghost plane below).
  std::size_t ghost_offset() const {
    return ranks_ ? std::size_t(decomposition_->ghost_below(ranks_->rank())) * plane_ : 0;
  }

  // Fills the ghost planes of a per-voxel input array (this rank's arrays) with the neighbours'
  // owned planes, so that the back end gets the whole-grid values there, as slice_planes gives.
  void exchange_ghosts(std::vector<float>& a) const {
    if (!ranks_) return;
    HaloExchange& x = ranks_->exchange();
    const bool below = x.lower(), above = x.upper();
    const std::size_t first = ghost_offset(), owned = owned_counts_[std::size_t(ranks_->rank())];
    float* base = a.data();
    x.start(below ? base + first : nullptr, above ? base + first + owned - plane_ : nullptr, below ? base : nullptr,
            above ? base + first + owned : nullptr, plane_ * sizeof(float));
    x.finish();
  }

  void species_inputs(const SystemicDrivers& drivers, TissueModel::SpeciesInputs& in) const {
    model_.species_inputs(drivers, in);
    for (auto* a : {&in.no_source, &in.no_decay, &in.tnf_source, &in.ifn_source, &in.nrtn_source, &in.danger_source})
      exchange_ghosts(*a);
  }

  // The problem (this rank's slab) with the model's initial sources and decay, so that the
  // stepper's first quasi-steady solves already see them.
  Problem with_model_inputs() {
    Problem p = local_;
    TissueModel::SpeciesInputs& in = inputs_;
    species_inputs(systemic_.at(settings_, 0.0), in);
    add_scenario_sources(index_.no, in.no_source);
    add_scenario_sources(index_.tnf, in.tnf_source);
    add_scenario_sources(index_.ifn, in.ifn_source);
    add_scenario_sources(index_.nrtn, in.nrtn_source);
    add_scenario_sources(index_.danger, in.danger_source);
    auto& no = p.species[std::size_t(index_.no)];
    no.source = in.no_source;
    no.decay = in.no_decay;
    p.species[std::size_t(index_.tnf)].source = in.tnf_source;
    p.species[std::size_t(index_.ifn)].source = in.ifn_source;
    p.species[std::size_t(index_.nrtn)].source = in.nrtn_source;
    p.species[std::size_t(index_.danger)].source = in.danger_source;
    p.species[std::size_t(index_.eb)].source.assign(p.tissue.size(), 0.f);
    problem_with_inputs_ = std::move(p);
    return problem_with_inputs_;
  }

  // The scenario's own [[source]] terms (e.g. cytokines given to the tissue) add to the model's.
  void add_scenario_sources(int s, std::vector<float>& source) const {
    const std::vector<float>& extra = local_.species[std::size_t(s)].source;
    for (std::size_t v = 0; v < source.size(); ++v) source[v] += extra[v];
  }

  // The host copy of a model species' field (the six the model drives).
  const std::vector<float>& species_field(int s) const {
    const std::vector<float>* fields[] = {&no_, &tnf_, &ifn_, &nrtn_, &eb_, &danger_};
    return *fields[species_slot(s)];
  }

  int species_slot(int s) const {
    if (s == index_.no) return 0;
    if (s == index_.tnf) return 1;
    if (s == index_.ifn) return 2;
    if (s == index_.nrtn) return 3;
    if (s == index_.eb) return 4;
    if (s == index_.danger) return 5;
    return -1;
  }

  void download_fields() {
    backend_.get_concentration(index_.no, no_.data());
    backend_.get_concentration(index_.tnf, tnf_.data());
    backend_.get_concentration(index_.ifn, ifn_.data());
    backend_.get_concentration(index_.nrtn, nrtn_.data());
    backend_.get_concentration(index_.danger, danger_.data());
  }

  TissueModel::ModelFields model_fields() const { return {&no_, &tnf_, &ifn_, &nrtn_, &danger_}; }

  // Uploads the sources and decay rates the states imply, then solves / advances the species.
  void transport(const SystemicDrivers& drivers, double h) {
    TissueModel::SpeciesInputs& in = inputs_;  // kept between steps: no reallocation
    species_inputs(drivers, in);
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
    upload(index_.danger, nullptr, in.danger_source);
    download_fields();
  }

  // One slow step of length h: Strang (½ states, species, ½ states) or Lie (states, species).
  void step(double h) {
    const SystemicDrivers drivers = systemic_.average_and_advance(settings_, time_, h);
    if (settings_.strang) {
      model_.advance(model_fields(), drivers, 0.5 * h);
      transport(drivers, h);
      model_.advance(model_fields(), drivers, 0.5 * h);
    } else {
      model_.advance(model_fields(), drivers, h);
      transport(drivers, h);
    }
  }

  double milestone(const std::string& name) const {
    const auto it = milestones_.find(name);
    return it == milestones_.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
  }

  void update_milestones() {
    const Readouts::Survival survived = readouts_.survival(model_);
    const double bbb = locomotor_score(settings_, survived.hindlimb);
    // Each segment's own onset: the first time its MN loss passes the loss that marks onset of
    // the whole animal (onset_loss), so that the spread of the disease along the cord shows.
    const std::vector<CordSegment>& segments = problem_.labels.segments;
    for (std::size_t k = 0; k < segments.size(); ++k) {
      const std::string name = "onset_" + segments[k].name;
      if (!(1.0 - survived.segment[k] >= onset_loss(settings_)) || milestones_.count(name)) continue;
      milestones_[name] = time_;
      events_csv_ += fmt::format("{:.6g},milestone,{},\n", time_ / kDay, name);
    }
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
    exchange_ghosts(decay);
    exchange_ghosts(source);
    SpeciesCoefficients c = sp.coefficients();
    c.decay = decay.data();
    c.source = source.data();
    stepper_.set_coefficients(std::size_t(index_.eb), c);
    std::fill(eb_.begin(), eb_.end(), 0.f);
    backend_.set_concentration(index_.eb, eb_.data());
    stepper_.advance_species(std::size_t(index_.eb), settings_.eb_circulation_s);
    backend_.get_concentration(index_.eb, eb_.data());
    const ReadoutRow row = readouts_.evans_blue(model_, eb_);
    if (eb_table_.columns.empty()) {
      eb_table_.columns = {"time_d"};
      eb_table_.label_at = 1;
      for (const auto& [name, value] : row) eb_table_.columns.push_back(name);
    }
    // The time as evans_blue.csv shows it (6 digits), in cordsim.h5 too.
    std::vector<double> values = {std::strtod(fmt::format("{:.6g}", time_ / kDay).c_str(), nullptr)};
    for (const auto& [name, value] : row) values.push_back(value);
    eb_table_.add(label, std::move(values));
    for (const auto& [name, value] : row) {
      last_eb_[name] = value;
      if (!label.empty()) summary_.emplace_back(label + "_" + name, value);
    }
    spdlog::info("t = {:.2f} d: Evans Blue assay: gray {:.3g} ug/g, white {:.3g} ug/g", time_ / kDay,
                 row[0].second, row[1].second);
  }

  void record_readout(const std::string& label) {
    const ReadoutRow row = readouts_.measure(time_, model_, systemic_, model_fields());
    if (readout_table_.columns.empty())
      for (const auto& [name, value] : row) readout_table_.columns.push_back(name);
    std::vector<double> values;
    for (const auto& [name, value] : row) values.push_back(value);
    readout_table_.add(label, std::move(values));
    if (!label.empty())
      for (const auto& [name, value] : row) summary_.emplace_back(label + "_" + name, value);
  }

  void write_tables(const std::filesystem::path& dir, double final_mn_fraction) const {
    auto write = [&](const char* name, const std::string& text) {
      if (text.empty()) return;
      std::ofstream out(dir / name);
      out << text;
      if (!out) throw std::runtime_error(fmt::format("cannot write {}", (dir / name).string()));
    };
    write("readouts.csv", readout_table_.csv());
    write("evans_blue.csv", eb_table_.csv(true));
    write("events.csv", "time_d,kind,label,where\n" + events_csv_);
    const double onset = milestone("onset"), early = milestone("early_disease"), end = milestone("end_stage");
    RunSummary summary;
    summary.add("scenario", scenario_.name);
    summary.add("final_time_s", time_);
    summary.add("tissue_voxels", model_.global_tissue_voxels());
    summary.add("onset_d", onset / kDay);
    summary.add("early_disease_d", early / kDay);
    summary.add("end_stage_d", end / kDay);
    summary.add("disease_duration_d", (end - onset) / kDay);
    summary.add("final_mn_fraction", final_mn_fraction);
    for (const CordSegment& segment : problem_.labels.segments)
      summary.add("onset_" + segment.name + "_d", milestone("onset_" + segment.name) / kDay);
    for (const auto& [name, value] : summary_) summary.add(name, value);
    if (ranks_) summary.add("mpi_ranks", long(ranks_->size()));
    summary.write(dir);
  }

  const Scenario& scenario_;
  const Problem& problem_;  // the whole grid (labels, readouts)
  const Problem& local_;    // what the back end holds: this rank's slab with ghost planes, or problem_
  Backend& backend_;
  const ModelSettings& settings_;
  ModelSpeciesIndex index_;
  RankGroup* ranks_ = nullptr;
  const Decomposition* decomposition_ = nullptr;
  bool collective_ = false;
  std::size_t plane_ = 0;
  std::vector<std::size_t> owned_counts_, tissue_counts_;  // per rank: owned voxels, tissue voxels
  std::vector<real> slab_real_;
  TissueModel::SpeciesInputs inputs_;
  TissueModel model_;
  Readouts readouts_;
  Problem problem_with_inputs_;
  Stepper stepper_;
  SystemicState systemic_;
  double time_ = 0.0;
  std::size_t next_output_ = 1;  // the next output frame's index into output_times
  double next_readout_ = 0.0;
  std::vector<float> no_, tnf_, ifn_, nrtn_, eb_, danger_;
  std::vector<Pending> pending_;
  std::map<std::string, double> milestones_;
  std::map<std::string, double> last_eb_;
  std::vector<std::pair<std::string, double>> summary_;
  ReadoutTable readout_table_, eb_table_;
  std::string events_csv_;
};

}  // namespace

AlsRunResult run_als_model(const Scenario& scenario, const Problem& problem, Backend& backend,
                           const AlsRunOptions& options) {
  AlsRun run(scenario, problem, backend, options);
  return run.run(options);
}

}  // namespace cordsim
