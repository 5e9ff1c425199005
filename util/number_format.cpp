#include "tempo/util/number_format.h"

#include <fmt/format.h>

#include <cmath>

namespace tempo {

std::string format_double(double value) {
  if (std::isnan(value)) return "nan";  // never "-nan": the sign of a NaN carries nothing
  return fmt::format("{}", value);
}

std::string format_double_python(double value) {
  std::string text = format_double(value);
  if (std::isfinite(value) && text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

}  // namespace tempo
