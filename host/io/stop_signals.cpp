#include "host/io/stop_signals.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <initializer_list>

namespace cordsim {
namespace {

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_exit_pending = 0;
std::atomic<int> g_writing{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free counter");

void say(const char* text) {
  // Only write(2) here (async-signal-safe); a short write to stderr is not worth a retry.
  std::size_t length = 0;
  while (text[length] != '\0') ++length;
  const ssize_t ignored = ::write(STDERR_FILENO, text, length);
  (void)ignored;
}

[[noreturn]] void exit_now() {
  say("cordsim: second signal: exiting at once (exit 5); the last checkpoint is kept\n");
  std::_Exit(second_signal_exit_code);
}

extern "C" void on_stop_signal(int signal) {
  if (g_signal != 0) {
    if (g_writing.load() > 0) {
      g_exit_pending = 1;
      say("cordsim: second signal: exiting once the file being written is complete\n");
      return;
    }
    exit_now();
  }
  g_signal = signal;
  say(signal == SIGTERM   ? "cordsim: SIGTERM: finishing the current step, then writing a checkpoint "
                            "(a second signal exits at once)\n"
      : signal == SIGINT  ? "\ncordsim: SIGINT: finishing the current step, then writing a checkpoint "
                            "(a second signal exits at once)\n"
                          : "cordsim: SIGUSR1: finishing the current step, then writing a checkpoint "
                            "(a second signal exits at once)\n");
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // Restart interrupted system calls: a signal must not turn a write into an I/O error.
  action.sa_flags = SA_RESTART;
  for (int signal : {SIGTERM, SIGINT, SIGUSR1}) sigaction(signal, &action, nullptr);
}

void ignore_stop_signals() {
  for (int signal : {SIGTERM, SIGINT, SIGUSR1}) std::signal(signal, SIG_IGN);
}

void default_stop_signals() {
  for (int signal : {SIGTERM, SIGINT, SIGUSR1}) std::signal(signal, SIG_DFL);
}

int stop_signal() { return int(g_signal); }

const char* signal_name(int signal) {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGUSR1: return "SIGUSR1";
    default: return "a signal";
  }
}

void clear_stop_signal() {
  g_signal = 0;
  g_exit_pending = 0;
}

WriteGuard::WriteGuard() { g_writing.fetch_add(1); }

WriteGuard::~WriteGuard() {
  if (g_writing.fetch_sub(1) == 1 && g_exit_pending) exit_now();
}

}  // namespace cordsim
