#include "tempo/callbacks/event.h"

#include <fmt/format.h>

#include "tempo/errors/error.h"

namespace tempo {
namespace {

constexpr std::array<const char*, kNumEvents> kNames = {
    "init",
    "before_load",
    "after_load",
    "fit_start",
    "iteration_start",
    "epoch_start",
    "before_dataloader",
    "after_dataloader",
    "batch_start",
    "before_train_batch",
    "before_forward",
    "after_forward",
    "before_loss",
    "after_loss",
    "before_backward",
    "after_backward",
    "after_train_batch",
    "batch_end",
    "batch_checkpoint",
    "epoch_end",
    "epoch_checkpoint",
    "iteration_end",
    "iteration_checkpoint",
    "fit_end",
    "eval_before_all",
    "eval_start",
    "eval_batch_start",
    "eval_before_forward",
    "eval_after_forward",
    "eval_batch_end",
    "eval_end",
    "eval_after_all",
    "eval_standalone_start",
    "eval_standalone_end",
    "predict_start",
    "predict_batch_start",
    "predict_before_forward",
    "predict_after_forward",
    "predict_batch_end",
    "predict_end",
};

}  // namespace

const std::array<Event, kNumEvents>& all_events() {
  static const std::array<Event, kNumEvents> events = [] {
    std::array<Event, kNumEvents> all{};
    for (std::size_t i = 0; i < kNumEvents; ++i) all[i] = static_cast<Event>(i);
    return all;
  }();
  return events;
}

std::string to_string(Event event) { return kNames.at(static_cast<std::size_t>(event)); }

Event parse_event(std::string_view name) {
  for (std::size_t i = 0; i < kNumEvents; ++i) {
    if (name == kNames[i]) return static_cast<Event>(i);
  }
  throw ConfigError(fmt::format("unknown event '{}': expected one of Composer's event names such as "
                                "'fit_start', 'batch_end', 'epoch_checkpoint'",
                                name));
}

}  // namespace tempo
