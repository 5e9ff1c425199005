// The time arithmetic of Composer's schedulers (composer/optim/scheduler.py), in one place:
//   convert_schedule_time() is Composer's _convert_time: "dur" becomes a count in max_duration's
//   unit (batches when max_duration is in epochs: int(fraction * batches_per_epoch *
//   max_epochs)) and is not scaled; "ep" becomes batches (epochs are too coarse to scale); every
//   other unit is scaled by the scale schedule ratio as int(count * ssr), truncating as Python's
//   int() does. The result is never in ep, dur or sec.
//   elapsed() is state.timestamp.get(unit) as a count.
//   TimeArg lets options take "1dur" as well as a Time.
// Throws ConfigError naming the scheduler and the argument ("StepScheduler: step_size"): for a
// time in sec (wall-clock time is not an allowed unit) or a negative one (check_schedule_time),
// when max_duration is unset, or when an epoch or a dur time over epochs needs the length of an
// epoch and the run has no train dataloader.
#pragma once

#include <cstdint>
#include <string>

#include "tempo/time/time_quantity.h"

namespace tempo {

class State;

// A Time, or a Composer time string parsed on the spot (TimeError for a malformed one).
struct TimeArg {
  TimeArg(const Time& t) : time(t) {}                                  // NOLINT: implicit on purpose
  TimeArg(const std::string& s) : time(Time::parse(s)) {}              // NOLINT
  TimeArg(const char* s) : time(Time::parse(s)) {}                     // NOLINT
  Time time;
};

// A chained Time setter that also takes a string: .t_max("1dur"), .t_max(Time(10, TimeUnit::BATCH)).
#define TEMPO_TIME_ARG(name)                                   \
 public:                                                       \
  inline auto name(const ::tempo::TimeArg& new_##name)->decltype(*this) { \
    this->name##_ = new_##name.time;                           \
    return *this;                                              \
  }                                                            \
  inline const ::tempo::Time& name() const noexcept { return this->name##_; } \
  inline ::tempo::Time& name() noexcept { return this->name##_; }             \
                                                               \
 private:                                                      \
  ::tempo::Time name##_

// Rejects sec and negative times; with allow_zero false also zero ones. `what` names the
// scheduler and argument.
void check_schedule_time(const Time& time, const std::string& what, bool allow_zero = true);

// Composer's _convert_time (see the top of this file).
Time convert_schedule_time(const Time& time, const State& state, double ssr, const std::string& what);

// state.timestamp.get(unit).count(); unit is never ep or dur after convert_schedule_time.
int64_t elapsed(const State& state, TimeUnit unit);

// a / b as Python's int / int: exact operands (below 2^53), one rounding.
inline double ratio(int64_t a, int64_t b) { return static_cast<double>(a) / static_cast<double>(b); }

// Composer's _cosine_anneal: cos on [0, pi] stretched to x in [0, 1] (clipped) and y in [min_y, max_y].
double cosine_anneal(double x, double min_y, double max_y = 1.0);

}  // namespace tempo
