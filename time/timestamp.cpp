#include "tempo/time/timestamp.h"

#include <cmath>
#include <ostream>

#include <fmt/format.h>

#include "tempo/errors/error.h"

namespace tempo {
namespace {

void check_counter(const char* name, int64_t v) {
  if (v < 0) throw TimeError(fmt::format("Timestamp field {} is {}: counters cannot be negative", name, v));
}

void check_seconds(const char* name, double v) {
  if (!(std::isfinite(v) && v >= 0)) {
    throw TimeError(fmt::format("Timestamp field {} is {}: wall-clock seconds must be finite and >= 0",
                                name, v));
  }
}

int64_t add(const char* name, int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    throw TimeError(fmt::format("advancing Timestamp field {} from {} by {} overflows int64", name, a, b));
  }
  return r;
}

void check_advance(const char* what, double duration_s) {
  if (!(std::isfinite(duration_s) && duration_s >= 0)) {
    throw TimeError(fmt::format("{}: duration_s must be finite and >= 0, got {}", what, duration_s));
  }
}

template <typename T>
int sign_of_difference(T a, T b) {
  return (a > b) - (a < b);
}

}  // namespace

Timestamp::Timestamp(const TimestampFields& f) : f_(f) {
  check_counter("iteration", f.iteration);
  check_counter("epoch", f.epoch);
  check_counter("batch", f.batch);
  check_counter("sample", f.sample);
  check_counter("token", f.token);
  check_counter("epoch_in_iteration", f.epoch_in_iteration);
  check_counter("token_in_iteration", f.token_in_iteration);
  check_counter("batch_in_epoch", f.batch_in_epoch);
  check_counter("sample_in_epoch", f.sample_in_epoch);
  check_counter("token_in_epoch", f.token_in_epoch);
  check_seconds("total_wct", f.total_wct);
  check_seconds("iteration_wct", f.iteration_wct);
  check_seconds("epoch_wct", f.epoch_wct);
  check_seconds("batch_wct", f.batch_wct);
}

Timestamp Timestamp::to_next_batch(int64_t samples, int64_t tokens, double duration_s) const {
  if (samples < 0 || tokens < 0) {
    throw TimeError(fmt::format("to_next_batch: samples ({}) and tokens ({}) cannot be negative",
                                samples, tokens));
  }
  check_advance("to_next_batch", duration_s);
  TimestampFields n = f_;
  n.batch = add("batch", f_.batch, 1);
  n.batch_in_epoch = add("batch_in_epoch", f_.batch_in_epoch, 1);
  n.sample = add("sample", f_.sample, samples);
  n.sample_in_epoch = add("sample_in_epoch", f_.sample_in_epoch, samples);
  n.token = add("token", f_.token, tokens);
  n.token_in_epoch = add("token_in_epoch", f_.token_in_epoch, tokens);
  n.token_in_iteration = add("token_in_iteration", f_.token_in_iteration, tokens);
  n.total_wct += duration_s;
  n.iteration_wct += duration_s;
  n.epoch_wct += duration_s;
  n.batch_wct = duration_s;
  return Timestamp(n);
}

// As in Composer, epoch_wct and batch_wct restart at 0: they describe the epoch that begins now,
// while duration_s belongs to the one that just ended and so only enters the running totals.
Timestamp Timestamp::to_next_epoch(double duration_s) const {
  check_advance("to_next_epoch", duration_s);
  TimestampFields n = f_;
  n.epoch = add("epoch", f_.epoch, 1);
  n.epoch_in_iteration = add("epoch_in_iteration", f_.epoch_in_iteration, 1);
  n.batch_in_epoch = n.sample_in_epoch = n.token_in_epoch = 0;
  n.total_wct += duration_s;
  n.iteration_wct += duration_s;
  n.epoch_wct = n.batch_wct = 0;
  return Timestamp(n);
}

