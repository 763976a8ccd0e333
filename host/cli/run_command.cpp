// `cordsim run`: scenario → problem → back end → stepper → output, in that order, so that every
// input error is found before anything is written. Under an MPI launcher with more than one rank
// (host/parallel/ranks.hpp) every rank builds the problem, keeps its slab of z-planes
// (host/parallel/decomposition.hpp) and advances it on its own back end; rank 0 gathers the fields
// and writes the output and the checkpoints, which hold the whole grid, so that a run resumes on
// any number of ranks (docs/parallel.md). The ALS model runs the same way: each rank holds the cell
// states of its planes (host/model/als_run.hpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>

#include "cordsim/build_info.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/progress.hpp"
#include "host/config/scenario.hpp"
#include "host/geometry/geometry.hpp"
#include "host/config/units.hpp"
#include "host/io/checkpoint.hpp"
#include "host/io/run_output.hpp"
#include "host/io/stop_signals.hpp"
#include "host/io/summary.hpp"
#include "host/model/als_run.hpp"
#include "host/model/problem.hpp"
#include "host/parallel/decomposition.hpp"
#include "host/parallel/ranks.hpp"
#include "host/solver/field_guard.hpp"
#include "host/solver/stepper.hpp"
#include "kernels/backend.hpp"
#include "kernels/cell/linear_solver.hpp"

