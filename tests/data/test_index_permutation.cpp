#include "tempo/data/index_permutation.h"

#include "tempo/errors/error.h"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <set>
#include <vector>

namespace {

std::vector<int64_t> order(int64_t n, uint64_t key) {
  tempo::IndexPermutation p(n, key);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(p(i));
  return out;
}

bool is_permutation_of_range(const std::vector<int64_t>& v) {
  std::vector<char> seen(v.size(), 0);
  for (int64_t x : v) {
    if (x < 0 || x >= static_cast<int64_t>(v.size()) || seen[static_cast<size_t>(x)]) return false;
    seen[static_cast<size_t>(x)] = 1;
  }
  return true;
}

const uint64_t kKeys[] = {0, 1, 2, 42, 123456789, 0xFFFFFFFFFFFFFFFFULL, 0x8000000000000000ULL};

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("IndexPermutation is a bijection of [0, n) for every n and key") {
    std::vector<int64_t> sizes;
    for (int64_t n = 0; n <= 70; ++n) sizes.push_back(n);
    for (int64_t n : {100, 255, 256, 257, 1000, 1023, 1024, 1025, 4097, 60000}) sizes.push_back(n);
    for (int64_t n : sizes) {
      for (uint64_t key : kKeys) {
        const auto v = order(n, key);
        CAPTURE(n);
        CAPTURE(key);
        REQUIRE(static_cast<int64_t>(v.size()) == n);
        CHECK(is_permutation_of_range(v));
      }
    }
  }

  TEST_CASE("IndexPermutation is deterministic per key and shuffles") {
    CHECK(order(1000, 7) == order(1000, 7));
    const auto v = order(1000, 7);
    int fixed_points = 0;
    for (int64_t i = 0; i < 1000; ++i) fixed_points += v[static_cast<size_t>(i)] == i;
    CHECK(fixed_points < 10);  // a random permutation has ~1
  }

  TEST_CASE("IndexPermutation: different keys give different orders") {
    std::set<std::vector<int64_t>> orders;
    for (uint64_t key = 0; key < 50; ++key) orders.insert(order(100, key));
    CHECK(orders.size() == 50);

    // Adjacent keys agree at about one position in n, as unrelated permutations do.
    const auto a = order(60000, 1000);
    const auto b = order(60000, 1001);
    int same = 0;
    for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
    CHECK(same < 20);
  }

  TEST_CASE("IndexPermutation spreads an index uniformly over keys") {
    // Where element 0 lands, over many keys, should be uniform over [0, 10).
    std::vector<int> counts(10, 0);
    for (uint64_t key = 0; key < 20000; ++key) ++counts[tempo::IndexPermutation(10, key)(0)];
    for (int c : counts) {
      CHECK(c > 1700);
      CHECK(c < 2300);
    }
  }

  TEST_CASE("IndexPermutation handles huge n in O(1)") {
    for (int64_t n : {(int64_t{1} << 40) + 7, std::numeric_limits<int64_t>::max()}) {
      tempo::IndexPermutation p(n, 3);
      std::set<int64_t> seen;
      for (int64_t i = 0; i < 1000; ++i) {
        const int64_t x = p(n - 1 - i);
        CHECK(x >= 0);
        CHECK(x < n);
        seen.insert(x);
      }
      CHECK(seen.size() == 1000);
    }
  }

  TEST_CASE("IndexPermutation rejects bad sizes and indices") {
    CHECK_THROWS_AS(tempo::IndexPermutation(-1, 0), tempo::ConfigError);
    tempo::IndexPermutation p(5, 0);
    CHECK_THROWS_AS(p(5), tempo::ConfigError);
    CHECK_THROWS_AS(p(-1), tempo::ConfigError);
    CHECK_THROWS_AS(tempo::IndexPermutation(0, 0)(0), tempo::ConfigError);
    CHECK_THROWS_WITH_AS(p(9), doctest::Contains("index 9 is outside [0, 5)"), tempo::ConfigError);
  }
}
