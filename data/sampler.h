// Which dataset sample each rank reads at each position of each epoch, with the semantics of
// PyTorch's DistributedSampler (which Composer uses): the epoch's order is a permutation keyed by
// seed + epoch (PyTorch's set_epoch), or the identity when not shuffling; it is padded by wrapping
// around to a multiple of num_replicas (or cut to one when drop_last), and rank r takes global
// positions r, r + R, r + 2R, ... Every lookup is O(1) and needs no per-epoch state, so any epoch
// and position can be asked for in any order. The shuffled order is tempo's own (a Feistel
// permutation), not torch.randperm's: the same seed gives a different order than PyTorch.
// Invariants: 0 <= rank < num_replicas; num_samples() == ceil(size / R), or floor when drop_last;
// over one epoch the ranks together cover every sample (drop_last: all but < R of them) and
// padding repeats the start of the epoch's order.
// Throws: ConfigError for bad arguments, a negative epoch or a position outside [0, num_samples).
#pragma once

#include <cstdint>
#include <vector>

namespace tempo {

class DistributedSampler {
 public:
  DistributedSampler(int64_t dataset_size, bool shuffle, uint64_t seed, int64_t num_replicas = 1,
                     int64_t rank = 0, bool drop_last = false);

  // Samples this rank sees per epoch.
  int64_t num_samples() const { return num_samples_; }
  // Samples all ranks see together per epoch, padding included.
  int64_t total_size() const { return num_samples_ * num_replicas_; }

  // Dataset index of this rank's position-th sample in `epoch`.
  int64_t index(int64_t epoch, int64_t position) const;
  // Dataset indices of positions [begin, begin + count); cheaper than count calls to index().
  std::vector<int64_t> indices(int64_t epoch, int64_t begin, int64_t count) const;

  int64_t dataset_size() const { return dataset_size_; }
  bool shuffle() const { return shuffle_; }
  uint64_t seed() const { return seed_; }
  int64_t num_replicas() const { return num_replicas_; }
  int64_t rank() const { return rank_; }
  bool drop_last() const { return drop_last_; }

 private:
  void check_range(int64_t epoch, int64_t begin, int64_t count) const;

  int64_t dataset_size_;
  bool shuffle_;
  uint64_t seed_;
  int64_t num_replicas_;
  int64_t rank_;
  bool drop_last_;
  int64_t num_samples_;
};

}  // namespace tempo
