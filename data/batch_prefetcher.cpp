#include "data/batch_prefetcher.h"

#include "data/data_loader.h"

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

}  // namespace tempo
