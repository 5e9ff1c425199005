#include "tempo/trainer/signal_handling.h"

#include <csignal>
#include <cstdio>

#include <signal.h>

namespace tempo {
namespace {

constexpr int kSignals[] = {SIGTERM, SIGINT};
constexpr int kNumSignals = sizeof(kSignals) / sizeof(kSignals[0]);

volatile std::sig_atomic_t g_pending = 0;
int g_depth = 0;
struct sigaction g_previous[kNumSignals];
bool g_installed[kNumSignals] = {};
struct sigaction g_previous_xfsz;
bool g_xfsz_installed = false;

extern "C" void tempo_on_stop_signal(int signal_number) {
  if (g_pending != 0) {
    // Second signal: stop now, dying by the signal as if no handler had been installed.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signal_number, &default_action, nullptr);
    raise(signal_number);
    return;
  }
  g_pending = signal_number;
}

}  // namespace

SignalGuard::SignalGuard() {
  if (g_depth++ > 0) return;
  g_pending = 0;
  struct sigaction action {};
  action.sa_handler = tempo_on_stop_signal;
  sigemptyset(&action.sa_mask);
  for (int s : kSignals) sigaddset(&action.sa_mask, s);  // the two never interleave
  action.sa_flags = SA_RESTART;  // a checkpoint write in progress is not interrupted by EINTR
  for (int i = 0; i < kNumSignals; ++i) g_installed[i] = sigaction(kSignals[i], &action, &g_previous[i]) == 0;
  // A write past the file-size limit (ulimit -f) would kill the process by SIGXFSZ mid-save, with no
  // message and a temporary left behind; ignored, the write fails with EFBIG and the save reports it
  // like a full disk (save_ignore_errors applies).
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  g_xfsz_installed = sigaction(SIGXFSZ, &ignore, &g_previous_xfsz) == 0;
}

SignalGuard::~SignalGuard() {
  if (--g_depth > 0) return;
  for (int i = 0; i < kNumSignals; ++i) {
    if (g_installed[i]) sigaction(kSignals[i], &g_previous[i], nullptr);
    g_installed[i] = false;
  }
  if (g_xfsz_installed) sigaction(SIGXFSZ, &g_previous_xfsz, nullptr);
  g_xfsz_installed = false;
}

int SignalGuard::pending() { return static_cast<int>(g_pending); }

void SignalGuard::clear() { g_pending = 0; }

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: break;
  }
  static thread_local char text[32];
  std::snprintf(text, sizeof(text), "signal %d", signal_number);
  return text;
}

}  // namespace tempo
