// Multi-process training, end to end: real ranks of the tempo program on 127.0.0.1, started by
// its own launcher (`tempo train --nproc 2`) or by hand with torchrun's environment, one ATen
// thread each. Every run is bounded by `timeout`; each test takes seconds.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>
#include <string>

#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/tree.h"

namespace fs = std::filesystem;

namespace {

struct Dir {
  fs::path path;
  Dir() {
    path = fs::temp_directory_path() / ("tempo-ranks-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
};

// An 8-batch run of an MLP with dropout (so each rank's generator matters) on synthetic data.
std::string config(const std::string& folder, const std::string& extra = "") {
  return "run_name: ranks\nseed: 5\nmax_duration: 8ba\nsave_folder: '" + folder + "'" +
         "\nsave_interval: 2ba\nautoresume: true\n"
         "model:\n  mlp: {hidden: [32], dropout: 0.2}\n"
         "train_loader:\n  synthetic: {num_samples: 512, batch_size: 32, shuffle: true}\n"
         "optimizers:\n  adam: {lr: 1.0e-2}\n" + extra;
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a bash script in `dir`; returns its exit status. The script goes through a file, so `$!`,
// `$?` and quotes reach bash untouched by the /bin/sh that std::system runs.
int shell(const fs::path& dir, const std::string& command) {
  static int n = 0;
  const auto script = dir / ("step" + std::to_string(n++) + ".sh");
  std::ofstream(script) << "cd '" << dir.string() << "'\nexport OMP_NUM_THREADS=1\n" << command << "\n";
  const int status = std::system(("bash '" + script.string() + "'").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string tempo_cli() { return TEMPO_CLI_PATH; }

c10::impl::GenericDict section(const fs::path& checkpoint, const std::string& key) {
  return tempo::tree_dict(tempo::tree_at(tempo::tree_dict(tempo::read_checkpoint(checkpoint.string()), ""), "state", ""), "state")
      .at(key)
      .toGenericDict();
}

double max_difference(const c10::impl::GenericDict& a, const c10::impl::GenericDict& b) {
  double worst = 0;
  for (const auto& entry : a) {
    const auto x = entry.value().toTensor();
    const auto y = b.at(entry.key()).toTensor();
    worst = std::max(worst, (x - y).abs().max().item<double>());
  }
  return worst;
}

bool same_tree(const c10::IValue& a, const c10::IValue& b) {
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

}  // namespace

TEST_SUITE("distributed") {

TEST_CASE("two ranks of batch 32 train as one rank of batch 64") {
  Dir dir;
  // SGD without dropout: the only difference is the order of summation in the mean gradient (each
  // rank's mean of 32, averaged, against one mean of 64), a few float32 ulps per step.
  const auto cfg = "run_name: eq\nseed: 5\nmax_duration: 8ba\nsave_folder: \"{run_name}-{world_size}\"\n"
                   "save_interval: 8ba\nmodel:\n  mlp: {hidden: [32], dropout: 0.0}\n"
                   "train_loader:\n  synthetic: {num_samples: 512, batch_size: 32, shuffle: true}\n"
                   "optimizers:\n  sgd: {lr: 0.1}\n";
  write(dir.path / "eq.yaml", cfg);
  REQUIRE(shell(dir.path, "timeout 120 " + tempo_cli() + " train eq.yaml train_loader.synthetic.batch_size=64 > one.log 2>&1") == 0);
  REQUIRE_MESSAGE(shell(dir.path, "timeout 120 " + tempo_cli() + " train --nproc 2 eq.yaml > two.log 2>&1") == 0,
                  read(dir.path / "two.log"));
  const auto one = section(dir.path / "eq-1/ep0-ba8-rank0.pt", "model");
  const auto two = section(dir.path / "eq-2/ep0-ba8-rank0.pt", "model");
  // Measured 3e-8 on weights of magnitude 0.27; gradients that were not averaged differ by 1e-2.
  CHECK(max_difference(one, two) < 1e-6);
  // Samples count every rank's, as Composer counts them.
  const auto timestamp = tempo::tree_dict(section(dir.path / "eq-2/ep0-ba8-rank0.pt", "timestamp").at("Timestamp"), "");
  CHECK(timestamp.at("sample").toInt() == 512);
  CHECK(!fs::exists(dir.path / "eq-2/ep0-ba8-rank1.pt"));  // rank 0 writes the checkpoints
}

TEST_CASE("a two-rank run resumed mid-epoch ends bit-exact, with every rank's RNG in the checkpoint") {
  for (const std::string async : {"false", "true"}) {
    CAPTURE(async);
    Dir dir;
    write(dir.path / "r.yaml", config("{run_name}", "save_async: " + async + "\n"));
    REQUIRE(shell(dir.path, "timeout 120 " + tempo_cli() + " train --nproc 2 r.yaml save_folder=whole > whole.log 2>&1") == 0);
    REQUIRE(shell(dir.path, "timeout 120 " + tempo_cli() + " train --nproc 2 r.yaml save_folder=parts max_duration=4ba > a.log 2>&1") == 0);
    REQUIRE_MESSAGE(shell(dir.path, "timeout 120 " + tempo_cli() + " train --nproc 2 r.yaml save_folder=parts > b.log 2>&1") == 0,
                    read(dir.path / "b.log"));
    const auto whole = tempo::read_checkpoint((dir.path / "whole/ep0-ba8-rank0.pt").string());
    const auto parts = tempo::read_checkpoint((dir.path / "parts/ep0-ba8-rank0.pt").string());
    const auto state_of = [](const c10::IValue& tree) { return tree.toGenericDict().at("state").toGenericDict(); };
    CHECK(same_tree(state_of(whole).at("model"), state_of(parts).at("model")));
    CHECK(same_tree(state_of(whole).at("optimizers"), state_of(parts).at("optimizers")));
    const auto rng = whole.toGenericDict().at("rng").toListRef();
    REQUIRE(rng.size() == 2);
    CHECK(!torch::equal(rng[0].toGenericDict().at("torch").toTensor(), rng[1].toGenericDict().at("torch").toTensor()));
    CHECK(same_tree(whole.toGenericDict().at("rng"), parts.toGenericDict().at("rng")));
  }
}

TEST_CASE("SIGTERM to the launcher stops every rank at one batch, checkpointed, with status 143") {
  Dir dir;
  write(dir.path / "t.yaml", config("ckpt"));
  // No `timeout` in front (it would take the signal itself); a watchdog bounds the run instead.
  const int status = shell(dir.path, tempo_cli() + " train --nproc 2 t.yaml max_duration=100000ba save_interval=1000000ba "
                                     "> t.log 2>&1 & pid=$!; (sleep 60; kill -KILL $pid) 2>/dev/null & dog=$!; "
                                     "sleep 4; kill -TERM $pid; wait $pid; s=$?; kill $dog; exit $s");
  CHECK_MESSAGE(status == 143, read(dir.path / "t.log"));
  std::vector<fs::path> saved;
  for (const auto& entry : fs::directory_iterator(dir.path / "ckpt")) {
    if (entry.path().extension() == ".pt" && entry.path().filename().string().rfind("ep", 0) == 0) saved.push_back(entry.path());
  }
  REQUIRE(saved.size() == 1);  // the stop's checkpoint, written once, by rank 0
  CHECK(tempo::read_checkpoint(saved[0].string()).toGenericDict().at("rng").toListRef().size() == 2);
}

TEST_CASE("ranks configured differently stop at start, naming the key") {
  Dir dir;
  write(dir.path / "c.yaml", config("ckpt"));
  const std::string env = "WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$((20000 + RANDOM % 20000)) ";
  shell(dir.path, "export " + env + "; RANK=0 LOCAL_RANK=0 timeout 60 " + tempo_cli() + " train c.yaml seed=1 > r0.log 2>&1 & "
                  "RANK=1 LOCAL_RANK=1 timeout 60 " + tempo_cli() + " train c.yaml seed=2 > r1.log 2>&1; wait");
  const auto log = read(dir.path / "r0.log") + read(dir.path / "r1.log");
  CHECK_MESSAGE(log.find("rank 1's seed is '2' but rank 0's is '1'") != std::string::npos, log);
  CHECK(!fs::exists(dir.path / "ckpt/ep0-ba2-rank0.pt"));
}

TEST_CASE("a rank stopped by SIGSTOP ends the others within dist_timeout, naming it") {
  Dir dir;
  write(dir.path / "h.yaml", config("ckpt", "dist_timeout: 3\n"));
  const std::string env = "WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$((20000 + RANDOM % 20000)) ";
  const auto start = std::chrono::steady_clock::now();
  const int status = shell(
      dir.path, "export " + env + "; RANK=0 LOCAL_RANK=0 timeout 60 " + tempo_cli() +
                    " train h.yaml max_duration=1000000ba save_interval=1000000ba > r0.log 2>&1 & p0=$!; "
                    "RANK=1 LOCAL_RANK=1 " + tempo_cli() +  // no `timeout`: $p1 must be tempo itself, to stop it
                    " train h.yaml max_duration=1000000ba save_interval=1000000ba > r1.log 2>&1 & p1=$!; "
                    "sleep 4; kill -STOP $p1; t=$(date +%s%N); wait $p0; s=$?; "
                    "echo $(( ($(date +%s%N) - t) / 1000000 )) > waited; kill -KILL $p1; exit $s");
  const double waited = std::stod("0" + read(dir.path / "waited")) / 1000.0;  // milliseconds
  const auto log = read(dir.path / "r0.log");
  CHECK(status != 0);
  CHECK(status != 124);  // not ended by the outer timeout
  CHECK_MESSAGE(log.find("rank 1 stopped answering") != std::string::npos, log);
  // dist_timeout (3 s) plus the wait for the heartbeat to go stale (at most 4.5 s) plus start-up.
  CHECK(waited < 3 + 4.5 + 5);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(50));
}

}  // TEST_SUITE
