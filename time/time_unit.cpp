#include "tempo/time/time_unit.h"

#include <array>
#include <cctype>
#include <ostream>
#include <utility>

#include "tempo/errors/error.h"

namespace tempo {
namespace {

constexpr std::array<std::pair<TimeUnit, std::string_view>, 7> kNames{{
    {TimeUnit::ITERATION, "iter"},
    {TimeUnit::EPOCH, "ep"},
    {TimeUnit::BATCH, "ba"},
    {TimeUnit::SAMPLE, "sp"},
    {TimeUnit::TOKEN, "tok"},
    {TimeUnit::DURATION, "dur"},
    {TimeUnit::SECOND, "sec"},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

}  // namespace

std::string to_string(TimeUnit unit) {
  for (const auto& [u, name] : kNames) {
    if (u == unit) return std::string(name);
  }
  // Only reachable through a cast of an out-of-range integer to TimeUnit.
  throw TimeError(fmt::format("invalid TimeUnit value {}", static_cast<int>(unit)));
}

TimeUnit parse_time_unit(std::string_view name) {
  for (const auto& [u, n] : kNames) {
    if (iequals(name, n)) return u;
  }
  throw TimeError(fmt::format("invalid time unit \"{}\": expected one of iter, ep, ba, sp, tok, dur, sec",
                              name));
}

std::ostream& operator<<(std::ostream& os, TimeUnit unit) { return os << to_string(unit); }

}  // namespace tempo
