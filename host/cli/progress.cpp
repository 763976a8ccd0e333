#include "host/cli/progress.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

namespace cordsim {
namespace {

std::string clock_time(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--:--";
  const long s = long(seconds + 0.5);
  return fmt::format("{}:{:02d}:{:02d}", s / 3600, int(s / 60 % 60), int(s % 60));
}

}  // namespace

ProgressReporter::ProgressReporter(double end_time_s, bool terminal, double log_period_s)
    : end_time_s_(end_time_s), terminal_(terminal), log_period_s_(log_period_s) {}

bool ProgressReporter::stdout_is_terminal() { return isatty(fileno(stdout)) == 1; }

void ProgressReporter::update(double t_s, long sweeps) {
  const auto now = Clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  // A terminal is refreshed four times a second; a batch log gets a line per period.
  if (since_last < (terminal_ ? 0.25 : log_period_s_)) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double done = end_time_s_ > 0 ? std::min(1.0, t_s / end_time_s_) : 1.0;
  // Of what this process has to do (all of it, unless the run was resumed).
  const double left = end_time_s_ - start_t_s_;
  const double done_here = left > 0 ? std::min(1.0, (t_s - start_t_s_) / left) : 1.0;
  const double eta = done_here > 0 ? elapsed * (1.0 - done_here) / done_here : NAN;
  const std::string text =
      fmt::format("t = {:.6g} s of {:.6g} s ({:.1f}%), {:.3g} sweeps/s, ETA {}", t_s, end_time_s_, 100.0 * done,
                  elapsed > 0 ? double(sweeps - start_sweeps_) / elapsed : 0.0, clock_time(eta));
  if (terminal_) {
    std::printf("\r\033[K  %s", text.c_str());
    std::fflush(stdout);
    line_shown_ = true;
  } else {
    spdlog::info("progress: {}", text);
  }
}

void ProgressReporter::clear() {
  if (!terminal_ || !line_shown_) return;
  std::printf("\r\033[K");
  std::fflush(stdout);
  line_shown_ = false;
}

}  // namespace cordsim
