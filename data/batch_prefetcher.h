// Prepares the batches that come next on worker threads while the current one trains, so
// gathering samples, transforms (and whatever a custom Dataset does in get_batch) overlap the
// model's work instead of adding to it. Because a loader's batches are a pure function of (epoch,
// batch index), what the prefetcher hands out is exactly what loader.batch() would: prefetching
// changes timing, never results, and a resumed run is bit-exact whatever the number of workers.
// The contract this relies on (data/dataset.h): get_batch is const, safe to call concurrently,
// and draws no random numbers from the global generator.
// Window: loader.prefetch_threads() threads keep the loader.prefetch_depth() batches after the
// one handed out in flight (`next`, then its successors in order: the epoch's next batches, then
// the next epoch's first ones), each thread taking the earliest batch not yet started; so without
// num_workers it is the single thread one batch ahead, with N workers N * prefetch_factor ahead.
// A get() of a batch further on in the window drops the ones before it; of a batch outside it,
// drops the window and reads the batch directly (a resume starts the window at its own batch: no
// replay). A batch that throws on a worker is not reported until it is asked for, and then
// exactly as a direct call would throw. Batches dropped unasked are discarded with their errors.
// The destructor stops the workers and joins them (each finishes at most the batch it holds).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
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
  using Position = std::pair<int64_t, int64_t>;  // (epoch, batch in epoch)

  // `loader` must outlive the prefetcher. Batches at or after `end` (compared as (epoch, batch)
  // pairs) are never prepared: an evaluation passes (0, its batch count). The worker threads
  // start on the first prefetch.
  explicit BatchPrefetcher(const DataLoader& loader, std::optional<Position> end = std::nullopt);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // loader.batch(epoch, batch_in_epoch): taken from the window when it is there (waiting for it
  // if need be), read directly otherwise. Then the window is `next` and the batches after it (up
  // to the depth); without `next` (nothing more will be asked) it is emptied.
  Batch get(int64_t epoch, int64_t batch_in_epoch, std::optional<Position> next);

  // How many get() calls were served by the workers (for tests and benchmarks).
  int64_t hits() const { return hits_; }

 private:
  struct Slot {
    Position position;
    bool started = false;
    bool ready = false;
    Batch batch;
    std::exception_ptr error;
  };

  void work();
  Position after(Position p) const;

  const DataLoader& loader_;
  const std::optional<Position> end_;
  const size_t depth_;
  const size_t threads_;
  std::mutex mutex_;
  std::condition_variable wake_;              // a slot to start, or stop_
  std::condition_variable done_;              // a slot became ready
  std::deque<std::shared_ptr<Slot>> window_;  // guarded by mutex_; in order
  bool stop_ = false;                         // guarded by mutex_
  int64_t hits_ = 0;
  std::vector<std::thread> workers_;
};

// Whether the trainer prefetches for `loader`: always with num_workers > 0 (the user asked for
// worker threads); otherwise its `prefetch` option, and a CPU free of ATen's intra-op threads (the process may run on more CPUs than at::get_num_threads()). Without one
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
