// Ends training when a monitored metric has not improved for `patience` (Composer's
// EarlyStopper). The metric is read after each evaluation of `dataloader_label` (EVAL_END), at
// EPOCH_END for "train", and at BATCH_END too for "train" with a patience in batches. The first
// value read is the best; a later one replaces it when it is better by more than min_delta. When
// the epochs (or batches) since the best exceed patience, it calls state.request_stop().
// The best value and when it occurred are its state, so a resumed run stops where the
// uninterrupted one would.
// Throws ConfigError for a patience not in "ep"/"ba", an unknown comparator, or (when read) a
// metric that is not there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <torch/arg.h>

#include "tempo/callbacks/callback.h"
#include "tempo/callbacks/metric_monitor.h"
#include "tempo/time/time_quantity.h"

namespace tempo {

struct EarlyStopperOptions {
  EarlyStopperOptions(std::string monitor, std::string dataloader_label)
      : monitor_(std::move(monitor)), dataloader_label_(std::move(dataloader_label)) {}
  // The metric's name (Accuracy, CrossEntropy) and the loader it is read from (train, eval or an
  // evaluator's label).
  TORCH_ARG(std::string, monitor);
  TORCH_ARG(std::string, dataloader_label);
  // "greater"/"gt", "less"/"lt", or "" for Composer's default by metric name.
  TORCH_ARG(std::string, comparator) = "";
  TORCH_ARG(double, min_delta) = 0.0;
  TORCH_ARG(Time, patience) = Time(1, TimeUnit::EPOCH);
};

class EarlyStopper : public Callback {
 public:
  explicit EarlyStopper(EarlyStopperOptions options);
  // Composer's argument order.
  EarlyStopper(std::string monitor, std::string dataloader_label, std::string comparator = "", double min_delta = 0.0,
               Time patience = Time(1, TimeUnit::EPOCH));

  std::optional<double> best() const { return best_; }
  int64_t best_epoch() const { return best_epoch_; }
  int64_t best_batch() const { return best_batch_; }

  c10::IValue state_dict() const override;
  void load_state_dict(const c10::IValue& state) override;

 protected:
  void on_eval_end(State& state, Logger& logger) override;
  void on_epoch_end(State& state, Logger& logger) override;
  void on_batch_end(State& state, Logger& logger) override;

 private:
  void update(State& state);

  MetricMonitor monitor_;
  double min_delta_;
  Time patience_;
  std::optional<double> best_;
  int64_t best_epoch_ = 0;
  int64_t best_batch_ = 0;
};

}  // namespace tempo
