// A model's weights as a safetensors file, for inference and other tools: the names and
// tensors of Python's model.state_dict() (parameters, then buffers). Reading one back goes
// through load_path with load_weights_only. Throws CheckpointError naming the path.
#pragma once

#include <map>
#include <string>

namespace torch::nn {
class Module;
}

namespace tempo {

void save_model_safetensors(const torch::nn::Module& module, const std::string& path,
                            const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace tempo
