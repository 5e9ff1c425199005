// tempo under PyTorch's own launcher: `python -m torch.distributed.run` (torchrun) of TEMPO_PYTHON's
// torch starts the tempo program with --no-python, on one "node" or on two (both on 127.0.0.1),
// and restarts the group when a rank dies (--max-restarts). Each run is bounded by a watchdog.
#include <doctest/doctest.h>

#include "ranks.h"
#include "support/python.h"

using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {

// 300 batches of an MLP with dropout and Adam, checkpoints every 10: long enough (a few seconds)
// for a rank to be killed in the middle.
const char* const kConfig =
    "run_name: k\nseed: 5\nmax_duration: 300ba\nsave_folder: ckpt\nsave_interval: 10ba\n"
    "save_num_checkpoints_to_keep: 2\nautoresume: true\n"
    "model:\n  mlp: {hidden: [256], dropout: 0.2}\n"
    "train_loader:\n  synthetic: {num_samples: 4096, batch_size: 32, shuffle: true}\n"
    "optimizers:\n  adam: {lr: 1.0e-3}\n";

// torchrun, run by bash in the background as $tr (exec: $tr is torchrun itself, whose children are
// the ranks), ended by a watchdog after 120 s at most.
std::string torchrun(const std::string& args, const std::string& log, const std::string& overrides = "") {
  return "(exec " + kPython + " -m torch.distributed.run " + args + " --no-python " + tempo_cli() + " train k.yaml " +
         overrides + " > " + log + " 2>&1) & tr=$!\n" + watchdog("tr", 120);
}

}  // namespace

TEST_SUITE("distributed") {

TEST_CASE("torchrun --max-restarts=1: a rank killed by SIGKILL mid-run, the group restarts, resumes and ends bit-exact") {
  if (skip_without_python_torch()) return;
  Dir dir;
  write(dir.path / "k.yaml", kConfig);
  REQUIRE(shell(dir.path, "timeout 120 " + tempo_cli() + " train --nproc 2 k.yaml save_folder=whole > whole.log 2>&1") == 0);
  const int status = shell(dir.path,
                           torchrun("--nproc_per_node=2 --max-restarts=1 --master_port=$((20000 + RANDOM % 20000))", "k.log") +
                               "for i in $(seq 1200); do ls ckpt/ep0-ba40-rank0.pt >/dev/null 2>&1 && break; sleep 0.05; done\n"
                               "kill -KILL $(pgrep -P $tr | tail -1)\n"  // the newest rank
                               "wait $tr; s=$?; " + stop_watchdog("dog") + "exit $s");
  const auto log = read(dir.path / "k.log");
  REQUIRE_MESSAGE(status == 0, log);
  // It did die and resume (not finish before the kill).
  CHECK_MESSAGE(log.find("exitcode: -9") != std::string::npos, log);
  CHECK_MESSAGE(log.find("resumed from ckpt/ep0-ba") != std::string::npos, log);
  const auto whole = tempo::read_checkpoint((dir.path / "whole/ep4-ba300-rank0.pt").string()).toGenericDict();
  const auto restarted = tempo::read_checkpoint((dir.path / "ckpt/ep4-ba300-rank0.pt").string()).toGenericDict();
  const auto state_of = [](const c10::impl::GenericDict& tree) { return tree.at("state").toGenericDict(); };
  CHECK(same_tree(state_of(whole).at("model"), state_of(restarted).at("model")));
  CHECK(same_tree(state_of(whole).at("optimizers"), state_of(restarted).at("optimizers")));
  CHECK(same_tree(whole.at("rng"), restarted.at("rng")));
}

TEST_CASE("two nodes of one rank each (torchrun --nnodes=2 on 127.0.0.1) train as two local ranks") {
  if (skip_without_python_torch()) return;
  Dir dir;
  write(dir.path / "k.yaml", std::string(kConfig) + "save_filename: ep{epoch}-ba{batch}-lws{local_world_size}-rank{rank}.pt\n");
  REQUIRE(shell(dir.path, "timeout 120 " + tempo_cli() + " train --nproc 2 k.yaml max_duration=20ba save_folder=local > local.log 2>&1") == 0);
  const std::string nodes = "--nnodes=2 --nproc_per_node=1 --master_addr=127.0.0.1 --master_port=$port --node_rank=";
  const int status = shell(dir.path, "port=$((20000 + RANDOM % 20000))\n" +
                                         torchrun(nodes + "0", "n0.log", "max_duration=20ba") + "t0=$tr; d0=$dog\n" +
                                         torchrun(nodes + "1", "n1.log", "max_duration=20ba") +
                                         "wait $t0; s0=$?; wait $tr; s1=$?; " + stop_watchdog("d0") + stop_watchdog("dog") +
                                         "exit $((s0 + s1))");
  REQUIRE_MESSAGE(status == 0, (read(dir.path / "n0.log") + read(dir.path / "n1.log")));
  // torchrun gave each node LOCAL_WORLD_SIZE=1 and GROUP_RANK; the file names show what tempo read.
  const auto local = section(dir.path / "local/ep0-ba20-lws2-rank0.pt", "model");
  const auto nodes_run = section(dir.path / "ckpt/ep0-ba20-lws1-rank0.pt", "model");
  CHECK(max_difference(local, nodes_run) == 0);
}

}  // TEST_SUITE
