#include "tempo/optim/schedule_time.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"

namespace tempo {
namespace {

int64_t truncate(double value, const std::string& what) {
  if (!std::isfinite(value) || std::fabs(value) >= 9.2e18) {
    throw ConfigError(fmt::format("{}: converted time {} does not fit in 64 bits", what, value));
  }
  return static_cast<int64_t>(value);  // toward zero, as Python's int()
}

int64_t batches_per_epoch(const State& state, const Time& time, const std::string& what) {
  const int64_t n = state.dataloader_len();
  if (n <= 0) {
    throw ConfigError(fmt::format("{}: cannot convert {} to batches: the run has no train dataloader with batches",
                                  what, time));
  }
  return n;
}

}  // namespace

void check_schedule_time(const Time& time, const std::string& what, bool allow_zero) {
  if (time.unit() == TimeUnit::SECOND) {
    throw ConfigError(fmt::format("{}: wall-clock time ({}) is not an allowed unit for a schedule; use ep, ba, sp, "
                                  "tok, iter or dur", what, time));
  }
  if (time.value() < 0 || (!allow_zero && time.value() == 0)) {
    throw ConfigError(fmt::format("{}: expected a time {} 0, got {}", what, allow_zero ? ">=" : ">", time));
  }
}

Time convert_schedule_time(const Time& time, const State& state, double ssr, const std::string& what) {
  check_schedule_time(time, what);
  if (!state.max_duration) {
    throw ConfigError(fmt::format("{}: max_duration must be set when the trainer is built: Composer's schedulers are "
                                  "evaluated from the start, and {} is relative to it", what, time));
  }
  const Time& max_duration = *state.max_duration;
  if (time.is_duration()) {
    if (max_duration.unit() == TimeUnit::EPOCH) {
      const auto n = batches_per_epoch(state, time, what);
      return Time(truncate(time.fraction() * static_cast<double>(n) * static_cast<double>(max_duration.count()), what),
                  TimeUnit::BATCH);
    }
    return Time(truncate(time.fraction() * static_cast<double>(max_duration.count()), what), max_duration.unit());
  }
  Time t = time;
  if (t.unit() == TimeUnit::EPOCH) {
    const auto n = batches_per_epoch(state, time, what);
    int64_t batches = 0;
    if (__builtin_mul_overflow(t.count(), n, &batches)) {
      throw ConfigError(fmt::format("{}: {} in batches does not fit in 64 bits", what, time));
    }
    t = Time(batches, TimeUnit::BATCH);
  }
  return Time(truncate(static_cast<double>(t.count()) * ssr, what), t.unit());
}

int64_t elapsed(const State& state, TimeUnit unit) { return state.timestamp.get(unit).count(); }

double cosine_anneal(double x, double min_y, double max_y) {
  x = std::min(std::max(x, 0.0), 1.0);
  return min_y + (max_y - min_y) * (1 + std::cos(x * M_PI)) / 2;
}

}  // namespace tempo
