// cordsim: command-line entry point. Subcommands: run, validate, sweep, mesh, bench.
#include <CLI/CLI.hpp>
#include <hdf5.h>

#include "cordsim/build_info.hpp"
#include "host/cli/commands.hpp"
#include "host/config/model_spec.hpp"
#include "host/cli/mesh_command.hpp"
#include "host/cli/sweep_command.hpp"
#include "host/parallel/ranks.hpp"

int main(int argc, char** argv) {
  using namespace cordsim;
  // No HDF5 clean-up at exit: every file is closed where it was opened, and a close that failed (a
  // full disk: the flush fails) leaves HDF5 1.10 an id of a freed file, which its exit handler
  // would close again and crash on (a segfault after the error message, exit 139 instead of 3).
  H5dont_atexit();
  // MPI for the process's lifetime when an MPI launcher started it (an MPI build only).
  ParallelSession parallel(&argc, &argv);
  CLI::App app{"cordsim: GPU-accelerated reaction-diffusion simulator of lumbar spinal-cord tissue in ALS"};
  app.set_version_flag("--version", std::string("cordsim ") + build_info::version +
                                        "\nback ends: " + build_info::backends);
  app.require_subcommand(1);

  RunOptions run;
  CLI::App* run_cmd = app.add_subcommand("run", "Run a scenario (the built-in demo when no file is given)");
  run_cmd->add_option("scenario", run.scenario_path, "Scenario TOML file");
  run_cmd->add_option("--out,-o", run.out_dir, "Output directory (default: ./<scenario name>_out)");
  run_cmd->add_option("--set", run.overrides,
                      "Override a scenario key, e.g. --set grid.spacing=\"10 um\" (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  run_cmd->add_flag("--overwrite", run.overwrite, "Replace an existing output directory");
  run_cmd->add_option("--backend", run.backend.kind, "cpu, cuda, or auto (CUDA when a device is present)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  run_cmd->add_option("--threads", run.backend.threads, "OpenMP threads of the CPU back end (default: all)")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_option("--device", run.backend.device, "CUDA device index")->check(CLI::NonNegativeNumber);
  CLI::Option* resume = run_cmd->add_option("--resume", run.resume_dir,
                      "Continue the stopped run in DIR (its OUT.partial, or OUT) from its newest checkpoint; give "
                      "the same scenario and --set overrides");
  run_cmd->add_flag("--continue", run.resume_if_checkpointed,
                    "Resume from the checkpoint in OUT.partial if there is one (a requeued job), else start the run")
      ->excludes(resume);
  run_cmd->add_option("--checkpoint-every", run.checkpoint_every_s,
                      "Also write a checkpoint every SECONDS of wall time (besides run.checkpoint_interval and on "
                      "SIGTERM/SIGINT/SIGUSR1)")
      ->check(CLI::NonNegativeNumber);
  run_cmd->add_option("--stop-at", run.stop_at,
                      "Write a checkpoint and exit with code 4 once the simulated time reaches TIME, e.g. \"30 d\"");

  ValidateOptions validate;
  CLI::App* validate_cmd = app.add_subcommand(
      "validate", "Check a scenario without running it; print grid, memory, stability limits, output size and run time");
  validate_cmd->add_option("scenario", validate.scenario_path, "Scenario TOML file (default: the built-in demo)");
  validate_cmd->add_option("--set", validate.overrides, "Override a scenario key, as for run (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  validate_cmd->add_option("--threads", validate.threads, "OpenMP threads of the CPU back end (default: all)")
      ->check(CLI::NonNegativeNumber);
  validate_cmd->add_flag("--full", validate.full,
                         "Build the problem and CPU back end even for a large grid (exact stability limits)");

  SweepOptions sweep;
  CLI::App* sweep_cmd = app.add_subcommand(
      "sweep", "List, run one row of, or collect a parameter sweep or virtual cohort (a sweep TOML file)");
  sweep_cmd->add_option("file", sweep.file, "Sweep TOML file (scenarios/sweeps/)")->required();
  CLI::Option_group* sweep_mode = sweep_cmd->add_option_group("mode", "what to do with the sweep");
  sweep_mode->add_flag("--list", sweep.list, "Print the rows: index, label, overrides");
  sweep_mode->add_option("--index", sweep.index, "Run row N (0-based, e.g. $SLURM_ARRAY_TASK_ID)")
      ->check(CLI::NonNegativeNumber);
  sweep_mode->add_flag("--collect", sweep.collect,
                       "Merge the finished rows' summaries and parameters into DIR/<name>/sweep_results.csv");
  sweep_mode->require_option(1);
  sweep_cmd->add_option("--out,-o", sweep.out_dir,
                        "Sweep directory DIR; rows run into DIR/<name>/row_NNNN (default: ./<name>_sweep)");
  sweep_cmd->add_flag("--overwrite", sweep.overwrite, "Run a row again even if it has finished");
  sweep_cmd->add_option("--backend", sweep.backend.kind, "cpu, cuda, or auto (CUDA when a device is present)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  sweep_cmd->add_option("--threads", sweep.backend.threads, "OpenMP threads of the CPU back end (default: all)")
      ->check(CLI::NonNegativeNumber);
  sweep_cmd->add_option("--device", sweep.backend.device, "CUDA device index")->check(CLI::NonNegativeNumber);
  sweep_cmd->add_option("--checkpoint-every", sweep.checkpoint_every_s,
                        "--index: also write a checkpoint every SECONDS of wall time (a stopped row resumes from its "
                        "checkpoint when run again)")
      ->check(CLI::NonNegativeNumber);

  MeshOptions mesh;
  CLI::App* mesh_cmd = app.add_subcommand(
      "mesh", "Build the labelled grid of a mesh file or NIfTI atlas; write HDF5/XDMF and PNG cross-sections");
  mesh_cmd->add_option("input", mesh.input, "Mesh TOML (meshes/*.toml) or NIfTI atlas (.nii, .nii.gz)")->required();
  mesh_cmd->add_option("--voxel", mesh.voxel, "Voxel edge length, e.g. 20um (default 20 um)");
  mesh_cmd->add_option("--out,-o", mesh.out_dir, "Output directory (default: ./<input name>_mesh)");
  mesh_cmd->add_option("--segments", mesh.segments, "First and last segment to keep, e.g. --segments L3 L5")
      ->expected(1, 2);
  mesh_cmd->add_flag("--dry-run", mesh.dry_run, "Print grid size, voxel counts per tissue and memory; write nothing");
  mesh_cmd->add_flag("--overwrite", mesh.overwrite, "Replace an existing output directory");

  BenchOptions bench;
  CLI::App* bench_cmd = app.add_subcommand(
      "bench", "Measure the explicit kernel (voxel updates/s, bandwidth vs a STREAM triad) and the Gaussian race");
  bench_cmd->add_option("--threads", bench.threads, "OpenMP threads (default: all)")->check(CLI::NonNegativeNumber);
  bench_cmd->add_flag("--quick", bench.quick, "Small sizes only (a smoke run, not a measurement)");
  bench_cmd->add_flag("--solvers", bench.solvers,
                      "Only the implicit solvers: CG iterations and times, the quasi-steady NO solve, the "
                      "Gaussian race with backward Euler and Crank-Nicolson");

  CLI::App* parameters_cmd = app.add_subcommand(
      "parameters", "Print the ALS model's parameter table (Markdown: table, key, symbol, default, range, source)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Error& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : (e.get_exit_code() == 0 ? exit_ok : exit_usage);
  }
  if (*run_cmd) return run_command(run);
  if (*parameters_cmd) {
    print_model_parameters();
    return exit_ok;
  }
  if (*validate_cmd) return validate_command(validate);
  if (*sweep_cmd) return sweep_command(sweep);
  if (*mesh_cmd) return mesh_command(mesh);
  return bench_command(bench);
}
