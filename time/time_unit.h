// TimeUnit: the units a training duration or a point in training can be measured in, with the
// short names Composer uses in time strings and YAML ("iter", "ep", "ba", "sp", "tok", "dur", "sec").
// parse_time_unit accepts exactly those names, in any letter case, and throws tempo::TimeError
// listing them for anything else.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

#include <fmt/format.h>  // formatter<string_view>::format is defined only here

#include "tempo/errors/error.h"  // TimeError, which everything in time/ throws

namespace tempo {

enum class TimeUnit { ITERATION, EPOCH, BATCH, SAMPLE, TOKEN, DURATION, SECOND };

std::string to_string(TimeUnit unit);
TimeUnit parse_time_unit(std::string_view name);
std::ostream& operator<<(std::ostream& os, TimeUnit unit);

}  // namespace tempo

template <>
struct fmt::formatter<tempo::TimeUnit> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(tempo::TimeUnit unit, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(tempo::to_string(unit), ctx);
  }
};
