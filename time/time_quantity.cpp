// Time string grammar (Composer's, made strict):
//   <digits>                      epochs ("10")
//   [<d>h][<d>m][<d>s]            wall-clock seconds, at least one part, lower case, in this order,
//                                 minutes and seconds 0..59 ("1h30m", "45s", "1h0m30s")
//   <number><unit>                unit iter|ep|ba|sp|tok|dur|sec in any case; number is
//                                 digits[.digits][e[+-]digits] (".5" and "5." too), and must be a
//                                 whole number for every unit except dur ("1e6tok", "0.5dur")
// Digit separators as in Composer, whose parser is Python's float(): in a bare integer and in the
// number before a unit, a single '_' may stand between two digits, in the whole part, the fraction
// and the exponent alike ("4_000tok", "3_0e10sp", "1e1_0tok", "0.2_5dur"); nowhere else.
// No sign, whitespace, hex, nan or inf anywhere; integral values must fit int64.
#include "tempo/time/time_quantity.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <ostream>

#include <fmt/format.h>

#include "tempo/errors/error.h"

namespace tempo {
namespace {

constexpr std::string_view kAcceptedForms =
    "expected <integer><unit> with unit one of iter, ep, ba, sp, tok, sec (e.g. \"10ep\", "
    "\"500ba\", \"1e6tok\"), <fraction>dur (e.g. \"0.5dur\"), a bare integer of epochs (\"10\"), "
    "or a wall-clock time like \"1h30m\" or \"45s\"";

[[noreturn]] void bad_string(std::string_view s, std::string_view reason) {
  throw TimeError(fmt::format("invalid time string \"{}\": {}; {}", s, reason, kAcceptedForms));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// `s` without its digit separators, or nullopt when an '_' does not stand between two digits
// (Python's rule for numeric literals and float(), which Composer's time strings go through).
std::optional<std::string> without_separators(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '_') {
      out += s[i];
    } else if (i == 0 || i + 1 == s.size() || !is_digit(s[i - 1]) || !is_digit(s[i + 1])) {
      return std::nullopt;
    }
  }
  return out;
}

// Digits only, already checked; nullopt when the value does not fit int64.
std::optional<int64_t> to_int64(std::string_view digits) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return v;
}

// Matches the wall-clock form; returns nullopt when s is not one, throws when it is one but invalid.
std::optional<int64_t> parse_wall_clock(std::string_view s) {
  constexpr std::array<std::pair<char, int64_t>, 3> kParts{{{'h', 3600}, {'m', 60}, {'s', 1}}};
  std::array<std::string_view, 3> parts;
  size_t pos = 0;
  for (size_t i = 0; i < kParts.size(); ++i) {
    size_t end = pos;
    while (end < s.size() && is_digit(s[end])) ++end;
    if (end == pos || end == s.size() || s[end] != kParts[i].first) continue;
    parts[i] = s.substr(pos, end - pos);
    pos = end + 1;
  }
  if (pos == 0 || pos != s.size()) return std::nullopt;
  int64_t total = 0;
  for (size_t i = 0; i < kParts.size(); ++i) {
    if (parts[i].empty()) continue;
    std::optional<int64_t> n = to_int64(parts[i]);
    if (i > 0 && (!n || *n > 59)) {
      bad_string(s, fmt::format("{} must be 0..59 in a wall-clock time", i == 1 ? "minutes" : "seconds"));
    }
    int64_t scaled = 0;
    if (!n || __builtin_mul_overflow(*n, kParts[i].second, &scaled) ||
        __builtin_add_overflow(total, scaled, &total)) {
      bad_string(s, "the number of seconds does not fit in a 64-bit integer");
    }
  }
  return total;
}

// A plain decimal number as digits and the position of the decimal point within them
// (value = 0.<digits> * 10^point), so whole-number checks and int64 conversion stay exact.
struct Decimal {
  std::string digits;
  int64_t point = 0;
};

