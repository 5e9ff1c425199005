#include "tempo/cli/launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>

extern char** environ;

namespace tempo::cli {

std::ostream& LaunchOptions::messages() const { return messages_ ? *messages_ : std::cerr; }

namespace {

using Clock = std::chrono::steady_clock;

// The signals forwarded to the children, and those the launcher handles (SIGCHLD only wakes it).
constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP};
constexpr int kHandled[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
constexpr int kHandledCount = sizeof(kHandled) / sizeof(kHandled[0]);

// The write end of the self-pipe while a launch runs, else -1: the one piece of process-wide
// state here, as signal dispositions are per process. The handler only writes the signal's number
// to it (write is async-signal-safe); the launcher's loop reads it back and acts outside the handler.
volatile std::sig_atomic_t g_wake_fd = -1;

void on_signal(int signal_number) {
  const int saved_errno = errno;
  const int fd = g_wake_fd;
  const auto byte = static_cast<unsigned char>(signal_number);
  // A full pipe (tens of thousands of unread signals) drops the byte; the loop is awake anyway.
  if (fd >= 0) (void)!::write(fd, &byte, 1);
  errno = saved_errno;
}

// "SIGKILL", "SIGSEGV", ..., or "signal N".
std::string signal_text(int s) {
  switch (s) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGSYS: return "SIGSYS";
    default: return "signal " + std::to_string(s);
  }
}

// "30 s", "1.5 s".
std::string seconds_text(std::chrono::milliseconds d) {
  std::ostringstream text;
  text << static_cast<double>(d.count()) / 1000.0 << " s";
  return text.str();
}

const char* env_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

// A TCP port nothing listens on at 127.0.0.1 at this instant (the kernel's pick for port 0), as
// torchrun finds one; rank 0's c10d store binds it a moment later. Another program could take it
// in between; a user who must rule that out sets MASTER_PORT.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw LaunchError(std::string("cannot find a free port for MASTER_PORT: socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const int error = errno;
    ::close(fd);
    throw LaunchError(std::string("cannot find a free port on 127.0.0.1 for MASTER_PORT: ") + std::strerror(error) +
                      "; set MASTER_PORT to a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string master_port() {
  const char* set = env_or_null("MASTER_PORT");
  if (!set) return std::to_string(free_port());
  char* end = nullptr;
  errno = 0;
  const long port = std::strtol(set, &end, 10);
  if (errno != 0 || *end != '\0' || port < 1 || port > 65535) {
    throw LaunchError(std::string("MASTER_PORT='") + set + "' in the environment is not a port number (1 to 65535)");
  }
  return std::to_string(port);
}

// 32 hex digits, torchrun's uuid4 in spirit: tells this run's ranks from another's.
std::string run_id() {
  std::random_device device;
  std::ostringstream id;
  id << std::hex;
  for (int i = 0; i < 4; ++i) {
    id.width(8);
    id.fill('0');
    id << static_cast<std::uint32_t>(device());
  }
  return id.str();
}

// Each rank's environment: this process's, less the keys the launcher sets, plus those.
std::vector<std::vector<std::string>> rank_environments(int nproc, std::ostream& messages) {
  const std::string addr = env_or_null("MASTER_ADDR") ? env_or_null("MASTER_ADDR") : "127.0.0.1";
  const std::string port = master_port();
  const std::string id = run_id();
  const std::string n = std::to_string(nproc);
  std::vector<std::pair<std::string, std::string>> common = {
      {"WORLD_SIZE", n},      {"LOCAL_WORLD_SIZE", n},          {"ROLE_WORLD_SIZE", n},
      {"GROUP_RANK", "0"},    {"GROUP_WORLD_SIZE", "1"},        {"ROLE_NAME", "default"},
      {"MASTER_ADDR", addr},  {"MASTER_PORT", port},            {"TORCHELASTIC_RESTART_COUNT", "0"},
      {"TORCHELASTIC_MAX_RESTARTS", "0"},  {"TORCHELASTIC_RUN_ID", id},
      // No agent hosts a store here: rank 0's c10d store is the one at MASTER_PORT.
      {"TORCHELASTIC_USE_AGENT_STORE", "False"}};
  // torchrun's default: NCCL aborts a collective whose peer died, rather than hang in it.
  if (!std::getenv("TORCH_NCCL_ASYNC_ERROR_HANDLING")) common.emplace_back("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1");
  if (nproc > 1 && !std::getenv("OMP_NUM_THREADS")) {
    common.emplace_back("OMP_NUM_THREADS", "1");
    messages << "tempo: OMP_NUM_THREADS=1 for each of the " << nproc
             << " ranks, so that they do not overload the CPUs (as torchrun does); set OMP_NUM_THREADS to tune it\n";
  }
  const char* per_rank[] = {"RANK", "LOCAL_RANK", "ROLE_RANK"};
  auto ours = [&](const std::string& key) {
    return std::any_of(common.begin(), common.end(), [&](const auto& kv) { return kv.first == key; }) ||
           std::any_of(std::begin(per_rank), std::end(per_rank), [&](const char* k) { return key == k; });
  };
  std::vector<std::string> inherited;
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string text = *entry;
    if (!ours(text.substr(0, text.find('=')))) inherited.push_back(text);
  }
  std::vector<std::vector<std::string>> envs;
  for (int rank = 0; rank < nproc; ++rank) {
    auto env = inherited;
    for (const auto& [key, value] : common) env.push_back(key + "=" + value);
    for (const char* key : per_rank) env.push_back(std::string(key) + "=" + std::to_string(rank));
    envs.push_back(std::move(env));
  }
  return envs;
}

