#include "tempo/models/torchscript_model.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/nn/functional/loss.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "tempo/errors/error.h"
#include "tempo/metrics/accuracy.h"
#include "tempo/metrics/loss_metric.h"
#include "tempo/metrics/mean_squared_error.h"
#include "tempo/util/checksum.h"
#include "tempo/util/regular_file.h"

namespace tempo {
namespace {

// A module file larger than this is refused before it is read (it is held in memory once).
constexpr uint64_t kMaxModuleBytes = uint64_t{16} << 30;

std::string message_of(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  return c10_error ? c10_error->what_without_backtrace() : e.what();
}

std::string shape_of(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

std::string describe(const at::Tensor& t) {
  return fmt::format("{} ({})", shape_of(t), c10::toString(t.scalar_type()));
}

// The arguments of `method` a caller must pass, self excluded.
size_t required_arguments(const torch::jit::Method& method) {
  const auto& arguments = method.function().getSchema().arguments();
  size_t required = 0;
  for (size_t i = 1; i < arguments.size(); ++i) {
    if (!arguments[i].default_value()) ++required;
  }
  return required;
}

size_t arguments(const torch::jit::Method& method) { return method.function().getSchema().arguments().size() - 1; }

// Whether `method` can be called with exactly `n` arguments.
bool takes(const torch::jit::Method& method, size_t n) { return required_arguments(method) <= n && n <= arguments(method); }

// The shapes the built-in losses need, checked before the loss so that a mismatch names them
// (torch's own messages do not name the model, and mse/bce broadcast [N, 1] against [N] silently).
void check_shapes(const std::string& loss, const std::string& path, const at::Tensor& outputs,
                  const at::Tensor& targets) {
  const bool classes = loss == "cross_entropy" || loss == "nll";
  if (classes) {
    if (outputs.dim() == 2 && targets.dim() == 1 && targets.scalar_type() == at::kLong &&
        outputs.size(0) == targets.size(0) && at::isFloatingType(outputs.scalar_type())) {
      return;
    }
    throw ConfigError(fmt::format("torchscript: '{}': loss {} needs floating outputs [N, C] and int64 targets [N]; "
                                  "the module's forward returned {} for targets {}",
                                  path, loss, describe(outputs), describe(targets)));
  }
  if (outputs.sizes() == targets.sizes() && at::isFloatingType(outputs.scalar_type())) return;
  throw ConfigError(fmt::format("torchscript: '{}': loss {} needs floating outputs of the targets' shape; the "
                                "module's forward returned {} for targets {}",
                                path, loss, describe(outputs), describe(targets)));
}

// The loss of `outputs` against `targets`: the built-in `loss`, or the module's method when
// `loss` is "loss". A copy of the module handle shares the module object, so the metrics may hold
// one without holding the model.
at::Tensor compute_loss(torch::jit::Module& script, const std::string& loss, const std::string& path,
                        const at::Tensor& outputs, const at::Tensor& targets) {
  namespace F = torch::nn::functional;
  if (loss == "loss") {
    torch::jit::GraphOptimizerEnabledGuard unoptimized(false);
    const auto value = script.get_method("loss")({outputs, targets});
    if (!value.isTensor() || value.toTensor().numel() != 1) {
      throw ConfigError(fmt::format("torchscript: '{}': the module's loss(outputs, targets) returned {}; expected a "
                                    "scalar tensor",
                                    path, value.isTensor() ? "a tensor " + shape_of(value.toTensor()) : value.tagKind()));
    }
    return value.toTensor().reshape({});
  }
  check_shapes(loss, path, outputs, targets);
  if (loss == "cross_entropy") return F::cross_entropy(outputs, targets);
  if (loss == "nll") return F::nll_loss(outputs, targets);
  const auto target = targets.to(outputs.scalar_type());
  if (loss == "mse") return F::mse_loss(outputs, target);
  return F::binary_cross_entropy_with_logits(outputs, target);
}

// The script module's submodules by their dotted names ("" for the module itself), in Python's
// named_modules() order (pre-order).
std::vector<std::pair<std::string, torch::jit::Module>> script_modules(const torch::jit::Module& module) {
  std::vector<std::pair<std::string, torch::jit::Module>> out;
  for (const auto& item : module.named_modules()) out.emplace_back(item.name, item.value);
  return out;
}

}  // namespace

const std::vector<std::string>& torchscript_losses() {
  static const std::vector<std::string> losses{"cross_entropy", "mse", "bce_with_logits", "nll"};
  return losses;
}

namespace {

// The names of a zip's records (without the archive's folder), from its end record and
// directory; nothing when `tail` (the file's last bytes, from file offset `base`) is not the end
// of a zip whose directory lies inside it.
std::optional<std::vector<std::string>> zip_entry_names(const std::string& tail, uint64_t base = 0) {
  const auto* data = reinterpret_cast<const unsigned char*>(tail.data());
  const uint64_t size = tail.size();
  const auto u16 = [&](uint64_t at) { return uint64_t(data[at]) | uint64_t(data[at + 1]) << 8; };
  const auto u32 = [&](uint64_t at) { return u16(at) | u16(at + 2) << 16; };
  const auto u64 = [&](uint64_t at) { return u32(at) | u32(at + 4) << 32; };
  if (size < 22) return std::nullopt;
  // The end record is the last 22 bytes plus a comment of up to 64 KiB.
  uint64_t end = size - 22;
  const uint64_t lowest = size - 22 > 65535 ? size - 22 - 65535 : 0;
  while (u32(end) != 0x06054b50) {
    if (end == lowest) return std::nullopt;
    --end;
  }
  uint64_t count = u16(end + 10), dir_size = u32(end + 12), dir_offset = u32(end + 16);
  if ((count == 0xffff || dir_size == 0xffffffff || dir_offset == 0xffffffff) && end >= 20 &&
      u32(end - 20) == 0x07064b50) {  // ZIP64: the locator points at the ZIP64 end record
    const uint64_t at = u64(end - 20 + 8);
    if (at < base || at - base > size || size - (at - base) < 56 || u32(at - base) != 0x06064b50) return std::nullopt;
    const uint64_t record = at - base;
    count = u64(record + 32), dir_size = u64(record + 40), dir_offset = u64(record + 48);
  }
  if (dir_offset < base || dir_offset - base > size || dir_size > size - (dir_offset - base)) return std::nullopt;
  std::vector<std::string> names;
  uint64_t p = dir_offset - base;
  const uint64_t dir_end = p + dir_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (dir_end - p < 46 || u32(p) != 0x02014b50) return std::nullopt;
    const uint64_t name = u16(p + 28), extra = u16(p + 30), comment = u16(p + 32);
    if (dir_end - p - 46 < name + extra + comment) return std::nullopt;
    const std::string full(tail, p + 46, name);
    const auto slash = full.find('/');  // every record is under the archive's folder
    names.push_back(slash == std::string::npos ? full : full.substr(slash + 1));
    p += 46 + name + extra + comment;
  }
  return names;
}

bool is_torchscript_archive(const std::vector<std::string>& names) {
  const auto has = [&](const std::string& name) { return std::find(names.begin(), names.end(), name) != names.end(); };
  const bool code = std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.rfind("code/", 0) == 0; });
  return code && has("constants.pkl") && has("data.pkl");
}

}  // namespace

