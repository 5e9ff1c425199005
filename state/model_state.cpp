#include "tempo/state/model_state.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/module.h>

#include <set>
#include <vector>

#include "tempo/errors/error.h"
#include "tempo/state/tree.h"

namespace tempo {
namespace {

std::vector<std::pair<std::string, at::Tensor>> named_tensors(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace

c10::IValue model_state_dict(const torch::nn::Module& module) {
  auto dict = new_tree_dict();
  for (const auto& [name, tensor] : named_tensors(module)) dict.insert(name, tensor.detach());
  return dict;
}

std::string check_model_state_dict(const torch::nn::Module& module, const c10::IValue& tree,
                                   const std::string& path, bool strict) {
  auto dict = tree_dict(tree, path);
  auto targets = named_tensors(module);
  std::vector<std::string> missing, mis_shaped, unexpected;
  std::set<std::string> known;
  for (const auto& [name, tensor] : targets) {
    known.insert(name);
    auto it = dict.find(name);
    if (it == dict.end()) {
      missing.push_back(name);
    } else if (!it->value().isTensor()) {
      mis_shaped.push_back(fmt::format("{} (not a tensor)", name));
    } else if (it->value().toTensor().sizes() != tensor.sizes()) {
      mis_shaped.push_back(fmt::format("{} (checkpoint {} vs model {})", name, it->value().toTensor().sizes(),
                                       tensor.sizes()));
    }
  }
  for (const auto& entry : dict) {
    const auto& key = entry.key().toStringRef();
    if (!known.count(key)) unexpected.push_back(key);
  }
  std::string report;
  if (!missing.empty()) report += fmt::format("; missing keys: {}", fmt::join(missing, ", "));
  if (!unexpected.empty()) report += fmt::format("; unexpected keys: {}", fmt::join(unexpected, ", "));
  const bool fatal = !mis_shaped.empty() || (strict && !report.empty());
  if (!mis_shaped.empty()) report += fmt::format("; shape mismatches: {}", fmt::join(mis_shaped, ", "));
  if (fatal) {
    throw CheckpointError(fmt::format("state tree: '{}' does not match the model{}", path, report));
  }

  return report.empty() ? report : report.substr(2);
}

std::string load_model_state_dict(torch::nn::Module& module, const c10::IValue& tree, const std::string& path,
                                  bool strict) {
  auto report = check_model_state_dict(module, tree, path, strict);
  auto dict = tree.toGenericDict();
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : named_tensors(module)) {
    auto it = dict.find(name);
    if (it != dict.end()) tensor.copy_(it->value().toTensor());
  }
  return report;
}

}  // namespace tempo
