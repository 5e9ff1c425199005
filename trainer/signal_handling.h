// Preemption safety: while a SignalGuard lives, SIGTERM and SIGINT do not kill the process but
// are noted, so the trainer can finish its batch, checkpoint, run FIT_END and return (see
// Trainer::fit). A second signal while one is pending stops at once: the handler restores the
// default action and re-raises, so the process dies by that signal. SIGXFSZ is ignored meanwhile,
// so a checkpoint written past the file-size limit (ulimit -f) fails with EFBIG, a CheckpointError
// like a full disk, instead of killing the process mid-save.
//
// The handler is async-signal-safe: it only stores to a volatile std::sig_atomic_t (and, on the
// second signal, calls sigaction and raise, both async-signal-safe). The flag is the one piece
// of process-wide mutable state outside the registries; signals are per process, so it must be.
// Guards nest: only the outermost installs and restores handlers, so a fit() inside a callback
// of another fit() does not lose the outer run's signal. Not meant for concurrent fits in
// several threads. Throws nothing; a failing sigaction leaves that signal's action unchanged.
#pragma once

namespace tempo {

class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

  // The first signal received since the outermost guard was installed, or 0.
  static int pending();
  // Forgets a pending signal (the next one is again a "first" signal).
  static void clear();
};

// "SIGTERM", "SIGINT", or "signal N".
const char* signal_name(int signal_number);

}  // namespace tempo
