// Timestamp: an immutable snapshot of how far training has progressed, counted in every unit at
// once, as Composer's Timestamp. The trainer replaces State's timestamp with to_next_batch(),
// to_next_epoch() and to_next_iteration(); every loop counter lives here so a resumed run
// continues from exactly the saved position.
//
// Invariants: every counter is >= 0; every wall-clock time (seconds, double) is finite and >= 0.
// Throws tempo::TimeError when built from fields that break them, when advancing by a negative
// or non-finite amount or past int64, for get(dur), for a dur/sec/negative/zero max_duration, and
// when compared with a dur Time without a max_duration (use compare/reached with max_duration).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include <fmt/format.h>

#include "tempo/time/time_quantity.h"

namespace tempo {

// Every field of a Timestamp, by Composer's names; what a checkpoint stores and restores.
struct TimestampFields {
  int64_t iteration = 0;
  int64_t epoch = 0;
  int64_t batch = 0;
  int64_t sample = 0;
  int64_t token = 0;
  int64_t epoch_in_iteration = 0;
  int64_t token_in_iteration = 0;
  int64_t batch_in_epoch = 0;
  int64_t sample_in_epoch = 0;
  int64_t token_in_epoch = 0;
  double total_wct = 0;      // seconds since training began
  double iteration_wct = 0;  // seconds in the current iteration
  double epoch_wct = 0;      // seconds in the current epoch
  double batch_wct = 0;      // seconds of the last batch
};

class Timestamp {
 public:
  Timestamp() = default;
  explicit Timestamp(const TimestampFields& fields);  // validates the invariants

  const TimestampFields& fields() const { return f_; }
  int64_t iteration() const { return f_.iteration; }
  int64_t epoch() const { return f_.epoch; }
  int64_t batch() const { return f_.batch; }
  int64_t sample() const { return f_.sample; }
  int64_t token() const { return f_.token; }
  int64_t epoch_in_iteration() const { return f_.epoch_in_iteration; }
  int64_t token_in_iteration() const { return f_.token_in_iteration; }
  int64_t batch_in_epoch() const { return f_.batch_in_epoch; }
  int64_t sample_in_epoch() const { return f_.sample_in_epoch; }
  int64_t token_in_epoch() const { return f_.token_in_epoch; }
  double total_wct() const { return f_.total_wct; }
  double iteration_wct() const { return f_.iteration_wct; }
  double epoch_wct() const { return f_.epoch_wct; }
  double batch_wct() const { return f_.batch_wct; }

  // samples and tokens are the totals over all ranks for the batch, as in Composer.
  Timestamp to_next_batch(int64_t samples, int64_t tokens = 0, double duration_s = 0) const;
  Timestamp to_next_epoch(double duration_s = 0) const;
  Timestamp to_next_iteration(double duration_s = 0) const;

  // The counter for unit; sec is floor(total_wct). dur throws: it needs a max_duration.
  Time get(TimeUnit unit) const;
  // get(max_duration.unit()) / max_duration, Composer's State.get_elapsed_duration().
  double elapsed_fraction(const Time& max_duration) const;

 private:
  TimestampFields f_;
};

bool operator==(const Timestamp& a, const Timestamp& b);  // every field, exactly
inline bool operator!=(const Timestamp& a, const Timestamp& b) { return !(a == b); }

// get(t.unit()) compared with t: -1, 0 or 1. Throws for a dur t.
int compare(const Timestamp& ts, const Time& t);
// As above, and a dur t is compared with elapsed_fraction(max_duration).
int compare(const Timestamp& ts, const Time& t, const Time& max_duration);
inline bool reached(const Timestamp& ts, const Time& t, const Time& max_duration) {
  return compare(ts, t, max_duration) >= 0;
}
inline bool operator==(const Timestamp& ts, const Time& t) { return compare(ts, t) == 0; }
inline bool operator!=(const Timestamp& ts, const Time& t) { return compare(ts, t) != 0; }
inline bool operator<(const Timestamp& ts, const Time& t) { return compare(ts, t) < 0; }
inline bool operator<=(const Timestamp& ts, const Time& t) { return compare(ts, t) <= 0; }
inline bool operator>(const Timestamp& ts, const Time& t) { return compare(ts, t) > 0; }
inline bool operator>=(const Timestamp& ts, const Time& t) { return compare(ts, t) >= 0; }

std::string to_string(const Timestamp& ts);
std::ostream& operator<<(std::ostream& os, const Timestamp& ts);

}  // namespace tempo

template <>
struct fmt::formatter<tempo::Timestamp> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const tempo::Timestamp& ts, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(tempo::to_string(ts), ctx);
  }
};
