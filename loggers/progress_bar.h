// One progress bar as tqdm draws it: "DESC: 45%|███▌    | 29/64 [00:01<00:02, 21.30ba/s, loss/train/total=0.6931]".
// It counts n of total (total < 0: unknown, then "29ba [00:01, 21.30ba/s]"), keeps the latest
// value of the metrics whose names it shows, and measures its rate from when it was made (or
// restored), so a bar brought back from a checkpoint does not count the batches before the
// restart as done in no time. render() gives the line without any line ending; with
// `terminal` false it has no bar, no control characters and only ASCII.
#pragma once

#include <ATen/core/ivalue.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "tempo/callbacks/logger.h"

namespace tempo {

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;

  // is_train picks the metrics shown: "loss/train..." and "metrics/train/..." for training,
  // every other "metrics/..." for evaluation.
  ProgressBar(std::string label, std::string desc, int64_t total, std::string unit, std::string timestamp_key,
              bool is_train, int64_t n = 0);

  void update_to(int64_t n) { n_ = n; }
  void increment() { ++n_; }
  // Keeps the metrics this bar shows; an evaluation bar also takes its label from the first
  // "metrics/<label>/..." name it sees.
  void log(const Metrics& metrics);

  std::string render(bool terminal, int64_t bar_width, Clock::time_point now) const;
  // The percentage done, floored; -1 when the total is unknown.
  int64_t percent() const;

  int64_t n() const { return n_; }
  int64_t total() const { return total_; }
  const std::string& timestamp_key() const { return timestamp_key_; }
  const Metrics& metrics() const { return metrics_; }

  // {"label", "desc", "total", "n", "unit", "timestamp_key", "is_train", "metrics": {name: value}};
  // from_state_dict throws CheckpointError (naming `path`) when the tree does not fit.
  c10::IValue state_dict() const;
  static ProgressBar from_state_dict(const c10::IValue& tree, const std::string& path);

 private:
  std::string label_;
  std::string desc_;
  int64_t total_;
  std::string unit_;
  std::string timestamp_key_;
  bool is_train_;
  int64_t n_;
  int64_t n_start_;
  Clock::time_point start_;
  Metrics metrics_;
};

}  // namespace tempo
