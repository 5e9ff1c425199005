#include "tempo/data/batch_prefetcher.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tempo/data/data_loader.h"
#include "tempo/errors/error.h"

namespace {

// Samples are their own index; a batch holding `poison` throws, and every request is recorded
// with the thread that made it.
class RecordingDataset : public tempo::Dataset {
 public:
  explicit RecordingDataset(int64_t n, int64_t poison = -1) : n_(n), poison_(poison) {}
  int64_t size() const override { return n_; }
  tempo::Batch get_batch(const std::vector<int64_t>& indices) const override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      first_index.push_back(indices.front());
      if (std::this_thread::get_id() != owner_) ++off_thread;
    }
    for (auto i : indices)
      if (i == poison_) throw tempo::DataError("sample " + std::to_string(i) + " is unreadable");
    auto t = torch::tensor(indices, torch::kInt64);
    return tempo::Batch{t.to(torch::kFloat32).unsqueeze(1), t};
  }
  mutable std::vector<int64_t> first_index;
  mutable int off_thread = 0;

 private:
  int64_t n_;
  int64_t poison_;
  std::thread::id owner_ = std::this_thread::get_id();
  mutable std::mutex mutex_;
};

bool same(const tempo::Batch& a, const tempo::Batch& b) {
  return a.input.equal(b.input) && a.target.equal(b.target);
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("BatchPrefetcher hands out exactly the loader's batches, prepared on its worker") {
    auto dataset = std::make_shared<RecordingDataset>(50);
    tempo::DataLoader loader(dataset, tempo::DataLoaderOptions().batch_size(8).shuffle(true).seed(3));
    tempo::BatchPrefetcher prefetcher(loader);
    const int64_t n = loader.num_batches();
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      for (int64_t k = 0; k < n; ++k) {
        std::optional<std::pair<int64_t, int64_t>> next =
            k + 1 < n ? std::make_pair(epoch, k + 1) : std::make_pair(epoch + 1, int64_t{0});
        CHECK(same(prefetcher.get(epoch, k, next), loader.batch(epoch, k)));
      }
    }
    // Every batch but the very first came from the worker, which ran off the caller's thread.
    CHECK(prefetcher.hits() == 2 * n - 1);
    CHECK(dataset->off_thread >= 2 * n - 1);
  }

  TEST_CASE("BatchPrefetcher: a request other than the prefetched batch is read directly") {
    auto dataset = std::make_shared<RecordingDataset>(40);
    tempo::DataLoader loader(dataset, tempo::DataLoaderOptions().batch_size(4));
    tempo::BatchPrefetcher prefetcher(loader);
    CHECK(same(prefetcher.get(0, 0, std::make_pair(int64_t{0}, int64_t{1})), loader.batch(0, 0)));
    // A jump (a resume elsewhere, an evaluation's own loader): the prefetched batch is dropped.
    CHECK(same(prefetcher.get(0, 5, std::nullopt), loader.batch(0, 5)));
    CHECK(prefetcher.hits() == 0);
    CHECK(same(prefetcher.get(0, 6, std::nullopt), loader.batch(0, 6)));
  }

  TEST_CASE("BatchPrefetcher reports a failing batch when it is asked for, as a direct read would") {
    auto dataset = std::make_shared<RecordingDataset>(20, /*poison=*/9);
    tempo::DataLoader loader(dataset, tempo::DataLoaderOptions().batch_size(4));
    tempo::BatchPrefetcher prefetcher(loader);
    // Batch 2 (samples 8..11) fails on the worker while batch 1 is in use: nothing is thrown yet.
    CHECK_NOTHROW(prefetcher.get(0, 1, std::make_pair(int64_t{0}, int64_t{2})));
    CHECK_THROWS_WITH_AS(prefetcher.get(0, 2, std::make_pair(int64_t{0}, int64_t{3})), "sample 9 is unreadable",
                         tempo::DataError);
    // A failure nobody asks for is never reported.
    CHECK_NOTHROW(prefetcher.get(0, 3, std::make_pair(int64_t{0}, int64_t{2})));
    CHECK_NOTHROW(prefetcher.get(0, 4, std::nullopt));
  }
}
