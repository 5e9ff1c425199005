#include "tempo/callbacks/memory_monitor.h"

#include <fstream>
#include <sstream>
#include <string>

#include "tempo/callbacks/logger.h"

namespace tempo {

std::optional<std::pair<double, double>> MemoryMonitor::read_rss() {
  std::ifstream in("/proc/self/status");
  if (!in) return std::nullopt;
  std::optional<double> rss, peak;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    double kib = 0;
    if (!(fields >> key >> kib)) continue;
    if (key == "VmRSS:") rss = kib * 1024.0;
    if (key == "VmHWM:") peak = kib * 1024.0;
  }
  if (!rss || !peak) return std::nullopt;
  return std::make_pair(*rss, *peak);
}

void MemoryMonitor::on_after_train_batch(State&, Logger& logger) {
  if (const auto rss = read_rss()) logger.log_metrics({{"memory/rss_bytes", rss->first}, {"memory/peak_rss_bytes", rss->second}});
}

}  // namespace tempo
