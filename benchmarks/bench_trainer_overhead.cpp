// Framework overhead: Trainer::fit against the loop a user would write by hand in LibTorch, on
// the same model (784-256-10 MLP), data (synthetic, Fashion-MNIST shaped), optimizer (Adam),
// batch size (128) and seed.
//
// This machine's speed drifts by up to 1.8x over seconds (a shared VM), far more than the 2%
// being measured, so the two run interleaved in short chunks of batches: the hand loop trains a
// chunk, then the Trainer trains a chunk (Trainer::fit(duration) picks up where it stopped), and
// so on, alternating which goes first. Each pair of chunks ran under nearly the same conditions;
// the table gives the median and quartiles of the per-pair ratios, the ratio of total times, and
// the ratio of the fastest chunks.
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
#include "data/data_loader.h"
#include "data/dataset.h"
#include "models/mlp.h"
#include "state/rng.h"
#include "trainer/trainer.h"

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
      optimizer_.zero_grad();
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
  explicit TrainerLoop(const std::shared_ptr<tempo::TensorDataset>& data) {
    auto model = fresh_model();
    auto optimizer = std::make_shared<torch::optim::Adam>(model->parameters(), torch::optim::AdamOptions(1e-3));
    trainer_ = std::make_unique<tempo::Trainer>(tempo::TrainerOptions()
                                                    .model(model)
                                                    .train_dataloader(std::make_shared<tempo::DataLoader>(
                                                        data, tempo::DataLoaderOptions().batch_size(kBatchSize).shuffle(true)))
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
  TrainerLoop fit(data);
  hand.train(chunk_batches);  // warm up allocator and BLAS
  fit.train(chunk_batches);

  std::vector<double> hand_s, fit_s, ratio;
  for (int c = 0; c < chunks; ++c) {
    double h, t;
    if (c % 2 == 0) {
      h = hand.train(chunk_batches);
      t = fit.train(chunk_batches);
    } else {
      t = fit.train(chunk_batches);
      h = hand.train(chunk_batches);
    }
    hand_s.push_back(h);
    fit_s.push_back(t);
    ratio.push_back(t / h);
  }
  const double hand_total = std::accumulate(hand_s.begin(), hand_s.end(), 0.0);
  const double fit_total = std::accumulate(fit_s.begin(), fit_s.end(), 0.0);
  std::printf("Trainer::fit vs hand-written LibTorch loop: %d interleaved chunks of %lld batches of %lld\n", chunks,
              static_cast<long long>(chunk_batches), static_cast<long long>(kBatchSize));
  std::printf("  total s: hand loop %.3f, Trainer::fit %.3f\n", hand_total, fit_total);
  std::printf("  ratio fit/hand, median of pairs   %.3f  (quartiles %.3f..%.3f)   goal <= 1.02\n",
              quantile(ratio, 0.5), quantile(ratio, 0.25), quantile(ratio, 0.75));
  bench::result("trainer_overhead", "Trainer::fit / hand loop (time)", ratio, "<= 1.02");
  std::printf("  ratio fit/hand, of totals         %.3f\n", fit_total / hand_total);
  std::printf("  ratio fit/hand, of fastest chunks %.3f\n",
              *std::min_element(fit_s.begin(), fit_s.end()) / *std::min_element(hand_s.begin(), hand_s.end()));
  return 0;
}
