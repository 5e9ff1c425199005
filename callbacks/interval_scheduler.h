// Decides at which events something periodic happens (a checkpoint, an evaluation), exactly as
// Composer's create_interval_scheduler does: an "ep" interval fires at EPOCH_CHECKPOINT (or
// EPOCH_END), "iter" at ITERATION_*, and "ba", "sp", "tok", "sec" and "dur" at BATCH_CHECKPOINT
// (or BATCH_END), whenever the elapsed count crosses a multiple of the interval between the
// previous timestamp and this one (a crossing, not a modulo test, so batches of uneven size
// cannot skip a save). With include_end_of_training it also fires once at the end of training
// (at one of final_events), but never twice for the same batch.
#pragma once

#include <functional>
#include <vector>

#include "tempo/callbacks/event.h"
#include "tempo/time/time_quantity.h"

namespace tempo {

class State;

using IntervalPredicate = std::function<bool(const State&, Event)>;

class IntervalScheduler {
 public:
  // Throws TimeError for an interval that is negative or zero (it would never fire). An interval
  // in tokens fires only for data that counts them (Batch::num_tokens).
  explicit IntervalScheduler(const Time& interval, bool include_end_of_training = true,
                             bool checkpoint_events = true,
                             std::vector<Event> final_events = {Event::BATCH_CHECKPOINT, Event::EPOCH_CHECKPOINT});

  bool operator()(const State& state, Event event);

  const Time& interval() const { return interval_; }
  Event interval_event() const { return interval_event_; }

 private:
  bool threshold_passed(const State& state) const;

  Time interval_;
  bool include_end_of_training_;
  Event interval_event_;
  std::vector<Event> final_events_;
  int64_t last_batch_seen_ = -1;
};

}  // namespace tempo
