// Framework overhead: Trainer::fit against the loop a user would write by hand in LibTorch, on
// the same model (784-256-10 MLP), data (synthetic, Fashion-MNIST shaped), optimizer (Adam),
// batch size (128) and seed. The two alternate, several repetitions each, so drifts of a noisy
// machine hit both alike; the table gives the median time of each and the median and spread of
// the per-pair ratios.
//
//   bench_trainer_overhead [--reps N] [--batches B]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "data/data_loader.h"
#include "data/dataset.h"
#include "models/mlp.h"
#include "state/rng.h"
#include "trainer/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kBatchSize = 128;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::shared_ptr<tempo::Mlp> fresh_model() {
  tempo::seed_all(0);
  return std::make_shared<tempo::Mlp>(tempo::MlpOptions().hidden({256}));
}

// What a user writes without a framework: shuffle each epoch, slice, forward, loss, step.
double hand_loop(const torch::Tensor& x, const torch::Tensor& y, int64_t batches) {
  auto model = fresh_model();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  const auto start = Clock::now();
  model->train();
  const int64_t n = x.size(0);
  int64_t done = 0;
  for (int64_t epoch = 0; done < batches; ++epoch) {
    auto order = torch::randperm(n, torch::kLong);
    for (int64_t b = 0; b * kBatchSize < n && done < batches; ++b, ++done) {
      auto idx = order.slice(0, b * kBatchSize, std::min(n, (b + 1) * kBatchSize));
      auto input = x.index_select(0, idx);
      auto target = y.index_select(0, idx);
      optimizer.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(model->forward(input), target);
      loss.backward();
      optimizer.step();
      volatile double sink = loss.item<double>();  // users log the loss; the trainer does too
      (void)sink;
    }
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double trainer_fit(const std::shared_ptr<tempo::TensorDataset>& data, int64_t batches) {
  auto model = fresh_model();
  auto optimizer = std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
  tempo::Trainer trainer(tempo::TrainerOptions()
                             .model(model)
                             .train_dataloader(std::make_shared<tempo::DataLoader>(
                                 data, tempo::DataLoaderOptions().batch_size(kBatchSize).shuffle(true)))
                             .optimizers({optimizer})
                             .max_duration(tempo::Time(batches, tempo::TimeUnit::BATCH))
                             .seed(0));
  const auto start = Clock::now();
  trainer.fit();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 7;
  int64_t batches = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--reps") reps = std::stoi(argv[i + 1]);
    if (flag == "--batches") batches = std::stoll(argv[i + 1]);
  }
  tempo::seed_all(1);
  auto x = torch::randn({12800, 1, 28, 28});
  auto y = torch::randint(0, 10, {12800}, torch::kLong);
  auto data = std::make_shared<tempo::TensorDataset>(x, y);

  hand_loop(x, y, 20);  // warm up allocator and BLAS threads
  trainer_fit(data, 20);
  std::vector<double> hand, fit, ratio;
  for (int r = 0; r < reps; ++r) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    double h, t;
    if (r % 2 == 0) {
      h = hand_loop(x, y, batches);
      t = trainer_fit(data, batches);
    } else {
      t = trainer_fit(data, batches);
      h = hand_loop(x, y, batches);
    }
    hand.push_back(h);
    fit.push_back(t);
    ratio.push_back(t / h);
  }
  const auto [lo, hi] = std::minmax_element(ratio.begin(), ratio.end());
  std::printf("Trainer::fit vs hand-written loop: %lld batches of %lld, %d repetitions, alternating\n",
              static_cast<long long>(batches), static_cast<long long>(kBatchSize), reps);
  std::printf("%-34s %10s\n", "", "median s");
  std::printf("%-34s %10.3f\n", "hand-written LibTorch loop", median(hand));
  std::printf("%-34s %10.3f\n", "tempo Trainer::fit", median(fit));
  std::printf("%-34s %10.3f   (min %.3f, max %.3f; goal <= 1.02)\n", "ratio fit / hand loop", median(ratio), *lo,
              *hi);
  return 0;
}
