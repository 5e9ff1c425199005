// A multilayer perceptron classifier: flatten, then Linear+ReLU per hidden width, then a Linear
// to the class logits. Parameter names follow torch.nn.Sequential-free Python code written as
//   self.layers = nn.ModuleList([...]); self.head = nn.Linear(...)
// i.e. "layers.0.weight", ..., "head.weight", so the same module in Python loads its weights.
#pragma once

#include <torch/arg.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <vector>

#include "tempo/state/model.h"

namespace tempo {

struct MlpOptions {
  TORCH_ARG(int64_t, in_features) = 784;
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{256};
  TORCH_ARG(int64_t, num_classes) = 10;
  TORCH_ARG(double, dropout) = 0.0;
};

class Mlp : public Model {
 public:
  // Throws ConfigError for non-positive sizes or a dropout outside [0, 1).
  explicit Mlp(const MlpOptions& options = {});
  torch::Tensor forward(const torch::Tensor& input) override;

 private:
  torch::nn::ModuleList layers_;
  torch::nn::Linear head_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

}  // namespace tempo
