// Top-1 classification accuracy: the fraction of samples whose largest output is the target
// class. torchmetrics' MulticlassAccuracy(average="micro"), Composer's default classification
// metric; Accuracy is the same metric under its older torchmetrics name, the key tempo's
// default models log ("metrics/eval/Accuracy").
//
// update() takes outputs [N, C] (class scores: logits or probabilities) and int64 targets [N]
// (class indices). Accumulators: "correct" and "total" samples, both int64, so the value is
// exact and independent of batch order. Throws ConfigError for other shapes or types, or when
// num_classes is set and C differs.
#pragma once

#include "tempo/metrics/metric.h"

namespace tempo {

class MulticlassAccuracy : public Metric {
 public:
  // num_classes 0: any number of classes.
  explicit MulticlassAccuracy(int64_t num_classes = 0);

  std::string name() const override { return "MulticlassAccuracy"; }
  std::shared_ptr<Metric> clone() const override;
  double compute() const override;

  int64_t num_classes() const { return num_classes_; }

 protected:
  void update_state(const at::Tensor& outputs, const Batch& batch) override;
  void reset_state() override;
  void save_state(Dict& dict) const override;
  void load_state(const Dict& dict, const std::string& path) override;
  // The count of correct samples, read back from the device.
  int64_t correct() const;
  // After a copy construction: accumulators of its own rather than shared with the original.
  void own_accumulators();

 private:
  int64_t num_classes_;
  at::Tensor correct_;  // int64 scalar on the outputs' device; undefined until the first update
  int64_t total_ = 0;
};

class Accuracy : public MulticlassAccuracy {
 public:
  using MulticlassAccuracy::MulticlassAccuracy;
  std::string name() const override { return "Accuracy"; }
  std::shared_ptr<Metric> clone() const override;
};

}  // namespace tempo
