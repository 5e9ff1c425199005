#include "tempo/state/state.h"

#include <fmt/format.h>
#include <torch/optim/optimizer.h>
#include <torch/version.h>

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>

#include "tempo/data/data_loader.h"
#include "tempo/distributed/communicator.h"
#include "tempo/errors/error.h"
#include "tempo/state/grad_scaler.h"
#include "tempo/state/model.h"
#include "tempo/state/model_state.h"
#include "tempo/state/optimizer_state.h"
#include "tempo/state/rng.h"
#include "tempo/state/scheduler.h"
#include "tempo/state/timestamp_tree.h"
#include "tempo/state/tree.h"
#include "tempo/state/version.h"

namespace tempo {
namespace {


template <typename T, typename NameOf>
std::vector<std::string> unique_names(const std::vector<std::shared_ptr<T>>& items, NameOf name_of) {
  std::vector<std::string> names;
  for (const auto& item : items) {
    const auto base = name_of(*item);
    auto name = base;
    for (int n = 1; std::find(names.begin(), names.end(), name) != names.end(); ++n) {
      name = fmt::format("{}_{}", base, n);
    }
    names.push_back(name);
  }
  return names;
}

// Composer's layout of saved metrics: {name: {"state_dict": accumulators, "_computed": value}}.
c10::IValue metrics_tree(const MetricMap& metrics) {
  auto dict = new_tree_dict();
  for (const auto& [name, metric] : metrics) {
    auto entry = new_tree_dict();
    entry.insert("state_dict", metric->state_dict());
    entry.insert("_computed", metric->update_count() > 0 ? c10::IValue(metric->compute()) : c10::IValue());
    dict.insert(name, entry);
  }
  return dict;
}

// Checks what `value` holds for the metrics of `metrics` and returns the steps that load it.
// Names this run lacks are ignored (as in Composer), and so are plain numbers: older tempo
// checkpoints kept computed values there, with nothing to resume from.
std::vector<std::function<void()>> prepare_metrics_load(const MetricMap& metrics, const c10::IValue& value,
                                                        const std::string& path) {
  std::vector<std::function<void()>> steps;
  if (value.isNone()) return steps;
  auto dict = tree_dict(value, path);
  for (const auto& [name, metric] : metrics) {
    if (!tree_has(dict, name)) continue;
    const auto saved = tree_at(dict, name, path);
    if (saved.isDouble() || saved.isInt()) continue;
    const auto metric_path = tree_join(path, name);
    const auto state_path = tree_join(metric_path, "state_dict");
    const auto tree = tree_at(tree_dict(saved, metric_path), "state_dict", metric_path);
    metric->clone()->load_state_dict(tree, state_path);  // throws here, before anything changes
    steps.push_back([metric = metric, tree, state_path] { metric->load_state_dict(tree, state_path); });
  }
  return steps;
}

}  // namespace

State::State() = default;
State::~State() = default;

std::string State::register_callback_state(const std::string& key, std::shared_ptr<Stateful> stateful) {
  auto taken = [this](const std::string& k) {
    return std::any_of(callback_states_.begin(), callback_states_.end(),
                       [&](const auto& entry) { return entry.first == k; });
  };
  auto unique = key;
  for (int n = 1; taken(unique); ++n) unique = fmt::format("{}_{}", key, n);
  callback_states_.emplace_back(unique, std::move(stateful));
  return unique;
}

void State::request_stop(const std::string& reason) {
  if (stop_requested_) return;
  stop_requested_ = true;
  stop_reason_ = reason;
}

double State::elapsed_fraction() const {
  if (!max_duration) throw ConfigError("max_duration is not set: the elapsed fraction of training is unknown");
  return timestamp.elapsed_fraction(*max_duration);
}

bool State::training_complete() const {
  return stop_requested_ || (max_duration && elapsed_fraction() >= 1.0);
}

int64_t State::dataloader_len() const {
  if (!train_dataloader) return 0;
  const int64_t n = std::max<int64_t>(gradient_accumulation_steps, 1);
  return (train_dataloader->num_batches() + n - 1) / n;
}

c10::IValue State::state_dict() const {
  auto dict = new_tree_dict();
  dict.insert("model", model ? model_state_dict(*model) : c10::IValue(new_tree_dict()));

  auto optimizer_names = unique_names(optimizers, [](const auto& o) { return optimizer_type_name(o); });
  auto optimizers_tree = new_tree_dict();
  for (size_t i = 0; i < optimizers.size(); ++i) {
    optimizers_tree.insert(optimizer_names[i], optimizer_state_dict(*optimizers[i]));
  }
  dict.insert("optimizers", optimizers_tree);

  auto scheduler_names = unique_names(schedulers, [](const Scheduler& s) { return s.name(); });
  auto schedulers_tree = new_tree_dict();
  for (size_t i = 0; i < schedulers.size(); ++i) schedulers_tree.insert(scheduler_names[i], schedulers[i]->state_dict());
  dict.insert("schedulers", schedulers_tree);

  dict.insert("algorithms", c10::impl::GenericList(c10::AnyType::get()));

  auto callbacks_tree = new_tree_dict();
  for (const auto& [key, stateful] : callback_states_) {
    auto value = stateful->state_dict();
    if (!value.isNone()) callbacks_tree.insert(key, value);
  }
  dict.insert("callbacks", callbacks_tree);

  auto scaler_tree = new_tree_dict();  // Composer: {type name: state_dict()} per scaler, {} without one
  if (scaler) scaler_tree.insert("GradScaler", scaler->state_dict());
  dict.insert("scaler", scaler_tree);
  dict.insert("timestamp", timestamp_to_tree(timestamp));
  dict.insert("rank_zero_seed", static_cast<int64_t>(rank_zero_seed));
  // Without save_metrics, empty (Composer leaves the keys out; {} keeps the anatomy fixed).
  dict.insert("train_metrics", save_metrics ? metrics_tree(train_metrics) : c10::IValue(new_tree_dict()));
  auto eval_tree = new_tree_dict();
  if (save_metrics) {
    for (const auto& [label, metrics] : eval_metrics) eval_tree.insert(label, metrics_tree(metrics));
  }
  dict.insert("eval_metrics", eval_tree);
  dict.insert("run_name", run_name);

  auto dataset_state = new_tree_dict();
  if (train_dataloader) {
    auto train = new_tree_dict();
    train.insert("seed", static_cast<int64_t>(train_dataloader->seed()));
    train.insert("epoch", timestamp.epoch());
    train.insert("batch_in_epoch", timestamp.batch_in_epoch());
    // The loader's position in the epoch is batch_in_epoch steps of this many loader batches.
    train.insert("gradient_accumulation_steps", gradient_accumulation_steps);
    // What the samples were prepared with (CsvDataset's standardization), checked on resume.
    const auto prepared = train_dataloader->dataset().state_tensors();
    if (!prepared.empty()) {
      auto tensors = new_tree_dict();
      for (const auto& [name, tensor] : prepared) tensors.insert(name, tensor);
      train.insert("dataset", tensors);
    }
    dataset_state.insert("train", train);
  }
  dict.insert("dataset_state", dataset_state);
  dict.insert("integrations", new_tree_dict());

  auto metadata = new_tree_dict();
  metadata.insert("tempo_version", kTempoVersion);
  metadata.insert("torch_version", TORCH_VERSION);
  if (model) {
    for (const auto& [key, value] : model->checkpoint_metadata()) metadata.insert(key, value);
  }
  dict.insert("metadata", metadata);
  return dict;
}

std::string State::load_state_dict(const c10::IValue& tree, const StateLoadOptions& options) {
  const std::string root = "state";
  auto dict = tree_dict(tree, root);
  if (!model) throw CheckpointError("cannot load a state tree: the run has no model");
  // Sections may be absent (dropped by load_ignore_keys, or never saved, as in a weights-only
  // file): what is absent keeps its current value, as in Composer.
  if (options.weights_only && !tree_has(dict, "model")) {
    throw CheckpointError("state tree: 'state/model' is missing, so there are no weights to load");
  }

  // Check every part and prepare its new value; apply only when all of them fit.
  std::vector<std::function<void()>> apply;
  std::string report;
  if (tree_has(dict, "model")) {
    const auto model_tree = tree_at(dict, "model", root);
    report = check_model_state_dict(*model, model_tree, "state/model", options.strict_model_weights);
    apply.push_back([this, model_tree, strict = options.strict_model_weights] {
      load_model_state_dict(*model, model_tree, "state/model", strict);
    });
  }
  if (options.weights_only) {
    for (auto& step : apply) step();
    return report;
  }

  if (tree_has(dict, "optimizers")) {
    auto saved = tree_dict(tree_at(dict, "optimizers", root), "state/optimizers");
    auto names = unique_names(optimizers, [](const auto& o) { return optimizer_type_name(o); });
    if (saved.size() != 0 && saved.size() != optimizers.size()) {
      throw CheckpointError(fmt::format("state tree: 'state/optimizers' holds {} optimizers but the run has {}",
                                        saved.size(), optimizers.size()));
    }
    // Composer names parameters where PyTorch numbers them.
    std::unordered_map<const void*, std::string> parameter_names;
    for (const auto& item : model->named_parameters()) parameter_names[item.value().unsafeGetTensorImpl()] = item.key();
    const ParameterNames name_of = [&parameter_names](const at::Tensor& parameter) {
      const auto it = parameter_names.find(parameter.unsafeGetTensorImpl());
      return it == parameter_names.end() ? std::string() : it->second;
    };
    for (size_t i = 0; i < optimizers.size() && saved.size() != 0; ++i) {
      const auto path = "state/optimizers/" + names[i];
      apply.push_back(
          prepare_optimizer_load(*optimizers[i], tree_at(saved, names[i], "state/optimizers"), path, name_of));
    }
  }

  if (tree_has(dict, "schedulers")) {
    auto saved = tree_dict(tree_at(dict, "schedulers", root), "state/schedulers");
    auto names = unique_names(schedulers, [](const Scheduler& s) { return s.name(); });
    for (size_t i = 0; i < schedulers.size(); ++i) {
      if (!tree_has(saved, names[i])) continue;
      auto value = tree_at(saved, names[i], "state/schedulers");
      apply.push_back([s = schedulers[i], value] { s->load_state_dict(value); });
    }
  }

  if (tree_has(dict, "callbacks")) {
    auto saved = tree_dict(tree_at(dict, "callbacks", root), "state/callbacks");
    for (const auto& [key, stateful] : callback_states_) {
      if (!tree_has(saved, key)) continue;  // a callback new to this run starts fresh
      auto value = tree_at(saved, key, "state/callbacks");
      apply.push_back([s = stateful, value] { s->load_state_dict(value); });
    }
  }

  if (tree_has(dict, "scaler") && scaler) {
    // None or {} (no scaler, or PyTorch's disabled one): the run keeps its fresh scaler. A run
    // without a scaler ignores a saved one (resuming an amp_fp16 run in fp32 or bf16).
    // Composer keys it by class: {'ClosureGradScaler': {}} is its CPU stand-in, with no state.
    const auto value = tree_at(dict, "scaler", root);
    if (!value.isNone()) {
      auto saved = tree_dict(value, "state/scaler");
      const bool stateless = saved.size() == 1 && tree_has(saved, "ClosureGradScaler") &&
                             tree_dict(saved.at("ClosureGradScaler"), "state/scaler/ClosureGradScaler").size() == 0;
      if (!stateless && (saved.size() > 1 || (saved.size() == 1 && !tree_has(saved, "GradScaler")))) {
        throw CheckpointError(
            "state tree: 'state/scaler' should be {}, {'GradScaler': {...}} or Composer's {'ClosureGradScaler': {}}");
      }
      if (!stateless && saved.size() == 1 && tree_dict(saved.at("GradScaler"), "state/scaler/GradScaler").size() != 0) {
        auto loaded = std::make_shared<GradScaler>(*scaler);
        loaded->load_state_dict(saved.at("GradScaler"), "state/scaler/GradScaler");
        apply.push_back([this, loaded] { *scaler = *loaded; });
      }
    }
  }
  if (tree_has(dict, "timestamp")) {
    auto loaded = timestamp_from_tree(tree_at(dict, "timestamp", root), "state/timestamp");
    apply.push_back([this, loaded] {
      timestamp = loaded;
      previous_timestamp.reset();
    });
  }
  if (tree_has(dict, "rank_zero_seed")) {
    auto seed = tree_int(dict, "rank_zero_seed", root);
    apply.push_back([this, seed] { rank_zero_seed = static_cast<uint64_t>(seed); });
  }
  if (tree_has(dict, "train_metrics")) {
    for (auto& step : prepare_metrics_load(train_metrics, tree_at(dict, "train_metrics", root), "state/train_metrics")) {
      apply.push_back(std::move(step));
    }
  }
  if (tree_has(dict, "eval_metrics")) {
    const auto value = tree_at(dict, "eval_metrics", root);
    if (!value.isNone()) {
      auto saved = tree_dict(value, "state/eval_metrics");
      for (const auto& [label, metrics] : eval_metrics) {
        if (!tree_has(saved, label)) continue;
        const auto path = tree_join("state/eval_metrics", label);
        for (auto& step : prepare_metrics_load(metrics, tree_at(saved, label, "state/eval_metrics"), path)) {
          apply.push_back(std::move(step));
        }
      }
    }
  }
  if (tree_has(dict, "dataset_state") && train_dataloader) {
    auto dataset_state = tree_dict(tree_at(dict, "dataset_state", root), "state/dataset_state");
    // None: Composer's file for a dataset without state_dict(); the run's data seed stays.
    if (tree_has(dataset_state, "train") && !tree_at(dataset_state, "train", "state/dataset_state").isNone()) {
      const std::string path = "state/dataset_state/train";
      auto train_state = tree_dict(tree_at(dataset_state, "train", "state/dataset_state"), path);
      auto data_seed = static_cast<uint64_t>(tree_int(train_state, "seed", path));
      apply.push_back([this, data_seed] { train_dataloader->set_seed(data_seed); });
      // Checked before anything is applied; a checkpoint without the entry (older, or saved with a
      // dataset that has none) is not checked.
      if (tree_has(train_state, "dataset")) {
        const auto tensors_path = tree_join(path, "dataset");
        const auto tensors = tree_dict(tree_at(train_state, "dataset", path), tensors_path);
        std::map<std::string, at::Tensor> saved;
        for (const auto& entry : tensors) {
          if (!entry.key().isString()) throw CheckpointError(tensors_path + ": a key is not a string");
          const auto name = entry.key().toStringRef();
          saved.emplace(name, tree_tensor(tensors, name, tensors_path));
        }
        train_dataloader->dataset().check_state_tensors(saved, tensors_path);
      }
      // Resuming mid-epoch with another number of loader batches per step would start the
      // epoch's rest at another loader batch: samples skipped or trained twice.
      if (tree_has(train_state, "gradient_accumulation_steps") && tree_has(dict, "timestamp")) {
        const int64_t saved_steps = tree_int(train_state, "gradient_accumulation_steps", path);
        const auto saved_time = timestamp_from_tree(tree_at(dict, "timestamp", root), "state/timestamp");
        const int64_t loader_batches = train_dataloader->num_batches();
        auto position = [&](int64_t steps) { return std::min(saved_time.batch_in_epoch() * steps, loader_batches); };
        if (position(saved_steps) != position(gradient_accumulation_steps)) {
          throw CheckpointError(fmt::format(
              "{}: the checkpoint stopped {} steps into epoch {} with gradient_accumulation_steps {}, but this run has "
              "{}, which would resume the epoch at another loader batch (samples skipped or trained twice): resume "
              "with gradient_accumulation_steps {}, or from a checkpoint taken between epochs (batch_in_epoch 0, as a "
              "save_interval in ep saves them)",
              path, saved_time.batch_in_epoch(), saved_time.epoch(), saved_steps, gradient_accumulation_steps,
              saved_steps));
        }
      }
    }
  }

  for (auto& step : apply) step();
  return report;
}

void State::gather_rng() {
  if (!comm || world_size == 1) return;
  // Python's and NumPy's states follow from each rank's seed (state/rng.h); the torch (and CUDA)
  // generators' states are gathered.
  const auto mine = rng_state_dict(rank_zero_seed + static_cast<uint64_t>(rank)).toGenericDict();
  const auto torch_states =
      comm->all_gather(mine.at("torch").toTensor(), "gathering every rank's RNG state for a checkpoint");
  std::vector<std::vector<at::Tensor>> cuda_states;  // per device, per rank
  if (mine.contains("cuda")) {
    for (const auto& device_state : mine.at("cuda").toList()) {
      cuda_states.push_back(
          comm->all_gather(device_state.get().toTensor(), "gathering every rank's CUDA RNG state for a checkpoint"));
    }
  }
  c10::impl::GenericList rng(c10::AnyType::get());
  for (int64_t r = 0; r < world_size; ++r) {
    auto entry = rng_state_dict(rank_zero_seed + static_cast<uint64_t>(r)).toGenericDict();
    entry.insert_or_assign("torch", torch_states[static_cast<size_t>(r)]);
    if (!cuda_states.empty()) {
      c10::impl::GenericList cuda(c10::AnyType::get());
      for (const auto& per_rank : cuda_states) cuda.push_back(per_rank[static_cast<size_t>(r)]);
      entry.insert_or_assign("cuda", cuda);
    }
    rng.push_back(entry);
  }
  gathered_rng_ = rng;
  gathered_batch_ = timestamp.batch();
}

c10::impl::GenericList State::checkpoint_rng() const {
  if (!comm || world_size == 1) {
    c10::impl::GenericList rng(c10::AnyType::get());
    rng.push_back(rng_state_dict(rank_zero_seed + static_cast<uint64_t>(rank)));
    return rng;
  }
  if (!gathered_rng_ || gathered_batch_ != timestamp.batch()) {
    throw CheckpointError(fmt::format(
        "a checkpoint of batch {} on rank {} of {} needs every rank's RNG state: call State::gather_rng() on every "
        "rank first (CheckpointSaver does)", timestamp.batch(), rank, world_size));
  }
  return gathered_rng_->toList();
}

}  // namespace tempo
