// A small convolutional classifier for 28x28 single-channel images (Fashion-MNIST):
// Conv(channels->32, 3) ReLU MaxPool2, Conv(32->64, 3) ReLU MaxPool2, Linear(1600->hidden) ReLU,
// Linear(hidden->num_classes). Parameters are named conv1/conv2/fc1/fc2 ("conv1.weight"), as the
// same module written in Python names them, so its weights load on either side.
#pragma once

#include <torch/arg.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>

#include "tempo/state/model.h"

namespace tempo {

struct CnnOptions {
  TORCH_ARG(int64_t, channels) = 1;
  TORCH_ARG(int64_t, hidden) = 128;
  TORCH_ARG(int64_t, num_classes) = 10;
};

class Cnn : public Model {
 public:
  // Throws ConfigError for non-positive sizes.
  explicit Cnn(const CnnOptions& options = {});
  // input [N, channels, 28, 28] -> logits [N, num_classes]
  torch::Tensor forward(const torch::Tensor& input) override;

 private:
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};

}  // namespace tempo