// NULL-terminated char* arrays over strings that outlive them: built before fork, since the child
// may only call async-signal-safe functions (no allocation) between fork and execve.
std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Installs the handlers and the self-pipe for the launch, and puts everything back as it was.
class SignalScope {
 public:
  SignalScope() {
    if (g_wake_fd != -1) throw LaunchError("launch_local: another launch is running in this process");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw LaunchError(std::string("cannot start the ranks: pipe: ") + std::strerror(errno));
    }
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    g_wake_fd = write_fd_;
    for (int i = 0; i < kHandledCount; ++i) {
      struct sigaction action {};
      action.sa_handler = on_signal;
      sigemptyset(&action.sa_mask);
      action.sa_flags = SA_RESTART | (kHandled[i] == SIGCHLD ? SA_NOCLDSTOP : 0);
      ::sigaction(kHandled[i], &action, &saved_[i]);
    }
  }
  ~SignalScope() {
    for (int i = 0; i < kHandledCount; ++i) ::sigaction(kHandled[i], &saved_[i], nullptr);
    g_wake_fd = -1;
    ::close(read_fd_);
    ::close(write_fd_);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

  int read_fd() const { return read_fd_; }
  // The caller's disposition of kHandled[i].
  const struct sigaction& saved(int i) const { return saved_[i]; }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  struct sigaction saved_[kHandledCount] {};
};

// Blocks the handled signals in the calling thread while children are forked (so that none
// runs a handler of ours between fork and execve), and restores the caller's mask.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : kHandled) sigaddset(&set, s);
    ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~BlockedSignals() { release(); }
  void release() {
    if (released_) return;
    released_ = true;
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  const sigset_t& old_mask() const { return old_; }

 private:
  sigset_t old_{};
  bool released_ = false;
};

struct Child {
  int rank = 0;
  pid_t pid = -1;
  bool running = false;
};

// Sends a signal to a child's process group (the child and anything it started, as a terminal
// does for a foreground job), or to the child alone when it has left its group.
void signal_child(const Child& child, int s) {
  if (::kill(-child.pid, s) != 0) ::kill(child.pid, s);
}

class Launch {
 public:
  Launch(const LaunchOptions& options, const SignalScope& signals) : options_(options), signals_(signals) {}

