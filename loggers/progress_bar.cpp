#include "tempo/loggers/progress_bar.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tempo/errors/error.h"
#include "tempo/loggers/log_format.h"
#include "tempo/state/tree.h"

namespace tempo {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// tqdm's smooth bar: full blocks, then one of eight partial blocks.
std::string unicode_bar(double fraction, int64_t width) {
  static const char* const kPartial[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  const auto eighths = static_cast<int64_t>(std::floor(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(width * 8)));
  const int64_t full = eighths / 8;
  std::string out;
  for (int64_t i = 0; i < full; ++i) out += "█";
  int64_t cells = full;
  if (full < width && eighths % 8 != 0) {
    out += kPartial[eighths % 8];
    ++cells;
  }
  out.append(static_cast<size_t>(width - cells), ' ');
  return out;
}

}  // namespace

ProgressBar::ProgressBar(std::string label, std::string desc, int64_t total, std::string unit,
                         std::string timestamp_key, bool is_train, int64_t n)
    : label_(std::move(label)),
      desc_(std::move(desc)),
      total_(total),
      unit_(std::move(unit)),
      timestamp_key_(std::move(timestamp_key)),
      is_train_(is_train),
      n_(n),
      n_start_(n),
      start_(Clock::now()) {}

void ProgressBar::log(const Metrics& metrics) {
  for (const auto& [name, value] : metrics) {
    const bool shown = is_train_ ? (name.find("loss/train") != std::string::npos || starts_with(name, "metrics/train/"))
                                 : (starts_with(name, "metrics/") && !starts_with(name, "metrics/train/"));
    if (!shown) continue;
    metrics_[name] = value;
    if (!is_train_ && label_ == "eval" && starts_with(name, "metrics/")) {
      const auto end = name.find('/', 8);
      if (end != std::string::npos && end > 8) label_ = name.substr(8, end - 8);
    }
  }
}

int64_t ProgressBar::percent() const {
  if (total_ <= 0) return -1;
  return std::min<int64_t>(100, n_ * 100 / total_);
}

std::string ProgressBar::render(bool terminal, int64_t bar_width, Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(n_ - n_start_) / elapsed : 0.0;
  const std::string rate_text = rate > 0 ? fmt::format("{:.2f}{}/s", rate, unit_) : fmt::format("?{}/s", unit_);
  std::string out = fmt::format("{:<15}{}: ", label_, desc_);
  std::string times;
  if (total_ > 0) {
    const double fraction = std::clamp(static_cast<double>(n_) / static_cast<double>(total_), 0.0, 1.0);
    out += fmt::format("{:3d}%", percent());
    out += terminal ? "|" + unicode_bar(fraction, bar_width) + "| " : " ";
    out += fmt::format("{}/{}", n_, total_);
    const double remaining = rate > 0 ? static_cast<double>(std::max<int64_t>(0, total_ - n_)) / rate : -1.0;
    times = fmt::format("{}<{}", format_duration(elapsed), format_duration(remaining));
  } else {
    out += fmt::format("{}{}", n_, unit_);
    times = format_duration(elapsed);
  }
  out += fmt::format(" [{}, {}", times, rate_text);
  for (const auto& [name, value] : metrics_) out += fmt::format(", {}={}", name, format_metric_value(value));
  return out + "]";
}

c10::IValue ProgressBar::state_dict() const {
  auto metrics = new_tree_dict();
  for (const auto& [name, value] : metrics_) metrics.insert(name, value);
  auto tree = new_tree_dict();
  tree.insert("label", label_);
  tree.insert("desc", desc_);
  tree.insert("total", total_);
  tree.insert("n", n_);
  tree.insert("unit", unit_);
  tree.insert("timestamp_key", timestamp_key_);
  tree.insert("is_train", is_train_);
  tree.insert("metrics", metrics);
  return tree;
}

ProgressBar ProgressBar::from_state_dict(const c10::IValue& tree, const std::string& path) {
  const auto dict = tree_dict(tree, path);
  const auto is_train = tree_at(dict, "is_train", path);
  if (!is_train.isBool()) {
    throw CheckpointError(fmt::format("state tree: '{}' should be a bool", tree_join(path, "is_train")));
  }
  ProgressBar bar(tree_string(dict, "label", path), tree_string(dict, "desc", path), tree_int(dict, "total", path),
                  tree_string(dict, "unit", path), tree_string(dict, "timestamp_key", path), is_train.toBool(),
                  tree_int(dict, "n", path));
  const auto metrics_path = tree_join(path, "metrics");
  const auto metrics = tree_dict(tree_at(dict, "metrics", path), metrics_path);
  for (const auto& entry : metrics) {
    if (!entry.key().isString()) {
      throw CheckpointError(fmt::format("state tree: '{}' should map names to numbers", metrics_path));
    }
    const auto& name = entry.key().toStringRef();
    bar.metrics_[name] = tree_double(metrics, name, metrics_path);
  }
  return bar;
}

}  // namespace tempo
