// A module's weights as a tree, in Python's model.state_dict() form: a dict from dotted names
// ("fc1.weight") to tensors, parameters then buffers. The tensors alias the module's own.
#pragma once

#include <ATen/core/ivalue.h>

#include <string>

namespace torch::nn {
class Module;
}

namespace tempo {

c10::IValue model_state_dict(const torch::nn::Module& module);

// Copies the tree's tensors into the module. Every missing, unexpected and mis-shaped name is
// found first and reported together in one CheckpointError naming `path`; nothing is changed
// then. With strict=false, missing and unexpected names are skipped (and returned as a
// message, empty when there were none), but a shape mismatch is still an error.
std::string check_model_state_dict(const torch::nn::Module& module, const c10::IValue& tree,
                                   const std::string& path, bool strict = true);
std::string load_model_state_dict(torch::nn::Module& module, const c10::IValue& tree, const std::string& path,
                                  bool strict = true);

}  // namespace tempo
