// The model a Trainer trains: a torch::nn::Module with Composer's split between forward() and
// loss(), and the metrics it is measured by (Composer's get_metrics). Parameters and buffers
// registered under names ("fc1.weight") are the keys of the checkpoint's state/model dict, as in
// Python's model.state_dict().
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <string>

#include "tempo/data/batch.h"
#include "tempo/metrics/metric.h"

namespace tempo {

class Model : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& input) = 0;
  // Cross-entropy over class logits unless overridden.
  virtual torch::Tensor loss(const torch::Tensor& outputs, const Batch& batch);
  // Fresh metric objects, by name, for training (train = true: computed on every training batch
  // from its outputs and logged as metrics/train/<name>) or for evaluation (one set per evaluator,
  // logged as metrics/<label>/<name>). Called when the Trainer is built. The default suits a
  // classifier of outputs [N, C] and int64 targets [N]: {"Accuracy"} for training and
  // {"Accuracy", "CrossEntropy"} for evaluation; a model with other outputs overrides it
  // (an empty map for training turns training metrics off).
  virtual MetricMap metrics(bool train);
  // Strings this model adds to the checkpoint's state/metadata, for tools that read a checkpoint
  // without building the model (tempo export --format torchscript reads the module file's path
  // from there); none by default. Keys must not be tempo_version or torch_version.
  virtual std::map<std::string, std::string> checkpoint_metadata() const;
};

}  // namespace tempo
