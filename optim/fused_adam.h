// FusedAdam and FusedAdamW: torch::optim::Adam and AdamW whose step is one multi-threaded,
// vectorised pass over flat buffers (optim/flat_buffer.h), in the spirit of DeepSpeed's CPU Adam,
// instead of a dozen ATen calls per parameter, each a full pass over memory.
//
// They are those classes (same options, same per-parameter AdamParamState / AdamWParamState, same
// "step" counts), so everything that handles the plain optimizers handles them: the trainer,
// schedulers (which change lr in the options; the step reads the options every time), and
// optimizer_state_dict / load_optimizer_state_dict, whose layout is PyTorch's. A checkpoint saved
// with one loads into the other and into Python's torch.optim.Adam, and back.
//
// Results: the same bits as torch::optim::Adam / AdamW, and as Python's torch.optim (single-tensor
// path), on this LibTorch: every element goes through ATen's operations in ATen's order and
// rounding (optim/fused_kernels.h). Everything PyTorch's step does is done: L2 weight decay (Adam),
// decoupled weight decay (AdamW), AMSGrad, bias corrections from each parameter's own step count,
// parameters without a gradient skipped, several param groups with their own options.
//
// The fused step needs all parameters dense float32 on the CPU, not tied to other tensors (see
// FlatBuffers::why_not); otherwise, e.g. for a model on CUDA, every step is the parent's plain
// step, and fallback_reason() says why. Parameters are flattened at the first step (so a model
// may still be moved after the optimizer is made) and again whenever the parameters change.
#pragma once

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <vector>

#include "tempo/optim/flat_buffer.h"

namespace tempo {

class FusedAdam : public torch::optim::Adam, public FusedOptimizer {
 public:
  explicit FusedAdam(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                     torch::optim::AdamOptions defaults = {});
  explicit FusedAdam(std::vector<at::Tensor> params, torch::optim::AdamOptions defaults = {});
  at::Tensor step(LossClosure closure = nullptr) override;
};

class FusedAdamW : public torch::optim::AdamW, public FusedOptimizer {
 public:
  explicit FusedAdamW(std::vector<torch::optim::OptimizerParamGroup> param_groups,
                      torch::optim::AdamWOptions defaults = {});
  explicit FusedAdamW(std::vector<at::Tensor> params, torch::optim::AdamWOptions defaults = {});
  at::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace tempo
