// Logs the process's host memory after each training batch: memory/rss_bytes (VmRSS) and
// memory/peak_rss_bytes (VmHWM) from /proc/self/status. (Composer's MemoryMonitor reports CUDA
// allocator statistics; this is the host-side counterpart.) Logs nothing where
// /proc/self/status cannot be read. Stateless.
#pragma once

#include <optional>
#include <utility>

#include "tempo/callbacks/callback.h"

namespace tempo {

class MemoryMonitor : public Callback {
 public:
  // (VmRSS, VmHWM) in bytes, or nothing when /proc/self/status is not readable.
  static std::optional<std::pair<double, double>> read_rss();

 protected:
  void on_after_train_batch(State& state, Logger& logger) override;
};

}  // namespace tempo
