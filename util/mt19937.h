// The state of the MT19937 generator (Matsumoto and Nishimura's reference mt19937ar.c) after its
// two reference seedings, as the 624 32-bit words other programs store it in:
//   mt19937_init_genrand(s):   std::mt19937(s) and NumPy's RandomState(s) / np.random.seed(s);
//   mt19937_init_by_array(k):  Python's random.seed(n) for an int n, with k the 32-bit words of
//                              |n|, least significant first ([0] for 0).
// tempo draws no numbers from Python's or NumPy's generators; it writes these states into a
// checkpoint's rng entries because Composer's resume restores all three of its generators.
// Free of LibTorch; throws nothing.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace tempo {

constexpr int kMt19937Words = 624;
using Mt19937State = std::array<uint32_t, kMt19937Words>;

Mt19937State mt19937_init_genrand(uint32_t seed);
// requires: !key.empty()
Mt19937State mt19937_init_by_array(const std::vector<uint32_t>& key);

}  // namespace tempo
