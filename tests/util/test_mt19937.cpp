#include <doctest/doctest.h>

#include <random>
#include <sstream>

#include "tempo/util/mt19937.h"

using namespace tempo;

TEST_SUITE("util") {
  // Known answers printed by Python 3.11 and NumPy 2.2: np.random.RandomState(17).get_state()[1]
  // and random.seed(n); random.getstate()[1].
  TEST_CASE("mt19937: init_genrand is NumPy's RandomState(seed) and std::mt19937(seed)") {
    const auto words = mt19937_init_genrand(17);
    CHECK(words[0] == 17u);
    CHECK(words[1] == 746594230u);
    CHECK(words[2] == 3313428688u);
    CHECK(words[623] == 1147440304u);
    // std::mt19937 seeded alike draws what the reference generator draws from these words.
    std::mt19937 standard(17);
    std::ostringstream text;
    text << standard;
    uint32_t first = 0;
    std::istringstream(text.str()) >> first;
    CHECK(first == 17u);
  }

  TEST_CASE("mt19937: init_by_array is Python's random.seed(int)") {
    const auto words = mt19937_init_by_array({17});
    CHECK(words[0] == 2147483648u);
    CHECK(words[1] == 3170634271u);
    CHECK(words[2] == 2035982193u);
    CHECK(words[623] == 714977695u);
    // 2^40 + 5: two key words, low first.
    const auto wide = mt19937_init_by_array({5, 256});
    CHECK(wide[1] == 550267540u);
    CHECK(wide[2] == 1323789645u);
    CHECK(wide[623] == 2187275131u);
  }
}
