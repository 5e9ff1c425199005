// Logging: a Logger is what callbacks and the trainer log to; it hands every record to the
// run's LoggerDestinations (console, file, TensorBoard...). A destination is itself a Callback,
// so it also sees every event (to flush at EPOCH_END, close at FIT_END, and so on).
// Metric records carry a step, by default the run's current batch count.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tempo/callbacks/callback.h"
#include "tempo/metrics/metric.h"

namespace tempo {

using Metrics = std::map<std::string, double>;
using Hyperparameters = std::map<std::string, std::string>;

// A checkpoint being saved or loaded: `done` of `total` bytes. Reported once with done 0, as
// the bytes go (every few MiB), and once with done == total.
struct CheckpointProgress {
  std::string action;  // "saving" or "loading"
  std::string path;
  uint64_t done = 0;
  uint64_t total = 0;
};

class LoggerDestination : public Callback {
 public:
  virtual void log_metrics(const Metrics& metrics, int64_t step) = 0;
  virtual void log_hyperparameters(const Hyperparameters& hyperparameters) = 0;
  // Only destinations that show progress (the progress bar) care; always on the trainer's thread.
  virtual void log_checkpoint_progress(const CheckpointProgress&) {}
  // Composer's Logger.upload_file: the file at `file_path`, as it is now, should be stored as
  // `remote_file_name`. Only destinations that upload (RemoteUploaderDownloader) care; the file
  // loggers call it after each flush, `tempo train` for config.yaml.
  virtual void upload_file(const std::string& /*remote_file_name*/, const std::string& /*file_path*/) {}
};

class Logger {
 public:
  Logger() = default;
  explicit Logger(std::vector<std::shared_ptr<LoggerDestination>> destinations);

  // `step` defaults to the step set by the trainer (the batch count).
  void log_metrics(const Metrics& metrics, std::optional<int64_t> step = std::nullopt);
  // Composer's _compute_and_log_metrics: every metric's value as metrics/<label>/<name>. A
  // metric that saw no batch (a resumed run's metrics at the end of the epoch it resumed at,
  // without save_metrics) is left out rather than logged as NaN.
  void log_metric_values(const std::string& label, const MetricMap& metrics);
  void log_hyperparameters(const Hyperparameters& hyperparameters);
  void log_checkpoint_progress(const CheckpointProgress& progress);
  void upload_file(const std::string& remote_file_name, const std::string& file_path);

  void set_step(int64_t step) { step_ = step; }
  const std::vector<std::shared_ptr<LoggerDestination>>& destinations() const { return destinations_; }

 private:
  std::vector<std::shared_ptr<LoggerDestination>> destinations_;
  int64_t step_ = 0;
};

}  // namespace tempo
