// Data-loader throughput: samples per second over one Fashion-MNIST training epoch (60000
// samples, batch 128, shuffled), read as the trainer reads it, with num_workers 0 (every batch
// read on the calling thread), 1 and 2 (worker threads preparing batches ahead, handed out in
// order through BatchPrefetcher); with augmentation (random_crop 28 padding 4, horizontal_flip
// p 0.5, normalize) and, for reference, without. Nothing trains: this is the loader alone, the
// upper bound of what it can feed.
// The contenders run once per repetition in an order rotated each repetition (this machine's
// speed drifts); the table gives the median, min and max over repetitions of samples/s, and the
// per-repetition ratio of the workers' throughput to the same repetition's num_workers 0.
//
//   bench_loader [--reps 5]
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.h"
#include "tempo/data/batch_prefetcher.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/fashion_mnist.h"

namespace {

constexpr int64_t kBatchSize = 128;

tempo::TransformList augmentation() {
  return {std::make_shared<tempo::RandomCrop>(tempo::RandomCropOptions().size(28).padding(4)),
          std::make_shared<tempo::HorizontalFlip>(tempo::HorizontalFlipOptions().p(0.5)),
          std::make_shared<tempo::Normalize>(
              tempo::NormalizeOptions().mean({tempo::kFashionMnistMean}).std({tempo::kFashionMnistStd}))};
}

// One epoch (`epoch` picks the shuffle) through the loader as the trainer reads it; returns
// samples per second. The checksum keeps the reads from being optimised away.
double epoch_throughput(const tempo::DataLoader& loader, int64_t epoch, double& checksum) {
  const auto start = bench::Clock::now();
  int64_t samples = 0;
  const int64_t n = loader.num_batches();
  if (loader.options().num_workers() == 0) {
    for (int64_t k = 0; k < n; ++k) {
      const auto batch = loader.batch(epoch, k);
      samples += batch.size();
      checksum += batch.input.data_ptr<float>()[0];
    }
  } else {
    tempo::BatchPrefetcher prefetcher(loader);
    for (int64_t k = 0; k < n; ++k) {
      std::optional<std::pair<int64_t, int64_t>> next;
      if (k + 1 < n) next = std::make_pair(epoch, k + 1);
      const auto batch = prefetcher.get(epoch, k, next);
      samples += batch.size();
      checksum += batch.input.data_ptr<float>()[0];
    }
  }
  return static_cast<double>(samples) / bench::seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = std::atoi(argv[++i]);
  }
  try {
    const auto train = tempo::load_fashion_mnist(tempo::Split::TRAIN);
    std::printf("bench_loader: Fashion-MNIST train (%lld samples), batch %lld, shuffled; ATen intra-op threads %d\n",
                static_cast<long long>(train->size()), static_cast<long long>(kBatchSize), at::get_num_threads());
    struct Contender {
      std::string name;
      std::unique_ptr<tempo::DataLoader> loader;
    };
    std::vector<Contender> contenders;
    for (bool augmented : {true, false}) {
      for (int64_t workers : {0, 1, 2}) {
        auto options = tempo::DataLoaderOptions().batch_size(kBatchSize).shuffle(true).seed(5).num_workers(workers);
        if (augmented) options.transforms(augmentation());
        contenders.push_back({std::string(augmented ? "augmented" : "plain") + ", num_workers " + std::to_string(workers),
                              std::make_unique<tempo::DataLoader>(train, options)});
      }
    }
    double checksum = 0;
    for (auto& c : contenders) epoch_throughput(*c.loader, 0, checksum);  // warm-up: allocator, pages, threads
    std::vector<std::vector<double>> rates(contenders.size());
    for (int rep = 0; rep < reps; ++rep) {
      for (size_t j = 0; j < contenders.size(); ++j) {
        const size_t which = (j + static_cast<size_t>(rep)) % contenders.size();
        const double rate = epoch_throughput(*contenders[which].loader, rep + 1, checksum);
        rates[which].push_back(rate);
        std::printf("  rep %d  %-24s %10.0f samples/s\n", rep, contenders[which].name.c_str(), rate);
        std::fflush(stdout);
      }
    }
    for (size_t i = 0; i < contenders.size(); ++i) {
      bench::result("loader", contenders[i].name + " (samples/s)", rates[i], "");
    }
    for (size_t base : {size_t{0}, size_t{3}}) {
      for (size_t w : {size_t{1}, size_t{2}}) {
        bench::result("loader", contenders[base + w].name + " / num_workers 0 (throughput)",
                      bench::ratios(rates[base + w], rates[base]), "");
      }
    }
    std::printf("(checksum %g)\n", checksum);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_loader: %s\n", e.what());
    return 1;
  }
  return 0;
}