Timestamp Timestamp::to_next_iteration(double duration_s) const {
  check_advance("to_next_iteration", duration_s);
  TimestampFields n = f_;
  n.iteration = add("iteration", f_.iteration, 1);
  n.epoch_in_iteration = n.token_in_iteration = 0;
  n.batch_in_epoch = n.sample_in_epoch = n.token_in_epoch = 0;
  n.total_wct += duration_s;
  n.iteration_wct = n.epoch_wct = n.batch_wct = 0;
  return Timestamp(n);
}

Time Timestamp::get(TimeUnit unit) const {
  switch (unit) {
    case TimeUnit::ITERATION: return Time::from_iteration(f_.iteration);
    case TimeUnit::EPOCH: return Time::from_epoch(f_.epoch);
    case TimeUnit::BATCH: return Time::from_batch(f_.batch);
    case TimeUnit::SAMPLE: return Time::from_sample(f_.sample);
    case TimeUnit::TOKEN: return Time::from_token(f_.token);
    case TimeUnit::SECOND: {
      // Beyond 2^63 seconds the double no longer fits; the invariants keep it finite, not small.
      double s = std::floor(f_.total_wct);
      if (s >= 9223372036854775808.0) throw TimeError(fmt::format("total_wct {} overflows int64", s));
      return Time::from_second(static_cast<int64_t>(s));
    }
    case TimeUnit::DURATION: break;
  }
  throw TimeError("Timestamp::get(dur) needs max_duration: use elapsed_fraction(max_duration)");
}

double Timestamp::elapsed_fraction(const Time& max_duration) const {
  check_max_duration(max_duration);  // a positive count
  return static_cast<double>(get(max_duration.unit()).count()) /
         static_cast<double>(max_duration.count());
}

bool operator==(const Timestamp& a, const Timestamp& b) {
  const TimestampFields& x = a.fields();
  const TimestampFields& y = b.fields();
  return x.iteration == y.iteration && x.epoch == y.epoch && x.batch == y.batch &&
         x.sample == y.sample && x.token == y.token &&
         x.epoch_in_iteration == y.epoch_in_iteration &&
         x.token_in_iteration == y.token_in_iteration && x.batch_in_epoch == y.batch_in_epoch &&
         x.sample_in_epoch == y.sample_in_epoch && x.token_in_epoch == y.token_in_epoch &&
         x.total_wct == y.total_wct && x.iteration_wct == y.iteration_wct &&
         x.epoch_wct == y.epoch_wct && x.batch_wct == y.batch_wct;
}

int compare(const Timestamp& ts, const Time& t) {
  if (t.is_duration()) {
    throw TimeError(fmt::format(
        "cannot compare a Timestamp with {} without knowing max_duration: use "
        "compare(timestamp, time, max_duration) or reached(timestamp, time, max_duration)",
        t));
  }
  return compare(ts.get(t.unit()), t);
}

int compare(const Timestamp& ts, const Time& t, const Time& max_duration) {
  if (!t.is_duration()) return compare(ts, t);
  return sign_of_difference(ts.elapsed_fraction(max_duration), t.fraction());
}

std::string to_string(const Timestamp& ts) {
  const TimestampFields& f = ts.fields();
  return fmt::format(
      "Timestamp(iteration={}, epoch={}, batch={}, sample={}, token={}, epoch_in_iteration={}, "
      "token_in_iteration={}, batch_in_epoch={}, sample_in_epoch={}, token_in_epoch={}, "
      "total_wct={}s, iteration_wct={}s, epoch_wct={}s, batch_wct={}s)",
      f.iteration, f.epoch, f.batch, f.sample, f.token, f.epoch_in_iteration, f.token_in_iteration,
      f.batch_in_epoch, f.sample_in_epoch, f.token_in_epoch, f.total_wct, f.iteration_wct,
      f.epoch_wct, f.batch_wct);
}

std::ostream& operator<<(std::ostream& os, const Timestamp& ts) { return os << to_string(ts); }

}  // namespace tempo
