// Registries of the named parts a config can use: models, datasets (which make data loaders),
// optimizers, schedulers, callbacks and loggers. The built-ins are added by an explicit
// register_builtins(registry()) (the CLI calls it), never by static initialisers, which the
// linker drops from static libraries. A user adds their own with one line before
// tempo::cli::main:
//   tempo::config::registry().add_model("my_net", [](const tempo::config::Args& a) {
//     return std::make_shared<MyNet>(a.get<int64_t>("width", 64)); });
// A part registered with a Schema gets its keys checked and its defaults filled before anything
// is built; without one, any key it does not read is rejected after it is built.
// add_* replaces a part of the same name; register_builtins never replaces a user's part.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tempo/configs/args.h"
#include "tempo/configs/schema.h"

namespace torch::optim {
class Optimizer;
}

namespace tempo {
class Callback;
class DataLoader;
class LoggerDestination;
class Model;
class Scheduler;
}  // namespace tempo

namespace tempo::config {

using ModelFactory = std::function<std::shared_ptr<Model>(const Args&)>;
using DatasetFactory = std::function<std::shared_ptr<DataLoader>(const Args&)>;
using OptimizerFactory =
    std::function<std::shared_ptr<torch::optim::Optimizer>(const Args&, const std::vector<at::Tensor>& params)>;
using SchedulerFactory = std::function<std::shared_ptr<Scheduler>(
    const Args&, const std::vector<std::shared_ptr<torch::optim::Optimizer>>& optimizers)>;
using CallbackFactory = std::function<std::shared_ptr<Callback>(const Args&)>;
using LoggerFactory = std::function<std::shared_ptr<LoggerDestination>(const Args&)>;

template <typename Factory>
struct Part {
  Factory factory;
  std::optional<Schema> schema;
  std::string doc;
};

// The parts of one kind, by name. `kind` names it in messages ("model", "dataset").
template <typename Factory>
class PartTable {
 public:
  explicit PartTable(std::string kind) : kind_(std::move(kind)) {}
  void add(const std::string& name, Factory factory, std::optional<Schema> schema = std::nullopt,
           std::string doc = "") {
    parts_[name] = Part<Factory>{std::move(factory), std::move(schema), std::move(doc)};
  }
  bool contains(const std::string& name) const { return parts_.count(name) > 0; }
  const Part<Factory>* find(const std::string& name) const {
    auto it = parts_.find(name);
    return it == parts_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : parts_) out.push_back(entry.first);
    return out;
  }
  const std::map<std::string, Part<Factory>>& parts() const { return parts_; }
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, Part<Factory>> parts_;
};

class Registry {
 public:
  PartTable<ModelFactory> models{"model"};
  PartTable<DatasetFactory> datasets{"dataset"};
  PartTable<OptimizerFactory> optimizers{"optimizer"};
  PartTable<SchedulerFactory> schedulers{"scheduler"};
  PartTable<CallbackFactory> callbacks{"callback"};
  PartTable<LoggerFactory> loggers{"logger"};

  Registry& add_model(const std::string& name, ModelFactory f, std::optional<Schema> s = std::nullopt) {
    models.add(name, std::move(f), std::move(s));
    return *this;
  }
  Registry& add_dataset(const std::string& name, DatasetFactory f, std::optional<Schema> s = std::nullopt) {
    datasets.add(name, std::move(f), std::move(s));
    return *this;
  }
  Registry& add_optimizer(const std::string& name, OptimizerFactory f, std::optional<Schema> s = std::nullopt) {
    optimizers.add(name, std::move(f), std::move(s));
    return *this;
  }
  Registry& add_scheduler(const std::string& name, SchedulerFactory f, std::optional<Schema> s = std::nullopt) {
    schedulers.add(name, std::move(f), std::move(s));
    return *this;
  }
  Registry& add_callback(const std::string& name, CallbackFactory f, std::optional<Schema> s = std::nullopt) {
    callbacks.add(name, std::move(f), std::move(s));
    return *this;
  }
  Registry& add_logger(const std::string& name, LoggerFactory f, std::optional<Schema> s = std::nullopt) {
    loggers.add(name, std::move(f), std::move(s));
    return *this;
  }
};

// The process-wide registry the CLI reads; filled at start-up, before any config is loaded.
Registry& registry();

// Adds tempo's built-in parts (mlp, cnn, fashion_mnist, synthetic, sgd, adam, adamw,
// checkpoint_saver and the schedulers below) that `r` does not already hold.
void register_builtins(Registry& r);
// The part of register_builtins that adds Composer's schedulers under Composer's registry names
// (step, multistep, exponential, linear_decay, cosine_decay, cosine_warmrestart, constant,
// polynomial and the *_with_warmup ones); configs/builtin_schedulers.cpp.
void register_builtin_schedulers(Registry& r);
// The part that adds the logger destinations progress_bar, console, file and tensorboard;
// configs/builtin_loggers.cpp.
void register_builtin_loggers(Registry& r);
// The tabular and array data sets csv, npy and safetensors; configs/builtin_datasets.cpp.
void register_builtin_datasets(Registry& r);
// The part that adds the torchscript model (a TorchScript module written in Python);
// configs/builtin_models.cpp.
void register_builtin_models(Registry& r);
// The language-model parts: the gpt model and the text_tokens data set; configs/builtin_text.cpp.
void register_builtin_text(Registry& r);

}  // namespace tempo::config
