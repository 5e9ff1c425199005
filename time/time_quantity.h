// Time: an amount of training time or a point in training, as a number and a TimeUnit ("10ep",
// "500ba", "1e6tok", "0.5dur", "90sec"). Schedules, intervals and max_duration are all Times.
//
// Invariants: iter/ep/ba/sp/tok/sec hold an exact int64 count; dur holds a finite double fraction
// of max_duration. Negative values can come from constructors and arithmetic (as in Composer), but
// parse() accepts only non-negative values.
// Throws tempo::TimeError for: malformed time strings (the message quotes the string and lists the
// accepted forms), arithmetic or comparison across different units, int64 overflow, division by
// zero, non-finite fractions, and asking a dur Time for count() or an integral one for fraction().
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include "tempo/time/time_unit.h"

namespace tempo {

class Time {
 public:
  // 0ep, the same as the bare time string "0"; exists so Time can sit in structs and containers.
  Time() = default;
  // A count in any unit; for dur the integer becomes the fraction (Time(1, DURATION) is "1dur").
  Time(int64_t value, TimeUnit unit);
  // A fractional count is almost always a bug, so it does not compile; use from_duration for dur.
  template <typename F, std::enable_if_t<std::is_floating_point_v<F>, int> = 0>
  Time(F value, TimeUnit unit) = delete;

  static Time from_iteration(int64_t n) { return Time(n, TimeUnit::ITERATION); }
  static Time from_epoch(int64_t n) { return Time(n, TimeUnit::EPOCH); }
  static Time from_batch(int64_t n) { return Time(n, TimeUnit::BATCH); }
  static Time from_sample(int64_t n) { return Time(n, TimeUnit::SAMPLE); }
  static Time from_token(int64_t n) { return Time(n, TimeUnit::TOKEN); }
  static Time from_second(int64_t n) { return Time(n, TimeUnit::SECOND); }
  static Time from_duration(double fraction);  // throws unless finite
  // Composer's time strings, strictly: see the top of time_quantity.cpp for the grammar.
  static Time parse(std::string_view s);

  TimeUnit unit() const { return unit_; }
  bool is_duration() const { return unit_ == TimeUnit::DURATION; }
  double value() const;    // the number in either representation
  int64_t count() const;   // integral units only
  double fraction() const; // dur only

 private:
  TimeUnit unit_ = TimeUnit::EPOCH;
  int64_t count_ = 0;
  double fraction_ = 0.0;
};

// Arithmetic needs one unit on both sides, except that a dur factor scales the other operand
// (Time(10, EPOCH) * Time::from_duration(0.5) == 5ep) and Time / Time gives a dur ratio.
// % takes the sign of the divisor, as Python's does in Composer.
Time operator+(const Time& a, const Time& b);
Time operator-(const Time& a, const Time& b);
Time operator%(const Time& a, const Time& b);
Time operator-(const Time& t);
Time operator*(const Time& a, const Time& b);
Time operator/(const Time& a, const Time& b);

// Scaling keeps the unit. An integer factor or divisor is exact; a floating one goes through
// double and truncates toward zero for integral units, as Composer's int() does.
Time scale(const Time& t, int64_t k);
Time scale(const Time& t, double k);
Time divide(const Time& t, int64_t k);
Time divide(const Time& t, double k);
namespace detail {
template <typename N>
using EnableIfNumber = std::enable_if_t<std::is_arithmetic_v<N> && !std::is_same_v<N, bool>, int>;
}  // namespace detail
template <typename N, detail::EnableIfNumber<N> = 0>
Time operator*(const Time& t, N k) {
  if constexpr (std::is_integral_v<N>) return scale(t, static_cast<int64_t>(k));
  else return scale(t, static_cast<double>(k));
}
template <typename N, detail::EnableIfNumber<N> = 0>
Time operator*(N k, const Time& t) { return t * k; }
template <typename N, detail::EnableIfNumber<N> = 0>
Time operator/(const Time& t, N k) {
  if constexpr (std::is_integral_v<N>) return divide(t, static_cast<int64_t>(k));
  else return divide(t, static_cast<double>(k));
}

// -1, 0 or 1; throws TimeError when the units differ, so every operator below does too.
int compare(const Time& a, const Time& b);
inline bool operator==(const Time& a, const Time& b) { return compare(a, b) == 0; }
inline bool operator!=(const Time& a, const Time& b) { return compare(a, b) != 0; }
inline bool operator<(const Time& a, const Time& b) { return compare(a, b) < 0; }
inline bool operator<=(const Time& a, const Time& b) { return compare(a, b) <= 0; }
inline bool operator>(const Time& a, const Time& b) { return compare(a, b) > 0; }
inline bool operator>=(const Time& a, const Time& b) { return compare(a, b) >= 0; }

// A training run must end at a countable point: rejects dur, sec, zero and negative values.
void check_max_duration(const Time& max_duration);

// "10ep", "0.5dur", "45sec": parse(to_string(t)) == t for every non-negative t.
std::string to_string(const Time& t);
std::ostream& operator<<(std::ostream& os, const Time& t);

}  // namespace tempo

template <>
struct fmt::formatter<tempo::Time> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const tempo::Time& t, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(tempo::to_string(t), ctx);
  }
};
