// The points of the training loop where callbacks run, in Composer's order and with Composer's
// names (composer/core/event.py). to_string gives the lower_snake name that YAML and logs use;
// parse_event is its inverse and throws ConfigError for an unknown name.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace tempo {

enum class Event {
  INIT,
  BEFORE_LOAD,
  AFTER_LOAD,
  FIT_START,
  ITERATION_START,
  EPOCH_START,
  BEFORE_DATALOADER,
  AFTER_DATALOADER,
  BATCH_START,
  BEFORE_TRAIN_BATCH,
  BEFORE_FORWARD,
  AFTER_FORWARD,
  BEFORE_LOSS,
  AFTER_LOSS,
  BEFORE_BACKWARD,
  AFTER_BACKWARD,
  AFTER_TRAIN_BATCH,
  BATCH_END,
  BATCH_CHECKPOINT,
  EPOCH_END,
  EPOCH_CHECKPOINT,
  ITERATION_END,
  ITERATION_CHECKPOINT,
  FIT_END,
  EVAL_BEFORE_ALL,
  EVAL_START,
  EVAL_BATCH_START,
  EVAL_BEFORE_FORWARD,
  EVAL_AFTER_FORWARD,
  EVAL_BATCH_END,
  EVAL_END,
  EVAL_AFTER_ALL,
  EVAL_STANDALONE_START,
  EVAL_STANDALONE_END,
  PREDICT_START,
  PREDICT_BATCH_START,
  PREDICT_BEFORE_FORWARD,
  PREDICT_AFTER_FORWARD,
  PREDICT_BATCH_END,
  PREDICT_END,
};

inline constexpr std::size_t kNumEvents = static_cast<std::size_t>(Event::PREDICT_END) + 1;

// Every event in declaration order, for iteration and name lookup.
const std::array<Event, kNumEvents>& all_events();

std::string to_string(Event event);
Event parse_event(std::string_view name);

}  // namespace tempo
