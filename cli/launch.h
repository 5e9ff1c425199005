// A local launcher, like `torchrun --standalone --nproc-per-node N` or Composer's `composer -n N`,
// for users without Python: `tempo train --nproc N ...` runs N copies of a program on this machine,
// each told its rank through the environment variables torchrun sets, so that the program's
// c10d process group finds its peers. It only starts, watches and stops processes; it trains
// nothing and knows nothing of training.
//
// launch_local(options, argv) starts options.nproc() children running argv (argv[0] an absolute
// path, run with execve, no PATH search), rank i with this process's environment plus:
//   RANK=LOCAL_RANK=ROLE_RANK=i   WORLD_SIZE=LOCAL_WORLD_SIZE=ROLE_WORLD_SIZE=N
//   GROUP_RANK=0  GROUP_WORLD_SIZE=1  ROLE_NAME=default
//   MASTER_ADDR  as set by the user, else 127.0.0.1
//   MASTER_PORT  as set by the user, else a TCP port free on 127.0.0.1 when the launcher asked
//   TORCHELASTIC_RESTART_COUNT=0  TORCHELASTIC_MAX_RESTARTS=0  TORCHELASTIC_RUN_ID=<random hex>
//   TORCHELASTIC_USE_AGENT_STORE=False (no agent hosts a store: rank 0's is the one at MASTER_PORT)
//   TORCH_NCCL_ASYNC_ERROR_HANDLING=1 unless set (torchrun's default)
//   OMP_NUM_THREADS=1 when N > 1 and the user did not set it (as torchrun does, said once on
//                 options.messages(): N ranks of a full-width OpenMP pool each would overload the CPUs)
// Children inherit stdin, stdout and stderr, and each runs in a process group of its own, so a
// Ctrl-C at the terminal reaches the launcher alone and each child gets it exactly once, forwarded
// (a tempo rank takes a second SIGINT as "stop at once, without a checkpoint"); signals for a child
// go to its process group, as torchrun's killpg does. Each child also
// gets SIGTERM if the launcher dies (PR_SET_PDEATHSIG; the calling thread must outlive the launch,
// which holds when it is the main thread), so none is left orphaned.
//
// While children run:
// - SIGTERM, SIGINT and SIGHUP sent to the launcher are forwarded to every running child, each
//   time one arrives, and the launcher goes on waiting for them;
// - the first child to exit with a non-zero status or die by a signal is reported on
//   options.messages() as one line, "tempo: rank 1 (pid 1234) exited with status 3; stopping the
//   other ranks" (or "was killed by SIGSEGV"), and every other running child is sent SIGTERM,
//   unless a signal was forwarded to them already (a second one would stop a tempo rank before its
//   checkpoint); from then on the others have options.grace_period() to end, after which those
//   left are sent SIGKILL (said on options.messages(), one line for each).
// Every child is waited for (no zombie is left), and the signal dispositions and mask of the
// calling thread are as they were on return.
//
// Returns 0 when every rank exited with status 0, else the status of the first rank that did not:
// its exit status, or 128+S for a death by signal S, as a shell reports it (so a launcher sent
// SIGTERM whose ranks all stop by it, or exit 143 as tempo does, returns 143).
// Requires: one launch at a time in a process (the signal handlers it installs are per process).
// Throws LaunchError before any child starts when options.nproc() < 1, argv is empty, argv[0] is
// not an absolute path to an executable file, RANK is already set in the environment (this process
// is itself a rank: a launch here would launch recursively), MASTER_PORT is set but not a port
// number, or no free port can be had; and when a child cannot be started (fork or execve fails),
// after stopping and waiting for those already started, so that none is left running.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

#include "tempo/errors/error.h"

namespace tempo::cli {

// Processes that could not be launched (see launch_local).
class LaunchError : public Error {
 public:
  using Error::Error;
};

class LaunchOptions {
 public:
  // Number of processes (ranks) to start; at least 1.
  LaunchOptions& nproc(int n) {
    nproc_ = n;
    return *this;
  }
  int nproc() const { return nproc_; }

  // How long the other ranks have to end after one has failed (they were sent SIGTERM) before
  // they are sent SIGKILL. 30 s by default, torchrun's: enough for a tempo rank to finish its
  // batch and write its checkpoint.
  LaunchOptions& grace_period(std::chrono::milliseconds grace) {
    grace_period_ = grace;
    return *this;
  }
  std::chrono::milliseconds grace_period() const { return grace_period_; }

  // Where the launcher writes its own messages (one line each); std::cerr by default. The
  // children write to the launcher's stdout and stderr file descriptors, not to this stream.
  LaunchOptions& messages(std::ostream& stream) {
    messages_ = &stream;
    return *this;
  }
  std::ostream& messages() const;

 private:
  int nproc_ = 1;
  std::chrono::milliseconds grace_period_ = std::chrono::seconds(30);
  std::ostream* messages_ = nullptr;  // std::cerr
};

int launch_local(const LaunchOptions& options, const std::vector<std::string>& argv);

}  // namespace tempo::cli
