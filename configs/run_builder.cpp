// RunConfig::build: turns a resolved config into TrainerOptions by calling the registered
// factories. A part's own complaint (Mlp's "dropout must be in [0, 1)") is prefixed with where the
// part is configured, and a part without a schema has the keys it never read rejected.
#include <torch/torch.h>

#include <fmt/format.h>

#include "tempo/callbacks/callback.h"
#include "tempo/callbacks/logger.h"
#include "tempo/configs/option_descriptions.h"
#include "tempo/configs/run_config.h"
#include "tempo/data/data_loader.h"
#include "tempo/state/model.h"
#include "tempo/state/rng.h"
#include "tempo/state/scheduler.h"

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
  TrainerOptions options;
  trainer_description().read(r, options);  // every trainer key but the parts, each parsed once
  seed_all(*options.seed());  // before the model exists, so its initial weights follow the seed

  auto model = build_part(r.child("model"), registry.models, [](const auto& f, const Args& a) { return f(a); });
  auto train = build_part(r.child("train_loader"), registry.datasets, [](const auto& f, const Args& a) { return f(a); });
  if (options.max_duration()) {
    // Known only now that the data set exists: one that counts no tokens cannot end a run in tok.
    try {
      check_trainer_max_duration(*options.max_duration(), train->dataset().counts_tokens());
    } catch (const TimeError& e) {
      throw LocatedConfigError(fmt::format("{}: max_duration: {}", r.child("max_duration").where(), e.what()));
    }
  }
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
  return options.model(model)
      .train_dataloader(train)
      .eval_dataloader(eval)
      .optimizers(optimizers)
      .schedulers(schedulers)
      .callbacks(callbacks)
      .loggers(loggers);
}

}  // namespace tempo::config
