#include "tempo/data/safetensors_dataset.h"

#include <fmt/format.h>

#include "tempo/errors/error.h"

namespace tempo {

std::shared_ptr<ArrayDataset> make_safetensors_dataset(const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                                                       const SafetensorsDatasetOptions& options) {
  if (options.path().empty()) throw ConfigError("safetensors: path is required (the .safetensors file)");
  if (options.inputs().empty()) throw ConfigError("safetensors: inputs is required (the name of the input tensor)");
  if (options.targets().empty()) throw ConfigError("safetensors: targets is required (the name of the target tensor)");
  auto find = [&](const std::string& name, const char* role) {
    std::string present;
    for (const auto& [key, tensor] : tensors) {
      if (key == name) return tensor;
      present += (present.empty() ? "" : ", ") + key;
    }
    throw DataError(fmt::format("{}: no tensor '{}' for the {} (the file holds: {})", options.path(), name, role,
                                present.empty() ? "no tensors" : present));
  };
  const auto input = find(options.inputs(), "inputs");
  const auto target = find(options.targets(), "targets");
  return std::make_shared<ArrayDataset>(
      input, target, options.path() + ":" + options.inputs(), options.path() + ":" + options.targets(),
      RowSplitOptions().split(options.split()).val_fraction(options.val_fraction()).split_seed(options.split_seed()));
}

}  // namespace tempo