namespace cordsim {
static_assert(second_signal_exit_code == exit_interrupted, "host/io/stop_signals.hpp and commands.hpp disagree");
namespace {

// The rank's index among the ranks on its node, as the launcher reports it (0 if none does).
int node_local_rank() {
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* value = std::getenv(v)) return std::atoi(value);
  return 0;
}

// The CUDA device the run will use, or −1 for the CPU back end. Ranks on one node take the node's
// devices in turn, starting at --device.
int chosen_cuda_device(const BackendChoice& choice, bool decomposed) {
  if (choice.kind == "cpu") return -1;
  if (choice.kind == "cuda") {
    if (!cuda_backend_built())
      throw InputError("--backend cuda: this cordsim was built without the CUDA back end");
    if (cuda_device_count() == 0) throw InputError("--backend cuda: no CUDA device is available");
  }
  const int count = cuda_device_count();
  if (count == 0) return -1;
  return decomposed ? (choice.device + node_local_rank()) % count : choice.device;
}

std::unique_ptr<Backend> select_backend(const BackendChoice& choice, int cuda_device) {
  if (cuda_device >= 0) return make_cuda_backend(cuda_device);
  if (choice.kind != "cpu")
    spdlog::info("no CUDA device found{}; using the CPU back end",
                 cuda_backend_built() ? "" : " (CUDA back end not built)");
  return make_cpu_backend(choice.threads);
}

// A failure of one rank's own check (its memory, say) stops every rank with an InputError; the
// rank that failed says why (only rank 0 prints the InputError a run ends with).
void agree_on_check(RankGroup* ranks, const std::function<void()>& check) {
  std::exception_ptr failed;
  try {
    check();
  } catch (const InputError& e) {
    if (!ranks) throw;
    if (!ranks->root()) std::fprintf(stderr, "cordsim: error on rank %d: %s\n", ranks->rank(), e.what());
    failed = std::current_exception();
  }
  if (!ranks) return;
  if (!ranks->all(!failed) && !failed) throw InputError("another rank refused the run (see its message)");
  if (failed) std::rethrow_exception(failed);
}

// Refuses a run whose arrays would not fit in the memory available now (README, "Bad input"):
// the back end's bytes per voxel (scenario_backend_bytes_per_voxel) and the host's
// (scenario_host_bytes_per_voxel) against MemAvailable, or with the CUDA back end the back end's
// against the device's free memory; both capped by CORDSIM_MEMORY_LIMIT_BYTES. A decomposed rank
// needs its share of the species' arrays and the whole mask and labels. An ALS model run holds
// more (its cell states): the estimate is a lower bound there.
void check_run_memory(const Scenario& s, RankGroup* ranks, int cuda_device) {
  const GridSpec& g = s.grid;
  const std::uint64_t voxels = std::uint64_t(g.shape[0]) * std::uint64_t(g.shape[1]) * std::uint64_t(g.shape[2]);
  const double share = ranks ? 1.0 / double(ranks->size()) : 1.0;
  const double whole = 1.0 + (s.geometry ? 2.0 : 0.0);  // mask and labels, on every rank
  const double host = whole + (scenario_host_bytes_per_voxel(s) - whole) * share;
  const double backend = double(scenario_backend_bytes_per_voxel(s)) * share;
  const std::string what = fmt::format("scenario '{}' ({} x {} x {} voxels, {} species{}{})", s.name, g.shape[0],
                                       g.shape[1], g.shape[2], s.species.size(),
                                       s.model ? "; the ALS cell states not counted" : "",
                                       ranks ? fmt::format("; this rank's share of {} ranks", ranks->size()) : "");
  const auto advice = [](const std::string& also) {
    return "choose a coarser grid (grid.spacing with a smaller grid.shape, or a larger geometry.voxel), fewer "
           "species" + also + " or more MPI ranks (docs/parallel.md); `cordsim validate` prints the estimate";
  };
  if (cuda_device < 0) {
    check_memory(voxels, host + backend,
                 fmt::format("{} on the CPU back end ({:.0f} bytes per voxel: back end {:.0f} + host {:.0f})", what,
                             host + backend, backend, host),
                 advice(","));
    return;
  }
  check_memory(voxels, host, fmt::format("{}: its host arrays ({:.0f} bytes per voxel)", what, host),
               advice(","));
  const std::optional<std::uint64_t> cap = memory_limit_from_environment();
  const std::uint64_t device_free = std::min(cuda_device_free_bytes(cuda_device), cap.value_or(UINT64_MAX));
  const double needed = double(voxels) * backend;
  if (needed > double(device_free)) {
    throw InputError(fmt::format(
        "{} needs {:.2f} GiB on CUDA device {} ({} voxels x {:.0f} bytes) but only {:.2f} GiB of it is free "
        "(cudaMemGetInfo{}); {}",
        what, needed / double(1ull << 30), cuda_device, voxels, backend, double(device_free) / double(1ull << 30),
        cap && *cap == device_free ? fmt::format(", capped by CORDSIM_MEMORY_LIMIT_BYTES={}", *cap) : "",
        advice(", --backend cpu")));
  }
}

// The species written to the field files: output.fields, all by default.
std::size_t written_field_count(const Scenario& s) {
  if (s.output.fields.empty()) return s.species.size();
  return s.output.fields.size();
}

// The disk space the run's output and two checkpoints may take (for an ALS model run a lower
// bound: its cell-state fields come on top, and als_run checks them again before writing).
std::uintmax_t expected_run_bytes(const Scenario& s, std::size_t frames) {
  const std::uintmax_t output = expected_output_bytes(s, s.model ? s.species.size() : written_field_count(s), frames,
                                                      s.geometry ? 3 : 1);
  const std::uintmax_t checkpoints = 2 * std::uintmax_t(s.grid.shape[0]) * std::uintmax_t(s.grid.shape[1]) *
                                     std::uintmax_t(s.grid.shape[2]) * s.species.size() * sizeof(real);
  return output > std::numeric_limits<std::uintmax_t>::max() - checkpoints ? std::numeric_limits<std::uintmax_t>::max()
                                                                            : output + checkpoints;
}

void log_setup(const Scenario& s, const Problem& p, const Stepper& stepper) {
  const auto& g = s.grid;
  const double voxels = double(p.dims.size());
  spdlog::info("scenario '{}' ({})", s.name, s.file);
  spdlog::info("grid {} x {} x {} voxels of {} x {} x {} um, origin ({}, {}, {}) um; {} tissue voxels ({:.1f}%)",
               g.shape[0], g.shape[1], g.shape[2], g.spacing_um[0], g.spacing_um[1], g.spacing_um[2],
               g.origin_um[0], g.origin_um[1], g.origin_um[2], p.tissue_voxels(),
               100.0 * double(p.tissue_voxels()) / voxels);
  const std::size_t bytes_per_voxel = scenario_backend_bytes_per_voxel(s);
  spdlog::info("back-end memory {:.1f} MiB ({} bytes/voxel)", voxels * double(bytes_per_voxel) / (1 << 20),
               bytes_per_voxel);
  for (std::size_t i = 0; i < s.species.size(); ++i) {
    const SpeciesSpec& sp = s.species[i];
    const SpeciesStepInfo& info = stepper.species_info()[i];
    const double lambda = sp.decay_per_s > 0 ? std::sqrt(sp.diffusivity_um2_per_s / sp.decay_per_s) : INFINITY;
    const bool rkl2 = info.integrator == SpeciesSpec::Integrator::rkl2;
    if (sp.implicit()) {
      const bool steady = info.integrator == SpeciesSpec::Integrator::quasi_steady;
      spdlog::info("species {}: D = {} um^2/s (axial {}), k = {} 1/s, lambda = sqrt(D/k) = {:.4g} um; {}; "
                   "{}-preconditioned CG to relative residual {:.3g} (at most {} iterations)",
                   sp.name, sp.diffusivity_um2_per_s, sp.diffusivity_axial_um2_per_s, sp.decay_per_s, lambda,
                   steady ? std::string("quasi-steady (solved at every output time)")
                          : fmt::format("{} step {:.4g} s, {} steps per output interval",
                                        info.integrator == SpeciesSpec::Integrator::backward_euler
                                            ? "backward-Euler"
                                            : "Crank-Nicolson",
                                        info.step_s, info.steps_per_interval),
                   sp.solver.preconditioner == SpeciesSpec::Solver::Preconditioner::jacobi ? "Jacobi" : "multigrid",
                   sp.solver.tolerance, sp.solver.max_iterations);
      continue;
    }
    spdlog::info("species {}: D = {} um^2/s (axial {}), k = {} 1/s, lambda = sqrt(D/k) = {:.4g} um; "
                 "stability limit {:.4g} s; {} step {:.4g} s{}, {} steps per output interval",
                 sp.name, sp.diffusivity_um2_per_s, sp.diffusivity_axial_um2_per_s, sp.decay_per_s, lambda,
                 info.stability_limit_s, rkl2 ? "RKL2 super-" : "forward-Euler", info.step_s,
                 rkl2 ? fmt::format(" of {} stages", info.stages) : std::string(), info.steps_per_interval);
  }
}

// summary.json: what a sweep's --collect tabulates. Model readouts are added with one line each
// in run() (summary.add("onset_day", ...)). The final fields are downloaded once more here, since
// output.fields may leave species out of the frames.
// `peak(species)` is the species' largest tissue value (−∞ without tissue; a collective on a
// decomposed run).
RunSummary run_summary(const Scenario& s, const Problem& p, const Stepper& stepper, const Backend& backend,
                       const std::function<float(std::size_t)>& peak, double wall_s) {
  RunSummary summary;
  summary.add("scenario", s.name);
  summary.add("final_time_s", stepper.time());
  summary.add("wall_time_s", wall_s);
  summary.add("stencil_sweeps", stepper.total_steps());
  summary.add("tissue_voxels", p.tissue_voxels());
  for (std::size_t i = 0; i < p.species.size(); ++i) {
    const float largest = peak(i);  // −∞ stays so (null in JSON)
    summary.add("total_" + p.species[i].name + "_ymol", backend.total_amount(int(i)));
    summary.add("max_" + p.species[i].name + "_nM", double(largest));
  }
  return summary;
}

// The run's checkpoint schedule: run.checkpoint_interval, --checkpoint-every, --stop-at.
CheckpointSettings checkpoint_settings(const Scenario& scenario, const RunOptions& options) {
  CheckpointSettings settings;
  settings.interval_s = scenario.run.checkpoint_interval_s;
  if (options.checkpoint_every_s < 0.0) throw InputError("--checkpoint-every: must be >= 0 seconds");
  settings.wall_every_s = options.checkpoint_every_s;
  if (!options.stop_at.empty()) {
    Quantity q;
    try {
      q = parse_quantity(options.stop_at);
    } catch (const std::invalid_argument& e) {
      throw InputError(fmt::format("--stop-at {}: {}", options.stop_at, e.what()));
    }
    if (q.dimension != dim::time || !(q.value > 0.0))
      throw InputError(fmt::format("--stop-at {}: expected a positive time, e.g. \"30 d\" or \"90 s\"", options.stop_at));
    settings.stop_at_s = q.value;
  }
  return settings;
}

// --resume DIR (or a sweep row's own OUT.partial): the newest checkpoint, checked against the
// scenario, and the output directory it belongs to. Throws InputError.
std::optional<CheckpointReader> find_checkpoint(const RunOptions& options, const Scenario& scenario,
                                                std::filesystem::path& out_dir) {
  namespace fs = std::filesystem;
  const std::string kind = scenario.model ? "als" : "transport";
  if (options.resume_dir.empty()) {
    if (!options.resume_if_checkpointed) return std::nullopt;
    const fs::path staging = staging_dir_for(out_dir);
    if (checkpoint_files(staging).empty()) return std::nullopt;
    std::optional<CheckpointReader> checkpoint = open_newest_checkpoint(staging);
    if (!checkpoint) return std::nullopt;
    try {
      check_checkpoint_matches(*checkpoint, scenario, kind, build_info::version);
    } catch (const InputError& e) {
      if (!options.overwrite) throw;
      spdlog::warn("{}; --overwrite: starting the run again", e.what());
      return std::nullopt;
    }
    return checkpoint;
  }
  const ResumeTarget target = resume_target(options.resume_dir);
  if (!options.out_dir.empty() &&
      fs::absolute(resume_target(options.out_dir).out_dir).lexically_normal() !=
          fs::absolute(target.out_dir).lexically_normal()) {
    throw InputError(fmt::format("--out {} and --resume {} name different runs (--resume alone is enough)",
                                 options.out_dir, options.resume_dir));
  }
  out_dir = target.out_dir;
  std::error_code ec;
  if (!fs::is_directory(target.staging, ec)) {
    if (fs::exists(target.out_dir / "cordsim.xdmf", ec)) {
      throw InputError(fmt::format("--resume {}: the run in '{}' has finished; there is nothing to resume",
                                   options.resume_dir, target.out_dir.string()));
    }
    throw InputError(fmt::format("--resume {}: no stopped run there (no directory '{}')", options.resume_dir,
                                 target.staging.string()));
  }
  std::optional<CheckpointReader> checkpoint = open_newest_checkpoint(target.staging);
  if (!checkpoint) {
    throw InputError(fmt::format("--resume {}: '{}' holds no usable checkpoint (the run stopped before its first)",
                                 options.resume_dir, checkpoint_dir(target.staging).string()));
  }
  check_checkpoint_matches(*checkpoint, scenario, kind, build_info::version);
  return checkpoint;
}

// The checkpoint to resume from, if any. On a decomposed run rank 0 finds it and checks it against
// the scenario, and every other rank opens the same file; so OUT.partial must be on a file system
// that every rank sees, as the scenario file is. A failure on any rank stops every rank.
std::optional<CheckpointReader> open_checkpoint(RankGroup* ranks, const RunOptions& options,
                                                const Scenario& scenario, std::filesystem::path& out_dir) {
  if (!ranks) return find_checkpoint(options, scenario, out_dir);
  std::optional<CheckpointReader> checkpoint;
  std::exception_ptr failed;
  std::string path;
  if (ranks->root()) {
    try {
      checkpoint = find_checkpoint(options, scenario, out_dir);
      if (checkpoint) path = checkpoint->path().string();
    } catch (...) {
      failed = std::current_exception();
    }
  }
  if (!ranks->all(!failed)) {
    if (failed) std::rethrow_exception(failed);
    throw InputError("rank 0 could not open the checkpoint (see its message)");
  }
  ranks->broadcast(path);
  std::string dir = out_dir.string();  // --resume DIR names it, as rank 0 found
  ranks->broadcast(dir);
  out_dir = dir;
  if (!ranks->root() && !path.empty()) {
    try {
      checkpoint.emplace(path);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cordsim: error on rank %d: %s\n", ranks->rank(), e.what());
      failed = std::current_exception();
    }
  }
  if (!ranks->all(!failed)) {
    if (failed) std::rethrow_exception(failed);
    throw InputError(fmt::format("the checkpoint '{}' could not be read on every rank (see their messages): "
                                 "OUT.partial must be on a file system that every rank sees",
                                 path));
  }
  return checkpoint;
}

// The run stopped after a checkpoint (a signal or --stop-at): say so and how to go on. On a
// decomposed run every rank gets here at the same step; rank 0, which wrote the checkpoint, speaks.
// The time is given in the run's unit (days for an ALS run).
int stopped(const Checkpoints& checkpoints, RankGroup* ranks, const TimeUnit& unit = {}) {
  if (ranks) {
    ranks->all(true);  // rank 0 has written the checkpoint and closed the output: exit together
    ignore_stop_signals();
    if (!ranks->root()) return exit_checkpointed;
  }
  const int signal = checkpoints.signal();
  std::fflush(stdout);
  std::printf("Stopped at t = %.6g %s (%s); checkpoint %s\n  resume with: %s\n",
              checkpoints.last_time() / unit.seconds, unit.symbol.c_str(), signal ? signal_name(signal) : "--stop-at", checkpoints.last_file().c_str(),
              checkpoints.resume_command().c_str());
  std::fflush(stdout);
  return exit_checkpointed;
}

// Adds where the last checkpoint is to a failure's message (the exception type is kept).
[[noreturn]] void rethrow_with_checkpoint(const Checkpoints& checkpoints) {
  try {
    throw;
  } catch (const InputError& e) {
    if (!checkpoints.any()) throw;
    throw InputError(e.what() + checkpoints.kept_note());
  } catch (const std::exception& e) {
    if (!checkpoints.any()) throw;
    throw std::runtime_error(e.what() + checkpoints.kept_note());
  }
}

int run(const RunOptions& options) {
  namespace fs = std::filesystem;
  const auto began = std::chrono::steady_clock::now();
  RankGroup* ranks = run_ranks();  // null: one rank
  const bool root = !ranks || ranks->root();
  if (!root) spdlog::set_level(spdlog::level::warn);  // rank 0 speaks for the run
  Scenario scenario =
      options.scenario_path.empty()
          ? parse_scenario(build_info::demo_scenario, "<built-in demo>", options.overrides)
          : load_scenario(options.scenario_path, options.overrides);
  fs::path out_dir =
      options.out_dir.empty() ? fs::path(scenario.name + "_out") : fs::path(options.out_dir);
  const CheckpointSettings settings = checkpoint_settings(scenario, options);
  const std::optional<CheckpointReader> checkpoint = open_checkpoint(ranks, options, scenario, out_dir);
  if (checkpoint) {
    const CheckpointHeader& h = checkpoint->header();
    spdlog::info("resuming from {} (t = {:.6g} s, {} frames, written {}{})", checkpoint->path().string(), h.time_s,
                 h.frames, h.written_at,
                 h.ranks > 1 || ranks ? fmt::format(" on {} rank{}", h.ranks, h.ranks > 1 ? "s" : "") : "");
  }
  // On a decomposed run every rank listens: a signal to any of them (or to mpirun, which passes
  // SIGUSR1 on to all) stops them all at the same step (Checkpoints::set_ranks).
  install_stop_signal_handlers();
  resolve_geometry(scenario);
  // Before anything large is allocated or computed: parse_scenario has checked the counts; here the
  // memory and the output's disk space are checked against their estimates (README, "Bad input").
  const int cuda_device = chosen_cuda_device(options.backend, ranks != nullptr);
  agree_on_check(ranks, [&] { check_run_memory(scenario, ranks, cuda_device); });
  const std::vector<double> times = output_times(scenario.run);
  check_disk_space_on_all_ranks(out_dir, expected_run_bytes(scenario, times.size()), root && !checkpoint,
                                ranks ? std::function<bool(bool)>([&](bool ok) { return ranks->all(ok); }) : nullptr);
  // A decomposed run: the whole grid's tissue and labels, and the species' arrays of this rank's
  // slab of planes alone, with a ghost plane on each side that has a neighbour.
  const Problem problem = ranks ? build_problem_grid(scenario) : build_problem(scenario);
  Decomposition decomposition;
  Problem slab_problem;
  bool multigrid = false;
  if (ranks) {
    // With a multigrid-preconditioned species the cuts are aligned so that the V-cycle's coarse
    // levels stay distributed down to a small gathered level (docs/parallel.md, "Multigrid").
    for (const SpeciesSpec& sp : scenario.species)
      multigrid = multigrid ||
                  (sp.implicit() && sp.solver.preconditioner == SpeciesSpec::Solver::Preconditioner::multigrid);
    const int aligned = multigrid ? multigrid_aligned_levels(problem.dims, problem.tissue, ranks->size()) : 0;
    decomposition = Decomposition(problem.dims, problem.tissue, ranks->size(), aligned);
    const int r = ranks->rank();
    const Slab& mine = decomposition.slab(r);
    slab_problem = build_problem_planes(scenario, problem, mine.z_begin - decomposition.ghost_below(r),
                                        mine.z_end + decomposition.ghost_above(r));
  }
  const Problem& local = ranks ? slab_problem : problem;
  // With parallel HDF5, a decomposed run writes cordsim.h5 from every rank (docs/parallel.md);
  // CORDSIM_MPI_COLLECTIVE_OUTPUT=0 keeps the gathered write (e.g. for a file system whose MPI-IO
  // is slow or unreliable, such as NFS).
  // (All ranks must take the same path: a rank that sees the variable decides for all.)
  const char* collective_env = std::getenv("CORDSIM_MPI_COLLECTIVE_OUTPUT");
  const bool collective_output =
      ranks && parallel_output_built() && ranks->all(!(collective_env && std::string(collective_env) == "0"));
  std::unique_ptr<Backend> backend = select_backend(options.backend, cuda_device);
  if (ranks) {
    SlabPlacement placement;
    placement.rank = ranks->rank();
    for (const Slab& sl : decomposition.slabs()) placement.cuts.push_back(sl.z_begin);
    placement.cuts.push_back(problem.dims.nz);
    placement.multigrid_levels = decomposition.aligned_levels();
    backend->set_decomposition(&ranks->exchange(), placement);
  }
  spdlog::info("cordsim {}; back end: {}", build_info::version, backend->description());
  if (ranks) {
    std::string slabs;
    for (const Slab& sl : decomposition.slabs())
      slabs += fmt::format("{}z [{}, {}) {} tissue voxels", slabs.empty() ? "" : "; ", sl.z_begin, sl.z_end,
                           sl.tissue_voxels);
    spdlog::info("{}; slabs along z: {} (imbalance {:.3f})", ranks->description(), slabs, decomposition.imbalance());
  }
  if (ranks && multigrid) {
    const std::vector<GridDims> coarse = multigrid_coarse_dims(problem.dims);
    const int gathered = std::min(decomposition.aligned_levels(), int(coarse.size()));
    const GridDims g = gathered == 0 ? problem.dims : coarse[std::size_t(gathered) - 1];
    if (gathered == 0)
      spdlog::info("multigrid: too few planes per rank to keep coarse levels distributed; the fine residual ({}x{}x{}) "
                   "is gathered to every rank for each V-cycle", g.nx, g.ny, g.nz);
    else
      spdlog::info("multigrid: cuts at multiples of {} planes; levels 0-{} distributed, level {} ({}x{}x{}) gathered "
                   "to every rank",
                   1 << gathered, gathered - 1, gathered, g.nx, g.ny, g.nz);
  }
  if (checkpoint) {
    // "cpu (OpenMP, 2 threads)" vs "cuda (...)": the thread count does not change a CPU result.
    const auto kind_of = [](const std::string& d) { return d.substr(0, d.find(' ')); };
    if (kind_of(checkpoint->header().backend) != kind_of(backend->description()))
      spdlog::warn("the checkpoint was written by the {} back end and the run goes on with {}: the result may differ "
                   "in the last bits from a run that was never stopped",
                   checkpoint->header().backend, backend->description());
  }
  const double start_s = checkpoint ? checkpoint->header().time_s : 0.0;
  const double wall_before = checkpoint ? checkpoint->header().wall_s : 0.0;
  if (scenario.model) {
    Checkpoints checkpoints(settings, scenario, "als", build_info::version, backend->description(), start_s,
                            wall_before);
    if (checkpoint) checkpoints.resumed_from(*checkpoint);
    if (!options.resume_hint.empty()) checkpoints.set_resume_command(options.resume_hint);
    if (ranks) checkpoints.set_ranks(ranks->size(), [ranks](long long v) { return ranks->largest(v); });
    ProgressReporter progress(scenario.run.duration_s, root && ProgressReporter::stdout_is_terminal(),
                              time_unit_of(scenario));
    if (checkpoint) progress.starting_at(start_s, long(checkpoint->integer("state/als/stencil_sweeps")));
    AlsRunOptions als;
    als.out_dir = out_dir;
    als.overwrite = options.overwrite;
    als.version = build_info::version;
    als.progress = [&](double t, long sweeps) { progress.update(t, sweeps); };
    als.before_commit = options.before_commit;
    als.checkpoints = &checkpoints;
    als.resume = checkpoint ? &*checkpoint : nullptr;
    if (ranks) {
      als.ranks = ranks;
      als.decomposition = &decomposition;
      als.slab = &slab_problem;
      als.collective_output = collective_output;
    }
    AlsRunResult result;
    try {
      result = run_als_model(scenario, problem, *backend, als);
    } catch (...) {
      progress.clear();
      rethrow_with_checkpoint(checkpoints);
    }
    progress.clear();
    if (result.stopped) return stopped(checkpoints, ranks, time_unit_of(scenario));
    if (root) announce_paraview_files(result.xdmf, time_unit_of(scenario).symbol);
    return exit_ok;
  }
  // A resumed run's fields come from the checkpoint: the quasi-steady species are not solved first.
  Stepper stepper(scenario, local, *backend, checkpoint ? Stepper::Setup::restore : Stepper::Setup::run);
  log_setup(scenario, problem, stepper);

  // The species written to the field files (output.fields; all by default). Totals cover all.
  std::vector<std::size_t> written;
  std::vector<FieldDescription> fields;
  std::vector<std::string> species_names;
  for (std::size_t s = 0; s < problem.species.size(); ++s) {
    species_names.push_back(problem.species[s].name);
    const auto& wanted = scenario.output.fields;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), problem.species[s].name) == wanted.end()) continue;
    written.push_back(s);
    fields.push_back({problem.species[s].name, "nM", problem.species[s].name + " concentration"});
  }
  // Static grid fields: the tissue mask, and for a cord geometry its labels and segment index.
  const std::uintmax_t expected =
      expected_output_bytes(scenario, written.size(), times.size(), scenario.geometry ? 3 : 1);
  spdlog::info("output: {} frames of {} field(s), {}, HDF5{}{}; at most {:.1f} MiB{}", times.size(), written.size(),
               scenario.output.float64 ? "float64" : "float32",
               scenario.output.compression > 0 ? fmt::format(" (gzip {})", scenario.output.compression) : "",
               scenario.output.vtk ? " + VTK" : "", double(expected) / 1048576.0,
               !ranks ? ""
               : collective_output
                   ? "; cordsim.h5 written collectively by all ranks (parallel HDF5)"
                   : "; gathered to rank 0, which writes it");
  std::optional<std::size_t> resume_frames;
  if (checkpoint) {
    const std::int64_t frames = checkpoint->header().frames;
    if (frames < 1 || std::size_t(frames) > times.size())
      throw InputError(fmt::format("--resume: checkpoint '{}' has {} frames, the run {}", checkpoint->path().string(),
                                   frames, times.size()));
    resume_frames = std::size_t(frames);
  }
  // The whole grid's field of a species: downloaded, or on a decomposed run gathered to rank 0
  // from every rank's owned planes (a collective: every rank calls it).
  const std::size_t plane = std::size_t(problem.dims.nx) * std::size_t(problem.dims.ny);
  // Output frames are float32; checkpoints hold the back end's storage type `real` (float64 in a
  // CORDSIM_DOUBLE build), so the slab buffer of that type exists only where it differs.
  std::vector<float> slab_field(ranks ? std::size_t(local.dims.size()) : 0);
  std::vector<real> slab_real(ranks && !std::is_same_v<real, float> ? std::size_t(local.dims.size()) : 0);
  std::vector<std::size_t> owned_counts;
  for (const Slab& sl : decomposition.slabs()) owned_counts.push_back(std::size_t(sl.planes()) * plane);
  auto fetch = [&](std::size_t s, auto* whole) {
    using T = std::remove_pointer_t<decltype(whole)>;
    if (!ranks) {
      backend->get_concentration(int(s), whole);
      return;
    }
    T* slab = nullptr;
    if constexpr (std::is_same_v<T, float>)
      slab = slab_field.data();
    else
      slab = slab_real.data();
    backend->get_concentration(int(s), slab);
    const int r = ranks->rank();
    ranks->gather(slab + std::size_t(decomposition.ghost_below(r)) * plane, owned_counts[std::size_t(r)], whole,
                  owned_counts);
  };

  // The frames' whole fields on rank 0, when it writes them; with collective output every rank
  // keeps its slab of every species instead, and rank 0 holds whole fields only while it writes a
  // checkpoint (one species at a time) or VTK frames.
  std::vector<std::vector<float>> host(
      problem.species.size(), std::vector<float>(root && !collective_output ? std::size_t(problem.dims.size()) : 0));
  std::vector<std::vector<float>> slabs(collective_output ? problem.species.size() : 0,
                                        std::vector<float>(std::size_t(local.dims.size())));
  const std::size_t ghost_offset = ranks ? std::size_t(decomposition.ghost_below(ranks->rank())) * plane : 0;
  std::vector<const float*> field_ptrs;
  for (std::size_t s : written) field_ptrs.push_back(collective_output ? slabs[s].data() + ghost_offset : host[s].data());
  std::vector<double> totals(problem.species.size());
  SolverLog solver_log(scenario);
  // With collective output each rank checks its own planes; the negative bound is the whole
  // field's, as on one rank.
  std::vector<std::uint8_t> owned_tissue;
  std::size_t first_owned = 0;
  if (collective_output) {
    const Slab& mine = decomposition.slab(ranks->rank());
    first_owned = std::size_t(mine.z_begin) * plane;
    owned_tissue.assign(problem.tissue.begin() + std::ptrdiff_t(first_owned),
                        problem.tissue.begin() + std::ptrdiff_t(std::size_t(mine.z_end) * plane));
  }
  FieldGuard guard(scenario, collective_output ? owned_tissue : problem.tissue, first_owned,
                   collective_output ? std::function<double(double)>([ranks](double v) {
                     return double(ranks->exchange().max(float(v)));  // v is a float's magnitude: exact
                   })
                                     : nullptr);
  ProgressReporter progress(scenario.run.duration_s, root && ProgressReporter::stdout_is_terminal());
  Checkpoints checkpoints(settings, scenario, "transport", build_info::version, backend->description(), start_s,
                          wall_before);
  if (!options.resume_hint.empty()) checkpoints.set_resume_command(options.resume_hint);
  if (ranks) {
    // Every rank asks the same questions at the same steps and gets the same answers.
    checkpoints.set_ranks(ranks->size(), [ranks](long long v) { return ranks->largest(v); });
    stepper.set_chunk_agreement([ranks](long n) { return long(-ranks->largest(-(long long)n)); });
  }
  std::size_t next = 1;  // the output time the run heads for
  if (checkpoint) {
    const CheckpointReader& c = *checkpoint;
    // Each rank takes its own planes and ghost planes from the whole-grid fields, whatever the
    // number of ranks that wrote them.
    for (std::size_t s = 0; s < problem.species.size(); ++s) {
      const std::string name = "fields/" + species_names[s];
      if (!ranks) {
        backend->set_concentration(int(s), c.field<real>(name, std::size_t(problem.dims.size())).data());
        continue;
      }
      const int r = ranks->rank();
      const Slab& mine = decomposition.slab(r);
      backend->set_concentration(int(s), c.field_planes<real>(name, scenario.grid.shape,
                                                               mine.z_begin - decomposition.ghost_below(r),
                                                               mine.z_end + decomposition.ghost_above(r))
                                             .data());
    }
    Stepper::State state;
    state.time_s = c.scalar("state/stepper/time_s");
    state.total_steps = long(c.integer("state/stepper/total_steps"));
    state.interval_s = c.scalar("state/stepper/interval_s");
    state.species = std::size_t(c.integer("state/stepper/species"));
    state.steps_done = long(c.integer("state/stepper/steps_done"));
    const auto iterations = c.integers("state/stepper/last_solve_iterations");
    const auto solves = c.integers("state/stepper/last_solve_solves");
    const auto residual = c.doubles("state/stepper/last_solve_relative_residual");
    const auto converged = c.integers("state/stepper/last_solve_converged");
    if (iterations.size() != problem.species.size() || solves.size() != iterations.size() ||
        residual.size() != iterations.size() || converged.size() != iterations.size())
      throw InputError(fmt::format("--resume: checkpoint '{}' does not fit the scenario's species", c.path().string()));
    for (std::size_t s = 0; s < iterations.size(); ++s)
      state.last_solve.push_back({long(iterations[s]), long(solves[s]), residual[s], converged[s] != 0});
    stepper.restore(state);
    solver_log.restore(c.text("state/solver_log"));
    // The checkpoint was taken at the last frame written, or part-way through the interval after it.
    next = *resume_frames;
    const double at = times[next - 1];
    if (std::abs(state.time_s - at) > 1e-9 * std::max(1.0, at))
      throw InputError(fmt::format("--resume: checkpoint '{}' is at t = {} s, but its frame {} is at {} s",
                                   c.path().string(), state.time_s, next - 1, at));
    checkpoints.resumed_from(c);
    progress.starting_at(state.time_s, state.total_steps);
  }

  // The output. One rank, or a build without parallel HDF5: rank 0 writes every file, from fields
  // gathered to it, and the other ranks learn whether it could start (else every rank stops here).
  // With parallel HDF5 every rank opens cordsim.h5 and writes its own planes of each frame
  // (RunOutput, OutputDecomposition); rank 0 still writes the side files. It is opened after
  // every input check of a resumed run, so that no rank leaves the file open on an input error.
  std::unique_ptr<RunOutput> output;
  std::exception_ptr output_failed;
  std::string described =
      ranks ? fmt::format("{} x {}", ranks->size(), backend->description()) : backend->description();
  if (collective_output) ranks->broadcast(described);  // the file's attributes are the same on all ranks
  if (root || collective_output) {
    try {
      // (The disk space for the output and two checkpoints was checked before the problem was built.)
      const int r = ranks ? ranks->rank() : 0;
      const OutputDecomposition planes{ranks ? ranks->communicator() : 0,
                                       collective_output ? decomposition.slab(r).z_begin : 0,
                                       collective_output ? decomposition.slab(r).z_end : 0};
      output = std::make_unique<RunOutput>(out_dir, options.overwrite, scenario,
                                           RunMetadata{build_info::version, described}, fields, problem.tissue,
                                           resume_frames, collective_output ? &planes : nullptr);
      if (scenario.geometry) add_label_fields(*output, problem.labels);
    } catch (...) {
      output_failed = std::current_exception();
    }
  }
  if (ranks && !collective_output && !ranks->all(!output_failed) && !output_failed)
    throw InputError("rank 0 could not create the output directory (see its message)");
  if (output_failed) std::rethrow_exception(output_failed);

  // Every species is fetched (a collective on a decomposed run), so the guard sees every field.
  auto write_frame = [&] {
    for (std::size_t s = 0; s < host.size(); ++s) {
      if (collective_output) {
        backend->get_concentration(int(s), slabs[s].data());
        guard.check(s, slabs[s].data() + ghost_offset, stepper.time());
      } else {
        fetch(s, host[s].data());
        if (root) guard.check(s, host[s].data(), stepper.time());
      }
      totals[s] = backend->total_amount(int(s));
    }
    if (output) output->write_frame(stepper.time(), field_ptrs, totals);
    progress.clear();
    solver_log.record(stepper);
  };
  // Rank 0 writes the file. On a decomposed run, the other ranks take part in what it does there
  // collectively, in the same order: the output's sync (collective output), then the gather of
  // each species to rank 0.
  auto write_checkpoint = [&](double t) {
    if (!root) {
      if (output) output->sync();
      for (std::size_t s = 0; s < host.size(); ++s) fetch(s, static_cast<real*>(nullptr));
      checkpoints.written_elsewhere(t);
      progress.clear();
      return;
    }
    checkpoints.write(
        t, *output, species_names, [&](std::size_t s, std::vector<real>& buffer) { fetch(s, buffer.data()); },
        [&](CheckpointWriter& w) {
          const Stepper::State state = stepper.state();
          w.scalar("state/stepper/time_s", state.time_s);
          w.integer("state/stepper/total_steps", state.total_steps);
          w.scalar("state/stepper/interval_s", state.interval_s);
          w.integer("state/stepper/species", std::int64_t(state.species));
          w.integer("state/stepper/steps_done", state.steps_done);
          std::vector<std::int64_t> iterations, solves, converged;
          std::vector<double> residual;
          for (const LinearSolveReport& r : state.last_solve) {
            iterations.push_back(r.iterations);
            solves.push_back(r.solves);
            residual.push_back(r.relative_residual);
            converged.push_back(r.converged ? 1 : 0);
          }
          w.integers("state/stepper/last_solve_iterations", iterations);
          w.integers("state/stepper/last_solve_solves", solves);
          w.doubles("state/stepper/last_solve_relative_residual", residual);
          w.integers("state/stepper/last_solve_converged", converged);
          w.text("state/solver_log", solver_log.text());
        });
    progress.clear();
  };

  try {
    const auto start = std::chrono::steady_clock::now();
    if (!checkpoint) write_frame();
    const auto pause = [&] { return checkpoints.due_now(); };
    for (; next < times.size(); ++next) {
      const double t0 = stepper.time(), interval = times[next] - t0;
      // A pause (a stop signal, the wall-clock cadence) leaves the interval part-way: checkpoint
      // there, then stop or go on.
      while (!stepper.advance(interval, [&](double fraction) { progress.update(t0 + fraction * interval, stepper.total_steps()); },
                              pause)) {
        write_checkpoint(t0);
        if (checkpoints.stop_after(t0)) {
          if (output) output->suspend();
          return stopped(checkpoints, ranks);
        }
      }
      write_frame();
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      spdlog::info("t = {:.6g} s of {:.6g} s ({:.0f}%), {} stencil sweeps, {:.1f} s wall", times[next],
                   scenario.run.duration_s, 100.0 * times[next] / scenario.run.duration_s, stepper.total_steps(),
                   elapsed);
      if (next + 1 < times.size() && checkpoints.due_at(stepper.time())) {
        write_checkpoint(stepper.time());
        if (checkpoints.stop_after(stepper.time())) {
          if (output) output->suspend();
          return stopped(checkpoints, ranks);
        }
      }
    }
    if (ranks) {
      const double messages = ranks->exchange().sum(double(ranks->halo_messages()));
      const double bytes = ranks->exchange().sum(double(ranks->halo_bytes()));
      spdlog::info("halo exchange: {:.0f} messages, {:.1f} MiB sent by all {} ranks ({:.0f} bytes per message)",
                   messages, bytes / 1048576.0, ranks->size(), messages > 0 ? bytes / messages : 0.0);
    }
    // The peaks: each rank's own planes, then the largest over the ranks.
    const auto peak = [&](std::size_t s) {
      float largest = -std::numeric_limits<float>::infinity();
      std::vector<float> whole(ranks ? 0 : std::size_t(problem.dims.size()));
      float* field = ranks ? slab_field.data() : whole.data();
      backend->get_concentration(int(s), field);
      const std::size_t begin = ranks ? ghost_offset : 0;
      const std::size_t end = begin + (ranks ? owned_counts[std::size_t(ranks->rank())] : whole.size());
      for (std::size_t v = begin; v < end; ++v)
        if (local.tissue[v] && field[v] > largest) largest = field[v];
      return ranks ? ranks->exchange().max(largest) : largest;
    };
    RunSummary summary = run_summary(
        scenario, problem, stepper, *backend, peak,
        wall_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    if (!root) {
      if (output) output->commit();  // collective output: closing the file is a collective
      return exit_ok;
    }
    solver_log.write((output->staging_dir() / "solver_log.csv").string());
    if (ranks) summary.add("mpi_ranks", long(ranks->size()));
    summary.write(output->staging_dir());
    if (options.before_commit) options.before_commit(output->staging_dir());
    announce_paraview_files(output->commit());
  } catch (...) {
    progress.clear();
    rethrow_with_checkpoint(checkpoints);
  }
  return exit_ok;
}

}  // namespace

