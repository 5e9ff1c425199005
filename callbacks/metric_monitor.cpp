#include "tempo/callbacks/metric_monitor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "tempo/errors/error.h"
#include "tempo/state/state.h"

namespace tempo {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string names_of(const MetricMap& metrics) {
  std::string out;
  for (const auto& [name, metric] : metrics) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

MetricMonitor::MetricMonitor(std::string monitor, std::string dataloader_label, const std::string& comparator,
                             const std::string& option)
    : monitor_(std::move(monitor)), dataloader_label_(std::move(dataloader_label)) {
  if (monitor_.empty()) throw ConfigError(fmt::format("{}: monitor is empty: name a metric (e.g. 'Accuracy')", option));
  if (dataloader_label_.empty()) throw ConfigError(fmt::format("{}: dataloader_label is empty ('train', 'eval' or an evaluator's label)", option));
  const auto comp = lower(comparator);
  if (comp == "greater" || comp == "gt") {
    greater_ = true;
  } else if (comp == "less" || comp == "lt") {
    greater_ = false;
  } else if (comp.empty()) {
    const auto name = lower(monitor_);
    greater_ = name.find("loss") == std::string::npos && name.find("error") == std::string::npos &&
               name.find("perplexity") == std::string::npos;
  } else {
    throw ConfigError(fmt::format("{}: comparator '{}' is not one of 'greater', 'gt', 'less', 'lt'", option, comparator));
  }
}

double MetricMonitor::value(const State& state) const {
  const MetricMap* metrics = nullptr;
  if (dataloader_label_ == "train") {
    metrics = &state.train_metrics;
  } else {
    auto it = state.eval_metrics.find(dataloader_label_);
    if (it == state.eval_metrics.end()) {
      std::string labels;
      for (const auto& entry : state.eval_metrics) labels += (labels.empty() ? "" : ", ") + entry.first;
      throw ConfigError(fmt::format("cannot find the metric '{}' of dataloader '{}': there is no evaluator labelled "
                                    "'{}' (evaluators: {}; 'train' reads the training metrics)",
                                    monitor_, dataloader_label_, dataloader_label_, labels.empty() ? "none" : labels));
    }
    metrics = &it->second;
  }
  auto it = metrics->find(monitor_);
  if (it == metrics->end()) {
    throw ConfigError(fmt::format("cannot find the metric '{}' of dataloader '{}' (its metrics: {})", monitor_,
                                  dataloader_label_, names_of(*metrics)));
  }
  return it->second->compute();
}

}  // namespace tempo
