#include "tempo/data/data_loader.h"

#include "tempo/errors/error.h"

#include <ATen/Context.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

namespace tempo {
namespace {

// Validates before the sampler is built so the user sees the loader's complaint, not the
// sampler's.
const std::shared_ptr<Dataset>& checked(const std::shared_ptr<Dataset>& dataset,
                                        const DataLoaderOptions& options) {
  if (!dataset) throw DataError("DataLoader: dataset is null");
  if (dataset->size() <= 0) {
    throw DataError("DataLoader: dataset is empty (size " + std::to_string(dataset->size()) +
                    "); there is nothing to train on");
  }
  if (options.batch_size() < 1) {
    throw ConfigError("DataLoader: batch_size must be >= 1, got " +
                      std::to_string(options.batch_size()));
  }
  if (options.num_workers() < 0) {
    throw ConfigError("DataLoader: num_workers must be >= 0, got " + std::to_string(options.num_workers()));
  }
  if (options.prefetch_factor()) {
    // PyTorch: "prefetch_factor option could only be specified in multiprocessing".
    if (options.num_workers() == 0) {
      throw ConfigError("DataLoader: prefetch_factor is only used with num_workers > 0; set num_workers or leave "
                        "prefetch_factor unset");
    }
    if (*options.prefetch_factor() < 1) {
      throw ConfigError("DataLoader: prefetch_factor must be >= 1, got " +
                        std::to_string(*options.prefetch_factor()));
    }
  }
  for (size_t i = 0; i < options.transforms().size(); ++i) {
    if (!options.transforms()[i]) throw ConfigError("DataLoader: transform " + std::to_string(i) + " is null");
  }
  return dataset;
}

bool pins(const DataLoaderOptions& options) {
  if (!options.pin_memory()) return false;
  if (at::hasCUDA()) return true;
  static std::once_flag noted;
  std::call_once(noted, [] {
    std::fprintf(stderr, "tempo: note: the data loader's pin_memory is set but CUDA is not available; batches "
                         "are not pinned\n");
  });
  return false;
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options,
                       int64_t num_replicas, int64_t rank)
    : dataset_(checked(dataset, options)),
      options_(std::move(options)),
      sampler_(dataset_->size(), options_.shuffle(), options_.seed().value_or(0), num_replicas,
               rank, options_.drop_last()),
      pin_(pins(options_)) {}

int64_t DataLoader::prefetch_threads() const { return std::max<int64_t>(1, options_.num_workers()); }

int64_t DataLoader::prefetch_depth() const {
  return options_.num_workers() > 0 ? options_.num_workers() * options_.prefetch_factor().value_or(2) : 1;
}

int64_t DataLoader::num_batches() const {
  const int64_t n = sampler_.num_samples();
  const int64_t b = options_.batch_size();
  return options_.drop_last() ? n / b : n / b + (n % b != 0);
}

void DataLoader::check_batch(int64_t batch_in_epoch) const {
  if (batch_in_epoch < 0 || batch_in_epoch >= num_batches()) {
    throw ConfigError("DataLoader: batch " + std::to_string(batch_in_epoch) +
                      " is outside [0, " + std::to_string(num_batches()) + ") (" +
                      std::to_string(sampler_.num_samples()) + " samples per epoch on rank " +
                      std::to_string(sampler_.rank()) + ", batch_size " +
                      std::to_string(options_.batch_size()) + ")");
  }
}

int64_t DataLoader::num_samples_in_batch(int64_t batch_in_epoch) const {
  check_batch(batch_in_epoch);
  const int64_t begin = batch_in_epoch * options_.batch_size();
  return std::min(options_.batch_size(), sampler_.num_samples() - begin);
}

std::vector<int64_t> DataLoader::batch_indices(int64_t epoch, int64_t batch_in_epoch) const {
  const int64_t count = num_samples_in_batch(batch_in_epoch);
  return sampler_.indices(epoch, batch_in_epoch * options_.batch_size(), count);
}

Batch DataLoader::batch(int64_t epoch, int64_t batch_in_epoch) const {
  const auto indices = batch_indices(epoch, batch_in_epoch);
  Batch batch = dataset_->get_batch(indices);
  if (!options_.transforms().empty()) {
    batch.input = apply_transforms(options_.transforms(), batch.input, sampler_.seed(), epoch, indices);
  }
  if (pin_) {
    batch.input = batch.input.is_pinned() ? batch.input : batch.input.pin_memory();
    if (batch.target.defined() && !batch.target.is_pinned()) batch.target = batch.target.pin_memory();
  }
  return batch;
}

void DataLoader::set_default_seed(uint64_t seed) {
  if (!options_.seed().has_value()) set_seed(seed);
}

void DataLoader::set_seed(uint64_t seed) {
  sampler_ = DistributedSampler(sampler_.dataset_size(), sampler_.shuffle(), seed,
                                sampler_.num_replicas(), sampler_.rank(), sampler_.drop_last());
}

void DataLoader::set_replicas(int64_t num_replicas, int64_t rank) {
  sampler_ = DistributedSampler(sampler_.dataset_size(), sampler_.shuffle(), sampler_.seed(), num_replicas, rank,
                                sampler_.drop_last());
}

}  // namespace tempo