void announce_paraview_files(const std::filesystem::path& xdmf, const std::string& time_unit) {
  const std::filesystem::path path = std::filesystem::absolute(xdmf).lexically_normal();
  const std::filesystem::path pvd = path.parent_path() / "cordsim.pvd";
  std::printf("ParaView files: %s\n", path.c_str());
  if (std::filesystem::exists(pvd)) std::printf("                %s\n", pvd.c_str());
  const std::filesystem::path state = path.parent_path() / "cordsim_state.py";
  if (std::filesystem::exists(state)) std::printf("ParaView state: %s (File > Load State)\n", state.c_str());
  std::printf("  (File > Open; cell data, lengths in um, time in %s; pictures: tools/figures.sh %s)\n",
              time_unit == "d" ? "days" : time_unit.c_str(), path.parent_path().c_str());
}

int with_exit_codes(const char* command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const InputError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "cordsim: error: %s\n", e.what());
    return exit_bad_input;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "cordsim: %s failed: %s\n", command, e.what());
    return exit_run_failed;
  }
}

int run_command(const RunOptions& options) {
  RankGroup* ranks = run_ranks();
  if (!ranks) return with_exit_codes("run", [&] { return run(options); });
  // Input errors come from the scenario and the rank count, which every rank sees alike (the one
  // rank-0-only check, the output directory, is agreed on by all ranks), so every rank stops with
  // the same error and rank 0 reports it. Any other failure may hit one rank alone and leave the
  // others waiting in a collective: it ends them all.
  int code = exit_ok;
  try {
    code = run(options);
  } catch (const InputError& e) {
    if (ranks->root()) {
      std::fflush(stdout);
      std::fprintf(stderr, "cordsim: error: %s\n", e.what());
    }
    return exit_bad_input;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "cordsim: run failed on rank %d of %d: %s\n", ranks->rank(), ranks->size(), e.what());
    default_stop_signals();  // mpirun ends the other ranks with SIGTERM: no checkpoint then
    ranks->abort(exit_run_failed);
  }
  return code;
}

}  // namespace cordsim
