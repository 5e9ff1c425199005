// Inputs and targets as two named tensors of one safetensors file, row i of each being sample i;
// optionally one split of the rows (data/row_split.h). YAML's `safetensors` dataset: the config
// layer reads the file (serialization/safetensors.h, a layer beside this one) and hands the
// tensors to make_safetensors_dataset.
// Throws: ConfigError when path, inputs or targets is not given; DataError naming the file and
// listing the tensors it holds when a name is missing, and as ArrayDataset.
#pragma once

#include <torch/arg.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tempo/data/array_dataset.h"

namespace tempo {

struct SafetensorsDatasetOptions {
  TORCH_ARG(std::string, path) = "";
  // The names of the input and target tensors in the file.
  TORCH_ARG(std::string, inputs) = "";
  TORCH_ARG(std::string, targets) = "";
  TORCH_ARG(DataSplit, split) = DataSplit::TRAIN;
  // 0: the file is the split; else as data/row_split.h.
  TORCH_ARG(double, val_fraction) = 0.0;
  TORCH_ARG(uint64_t, split_seed) = 0;
};

// `tensors`: the file's tensors (read_safetensors(options.path())).
std::shared_ptr<ArrayDataset> make_safetensors_dataset(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                                                       const SafetensorsDatasetOptions& options);

}  // namespace tempo
