// Logs training throughput and wall-clock time (Composer's SpeedMonitor). At each BATCH_END it
// records (samples seen, training seconds) from state.timestamp; once the window holds
// window_size + 1 records it logs throughput/batches_per_sec and throughput/samples_per_sec
// over the last window_size batches. Every BATCH_END also logs wall_clock/train (the
// timestamp's training seconds), wall_clock/val (seconds spent in evaluation, EVAL_START to
// EVAL_END) and wall_clock/total (their sum). The window and the evaluation total are its state,
// so a resumed run logs what the uninterrupted one would.
// Throws ConfigError for window_size < 1, CheckpointError for a state tree that does not fit.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include <torch/arg.h>

#include "tempo/callbacks/callback.h"

namespace tempo {

struct SpeedMonitorOptions {
  // Batches over which throughput is averaged.
  TORCH_ARG(int64_t, window_size) = 100;
};

class SpeedMonitor : public Callback {
 public:
  explicit SpeedMonitor(SpeedMonitorOptions options) : SpeedMonitor(options.window_size()) {}
  explicit SpeedMonitor(int64_t window_size = 100);

  double total_eval_seconds() const { return total_eval_wct_; }

  c10::IValue state_dict() const override;
  void load_state_dict(const c10::IValue& state) override;

 protected:
  void on_batch_end(State& state, Logger& logger) override;
  void on_eval_start(State& state, Logger& logger) override;
  void on_eval_end(State& state, Logger& logger) override;

 private:
  int64_t window_size_;
  std::deque<std::pair<int64_t, double>> history_;  // (samples, training seconds)
  std::deque<int64_t> token_history_;                // tokens at the same batches
  double total_eval_wct_ = 0.0;
  std::optional<std::chrono::steady_clock::time_point> eval_start_;
};

}  // namespace tempo
