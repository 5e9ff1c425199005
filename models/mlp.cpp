#include "tempo/models/mlp.h"

#include <fmt/format.h>
#include <torch/nn/functional/activation.h>

#include "tempo/errors/error.h"

namespace tempo {

Mlp::Mlp(const MlpOptions& options) {
  if (options.in_features() <= 0 || options.num_classes() <= 0) {
    throw ConfigError(fmt::format("mlp: in_features ({}) and num_classes ({}) must be positive",
                                  options.in_features(), options.num_classes()));
  }
  if (options.dropout() < 0.0 || options.dropout() >= 1.0) {
    throw ConfigError(fmt::format("mlp: dropout {} must be in [0, 1)", options.dropout()));
  }
  layers_ = register_module("layers", torch::nn::ModuleList());
  int64_t width = options.in_features();
  for (auto hidden : options.hidden()) {
    if (hidden <= 0) throw ConfigError(fmt::format("mlp: hidden width {} must be positive", hidden));
    layers_->push_back(torch::nn::Linear(width, hidden));
    width = hidden;
  }
  head_ = register_module("head", torch::nn::Linear(width, options.num_classes()));
  dropout_ = register_module("dropout", torch::nn::Dropout(options.dropout()));
}

torch::Tensor Mlp::forward(const torch::Tensor& input) {
  auto x = input.flatten(1);
  for (const auto& layer : *layers_) x = dropout_(torch::relu(layer->as<torch::nn::Linear>()->forward(x)));
  return head_(x);
}

}  // namespace tempo
