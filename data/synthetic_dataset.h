// Random classification data made from a seed, for smoke tests and examples that must not need
// a download: each class has its own random mean image (the same for every seed) and samples are
// that mean plus unit Gaussian noise drawn from `seed`, so a model can learn it. Same arguments,
// same tensors, on every machine; the global RNG is left alone. YAML's `synthetic` dataset.
// Throws ConfigError naming the argument for non-positive sizes or an empty shape.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "data/dataset.h"

namespace tempo {

// input float32 [num_samples, shape...], target int64 [num_samples] in [0, num_classes).
std::shared_ptr<TensorDataset> make_synthetic_dataset(int64_t num_samples, const std::vector<int64_t>& shape,
                                                      int64_t num_classes, uint64_t seed);

}  // namespace tempo
