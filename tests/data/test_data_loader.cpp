#include "tempo/data/data_loader.h"

#include "tempo/errors/error.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace {

// Records every index it is asked for, to prove the loader reads only the batch it builds.
class CountingDataset : public tempo::Dataset {
 public:
  explicit CountingDataset(int64_t n) : n_(n) {}
  int64_t size() const override { return n_; }
  tempo::Batch get_batch(const std::vector<int64_t>& indices) const override {
    ++calls;
    requested.insert(requested.end(), indices.begin(), indices.end());
    auto t = torch::tensor(indices, torch::kInt64);
    return tempo::Batch{t.to(torch::kFloat32).unsqueeze(1), t};
  }
  mutable std::vector<int64_t> requested;
  mutable int calls = 0;

 private:
  int64_t n_;
};

std::vector<int64_t> as_vector(const at::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("DataLoaderOptions chain like LibTorch's") {
    auto opts = tempo::DataLoaderOptions().batch_size(128).shuffle(true).drop_last(false).seed(17);
    CHECK(opts.batch_size() == 128);
    CHECK(opts.shuffle());
    CHECK_FALSE(opts.drop_last());
    REQUIRE(opts.seed().has_value());
    CHECK(*opts.seed() == 17);
    CHECK_FALSE(tempo::DataLoaderOptions().seed().has_value());
  }

  TEST_CASE("DataLoader batch counts and last-batch sizes") {
    auto ds = std::make_shared<CountingDataset>(10);
    tempo::DataLoader keep(ds, tempo::DataLoaderOptions().batch_size(3));
    CHECK(keep.num_batches() == 4);
    CHECK(keep.batch_size() == 3);
    CHECK(keep.num_samples_in_batch(0) == 3);
    CHECK(keep.num_samples_in_batch(3) == 1);
    CHECK(keep.batch(0, 3).size() == 1);

    tempo::DataLoader drop(ds, tempo::DataLoaderOptions().batch_size(3).drop_last(true));
    CHECK(drop.num_batches() == 3);
    CHECK(drop.num_samples_in_batch(2) == 3);
    CHECK_THROWS_AS(drop.batch(0, 3), tempo::ConfigError);

    // Two ranks: 5 samples each, batches of 2, 2, 1.
    tempo::DataLoader rank1(ds, tempo::DataLoaderOptions().batch_size(2), 2, 1);
    CHECK(rank1.num_samples() == 5);
    CHECK(rank1.num_batches() == 3);
    CHECK(rank1.num_samples_in_batch(2) == 1);
    CHECK(rank1.batch_indices(0, 0) == std::vector<int64_t>{1, 3});

    tempo::DataLoader exact(ds, tempo::DataLoaderOptions().batch_size(5).drop_last(true));
    CHECK(exact.num_batches() == 2);
    tempo::DataLoader big(ds, tempo::DataLoaderOptions().batch_size(64));
    CHECK(big.num_batches() == 1);
    CHECK(big.num_samples_in_batch(0) == 10);
    CHECK(tempo::DataLoader(ds, tempo::DataLoaderOptions().batch_size(64).drop_last(true))
              .num_batches() == 0);
  }

  TEST_CASE("DataLoader batch(e, k) is the k-th slice of the epoch") {
    torch::manual_seed(0);
    auto input = torch::randn({103, 3});
    auto target = torch::arange(103, torch::kInt64);
    auto ds = std::make_shared<tempo::TensorDataset>(input, target);
    tempo::DataLoader loader(ds, tempo::DataLoaderOptions().batch_size(10).shuffle(true).seed(5));
    REQUIRE(loader.num_batches() == 11);
    for (int64_t epoch : {0, 4}) {
      const auto order = loader.sampler().indices(epoch, 0, loader.num_samples());
      // The whole epoch, gathered at once, against each batch built on its own.
      const auto all = ds->get_batch(order);
      for (int64_t k = loader.num_batches() - 1; k >= 0; --k) {
        const tempo::Batch b = loader.batch(epoch, k);
        const int64_t begin = k * 10;
        CHECK(torch::equal(b.input, all.input.slice(0, begin, begin + b.size())));
        CHECK(torch::equal(b.target, all.target.slice(0, begin, begin + b.size())));
      }
    }
  }

  TEST_CASE("DataLoader reads only the samples of the batch asked for") {
    auto ds = std::make_shared<CountingDataset>(1000);
    tempo::DataLoader loader(ds, tempo::DataLoaderOptions().batch_size(32).shuffle(true).seed(1));
    const auto expected = loader.batch_indices(7, 13);
    REQUIRE(expected.size() == 32);
    REQUIRE(ds->calls == 0);
    const tempo::Batch b = loader.batch(7, 13);
    CHECK(ds->calls == 1);
    CHECK(ds->requested == expected);
    CHECK(as_vector(b.target) == expected);
  }

  TEST_CASE("DataLoader visits every sample exactly once per epoch, in a new order each epoch") {
    auto ds = std::make_shared<CountingDataset>(250);
    tempo::DataLoader loader(ds, tempo::DataLoaderOptions().batch_size(16).shuffle(true).seed(3));
    std::vector<std::vector<int64_t>> epochs;
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      std::vector<int64_t> seen;
      for (int64_t k = 0; k < loader.num_batches(); ++k) {
        const auto t = as_vector(loader.batch(epoch, k).target);
        seen.insert(seen.end(), t.begin(), t.end());
      }
      epochs.push_back(seen);
      std::sort(seen.begin(), seen.end());
      REQUIRE(seen.size() == 250);
      for (int64_t i = 0; i < 250; ++i) CHECK(seen[static_cast<size_t>(i)] == i);
    }
    CHECK(epochs[0] != epochs[1]);
    CHECK(epochs[1] != epochs[2]);

    // Across ranks, without drop_last, every sample is read and only padding repeats.
    std::vector<int> count(250, 0);
    for (int64_t r = 0; r < 3; ++r) {
      tempo::DataLoader rank(ds, tempo::DataLoaderOptions().batch_size(16).shuffle(true).seed(3),
                             3, r);
      for (int64_t k = 0; k < rank.num_batches(); ++k) {
        for (int64_t i : rank.batch_indices(2, k)) ++count[static_cast<size_t>(i)];
      }
    }
    int repeated = 0;
    for (int c : count) {
      CHECK(c >= 1);
      repeated += c - 1;
    }
    CHECK(repeated == 252 - 250);
  }

  TEST_CASE("DataLoader seeds: explicit, default from the trainer, reproducible") {
    auto ds = std::make_shared<CountingDataset>(100);
    auto opts = tempo::DataLoaderOptions().batch_size(100).shuffle(true);
    tempo::DataLoader unseeded(ds, opts);
    CHECK(unseeded.seed() == 0);
    unseeded.set_default_seed(42);
    CHECK(unseeded.seed() == 42);
    tempo::DataLoader seeded42(ds, tempo::DataLoaderOptions(opts).seed(42));
    CHECK(unseeded.batch_indices(1, 0) == seeded42.batch_indices(1, 0));

    tempo::DataLoader seeded(ds, tempo::DataLoaderOptions(opts).seed(7));
    const auto before = seeded.batch_indices(0, 0);
    seeded.set_default_seed(42);
    CHECK(seeded.seed() == 7);
    CHECK(seeded.batch_indices(0, 0) == before);
    CHECK(before != seeded42.batch_indices(0, 0));
  }

  TEST_CASE("DataLoader rejects empty datasets, bad options and out-of-range batches") {
    CHECK_THROWS_WITH_AS(tempo::DataLoader(std::make_shared<CountingDataset>(0)),
                         doctest::Contains("empty"), tempo::DataError);
    CHECK_THROWS_AS(tempo::DataLoader(nullptr), tempo::DataError);
    auto ds = std::make_shared<CountingDataset>(10);
    CHECK_THROWS_AS(tempo::DataLoader(ds, tempo::DataLoaderOptions().batch_size(0)),
                    tempo::ConfigError);
    CHECK_THROWS_AS(tempo::DataLoader(ds, {}, 2, 2), tempo::ConfigError);
    tempo::DataLoader loader(ds, tempo::DataLoaderOptions().batch_size(4));
    CHECK_THROWS_WITH_AS(loader.batch(0, 3), doctest::Contains("batch 3 is outside [0, 3)"),
                         tempo::ConfigError);
    CHECK_THROWS_AS(loader.batch(0, -1), tempo::ConfigError);
    CHECK_THROWS_AS(loader.batch(-1, 0), tempo::ConfigError);
    CHECK(ds->calls == 0);
  }
}
