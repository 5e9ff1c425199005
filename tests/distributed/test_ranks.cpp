// Multi-process training, end to end: real ranks of the tempo program on 127.0.0.1, started by
// its own launcher (`tempo train --nproc 2`) or by hand with torchrun's environment, one ATen
// thread each. Every run is bounded by `timeout`; each test takes seconds.
#include <doctest/doctest.h>

#include <chrono>

#include "ranks.h"

using namespace tempo::testing;
namespace fs = std::filesystem;

namespace {

// An 8-batch run of an MLP with dropout (so each rank's generator matters) on synthetic data.
std::string config(const std::string& folder, const std::string& extra = "") {
  return "run_name: ranks\nseed: 5\nmax_duration: 8ba\nsave_folder: '" + folder + "'" +
         "\nsave_interval: 2ba\nautoresume: true\n"
         "model:\n  mlp: {hidden: [32], dropout: 0.2}\n"
         "train_loader:\n  synthetic: {num_samples: 512, batch_size: 32, shuffle: true}\n"
         "optimizers:\n  adam: {lr: 1.0e-2}\n" + extra;
}

}  // namespace

TEST_SUITE("distributed") {

TEST_CASE("two ranks of batch 64 train as one rank of batch 128") {
  Dir dir;
  // SGD without dropout: the only difference is the order of summation in the mean gradient (each
  // rank's mean of 64, averaged, against one mean of 128), a few float32 ulps per step.
  const auto cfg = "run_name: eq\nseed: 5\nmax_duration: 8ba\nsave_folder: \"{run_name}-{world_size}\"\n"
                   "save_interval: 8ba\nmodel:\n  mlp: {hidden: [32], dropout: 0.0}\n"
                   "train_loader:\n  synthetic: {num_samples: 1024, batch_size: 64, shuffle: true}\n"
                   "optimizers:\n  sgd: {lr: 0.1}\n";
  write(dir.path / "eq.yaml", cfg);
  REQUIRE(shell(dir.path, "timeout 120 " + tempo_cli() + " train eq.yaml train_loader.synthetic.batch_size=128 > one.log 2>&1") == 0);
  REQUIRE_MESSAGE(shell(dir.path, "timeout 120 " + tempo_cli() + " train --nproc 2 eq.yaml > two.log 2>&1") == 0,
                  read(dir.path / "two.log"));
  // Microbatches of 16: gradients accumulate locally and only the last microbatch all-reduces.
  REQUIRE_MESSAGE(shell(dir.path, "timeout 120 " + tempo_cli() + " train --nproc 2 eq.yaml device_train_microbatch_size=16 "
                                  "save_folder=micro > micro.log 2>&1") == 0,
                  read(dir.path / "micro.log"));
  // torch::optim's SGD (not fused): the gradients are views of the Reducer's buckets.
  REQUIRE_MESSAGE(shell(dir.path, "timeout 120 " + tempo_cli() + " train --nproc 2 eq.yaml optimizers.sgd.fused=false "
                                  "save_folder=plain > plain.log 2>&1") == 0,
                  read(dir.path / "plain.log"));
  REQUIRE_MESSAGE(shell(dir.path, "timeout 120 " + tempo_cli() + " train --nproc 2 eq.yaml optimizers.sgd.fused=false "
                                  "device_train_microbatch_size=16 save_folder=plain-micro > pm.log 2>&1") == 0,
                  read(dir.path / "pm.log"));
  const auto one = section(dir.path / "eq-1/ep0-ba8-rank0.pt", "model");
  const auto two = section(dir.path / "eq-2/ep0-ba8-rank0.pt", "model");
  // Measured 3e-8 on weights of magnitude 0.27; gradients that were not averaged differ by 1e-2.
  CHECK(max_difference(one, two) < 1e-6);
  CHECK(max_difference(one, section(dir.path / "micro/ep0-ba8-rank0.pt", "model")) < 1e-6);
  CHECK(max_difference(one, section(dir.path / "plain/ep0-ba8-rank0.pt", "model")) < 1e-6);
  CHECK(max_difference(one, section(dir.path / "plain-micro/ep0-ba8-rank0.pt", "model")) < 1e-6);
  // Samples count every rank's, as Composer counts them.
  const auto timestamp = tempo::tree_dict(section(dir.path / "eq-2/ep0-ba8-rank0.pt", "timestamp").at("Timestamp"), "");
  CHECK(timestamp.at("sample").toInt() == 1024);
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

TEST_CASE("a checkpoint of two ranks resumes on one with the same global batch, and back") {
  Dir dir;
  // SGD without dropout, as in the equivalence test: the world size changes the summation order only.
  write(dir.path / "w.yaml", "run_name: w\nseed: 5\nmax_duration: 8ba\nsave_folder: w\nsave_interval: 2ba\n"
                             "autoresume: true\nmodel:\n  mlp: {hidden: [32], dropout: 0.0}\n"
                             "train_loader:\n  synthetic: {num_samples: 1024, batch_size: 32, shuffle: true}\n"
                             "optimizers:\n  sgd: {lr: 0.1}\n");
  const auto run = [&](const std::string& args, const std::string& log) {
    const int status = shell(dir.path, "timeout 120 " + tempo_cli() + " train " + args + " > " + log + " 2>&1");
    REQUIRE_MESSAGE(status == 0, read(dir.path / log));
    return read(dir.path / log);
  };
  run("--nproc 2 w.yaml save_folder=whole", "whole.log");
  // Two ranks of 32 for 4 batches, then one rank of 64 (mid-epoch: 256 of 1024 samples seen).
  run("--nproc 2 w.yaml save_folder=down max_duration=4ba", "a.log");
  const auto down = run("w.yaml save_folder=down train_loader.synthetic.batch_size=64", "b.log");
  CHECK_MESSAGE(down.find("holds the RNG states of 2 ranks; this run has 1: those of ranks 1..1 are dropped") != std::string::npos, down);
  CHECK(down.find("resumed from down/ep0-ba4-rank0.pt at epoch 0, batch 4, sample 256") != std::string::npos);
  // One rank of 64, then two of 32.
  run("w.yaml save_folder=up max_duration=4ba train_loader.synthetic.batch_size=64", "c.log");
  const auto up = run("--nproc 2 w.yaml save_folder=up", "d.log");
  CHECK_MESSAGE(up.find("holds the RNG states of 1 rank(s): rank 1 starts its generators from the run's seed") != std::string::npos, up);
  const auto whole = section(dir.path / "whole/ep0-ba8-rank0.pt", "model");
  // Measured 3e-8 (float32 summation order); a wrong data position would differ by 1e-2.
  CHECK(max_difference(whole, section(dir.path / "down/ep0-ba8-rank0.pt", "model")) < 1e-6);
  CHECK(max_difference(whole, section(dir.path / "up/ep0-ba8-rank0.pt", "model")) < 1e-6);
  CHECK(tempo::read_checkpoint((dir.path / "up/ep0-ba8-rank0.pt").string()).toGenericDict().at("rng").toListRef().size() == 2);
}

TEST_CASE("SIGTERM to the launcher stops every rank at one batch, checkpointed, with status 143") {
  Dir dir;
  write(dir.path / "t.yaml", config("ckpt"));
  // No `timeout` in front (it would take the signal itself); a watchdog bounds the run instead.
  const int status = shell(dir.path, tempo_cli() + " train --nproc 2 t.yaml max_duration=100000ba save_interval=1000000ba "
                                     "> t.log 2>&1 & pid=$!; " + watchdog("pid", 60) +
                                     "sleep 4; kill -TERM $pid; wait $pid; s=$?; " + stop_watchdog("dog") + "exit $s");
  CHECK_MESSAGE(status == 143, read(dir.path / "t.log"));
  std::vector<fs::path> saved;
  for (const auto& entry : fs::directory_iterator(dir.path / "ckpt")) {
    if (entry.path().extension() == ".pt" && entry.path().filename().string().rfind("ep", 0) == 0) saved.push_back(entry.path());
  }
  REQUIRE(saved.size() == 1);  // the stop's checkpoint, written once, by rank 0
  CHECK(tempo::read_checkpoint(saved[0].string()).toGenericDict().at("rng").toListRef().size() == 2);
}

TEST_CASE("SIGTERM during an evaluation ends it on every rank at its next batch") {
  Dir dir;
  // Each evaluation takes ~6 s (200000 samples through a 2048-wide MLP, on one thread a rank);
  // the signal comes 3 s in, during the first one, and the ranks must agree at its next batch
  // rather than finish it.
  write(dir.path / "e.yaml", "run_name: e\nseed: 5\nmax_duration: 1000ba\nsave_folder: ckpt\neval_interval: 1ba\n"
                             "model:\n  mlp: {in_features: 64, hidden: [2048, 2048]}\n"
                             "train_loader:\n  synthetic: {num_samples: 4096, batch_size: 32, shape: [64]}\n"
                             "eval_loader:\n  synthetic: {num_samples: 200000, batch_size: 256, shape: [64]}\n"
                             "optimizers:\n  sgd: {lr: 0.01}\n");
  const int status = shell(dir.path, tempo_cli() + " train --nproc 2 e.yaml > e.log 2>&1 & pid=$!; " + watchdog("pid", 60) +
                                         "sleep 3; t=$(date +%s%N); kill -TERM $pid; wait $pid; s=$?; "
                                         "echo $(( ($(date +%s%N) - t) / 1000000 )) > took; " + stop_watchdog("dog") + "exit $s");
  const auto log = read(dir.path / "e.log");
  CHECK_MESSAGE(status == 143, log);
  CHECK_MESSAGE(log.find("stopped by SIGTERM after batch 1;") != std::string::npos, log);  // in the first evaluation
  // Measured 0.24 s; finishing the evaluation would take seconds.
  CHECK(std::stod("0" + read(dir.path / "took")) < 2000);
}

TEST_CASE("ranks configured differently stop at start, naming the key") {
  Dir dir;
  write(dir.path / "c.yaml", config("ckpt"));
  shell(dir.path, rank_environment(2) + "RANK=0 LOCAL_RANK=0 timeout 60 " + tempo_cli() + " train c.yaml seed=1 > r0.log 2>&1 & "
                  "RANK=1 LOCAL_RANK=1 timeout 60 " + tempo_cli() + " train c.yaml seed=2 > r1.log 2>&1; wait");
  const auto log = read(dir.path / "r0.log") + read(dir.path / "r1.log");
  CHECK_MESSAGE(log.find("rank 1's seed is '2' but rank 0's is '1'") != std::string::npos, log);
  CHECK(!fs::exists(dir.path / "ckpt/ep0-ba2-rank0.pt"));
}

TEST_CASE("a rank stopped by SIGSTOP ends the others within dist_timeout, naming it") {
  Dir dir;
  write(dir.path / "h.yaml", config("ckpt", "dist_timeout: 3\n"));
  const auto start = std::chrono::steady_clock::now();
  const int status = shell(
      dir.path, rank_environment(2) + "RANK=0 LOCAL_RANK=0 timeout 60 " + tempo_cli() +
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
