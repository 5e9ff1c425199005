// Batches of a Dataset for one rank, addressed by (epoch, batch index) instead of iterated: any
// batch of any epoch is produced in O(batch size), reading only that batch's samples, so resuming
// mid-epoch costs nothing and the trainer keeps its position in State, not in an iterator.
// Order and sharding follow DistributedSampler (PyTorch/Composer semantics); batches are
// consecutive runs of the rank's samples, the last one short unless drop_last.
// Invariants: batch_size >= 1; the dataset is non-empty; batch(e, k) depends only on (seed, e, k,
// num_replicas, rank), so it is reproducible and the loader holds no per-epoch state. batch() is
// const and safe to call from several threads if the dataset's get_batch is.
// Transforms (data/transforms.h) are applied per sample after get_batch, their randomness keyed
// by (seed, epoch, dataset index, position in the list), so they keep batch(e, k) pure.
// Throws: ConfigError for bad options (batch_size < 1, num_workers < 0, prefetch_factor < 1 or
// given without workers, a null transform), a negative epoch or a batch index out of range;
// DataError for a null or empty dataset, images a transform cannot take (and whatever the dataset
// throws).
#pragma once

#include "tempo/data/batch.h"
#include "tempo/data/dataset.h"
#include "tempo/data/sampler.h"
#include "tempo/data/transforms.h"

#include <torch/arg.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace tempo {

// Defaults follow PyTorch's DataLoader: batch_size 1, no shuffling, keep the short last batch.
// Without a seed the loader uses the trainer's run seed (set_default_seed), else 0.
struct DataLoaderOptions {
  TORCH_ARG(int64_t, batch_size) = 1;
  TORCH_ARG(bool, shuffle) = false;
  TORCH_ARG(bool, drop_last) = false;
  TORCH_ARG(std::optional<uint64_t>, seed) = std::nullopt;
  // The trainer prepares the next batch on a background thread while the current one trains
  // (data/batch_prefetcher.h), when a CPU is left to that thread: more CPUs are available to the
  // process than ATen's intra-op threads (prefetch_pays()). Results are the same either way.
  TORCH_ARG(bool, prefetch) = true;
  // PyTorch's meaning, with threads for processes: N > 0 threads prepare the next
  // N * prefetch_factor batches in order while training runs (data/batch_prefetcher.h), whatever
  // `prefetch` says. Batches are identical for every num_workers; 0: see `prefetch`.
  TORCH_ARG(int64_t, num_workers) = 0;
  // Batches in flight per worker; only with num_workers > 0 (an error otherwise, as in PyTorch);
  // unset: 2.
  TORCH_ARG(std::optional<int64_t>, prefetch_factor) = std::nullopt;
  // Batches in page-locked memory, for faster copies to a GPU, when CUDA is available; without
  // it a no-op (with a one-time note on stderr).
  TORCH_ARG(bool, pin_memory) = false;
  // Applied in order to each batch's input, per sample (data/transforms.h).
  TORCH_ARG(TransformList, transforms) = {};
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options = {},
             int64_t num_replicas = 1, int64_t rank = 0);

  // Batches per epoch on this rank.
  int64_t num_batches() const;
  int64_t batch_size() const { return options_.batch_size(); }
  // Samples per epoch on this rank (padding included, see DistributedSampler).
  int64_t num_samples() const { return sampler_.num_samples(); }
  // Samples in batch k: batch_size, except a short last batch when not drop_last.
  int64_t num_samples_in_batch(int64_t batch_in_epoch) const;

  Batch batch(int64_t epoch, int64_t batch_in_epoch) const;
  // The dataset indices batch(epoch, k) reads, in order.
  std::vector<int64_t> batch_indices(int64_t epoch, int64_t batch_in_epoch) const;

  // Uses `seed` unless the options named one; the trainer passes its run seed here.
  void set_default_seed(uint64_t seed);
  // Uses `seed` whatever the options said: a resumed run must shuffle as the saved run did.
  void set_seed(uint64_t seed);
  uint64_t seed() const { return sampler_.seed(); }
  // Shards the data over `num_replicas` ranks, this loader reading rank `rank`'s share (the
  // trainer calls it with the run's world size and rank). Throws DataError as the sampler does.
  void set_replicas(int64_t num_replicas, int64_t rank);

  const DataLoaderOptions& options() const { return options_; }
  // Worker threads of the prefetcher (at least 1) and the batches it holds in flight: num_workers
  // and num_workers * prefetch_factor, or 1 and 1 without workers (the single-thread prefetch).
  int64_t prefetch_threads() const;
  int64_t prefetch_depth() const;
  const DistributedSampler& sampler() const { return sampler_; }
  const Dataset& dataset() const { return *dataset_; }

 private:
  void check_batch(int64_t batch_in_epoch) const;

  std::shared_ptr<Dataset> dataset_;
  DataLoaderOptions options_;
  DistributedSampler sampler_;
  bool pin_;  // pin_memory and CUDA available
};

}  // namespace tempo
