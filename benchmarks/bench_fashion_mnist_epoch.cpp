// One Fashion-MNIST epoch: tempo's Trainer against the same training written in Python on the
// same LibTorch (TEMPO_PYTHON: .venv's torch 2.13 for the wheel's LibTorch), as a plain loop and with skorch (a Python trainer with
// callbacks); see fashion_mnist_epoch.py for the Python side.
//
// The same work everywhere: 784-256-10 MLP, Adam lr 1e-3, batch 128, reshuffled, cross-entropy,
// one epoch of the 60000 training images, the loss read back every batch. tempo trains through
// Trainer::fit with its defaults (train metrics, prefetching loader, the optimizer YAML's `adam`
// builds, the fused Adam), timed from fit() to its return; Python times its own epoch. A fourth
// contender, tempo with torch::optim's Adam (`fused: false`), shows what the fused step adds. Loading the IDX files, the
// interpreter's start-up and `import torch` are outside every timing. Each repetition runs the
// three, in an order rotated every repetition; the ratios are per repetition. The test accuracy
// of each run is printed so equal training can be seen, not assumed.
//
//   bench_fashion_mnist_epoch [--reps 5] [--python TEMPO_PYTHON] [--script PATH] [--no-skorch]
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_support.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/fashion_mnist.h"
#include "tempo/models/mlp.h"
#include "tempo/optim/fused_adam.h"
#include "tempo/state/rng.h"
#include "tempo/trainer/trainer.h"

#ifndef TEMPO_BENCH_DIR
#define TEMPO_BENCH_DIR "benchmarks"
#endif

namespace {

using Run = bench::Timed;

double test_accuracy(tempo::Model& model, const tempo::TensorDataset& test) {
  torch::NoGradGuard no_grad;
  model.eval();
  int64_t correct = 0;
  const int64_t n = test.size();
  for (int64_t i = 0; i < n; i += 1000) {
    const int64_t len = std::min<int64_t>(1000, n - i);
    const auto logits = model.forward(test.input().narrow(0, i, len));
    correct += logits.argmax(1).eq(test.target().narrow(0, i, len)).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

// The optimizer tempo's `adam` builds by default (fused), or with `fused: false`.
std::shared_ptr<torch::optim::Optimizer> make_adam(const std::vector<at::Tensor>& params, bool fused) {
  if (fused) return std::make_shared<tempo::FusedAdam>(params, torch::optim::AdamOptions(1e-3));
  return std::make_shared<torch::optim::Adam>(params, torch::optim::AdamOptions(1e-3));
}

Run run_tempo(const std::shared_ptr<tempo::TensorDataset>& train, const tempo::TensorDataset& test, uint64_t seed,
              bool fused) {
  tempo::seed_all(seed);
  auto model = std::make_shared<tempo::Mlp>(tempo::MlpOptions().hidden({256}));
  auto loader = std::make_shared<tempo::DataLoader>(train, tempo::DataLoaderOptions().batch_size(128).shuffle(true));
  tempo::Trainer trainer(tempo::TrainerOptions()
                             .model(model)
                             .train_dataloader(loader)
                             .optimizers({make_adam(model->parameters(), fused)})
                             .max_duration(tempo::Time::parse("1ep"))
                             .seed(seed)
                             .run_name("bench"));
  const auto start = bench::Clock::now();
  trainer.fit();
  Run run;
  run.seconds = bench::seconds_since(start);
  run.accuracy = test_accuracy(*model, test);
  return run;
}

Run run_python(const std::string& python, const std::string& script, const std::string& mode, uint64_t seed) {
  const auto out = bench::run_command(python + " " + script + " " + mode + " --threads " +
                                      std::to_string(at::get_num_threads()) + " --seed " + std::to_string(seed));
  Run run{bench::json_number(out, "seconds"), bench::json_number(out, "accuracy")};
  if (!(run.seconds > 0)) throw std::runtime_error("unexpected output of " + script + ": " + out);
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5;
  std::string python = bench::default_python();
  std::string script = std::string(TEMPO_BENCH_DIR) + "/fashion_mnist_epoch.py";
  bool skorch = true;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--no-skorch") {
      skorch = false;
    } else if (i + 1 < argc && flag == "--reps") {
      reps = std::stoi(argv[++i]);
    } else if (i + 1 < argc && flag == "--python") {
      python = argv[++i];
    } else if (i + 1 < argc && flag == "--script") {
      script = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--reps N] [--python PATH] [--script PATH] [--no-skorch]\n", argv[0]);
      return 2;
    }
  }
  try {
    const auto train = tempo::load_fashion_mnist(tempo::Split::TRAIN);
    const auto test = tempo::load_fashion_mnist(tempo::Split::TEST);
    std::printf("Fashion-MNIST, one epoch (MLP 784-256-10, Adam, batch 128), %d repetitions, %d intra-op thread(s) "
                "in both languages\n",
                reps, at::get_num_threads());
    std::vector<std::string> names = {"tempo", "python loop", "tempo plain"};
    if (skorch) names.push_back("skorch");
    std::vector<std::vector<double>> seconds, accuracy;
    bench::run_rotated(
        names, reps,
        [&](size_t which, uint64_t seed) {
          return which == 0   ? run_tempo(train, *test, seed, /*fused=*/true)
                 : which == 1 ? run_python(python, script, "loop", seed)
                 : which == 2 ? run_tempo(train, *test, seed, /*fused=*/false)
                              : run_python(python, script, "skorch", seed);
        },
        seconds, accuracy);
    bench::result("fashion_mnist_epoch", "tempo / python loop (time)", bench::ratios(seconds[0], seconds[1]), "<= 0.7");
    if (skorch) bench::result("fashion_mnist_epoch", "tempo / skorch (time)", bench::ratios(seconds[0], seconds[3]), "<= 0.5");
    bench::result("fashion_mnist_epoch", "tempo fused Adam / torch::optim Adam (time)", bench::ratios(seconds[0], seconds[2]),
                  "");
    std::vector<double> accuracy_gap;
    for (size_t i = 0; i < accuracy[0].size(); ++i) accuracy_gap.push_back(accuracy[0][i] - accuracy[1][i]);
    bench::result("fashion_mnist_epoch", "tempo - python loop (test accuracy)", accuracy_gap, "");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_fashion_mnist_epoch: %s\n", e.what());
    return 1;
  }
  return 0;
}
