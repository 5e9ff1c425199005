// Mean squared error over every element seen, torchmetrics' MeanSquaredError: the sum of
// (output - target)^2 over all elements of all batches, divided by their number. For
// regression models (their Model::metrics() returns it).
//
// update() takes outputs and targets of the same shape (floating or integer), compared in double.
// Accumulators: "sum_squared_error" (double) and "total" (int64 elements). Throws ConfigError
// when the shapes differ.
#pragma once

#include "tempo/metrics/metric.h"

namespace tempo {

class MeanSquaredError : public Metric {
 public:
  std::string name() const override { return "MeanSquaredError"; }
  std::shared_ptr<Metric> clone() const override;
  double compute() const override;

 protected:
  void update_state(const at::Tensor& outputs, const Batch& batch) override;
  void reset_state() override;
  void save_state(Dict& dict) const override;
  void load_state(const Dict& dict, const std::string& path) override;

 private:
  at::Tensor sum_squared_error_;  // double scalar on the outputs' device; undefined until the first update
  int64_t total_ = 0;
};

}  // namespace tempo
