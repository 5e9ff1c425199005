#include "tempo/loggers/log_format.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

namespace tempo {

std::string format_metric_value(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return fmt::format("{:.4f}", value);
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) return "?";
  const auto total = static_cast<int64_t>(seconds);
  const int64_t hours = total / 3600, minutes = total / 60 % 60, secs = total % 60;
  if (hours > 0) return fmt::format("{}:{:02d}:{:02d}", hours, minutes, secs);
  return fmt::format("{:02d}:{:02d}", minutes, secs);
}

std::string format_hyperparameters(const Hyperparameters& hyperparameters) {
  if (hyperparameters.empty()) return "";
  const std::string stars(30, '*');
  std::string out = stars + "\nConfig:\n";
  for (const auto& [key, value] : hyperparameters) out += fmt::format("{}: {}\n", key, value);
  return out + stars + "\n";
}

}  // namespace tempo
