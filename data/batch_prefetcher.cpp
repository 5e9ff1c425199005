#include "tempo/data/batch_prefetcher.h"

#include <ATen/Parallel.h>
#include <sched.h>

#include "tempo/data/data_loader.h"

namespace tempo {

BatchPrefetcher::BatchPrefetcher(const DataLoader& loader) : loader_(loader) {}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void BatchPrefetcher::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || request_.has_value(); });
    if (stop_) return;
    const auto [epoch, batch_in_epoch] = *request_;
    request_.reset();
    lock.unlock();
    Batch batch;
    std::exception_ptr error;
    try {
      batch = loader_.batch(epoch, batch_in_epoch);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    result_ = std::move(batch);
    error_ = error;
    ready_ = true;
    done_.notify_one();
  }
}

Batch BatchPrefetcher::get(int64_t epoch, int64_t batch_in_epoch,
                           std::optional<std::pair<int64_t, int64_t>> next) {
  Batch batch;
  std::exception_ptr error;
  bool served = false;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (pending_) {
      // Whatever the worker holds is collected, so that it is idle before the next request.
      done_.wait(lock, [&] { return ready_; });
      if (*pending_ == std::make_pair(epoch, batch_in_epoch)) {
        batch = std::move(result_);
        error = error_;
        served = true;
      }
      result_ = Batch{};
      error_ = nullptr;
      ready_ = false;
      pending_.reset();
    }
  }
  if (served) {
    ++hits_;
    if (error) std::rethrow_exception(error);
  } else {
    batch = loader_.batch(epoch, batch_in_epoch);
  }
  if (next) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      request_ = next;
      pending_ = next;
    }
    if (!worker_.joinable()) worker_ = std::thread([this] { work(); });
    wake_.notify_one();
  }
  return batch;
}

Batch fetch_batches(const DataLoader& loader, BatchPrefetcher* prefetcher, int64_t epoch, int64_t first, int64_t end,
                    bool ends_run, std::vector<int64_t>& sizes) {
  const int64_t loader_batches = loader.num_batches();
  std::vector<Batch> parts;
  for (int64_t j = first; j < end; ++j) {
    if (!prefetcher) {
      parts.push_back(loader.batch(epoch, j));
    } else {
      // The batch after this one, unless this one ends the run (a batch prepared for nothing
      // costs a custom dataset's full get_batch).
      std::optional<std::pair<int64_t, int64_t>> next =
          j + 1 < loader_batches ? std::make_pair(epoch, j + 1) : std::make_pair(epoch + 1, int64_t{0});
      if (ends_run && j + 1 == end) next.reset();
      parts.push_back(prefetcher->get(epoch, j, next));
    }
    sizes.push_back(parts.back().size());
  }
  return Batch::cat(parts);
}

bool prefetch_pays(const DataLoader& loader) {
  if (!loader.options().prefetch()) return false;
  cpu_set_t cpus;
  const int available = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus)
                                                                      : static_cast<int>(std::thread::hardware_concurrency());
  return available > at::get_num_threads();
}

}  // namespace tempo
