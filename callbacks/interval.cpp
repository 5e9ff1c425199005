#include "tempo/callbacks/interval.h"

#include <memory>

namespace tempo {

IntervalPredicate Interval::make_scheduler(bool include_end_of_training, bool checkpoint_events,
                                           std::vector<Event> final_events) const {
  if (!is_time()) return std::get<IntervalPredicate>(value_);
  // The scheduler remembers the last batch it fired at; share it between copies of the predicate.
  auto scheduler =
      std::make_shared<IntervalScheduler>(time(), include_end_of_training, checkpoint_events, std::move(final_events));
  return [scheduler](const State& state, Event event) { return (*scheduler)(state, event); };
}

}  // namespace tempo
