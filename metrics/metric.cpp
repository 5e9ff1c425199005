#include "tempo/metrics/metric.h"

#include <fmt/format.h>

#include <regex>
#include <sstream>

#include "tempo/errors/error.h"

namespace tempo {

void Metric::update(const at::Tensor& outputs, const Batch& batch) {
  update_state(outputs, batch);
  ++update_count_;
}

void Metric::reset() {
  reset_state();
  update_count_ = 0;
}

c10::IValue Metric::state_dict() const {
  Dict dict(c10::StringType::get(), c10::AnyType::get());
  save_state(dict);
  dict.insert("update_count", update_count_);
  return dict;
}

void Metric::load_state_dict(const c10::IValue& tree, const std::string& path) {
  if (!tree.isGenericDict()) {
    throw CheckpointError(fmt::format("state tree: '{}' should be a dict but is a {}", path, tree.tagKind()));
  }
  const auto dict = tree.toGenericDict();
  const auto count = read_int(dict, "update_count", path);
  if (count < 0) throw CheckpointError(fmt::format("state tree: '{}/update_count' is negative ({})", path, count));
  load_state(dict, path);
  update_count_ = count;
}

namespace {
c10::IValue entry(const c10::impl::GenericDict& dict, const std::string& key, const std::string& path) {
  const auto it = dict.find(key);
  if (it == dict.end()) throw CheckpointError(fmt::format("state tree: missing key '{}/{}'", path, key));
  return it->value();
}
}  // namespace

int64_t Metric::read_int(const Dict& dict, const std::string& key, const std::string& path) {
  const auto value = entry(dict, key, path);
  if (value.isInt()) return value.toInt();
  if (value.isTensor() && value.toTensor().numel() == 1 && !value.toTensor().is_floating_point()) {
    return value.toTensor().item<int64_t>();
  }
  throw CheckpointError(
      fmt::format("state tree: '{}/{}' should be an integer but is a {}", path, key, value.tagKind()));
}

double Metric::read_double(const Dict& dict, const std::string& key, const std::string& path) {
  const auto value = entry(dict, key, path);
  if (value.isDouble()) return value.toDouble();
  if (value.isInt()) return static_cast<double>(value.toInt());
  if (value.isTensor() && value.toTensor().numel() == 1) return value.toTensor().item<double>();
  throw CheckpointError(fmt::format("state tree: '{}/{}' should be a number but is a {}", path, key, value.tagKind()));
}

std::string Metric::describe(const at::Tensor& tensor) {
  if (!tensor.defined()) return "undefined";
  std::ostringstream out;
  out << tensor.sizes() << " " << tensor.scalar_type();
  return out.str();
}

MetricMap metric_map(std::initializer_list<std::shared_ptr<Metric>> metrics) {
  MetricMap map;
  for (const auto& metric : metrics) {
    if (!metric) throw ConfigError("metric_map: a metric is null");
    const auto name = metric->name();
    if (!map.emplace(name, metric).second) {
      throw ConfigError(fmt::format("metric_map: two metrics are named '{}'; build the map by hand to name them apart",
                                    name));
    }
  }
  return map;
}

MetricMap filter_metrics(const MetricMap& metrics, const std::vector<std::string>& patterns) {
  if (patterns.empty()) return metrics;
  std::vector<std::regex> compiled;
  for (const auto& pattern : patterns) {
    try {
      compiled.emplace_back(".*(" + pattern + ").*", std::regex::ECMAScript | std::regex::icase);
    } catch (const std::regex_error& e) {
      throw ConfigError(fmt::format("metric_names: '{}' is not a valid regular expression ({})", pattern, e.what()));
    }
  }
  MetricMap kept;
  for (const auto& [name, metric] : metrics) {
    for (const auto& regex : compiled) {
      if (std::regex_match(name, regex)) {
        kept.emplace(name, metric);
        break;
      }
    }
  }
  return kept;
}

}  // namespace tempo
