// What EarlyStopper, ThresholdStopper and CheckpointSaver's best checkpoint share: reading one
// monitored metric from State (Composer's _get_monitored_metric) and comparing two values.
// dataloader_label "train" reads state.train_metrics, any other label state.eval_metrics[label].
// Comparator "greater"/"gt" or "less"/"lt"; empty picks "less" when the metric's name contains
// "loss", "error" or "perplexity" (case-insensitive), else "greater", as Composer does.
// Throws ConfigError for an unknown comparator, and when the metric is not there (naming it,
// its label and the metrics that are).
#pragma once

#include <string>

namespace tempo {

class State;

class MetricMonitor {
 public:
  MetricMonitor(std::string monitor, std::string dataloader_label, const std::string& comparator,
                const std::string& option);

  double value(const State& state) const;
  // Whether `candidate` is better than `reference` (strictly).
  bool better(double candidate, double reference) const { return greater_ ? candidate > reference : candidate < reference; }

  const std::string& monitor() const { return monitor_; }
  const std::string& dataloader_label() const { return dataloader_label_; }
  bool greater() const { return greater_; }

 private:
  std::string monitor_;
  std::string dataloader_label_;
  bool greater_ = true;
};

}  // namespace tempo
