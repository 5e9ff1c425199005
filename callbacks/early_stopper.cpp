#include "tempo/callbacks/early_stopper.h"

#include <fmt/format.h>

#include <cmath>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"
#include "tempo/state/tree.h"

namespace tempo {

EarlyStopper::EarlyStopper(std::string monitor, std::string dataloader_label, std::string comparator, double min_delta,
                           Time patience)
    : EarlyStopper(EarlyStopperOptions(std::move(monitor), std::move(dataloader_label))
                       .comparator(std::move(comparator))
                       .min_delta(min_delta)
                       .patience(patience)) {}

EarlyStopper::EarlyStopper(EarlyStopperOptions options)
    : monitor_(options.monitor(), options.dataloader_label(), options.comparator(), "EarlyStopper"),
      min_delta_(std::abs(options.min_delta())),
      patience_(options.patience()) {
  if (patience_.unit() != TimeUnit::EPOCH && patience_.unit() != TimeUnit::BATCH) {
    throw ConfigError(fmt::format("EarlyStopper: patience '{}' must be in epochs (\"ep\") or batches (\"ba\")",
                                  to_string(patience_)));
  }
}

void EarlyStopper::on_eval_end(State& state, Logger&) {
  if (state.dataloader_label == monitor_.dataloader_label()) update(state);
}
void EarlyStopper::on_epoch_end(State& state, Logger&) {
  if (state.dataloader_label == monitor_.dataloader_label()) update(state);
}
void EarlyStopper::on_batch_end(State& state, Logger&) {
  if (patience_.unit() == TimeUnit::BATCH && state.dataloader_label == monitor_.dataloader_label()) update(state);
}

void EarlyStopper::update(State& state) {
  const double value = monitor_.value(state);
  if (!best_ || (monitor_.better(value, *best_) && std::abs(value - *best_) > min_delta_)) {
    best_ = value;
    best_epoch_ = state.timestamp.epoch();
    best_batch_ = state.timestamp.batch();
  }
  const bool epochs = patience_.unit() == TimeUnit::EPOCH;
  const int64_t since = epochs ? state.timestamp.epoch() - best_epoch_ : state.timestamp.batch() - best_batch_;
  if (since > patience_.count()) {
    state.request_stop(fmt::format("EarlyStopper: {} of '{}' has not improved on {} for {} {} (patience {})",
                                   monitor_.monitor(), monitor_.dataloader_label(), *best_, since,
                                   epochs ? "epochs" : "batches", to_string(patience_)));
  }
}

c10::IValue EarlyStopper::state_dict() const {
  auto dict = new_tree_dict();
  dict.insert("best", best_ ? c10::IValue(*best_) : c10::IValue());
  dict.insert("best_epoch", best_epoch_);
  dict.insert("best_batch", best_batch_);
  return dict;
}

void EarlyStopper::load_state_dict(const c10::IValue& state) {
  const std::string path = "state/callbacks/" + name();
  auto dict = tree_dict(state, path);
  const auto best = tree_at(dict, "best", path);
  std::optional<double> loaded;
  if (!best.isNone()) loaded = tree_double(dict, "best", path);
  const auto epoch = tree_int(dict, "best_epoch", path);
  const auto batch = tree_int(dict, "best_batch", path);
  best_ = loaded;
  best_epoch_ = epoch;
  best_batch_ = batch;
}

}  // namespace tempo
