#include "host/cli/progress.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

namespace cordsim {
namespace {

std::string clock_time(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--:--";
  const long s = long(seconds + 0.5);
  return fmt::format("{}:{:02d}:{:02d}", s / 3600, int(s / 60 % 60), int(s % 60));
}

}  // namespace

ProgressReporter::ProgressReporter(double end_time_s, bool terminal, TimeUnit unit, double log_period_s)
    : end_time_s_(end_time_s), terminal_(terminal), unit_(std::move(unit)), log_period_s_(log_period_s) {}

bool ProgressReporter::stdout_is_terminal() { return isatty(fileno(stdout)) == 1; }

void ProgressReporter::update(double t_s, long sweeps) {
  const auto now = Clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  // A terminal is refreshed four times a second; a batch log gets a line per period.
  if (since_last < (terminal_ ? 0.25 : log_period_s_)) return;
  last_ = now;
  const std::string line = text(t_s, sweeps, std::chrono::duration<double>(now - start_).count());
  if (terminal_) {
    std::printf("\r\033[K  %s", line.c_str());
    std::fflush(stdout);
    line_shown_ = true;
  } else {
    spdlog::info("progress: {}", line);
  }
}

std::string ProgressReporter::text(double t_s, long sweeps, double elapsed) const {
  const double done = end_time_s_ > 0 ? std::min(1.0, t_s / end_time_s_) : 1.0;
  // Of what this process has to do (all of it, unless the run was resumed).
  const double left = end_time_s_ - start_t_s_;
  const double done_here = left > 0 ? std::min(1.0, (t_s - start_t_s_) / left) : 1.0;
  const double eta = done_here > 0 ? elapsed * (1.0 - done_here) / done_here : NAN;
  // Days to one decimal ("t = 75.8 d of 150 d"): a disease run advances by hours per step.
  const bool days = unit_.symbol == "d";
  const double t = t_s / unit_.seconds, end = end_time_s_ / unit_.seconds;
  const std::string now = days ? fmt::format("{:.1f}", t) : fmt::format("{:.6g}", t);
  return fmt::format("t = {} {} of {:.6g} {} ({:.1f}%), {:.3g} sweeps/s, ETA {}", now, unit_.symbol, end, unit_.symbol,
                     100.0 * done, elapsed > 0 ? double(sweeps - start_sweeps_) / elapsed : 0.0, clock_time(eta));
}

void ProgressReporter::clear() {
  if (!terminal_ || !line_shown_) return;
  std::printf("\r\033[K");
  std::fflush(stdout);
  line_shown_ = false;
}

}  // namespace cordsim
