// Models a config names beside mlp and cnn (configs/builtins.cpp): `model: {torchscript: {path:
// model.pt, loss: cross_entropy}}`, a TorchScript module written in Python (models/torchscript_model.h).
// A relative path is relative to the working directory, as the fashion_mnist dir and load_path are.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "tempo/configs/option_descriptions.h"
#include "tempo/configs/registry.h"
#include "tempo/models/torchscript_model.h"

namespace tempo::config {

const Description<TorchScriptModelOptions>& torchscript_description() {
  using O = TorchScriptModelOptions;
  static const Description<O> d({
      required(field("path", &O::path, "The module file (torch.jit.script(module).save(path))",
                     Check<std::string>([](const std::string& v) {
                       return v.empty() ? std::string("expected the path of a TorchScript module, got \"\"") : "";
                     }))),
      field("loss", &O::loss,
            "cross_entropy, mse, bce_with_logits or nll; \"\": the module's loss(outputs, targets) method",
            Check<std::string>([](const std::string& v) -> std::string {
              const auto& losses = torchscript_losses();
              if (v.empty() || std::find(losses.begin(), losses.end(), v) != losses.end()) return "";
              return fmt::format("expected {} or \"\" (the module's loss method), got \"{}\"", fmt::join(losses, ", "),
                                 v);
            })),
  });
  return d;
}

void register_builtin_models(Registry& r) {
  if (!r.models.contains("torchscript")) {
    r.add_model("torchscript", [](const Args& a) -> std::shared_ptr<Model> {
      return std::make_shared<TorchScriptModel>(torchscript_description().read(a.node()));
    }, torchscript_description().schema());
  }
}

}  // namespace tempo::config
