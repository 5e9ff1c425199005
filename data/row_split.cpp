#include "tempo/data/row_split.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tempo/data/index_permutation.h"
#include "tempo/errors/error.h"

namespace tempo {

std::string to_string(DataSplit split) { return split == DataSplit::TRAIN ? "train" : "validation"; }

std::vector<int64_t> split_rows(int64_t num_rows, DataSplit split, double val_fraction, uint64_t seed,
                                const std::string& what) {
  if (!(val_fraction >= 0.0 && val_fraction < 1.0)) {
    throw ConfigError(fmt::format("{}: val_fraction must be in [0, 1), got {}", what, val_fraction));
  }
  std::vector<int64_t> rows;
  if (val_fraction == 0.0) {
    rows.resize(static_cast<size_t>(num_rows));
    for (int64_t i = 0; i < num_rows; ++i) rows[static_cast<size_t>(i)] = i;
  } else {
    const auto num_val = static_cast<int64_t>(std::llround(val_fraction * static_cast<double>(num_rows)));
    // The first num_val positions of the permutation are validation rows.
    const IndexPermutation permutation(num_rows, mix64(seed ^ 0x73706c6974ULL));
    std::vector<char> is_val(static_cast<size_t>(num_rows), 0);
    for (int64_t i = 0; i < num_val; ++i) is_val[static_cast<size_t>(permutation(i))] = 1;
    const char wanted = split == DataSplit::VALIDATION ? 1 : 0;
    for (int64_t i = 0; i < num_rows; ++i) {
      if (is_val[static_cast<size_t>(i)] == wanted) rows.push_back(i);
    }
  }
  if (rows.empty()) {
    throw DataError(fmt::format("{}: the {} split is empty ({} rows, val_fraction {}); {}", what, to_string(split),
                                num_rows, val_fraction,
                                num_rows == 0 ? "the file holds no data"
                                              : "give more rows or another val_fraction"));
  }
  return rows;
}

}  // namespace tempo
