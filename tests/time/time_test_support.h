// Helpers shared by the time/ tests.
#pragma once

#include <string>

#include "tempo/errors/error.h"

namespace tempo::testing {

// The message of the TimeError that f throws, or a marker no expected fragment can match.
template <typename F>
std::string time_error_of(F&& f) {
  try {
    f();
  } catch (const TimeError& e) {
    return e.what();
  } catch (...) {
    return "<threw something other than TimeError>";
  }
  return "<did not throw>";
}

}  // namespace tempo::testing
