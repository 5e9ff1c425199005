// A metric computed over many batches, torchmetrics-style (Composer's metrics are torchmetrics
// Metric objects): update() folds one batch into accumulators, compute() turns them into a
// number, reset() empties them. A model says which metrics it has (Model::metrics, Composer's
// get_metrics); the trainer keeps them in State::train_metrics / State::eval_metrics.
//
// Invariants: accumulators are counts in int64 and sums in double, so compute() is exact for
// counts and independent of batch order for them; update() queues tensor work on the outputs'
// device and does not wait for it (no host-device sync): only compute() and state_dict() read
// accumulators back. state_dict() is a tree of plain ints and doubles,
//   {"<accumulator>": value, ..., "update_count": n}
// and load_state_dict() takes back exactly that, so a checkpointed metric resumes exactly.
//
// Throws: update() throws ConfigError when the outputs or targets do not fit the metric (it names
// the metric, the shapes and types); load_state_dict() throws CheckpointError naming the path of
// a missing or mistyped entry and changes nothing then.
#pragma once

#include <ATen/core/Dict.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tempo/data/batch.h"

namespace tempo {

class Metric {
 public:
  virtual ~Metric() = default;

  // The class name ("MulticlassAccuracy"), the key metric_map() files it under.
  virtual std::string name() const = 0;
  // A deep copy: same configuration and accumulators.
  virtual std::shared_ptr<Metric> clone() const = 0;

  // Adds one batch: `outputs` as Model::forward returned them, `batch` their inputs and targets.
  void update(const at::Tensor& outputs, const Batch& batch);
  // The value over everything since the last reset(); NaN when nothing was added.
  virtual double compute() const = 0;
  void reset();
  // update() calls since the last reset() (restored by load_state_dict()).
  int64_t update_count() const { return update_count_; }

  c10::IValue state_dict() const;
  // `path` names the tree in error messages ("state/train_metrics/Accuracy/state_dict").
  void load_state_dict(const c10::IValue& tree, const std::string& path = "metric");

 protected:
  using Dict = c10::impl::GenericDict;
  virtual void update_state(const at::Tensor& outputs, const Batch& batch) = 0;
  virtual void reset_state() = 0;
  // The accumulators into `dict`, as ints and doubles.
  virtual void save_state(Dict& dict) const = 0;
  // Reads every accumulator first and assigns only then: a bad tree changes nothing.
  virtual void load_state(const Dict& dict, const std::string& path) = 0;

  // dict[key] as an integer / a number, or CheckpointError naming path/key.
  static int64_t read_int(const Dict& dict, const std::string& key, const std::string& path);
  static double read_double(const Dict& dict, const std::string& key, const std::string& path);
  // "[128, 10] Float", for messages.
  static std::string describe(const at::Tensor& tensor);

 private:
  int64_t update_count_ = 0;
};

// Metrics by name, the shape of Composer's {name: Metric} dicts.
using MetricMap = std::map<std::string, std::shared_ptr<Metric>>;

// {metric->name(): metric} for each; a repeated name throws ConfigError.
MetricMap metric_map(std::initializer_list<std::shared_ptr<Metric>> metrics);

// A copy of `metrics` with only the names that match one of `patterns`, as Composer's
// Evaluator metric_names: a pattern matches a name that contains it as a case-insensitive regular
// expression ("Accuracy" matches "MulticlassAccuracy"). No patterns: all of them. A pattern that
// is not a valid regular expression throws ConfigError.
MetricMap filter_metrics(const MetricMap& metrics, const std::vector<std::string>& patterns);

}  // namespace tempo