  // Forks and execs one rank; returns the execve errno when that failed (the child has then
  // exited and been reaped), else 0.
  int start(int rank, char* const* argv, char* const* envp, const sigset_t& old_mask) {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return errno;
    const pid_t launcher = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int error = errno;
      ::close(report[0]);
      ::close(report[1]);
      return error;
    }
    if (pid == 0) exec_child(launcher, argv, envp, old_mask, signals_, report[1]);
    ::close(report[1]);
    // Both sides set the group, so it holds before either goes on (the usual job-control race).
    ::setpgid(pid, pid);
    children_.push_back({rank, pid, true});
    // The report pipe closes on a successful execve (O_CLOEXEC) or carries the execve errno.
    int exec_errno = 0;
    ssize_t got;
    do got = ::read(report[0], &exec_errno, sizeof(exec_errno));
    while (got < 0 && errno == EINTR);
    ::close(report[0]);
    if (got == static_cast<ssize_t>(sizeof(exec_errno))) {
      int status;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      children_.back().running = false;
      return exec_errno;
    }
    return 0;
  }

  // After a rank could not be started: stops those that were, as after a failure.
  void stop_started() {
    stopping_ = true;
    deadline_ = Clock::now() + options_.grace_period();
    for (const auto& child : children_) {
      if (child.running) signal_child(child, SIGTERM);
    }
  }

  // Waits for every child, forwarding signals and stopping the others after a failure; returns
  // the exit status of the launch.
  int wait_all() {
    for (;;) {
      reap();
      if (running() == 0) break;
      int timeout_ms = -1;
      if (deadline_ && !killed_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline_ - Clock::now()).count();
        if (left <= 0) {
          kill_left();
          continue;
        }
        timeout_ms = static_cast<int>(std::min<long long>(left + 1, INT_MAX));
      }
      pollfd wake{signals_.read_fd(), POLLIN, 0};
      const int ready = ::poll(&wake, 1, timeout_ms);
      if (ready < 0 && errno != EINTR) {
        // poll failing otherwise (ENOMEM) must not leave children unwaited: look again shortly.
        ::usleep(50 * 1000);
      }
      drain();
    }
    return first_failure_.value_or(0);
  }

 private:
  [[noreturn]] static void exec_child(pid_t launcher, char* const* argv, char* const* envp, const sigset_t& old_mask,
                                      const SignalScope& signals, int report_fd) {
    // Only async-signal-safe calls from here to execve: the launcher may have other threads.
    ::setpgid(0, 0);
    // If the launcher dies, this rank is told to stop (and a tempo rank saves its checkpoint).
    // The launcher may have died before the prctl: then the parent is no longer the launcher.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != launcher) ::_exit(128 + SIGTERM);
    // The program starts with the caller's dispositions (execve resets handlers to the default
    // and keeps what is ignored, nohup's SIGHUP say) and the caller's signal mask.
    for (int i = 0; i < kHandledCount; ++i) {
      struct sigaction action {};
      action.sa_handler = signals.saved(i).sa_handler == SIG_IGN ? SIG_IGN : SIG_DFL;
      sigemptyset(&action.sa_mask);
      ::sigaction(kHandled[i], &action, nullptr);
    }
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    ::execve(argv[0], argv, envp);
    const int error = errno;
    (void)!::write(report_fd, &error, sizeof(error));
    ::_exit(127);
  }

  int running() const {
    return static_cast<int>(std::count_if(children_.begin(), children_.end(), [](const Child& c) { return c.running; }));
  }

  // Acts on the signals received since the last look: forwards SIGTERM, SIGINT and SIGHUP.
  void drain() {
    unsigned char bytes[64];
    for (;;) {
      const ssize_t got = ::read(signals_.read_fd(), bytes, sizeof(bytes));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return;
      for (ssize_t i = 0; i < got; ++i) {
        const int s = bytes[i];
        if (std::find(std::begin(kForwarded), std::end(kForwarded), s) == std::end(kForwarded)) continue;
        forwarded_ = true;
        for (const auto& child : children_) {
          if (child.running) signal_child(child, s);
        }
      }
    }
  }

  // Collects every child that has ended (SIGCHLD may merge several into one wake-up).
  void reap() {
    for (auto& child : children_) {
      if (!child.running) continue;
      int status = 0;
      pid_t got;
      do got = ::waitpid(child.pid, &status, WNOHANG);
      while (got < 0 && errno == EINTR);
      if (got == 0) continue;
      child.running = false;
      if (got < 0) {
        // ECHILD: someone else in this process waited for it; its status is lost.
        ended(child, 1, "ended, its status collected elsewhere");
      } else if (WIFSIGNALED(status)) {
        ended(child, 128 + WTERMSIG(status), "was killed by " + signal_text(WTERMSIG(status)));
      } else {
        ended(child, WEXITSTATUS(status), "exited with status " + std::to_string(WEXITSTATUS(status)));
      }
    }
  }

  void ended(const Child& child, int code, const std::string& how) {
    if (code == 0 || first_failure_) return;
    first_failure_ = code;
    if (stopping_) return;
    stopping_ = true;
    deadline_ = Clock::now() + options_.grace_period();
    // After a forwarded signal the ranks are stopping already, and a rank exiting 143 is
    // expected; another SIGTERM would make a tempo rank stop before its checkpoint.
    if (forwarded_) return;
    const bool others = running() > 0;
    auto& out = options_.messages();
    out << "tempo: rank " << child.rank << " (pid " << child.pid << ") " << how
        << (others ? "; stopping the other ranks" : "") << "\n";
    out.flush();
    for (const auto& other : children_) {
      if (other.running) signal_child(other, SIGTERM);
    }
  }

  void kill_left() {
    killed_ = true;
    auto& out = options_.messages();
    for (const auto& child : children_) {
      if (!child.running) continue;
      out << "tempo: rank " << child.rank << " (pid " << child.pid << ") did not stop within "
          << seconds_text(options_.grace_period()) << "; sending SIGKILL\n";
      signal_child(child, SIGKILL);
    }
    out.flush();
  }

  const LaunchOptions& options_;
  const SignalScope& signals_;
  std::vector<Child> children_;
  std::optional<int> first_failure_;
  std::optional<Clock::time_point> deadline_;
  bool stopping_ = false;
  bool forwarded_ = false;
  bool killed_ = false;
};

}  // namespace

