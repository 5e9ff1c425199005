#include "tempo/data/index_permutation.h"

#include "tempo/errors/error.h"

#include <string>

namespace tempo {

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

IndexPermutation::IndexPermutation(int64_t n, uint64_t key) : n_(n), key_(key) {
  if (n < 0) {
    throw ConfigError("IndexPermutation: size must be >= 0, got " + std::to_string(n));
  }
  // Smallest even bit width 2*h with 2^(2h) >= n; at least one bit per half so the network is
  // never degenerate.
  int bits = 0;
  while (bits < 64 && (uint64_t{1} << bits) < static_cast<uint64_t>(n)) ++bits;
  half_bits_ = bits <= 2 ? 1 : (bits + 1) / 2;
  half_mask_ = half_bits_ == 32 ? 0xFFFFFFFFULL : (uint64_t{1} << half_bits_) - 1;
  // Round keys depend on the key and the round number, so rounds are not interchangeable and
  // nearby keys diverge completely.
  uint64_t k = mix64(key);
  for (int r = 0; r < kRounds; ++r) {
    k = mix64(k ^ (0xD6E8FEB86659FD93ULL * static_cast<uint64_t>(r + 1)));
    round_keys_[r] = k;
  }
}

uint64_t IndexPermutation::feistel(uint64_t x) const {
  uint64_t left = (x >> half_bits_) & half_mask_;
  uint64_t right = x & half_mask_;
  for (int r = 0; r < kRounds; ++r) {
    const uint64_t next = left ^ (mix64(right ^ round_keys_[r]) & half_mask_);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

int64_t IndexPermutation::operator()(int64_t i) const {
  if (i < 0 || i >= n_) {
    throw ConfigError("IndexPermutation: index " + std::to_string(i) + " is outside [0, " +
                      std::to_string(n_) + ")");
  }
  // Terminates: the walk follows i's cycle in the domain permutation, which returns to i < n.
  uint64_t x = static_cast<uint64_t>(i);
  do {
    x = feistel(x);
  } while (x >= static_cast<uint64_t>(n_));
  return static_cast<int64_t>(x);
}

}  // namespace tempo
