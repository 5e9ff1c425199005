// CopyFence: background copies that still read the live parameters and optimizer state.
//
// save_async copies the parameters and the optimizer state while the next batch's forward and
// backward run (they read those tensors and change neither); the trainer calls wait() just
// before the optimizer step, so the step never changes a tensor that is still being copied.
// Anything else that changes parameters or optimizer state in place between a checkpoint event
// and the next optimizer step (a callback editing weights at BATCH_START, say) must call wait()
// first; a save that finds such a change is not written and fails the run with a tempo::Error
// naming the tensor (a bug in the program, not a disk problem, so save_ignore_errors does not
// apply) rather than write a torn checkpoint.
#pragma once

#include <algorithm>
#include <chrono>
#include <future>
#include <utility>
#include <vector>

namespace tempo {

class CopyFence {
 public:
  // Registers a copy in progress; `done` is made ready when it no longer reads the live tensors.
  void add(std::shared_future<void> done) {
    // Copies already done are dropped, so a fence nobody waits on does not grow.
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                  [](const std::shared_future<void>& copy) {
                                    return copy.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
                                  }),
                   pending_.end());
    pending_.push_back(std::move(done));
  }
  // Blocks until every registered copy is done. Copies report their errors elsewhere (the saver
  // does), so this never throws.
  void wait() {
    for (auto& copy : pending_) copy.wait();
    pending_.clear();
  }
  bool pending() const { return !pending_.empty(); }

 private:
  std::vector<std::shared_future<void>> pending_;
};

}  // namespace tempo
