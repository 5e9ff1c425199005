// Mean of a loss over every sample seen: each batch's mean loss weighted by its number of
// samples, so batches of unequal size count by their samples (Composer's LossMetric and
// CrossEntropy average the per-batch means instead; the two agree when all batches are equal).
//
// LossMetric wraps any function (outputs, batch) -> mean loss, a scalar; CrossEntropy is it over
// torch's cross_entropy of class scores [N, C] and int64 targets [N]. Accumulators: "sum_loss"
// (double, the weighted sum) and "total" (int64 samples). Throws ConfigError when the function
// does not return a one-element tensor, and what the function throws.
#pragma once

#include <functional>

#include "tempo/metrics/metric.h"

namespace tempo {

class LossMetric : public Metric {
 public:
  using LossFunction = std::function<at::Tensor(const at::Tensor& outputs, const Batch& batch)>;
  // `name` is the metric's key in metric_map() and in the logs. Throws ConfigError without a function.
  explicit LossMetric(LossFunction loss_function, std::string name = "LossMetric");

  std::string name() const override { return name_; }
  std::shared_ptr<Metric> clone() const override;
  double compute() const override;

 protected:
  void update_state(const at::Tensor& outputs, const Batch& batch) override;
  void reset_state() override;
  void save_state(Dict& dict) const override;
  void load_state(const Dict& dict, const std::string& path) override;

 private:
  LossFunction loss_function_;
  std::string name_;
  at::Tensor sum_loss_;  // double scalar on the outputs' device; undefined until the first update
  int64_t total_ = 0;
};

class CrossEntropy : public LossMetric {
 public:
  CrossEntropy();
};

}  // namespace tempo