bool is_torchscript_file(const std::string& path) {
  // Only the file's end (the directory of a module's records is small): OUT may be a large checkpoint.
  constexpr uint64_t kTail = uint64_t{4} << 20;
  uint64_t size = 0;
  std::string why;
  const int fd = open_regular_file(path, why, &size);
  if (fd < 0) return false;
  const uint64_t base = size > kTail ? size - kTail : 0;
  std::string tail(size - base, '\0');
  uint64_t done = 0;
  while (done < tail.size()) {
    const auto n = ::pread(fd, tail.data() + done, tail.size() - done, static_cast<off_t>(base + done));
    if (n <= 0) break;
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  if (done != tail.size()) return false;
  const auto names = zip_entry_names(tail, base);
  return names && is_torchscript_archive(*names);
}

TorchScriptFile load_torchscript_file(const std::string& path) {
  const auto absolute = std::filesystem::absolute(path).lexically_normal().string();
  std::string bytes, why;
  if (!read_regular_file(path, kMaxModuleBytes, "a TorchScript module", bytes, why)) {
    throw ConfigError(fmt::format("torchscript: module file '{}' {}", path, why));
  }
  // The names first, for a message better than LibTorch's when the file is something else. (The
  // file is not otherwise vetted: a TorchScript module is code, to be loaded only when trusted.)
  const auto names = zip_entry_names(bytes);
  if (!names) {
    throw ConfigError(fmt::format("torchscript: '{}' is not a TorchScript archive (not a zip file); save one with "
                                  "torch.jit.script(module).save(path)",
                                  path));
  }
  if (!is_torchscript_archive(*names)) {
    throw ConfigError(fmt::format(
        "torchscript: '{}' is a zip archive but not a TorchScript module (it has no code/ and constants.pkl: "
        "torch.save writes weights; save a module with torch.jit.script(module).save(path))",
        path));
  }
  TorchScriptFile file;
  try {
    std::istringstream in(bytes);
    file.module = torch::jit::load(in, c10::Device(c10::kCPU));
  } catch (const std::exception& e) {
    throw ConfigError(fmt::format("torchscript: '{}' cannot be loaded as a TorchScript module: {}", path, message_of(e)));
  }
  file.path = absolute;
  file.crc32 = fmt::format("{:08x}", tempo::crc32(bytes.data(), bytes.size()));
  return file;
}

std::vector<std::pair<std::string, at::Tensor>> torchscript_state(const torch::jit::Module& module) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.name, item.value);
  for (const auto& item : module.named_buffers()) out.emplace_back(item.name, item.value);
  return out;
}

