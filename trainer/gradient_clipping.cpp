#include "tempo/trainer/gradient_clipping.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include "tempo/errors/error.h"

namespace tempo {
namespace {

// Composer's _unitwise_norm: the whole tensor for scalars and vectors (biases), else one norm per
// output unit over all other dimensions, kept broadcastable against the tensor.
at::Tensor unitwise_norm(const at::Tensor& t) {
  if (t.dim() <= 1) return at::linalg_vector_norm(t, 2);
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < t.dim(); ++d) dims.push_back(d);
  return at::linalg_vector_norm(t, 2, dims, /*keepdim=*/true);
}

void clip_adaptive(const std::vector<at::Tensor>& parameters, double threshold) {
  for (const auto& param : parameters) {
    auto& grad = param.grad();
    if (!grad.defined()) continue;
    auto max_norm = unitwise_norm(param.detach()).mul_(threshold);
    auto coefficient = max_norm.div_(unitwise_norm(grad)).nan_to_num_(1.0).clamp_max_(1.0);
    grad.mul_(coefficient);
  }
}

}  // namespace

ClippingType parse_clipping_type(const std::string& name) {
  if (name == "none") return ClippingType::NONE;
  if (name == "norm") return ClippingType::NORM;
  if (name == "value") return ClippingType::VALUE;
  if (name == "adaptive") return ClippingType::ADAPTIVE;
  throw ConfigError(fmt::format("clipping_type: expected none, norm, value or adaptive, got \"{}\"", name));
}

std::string to_string(ClippingType type) {
  switch (type) {
    case ClippingType::NONE: return "none";
    case ClippingType::NORM: return "norm";
    case ClippingType::VALUE: return "value";
    case ClippingType::ADAPTIVE: return "adaptive";
  }
  return "unknown";
}

double total_grad_norm(const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> norms;
  norms.reserve(parameters.size());
  for (const auto& param : parameters) {
    if (param.grad().defined()) norms.push_back(param.grad().detach().norm(2));
  }
  if (norms.empty()) return 0.0;
  return (norms.size() == 1 ? norms[0] : torch::stack(norms).norm(2)).item<double>();
}

double clip_gradients(const std::vector<at::Tensor>& parameters, ClippingType type, double threshold) {
  torch::NoGradGuard no_grad;
  switch (type) {
    case ClippingType::NORM:
      // LibTorch's clip_grad_norm_ computes the norm the same way and returns it.
      return torch::nn::utils::clip_grad_norm_(parameters, threshold);
    case ClippingType::VALUE: {
      const double norm = total_grad_norm(parameters);
      torch::nn::utils::clip_grad_value_(parameters, threshold);
      return norm;
    }
    case ClippingType::ADAPTIVE: {
      const double norm = total_grad_norm(parameters);
      clip_adaptive(parameters, threshold);
      return norm;
    }
    case ClippingType::NONE: break;
  }
  return total_grad_norm(parameters);
}

}  // namespace tempo
