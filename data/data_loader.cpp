#include "tempo/data/data_loader.h"

#include "tempo/errors/error.h"

#include <algorithm>
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
  return dataset;
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options,
                       int64_t num_replicas, int64_t rank)
    : dataset_(checked(dataset, options)),
      options_(std::move(options)),
      sampler_(dataset_->size(), options_.shuffle(), options_.seed().value_or(0), num_replicas,
               rank, options_.drop_last()) {}

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
  return dataset_->get_batch(batch_indices(epoch, batch_in_epoch));
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
