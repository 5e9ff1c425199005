// Converts LibTorch optimizers to and from PyTorch's optimizer.state_dict() layout:
//   {"state": {param_index: {"step": tensor, "exp_avg": ..., ...}},
//    "param_groups": [{"lr": ..., "betas": (..), ..., "params": [param_index, ...]}]}
// so checkpoints are interchangeable with Python. Parameters are numbered across groups in
// order, as PyTorch does. Supported: SGD, Adam, AdamW, RMSprop, Adagrad; anything else throws
// CheckpointError naming the type. "step" is stored as a float32 scalar tensor like PyTorch's
// (exact up to 2^24 steps). Tensors in the tree alias the optimizer's own buffers.
#pragma once

#include <ATen/core/ivalue.h>

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
std::function<void()> prepare_optimizer_load(torch::optim::Optimizer& optimizer, const c10::IValue& tree,
                                             const std::string& path);

inline void load_optimizer_state_dict(torch::optim::Optimizer& optimizer, const c10::IValue& tree,
                                      const std::string& path) {
  prepare_optimizer_load(optimizer, tree, path)();
}

}  // namespace tempo
