#include "tempo/callbacks/interval_scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"

namespace tempo {
namespace {

bool crossed(int64_t previous, int64_t current, int64_t every) {
  return every > 0 && previous / every != current / every;
}

}  // namespace

IntervalScheduler::IntervalScheduler(const Time& interval, bool include_end_of_training, bool checkpoint_events,
                                     std::vector<Event> final_events)
    : interval_(interval),
      include_end_of_training_(include_end_of_training),
      final_events_(std::move(final_events)) {
  if (interval.value() < 0) {
    throw TimeError(fmt::format("interval {} is negative: expected a positive time", to_string(interval)));
  }
  // Zero would never fire, not even at the end: a run that silently saves or evaluates nothing.
  if (interval.value() == 0) {
    throw TimeError(fmt::format("interval {} is zero: expected a positive time, e.g. 1ep or 500ba (no checkpoints: "
                                "leave save_folder empty; no evaluation: no eval_loader)",
                                to_string(interval)));
  }
  switch (interval.unit()) {
    case TimeUnit::EPOCH:
      interval_event_ = checkpoint_events ? Event::EPOCH_CHECKPOINT : Event::EPOCH_END;
      break;
    case TimeUnit::ITERATION:
      interval_event_ = checkpoint_events ? Event::ITERATION_CHECKPOINT : Event::ITERATION_END;
      break;
    default:
      interval_event_ = checkpoint_events ? Event::BATCH_CHECKPOINT : Event::BATCH_END;
  }
}

bool IntervalScheduler::threshold_passed(const State& state) const {
  const auto& previous = *state.previous_timestamp;
  const auto& now = state.timestamp;
  if (interval_.unit() != TimeUnit::DURATION) {
    const auto every = interval_.count();
    return crossed(previous.get(interval_.unit()).count(), now.get(interval_.unit()).count(), every);
  }
  // A fraction of max_duration, counted in max_duration's unit; epochs are counted in batches
  // so that e.g. "0.25dur" of "1ep" fires four times within the epoch.
  const auto& max = *state.max_duration;
  const double fraction = interval_.fraction();
  if (max.unit() == TimeUnit::EPOCH) {
    const auto every = static_cast<int64_t>(std::ceil(max.value() * fraction * state.dataloader_len()));
    return crossed(previous.batch(), now.batch(), every);
  }
  const auto every = static_cast<int64_t>(std::ceil(max.value() * fraction));
  return crossed(previous.get(max.unit()).count(), now.get(max.unit()).count(), every);
}

bool IntervalScheduler::operator()(const State& state, Event event) {
  if (interval_.unit() != TimeUnit::DURATION && interval_.count() <= 0) return false;
  if (interval_.unit() == TimeUnit::DURATION && interval_.fraction() <= 0) return false;
  if (!state.previous_timestamp || !state.max_duration) return false;

  const auto batch = state.timestamp.batch();
  if (batch == last_batch_seen_) return false;
  // Known only once a batch has run: data that counts no tokens would never fire a tok interval.
  if (interval_.unit() == TimeUnit::TOKEN && batch > 0 && state.timestamp.token() == 0) {
    throw TimeError(fmt::format("interval {} is in tokens, but the training data counts none (only token data such "
                                "as text_tokens does): use ep, ba or sp",
                                to_string(interval_)));
  }
  const bool is_final = std::find(final_events_.begin(), final_events_.end(), event) != final_events_.end();
  if (include_end_of_training_ && is_final && state.training_complete()) {
    last_batch_seen_ = batch;
    return true;
  }
  if (event == interval_event_ && threshold_passed(state)) {
    last_batch_seen_ = batch;
    return true;
  }
  return false;
}

}  // namespace tempo
