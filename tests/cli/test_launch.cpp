// The local launcher (cli/launch.h) over /bin/sh programs that stand in for ranks: they write
// what they saw (their environment, a marker on a signal) into a scratch folder, so that no test
// trains anything. Every wait is bounded: a rank's script gives up after 30 s at most, and the
// tests that need a rank to be running wait for its "ready" file before acting.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_support.h"
#include "support/temp_dir.h"
#include "tempo/cli/launch.h"
#include "tempo/cli/train.h"

using namespace tempo::testing;
using tempo::cli::launch_local;
using tempo::cli::LaunchError;
using tempo::cli::LaunchOptions;
using Clock = std::chrono::steady_clock;

namespace {

// Sets (or unsets) an environment variable for one test and puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// The variables a launch reads, unset: the tests see the launcher's own choices. OMP_NUM_THREADS
// is set, so that the launcher's note about it is not among the messages checked.
struct CleanLaunchEnv {
  ScopedEnv rank{"RANK", std::nullopt};
  ScopedEnv addr{"MASTER_ADDR", std::nullopt};
  ScopedEnv port{"MASTER_PORT", std::nullopt};
  ScopedEnv omp{"OMP_NUM_THREADS", std::string("1")};
};

// A rank's program: `sh -c SCRIPT`, with D naming the scratch folder and the rank's pid written
// to D/pid.$RANK first.
std::vector<std::string> sh(const TempDir& dir, const std::string& script) {
  return {"/bin/sh", "-c", "D='" + dir.path() + "'; echo $$ > \"$D/pid.$RANK\"; " + script};
}

// Shell lines: wait (at most 30 s) for nothing but signals, and wait (at most 10 s) for a file.
// (A signal to the rank's process group also ends its `sleep`; the shell's "Terminated" note
// about that goes to /dev/null.)
const std::string kIdle = "i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done 2>/dev/null; ";
std::string await_file(const std::string& name) {
  return "i=0; while [ ! -e \"$D/" + name + "\" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; ";
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

bool wait_for(const std::vector<std::string>& paths, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    bool all = true;
    for (const auto& p : paths) all = all && exists(p);
    if (all) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Whether no process has this pid any more: the launcher waited for it (a zombie still answers).
bool gone(const TempDir& dir, int rank) {
  const auto text = read_text(dir / ("pid." + std::to_string(rank)));
  REQUIRE(!text.empty());
  const pid_t pid = std::stoi(text);
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

// `env` output as a map.
std::map<std::string, std::string> read_env(const std::string& path) {
  std::map<std::string, std::string> env;
  std::istringstream lines(read_text(path));
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

// Runs launch_local in a child process of its own, so that a test can send it signals; the
// process exits with launch_local's status (99 if it threw).
pid_t fork_launcher(int nproc, const std::vector<std::string>& argv, const std::string& messages_file) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int status = 99;
    try {
      std::ofstream messages(messages_file);
      status = launch_local(LaunchOptions().nproc(nproc).messages(messages), argv);
    } catch (...) {
    }
    ::_exit(status);
  }
  return pid;
}

// The wait status of the process, or nothing if it is still running after `limit`.
std::optional<int> wait_exit(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  int status = 0;
  pid_t got = 0;
  while ((got = ::waitpid(pid, &status, WNOHANG)) == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (got != pid) return std::nullopt;
  return status;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("launch_local gives each rank torchrun's environment, one MASTER_PORT for all") {
    CleanLaunchEnv clean;
    ScopedEnv omp("OMP_NUM_THREADS", std::nullopt);
    ScopedEnv inherited("TEMPO_LAUNCH_TEST", std::string("inherited"));
    TempDir dir;
    // Each rank records its environment and its process group (field 5 of /proc/PID/stat).
    const auto script = sh(dir, "env > \"$D/env.$RANK\"; cut -d' ' -f5 /proc/$$/stat > \"$D/pgrp.$RANK\"");
    std::ostringstream messages;
    REQUIRE(launch_local(LaunchOptions().nproc(3).messages(messages), script) == 0);

    std::string port, run_id;
    for (int rank = 0; rank < 3; ++rank) {
      CAPTURE(rank);
      const auto env = read_env(dir / ("env." + std::to_string(rank)));
      const auto r = std::to_string(rank);
      CHECK(env.at("RANK") == r);
      CHECK(env.at("LOCAL_RANK") == r);
      CHECK(env.at("ROLE_RANK") == r);
      CHECK(env.at("WORLD_SIZE") == "3");
      CHECK(env.at("LOCAL_WORLD_SIZE") == "3");
      CHECK(env.at("ROLE_WORLD_SIZE") == "3");
      CHECK(env.at("GROUP_RANK") == "0");
      CHECK(env.at("ROLE_NAME") == "default");
      CHECK(env.at("MASTER_ADDR") == "127.0.0.1");
      CHECK(env.at("TORCHELASTIC_RESTART_COUNT") == "0");
      CHECK(env.at("TORCHELASTIC_MAX_RESTARTS") == "0");
      CHECK(env.at("OMP_NUM_THREADS") == "1");
      CHECK(env.at("TEMPO_LAUNCH_TEST") == "inherited");
      const int p = std::stoi(env.at("MASTER_PORT"));
      CHECK((p > 0 && p < 65536));
      if (rank == 0) {
        port = env.at("MASTER_PORT");
        run_id = env.at("TORCHELASTIC_RUN_ID");
        CHECK(run_id.size() == 32);
      }
      CHECK(env.at("MASTER_PORT") == port);
      CHECK(env.at("TORCHELASTIC_RUN_ID") == run_id);
      // Each rank leads a process group of its own, so a terminal's Ctrl-C reaches the launcher alone.
      CHECK(std::stoi(read_text(dir / ("pgrp." + r))) == std::stoi(read_text(dir / ("pid." + r))));
      CHECK(gone(dir, rank));
    }
    CHECK(messages.str().find("OMP_NUM_THREADS=1 for each of the 3 ranks") != std::string::npos);
  }

  TEST_CASE("launch_local keeps the user's MASTER_ADDR, MASTER_PORT and OMP_NUM_THREADS") {
    CleanLaunchEnv clean;
    ScopedEnv addr("MASTER_ADDR", std::string("localhost"));
    ScopedEnv port("MASTER_PORT", std::string("29517"));
    ScopedEnv omp("OMP_NUM_THREADS", std::string("3"));
    TempDir dir;
    std::ostringstream messages;
    REQUIRE(launch_local(LaunchOptions().nproc(2).messages(messages), sh(dir, "env > \"$D/env.$RANK\"")) == 0);
    for (const char* rank : {"0", "1"}) {
      const auto env = read_env(dir / (std::string("env.") + rank));
      CHECK(env.at("RANK") == rank);
      CHECK(env.at("MASTER_ADDR") == "localhost");
      CHECK(env.at("MASTER_PORT") == "29517");
      CHECK(env.at("OMP_NUM_THREADS") == "3");
    }
    CHECK(messages.str().empty());
  }

  TEST_CASE("launch_local returns 0 when every rank exits 0") {
    CleanLaunchEnv clean;
    TempDir dir;
    std::ostringstream messages;
    CHECK(launch_local(LaunchOptions().nproc(4).messages(messages), sh(dir, ": > \"$D/done.$RANK\"; exit 0")) == 0);
    for (int rank = 0; rank < 4; ++rank) {
      CAPTURE(rank);
      CHECK(exists(dir / ("done." + std::to_string(rank))));
      CHECK(gone(dir, rank));
    }
    CHECK(messages.str().find("tempo: rank") == std::string::npos);
  }

  TEST_CASE("launch_local stops the other ranks when one fails, and returns its status") {
    CleanLaunchEnv clean;
    TempDir dir;
    // Rank 0 waits up to 30 s for nothing, and leaves a marker when sent SIGTERM; rank 1 fails
    // once rank 0 is ready for the signal.
    const auto script = sh(dir,
                           "if [ \"$RANK\" = 1 ]; then " + await_file("ready.0") + "exit 3; fi; "
                           "trap 'echo TERM > \"$D/term.$RANK\"; exit 143' TERM; : > \"$D/ready.$RANK\"; " + kIdle);
    std::ostringstream messages;
    const auto start = Clock::now();
    CHECK(launch_local(LaunchOptions().nproc(2).messages(messages), script) == 3);
    CHECK(seconds_since(start) < 10);
    CHECK(exists(dir / "term.0"));
    const auto pid1 = read_text(dir / "pid.1");
    CHECK(messages.str() == "tempo: rank 1 (pid " + pid1.substr(0, pid1.find('\n')) +
                                ") exited with status 3; stopping the other ranks\n");
    CHECK(gone(dir, 0));
    CHECK(gone(dir, 1));
  }

  TEST_CASE("launch_local reports a rank killed by a signal as 128+N") {
    CleanLaunchEnv clean;
    TempDir dir;
    const auto script = sh(dir,
                           "if [ \"$RANK\" = 0 ]; then " + await_file("ready.1") + "kill -KILL $$; fi; "
                           "trap 'echo TERM > \"$D/term.$RANK\"; exit 143' TERM; : > \"$D/ready.$RANK\"; " + kIdle);
    std::ostringstream messages;
    const auto start = Clock::now();
    CHECK(launch_local(LaunchOptions().nproc(2).messages(messages), script) == 128 + SIGKILL);
    CHECK(seconds_since(start) < 10);
    CHECK(exists(dir / "term.1"));
    CHECK(messages.str().find(") was killed by SIGKILL; stopping the other ranks\n") != std::string::npos);
    CHECK(messages.str().rfind("tempo: rank 0 (pid ", 0) == 0);
  }

  TEST_CASE("launch_local forwards SIGTERM to every rank and exits with their status") {
    CleanLaunchEnv clean;
    TempDir dir;
    const auto script = sh(dir, "trap 'echo TERM > \"$D/term.$RANK\"; exit 143' TERM; : > \"$D/ready.$RANK\"; " + kIdle);
    const std::string messages_file = dir / "messages.txt";
    const pid_t launcher = fork_launcher(2, script, messages_file);
    const bool ready = wait_for({dir / "ready.0", dir / "ready.1"}, std::chrono::seconds(10));
    CHECK(ready);
    REQUIRE(::kill(launcher, SIGTERM) == 0);
    auto ended = wait_exit(launcher, std::chrono::seconds(15));
    if (!ended) {
      ::kill(launcher, SIGKILL);  // its ranks then get SIGTERM (PR_SET_PDEATHSIG)
      wait_exit(launcher, std::chrono::seconds(15));
      FAIL("the launcher did not end within 15 s of SIGTERM");
    }
    const int status = *ended;
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 143);
    CHECK(exists(dir / "term.0"));
    CHECK(exists(dir / "term.1"));
    // Forwarded signals are no failure to report.
    CHECK(read_text(messages_file).empty());
    CHECK(gone(dir, 0));
    CHECK(gone(dir, 1));
  }

  TEST_CASE("launch_local's ranks are sent SIGTERM when the launcher dies") {
    CleanLaunchEnv clean;
    TempDir dir;
    const auto script = sh(dir, "trap 'echo TERM > \"$D/term.$RANK\"; exit 143' TERM; : > \"$D/ready.$RANK\"; " + kIdle);
    const pid_t launcher = fork_launcher(2, script, dir / "messages.txt");
    CHECK(wait_for({dir / "ready.0", dir / "ready.1"}, std::chrono::seconds(10)));
    REQUIRE(::kill(launcher, SIGKILL) == 0);
    REQUIRE(wait_exit(launcher, std::chrono::seconds(10)));
    // Orphaned, each rank is told to stop (PR_SET_PDEATHSIG) rather than run on for 30 s.
    CHECK(wait_for({dir / "term.0", dir / "term.1"}, std::chrono::seconds(10)));
  }

  TEST_CASE("launch_local sends SIGKILL to a rank still running after the grace period") {
    CleanLaunchEnv clean;
    TempDir dir;
    // Rank 0 notes SIGTERM and carries on; rank 1 fails once rank 0 is ready.
    const auto script = sh(dir,
                           "if [ \"$RANK\" = 1 ]; then " + await_file("ready.0") + "exit 5; fi; "
                           "trap 'echo TERM > \"$D/term.$RANK\"' TERM; : > \"$D/ready.$RANK\"; " + kIdle);
    std::ostringstream messages;
    const auto start = Clock::now();
    CHECK(launch_local(LaunchOptions().nproc(2).grace_period(std::chrono::seconds(1)).messages(messages), script) ==
          5);
    const double took = seconds_since(start);
    CHECK(took > 0.9);
    CHECK(took < 10);
    CHECK(exists(dir / "term.0"));
    const auto pid0 = read_text(dir / "pid.0");
    CHECK(messages.str().find("tempo: rank 0 (pid " + pid0.substr(0, pid0.find('\n')) +
                              ") did not stop within 1 s; sending SIGKILL\n") != std::string::npos);
    CHECK(gone(dir, 0));
  }

  TEST_CASE("launch_local refuses what it cannot launch, before starting anything") {
    CleanLaunchEnv clean;
    TempDir dir;
    const auto script = sh(dir, ": > \"$D/ran.$RANK\"");
    std::ostringstream messages;
    CHECK_THROWS_WITH_AS(launch_local(LaunchOptions().nproc(0).messages(messages), script),
                         doctest::Contains("expected 1 or more"), LaunchError);
    CHECK_THROWS_WITH_AS(launch_local(LaunchOptions().nproc(1).messages(messages), {"sh", "-c", "true"}),
                         doctest::Contains("expected the absolute path of a program"), LaunchError);
    CHECK_THROWS_WITH_AS(launch_local(LaunchOptions().nproc(1).messages(messages), {dir / "no-such-program"}),
                         doctest::Contains("No such file or directory"), LaunchError);
    {
      ScopedEnv port("MASTER_PORT", std::string("http"));
      CHECK_THROWS_WITH_AS(launch_local(LaunchOptions().nproc(2).messages(messages), script),
                           doctest::Contains("MASTER_PORT='http'"), LaunchError);
    }
    {
      ScopedEnv rank("RANK", std::string("1"));
      CHECK_THROWS_WITH_AS(launch_local(LaunchOptions().nproc(2).messages(messages), script),
                           doctest::Contains("RANK=1 is set"), LaunchError);
    }
    CHECK_FALSE(exists(dir / "ran.0"));
  }

  // `tempo train --nproc`, through the train command itself.
  TEST_CASE("tempo train --nproc: refused inside a launched rank, and checked before launching") {
    CleanLaunchEnv clean;
    TempDir dir;
    const std::string config = dir / "missing.yaml";
    {
      ScopedEnv rank("RANK", std::string("0"));
      for (const auto& args : {std::vector<std::string>{"--nproc", "2", config},
                               std::vector<std::string>{config, "--nproc=2", "max_duration=1ep"}}) {
        const auto r = run_command(tempo::cli::run_train, args);
        CHECK(r.status == 2);
        CHECK(r.err.rfind("tempo train: --nproc: RANK=0 is set", 0) == 0);
        CHECK(r.err.find("run it without --nproc, or unset RANK\n") != std::string::npos);
      }
    }
    // A config error is reported once, by the launcher, which then starts nothing.
    const auto missing = run_command(tempo::cli::run_train, {"--nproc", "2", config});
    CHECK(missing.status == 2);
    CHECK(missing.err.rfind("tempo train: ", 0) == 0);
    CHECK(missing.err.find("missing.yaml") != std::string::npos);

    for (const auto& bad : {"0", "x", "-1", "99999"}) {
      const auto r = run_command(tempo::cli::run_train, {config, "--nproc", bad});
      CHECK(r.status == 2);
      CHECK(r.err == std::string("tempo train: --nproc '") + bad +
                         "': expected a whole number of processes from 1 to 4096\n");
    }
    const auto no_value = run_command(tempo::cli::run_train, {config, "--nproc"});
    CHECK(no_value.status == 2);
    CHECK(no_value.err == "tempo train: --nproc needs a number of processes, e.g. --nproc 2\n");

    const auto help = run_command(tempo::cli::run_train, {"--help"});
    CHECK(help.status == 0);
    CHECK(help.out.find("[--nproc N]") != std::string::npos);
    CHECK(help.out.find("  --nproc N       start N processes on this machine") != std::string::npos);
  }
}
