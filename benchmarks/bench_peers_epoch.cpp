// One Fashion-MNIST epoch and one evaluation, whole process against whole process: `tempo train`
// from a YAML file against the same run in Python on the same torch (TEMPO_PYTHON: .venv's torch
// 2.13, whose LibTorch tempo links) as a plain loop and with two peer trainers, MosaicML Composer's
// and PyTorch Lightning's (benchmarks/fashion_mnist_epoch.py {loop|composer|lightning}).
//
// The same work everywhere: read the IDX files, 784-256-10 MLP, Adam lr 1e-3, batch 128
// reshuffled, cross-entropy, one epoch of the 60000 training images, then the accuracy on the
// 10000 test images through each one's own evaluation. Timed: the wall time from starting the
// process to its exit (interpreter or binary start-up, imports, data loading included: what a
// user waits for). Every contender runs with the same number of intra-op threads. Each
// repetition runs all of them in an order rotated every repetition; the ratios are per repetition.
// The test accuracy of each run is printed so equal training can be seen, not assumed.
//
//   bench_peers_epoch [--reps 5] [--python TEMPO_PYTHON] [--tempo PATH] [--script PATH] [--dir /tmp]
#include <ATen/Parallel.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bench_support.h"

#ifndef TEMPO_BENCH_DIR
#define TEMPO_BENCH_DIR "benchmarks"
#endif

namespace {

using Run = bench::Timed;

std::string tempo_next_to_this_binary() {
  char self[PATH_MAX];
  const auto n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "tempo";
  self[n] = '\0';
  return (std::filesystem::path(self).parent_path().parent_path() / "tempo").string();
}

// The run of fashion_mnist_epoch.py in tempo's YAML, logging to a JSON Lines file whose last
// metrics/eval/Accuracy is the test accuracy.
std::string write_config(const std::string& dir, uint64_t seed) {
  const auto path = dir + "/peers_epoch.yaml";
  std::ofstream out(path);
  out << "run_name: peers-epoch\nseed: " << seed << "\nmax_duration: 1ep\neval_interval: 1ep\n"
      << "model:\n  mlp: {hidden: [256], dropout: 0.0}\n"
      << "train_loader:\n  fashion_mnist: {split: train, batch_size: 128, shuffle: true}\n"
      << "eval_loader:\n  fashion_mnist: {split: test, batch_size: 1000}\n"
      << "optimizers:\n  adam: {lr: 1.0e-3}\n"
      << "loggers:\n  file: {filename: " << dir << "/peers_epoch.jsonl}\n";
  return path;
}

double last_number(const std::string& text, const std::string& key) {
  const auto at = text.rfind("\"" + key + "\":");
  if (at == std::string::npos) throw std::runtime_error("no " + key + " in tempo's log");
  return bench::json_number(text.substr(at), key);
}

Run run_tempo(const std::string& tempo, const std::string& dir, uint64_t seed) {
  const auto config = write_config(dir, seed);
  std::filesystem::remove(dir + "/peers_epoch.jsonl");
  const auto start = bench::Clock::now();
  bench::run_command(tempo + " train " + config + " 2>&1");
  Run run;
  run.seconds = bench::seconds_since(start);
  std::ifstream log(dir + "/peers_epoch.jsonl");
  run.accuracy = last_number(std::string(std::istreambuf_iterator<char>(log), {}), "metrics/eval/Accuracy");
  return run;
}

Run run_python(const std::string& python, const std::string& script, const std::string& mode, uint64_t seed) {
  const auto start = bench::Clock::now();
  const auto out = bench::run_command(python + " " + script + " " + mode + " --threads " +
                                      std::to_string(at::get_num_threads()) + " --seed " + std::to_string(seed));
  Run run{bench::seconds_since(start), bench::json_number(out, "accuracy")};
  if (!(run.accuracy > 0)) throw std::runtime_error("unexpected output of " + script + " " + mode + ": " + out);
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5;
  std::string python = bench::default_python();
  std::string tempo = tempo_next_to_this_binary();
  std::string script = std::string(TEMPO_BENCH_DIR) + "/fashion_mnist_epoch.py";
  std::string dir = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--reps") {
      reps = std::stoi(argv[i + 1]);
    } else if (flag == "--python") {
      python = argv[i + 1];
    } else if (flag == "--tempo") {
      tempo = argv[i + 1];
    } else if (flag == "--script") {
      script = argv[i + 1];
    } else if (flag == "--dir") {
      dir = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: %s [--reps N] [--python PATH] [--tempo PATH] [--script PATH] [--dir DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: %s [--reps N] [--python PATH] [--tempo PATH] [--script PATH] [--dir DIR]\n", argv[0]);
    return 2;
  }
  try {
    std::printf("Fashion-MNIST, one epoch and one evaluation, whole process (MLP 784-256-10, Adam, batch 128), %d "
                "repetitions, %d intra-op thread(s) everywhere\n  tempo: %s\n  python: %s\n",
                reps, at::get_num_threads(), tempo.c_str(), python.c_str());
    const std::vector<std::string> names = {"tempo", "loop", "composer", "lightning"};
    std::vector<std::vector<double>> seconds, accuracy;
    bench::run_rotated(
        names, reps,
        [&](size_t which, uint64_t seed) {
          return which == 0 ? run_tempo(tempo, dir, seed) : run_python(python, script, names[which], seed);
        },
        seconds, accuracy);
    const char* what[] = {"", "tempo / plain torch loop (whole process)", "tempo / Composer Trainer (whole process)",
                          "tempo / Lightning Trainer (whole process)"};
    const char* goal[] = {"", "<= 0.5", "<= 0.3", "<= 0.3"};
    for (size_t j = 1; j < names.size(); ++j)
      bench::result("peers_epoch", what[j], bench::ratios(seconds[0], seconds[j]), goal[j]);
    for (size_t j = 1; j < names.size(); ++j) {
      std::vector<double> gap;
      for (size_t i = 0; i < accuracy[0].size(); ++i) gap.push_back(accuracy[0][i] - accuracy[j][i]);
      bench::result("peers_epoch", "tempo - " + names[j] + " (test accuracy)", gap, "");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_peers_epoch: %s\n", e.what());
    return 1;
  }
  return 0;
}
