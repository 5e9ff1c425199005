// Gradient clipping, Composer's GradientClipping algorithm (composer/algorithms/gradient_clipping)
// as trainer options `clipping_type` and `clipping_threshold`:
//   norm      scale all gradients together so their global L2 norm is at most the threshold
//             (torch.nn.utils.clip_grad_norm_: coefficient threshold / (norm + 1e-6), capped at 1);
//   value     clamp every gradient element to [-threshold, threshold] (clip_grad_value_);
//   adaptive  AGC (Brock et al. 2021): per output unit, scale the gradient down where
//             ||grad|| > threshold * ||weight|| (unit-wise norms as Composer's _unitwise_norm).
// The trainer clips after backward (and after the GradScaler's unscale_), before
// AFTER_TRAIN_BATCH, so callbacks at that event see clipped gradients and State::grad_norm, as
// Composer's algorithm runs before the callbacks of its event.
// Throws ConfigError from parse_clipping_type for an unknown name.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace tempo {

enum class ClippingType { NONE, NORM, VALUE, ADAPTIVE };

// "none", "norm", "value", "adaptive".
ClippingType parse_clipping_type(const std::string& name);
std::string to_string(ClippingType type);

// The L2 norm of all gradients of `parameters` taken together (those without a gradient are
// skipped; 0 when none has one): sqrt of the sum of the squared per-tensor norms, as
// clip_grad_norm_ computes it.
double total_grad_norm(const std::vector<at::Tensor>& parameters);

// Clips the gradients of `parameters` in place; returns total_grad_norm() from before clipping.
// NONE clips nothing (and still returns the norm).
double clip_gradients(const std::vector<at::Tensor>& parameters, ClippingType type, double threshold);

}  // namespace tempo
