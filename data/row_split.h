// The train/validation split of a file's rows that the csv, npy and safetensors datasets share:
// with val_fraction f > 0, round(f * n) rows chosen by a keyed permutation of the n rows
// (data/index_permutation.h, so the same on every platform) are "validation" and the others
// "train"; each part keeps the file's order. The two parts are disjoint, cover every row, and
// depend only on (n, f, seed). With f == 0 the file is taken as the split itself: every row, for
// either part (a file per split).
// Throws: ConfigError for f outside [0, 1); DataError (naming `what`, the file) when the part
// asked for would be empty.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tempo {

enum class DataSplit { TRAIN, VALIDATION };
std::string to_string(DataSplit split);  // "train", "validation"

// The rows of `split`, ascending.
std::vector<int64_t> split_rows(int64_t num_rows, DataSplit split, double val_fraction, uint64_t seed,
                                const std::string& what);

}  // namespace tempo
