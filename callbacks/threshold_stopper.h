// Ends training once a monitored metric crosses a threshold (Composer's ThresholdStopper): read
// after each evaluation of `dataloader_label`, at EPOCH_END for "train", and at every BATCH_END
// for "train" when stop_on_batch; when comparator(value, threshold) holds it calls
// state.request_stop(). Stateless. Throws ConfigError like EarlyStopper.
#pragma once

#include <string>

#include <torch/arg.h>

#include "tempo/callbacks/callback.h"
#include "tempo/callbacks/metric_monitor.h"

namespace tempo {

struct ThresholdStopperOptions {
  ThresholdStopperOptions(std::string monitor, std::string dataloader_label, double threshold)
      : monitor_(std::move(monitor)), dataloader_label_(std::move(dataloader_label)), threshold_(threshold) {}
  TORCH_ARG(std::string, monitor);
  TORCH_ARG(std::string, dataloader_label);
  TORCH_ARG(double, threshold);
  // "greater"/"gt", "less"/"lt", or "" for Composer's default by metric name.
  TORCH_ARG(std::string, comparator) = "";
  // Also check the training metric after every batch.
  TORCH_ARG(bool, stop_on_batch) = false;
};

class ThresholdStopper : public Callback {
 public:
  explicit ThresholdStopper(ThresholdStopperOptions options);
  // Composer's argument order.
  ThresholdStopper(std::string monitor, std::string dataloader_label, double threshold, std::string comparator = "",
                   bool stop_on_batch = false);

 protected:
  void on_eval_end(State& state, Logger& logger) override;
  void on_epoch_end(State& state, Logger& logger) override;
  void on_batch_end(State& state, Logger& logger) override;

 private:
  void check(State& state);

  MetricMonitor monitor_;
  double threshold_;
  bool stop_on_batch_;
};

}  // namespace tempo
