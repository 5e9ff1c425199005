#include "tempo/data/sampler.h"

#include "tempo/errors/error.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace {

std::vector<int64_t> rank_order(const tempo::DistributedSampler& s, int64_t epoch) {
  std::vector<int64_t> out;
  for (int64_t p = 0; p < s.num_samples(); ++p) out.push_back(s.index(epoch, p));
  return out;
}

// PyTorch's DistributedSampler.__iter__, transcribed, given the epoch's order of the whole
// dataset.
std::vector<int64_t> pytorch_rank_order(std::vector<int64_t> indices, int64_t R, int64_t rank,
                                        bool drop_last) {
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t num_samples = (drop_last && n % R != 0) ? (n - R + R - 1) / R  // ceil((n-R)/R)
                                                        : (n + R - 1) / R;
  const int64_t total = num_samples * R;
  if (!drop_last) {
    const int64_t padding = total - n;
    if (padding <= n) {
      indices.insert(indices.end(), indices.begin(), indices.begin() + padding);
    } else {
      std::vector<int64_t> tiled;
      while (static_cast<int64_t>(tiled.size()) < padding) {
        tiled.insert(tiled.end(), indices.begin(), indices.begin() + n);
      }
      indices.insert(indices.end(), tiled.begin(), tiled.begin() + padding);
    }
  } else {
    indices.resize(static_cast<size_t>(total));
  }
  std::vector<int64_t> out;
  for (int64_t i = rank; i < total; i += R) out.push_back(indices[static_cast<size_t>(i)]);
  return out;
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("DistributedSampler without shuffle is the identity order") {
    tempo::DistributedSampler s(17, false, 5);
    CHECK(s.num_samples() == 17);
    for (int64_t e : {0, 1, 9}) {
      for (int64_t p = 0; p < 17; ++p) CHECK(s.index(e, p) == p);
    }
  }

  TEST_CASE("DistributedSampler matches PyTorch on a worked example") {
    // N = 10, 3 replicas: padded order 0..9,0,1; rank r takes every third.
    const std::vector<std::vector<int64_t>> expected = {{0, 3, 6, 9}, {1, 4, 7, 0}, {2, 5, 8, 1}};
    for (int64_t r = 0; r < 3; ++r) {
      tempo::DistributedSampler s(10, false, 0, 3, r);
      CHECK(s.num_samples() == 4);
      CHECK(s.total_size() == 12);
      CHECK(rank_order(s, 0) == expected[static_cast<size_t>(r)]);
    }
    const std::vector<std::vector<int64_t>> dropped = {{0, 3, 6}, {1, 4, 7}, {2, 5, 8}};
    for (int64_t r = 0; r < 3; ++r) {
      tempo::DistributedSampler s(10, false, 0, 3, r, /*drop_last=*/true);
      CHECK(s.num_samples() == 3);
      CHECK(rank_order(s, 0) == dropped[static_cast<size_t>(r)]);
    }
  }

  TEST_CASE("DistributedSampler shuffles each epoch differently and reproducibly") {
    tempo::DistributedSampler s(1000, true, 17);
    const auto e0 = rank_order(s, 0);
    const auto e1 = rank_order(s, 1);
    auto sorted = e0;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < 1000; ++i) REQUIRE(sorted[static_cast<size_t>(i)] == i);
    CHECK(e0 != e1);
    std::vector<int64_t> identity(1000);
    for (int64_t i = 0; i < 1000; ++i) identity[static_cast<size_t>(i)] = i;
    CHECK(e0 != identity);
    CHECK(rank_order(tempo::DistributedSampler(1000, true, 17), 1) == e1);
    CHECK(rank_order(tempo::DistributedSampler(1000, true, 18), 0) != e0);
    // seed + epoch is the key, as with PyTorch's set_epoch.
    CHECK(rank_order(tempo::DistributedSampler(1000, true, 16), 1) == e0);
  }

  TEST_CASE("DistributedSampler ranks follow PyTorch's padding and drop_last semantics") {
    for (int64_t n : {0, 1, 2, 5, 10, 11, 13, 64}) {
      for (int64_t R : {1, 2, 3, 4, 7, 16}) {
        for (bool drop_last : {false, true}) {
          for (bool shuffle : {false, true}) {
            CAPTURE(n);
            CAPTURE(R);
            CAPTURE(drop_last);
            CAPTURE(shuffle);
            const int64_t epoch = 3;
            const auto whole = rank_order(tempo::DistributedSampler(n, shuffle, 99), epoch);
            std::vector<int64_t> count(static_cast<size_t>(n), 0);
            int64_t seen = 0;
            for (int64_t r = 0; r < R; ++r) {
              tempo::DistributedSampler s(n, shuffle, 99, R, r, drop_last);
              const auto mine = rank_order(s, epoch);
              CHECK(mine == pytorch_rank_order(whole, R, r, drop_last));
              CHECK(s.indices(epoch, 0, s.num_samples()) == mine);
              for (int64_t i : mine) ++count[static_cast<size_t>(i)];
              seen += static_cast<int64_t>(mine.size());
            }
            if (drop_last) {
              CHECK(seen == n - n % R);
              for (int64_t c : count) CHECK(c <= 1);
            } else {
              CHECK(seen == (n + R - 1) / R * R);
              for (int64_t c : count) CHECK(c >= 1);
            }
          }
        }
      }
    }
  }

  TEST_CASE("DistributedSampler rejects bad arguments") {
    CHECK_THROWS_AS(tempo::DistributedSampler(-1, false, 0), tempo::ConfigError);
    CHECK_THROWS_AS(tempo::DistributedSampler(10, false, 0, 0, 0), tempo::ConfigError);
    CHECK_THROWS_AS(tempo::DistributedSampler(10, false, 0, 2, 2), tempo::ConfigError);
    CHECK_THROWS_AS(tempo::DistributedSampler(10, false, 0, 2, -1), tempo::ConfigError);
    tempo::DistributedSampler s(10, true, 0, 2, 1);
    CHECK_THROWS_WITH_AS(s.index(0, 5), doctest::Contains("[0, 5)"), tempo::ConfigError);
    CHECK_THROWS_AS(s.index(-1, 0), tempo::ConfigError);
    CHECK_THROWS_AS(s.indices(0, 3, 3), tempo::ConfigError);
    CHECK(s.indices(0, 5, 0).empty());
  }
}
