#include "tempo/cli/export_torchscript.h"
#include "tempo/cli/export.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <ostream>
#include <sstream>
#include <vector>

#include "tempo/cli/remote_input.h"
#include "tempo/errors/error.h"
#include "tempo/models/torchscript_model.h"
#include "tempo/serialization/atomic_file.h"
#include "tempo/serialization/weights_file.h"

namespace tempo::cli {
namespace {

std::string message_of(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  return c10_error ? c10_error->what_without_backtrace() : e.what();
}

std::string shape_of(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The checkpoint's model tensors by name, and its state/metadata strings (none for a bare
// state_dict or a safetensors file).
struct CheckpointWeights {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, std::string> metadata;
};

CheckpointWeights read_weights(const std::string& source, const WeightsFile& file) {
  CheckpointWeights weights;
  if (!file.tree.isGenericDict()) throw CheckpointError(fmt::format("'{}' is not a checkpoint or a model state_dict", source));
  auto dict = file.tree.toGenericDict();
  std::string where;
  if (file.format == "tempo") {
    const auto state = dict.at("state").toGenericDict();
    if (const auto metadata = state.find("metadata"); metadata != state.end() && metadata->value().isGenericDict()) {
      for (const auto& entry : metadata->value().toGenericDict()) {
        if (entry.key().isString() && entry.value().isString()) {
          weights.metadata[entry.key().toStringRef()] = entry.value().toStringRef();
        }
      }
    }
    const auto model = state.find("model");
    if (model == state.end() || !model->value().isGenericDict()) {
      throw CheckpointError(fmt::format("'{}' has no state/model dict, so there are no weights to export", source));
    }
    dict = model->value().toGenericDict();
    where = "state/model/";
  }
  for (const auto& entry : dict) {
    if (!entry.key().isString() || !entry.value().isTensor()) {
      throw CheckpointError(fmt::format("'{}': an entry of {} is not a tensor under a name", source,
                                        where.empty() ? "the file" : where.substr(0, where.size() - 1)));
    }
    weights.tensors.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  }
  if (weights.tensors.empty()) throw CheckpointError(fmt::format("'{}' holds no model weights to export", source));
  return weights;
}

// Every difference between the module's tensors and the checkpoint's, or "" when they match.
std::string mismatch(const std::vector<std::pair<std::string, at::Tensor>>& module,
                     const std::vector<std::pair<std::string, at::Tensor>>& checkpoint) {
  std::map<std::string, at::Tensor> saved(checkpoint.begin(), checkpoint.end());
  std::vector<std::string> missing, unexpected, different;
  for (const auto& [name, tensor] : module) {
    const auto it = saved.find(name);
    if (it == saved.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != tensor.sizes() || it->second.scalar_type() != tensor.scalar_type()) {
      different.push_back(fmt::format("{} (checkpoint {} {} vs module {} {})", name, shape_of(it->second),
                                      c10::toString(it->second.scalar_type()), shape_of(tensor),
                                      c10::toString(tensor.scalar_type())));
    }
    saved.erase(name);
  }
  for (const auto& entry : saved) unexpected.push_back(entry.first);
  std::string report;
  if (!missing.empty()) report += fmt::format("; not in the checkpoint: {}", fmt::join(missing, ", "));
  if (!unexpected.empty()) report += fmt::format("; not in the module: {}", fmt::join(unexpected, ", "));
  if (!different.empty()) report += fmt::format("; different shape or dtype: {}", fmt::join(different, ", "));
  return report.empty() ? report : report.substr(2);
}

void export_or_throw(const std::string& source, const std::string& target, const std::string& module_arg,
                     std::ostream& out) {
  const RemoteInput input(source);  // a URI is downloaded first
  const auto weights = read_weights(source, open_weights_file(input.local()));
  std::string module_path = module_arg;
  const auto recorded = weights.metadata.find(kTorchScriptModuleKey);
  if (module_path.empty()) {
    if (recorded == weights.metadata.end()) {
      throw ConfigError(fmt::format("'{}' does not name a TorchScript module (its state/metadata has no {}: it was "
                                    "not trained from model: {{torchscript: ...}}); pass --module MODULE.pt",
                                    source, kTorchScriptModuleKey));
    }
    module_path = recorded->second;
  }
  if (same_file(module_path, target)) {
    throw ConfigError(fmt::format("OUT '{}' is the module file itself; write the trained module to another name",
                                  target));
  }
  const auto file = load_torchscript_file(module_path);
  if (module_arg.empty()) {
    const auto crc = weights.metadata.find(kTorchScriptCrc32Key);
    if (crc != weights.metadata.end() && crc->second != file.crc32) {
      throw ConfigError(fmt::format("module '{}' has changed since '{}' was trained from it (CRC-32 {}, then {}); "
                                    "pass --module {} to export into it anyway (its names and shapes are still "
                                    "checked)",
                                    module_path, source, file.crc32, crc->second, module_path));
    }
  }
  const auto module_tensors = torchscript_state(file.module);
  if (const auto why = mismatch(module_tensors, weights.tensors); !why.empty()) {
    throw ConfigError(fmt::format("module '{}' does not match the weights of '{}': {}", module_path, source, why));
  }
  const std::map<std::string, at::Tensor> saved(weights.tensors.begin(), weights.tensors.end());
  uint64_t bytes = 0;
  {
    torch::NoGradGuard no_grad;
    for (const auto& [name, tensor] : module_tensors) {
      auto target_tensor = tensor;
      target_tensor.copy_(saved.at(name));
      bytes += static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
    }
  }
  std::ostringstream archive;
  file.module.save(archive);
  const auto data = archive.str();
  AtomicFile atomic(target, Env::posix(), "TorchScript module");
  atomic.write(data.data(), data.size());
  atomic.commit();
  out << fmt::format("exported {} tensors ({} bytes) into {} as {}\n", module_tensors.size(), bytes, module_path,
                     target);
}

}  // namespace

int export_torchscript(const std::string& source, const std::string& target, const std::string& module, bool force,
                       std::ostream& out, std::ostream& err) {
  if (const auto why = refuse_export_target(source, target, force, "TorchScript", is_torchscript_file); !why.empty()) {
    err << "tempo export: " << why << "\n";
    return 2;
  }
  try {
    export_or_throw(source, target, module, out);
    return 0;
  } catch (const std::exception& e) {
    const auto message = message_of(e);
    err << "tempo export: " << (message.find(source) == std::string::npos ? "'" + source + "': " : "") << message
        << "\n";
    return 2;
  }
}

}  // namespace tempo::cli
