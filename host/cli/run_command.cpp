// `cordsim run`: scenario → problem → back end → stepper → output, in that order, so that every
// input error is found before anything is written. Under an MPI launcher with more than one rank
// (host/parallel/ranks.hpp) every rank builds the problem, keeps its slab of z-planes
// (host/parallel/decomposition.hpp) and advances it on its own back end; rank 0 gathers the fields
// and writes the output (docs/parallel.md).
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

#include "cordsim/build_info.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/progress.hpp"
#include "host/config/scenario.hpp"
#include "host/geometry/geometry.hpp"
#include "host/io/run_output.hpp"
#include "host/io/summary.hpp"
#include "host/model/als_run.hpp"
#include "host/model/problem.hpp"
#include "host/parallel/decomposition.hpp"
#include "host/parallel/ranks.hpp"
#include "host/solver/stepper.hpp"
#include "kernels/backend.hpp"

namespace cordsim {
namespace {

// The rank's index among the ranks on its node, as the launcher reports it (0 if none does).
int node_local_rank() {
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* value = std::getenv(v)) return std::atoi(value);
  return 0;
}

std::unique_ptr<Backend> select_backend(const BackendChoice& choice, bool decomposed) {
  // Ranks on one node take the node's devices in turn, starting at --device.
  const auto device = [&] {
    const int count = cuda_device_count();
    return decomposed && count > 0 ? (choice.device + node_local_rank()) % count : choice.device;
  };
  if (choice.kind == "cpu") return make_cpu_backend(choice.threads);
  if (choice.kind == "cuda") {
    if (!cuda_backend_built())
      throw InputError("--backend cuda: this cordsim was built without the CUDA back end");
    if (cuda_device_count() == 0) throw InputError("--backend cuda: no CUDA device is available");
    return make_cuda_backend(device());
  }
  if (cuda_device_count() > 0) return make_cuda_backend(device());
  spdlog::info("no CUDA device found{}; using the CPU back end",
               cuda_backend_built() ? "" : " (CUDA back end not built)");
  return make_cpu_backend(choice.threads);
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
// `fetch(species, field)` fills the whole grid's field (on rank 0 of a decomposed run; a no-op
// elsewhere, where `field` is empty).
RunSummary run_summary(const Scenario& s, const Problem& p, const Stepper& stepper, const Backend& backend,
                       const std::function<void(std::size_t, float*)>& fetch, bool root, double wall_s) {
  RunSummary summary;
  summary.add("scenario", s.name);
  summary.add("final_time_s", stepper.time());
  summary.add("wall_time_s", wall_s);
  summary.add("stencil_sweeps", stepper.total_steps());
  summary.add("tissue_voxels", p.tissue_voxels());
  std::vector<float> field(root ? std::size_t(p.dims.size()) : 0);
  for (std::size_t i = 0; i < p.species.size(); ++i) {
    fetch(i, field.data());
    float peak = -std::numeric_limits<float>::infinity();  // stays so (null in JSON) without tissue
    for (std::size_t v = 0; v < field.size(); ++v)
      if (p.tissue[v] && field[v] > peak) peak = field[v];
    summary.add("total_" + p.species[i].name + "_ymol", backend.total_amount(int(i)));
    summary.add("max_" + p.species[i].name + "_nM", double(peak));
  }
  return summary;
}

int run(const RunOptions& options) {
  const auto began = std::chrono::steady_clock::now();
  RankGroup* ranks = run_ranks();  // null: one rank
  const bool root = !ranks || ranks->root();
  if (!root) spdlog::set_level(spdlog::level::warn);  // rank 0 speaks for the run
  Scenario scenario =
      options.scenario_path.empty()
          ? parse_scenario(build_info::demo_scenario, "<built-in demo>", options.overrides)
          : load_scenario(options.scenario_path, options.overrides);
  if (ranks && scenario.model)
    throw InputError(fmt::format("the ALS model runs on one rank in this version: its per-voxel cell states are "
                                 "not decomposed yet; run '{}' without mpirun or with -np 1 ({} ranks were started)",
                                 scenario.name, ranks->size()));
  resolve_geometry(scenario);
  const Problem problem = build_problem(scenario);
  // A decomposed run: this rank's slab of planes, with a ghost plane on each side that has a neighbour.
  Decomposition decomposition;
  Problem slab_problem;
  if (ranks) {
    decomposition = Decomposition(problem.dims, problem.tissue, ranks->size());
    const int r = ranks->rank();
    const Slab& mine = decomposition.slab(r);
    slab_problem = slice_planes(problem, mine.z_begin - decomposition.ghost_below(r),
                                mine.z_end + decomposition.ghost_above(r));
  }
  const Problem& local = ranks ? slab_problem : problem;
  std::unique_ptr<Backend> backend = select_backend(options.backend, ranks != nullptr);
  if (ranks) backend->set_decomposition(&ranks->exchange());
  spdlog::info("cordsim {}; back end: {}", build_info::version, backend->description());
  if (ranks) {
    std::string slabs;
    for (const Slab& sl : decomposition.slabs())
      slabs += fmt::format("{}z [{}, {}) {} tissue voxels", slabs.empty() ? "" : "; ", sl.z_begin, sl.z_end,
                           sl.tissue_voxels);
    spdlog::info("{}; slabs along z: {} (imbalance {:.3f})", ranks->description(), slabs, decomposition.imbalance());
  }
  if (scenario.model) {
    const std::filesystem::path out_dir = options.out_dir.empty() ? std::filesystem::path(scenario.name + "_out")
                                                                  : std::filesystem::path(options.out_dir);
    ProgressReporter progress(scenario.run.duration_s, ProgressReporter::stdout_is_terminal());
    AlsRunOptions als;
    als.out_dir = out_dir;
    als.overwrite = options.overwrite;
    als.version = build_info::version;
    als.progress = [&](double t, long sweeps) { progress.update(t, sweeps); };
    als.before_commit = options.before_commit;
    const AlsRunResult result = run_als_model(scenario, problem, *backend, als);
    progress.clear();
    announce_paraview_files(result.xdmf);
    return exit_ok;
  }
  Stepper stepper(scenario, local, *backend);
  log_setup(scenario, problem, stepper);

  const std::filesystem::path out_dir =
      options.out_dir.empty() ? std::filesystem::path(scenario.name + "_out") : std::filesystem::path(options.out_dir);
  // The species written to the field files (output.fields; all by default). Totals cover all.
  std::vector<std::size_t> written;
  std::vector<FieldDescription> fields;
  for (std::size_t s = 0; s < problem.species.size(); ++s) {
    const auto& wanted = scenario.output.fields;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), problem.species[s].name) == wanted.end()) continue;
    written.push_back(s);
    fields.push_back({problem.species[s].name, "nM", problem.species[s].name + " concentration"});
  }
  const std::vector<double> times = output_times(scenario.run);
  // Static grid fields: the tissue mask, and for a cord geometry its labels and segment index.
  const std::uintmax_t expected =
      expected_output_bytes(scenario, written.size(), times.size(), scenario.geometry ? 3 : 1);
  spdlog::info("output: {} frames of {} field(s), {}, HDF5{}{}; at most {:.1f} MiB", times.size(), written.size(),
               scenario.output.float64 ? "float64" : "float32",
               scenario.output.compression > 0 ? fmt::format(" (gzip {})", scenario.output.compression) : "",
               scenario.output.vtk ? " + VTK" : "", double(expected) / 1048576.0);
  // Rank 0 writes; the other ranks learn whether it could start (else every rank stops here).
  std::unique_ptr<RunOutput> output;
  std::exception_ptr output_failed;
  if (root) {
    try {
      check_disk_space(out_dir, expected);
      const std::string described =
          ranks ? fmt::format("{} x {}", ranks->size(), backend->description()) : backend->description();
      output = std::make_unique<RunOutput>(out_dir, options.overwrite, scenario,
                                           RunMetadata{build_info::version, described}, fields, problem.tissue);
      if (scenario.geometry) add_label_fields(*output, problem.labels);
    } catch (...) {
      output_failed = std::current_exception();
    }
  }
  if (ranks && !ranks->all(!output_failed) && !output_failed)
    throw InputError("rank 0 could not create the output directory (see its message)");
  if (output_failed) std::rethrow_exception(output_failed);

  // The whole grid's field of a species: downloaded, or on a decomposed run gathered to rank 0
  // from every rank's owned planes (a collective: every rank calls it).
  const std::size_t plane = std::size_t(problem.dims.nx) * std::size_t(problem.dims.ny);
  std::vector<float> slab_field(ranks ? std::size_t(local.dims.size()) : 0);
  std::vector<std::size_t> owned_counts;
  for (const Slab& sl : decomposition.slabs()) owned_counts.push_back(std::size_t(sl.planes()) * plane);
  auto fetch = [&](std::size_t s, float* whole) {
    if (!ranks) {
      backend->get_concentration(int(s), whole);
      return;
    }
    backend->get_concentration(int(s), slab_field.data());
    const int r = ranks->rank();
    ranks->gather(slab_field.data() + std::size_t(decomposition.ghost_below(r)) * plane,
                  owned_counts[std::size_t(r)], whole, owned_counts);
  };

  std::vector<std::vector<float>> host(problem.species.size(),
                                       std::vector<float>(root ? std::size_t(problem.dims.size()) : 0));
  std::vector<const float*> field_ptrs;
  for (std::size_t s : written) field_ptrs.push_back(host[s].data());
  std::vector<double> totals(problem.species.size());
  SolverLog solver_log(scenario);
  ProgressReporter progress(scenario.run.duration_s, root && ProgressReporter::stdout_is_terminal());
  auto write_frame = [&] {
    for (std::size_t s = 0; s < host.size(); ++s) {
      if (std::find(written.begin(), written.end(), s) != written.end()) fetch(s, host[s].data());
      totals[s] = backend->total_amount(int(s));
    }
    if (output) output->write_frame(stepper.time(), field_ptrs, totals);
    progress.clear();
    solver_log.record(stepper);
  };

  const auto start = std::chrono::steady_clock::now();
  write_frame();
  for (std::size_t n = 1; n < times.size(); ++n) {
    const double t0 = stepper.time(), interval = times[n] - t0;
    stepper.advance(interval, [&](double fraction) { progress.update(t0 + fraction * interval, stepper.total_steps()); });
    write_frame();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("t = {:.6g} s of {:.6g} s ({:.0f}%), {} stencil sweeps, {:.1f} s wall", times[n],
                 scenario.run.duration_s, 100.0 * times[n] / scenario.run.duration_s, stepper.total_steps(), elapsed);
  }
  if (ranks) {
    const double messages = ranks->exchange().sum(double(ranks->halo_messages()));
    const double bytes = ranks->exchange().sum(double(ranks->halo_bytes()));
    spdlog::info("halo exchange: {:.0f} messages, {:.1f} MiB sent by all {} ranks ({:.0f} bytes per message)",
                 messages, bytes / 1048576.0, ranks->size(), messages > 0 ? bytes / messages : 0.0);
  }
  RunSummary summary =
      run_summary(scenario, problem, stepper, *backend, fetch, root,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  if (!output) return exit_ok;  // not rank 0
  solver_log.write((output->staging_dir() / "solver_log.csv").string());
  // Model readouts go here, one line each, e.g. summary.add("onset_day", onset_day);
  if (ranks) summary.add("mpi_ranks", long(ranks->size()));
  summary.write(output->staging_dir());
  if (options.before_commit) options.before_commit(output->staging_dir());
  announce_paraview_files(output->commit());
  return exit_ok;
}

}  // namespace

void announce_paraview_files(const std::filesystem::path& xdmf) {
  const std::filesystem::path path = std::filesystem::absolute(xdmf).lexically_normal();
  const std::filesystem::path pvd = path.parent_path() / "cordsim.pvd";
  std::printf("ParaView files: %s\n", path.c_str());
  if (std::filesystem::exists(pvd)) std::printf("                %s\n", pvd.c_str());
  std::printf("  (File > Open; cell data, lengths in um, time in s; pictures: tools/figures.sh %s)\n",
              path.parent_path().c_str());
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
    ranks->abort(exit_run_failed);
  }
  return code;
}

}  // namespace cordsim
