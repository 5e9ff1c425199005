// The model a Trainer trains: a torch::nn::Module with Composer's split between forward() and
// loss(). Parameters and buffers registered under names ("fc1.weight") are the keys of the
// checkpoint's state/model dict, as in Python's model.state_dict().
#pragma once

#include <torch/nn/module.h>

#include "data/batch.h"

namespace tempo {

class Model : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& input) = 0;
  // Cross-entropy over class logits unless overridden.
  virtual torch::Tensor loss(const torch::Tensor& outputs, const Batch& batch);
};

}  // namespace tempo
