// A model written in Python: a TorchScript module (torch.jit.script(module).save(path), read with
// torch::jit::load) trained by tempo like any built-in model.
//
// The module's parameters and buffers are this Model's, under the Python module's state_dict()
// names ("fc1.weight", "layers.0.bias"): the script module's submodule tree is mirrored by plain
// torch::nn::Module children holding the very same tensors, so the optimizer updates what the
// script's forward reads, the checkpoint's state/model loads into the Python module with
// load_state_dict(), and Python's weights load into tempo. A buffer registered with
// persistent=False in Python is an ordinary buffer once scripted (torch.jit.load's own
// state_dict() lists it), so it is saved too: load such a checkpoint with strict=False in Python.
// A weight tied into two submodules (out.weight = embed.weight) is one parameter, under its first
// name as in Python's named_parameters(); its other names are kept as buffers, so the optimizer
// steps it once and the checkpoint still holds every state_dict() key.
// train()/eval() switch the script module's mode (dropout, batch norm) with this one's.
//
// forward() calls the module's forward(input), which must return one tensor. Every call runs
// the script's graph unoptimized (the executor's optimizing passes off for the call): the
// optimized graph differs from the first, profiling calls in its autodiff (symbolic gradients in
// place of autograd's) and so possibly in the last bits, which would make a resumed run, whose
// first batch is the executor's first call, differ from the uninterrupted one.
//
// The loss is `loss` when set: cross_entropy or nll (outputs [N, C], int64 targets [N]), mse or
// bce_with_logits (outputs and targets of one shape; targets converted to the outputs' dtype).
// When `loss` is empty, the module's own method loss(outputs, targets) (a @torch.jit.export
// method returning a scalar tensor); a configured `loss` wins over that method (the config is the
// explicit choice; the method is then unused). Every batch's shapes are checked before the loss.
// Metrics: cross_entropy and nll: Accuracy for training, Accuracy and CrossEntropy for
// evaluation (as the default Model); mse: MeanSquaredError for both; bce_with_logits and the
// module's own loss: none for training, LossMetric (the model's loss) for evaluation.
//
// The checkpoint's state/metadata records the module file (torchscript_module: its absolute
// path, torchscript_module_crc32: the CRC-32 of its bytes as 8 hex digits), from which
// `tempo export --format torchscript` (cli/export_torchscript.h) writes the trained module.
//
// Throws ConfigError, naming the file, when it is missing or not a regular file, is not a
// TorchScript archive, has no forward(input) method, or has neither a `loss` method nor a
// configured loss; loss() throws ConfigError naming the shapes when the outputs or targets do
// not fit the loss, and when forward does not return a tensor.
#pragma once

#include <torch/arg.h>
#include <torch/script.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tempo/state/model.h"

namespace tempo {

struct TorchScriptModelOptions {
  TorchScriptModelOptions() = default;
  /* implicit */ TorchScriptModelOptions(std::string path) : path_(std::move(path)) {}
  // The module file; a relative path is relative to the working directory.
  TORCH_ARG(std::string, path);
  // "" (the module's loss method), cross_entropy, mse, bce_with_logits or nll.
  TORCH_ARG(std::string, loss) = "";
};

// The losses `loss` may name, in the order messages list them.
const std::vector<std::string>& torchscript_losses();

// A TorchScript archive read from disk: the module, the file's absolute path and the CRC-32 of
// its bytes (8 lowercase hex digits). Throws ConfigError "torchscript: '<path>' ..." when the
// file is missing, not a regular file or not a TorchScript archive (a torch.save file of weights
// is refused: it holds no code). The zip's record names are read first, for those messages;
// beyond that the file goes to LibTorch's reader unvetted (tempo's bounded zip reader takes only
// the stored records of checkpoints; TorchScript compresses its code): a module is code, to be
// loaded only when trusted, unlike a checkpoint.
struct TorchScriptFile {
  torch::jit::Module module;
  std::string path;
  std::string crc32;
};
TorchScriptFile load_torchscript_file(const std::string& path);
// Whether `path` is a regular file holding a zip with TorchScript's records (code/, constants.pkl,
// data.pkl); never throws.
bool is_torchscript_file(const std::string& path);

// The module's parameters and buffers by their state_dict() names, parameters then buffers
// (the order of tempo's state/model), as the script module holds them (same tensors).
std::vector<std::pair<std::string, at::Tensor>> torchscript_state(const torch::jit::Module& module);

class TorchScriptModel : public Model {
 public:
  explicit TorchScriptModel(const TorchScriptModelOptions& options);

  torch::Tensor forward(const torch::Tensor& input) override;
  torch::Tensor loss(const torch::Tensor& outputs, const Batch& batch) override;
  MetricMap metrics(bool train) override;
  std::map<std::string, std::string> checkpoint_metadata() const override;
  void train(bool on = true) override;

  // The script module (sharing this model's tensors).
  const torch::jit::Module& script_module() const { return script_; }
  // The file it was read from (absolute) and the CRC-32 of its bytes.
  const std::string& path() const { return path_; }
  const std::string& crc32() const { return crc32_; }
  // The loss in use: one of torchscript_losses(), or "loss" for the module's own method.
  const std::string& loss_name() const { return loss_; }

 private:
  torch::jit::Module script_;
  std::string path_;
  std::string crc32_;
  std::string loss_;
};

// Metadata keys of the checkpoint (state/metadata/<key>).
inline constexpr const char* kTorchScriptModuleKey = "torchscript_module";
inline constexpr const char* kTorchScriptCrc32Key = "torchscript_module_crc32";

}  // namespace tempo