std::optional<Decimal> parse_decimal(std::string_view num) {
  size_t i = 0;
  Decimal d;
  while (i < num.size() && is_digit(num[i])) d.digits += num[i++];
  d.point = static_cast<int64_t>(d.digits.size());
  if (i < num.size() && num[i] == '.') {
    ++i;
    while (i < num.size() && is_digit(num[i])) d.digits += num[i++];
  }
  if (d.digits.empty()) return std::nullopt;
  if (i < num.size() && (num[i] == 'e' || num[i] == 'E')) {
    ++i;
    bool negative = i < num.size() && num[i] == '-';
    if (i < num.size() && (num[i] == '-' || num[i] == '+')) ++i;
    if (i == num.size()) return std::nullopt;
    int64_t exponent = 0;
    for (; i < num.size() && is_digit(num[i]); ++i) {
      // Saturate: any exponent this large already over- or underflows whatever it scales.
      exponent = std::min<int64_t>(exponent * 10 + (num[i] - '0'), 1'000'000'000);
    }
    d.point += negative ? -exponent : exponent;
  }
  if (i != num.size()) return std::nullopt;
  size_t lead = d.digits.find_first_not_of('0');
  if (lead == std::string::npos) return Decimal{"", 0};  // zero
  d.digits.erase(0, lead);
  d.point -= static_cast<int64_t>(lead);
  d.digits.erase(d.digits.find_last_not_of('0') + 1);
  return d;
}

[[noreturn]] void units_differ(const char* verb, const char* joiner, const Time& a, const Time& b) {
  throw TimeError(fmt::format("cannot {} {} {} {}: units differ", verb, a, joiner, b));
}

void require_same_unit(const char* verb, const char* joiner, const Time& a, const Time& b) {
  if (a.unit() != b.unit()) units_differ(verb, joiner, a, b);
}

// Truncates toward zero like Python's int(); op and k name the scaling for the error message.
int64_t truncate_to_int64(double x, const Time& t, const char* op, double k) {
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) {
    throw TimeError(fmt::format("{} {} {} = {} does not fit in a 64-bit integer", t, op, k, x));
  }
  return static_cast<int64_t>(x);
}

[[noreturn]] void overflow(const Time& a, const char* op, const std::string& b) {
  throw TimeError(fmt::format("{} {} {} overflows a 64-bit integer", a, op, b));
}

}  // namespace

Time::Time(int64_t value, TimeUnit unit) : unit_(unit) {
  if (unit == TimeUnit::DURATION) {
    fraction_ = static_cast<double>(value);
  } else {
    count_ = value;
  }
}

Time Time::from_duration(double fraction) {
  if (!std::isfinite(fraction)) {
    throw TimeError(fmt::format("a dur Time must be a finite fraction, got {}", fraction));
  }
  Time t(0, TimeUnit::DURATION);
  t.fraction_ = fraction;
  return t;
}

Time Time::parse(std::string_view s) {
  if (s.empty()) bad_string(s, "the string is empty");
  if (std::isspace(static_cast<unsigned char>(s.front())) ||
      std::isspace(static_cast<unsigned char>(s.back()))) {
    bad_string(s, "leading or trailing whitespace is not allowed");
  }
  if (s.front() == '-') bad_string(s, "negative times are not allowed");
  if (auto plain = without_separators(s); plain && all_digits(*plain)) {
    auto epochs = to_int64(*plain);
    if (!epochs) bad_string(s, "the value does not fit in a 64-bit integer");
    return from_epoch(*epochs);
  }
  if (auto seconds = parse_wall_clock(s)) return from_second(*seconds);

  constexpr std::array<std::string_view, 7> kSuffixes{"iter", "ep", "ba", "sp", "tok", "dur", "sec"};
  std::string_view suffix;
  for (std::string_view candidate : kSuffixes) {
    if (s.size() < candidate.size()) continue;
    std::string_view tail = s.substr(s.size() - candidate.size());
    bool match = true;
    for (size_t i = 0; i < tail.size(); ++i) {
      match = match && std::tolower(static_cast<unsigned char>(tail[i])) == candidate[i];
    }
    if (match) suffix = tail;
  }
  if (suffix.empty()) bad_string(s, "no known unit at the end");
  std::string_view written = s.substr(0, s.size() - suffix.size());
  if (written.empty()) bad_string(s, "the number is missing");
  TimeUnit unit = parse_time_unit(suffix);
  const std::optional<std::string> plain = without_separators(written);
  if (!plain) {
    bad_string(s, fmt::format("\"{}\" has a misplaced '_': a digit separator stands between two digits", written));
  }
  const std::string_view num = *plain;
  std::optional<Decimal> d = parse_decimal(num);
  if (!d) bad_string(s, fmt::format("\"{}\" is not a plain decimal number", written));

  if (unit == TimeUnit::DURATION) {
    double f = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), f);
    if (ec != std::errc() || ptr != num.data() + num.size() || !std::isfinite(f)) {
      bad_string(s, "the fraction is out of the range of a double");
    }
    return from_duration(f);
  }
  int64_t digits = static_cast<int64_t>(d->digits.size());
  if (d->point < digits) {
    bad_string(s, fmt::format("unit '{}' needs a whole number, not {}", to_string(unit), written));
  }
  if (d->point > 19) bad_string(s, "the value does not fit in a 64-bit integer");
  std::string whole = d->digits + std::string(static_cast<size_t>(d->point - digits), '0');
  auto value = whole.empty() ? std::optional<int64_t>(0) : to_int64(whole);
  if (!value) bad_string(s, "the value does not fit in a 64-bit integer");
  return Time(*value, unit);
}

double Time::value() const {
  return is_duration() ? fraction_ : static_cast<double>(count_);
}

int64_t Time::count() const {
  if (is_duration()) {
    throw TimeError(fmt::format("{} is a fraction of max_duration, not a count; use fraction()", *this));
  }
  return count_;
}

