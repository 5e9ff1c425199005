// Converts LibTorch optimizers to and from PyTorch's optimizer.state_dict() layout:
//   {"state": {param_index: {"step": tensor, "exp_avg": ..., ...}},
//    "param_groups": [{"lr": ..., "betas": (..), ..., "params": [param_index, ...]}]}
// so checkpoints are interchangeable with Python. Parameters are numbered across groups in
// order, as PyTorch does. Loading also takes Composer's form, where parameter names stand for
// the indices ("params": ["fc1.weight", ...], state keyed by those names): each name must be the
// one the run's model gives the parameter at that place in the group. Supported: SGD, Adam, AdamW, RMSprop, Adagrad; anything else throws
// CheckpointError naming the type. "step" is stored as a float32 scalar tensor like PyTorch's
// (exact up to 2^24 steps). Tensors in the tree alias the optimizer's own buffers.
#pragma once

#include <ATen/core/ivalue.h>

#include <ATen/core/Tensor.h>

#include <functional>
#include <string>

namespace torch::optim {
class Optimizer;
}

namespace tempo {

// "Adam", "SGD", ...: the Python class name, used as the key under state/optimizers.
std::string optimizer_type_name(const torch::optim::Optimizer& optimizer);

c10::IValue optimizer_state_dict(const torch::optim::Optimizer& optimizer);

// Checks every group, index and shape and builds the new state without touching the optimizer;
// on a mismatch throws CheckpointError naming `path` and what differs. The returned function
// installs the state; calling it cannot fail. This lets State check a whole checkpoint before
// changing any part of the run.
// `name_of` gives a parameter's name in the model ("" when it has none); it is needed only for
// files that name parameters, which without it are refused.
using ParameterNames = std::function<std::string(const at::Tensor& parameter)>;
std::function<void()> prepare_optimizer_load(torch::optim::Optimizer& optimizer, const c10::IValue& tree,
                                             const std::string& path, const ParameterNames& name_of = {});

inline void load_optimizer_state_dict(torch::optim::Optimizer& optimizer, const c10::IValue& tree,
                                      const std::string& path, const ParameterNames& name_of = {}) {
  prepare_optimizer_load(optimizer, tree, path, name_of)();
}

}  // namespace tempo
