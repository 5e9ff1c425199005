// Framework overhead: Trainer::fit against the loop a user would write by hand in LibTorch, on
// the same model (784-256-10 MLP), data (synthetic, Fashion-MNIST shaped), optimizer (Adam),
// batch size (128) and seed.
//
// This machine's speed drifts by up to 1.8x over seconds (a shared VM), far more than the 2%
// being measured, so the two run interleaved in short chunks of batches: the hand loop trains a
// chunk, then the Trainer trains a chunk (Trainer::fit(duration) picks up where it stopped), and
// so on, alternating which goes first. Each pair of chunks ran under nearly the same conditions;
// the table gives the median and quartiles of the per-pair ratios, the ratio of total times, and
// the ratio of the fastest chunks. The Trainer runs twice: with its data loader's prefetching off
// (the same serial work as the hand loop: the framework's overhead, the row with the goal) and
// with it on, as by default (batch k+1 is assembled on another thread while k trains).
//
//   bench_trainer_overhead [--chunks N] [--chunk-batches B]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "bench_support.h"
#include "tempo/state/torch_compat.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/dataset.h"
#include "tempo/models/mlp.h"
#include "tempo/state/rng.h"
#include "tempo/trainer/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kBatchSize = 128;

double seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

std::shared_ptr<tempo::Mlp> fresh_model() {
  tempo::seed_all(0);
  return std::make_shared<tempo::Mlp>(tempo::MlpOptions().hidden({256}));
}

// What a user writes without a framework: shuffle each epoch, slice, forward, loss, step, and
// read the loss back to log it. Kept as an object so it can train in chunks.
class HandLoop {
 public:
  HandLoop(torch::Tensor x, torch::Tensor y)
      : x_(std::move(x)), y_(std::move(y)), model_(fresh_model()),
        optimizer_(model_->parameters(), torch::optim::AdamOptions(1e-3)) {
    model_->train();
  }

  double train(int64_t batches) {
    const auto start = Clock::now();
    const int64_t n = x_.size(0);
    for (int64_t done = 0; done < batches; ++done) {
      if (next_ * kBatchSize >= n || !order_.defined()) {
        order_ = torch::randperm(n, torch::kLong);
        next_ = 0;
      }
      auto idx = order_.slice(0, next_ * kBatchSize, std::min(n, (next_ + 1) * kBatchSize));
      ++next_;
      tempo::zero_grad_in_place(optimizer_);
      auto loss = torch::nn::functional::cross_entropy(model_->forward(x_.index_select(0, idx)), y_.index_select(0, idx));
      loss.backward();
      optimizer_.step();
      volatile double sink = loss.item<double>();
      (void)sink;
    }
    return seconds(start);
  }

 private:
  torch::Tensor x_, y_, order_;
  int64_t next_ = 0;
  std::shared_ptr<tempo::Mlp> model_;
  torch::optim::Adam optimizer_;
};

class TrainerLoop {
 public:
  TrainerLoop(const std::shared_ptr<tempo::TensorDataset>& data, bool prefetch) {
    auto model = fresh_model();
    auto optimizer = std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
    trainer_ = std::make_unique<tempo::Trainer>(tempo::TrainerOptions()
                                                    .model(model)
                                                    .train_dataloader(std::make_shared<tempo::DataLoader>(
                                                        data, tempo::DataLoaderOptions().batch_size(kBatchSize).shuffle(true).prefetch(prefetch)))
                                                    .optimizers({optimizer})
                                                    .seed(0));
  }

  double train(int64_t batches) {
    const auto start = Clock::now();
    trainer_->fit(tempo::Time(batches, tempo::TimeUnit::BATCH));
    return seconds(start);
  }

 private:
  std::unique_ptr<tempo::Trainer> trainer_;
};

}  // namespace

int main(int argc, char** argv) {
  int chunks = 40;
  int64_t chunk_batches = 25;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--chunks") chunks = std::stoi(argv[i + 1]);
    if (flag == "--chunk-batches") chunk_batches = std::stoll(argv[i + 1]);
  }
  tempo::seed_all(1);
  auto x = torch::randn({12800, 1, 28, 28});
  auto y = torch::randint(0, 10, {12800}, torch::kLong);
  auto data = std::make_shared<tempo::TensorDataset>(x, y);

  HandLoop hand(x, y);
  TrainerLoop fit(data, /*prefetch=*/false);
  TrainerLoop fit_prefetch(data, /*prefetch=*/true);
  hand.train(chunk_batches);  // warm up allocator and BLAS
  fit.train(chunk_batches);
  fit_prefetch.train(chunk_batches);

  // seconds[0] hand loop, [1] Trainer without prefetching, [2] Trainer with it.
  std::vector<std::vector<double>> seconds(3);
  for (int c = 0; c < chunks; ++c) {
    for (int j = 0; j < 3; ++j) {
      const int which = (j + c) % 3;  // each goes first, second and third in turn
      seconds[static_cast<size_t>(which)].push_back(which == 0   ? hand.train(chunk_batches)
                                                    : which == 1 ? fit.train(chunk_batches)
                                                                 : fit_prefetch.train(chunk_batches));
    }
  }
  const auto total = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); };
  const auto fastest = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
  std::printf("Trainer::fit vs hand-written LibTorch loop: %d interleaved chunks of %lld batches of %lld\n", chunks,
              static_cast<long long>(chunk_batches), static_cast<long long>(kBatchSize));
  std::printf("  total s: hand loop %.3f, Trainer::fit %.3f, Trainer::fit with prefetching %.3f\n", total(seconds[0]),
              total(seconds[1]), total(seconds[2]));
  const char* labels[] = {"", "Trainer::fit / hand loop (time)", "Trainer::fit with prefetching / hand loop (time)"};
  for (size_t j = 1; j < 3; ++j) {
    const auto ratio = bench::ratios(seconds[j], seconds[0]);
    std::printf("  %s: median of chunk ratios %.3f (quartiles %.3f..%.3f), of totals %.3f, of fastest chunks %.3f\n",
                labels[j], quantile(ratio, 0.5), quantile(ratio, 0.25), quantile(ratio, 0.75),
                total(seconds[j]) / total(seconds[0]), fastest(seconds[j]) / fastest(seconds[0]));
    bench::result("trainer_overhead", labels[j], ratio, j == 1 ? "<= 1.02" : "");
  }
  return 0;
}
