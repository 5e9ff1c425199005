// How often something periodic happens, in any of the forms Composer accepts for eval_interval
// and save_interval: a time string ("1ep", "500ba", "0.25dur"), a Time, a bare integer of
// epochs, or a predicate (State, Event) -> bool. make_scheduler() turns it into the predicate
// the trainer or a callback calls at every event.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "tempo/callbacks/interval_scheduler.h"

namespace tempo {

class Interval {
 public:
  Interval(const Time& time) : value_(time) {}                       // NOLINT: implicit by design
  Interval(const std::string& text) : value_(Time::parse(text)) {}   // NOLINT
  Interval(const char* text) : value_(Time::parse(text)) {}          // NOLINT
  Interval(int epochs) : value_(Time(epochs, TimeUnit::EPOCH)) {}    // NOLINT
  Interval(int64_t epochs) : value_(Time(epochs, TimeUnit::EPOCH)) {}  // NOLINT
  Interval(IntervalPredicate predicate) : value_(std::move(predicate)) {}  // NOLINT

  bool is_time() const { return std::holds_alternative<Time>(value_); }
  const Time& time() const { return std::get<Time>(value_); }

  IntervalPredicate make_scheduler(bool include_end_of_training, bool checkpoint_events,
                                   std::vector<Event> final_events) const;

 private:
  std::variant<Time, IntervalPredicate> value_;
};

}  // namespace tempo
