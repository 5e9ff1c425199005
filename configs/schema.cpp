// Helpers over schemas: the nearest key to a typo, and a schema as a markdown table. trainer_schema()
// is in option_descriptions.cpp, derived from TrainerOptions' description.
#include "tempo/configs/schema.h"

#include <fmt/format.h>

#include <algorithm>

namespace tempo::config {

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const size_t d = edit_distance(key, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (!best.empty() || key.empty()) return best;
  // A shortened name, as guides write them ("load_strict" for load_strict_model_weights): the one
  // candidate that starts with `key` followed by '_'.
  for (const auto& candidate : candidates) {
    if (candidate.size() > key.size() && candidate.compare(0, key.size(), key) == 0 && candidate[key.size()] == '_') {
      if (!best.empty()) return "";  // several: no single suggestion
      best = candidate;
    }
  }
  return best;
}

std::string schema_table(const Schema& schema) {
  std::string out = "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& key : schema) {
    out += fmt::format("| `{}` | {} | {} | {} |\n", key.name, key.type,
                       key.required() ? "required" : "`" + key.default_yaml + "`", key.doc);
  }
  return out;
}

}  // namespace tempo::config
