#pragma once
// Progress of a long run: on a terminal, one line rewritten in place (simulated time in the run's
// time unit, seconds or days for an ALS run, % done, stencil sweeps per second, ETA); in batch logs (stdout not a terminal), a plain log line every
// `log_period_s` seconds of wall time, so that a SLURM log shows the run is alive without
// filling up.
#include <chrono>
#include <string>

#include "host/io/run_output.hpp"  // TimeUnit

namespace cordsim {

class ProgressReporter {
 public:
  // `unit`: the unit the times are shown in (time_unit_of(scenario), as the output files).
  ProgressReporter(double end_time_s, bool terminal, TimeUnit unit = {}, double log_period_s = 30.0);

  // The run has reached simulated time t_s after `sweeps` stencil sweeps in all.
  void update(double t_s, long sweeps);

  // A resumed run starts at t_s with `sweeps` done: rate and ETA count from there.
  void starting_at(double t_s, long sweeps) {
    start_t_s_ = t_s;
    start_sweeps_ = sweeps;
  }

  // The text of the progress line at t_s after `sweeps` sweeps in all and `elapsed_s` of wall time
  // in this process, e.g. "t = 75.8 d of 150 d (50.5%), 1.2e+03 sweeps/s, ETA 0:01:02".
  std::string text(double t_s, long sweeps, double elapsed_s) const;

  // Erases the terminal line so that a log line can follow (no-op in batch mode).
  void clear();

  // Whether stdout is a terminal.
  static bool stdout_is_terminal();

 private:
  using Clock = std::chrono::steady_clock;
  double end_time_s_;
  bool terminal_;
  TimeUnit unit_;
  double log_period_s_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = start_;
  bool line_shown_ = false;
  double start_t_s_ = 0.0;
  long start_sweeps_ = 0;
};

}  // namespace cordsim
