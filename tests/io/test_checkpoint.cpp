// Checkpoint and restart as a user (or a Slurm job) meets them: a run stopped half-way (--stop-at,
// SIGTERM, a second signal) and resumed with --resume ends with the same files, bit for bit, as
// the run that was never stopped, for the transport and the ALS model; a resume with another
// scenario is refused; a field that goes bad stops the run naming species, voxel and time and
// keeps the last checkpoint; an unwritable output or a write failure during the run is a clear
// error that keeps the last checkpoint; frames a crash left after the last checkpoint are dropped.
// (tools/chaos.sh and the Chaos.* tests kill runs with SIGKILL, fill and lock their disks.)
#include <gtest/gtest.h>

#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace test = cordsim::test;

using test::CommandResult;
using test::mentions;
using test::read_text;
using Result = CommandResult;

const fs::path& kSource = test::kSourceDir;

using test::TempDir;

// Runs cordsim with `args` in `cwd`; one thread, so that the runs are quick on a busy machine.
Result cordsim(std::vector<std::string> args, const fs::path& cwd) {
  args.insert(args.end(), {"--backend", "cpu", "--threads", "1"});
  return test::run_cordsim(args, cwd);
}

// Every dataset of an HDF5 file with its raw bytes, in the stored type.
std::map<std::string, std::string> datasets_of(const fs::path& file) {
  std::map<std::string, std::string> out;
  const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0) << file;
  if (f < 0) return out;
  H5Lvisit(
      f, H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t root, const char* name, const H5L_info_t*, void* data) -> herr_t {
        const hid_t object = H5Oopen(root, name, H5P_DEFAULT);
        if (H5Iget_type(object) == H5I_DATASET) {
          const hid_t type = H5Dget_type(object);
          const hid_t space = H5Dget_space(object);
          std::string bytes(std::size_t(H5Sget_simple_extent_npoints(space)) * H5Tget_size(type), '\0');
          if (!bytes.empty()) H5Dread(object, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
          (*static_cast<std::map<std::string, std::string>*>(data))[name] = bytes;
          H5Sclose(space);
          H5Tclose(type);
        }
        H5Oclose(object);
        return 0;
      },
      &out);
  H5Fclose(f);
  return out;
}

