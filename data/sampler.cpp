#include "tempo/data/sampler.h"

#include "tempo/data/index_permutation.h"
#include "tempo/errors/error.h"

#include <string>

namespace tempo {
namespace {

// Mixing seed + epoch (rather than using it as the key directly) keeps epoch e of seed s
// unrelated to epoch e - 1 of seed s + 1 beyond what PyTorch's seed + epoch already implies.
uint64_t epoch_key(uint64_t seed, int64_t epoch) {
  return mix64(seed + static_cast<uint64_t>(epoch));
}

}  // namespace

DistributedSampler::DistributedSampler(int64_t dataset_size, bool shuffle, uint64_t seed,
                                       int64_t num_replicas, int64_t rank, bool drop_last)
    : dataset_size_(dataset_size),
      shuffle_(shuffle),
      seed_(seed),
      num_replicas_(num_replicas),
      rank_(rank),
      drop_last_(drop_last) {
  if (dataset_size < 0) {
    throw ConfigError("DistributedSampler: dataset_size must be >= 0, got " +
                      std::to_string(dataset_size));
  }
  if (num_replicas < 1) {
    throw ConfigError("DistributedSampler: num_replicas must be >= 1, got " +
                      std::to_string(num_replicas));
  }
  if (rank < 0 || rank >= num_replicas) {
    throw ConfigError("DistributedSampler: rank must be in [0, " + std::to_string(num_replicas) +
                      "), got " + std::to_string(rank));
  }
  num_samples_ = drop_last ? dataset_size / num_replicas
                           : dataset_size / num_replicas + (dataset_size % num_replicas != 0);
}

void DistributedSampler::check_range(int64_t epoch, int64_t begin, int64_t count) const {
  if (epoch < 0) {
    throw ConfigError("DistributedSampler: epoch must be >= 0, got " + std::to_string(epoch));
  }
  if (begin < 0 || count < 0 || begin > num_samples_ || count > num_samples_ - begin) {
    throw ConfigError("DistributedSampler: positions [" + std::to_string(begin) + ", " +
                      std::to_string(begin) + " + " + std::to_string(count) +
                      ") are outside this rank's [0, " + std::to_string(num_samples_) + ")");
  }
}

int64_t DistributedSampler::index(int64_t epoch, int64_t position) const {
  check_range(epoch, position, 1);
  // Global position in the padded epoch order; padding repeats the order from its start, which
  // is what PyTorch's `indices += indices[:padding_size]` (tiled when needed) amounts to.
  const int64_t global = (rank_ + position * num_replicas_) % dataset_size_;
  return shuffle_ ? IndexPermutation(dataset_size_, epoch_key(seed_, epoch))(global) : global;
}

std::vector<int64_t> DistributedSampler::indices(int64_t epoch, int64_t begin,
                                                 int64_t count) const {
  check_range(epoch, begin, count);
  std::vector<int64_t> out(static_cast<size_t>(count));
  if (count == 0) return out;
  const IndexPermutation permutation(dataset_size_, epoch_key(seed_, epoch));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t global = (rank_ + (begin + i) * num_replicas_) % dataset_size_;
    out[static_cast<size_t>(i)] = shuffle_ ? permutation(global) : global;
  }
  return out;
}

}  // namespace tempo
