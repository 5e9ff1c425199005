#include "tempo/data/synthetic_dataset.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include "tempo/errors/error.h"

namespace tempo {

std::shared_ptr<TensorDataset> make_synthetic_dataset(int64_t num_samples, const std::vector<int64_t>& shape,
                                                      int64_t num_classes, uint64_t seed) {
  if (num_samples < 1) throw ConfigError(fmt::format("synthetic: num_samples must be positive, got {}", num_samples));
  if (num_classes < 1) throw ConfigError(fmt::format("synthetic: num_classes must be positive, got {}", num_classes));
  if (shape.empty()) throw ConfigError("synthetic: shape must have at least one dimension");
  for (auto d : shape) {
    if (d < 1) throw ConfigError(fmt::format("synthetic: every dimension of shape must be positive, got {}", d));
  }
  // A private generator: building the data must not move the global RNG the run is seeded from.
  // The class means do not depend on `seed`, so a train and an eval set made with different
  // seeds are two samples of one problem.
  std::vector<int64_t> centre_shape{num_classes};
  centre_shape.insert(centre_shape.end(), shape.begin(), shape.end());
  auto centres = torch::randn(centre_shape, at::detail::createCPUGenerator(0x5eed));
  auto gen = at::detail::createCPUGenerator(seed);
  auto labels = torch::randint(0, num_classes, {num_samples}, gen, torch::kLong);
  std::vector<int64_t> sample_shape{num_samples};
  sample_shape.insert(sample_shape.end(), shape.begin(), shape.end());
  auto input = centres.index_select(0, labels) + torch::randn(sample_shape, gen);
  return std::make_shared<TensorDataset>(input, labels);
}

}  // namespace tempo