int launch_local(const LaunchOptions& options, const std::vector<std::string>& argv) {
  if (options.nproc() < 1) {
    throw LaunchError("cannot launch " + std::to_string(options.nproc()) + " processes: expected 1 or more");
  }
  if (argv.empty() || argv.front().empty() || argv.front().front() != '/') {
    throw LaunchError("cannot launch '" + (argv.empty() ? std::string() : argv.front()) +
                      "': expected the absolute path of a program");
  }
  if (::access(argv.front().c_str(), X_OK) != 0) {
    throw LaunchError("cannot launch '" + argv.front() + "': " + std::strerror(errno));
  }
  if (const char* rank = std::getenv("RANK")) {
    throw LaunchError(std::string("RANK=") + rank +
                      " is set: this process is already one rank of a launched run (by tempo --nproc or "
                      "torchrun), and would launch its own ranks in turn; unset RANK to launch from here");
  }
  auto& messages = options.messages();
  auto envs = rank_environments(options.nproc(), messages);
  messages.flush();
  auto args = argv;
  const auto arg_pointers = c_strings(args);
  std::vector<std::vector<char*>> env_pointers;
  for (auto& env : envs) env_pointers.push_back(c_strings(env));

  // What the children would otherwise print twice: buffered output is flushed before forking.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);

  SignalScope signals;
  Launch launch(options, signals);
  BlockedSignals blocked;
  for (int rank = 0; rank < options.nproc(); ++rank) {
    const int error = launch.start(rank, arg_pointers.data(), env_pointers[rank].data(), blocked.old_mask());
    if (error != 0) {
      launch.stop_started();
      blocked.release();
      launch.wait_all();
      throw LaunchError("cannot start rank " + std::to_string(rank) + " ('" + argv.front() + "'): " +
                        std::strerror(error));
    }
  }
  blocked.release();
  return launch.wait_all();
}

}  // namespace tempo::cli
