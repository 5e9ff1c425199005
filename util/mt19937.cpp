#include "tempo/util/mt19937.h"

#include <algorithm>

namespace tempo {

Mt19937State mt19937_init_genrand(uint32_t seed) {
  Mt19937State mt;
  mt[0] = seed;
  for (uint32_t i = 1; i < kMt19937Words; ++i) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i;
  return mt;
}

Mt19937State mt19937_init_by_array(const std::vector<uint32_t>& key) {
  constexpr uint32_t n = kMt19937Words;
  Mt19937State mt = mt19937_init_genrand(19650218u);
  const auto length = static_cast<uint32_t>(key.size());
  uint32_t i = 1, j = 0;
  for (uint32_t k = std::max(n, length); k > 0; --k) {
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + j;
    if (++i >= n) {
      mt[0] = mt[n - 1];
      i = 1;
    }
    if (++j >= length) j = 0;
  }
  for (uint32_t k = n - 1; k > 0; --k) {
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - i;
    if (++i >= n) {
      mt[0] = mt[n - 1];
      i = 1;
    }
  }
  mt[0] = 0x80000000u;  // only its top bit is ever used: set, it keeps the state from being all zero
  return mt;
}

}  // namespace tempo
