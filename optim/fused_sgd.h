// FusedSGD: torch::optim::SGD whose step is one multi-threaded, vectorised pass over flat buffers
// (optim/flat_buffer.h) instead of several ATen calls per parameter.
//
// It is a torch::optim::SGD (same options, same SGDParamState with its momentum_buffer), so the
// trainer, schedulers and optimizer_state_dict / load_optimizer_state_dict treat it as one, and
// checkpoints move between it, the plain SGD and Python's torch.optim.SGD in PyTorch's layout.
// Results are the same bits as torch::optim::SGD's on this LibTorch (see optim/fused_kernels.h):
// weight decay, momentum with dampening, Nesterov, the first step's buffer being a copy of the
// gradient, parameters without a gradient skipped, per-group options read at every step.
// One leniency: a state whose momentum_buffer is None (as Python's SGD saves for momentum 0)
// starts the buffer afresh where LibTorch's SGD would fail.
//
// Parameters that cannot be flattened (not float32 on the CPU, tied to other tensors: see
// FlatBuffers::why_not) make every step the parent's plain step; fallback_reason() says why.
#pragma once

#include <torch/optim/sgd.h>

#include <vector>

#include "tempo/optim/flat_buffer.h"

namespace tempo {

class FusedSGD : public torch::optim::SGD, public FusedOptimizer {
 public:
  FusedSGD(std::vector<torch::optim::OptimizerParamGroup> param_groups, torch::optim::SGDOptions defaults);
  FusedSGD(std::vector<at::Tensor> params, torch::optim::SGDOptions defaults);
  at::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace tempo