// The two outputs hold the same field datasets, times and static fields, bit for bit, and the
// same text files (summary.json without its wall time).
void expect_same_run(const fs::path& a, const fs::path& b, const std::vector<std::string>& files) {
  const auto da = datasets_of(a / "cordsim.h5"), db = datasets_of(b / "cordsim.h5");
  ASSERT_FALSE(da.empty());
  ASSERT_EQ(da.size(), db.size());
  for (const auto& [name, bytes] : da) {
    ASSERT_TRUE(db.count(name)) << name;
    EXPECT_TRUE(bytes == db.at(name)) << "dataset " << name << " differs";
  }
  for (const std::string& file : files) {
    std::string ta = read_text(a / file), tb = read_text(b / file);
    if (file == "summary.json") {
      const auto drop_wall = [](std::string& t) {
        const std::size_t at = t.find("\"wall_time_s\"");
        if (at != std::string::npos) t.erase(at, t.find('\n', at) - at);
      };
      drop_wall(ta);
      drop_wall(tb);
    }
    EXPECT_FALSE(ta.empty()) << file;
    EXPECT_EQ(ta, tb) << file << " differs";
  }
  EXPECT_FALSE(fs::exists(b / "checkpoints")) << "a finished run keeps no checkpoints";
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// The demo on a 100 um grid for 60 s: well under a second.
std::vector<std::string> small_demo() {
  return {"run", "--set", "grid.shape=[36, 26, 12]", "--set", "grid.spacing=[\"100 um\", \"100 um\", \"200 um\"]",
          "--set", "run.duration=\"60 s\""};
}

TEST(CheckpointRun, TransportStoppedAndResumedIsBitwiseTheUninterruptedRun) {
  const TempDir dir;
  const auto base = small_demo();
  const Result whole = cordsim(with(base, {"--out", "whole"}), dir.path());
  ASSERT_EQ(whole.status, 0) << whole.output;

  const Result first = cordsim(with(base, {"--out", "split", "--stop-at", "30 s"}), dir.path());
  ASSERT_EQ(first.status, 4) << first.output;
  EXPECT_TRUE(mentions(first, "Stopped at t = 30 s (--stop-at)")) << first.output;
  EXPECT_TRUE(mentions(first, "--resume split.partial")) << first.output;
  EXPECT_FALSE(fs::exists(dir.path() / "split"));
  ASSERT_TRUE(fs::exists(dir.path() / "split.partial" / "checkpoints" / "checkpoint_000001.h5"));
  EXPECT_TRUE(fs::exists(dir.path() / "split.partial" / "cordsim.xdmf")) << "a stopped run opens in ParaView";

  // A new run into the same directory does not silently discard the checkpoint.
  const Result fresh = cordsim(with(base, {"--out", "split"}), dir.path());
  EXPECT_EQ(fresh.status, 2) << fresh.output;
  EXPECT_TRUE(mentions(fresh, "holds a checkpoint of a stopped run")) << fresh.output;
  // Resuming with another scenario is refused, and leaves the checkpoint as it was.
  const Result other = cordsim(with(base, {"--set", "species.NO.decay=\"0.5 1/s\"", "--resume", "split"}), dir.path());
  EXPECT_EQ(other.status, 2) << other.output;
  EXPECT_TRUE(mentions(other, "species.NO.decay")) << other.output;
  std::string text = read_text(kSource / "scenarios/demo.toml");
  std::ofstream(dir.path() / "edited.toml") << text << "# edited\n";
  const Result edited =
      cordsim({"run", "edited.toml", "--set", "grid.shape=[36, 26, 12]", "--set",
               "grid.spacing=[\"100 um\", \"100 um\", \"200 um\"]", "--set", "run.duration=\"60 s\"", "--resume",
               "split.partial"},
              dir.path());
  EXPECT_EQ(edited.status, 2) << edited.output;
  EXPECT_TRUE(mentions(edited, "belongs to another scenario")) << edited.output;

  const Result second = cordsim(with(base, {"--resume", "split.partial"}), dir.path());
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_FALSE(fs::exists(dir.path() / "split.partial"));
  expect_same_run(dir.path() / "whole", dir.path() / "split",
                  {"mass_budget.csv", "summary.json", "cordsim.xdmf", "cordsim.pvd", "vtk/frame_000006.vti"});
  EXPECT_EQ(read_text(dir.path() / "whole/vtk/frame_000004.vti"), read_text(dir.path() / "split/vtk/frame_000004.vti"));

  // A finished run has nothing to resume.
  const Result again = cordsim(with(base, {"--resume", "split"}), dir.path());
  EXPECT_EQ(again.status, 2) << again.output;
  EXPECT_TRUE(mentions(again, "has finished")) << again.output;
}

TEST(CheckpointRun, ImplicitSpeciesStoppedAndResumedAreBitwiseTheUninterruptedRun) {
  const TempDir dir;
  const std::vector<std::string> base = {"run", (kSource / "scenarios/no_point_source_steady.toml").string(),
                                         "--set", "grid.shape=[25, 25, 25]", "--set", "grid.spacing=\"32 um\"",
                                         "--set", "output.vtk=false", "--set", "run.checkpoint_interval=\"20 min\""};
  const Result whole = cordsim(with(base, {"--out", "whole"}), dir.path());
  ASSERT_EQ(whole.status, 0) << whole.output;
  const Result first = cordsim(with(base, {"--out", "split", "--stop-at", "30 min"}), dir.path());
  ASSERT_EQ(first.status, 4) << first.output;
  // The 20 min checkpoint and the one --stop-at wrote at 30 min: the last two are kept.
  EXPECT_TRUE(fs::exists(dir.path() / "split.partial/checkpoints/checkpoint_000002.h5"));
  const Result second = cordsim(with(base, {"--resume", "split"}), dir.path());
  ASSERT_EQ(second.status, 0) << second.output;
  expect_same_run(dir.path() / "whole", dir.path() / "split", {"mass_budget.csv", "solver_log.csv", "summary.json"});
}

TEST(CheckpointRun, AlsModelStoppedAndResumedIsBitwiseTheUninterruptedRun) {
  const TempDir dir;
  // 122 d: after onset and early disease, with the day-14 Evans Blue assay pending at its
  // resolved time (135.25 d) and the state of a Cre-free SOD1 rat near end stage.
  const std::vector<std::string> base = {"run", (kSource / "scenarios/als/rat_sod1g93a.toml").string(), "--set",
                                         "geometry.voxel=[\"200 um\", \"200 um\", \"400 um\"]", "--set",
                                         "run.duration=\"140 d\""};
  const Result whole = cordsim(with(base, {"--out", "whole"}), dir.path());
  ASSERT_EQ(whole.status, 0) << whole.output;
  const Result first = cordsim(with(base, {"--out", "split", "--stop-at", "122 d"}), dir.path());
  ASSERT_EQ(first.status, 4) << first.output;
  EXPECT_FALSE(fs::exists(dir.path() / "split"));
  const Result second = cordsim(with(base, {"--resume", "split"}), dir.path());
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_TRUE(mentions(second, "event evans_blue 'day14'")) << second.output;
  expect_same_run(dir.path() / "whole", dir.path() / "split",
                  {"summary.json", "readouts.csv", "events.csv", "evans_blue.csv", "mass_budget.csv"});
}

// cordsim started in the background, its stdout and stderr into a file.
class Background {
 public:
  Background(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& log) : log_(log) {
    std::vector<std::string> all = {CORDSIM_EXE};
    all.insert(all.end(), args.begin(), args.end());
    for (const char* a : {"--backend", "cpu", "--threads", "1"}) all.emplace_back(a);
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const fs::path previous = fs::current_path();
    fs::current_path(cwd);
    const int error = posix_spawn(&pid_, CORDSIM_EXE, &actions, nullptr, argv.data(), environ);
    fs::current_path(previous);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(error, 0) << std::strerror(error);
  }
  ~Background() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Waits (at most a minute) until `ready` holds; false if the process ended first.
  bool wait_for(const std::function<bool()>& ready) {
    for (int i = 0; i < 6000; ++i) {
      if (ready()) return true;
      int raw = 0;
      if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
        reaped_ = true;
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  int exit_status() {
    if (!reaped_) {
      int raw = 0;
      ::waitpid(pid_, &raw, 0);
      reaped_ = true;
      status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : (WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : -1);
    }
    return status_;
  }
  std::string log() const { return read_text(log_); }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
};

// The demo on a 50 um grid for 20 simulated minutes: 120 output intervals, a second or two; a
// signal sent after the first is sure to arrive while the run goes on.
std::vector<std::string> longer_demo() {
  return {"run", "--set", "grid.shape=[72, 52, 24]", "--set", "grid.spacing=[\"50 um\", \"50 um\", \"100 um\"]",
          "--set", "run.duration=\"20 min\"", "--set", "output.vtk=false"};
}

TEST(CheckpointRun, SigtermWritesACheckpointExitsFourAndTheResumedRunIsBitwiseIdentical) {
  const TempDir dir;
  const auto base = longer_demo();
  const Result whole = cordsim(with(base, {"--out", "whole"}), dir.path());
  ASSERT_EQ(whole.status, 0) << whole.output;

  Background run(with(base, {"--out", "split"}), dir.path(), dir.path() / "split.log");
  // Once the run has made progress: the first output interval is done.
  ASSERT_TRUE(run.wait_for([&] { return run.log().find("t = 10 s of 1200 s") != std::string::npos; })) << run.log();
  run.signal(SIGTERM);
  ASSERT_EQ(run.exit_status(), 4) << run.log();
  EXPECT_NE(run.log().find("SIGTERM: finishing the current step"), std::string::npos) << run.log();
  EXPECT_NE(run.log().find("(SIGTERM); checkpoint"), std::string::npos) << run.log();
  EXPECT_TRUE(fs::exists(dir.path() / "split.partial/checkpoints/checkpoint_000001.h5"));

  const Result second = cordsim(with(base, {"--resume", "split.partial"}), dir.path());
  ASSERT_EQ(second.status, 0) << second.output;
  expect_same_run(dir.path() / "whole", dir.path() / "split", {"mass_budget.csv", "summary.json", "cordsim.xdmf"});
}

TEST(CheckpointRun, SecondSignalExitsAtOnceAndTheLastCheckpointStillResumes) {
  const TempDir dir;
  const auto base = with(longer_demo(), {"--set", "run.checkpoint_interval=\"1 min\""});
  const Result whole = cordsim(with(base, {"--out", "whole"}), dir.path());
  ASSERT_EQ(whole.status, 0) << whole.output;

  Background run(with(base, {"--out", "split"}), dir.path(), dir.path() / "split.log");
  ASSERT_TRUE(run.wait_for([&] {
    return fs::exists(dir.path() / "split.partial/checkpoints/checkpoint_000001.h5");
  })) << run.log();
  run.signal(SIGTERM);
  run.signal(SIGINT);
  ASSERT_EQ(run.exit_status(), 5) << run.log();
  EXPECT_NE(run.log().find("second signal"), std::string::npos) << run.log();

  const Result second = cordsim(with(base, {"--resume", "split"}), dir.path());
  ASSERT_EQ(second.status, 0) << second.output;
  expect_same_run(dir.path() / "whole", dir.path() / "split", {"mass_budget.csv", "summary.json", "cordsim.xdmf"});
}

// A sweep row stopped by the Slurm time-limit signal (USR1, passed on by tools/slurm/array.sbatch)
// exits 4; the requeued array task runs the same `cordsim sweep --index` and the row continues
// from its checkpoint, ending as the row that was never stopped.
TEST(CheckpointRun, SweepRowStoppedByUsr1ResumesWhenItsTaskRunsAgain) {
  const TempDir dir;
  std::ofstream(dir.path() / "s.toml") << "[sweep]\nname = \"s\"\nscenario = \""
                                       << (kSource / "scenarios/demo.toml").string() << R"("
[set]
grid.shape = [72, 52, 24]
grid.spacing = ["50 um", "50 um", "100 um"]
run.duration = "20 min"
output.vtk = false
[vary]
species.NO.decay = ["0.35 1/s", "0.7 1/s"]
)";
  const Result whole = cordsim({"sweep", "s.toml", "--index", "1", "--out", "whole"}, dir.path());
  ASSERT_EQ(whole.status, 0) << whole.output;

  Background task({"sweep", "s.toml", "--index", "1", "--out", "split"}, dir.path(), dir.path() / "task.log");
  ASSERT_TRUE(task.wait_for([&] { return task.log().find("t = 10 s of 1200 s") != std::string::npos; })) << task.log();
  task.signal(SIGUSR1);
  ASSERT_EQ(task.exit_status(), 4) << task.log();
  EXPECT_NE(task.log().find("resume with: cordsim sweep s.toml --index 1 --out split"), std::string::npos)
      << task.log();
  const fs::path row = dir.path() / "split/s/row_0001";
  EXPECT_FALSE(fs::exists(row));

  const Result requeued = cordsim({"sweep", "s.toml", "--index", "1", "--out", "split"}, dir.path());
  ASSERT_EQ(requeued.status, 0) << requeued.output;
  EXPECT_TRUE(mentions(requeued, "resuming from")) << requeued.output;
  expect_same_run(dir.path() / "whole/s/row_0001", row, {"mass_budget.csv", "summary.json", "row.json"});
}

// An initial field for kGuardScenario's grid: 1 nM, with `bad` at voxel (3, 4, 5).
void write_initial(const fs::path& file, float bad) {
  const hsize_t dims[3] = {8, 10, 12};  // {nz, ny, nx}
  std::vector<float> values(8 * 10 * 12, 1.0f);
  values[3 + 12 * (4 + 10 * 5)] = bad;
  const hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t space = H5Screate_simple(3, dims, nullptr);
  const hid_t d = H5Dcreate2(f, "/A", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Dclose(d);
  H5Sclose(space);
  H5Fclose(f);
}

const char* kGuardScenario = R"([scenario]
name = "guard"
[grid]
shape = [12, 10, 8]
spacing = "10 um"
[[species]]
name = "A"
diffusivity = "100 um^2/s"
decay = "0.1 1/s"
initial = { shape = "hdf5", file = "initial.h5", dataset = "/A" }
[run]
duration = "2 s"
output_interval = "1 s"
)";

TEST(CheckpointRun, FieldGuardStopsTheRunNamingSpeciesVoxelAndTimeAndKeepsTheLastCheckpoint) {
  const TempDir dir;
  std::ofstream(dir.path() / "guard.toml") << kGuardScenario;
  write_initial(dir.path() / "initial.h5", std::nanf(""));
  const Result nan = cordsim({"run", "guard.toml"}, dir.path());
  EXPECT_EQ(nan.status, 3) << nan.output;
  EXPECT_TRUE(mentions(nan, "species 'A' is not finite (nan nM) at voxel (i, j, k) = (3, 4, 5), centre (35, 45, 55) "
                            "um, t = 0 s"))
      << nan.output;
  EXPECT_FALSE(fs::exists(dir.path() / "guard_out.partial")) << "no checkpoint: the partial output is removed";

  write_initial(dir.path() / "initial.h5", -1.0f);
  const Result negative = cordsim({"run", "guard.toml"}, dir.path());
  EXPECT_EQ(negative.status, 3) << negative.output;
  EXPECT_TRUE(mentions(negative, "species 'A' is negative (-1 nM) at voxel (i, j, k) = (3, 4, 5)")) << negative.output;

  // A source so strong that TNF overflows float32 after 34 s: the guard stops the run at the
  // 40 s output, and the checkpoint of 30 s is kept, named, and resumable.
  const auto base = with(small_demo(), {"--set", "source.2.rate=\"1e37 nM/s\"", "--set",
                                        "run.checkpoint_interval=\"10 s\"", "--set", "output.vtk=false"});
  const Result blown = cordsim(with(base, {"--out", "blown"}), dir.path());
  EXPECT_EQ(blown.status, 3) << blown.output;
  EXPECT_TRUE(mentions(blown, "species 'TNF' is not finite (inf nM) at voxel (i, j, k) = (")) << blown.output;
  EXPECT_TRUE(mentions(blown, "t = 40 s")) << blown.output;
  EXPECT_TRUE(mentions(blown, "the last checkpoint (t = 30 s) is kept in 'blown.partial/checkpoints/checkpoint_000003.h5'"))
      << blown.output;
  EXPECT_TRUE(fs::exists(dir.path() / "blown.partial/checkpoints/checkpoint_000003.h5"));
}

TEST(CheckpointRun, UnwritableOutputIsAClearErrorNamingThePath) {
  const TempDir dir;
  std::ofstream(dir.path() / "file") << "not a directory";
  const Result under_file = cordsim(with(small_demo(), {"--out", "file/out"}), dir.path());
  EXPECT_EQ(under_file.status, 2) << under_file.output;
  EXPECT_TRUE(mentions(under_file, "cannot create output directory 'file/out.partial'")) << under_file.output;

  if (::geteuid() == 0) {
    std::printf("running as root: permissions do not stop root, so the read-only directory case is not run\n");
    return;
  }
  fs::create_directories(dir.path() / "locked");
  fs::permissions(dir.path() / "locked", fs::perms::owner_read | fs::perms::owner_exec);
  const Result locked = cordsim(with(small_demo(), {"--out", "locked/out"}), dir.path());
  EXPECT_EQ(locked.status, 2) << locked.output;
  EXPECT_TRUE(mentions(locked, "cannot create output directory 'locked/out.partial': Permission denied"))
      << locked.output;
}

TEST(CheckpointRun, WriteFailureDuringTheRunKeepsTheLastCheckpointAndReportsIt) {
  const TempDir dir;
  const auto base = with(small_demo(), {"--set", "run.checkpoint_interval=\"10 s\""});
  const Result whole = cordsim(with(base, {"--out", "whole", "--continue"}), dir.path());  // nothing to resume
  ASSERT_EQ(whole.status, 0) << whole.output;
  const Result first = cordsim(with(base, {"--out", "split", "--stop-at", "20 s"}), dir.path());
  ASSERT_EQ(first.status, 4) << first.output;
  // The file of the 40 s VTK frame cannot be written: a directory holds its name (this stops
  // root too, unlike permissions).
  const fs::path blocker = dir.path() / "split.partial/vtk/frame_000004.vti";
  fs::create_directories(blocker);
  std::ofstream(blocker / "keep") << "x";
  const Result failed = cordsim(with(base, {"--resume", "split"}), dir.path());
  EXPECT_EQ(failed.status, 3) << failed.output;
  EXPECT_TRUE(mentions(failed, "cannot write VTK file '")) << failed.output;
  EXPECT_TRUE(mentions(failed, "frame_000004.vti'")) << failed.output;
  EXPECT_TRUE(mentions(failed, "the last checkpoint (t = 30 s) is kept in ")) << failed.output;
  ASSERT_TRUE(fs::exists(dir.path() / "split.partial/checkpoints/checkpoint_000003.h5"));

  // Once the disk is fixed, the run resumes from that checkpoint and ends as if nothing happened
  // (--continue, as a requeued job script runs it: resume if there is a checkpoint).
  fs::remove_all(blocker);
  const Result second = cordsim(with(base, {"--out", "split", "--continue"}), dir.path());
  ASSERT_EQ(second.status, 0) << second.output;
  expect_same_run(dir.path() / "whole", dir.path() / "split", {"mass_budget.csv", "cordsim.pvd", "vtk/frame_000004.vti"});
}

// A crash after a checkpoint (SIGKILL, a full disk) can leave cordsim.h5 with frames the
// checkpoint does not know, and their metadata half-written: the resumed run rebuilds the file
// from the frames before the checkpoint, and ends as the run that was never stopped.
TEST(CheckpointRun, FramesWrittenAfterTheCheckpointAreDroppedOnResume) {
  const TempDir dir;
  const auto base = with(small_demo(), {"--set", "run.checkpoint_interval=\"10 s\"", "--set", "output.vtk=false"});
  const Result whole = cordsim(with(base, {"--out", "whole"}), dir.path());
  ASSERT_EQ(whole.status, 0) << whole.output;
  const Result first = cordsim(with(base, {"--out", "split", "--stop-at", "20 s"}), dir.path());
  ASSERT_EQ(first.status, 4) << first.output;
  // What a run killed while writing its 30 s frame leaves: a fourth frame and /times entry.
  {
    const fs::path file = dir.path() / "split.partial/cordsim.h5";
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hsize_t dims[3] = {12, 26, 36};
    const std::vector<float> junk(12 * 26 * 36, 7.0f);
    for (const char* species : {"NO", "TNF", "neurturin"}) {
      const std::string name = std::string("/fields/") + species + "/000003";
      const hid_t space = H5Screate_simple(3, dims, nullptr);
      const hid_t d = H5Dcreate2(f, name.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      ASSERT_GE(d, 0) << name;
      H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, junk.data());
      H5Dclose(d);
      H5Sclose(space);
    }
    const hid_t times = H5Dopen2(f, "/times", H5P_DEFAULT);
    const hsize_t four = 4, at = 3, one = 1;
    const double t = 30.0;
    ASSERT_GE(H5Dset_extent(times, &four), 0);
    const hid_t file_space = H5Dget_space(times), memory = H5Screate_simple(1, &one, nullptr);
    H5Sselect_hyperslab(file_space, H5S_SELECT_SET, &at, nullptr, &one, nullptr);
    H5Dwrite(times, H5T_NATIVE_DOUBLE, memory, file_space, H5P_DEFAULT, &t);
    H5Sclose(memory);
    H5Sclose(file_space);
    H5Dclose(times);
    H5Fclose(f);
    std::ofstream(dir.path() / "split.partial/mass_budget.csv", std::ios::app) << "30,1,2,3\n";
  }
  const Result second = cordsim(with(base, {"--resume", "split"}), dir.path());
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_TRUE(mentions(second, "holds frames written after the checkpoint: keeping its first 3 frames in a rebuilt file"))
      << second.output;
  EXPECT_FALSE(fs::exists(dir.path() / "split/cordsim.h5.rebuild.tmp"));
  expect_same_run(dir.path() / "whole", dir.path() / "split", {"mass_budget.csv", "summary.json", "cordsim.xdmf"});
}

}  // namespace
