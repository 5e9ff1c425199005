// Random classification data made from a seed, for smoke tests and examples that must not need
// a download: each class has its own random mean image (the same for every seed) and samples are
// that mean plus unit Gaussian noise drawn from `seed`, so a model can learn it. Same arguments,
// same tensors, on every machine; the global RNG is left alone. YAML's `synthetic` dataset.
// Throws ConfigError naming the argument for non-positive sizes or an empty shape.
#pragma once

#include <torch/arg.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tempo/data/dataset.h"

namespace tempo {

// input float32 [num_samples, shape...], target int64 [num_samples] in [0, num_classes).
struct SyntheticDatasetOptions {
  TORCH_ARG(int64_t, num_samples) = 256;
  // The shape of one input sample.
  TORCH_ARG(std::vector<int64_t>, shape) = {1, 28, 28};
  // Labels are 0..num_classes-1.
  TORCH_ARG(int64_t, num_classes) = 10;
  // The seed of the data (not of the run).
  TORCH_ARG(uint64_t, seed) = 0;
};

std::shared_ptr<TensorDataset> make_synthetic_dataset(int64_t num_samples, const std::vector<int64_t>& shape,
                                                      int64_t num_classes, uint64_t seed);

inline std::shared_ptr<TensorDataset> make_synthetic_dataset(const SyntheticDatasetOptions& options) {
  return make_synthetic_dataset(options.num_samples(), options.shape(), options.num_classes(), options.seed());
}

}  // namespace tempo
