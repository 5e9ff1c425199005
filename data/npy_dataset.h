// Inputs and targets from two NumPy .npy files (data/npy_file.h, memory-mapped), row i of each
// being sample i; optionally one split of the rows (data/row_split.h). YAML's `npy` dataset.
// Batches keep the files' dtypes (float32 inputs and int64 class ids for the built-in models and
// loss: np.save(x.astype(np.float32)), np.save(y.astype(np.int64))).
// Throws: ConfigError when inputs or targets is not given; DataError as map_npy for either file,
// and naming both files and their shapes when their first dimensions differ.
#pragma once

#include <torch/arg.h>

#include <memory>
#include <string>

#include "tempo/data/array_dataset.h"

namespace tempo {

struct NpyDatasetOptions {
  TORCH_ARG(std::string, inputs) = "";
  TORCH_ARG(std::string, targets) = "";
  TORCH_ARG(DataSplit, split) = DataSplit::TRAIN;
  // 0: the files are the split; else as data/row_split.h.
  TORCH_ARG(double, val_fraction) = 0.0;
  TORCH_ARG(uint64_t, split_seed) = 0;
};

std::shared_ptr<ArrayDataset> load_npy_dataset(const NpyDatasetOptions& options);

}  // namespace tempo
