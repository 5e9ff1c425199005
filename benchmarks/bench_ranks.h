// The parent side of a benchmark whose ranks are processes: this binary runs itself
// (/proc/self/exe) with torchrun's environment, each child bounded in time, and reads the figures
// rank 0 wrote ("key value" lines). Header-only, beside bench_support.h.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"

extern char** environ;

namespace bench {

namespace fs = std::filesystem;

// A child still running after this long is killed, and the benchmark fails.
constexpr int kChildTimeoutSeconds = 120;


// A TCP port free on 127.0.0.1 now, for rank 0's store (taken by the kernel, so two runs at the
// same time do not collide; another program could still take it before rank 0 does).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // and port 0: the kernel picks one
  socklen_t length = sizeof address;
  const bool found = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  if (fd >= 0) ::close(fd);
  if (!found) throw std::runtime_error("cannot find a free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

// The last 2000 characters of a file.
inline std::string tail_of(const fs::path& path) {
  std::ifstream in(path);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return text.size() <= 2000 ? text : text.substr(text.size() - 2000);
}

class Launcher {
 public:
  Launcher() : self_(fs::read_symlink("/proc/self/exe").string()) {
    dir_ = fs::temp_directory_path() / ("tempo-bench-distributed-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  ~Launcher() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Runs `world` ranks of `--child mode ...` (world 1: no torchrun environment) with `threads`
  // intra-op threads each; returns rank 0's figures. Throws, with the ranks' output, when a rank
  // fails or the group outlives kChildTimeoutSeconds (every rank is then killed).
  std::map<std::string, double> run(const std::string& mode, const std::string& model, int world, int threads,
                                    int rep) {
    const std::string tag = mode + "-" + model + "-" + std::to_string(world) + "-" + std::to_string(rep);
    const fs::path out = dir_ / (tag + ".figures");
    fs::remove(out);
    const int port = world > 1 ? free_port() : 0;
    std::vector<pid_t> pids;
    std::vector<fs::path> logs;
    for (int rank = 0; rank < world; ++rank) {
      std::vector<std::string> env = inherited_environment();
      env.push_back("OMP_NUM_THREADS=" + std::to_string(threads));
      if (world > 1) {
        const std::string r = std::to_string(rank), w = std::to_string(world);
        for (const std::string& kv : {"RANK=" + r, "LOCAL_RANK=" + r, "WORLD_SIZE=" + w, "LOCAL_WORLD_SIZE=" + w,
                                      std::string("MASTER_ADDR=127.0.0.1"), "MASTER_PORT=" + std::to_string(port)}) {
          env.push_back(kv);
        }
      }
      const std::vector<std::string> args{self_, "--child", mode, "--model", model, "--out", out.string(),
                                          "--world", std::to_string(world), "--threads", std::to_string(threads),
                                          "--rep", std::to_string(rep)};
      logs.push_back(dir_ / (tag + ".rank" + std::to_string(rank) + ".log"));
      pids.push_back(spawn(args, env, logs.back()));
    }
    const std::string failure = wait_all(pids);
    if (!failure.empty()) {
      std::string output;
      for (size_t r = 0; r < logs.size(); ++r) output += "--- rank " + std::to_string(r) + ":\n" + tail_of(logs[r]);
      throw std::runtime_error(tag + ": " + failure + "\n" + output);
    }
    std::map<std::string, double> figures;
    std::ifstream in(out);
    std::string key;
    double value = 0;
    while (in >> key >> value) figures[key] = value;
    if (figures.empty()) throw std::runtime_error(tag + ": rank 0 wrote no figures");
    return figures;
  }

 private:
  // This process's environment less what says where a rank stands, and less the thread count.
  static std::vector<std::string> inherited_environment() {
    static const char* dropped[] = {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "GROUP_RANK=",
                                    "NODE_RANK=", "MASTER_ADDR=", "MASTER_PORT=", "TORCHELASTIC_", "OMP_NUM_THREADS="};
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      bool keep = true;
      for (const char* prefix : dropped) keep = keep && std::strncmp(*e, prefix, std::strlen(prefix)) != 0;
      if (keep) env.emplace_back(*e);
    }
    return env;
  }

  // Everything execve needs is built before fork: the child only calls async-signal-safe functions.
  static pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, const fs::path& log) {
    std::vector<char*> argv, envp;
    for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    for (const auto& s : env) envp.push_back(const_cast<char*>(s.c_str()));
    envp.push_back(nullptr);
    const std::string log_path = log.string();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no rank outlives an interrupted benchmark
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    return pid;
  }

  // Waits for every pid; "" when all exited 0, else what went wrong. On the first failure or at
  // the deadline the others are killed at once: a rank whose peer died would wait dist_timeout.
  static std::string wait_all(std::vector<pid_t> pids) {
    const auto deadline = bench::Clock::now() + std::chrono::seconds(kChildTimeoutSeconds);
    std::string failure;
    while (!pids.empty()) {
      for (size_t i = 0; i < pids.size();) {
        int status = 0;
        const pid_t done = ::waitpid(pids[i], &status, WNOHANG);
        if (done == 0) {
          ++i;
          continue;
        }
        if (failure.empty() && (done < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
          failure = "a rank (pid " + std::to_string(pids[i]) + ") " +
                    (done > 0 && WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                                     : "exited with status " + std::to_string(WEXITSTATUS(status)));
        }
        pids.erase(pids.begin() + static_cast<std::ptrdiff_t>(i));
      }
      const bool late = bench::Clock::now() > deadline;
      if (late && failure.empty()) failure = "still running after " + std::to_string(kChildTimeoutSeconds) + " s";
      for (pid_t pid : failure.empty() ? std::vector<pid_t>{} : pids) ::kill(pid, SIGKILL);
      if (!pids.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return failure;
  }

  std::string self_;
  fs::path dir_;
};


}  // namespace bench
