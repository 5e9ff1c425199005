// The prefetcher with worker threads (DataLoaderOptions::num_workers): the same batches as
// loader.batch() for any number of workers, in order, with errors surfacing where asked, and a
// clean stop mid-epoch.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "support/capture_stderr.h"
#include "tempo/data/batch_prefetcher.h"
#include "tempo/data/data_loader.h"
#include "tempo/errors/error.h"

namespace {

// [N, 1, 6, 6] images whose pixels encode their index; a batch with `poison` throws; records the
// first index of every request; each request may sleep, to keep the workers busy.
class SlowImages : public tempo::Dataset {
 public:
  explicit SlowImages(int64_t n, int64_t poison = -1, int sleep_ms = 0) : n_(n), poison_(poison), sleep_ms_(sleep_ms) {}
  int64_t size() const override { return n_; }
  tempo::Batch get_batch(const std::vector<int64_t>& indices) const override {
    ++active;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requested.insert(indices.front());
    }
    if (sleep_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    for (auto i : indices) {
      if (i == poison_) {
        --active;
        throw tempo::DataError("sample " + std::to_string(i) + " is unreadable");
      }
    }
    auto idx = torch::tensor(indices, torch::kInt64);
    auto x = idx.to(torch::kFloat32).view({-1, 1, 1, 1}) * 100 + torch::arange(36, torch::kFloat32).view({1, 1, 6, 6});
    --active;
    return tempo::Batch{x, idx};
  }
  mutable std::atomic<int> active{0};
  mutable std::set<int64_t> requested;

 private:
  int64_t n_;
  int64_t poison_;
  int sleep_ms_;
  mutable std::mutex mutex_;
};

tempo::DataLoaderOptions augmented(int64_t workers, std::optional<int64_t> factor = std::nullopt) {
  return tempo::DataLoaderOptions()
      .batch_size(4)
      .shuffle(true)
      .seed(9)
      .num_workers(workers)
      .prefetch_factor(factor)
      .transforms({std::make_shared<tempo::RandomCrop>(tempo::RandomCropOptions().size(6).padding(2)),
                   std::make_shared<tempo::HorizontalFlip>(tempo::HorizontalFlipOptions()),
                   std::make_shared<tempo::Normalize>(tempo::NormalizeOptions().mean({3.0}).std({7.0}))});
}

bool same(const tempo::Batch& a, const tempo::Batch& b) {
  return a.input.sizes() == b.input.sizes() && torch::equal(a.input, b.input) && torch::equal(a.target, b.target);
}

std::optional<std::pair<int64_t, int64_t>> after(const tempo::DataLoader& loader, int64_t epoch, int64_t k) {
  return k + 1 < loader.num_batches() ? std::make_pair(epoch, k + 1) : std::make_pair(epoch + 1, int64_t{0});
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("num_workers and prefetch_factor: PyTorch's defaults and checks") {
    auto data = std::make_shared<SlowImages>(10);
    CHECK(tempo::DataLoader(data, augmented(0)).prefetch_threads() == 1);
    CHECK(tempo::DataLoader(data, augmented(0)).prefetch_depth() == 1);
    CHECK(tempo::DataLoader(data, augmented(3)).prefetch_depth() == 6);  // prefetch_factor 2
    CHECK(tempo::DataLoader(data, augmented(3, 4)).prefetch_depth() == 12);
    CHECK(tempo::DataLoader(data, augmented(3)).prefetch_threads() == 3);
    CHECK_THROWS_WITH_AS(tempo::DataLoader(data, augmented(0, 2)), doctest::Contains("prefetch_factor is only used with num_workers > 0"),
                         tempo::ConfigError);
    CHECK_THROWS_AS(tempo::DataLoader(data, augmented(-1)), tempo::ConfigError);
    CHECK_THROWS_AS(tempo::DataLoader(data, augmented(2, 0)), tempo::ConfigError);
    // Workers are used whatever `prefetch` says: the user asked for them.
    CHECK(tempo::prefetch_pays(tempo::DataLoader(data, augmented(1).prefetch(false))));
  }

  TEST_CASE("0, 1, 2 and 3 workers hand out bit-identical shuffled, augmented batches, in order") {
    auto data = std::make_shared<SlowImages>(37);  // 10 batches, the last short
    const tempo::DataLoader reference(data, augmented(0));
    std::vector<tempo::Batch> expected;
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      for (int64_t k = 0; k < reference.num_batches(); ++k) expected.push_back(reference.batch(epoch, k));
    }
    for (auto [workers, factor] : std::vector<std::pair<int64_t, std::optional<int64_t>>>{
             {0, std::nullopt}, {1, std::nullopt}, {2, std::nullopt}, {2, 1}, {3, 3}}) {
      CAPTURE(workers);
      const tempo::DataLoader loader(data, augmented(workers, factor));
      tempo::BatchPrefetcher prefetcher(loader);
      size_t i = 0;
      for (int64_t epoch = 0; epoch < 2; ++epoch) {
        for (int64_t k = 0; k < loader.num_batches(); ++k, ++i) {
          const bool last = epoch == 1 && k + 1 == loader.num_batches();
          CHECK(same(prefetcher.get(epoch, k, last ? std::nullopt : after(loader, epoch, k)), expected[i]));
        }
      }
      CHECK(prefetcher.hits() == static_cast<int64_t>(expected.size()) - 1);  // all but the first
    }
  }

