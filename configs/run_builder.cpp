// RunConfig::build: turns a resolved config into TrainerOptions by calling the registered
// factories. A part's own complaint (Mlp's "dropout must be in [0, 1)") is prefixed with where the
// part is configured, and a part without a schema has the keys it never read rejected.
#include <torch/torch.h>

#include <fmt/format.h>

#include "callbacks/callback.h"
#include "callbacks/logger.h"
#include "configs/run_config.h"
#include "data/data_loader.h"
#include "state/model.h"
#include "state/rng.h"
#include "state/scheduler.h"

namespace tempo::config {

namespace {

// Calls `make(factory, args)` for the one part in `entry` ({name: args}).
template <typename F, typename Make>
auto build_part(const ConfigNode& entry, const PartTable<F>& table, Make make) {
  const auto name = entry.keys().front();
  const auto* part = table.find(name);
  Args args(entry.child(name), fmt::format("{} '{}'", table.kind(), name));
  try {
    auto built = make(part->factory, args);
    if (!built) throw ConfigError("the factory returned nothing");
    if (!part->schema) {
      const auto unread = args.unread_keys();
      if (!unread.empty()) {
        const auto key = args.node().child(unread.front());
        throw LocatedConfigError(fmt::format("{}: unknown key '{}' in {}", key.where_key(), unread.front(), args.scope()));
      }
    }
    return built;
  } catch (const LocatedConfigError&) {
    throw;
  } catch (const Error& e) {
    throw LocatedConfigError(fmt::format("{}: {}: {}", args.where(), args.scope(), e.what()));
  } catch (const c10::Error& e) {
    throw LocatedConfigError(fmt::format("{}: {}: {}", args.where(), args.scope(), e.what_without_backtrace()));
  }
}

// Every {name: args} of a section, whether resolved as a map or as a list.
std::vector<ConfigNode> entries(const ConfigNode& section) {
  std::vector<ConfigNode> out;
  if (section.is_sequence()) {
    for (size_t i = 0; i < section.size(); ++i) out.push_back(section.at(i));
  } else if (section.is_map()) {
    for (const auto& name : section.keys()) {
      ConfigNode one = section.new_map();
      one.set(name, section.child(name));
      out.push_back(one);
    }
  }
  return out;
}

}  // namespace

TrainerOptions RunConfig::build(const Registry& registry) const {
  const ConfigNode& r = resolved_;
  const auto seed = r.child("seed").as<uint64_t>();
  seed_all(seed);  // before the model exists, so its initial weights follow the seed

  auto model = build_part(r.child("model"), registry.models, [](const auto& f, const Args& a) { return f(a); });
  auto train = build_part(r.child("train_loader"), registry.datasets, [](const auto& f, const Args& a) { return f(a); });
  std::shared_ptr<DataLoader> eval;
  if (!r.child("eval_loader").is_null()) {
    eval = build_part(r.child("eval_loader"), registry.datasets, [](const auto& f, const Args& a) { return f(a); });
  }
  std::vector<std::shared_ptr<torch::optim::Optimizer>> optimizers;
  const auto params = model->parameters();
  for (const auto& entry : entries(r.child("optimizers"))) {
    optimizers.push_back(build_part(entry, registry.optimizers,
                                    [&params](const auto& f, const Args& a) { return f(a, params); }));
  }
  std::vector<std::shared_ptr<Scheduler>> schedulers;
  for (const auto& entry : entries(r.child("schedulers"))) {
    schedulers.push_back(build_part(entry, registry.schedulers,
                                    [&optimizers](const auto& f, const Args& a) { return f(a, optimizers); }));
  }
  std::vector<std::shared_ptr<Callback>> callbacks;
  for (const auto& entry : entries(r.child("callbacks"))) {
    callbacks.push_back(build_part(entry, registry.callbacks, [](const auto& f, const Args& a) { return f(a); }));
  }
  std::vector<std::shared_ptr<LoggerDestination>> loggers;
  for (const auto& entry : entries(r.child("loggers"))) {
    loggers.push_back(build_part(entry, registry.loggers, [](const auto& f, const Args& a) { return f(a); }));
  }

  auto options = TrainerOptions()
                     .model(model)
                     .train_dataloader(train)
                     .eval_dataloader(eval)
                     .optimizers(optimizers)
                     .schedulers(schedulers)
                     .scale_schedule_ratio(r.child("scale_schedule_ratio").as<double>())
                     .callbacks(callbacks)
                     .loggers(loggers)
                     .seed(seed)
                     .run_name(r.child("run_name").as<std::string>())
                     .device(r.child("device").as<std::string>())
                     .precision(parse_precision(r.child("precision").as<std::string>()))
                     .device_train_microbatch_size(r.child("device_train_microbatch_size").is_null()
                                                       ? 0
                                                       : r.child("device_train_microbatch_size").as<int64_t>())
                     .clipping_type(parse_clipping_type(r.child("clipping_type").as<std::string>()))
                     .clipping_threshold(r.child("clipping_threshold").is_null()
                                             ? 0.0
                                             : r.child("clipping_threshold").as<double>())
                     .eval_interval(r.child("eval_interval").as<Time>())
                     .eval_subset_num_batches(r.child("eval_subset_num_batches").as<int64_t>())
                     .save_folder(r.child("save_folder").as<std::string>())
                     .save_filename(r.child("save_filename").as<std::string>())
                     .save_latest_filename(r.child("save_latest_filename").as<std::string>())
                     .save_interval(r.child("save_interval").as<Time>())
                     .save_num_checkpoints_to_keep(r.child("save_num_checkpoints_to_keep").as<int64_t>())
                     .save_overwrite(r.child("save_overwrite").as<bool>())
                     .save_ignore_errors(r.child("save_ignore_errors").as<bool>())
                     .save_async(r.child("save_async").as<bool>())
                     .save_weights_only(r.child("save_weights_only").as<bool>())
                     .save_metrics(r.child("save_metrics").as<bool>())
                     .load_path(r.child("load_path").as<std::string>())
                     .load_weights_only(r.child("load_weights_only").as<bool>())
                     .load_strict_model_weights(r.child("load_strict_model_weights").as<bool>())
                     .load_ignore_keys(r.child("load_ignore_keys").as<std::vector<std::string>>())
                     .autoresume(r.child("autoresume").as<bool>());
  try {
    options.max_duration(r.child("max_duration").as<Time>());
  } catch (const LocatedConfigError&) {
    throw;
  } catch (const Error& e) {
    const auto node = r.child("max_duration");
    throw LocatedConfigError(fmt::format("{}: max_duration: {}", node.where(), e.what()));
  }
  return options;
}

}  // namespace tempo::config
