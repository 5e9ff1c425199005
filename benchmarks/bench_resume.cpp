// Resuming at batch k of an epoch: the time from constructing a Trainer with load_path (reading
// the checkpoint, restoring model, optimizer, RNG and loader position) through training the next
// batch, for k spread over one Fashion-MNIST epoch. tempo's loader addresses batches by (epoch,
// k), so nothing before batch k is read or replayed and the time should not grow with k; a
// framework that replays its iterator (as PyTorch's DataLoader needs) pays for k batches of data.
//
// One run writes the checkpoints (Trainer::fit(duration) up to each k, then the trainer's
// state_dict() as a file); each repetition then resumes from every k, in an order rotated per
// repetition. Reported: the median time per k; per repetition, the ratio of the last k's time to
// batch 1's (the goal: no growth), and the slowest k's median over the fastest k's (the spread).
// The slowest of several noisy times over one is biased above 1 by noise alone, so it carries no goal.
//
//   bench_resume [--reps 5] [--dir /tmp]
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_support.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/fashion_mnist.h"
#include "tempo/models/mlp.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/state/rng.h"
#include "tempo/trainer/trainer.h"

namespace {

tempo::TrainerOptions options(const std::shared_ptr<tempo::TensorDataset>& train) {
  tempo::seed_all(17);
  auto model = std::make_shared<tempo::Mlp>(tempo::MlpOptions().hidden({256}));
  auto loader = std::make_shared<tempo::DataLoader>(train, tempo::DataLoaderOptions().batch_size(128).shuffle(true));
  return tempo::TrainerOptions()
      .model(model)
      .train_dataloader(loader)
      .optimizers({std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3))})
      .max_duration(tempo::Time::parse("2ep"))
      .seed(17)
      .run_name("bench-resume");
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5;
  std::string dir = "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--reps") reps = std::stoi(argv[i + 1]);
    else if (flag == "--dir") dir = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--reps N] [--dir DIR]\n", argv[0]);
      return 2;
    }
  }
  try {
    const auto train = tempo::load_fashion_mnist(tempo::Split::TRAIN);
    const std::filesystem::path folder = std::filesystem::path(dir) / ("tempo-bench-resume-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder);
    const std::vector<int64_t> ks = {1, 100, 234, 400, 468};  // of 469 batches
    std::vector<std::string> paths;
    {
      tempo::Trainer trainer(options(train));
      int64_t at = 0;
      for (const int64_t k : ks) {
        trainer.fit(tempo::Time(k - at, tempo::TimeUnit::BATCH));
        at = k;
        paths.push_back((folder / ("ba" + std::to_string(k) + ".pt")).string());
        tempo::write_checkpoint(trainer.state_dict(), paths.back());
      }
    }
    std::printf("Resume at batch k of a 469-batch Fashion-MNIST epoch (MLP, Adam, batch 128): load_path -> one "
                "batch trained, %d repetitions\n",
                reps);
    std::vector<std::vector<double>> seconds(ks.size());
    for (int rep = 0; rep < reps; ++rep) {
      for (size_t j = 0; j < ks.size(); ++j) {
        const size_t which = (j + static_cast<size_t>(rep)) % ks.size();
        const auto start = bench::Clock::now();
        tempo::Trainer trainer(options(train).load_path(paths[which]));
        if (trainer.state().timestamp.batch_in_epoch() != ks[which]) throw std::runtime_error("resumed at the wrong batch");
        trainer.fit(tempo::Time(1, tempo::TimeUnit::BATCH));
        seconds[which].push_back(bench::seconds_since(start));
      }
    }
    std::printf("\n%8s %12s %20s\n", "k", "median ms", "min-max ms");
    for (size_t j = 0; j < ks.size(); ++j) {
      std::printf("%8lld %12.2f %9.2f-%-9.2f\n", static_cast<long long>(ks[j]), 1e3 * bench::median(seconds[j]),
                  1e3 * bench::min_of(seconds[j]), 1e3 * bench::max_of(seconds[j]));
    }
    bench::result("resume", "k=468 / k=1 (resume time)", bench::ratios(seconds.back(), seconds.front()), "<= 1.2");
    std::vector<double> medians;
    for (const auto& s : seconds) medians.push_back(bench::median(s));
    bench::result("resume", "slowest k / fastest k (median resume time)",
                  {bench::max_of(medians) / bench::min_of(medians)}, "");
    std::filesystem::remove_all(folder);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_resume: %s\n", e.what());
    return 1;
  }
  return 0;
}