double Time::fraction() const {
  if (!is_duration()) {
    throw TimeError(fmt::format("{} is a count, not a fraction; use count()", *this));
  }
  return fraction_;
}

Time operator+(const Time& a, const Time& b) {
  require_same_unit("add", "and", a, b);
  if (a.is_duration()) return Time::from_duration(a.fraction() + b.fraction());
  int64_t r = 0;
  if (__builtin_add_overflow(a.count(), b.count(), &r)) overflow(a, "+", to_string(b));
  return Time(r, a.unit());
}

Time operator-(const Time& a, const Time& b) {
  require_same_unit("subtract", "and", a, b);
  if (a.is_duration()) return Time::from_duration(a.fraction() - b.fraction());
  int64_t r = 0;
  if (__builtin_sub_overflow(a.count(), b.count(), &r)) overflow(a, "-", to_string(b));
  return Time(r, a.unit());
}

Time operator-(const Time& t) {
  if (t.is_duration()) return Time::from_duration(-t.fraction());
  int64_t r = 0;
  if (__builtin_sub_overflow(int64_t{0}, t.count(), &r)) overflow(Time(0, t.unit()), "-", to_string(t));
  return Time(r, t.unit());
}

Time operator%(const Time& a, const Time& b) {
  require_same_unit("take the remainder of", "by", a, b);
  if (b.value() == 0) throw TimeError(fmt::format("cannot take the remainder of {} by zero", a));
  if (a.is_duration()) {
    double r = std::fmod(a.fraction(), b.fraction());
    if (r != 0 && (r < 0) != (b.fraction() < 0)) r += b.fraction();
    return Time::from_duration(r);
  }
  int64_t d = b.count();
  int64_t r = d == -1 ? 0 : a.count() % d;  // INT64_MIN % -1 is undefined in C++
  if (r != 0 && (r < 0) != (d < 0)) r += d;
  return Time(r, a.unit());
}

Time operator*(const Time& a, const Time& b) {
  if (a.is_duration()) return scale(b, a.fraction());
  if (b.is_duration()) return scale(a, b.fraction());
  throw TimeError(fmt::format("cannot multiply {} by {}: one of them must be in dur", a, b));
}

Time operator/(const Time& a, const Time& b) {
  require_same_unit("divide", "by", a, b);
  if (b.value() == 0) throw TimeError(fmt::format("cannot divide {} by {}", a, b));
  return Time::from_duration(a.value() / b.value());
}

Time scale(const Time& t, int64_t k) {
  if (t.is_duration()) return Time::from_duration(t.fraction() * static_cast<double>(k));
  int64_t r = 0;
  if (__builtin_mul_overflow(t.count(), k, &r)) overflow(t, "*", std::to_string(k));
  return Time(r, t.unit());
}

Time scale(const Time& t, double k) {
  if (t.is_duration()) return Time::from_duration(t.fraction() * k);
  double r = static_cast<double>(t.count()) * k;
  return Time(truncate_to_int64(r, t, "*", k), t.unit());
}

Time divide(const Time& t, int64_t k) {
  if (k == 0) throw TimeError(fmt::format("cannot divide {} by zero", t));
  if (t.is_duration()) return Time::from_duration(t.fraction() / static_cast<double>(k));
  if (k == -1) return -t;  // INT64_MIN / -1 overflows; negation reports it
  return Time(t.count() / k, t.unit());
}

Time divide(const Time& t, double k) {
  if (k == 0) throw TimeError(fmt::format("cannot divide {} by zero", t));
  if (t.is_duration()) return Time::from_duration(t.fraction() / k);
  double r = static_cast<double>(t.count()) / k;
  return Time(truncate_to_int64(r, t, "/", k), t.unit());
}

int compare(const Time& a, const Time& b) {
  require_same_unit("compare", "with", a, b);
  if (a.is_duration()) return (a.fraction() > b.fraction()) - (a.fraction() < b.fraction());
  return (a.count() > b.count()) - (a.count() < b.count());
}

void check_max_duration(const Time& max_duration) {
  TimeUnit u = max_duration.unit();
  if (u == TimeUnit::DURATION || u == TimeUnit::SECOND) {
    throw TimeError(fmt::format(
        "max_duration cannot be in '{}' (got {}): it must be a count in iter, ep, ba, sp or tok, "
        "e.g. \"10ep\" or \"5000ba\"",
        to_string(u), max_duration));
  }
  if (max_duration.count() <= 0) {
    throw TimeError(fmt::format("max_duration must be positive (got {})", max_duration));
  }

}

std::string to_string(const Time& t) {
  if (t.is_duration()) return fmt::format("{}dur", t.fraction());  // "{}" is shortest round-trip
  return fmt::format("{}{}", t.count(), to_string(t.unit()));
}

std::ostream& operator<<(std::ostream& os, const Time& t) { return os << to_string(t); }

}  // namespace tempo
