#include "tempo/models/cnn.h"

#include <torch/nn/functional/pooling.h>

#include <fmt/format.h>

#include "tempo/errors/error.h"

namespace tempo {

Cnn::Cnn(const CnnOptions& options) {
  for (auto [name, value] : {std::pair{"channels", options.channels()}, std::pair{"hidden", options.hidden()},
                             std::pair{"num_classes", options.num_classes()}}) {
    if (value < 1) throw ConfigError(fmt::format("Cnn: {} must be positive, got {}", name, value));
  }
  conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.channels(), 32, 3)));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3)));
  // 28 -conv-> 26 -pool-> 13 -conv-> 11 -pool-> 5: 64 * 5 * 5 = 1600 features.
  fc1_ = register_module("fc1", torch::nn::Linear(1600, options.hidden()));
  fc2_ = register_module("fc2", torch::nn::Linear(options.hidden(), options.num_classes()));
}

torch::Tensor Cnn::forward(const torch::Tensor& input) {
  auto x = torch::max_pool2d(torch::relu(conv1_(input)), 2);
  x = torch::max_pool2d(torch::relu(conv2_(x)), 2);
  return fc2_(torch::relu(fc1_(x.flatten(1))));
}

}  // namespace tempo
