#include "tempo/state/model_weights_file.h"

#include <torch/nn/module.h>

#include "tempo/serialization/safetensors.h"
#include "tempo/state/model_state.h"

namespace tempo {

void save_model_safetensors(const torch::nn::Module& module, const std::string& path,
                            const std::map<std::string, std::string>& metadata) {
  NamedTensors tensors;
  for (const auto& entry : model_state_dict(module).toGenericDict()) {
    tensors.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  }
  write_safetensors(tensors, metadata, path);
}

}  // namespace tempo
