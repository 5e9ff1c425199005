// tempo's built-in parts. Each takes its schema and its builder from the description of its
// options struct (configs/option_descriptions.h), whose defaults are the struct's own (torch's
// AdamOptions for adam), so a resolved config states exactly what runs. Parts without options
// (lr_monitor, memory_monitor, nan_monitor) have an empty schema.
#include <torch/torch.h>

#include <fmt/format.h>

#include "tempo/callbacks/checkpoint_saver.h"
#include "tempo/callbacks/early_stopper.h"
#include "tempo/callbacks/lr_monitor.h"
#include "tempo/callbacks/memory_monitor.h"
#include "tempo/callbacks/nan_monitor.h"
#include "tempo/callbacks/speed_monitor.h"
#include "tempo/callbacks/threshold_stopper.h"
#include "tempo/configs/builtin_support.h"
#include "tempo/configs/option_descriptions.h"
#include "tempo/configs/registry.h"
#include "tempo/data/data_loader.h"
#include "tempo/data/fashion_mnist.h"
#include "tempo/data/synthetic_dataset.h"
#include "tempo/models/cnn.h"
#include "tempo/models/mlp.h"
#include "tempo/optim/fused_adam.h"
#include "tempo/optim/fused_sgd.h"

namespace tempo::config {

// A config's loader batches 64 samples unless told otherwise (DataLoaderOptions' C++ default is 1).
DataLoaderOptions config_loader_defaults() { return DataLoaderOptions().batch_size(64); }

Schema with_loader_keys(Schema schema) {
  const auto loader = data_loader_description().schema(config_loader_defaults());
  schema.insert(schema.end(), loader.begin(), loader.end());
  return schema;
}

std::shared_ptr<DataLoader> make_loader(std::shared_ptr<Dataset> dataset, const Args& a) {
  auto options = config_loader_defaults();
  data_loader_description().read(a.node(), options);
  return std::make_shared<DataLoader>(std::move(dataset), options);
}

namespace {

// Fused where the config asks for it (the default): see OptimizerConfig.
template <typename Fused, typename Plain, typename TorchOptions>
std::shared_ptr<torch::optim::Optimizer> make_optimizer(const Description<OptimizerConfig<TorchOptions>>& description,
                                                        const Args& a, const std::vector<at::Tensor>& params) {
  const auto config = description.read(a.node());
  if (config.fused()) return std::make_shared<Fused>(params, config.torch());
  return std::make_shared<Plain>(params, config.torch());
}

}  // namespace

Registry& registry() {
  static Registry r;
  return r;
}

void register_builtins(Registry& r) {
  register_builtin_schedulers(r);
  register_builtin_loggers(r);
  register_builtin_datasets(r);
  register_builtin_models(r);
  register_builtin_text(r);
  if (!r.models.contains("mlp")) {
    r.add_model("mlp", [](const Args& a) -> std::shared_ptr<Model> {
      return std::make_shared<Mlp>(mlp_description().read(a.node()));
    }, mlp_description().schema());
  }
  if (!r.models.contains("cnn")) {
    r.add_model("cnn", [](const Args& a) -> std::shared_ptr<Model> {
      return std::make_shared<Cnn>(cnn_description().read(a.node()));
    }, cnn_description().schema());
  }
  if (!r.datasets.contains("fashion_mnist")) {
    r.add_dataset("fashion_mnist", [](const Args& a) {
      return make_loader(load_fashion_mnist(fashion_mnist_description().read(a.node())), a);
    }, with_loader_keys(fashion_mnist_description().schema()));
  }
  if (!r.datasets.contains("synthetic")) {
    r.add_dataset("synthetic", [](const Args& a) {
      return make_loader(make_synthetic_dataset(synthetic_dataset_description().read(a.node())), a);
    }, with_loader_keys(synthetic_dataset_description().schema()));
  }
  using Params = std::vector<at::Tensor>;
  if (!r.optimizers.contains("sgd")) {
    r.add_optimizer("sgd", [](const Args& a, const Params& params) {
      return make_optimizer<FusedSGD, torch::optim::SGD>(sgd_description(), a, params);
    }, sgd_description().schema());
  }
  if (!r.optimizers.contains("adam")) {
    r.add_optimizer("adam", [](const Args& a, const Params& params) {
      return make_optimizer<FusedAdam, torch::optim::Adam>(adam_description(), a, params);
    }, adam_description().schema());
  }
  if (!r.optimizers.contains("adamw")) {
    r.add_optimizer("adamw", [](const Args& a, const Params& params) {
      return make_optimizer<FusedAdamW, torch::optim::AdamW>(adamw_description(), a, params);
    }, adamw_description().schema());
  }
  if (!r.callbacks.contains("checkpoint_saver")) {
    r.add_callback("checkpoint_saver", [](const Args& a) -> std::shared_ptr<Callback> {
      return std::make_shared<CheckpointSaver>(checkpoint_saver_description().read(a.node()));
    }, checkpoint_saver_description().schema());
  }
  if (!r.callbacks.contains("lr_monitor")) {
    r.add_callback("lr_monitor", [](const Args&) -> std::shared_ptr<Callback> { return std::make_shared<LRMonitor>(); },
                   Schema{});
  }
  if (!r.callbacks.contains("speed_monitor")) {
    r.add_callback("speed_monitor", [](const Args& a) -> std::shared_ptr<Callback> {
      return std::make_shared<SpeedMonitor>(speed_monitor_description().read(a.node()));
    }, speed_monitor_description().schema());
  }
  if (!r.callbacks.contains("memory_monitor")) {
    r.add_callback("memory_monitor", [](const Args&) -> std::shared_ptr<Callback> { return std::make_shared<MemoryMonitor>(); },
                   Schema{});
  }
  if (!r.callbacks.contains("nan_monitor")) {
    r.add_callback("nan_monitor", [](const Args&) -> std::shared_ptr<Callback> { return std::make_shared<NaNMonitor>(); },
                   Schema{});
  }
  if (!r.callbacks.contains("early_stopper")) {
    const EarlyStopperOptions defaults("", "");  // both required
    r.add_callback("early_stopper", [defaults](const Args& a) -> std::shared_ptr<Callback> {
      auto options = defaults;
      early_stopper_description().read(a.node(), options);
      return std::make_shared<EarlyStopper>(options);
    }, early_stopper_description().schema(defaults));
  }
  if (!r.callbacks.contains("threshold_stopper")) {
    const ThresholdStopperOptions defaults("", "", 0.0);  // all three required
    r.add_callback("threshold_stopper", [defaults](const Args& a) -> std::shared_ptr<Callback> {
      auto options = defaults;
      threshold_stopper_description().read(a.node(), options);
      return std::make_shared<ThresholdStopper>(options);
    }, threshold_stopper_description().schema(defaults));
  }
}

}  // namespace tempo::config