TorchScriptModel::TorchScriptModel(const TorchScriptModelOptions& options) {
  if (options.path().empty()) throw ConfigError("torchscript: path is empty; name the module file (torch.jit.save)");
  const auto& choices = torchscript_losses();
  if (!options.loss().empty() && std::find(choices.begin(), choices.end(), options.loss()) == choices.end()) {
    throw ConfigError(fmt::format("torchscript: loss '{}' is not one of {} (or empty for the module's loss method)",
                                  options.loss(), fmt::join(choices, ", ")));
  }
  auto file = load_torchscript_file(options.path());
  script_ = file.module;
  path_ = file.path;
  crc32_ = file.crc32;
  const auto& shown = options.path();

  const auto forward = script_.find_method("forward");
  if (!forward) {
    throw ConfigError(fmt::format("torchscript: '{}' has no forward method; tempo calls forward(input) (script the "
                                  "nn.Module itself with torch.jit.script)",
                                  shown));
  }
  if (!takes(*forward, 1)) {
    throw ConfigError(fmt::format("torchscript: '{}': forward takes {} argument(s) ({} required); tempo calls "
                                  "forward(input) with the batch's inputs",
                                  shown, arguments(*forward), required_arguments(*forward)));
  }
  const auto method = script_.find_method("loss");
  if (!options.loss().empty()) {
    loss_ = options.loss();  // the configured loss wins over the module's method
  } else if (method) {
    if (!takes(*method, 2)) {
      throw ConfigError(fmt::format("torchscript: '{}': loss takes {} argument(s); tempo calls loss(outputs, targets)",
                                    shown, arguments(*method)));
    }
    loss_ = "loss";
  } else {
    throw ConfigError(fmt::format("torchscript: '{}' has no loss(outputs, targets) method and no loss is configured: "
                                  "set loss to one of {}, or give the module a @torch.jit.export def loss(self, "
                                  "outputs, targets)",
                                  shown, fmt::join(choices, ", ")));
  }

  // Mirror the submodule tree with plain modules holding the script's own tensors: torch::nn
  // refuses dotted names, and sharing the tensors (not copies) is what lets the optimizer's
  // in-place updates reach the script's forward.
  std::unordered_map<std::string, torch::nn::Module*> mirrors{{"", this}};
  // A tensor tied into two submodules (out.weight = embed.weight) is one parameter, as in Python's
  // named_parameters(): registered twice, the optimizer would step it twice. Its second name is
  // kept as a buffer, so the checkpoint still holds every state_dict() key Python expects.
  std::unordered_set<const c10::TensorImpl*> parameters;
  for (const auto& [name, sub] : script_modules(script_)) {
    torch::nn::Module* mirror = this;
    if (!name.empty()) {
      const auto dot = name.rfind('.');
      const auto parent = dot == std::string::npos ? std::string() : name.substr(0, dot);
      auto child = std::make_shared<torch::nn::Module>(sub.type()->name() ? sub.type()->name()->name() : "Module");
      mirror = mirrors.at(parent)->register_module(name.substr(dot == std::string::npos ? 0 : dot + 1), child).get();
      mirrors[name] = mirror;
    }
    for (const auto& item : sub.named_parameters(/*recurse=*/false)) {
      if (parameters.insert(item.value.unsafeGetTensorImpl()).second) {
        mirror->register_parameter(item.name, item.value, item.value.requires_grad());
      } else {
        mirror->register_buffer(item.name, item.value);
      }
    }
    for (const auto& item : sub.named_buffers(/*recurse=*/false)) mirror->register_buffer(item.name, item.value);
  }
  train(script_.is_training());
}

torch::Tensor TorchScriptModel::forward(const torch::Tensor& input) {
  torch::jit::GraphOptimizerEnabledGuard unoptimized(false);  // see the header: resumes stay exact
  const auto value = script_.forward({input});
  if (!value.isTensor()) {
    throw ConfigError(fmt::format("torchscript: '{}': forward returned a {}; tempo needs one tensor (the outputs "
                                  "the loss and metrics read)",
                                  path_, value.tagKind()));
  }
  return value.toTensor();
}

torch::Tensor TorchScriptModel::loss(const torch::Tensor& outputs, const Batch& batch) {
  return compute_loss(script_, loss_, path_, outputs, batch.target);
}

MetricMap TorchScriptModel::metrics(bool train) {
  if (loss_ == "cross_entropy" || loss_ == "nll") return Model::metrics(train);
  if (loss_ == "mse") return metric_map({std::make_shared<MeanSquaredError>()});
  if (train) return {};
  auto function = [script = script_, loss = loss_, path = path_](const at::Tensor& outputs,
                                                                  const Batch& batch) mutable {
    return compute_loss(script, loss, path, outputs, batch.target);
  };
  return metric_map({std::make_shared<LossMetric>(function)});
}

std::map<std::string, std::string> TorchScriptModel::checkpoint_metadata() const {
  return {{kTorchScriptModuleKey, path_}, {kTorchScriptCrc32Key, crc32_}};
}

void TorchScriptModel::train(bool on) {
  Model::train(on);
  script_.train(on);
}

}  // namespace tempo
