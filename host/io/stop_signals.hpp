#pragma once
// Stopping a run by signal (README "Checkpoint and restart"): SIGTERM, SIGINT and SIGUSR1 (what
// Slurm sends before a time limit, tools/slurm) only set a flag; the run polls it between step
// chunks and slow steps, writes a checkpoint and exits with exit_checkpointed (4). A second signal
// ends the process at once with std::_Exit(second_signal_exit_code) (5) — except while a file of
// the run is being modified in place (a frame appended to cordsim.h5, the commit), which would
// leave it damaged: the exit then waits for the end of that write (a WriteGuard's scope). Every
// other file is written under a temporary name and renamed, so the last checkpoint stays usable.
#include <csignal>

namespace cordsim {

inline constexpr int second_signal_exit_code = 5;

// Installs the handlers (idempotent). Until then, the signals keep their default action.
void install_stop_signal_handlers();

// The first stop signal received, or 0 when none has arrived.
int stop_signal();
inline bool stop_requested() { return stop_signal() != 0; }
const char* signal_name(int signal);

// Forgets a received signal (tests, and a process that runs several jobs).
void clear_stop_signal();

// From now on SIGTERM, SIGINT and SIGUSR1 are ignored: a decomposed run that has written its
// checkpoint and is exiting (Open MPI's mpirun sends SIGTERM to the ranks still finishing once one
// has exited with a nonzero code; they exit with theirs).
void ignore_stop_signals();
// From now on the three signals have their default action again (they end the process): a
// decomposed run that is being aborted, whose launcher ends the ranks with SIGTERM.
void default_stop_signals();

// While one exists, a second signal does not end the process at once but right after the last
// WriteGuard is destroyed.
class WriteGuard {
 public:
  WriteGuard();
  ~WriteGuard();
  WriteGuard(const WriteGuard&) = delete;
  WriteGuard& operator=(const WriteGuard&) = delete;
};

}  // namespace cordsim