  TEST_CASE("workers start at a resumed position without replaying the batches before it") {
    auto data = std::make_shared<SlowImages>(40);  // 10 batches of 4, not shuffled below
    const tempo::DataLoader loader(data, tempo::DataLoaderOptions().batch_size(4).num_workers(2));
    tempo::BatchPrefetcher prefetcher(loader);
    CHECK(same(prefetcher.get(3, 7, std::make_pair(int64_t{3}, int64_t{8})), loader.batch(3, 7)));
    CHECK(same(prefetcher.get(3, 8, std::make_pair(int64_t{3}, int64_t{9})), loader.batch(3, 8)));
    CHECK(prefetcher.hits() == 1);
    // Only batch 7 onwards (first samples 28, 32, 36) and the next epoch's first ones were read.
    for (auto first : data->requested) CHECK((first >= 28 || first < 16));
    // A jump back drops the window and reads directly.
    CHECK(same(prefetcher.get(0, 1, std::nullopt), loader.batch(0, 1)));
    CHECK(prefetcher.hits() == 1);
  }

  TEST_CASE("an evaluation's prefetcher prepares nothing at or after its end") {
    auto data = std::make_shared<SlowImages>(40);
    const tempo::DataLoader loader(data, tempo::DataLoaderOptions().batch_size(4).num_workers(2).prefetch_factor(4));
    {
      tempo::BatchPrefetcher prefetcher(loader, std::make_pair(int64_t{0}, int64_t{3}));
      for (int64_t k = 0; k < 3; ++k) {
        std::optional<std::pair<int64_t, int64_t>> next;
        if (k + 1 < 3) next = std::make_pair(int64_t{0}, k + 1);
        CHECK(same(prefetcher.get(0, k, next), loader.batch(0, k)));
      }
    }  // joined: every request made has finished
    CHECK(data->requested == std::set<int64_t>({0, 4, 8}));
  }

  TEST_CASE("a worker's error surfaces when its batch is asked for, and the others still arrive") {
    auto data = std::make_shared<SlowImages>(40, /*poison=*/21);  // in batch 5
    const tempo::DataLoader loader(data, tempo::DataLoaderOptions().batch_size(4).num_workers(2));
    tempo::BatchPrefetcher prefetcher(loader);
    for (int64_t k = 0; k < 5; ++k) CHECK(same(prefetcher.get(0, k, after(loader, 0, k)), loader.batch(0, k)));
    CHECK_THROWS_WITH_AS(prefetcher.get(0, 5, after(loader, 0, 5)), "sample 21 is unreadable", tempo::DataError);
    for (int64_t k = 6; k < 10; ++k) CHECK(same(prefetcher.get(0, k, after(loader, 0, k)), loader.batch(0, k)));
    CHECK(prefetcher.hits() == 9);
  }

  TEST_CASE("stopping mid-epoch joins the busy workers without waiting for the rest of the window") {
    auto data = std::make_shared<SlowImages>(400, -1, /*sleep_ms=*/30);
    const tempo::DataLoader loader(data, tempo::DataLoaderOptions().batch_size(4).num_workers(2).prefetch_factor(8));
    const auto start = std::chrono::steady_clock::now();
    {
      tempo::BatchPrefetcher prefetcher(loader);
      for (int64_t k = 0; k < 3; ++k) prefetcher.get(0, k, after(loader, 0, k));
    }  // 16 batches were wanted in flight; only those started are finished
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(data->active.load() == 0);
    CHECK(data->requested.size() < 12);
    CHECK(seconds < 2.0);
  }

  TEST_CASE("pin_memory without CUDA is a no-op, noted at most once") {
    if (at::hasCUDA()) return;  // pinning is real there; the CPU build is what this checks
    auto data = std::make_shared<SlowImages>(8);
    tempo::testing::CapturedStderr captured;
    const tempo::DataLoader a(data, tempo::DataLoaderOptions().batch_size(4).pin_memory(true));
    const tempo::DataLoader b(data, tempo::DataLoaderOptions().batch_size(4).pin_memory(true));
    CHECK_FALSE(a.batch(0, 0).input.is_pinned());
    const auto text = captured.text();
    const auto first = text.find("pin_memory");
    CHECK((first == std::string::npos || text.find("pin_memory", first + 1) == std::string::npos));
  }
}
