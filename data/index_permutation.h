// A keyed pseudo-random permutation of [0, n), evaluated one index at a time in O(1) time and
// memory, so an epoch's shuffled order never has to be materialised and any position of it can be
// looked up directly (which is what makes mid-epoch resume free). A balanced Feistel network over
// the smallest power-of-4 domain >= n is a bijection on that domain; cycle walking (re-applying it
// until the value falls below n) restricts it to a bijection on [0, n), at an expected cost below
// four network evaluations because the domain is less than 4n.
// Invariants: for each key, i -> (*this)(i) is a bijection of [0, n); the same (n, key) gives the
// same order on every platform; different keys give unrelated orders.
// Throws: ConfigError for n < 0 or an index outside [0, n).
#pragma once

#include <array>
#include <cstdint>

namespace tempo {

// A strong 64-bit finaliser (splitmix64's): every input bit affects every output bit. Also used to
// turn (seed, epoch) into a permutation key.
uint64_t mix64(uint64_t x);

class IndexPermutation {
 public:
  static constexpr int kRounds = 6;

  IndexPermutation(int64_t n, uint64_t key);

  int64_t operator()(int64_t i) const;

  int64_t size() const { return n_; }
  uint64_t key() const { return key_; }

 private:
  uint64_t feistel(uint64_t x) const;

  int64_t n_;
  uint64_t key_;
  int half_bits_;
  uint64_t half_mask_;
  std::array<uint64_t, kRounds> round_keys_;
};

}  // namespace tempo
