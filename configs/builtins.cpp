// tempo's built-in parts and their schemas. A part whose options struct has a description
// (configs/option_descriptions.h: MlpOptions, CnnOptions, DataLoaderOptions,
// CheckpointSaverOptions) takes its schema and its builder from it; the others' schemas are written
// here with the defaults of what their factories call (torch's AdamOptions...), so a resolved
// config states exactly what runs.
#include <torch/torch.h>

#include <fmt/format.h>

#include "callbacks/checkpoint_saver.h"
#include "callbacks/early_stopper.h"
#include "callbacks/lr_monitor.h"
#include "callbacks/memory_monitor.h"
#include "callbacks/nan_monitor.h"
#include "callbacks/speed_monitor.h"
#include "callbacks/threshold_stopper.h"
#include "configs/option_descriptions.h"
#include "configs/registry.h"
#include "data/data_loader.h"
#include "data/fashion_mnist.h"
#include "data/synthetic_dataset.h"
#include "models/cnn.h"
#include "models/mlp.h"
#include "optim/fused_adam.h"
#include "optim/fused_sgd.h"

namespace tempo::config {

namespace {

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

std::pair<double, double> betas(const Args& a) {
  auto b = a.get<std::vector<double>>("betas");
  if (b.size() != 2) {
    throw LocatedConfigError(fmt::format("{}: {}: expected two numbers [beta1, beta2], got {}",
                                         a.node().child("betas").where(), a.node().child("betas").path(), b.size()));
  }
  return {b[0], b[1]};
}

// Fused by default: the same results as torch::optim's step, bit for bit, several times faster on
// the CPU (benchmarks/bench_optimizer_step.cpp); parameters it cannot fuse (CUDA) take the plain step.
constexpr const char* kFusedHelp =
    "One vectorised, multi-threaded pass over flat buffers, same results; `false`: torch::optim's step";

template <typename Fused, typename Plain, typename Options>
std::shared_ptr<torch::optim::Optimizer> fused_or_plain(const Args& a, const std::vector<at::Tensor>& params,
                                                        const Options& options) {
  if (a.get<bool>("fused")) return std::make_shared<Fused>(params, options);
  return std::make_shared<Plain>(params, options);
}

const Schema kAdamKeys = {
    {"lr", "float", "0.001", "Learning rate"},
    {"betas", "list[float]", "[0.9, 0.999]", "Coefficients of the running averages"},
    {"eps", "float", "1.0e-08", "Added to the denominator"},
    {"weight_decay", "float", "0.0", "Weight decay"},
    {"amsgrad", "bool", "false", "Use AMSGrad"},
    {"fused", "bool", "true", kFusedHelp},
};

}  // namespace

Registry& registry() {
  static Registry r;
  return r;
}

void register_builtins(Registry& r) {
  register_builtin_schedulers(r);
  register_builtin_loggers(r);
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
      const auto split = a.get<std::string>("split");
      if (split != "train" && split != "test") {
        const auto node = a.node().child("split");
        throw LocatedConfigError(fmt::format("{}: {}: expected train or test, got \"{}\"", node.where(), node.path(), split));
      }
      return make_loader(load_fashion_mnist(a.get<std::string>("dir"), split == "train" ? Split::TRAIN : Split::TEST), a);
    }, with_loader_keys({{"split", "string", "train", "train or test"},
                         {"dir", "string", kFashionMnistDir, "Folder of the IDX files"}}));
  }
  if (!r.datasets.contains("synthetic")) {
    r.add_dataset("synthetic", [](const Args& a) {
      return make_loader(make_synthetic_dataset(a.get<int64_t>("num_samples"), a.get<std::vector<int64_t>>("shape"),
                                                a.get<int64_t>("num_classes"), a.get<uint64_t>("seed")), a);
    }, with_loader_keys({{"num_samples", "int", "256", "Samples in the data set"},
                         {"shape", "list[int]", "[1, 28, 28]", "Shape of one input sample"},
                         {"num_classes", "int", "10", "Classes (labels 0..num_classes-1)"},
                         {"seed", "uint", "0", "Seed of the data (not of the run)"}}));
  }
  if (!r.optimizers.contains("sgd")) {
    r.add_optimizer("sgd", [](const Args& a, const std::vector<at::Tensor>& params) -> std::shared_ptr<torch::optim::Optimizer> {
      return fused_or_plain<FusedSGD, torch::optim::SGD>(a, params, torch::optim::SGDOptions(a.get<double>("lr"))
                                                                            .momentum(a.get<double>("momentum"))
                                                                            .dampening(a.get<double>("dampening"))
                                                                            .weight_decay(a.get<double>("weight_decay"))
                                                                            .nesterov(a.get<bool>("nesterov")));
    }, Schema{{"lr", "float", "0.01", "Learning rate"},
              {"momentum", "float", "0.0", "Momentum factor"},
              {"dampening", "float", "0.0", "Dampening of the momentum"},
              {"weight_decay", "float", "0.0", "Weight decay (L2)"},
              {"nesterov", "bool", "false", "Nesterov momentum"},
              {"fused", "bool", "true", kFusedHelp}});
  }
  if (!r.optimizers.contains("adam")) {
    r.add_optimizer("adam", [](const Args& a, const std::vector<at::Tensor>& params) -> std::shared_ptr<torch::optim::Optimizer> {
      return fused_or_plain<FusedAdam, torch::optim::Adam>(a, params, torch::optim::AdamOptions(a.get<double>("lr"))
                                                                              .betas(betas(a))
                                                                              .eps(a.get<double>("eps"))
                                                                              .weight_decay(a.get<double>("weight_decay"))
                                                                              .amsgrad(a.get<bool>("amsgrad")));
    }, kAdamKeys);
  }
  if (!r.optimizers.contains("adamw")) {
    Schema keys = kAdamKeys;
    keys[3].default_yaml = "0.01";  // torch's AdamW default weight decay
    r.add_optimizer("adamw", [](const Args& a, const std::vector<at::Tensor>& params) -> std::shared_ptr<torch::optim::Optimizer> {
      return fused_or_plain<FusedAdamW, torch::optim::AdamW>(a, params, torch::optim::AdamWOptions(a.get<double>("lr"))
                                                                                .betas(betas(a))
                                                                                .eps(a.get<double>("eps"))
                                                                                .weight_decay(a.get<double>("weight_decay"))
                                                                                .amsgrad(a.get<bool>("amsgrad")));
    }, keys);
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
      return std::make_shared<SpeedMonitor>(a.get<int64_t>("window_size"));
    }, Schema{{"window_size", "int", "100", "Batches over which throughput is averaged"}});
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
    r.add_callback("early_stopper", [](const Args& a) -> std::shared_ptr<Callback> {
      return std::make_shared<EarlyStopper>(a.get<std::string>("monitor"), a.get<std::string>("dataloader_label"),
                                            a.get<std::string>("comparator"), a.get<double>("min_delta"),
                                            a.get<Time>("patience"));
    }, Schema{{"monitor", "string", "", "Metric to watch, e.g. Accuracy or CrossEntropy"},
              {"dataloader_label", "string", "", "train, eval or an evaluator's label"},
              {"comparator", "string", "\"\"", "greater or less; empty: less for loss/error/perplexity, else greater"},
              {"min_delta", "float", "0.0", "Smallest change that counts as an improvement"},
              {"patience", "time", "1ep", "Epochs (ep) or batches (ba) without improvement before stopping"}});
  }
  if (!r.callbacks.contains("threshold_stopper")) {
    r.add_callback("threshold_stopper", [](const Args& a) -> std::shared_ptr<Callback> {
      return std::make_shared<ThresholdStopper>(a.get<std::string>("monitor"), a.get<std::string>("dataloader_label"),
                                                a.get<double>("threshold"), a.get<std::string>("comparator"),
                                                a.get<bool>("stop_on_batch"));
    }, Schema{{"monitor", "string", "", "Metric to watch, e.g. Accuracy or CrossEntropy"},
              {"dataloader_label", "string", "", "train, eval or an evaluator's label"},
              {"threshold", "float", "", "Stop once the metric passes this value"},
              {"comparator", "string", "\"\"", "greater or less; empty: less for loss/error/perplexity, else greater"},
              {"stop_on_batch", "bool", "false", "Also check the training metric after every batch"}});
  }
}

}  // namespace tempo::config
