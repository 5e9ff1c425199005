#include "tempo/data/batch_prefetcher.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <sched.h>
#if __has_include(<c10/util/ParallelGuard.h>)
#include <c10/util/ParallelGuard.h>
#define TEMPO_HAS_PARALLEL_GUARD 1
#endif

#include <algorithm>

#include "tempo/data/data_loader.h"

namespace tempo {

BatchPrefetcher::BatchPrefetcher(const DataLoader& loader, std::optional<Position> end)
    : loader_(loader),
      end_(end),
      depth_(static_cast<size_t>(loader.prefetch_depth())),
      threads_(static_cast<size_t>(loader.prefetch_threads())) {}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    window_.clear();
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

BatchPrefetcher::Position BatchPrefetcher::after(Position p) const {
  return p.second + 1 < loader_.num_batches() ? Position{p.first, p.second + 1} : Position{p.first + 1, 0};
}

void BatchPrefetcher::work() {
  // Gradients are never wanted for data; the mode is per thread, so it is set here.
  at::NoGradGuard no_grad;
#ifdef TEMPO_HAS_PARALLEL_GUARD
  // Each worker runs its tensor work on its own thread only, as PyTorch's DataLoader workers do
  // (torch.set_num_threads(1) in each worker): ATen's parallel_for would otherwise start a team
  // of intra-op threads from every worker, competing with the training thread's team for the
  // same cores. LibTorch 1.13 has no such guard; there a worker's ops may still fan out.
  c10::ParallelGuard serial(true);
#endif
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    std::shared_ptr<Slot> slot;
    wake_.wait(lock, [&] {
      if (stop_) return true;
      for (const auto& s : window_) {
        if (!s->started) {
          slot = s;
          return true;
        }
      }
      return false;
    });
    if (stop_) return;
    slot->started = true;
    lock.unlock();
    Batch batch;
    std::exception_ptr error;
    try {
      batch = loader_.batch(slot->position.first, slot->position.second);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    // A slot dropped from the window meanwhile is only referenced here: its batch goes with it.
    slot->batch = std::move(batch);
    slot->error = error;
    slot->ready = true;
    done_.notify_all();
  }
}

Batch BatchPrefetcher::get(int64_t epoch, int64_t batch_in_epoch, std::optional<Position> next) {
  const Position wanted{epoch, batch_in_epoch};
  std::shared_ptr<Slot> slot;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(window_.begin(), window_.end(), [&](const auto& s) { return s->position == wanted; });
    if (it != window_.end()) {
      slot = *it;
      window_.erase(window_.begin(), it);  // the wanted one stays in front until ready, so a worker takes it
    } else {
      window_.clear();
    }
    // The window after the wanted slot becomes `next` and its successors.
    const size_t base = slot ? 1 : 0;
    if (!next) {
      window_.resize(base);
    } else {
      if (window_.size() > base && window_[base]->position != *next) window_.resize(base);
      Position p = window_.size() > base ? after(window_.back()->position) : *next;
      while (window_.size() - base < depth_ && (!end_ || p < *end_)) {
        window_.push_back(std::make_shared<Slot>());
        window_.back()->position = p;
        p = after(p);
      }
    }
    while (window_.size() > base && workers_.size() < threads_) workers_.emplace_back([this] { work(); });
  }
  wake_.notify_all();
  if (!slot) return loader_.batch(epoch, batch_in_epoch);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return slot->ready; });
  if (!window_.empty() && window_.front() == slot) window_.pop_front();
  ++hits_;
  if (slot->error) std::rethrow_exception(slot->error);
  return std::move(slot->batch);
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
  if (loader.options().num_workers() > 0) return true;
  if (!loader.options().prefetch()) return false;
  cpu_set_t cpus;
  const int available = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus)
                                                                      : static_cast<int>(std::thread::hardware_concurrency());
  return available > at::get_num_threads();
}

}  // namespace tempo
