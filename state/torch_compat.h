// Where LibTorch 1.13 (Debian 12) and 2.x differ in an API tempo uses: the one place that knows.
// Each difference is told apart by the API's own types, not by version numbers, so a LibTorch
// in between (or a later one) takes whichever form its headers have.
//
//   optimizer_state_key(p)  the key of parameter p in torch::optim::Optimizer::state():
//                           1.13 keys it by the TensorImpl's address printed as a string
//                           (c10::guts::to_string, gone in 2.x), 2.x by the address itself.
//   zero_grad_in_place(o)   zeroes every gradient of o where it is: 1.13's zero_grad() does that,
//                           2.x's zero_grad(set_to_none = true) frees them unless told not to.
//                           Gradients that are views (DDP's gradient_as_bucket_view makes them
//                           views of its buckets) are zeroed as Python's zero_grad does, since
//                           LibTorch's detach_() refuses views.
#pragma once

#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

namespace tempo {

// For what differs outside LibTorch's API (Python's torch.optim, say), never for tempo's own code.
constexpr int kTorchMajorVersion = TORCH_VERSION_MAJOR;

using OptimizerStateKey =
    typename std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;

// A template only so that the branch this LibTorch does not take is never compiled.
template <typename Key = OptimizerStateKey>
Key optimizer_state_key(const at::Tensor& param) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;  // what c10::guts::to_string(TensorImpl*) printed
    key << param.unsafeGetTensorImpl();
    return key.str();
  } else {
    return param.unsafeGetTensorImpl();
  }
}

template <typename Optimizer = torch::optim::Optimizer>
void zero_grad_in_place(Optimizer& optimizer) {
  bool views = false;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) views = views || (p.grad().defined() && p.grad().is_view());
  }
  if (views) {
    for (auto& group : optimizer.param_groups()) {
      for (auto& p : group.params()) {
        auto& grad = p.mutable_grad();
        if (!grad.defined()) continue;
        if (grad.grad_fn()) {
          grad.detach_();
        } else if (grad.requires_grad()) {
          grad.requires_grad_(false);
        }
        grad.zero_();
      }
    }
    return;
  }
  if constexpr (std::is_invocable_v<decltype(&Optimizer::zero_grad), Optimizer&, bool>) {
    optimizer.zero_grad(/*set_to_none=*/false);
  } else {
    optimizer.zero_grad();
  }
}

}  // namespace tempo
