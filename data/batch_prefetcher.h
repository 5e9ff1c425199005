// Prepares the next batch on a background thread while the current one trains, so gathering
// samples (and whatever a custom Dataset does in get_batch) overlaps the model's work instead of
// adding to it. Because a loader's batches are a pure function of (epoch, batch index), what the
// prefetcher hands out is exactly what loader.batch() would: prefetching changes timing, never
// results, and a resumed run is bit-exact whether it prefetches or not.
// The contract this relies on (data/dataset.h): get_batch is const, safe to call concurrently,
// and draws no random numbers from the global generator.
// A prefetch that throws is not reported until that batch is asked for, and then exactly as a
// direct call would throw. One worker thread, one batch ahead; the destructor waits for it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "tempo/data/batch.h"

namespace tempo {

class DataLoader;

class BatchPrefetcher {
 public:
  // `loader` must outlive the prefetcher. The worker thread starts on the first prefetch.
  explicit BatchPrefetcher(const DataLoader& loader);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // loader.batch(epoch, batch_in_epoch): taken from the worker when it was the batch prefetched
  // (waiting for it if need be), read directly otherwise. Then starts preparing `next`, if given.
  Batch get(int64_t epoch, int64_t batch_in_epoch, std::optional<std::pair<int64_t, int64_t>> next);

  // How many get() calls were served by the worker (for tests and benchmarks).
  int64_t hits() const { return hits_; }

 private:
  void work();

  const DataLoader& loader_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::optional<std::pair<int64_t, int64_t>> request_;  // guarded by mutex_
  std::optional<std::pair<int64_t, int64_t>> pending_;  // what the worker holds or prepares
  bool ready_ = false;                                  // guarded by mutex_
  bool stop_ = false;                                   // guarded by mutex_
  Batch result_;                                        // guarded by mutex_
  std::exception_ptr error_;                            // guarded by mutex_
  int64_t hits_ = 0;
  std::thread worker_;
};

// Whether the trainer prefetches for `loader`: its `prefetch` option, and a CPU free of ATen's
// intra-op threads (the process may run on more CPUs than at::get_num_threads()). Without one
// the worker only contends with the pool: on LibTorch 2.13 (GNU OpenMP, whose threads spin
// between parallel regions), 2 threads on 2 CPUs made an epoch 1.8 times as long with
// prefetching as without (benchmarks/bench_trainer_overhead).
bool prefetch_pays(const DataLoader& loader);

// Loader batches [first, end) of `epoch` (first < end <= loader.num_batches()) joined into one
// Batch (Batch::cat), as the trainer's step of accumulated loader batches; their sizes are
// appended to `sizes`. Through `prefetcher` when not null, which then prepares the loader's batch
// after `end - 1` (the next epoch's first after the last) unless `ends_run`. Throws what
// loader.batch() and Batch::cat throw.
Batch fetch_batches(const DataLoader& loader, BatchPrefetcher* prefetcher, int64_t epoch, int64_t first, int64_t end,
                    bool ends_run, std::vector<int64_t>& sizes);

}  // namespace tempo
