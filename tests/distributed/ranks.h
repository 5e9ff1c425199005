// Helpers of the multi-process tests: scratch folders, bash scripts run in them (the ranks are
// real processes of the tempo program or of this test binary), and comparisons of checkpoints.
#pragma once

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/tree.h"

namespace tempo::testing {

namespace fs = std::filesystem;


struct Dir {  // a scratch folder under /tmp, removed at the end
  fs::path path;
  Dir() {
    path = fs::temp_directory_path() / ("tempo-ranks-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  static int& counter() {  // several Dirs in one test
    static int n = 0;
    return n;
  }
};

inline void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

inline std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a bash script in `dir`; returns its exit status. The script goes through a file, so `$!`,
// `$?` and quotes reach bash untouched by the /bin/sh that std::system runs.
inline int shell(const fs::path& dir, const std::string& command) {
  static int n = 0;
  const auto script = dir / ("step" + std::to_string(n++) + ".sh");
  std::ofstream(script) << "cd '" << dir.string() << "'\nexport OMP_NUM_THREADS=1\n" << command << "\n";
  const int status = std::system(("bash '" + script.string() + "'").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// torchrun's environment for `world` ranks on this machine, less RANK and LOCAL_RANK, with a port
// of its own for the store (bash picks it, so that runs at the same time rarely collide).
inline std::string rank_environment(int world) {
  return "export WORLD_SIZE=" + std::to_string(world) + " LOCAL_WORLD_SIZE=" + std::to_string(world) +
         " MASTER_ADDR=127.0.0.1 MASTER_PORT=$((20000 + RANDOM % 20000))\n";
}

// Script lines: a watchdog that kills the process whose pid is in $`pid_variable` after `seconds`
// (its pid in $dog), and the lines that end one early. Its output goes to /dev/null and its sleep
// is killed too: a sleep left behind would hold the test's output open (ctest waits for it).
inline std::string watchdog(const std::string& pid_variable, int seconds) {
  return "(sleep " + std::to_string(seconds) + "; kill -KILL $" + pid_variable + ") >/dev/null 2>&1 & dog=$!\n";
}
inline std::string stop_watchdog(const std::string& dog_variable) {
  return "pkill -P $" + dog_variable + " 2>/dev/null; kill $" + dog_variable + " 2>/dev/null\n";
}

inline std::string tempo_cli() { return TEMPO_CLI_PATH; }

inline c10::impl::GenericDict section(const fs::path& checkpoint, const std::string& key) {
  return tempo::tree_dict(tempo::tree_at(tempo::tree_dict(tempo::read_checkpoint(checkpoint.string()), ""), "state", ""), "state")
      .at(key)
      .toGenericDict();
}

inline double max_difference(const c10::impl::GenericDict& a, const c10::impl::GenericDict& b) {
  double worst = 0;
  for (const auto& entry : a) {
    const auto x = entry.value().toTensor();
    const auto y = b.at(entry.key()).toTensor();
    worst = std::max(worst, (x - y).abs().max().item<double>());
  }
  return worst;
}

inline bool same_tree(const c10::IValue& a, const c10::IValue& b) {
  if (a.isTensor()) return b.isTensor() && torch::equal(a.toTensor(), b.toTensor());
  if (a.isGenericDict()) {
    if (!b.isGenericDict() || a.toGenericDict().size() != b.toGenericDict().size()) return false;
    for (const auto& entry : a.toGenericDict()) {
      if (!b.toGenericDict().contains(entry.key()) || !same_tree(entry.value(), b.toGenericDict().at(entry.key()))) return false;
    }
    return true;
  }
  if (a.isList()) {
    if (!b.isList() || a.toListRef().size() != b.toListRef().size()) return false;
    for (size_t i = 0; i < a.toListRef().size(); ++i) {
      if (!same_tree(a.toListRef()[i], b.toListRef()[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace tempo::testing

