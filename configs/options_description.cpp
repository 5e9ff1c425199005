// The parts of Description that are not templates: how a float and an error are written.
#include "tempo/configs/options_description.h"

#include <fmt/format.h>

#include <cmath>

namespace tempo::config {

std::string yaml_float(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  std::string text = fmt::format("{}", value);  // the shortest text that reads back exactly
  const auto exponent = text.find('e');
  const auto mantissa = text.substr(0, exponent);
  if (mantissa.find('.') == std::string::npos) text.insert(mantissa.size(), ".0");
  return text;
}

void fail_at(const ConfigNode& node, const std::string& why) {
  throw LocatedConfigError(fmt::format("{}: {}: {}", node.where(), node.path(), why));
}

}  // namespace tempo::config
