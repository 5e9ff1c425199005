// A program with its own model that keeps tempo's whole command line: register the part, then
// hand over to tempo::cli::main.
//   custom_model_cli train examples/custom_model_cli.yaml
//   custom_model_cli train examples/custom_model_cli.yaml model.wide_net.width=128 --print-config
#include <torch/torch.h>

#include "tempo/cli/main.h"
#include "tempo/configs/registry.h"
#include "tempo/state/model.h"

namespace {

// One hidden layer of a configurable width over flattened inputs.
class WideNet : public tempo::Model {
 public:
  WideNet(int64_t in_features, int64_t width, int64_t classes)
      : fc1(register_module("fc1", torch::nn::Linear(in_features, width))),
        fc2(register_module("fc2", torch::nn::Linear(width, classes))) {}
  torch::Tensor forward(const torch::Tensor& x) override { return fc2(torch::relu(fc1(x.flatten(1)))); }

  torch::nn::Linear fc1;
  torch::nn::Linear fc2;
};

}  // namespace

int main(int argc, char** argv) {
  tempo::config::registry().add_model("wide_net", [](const tempo::config::Args& a) {
    return std::make_shared<WideNet>(a.get<int64_t>("in_features", 784), a.get<int64_t>("width", 64),
                                     a.get<int64_t>("num_classes", 10));
  });
  return tempo::cli::main(argc, argv);
}
