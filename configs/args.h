// Args: the arguments of one part named in a config ("mlp: {hidden: [256]}"), as a registered
// factory sees them. get<T>(key) converts a value and, on a wrong type or a missing key, throws a
// LocatedConfigError naming the file, line, key and what was expected. Args remembers which keys
// were read, so a part registered without a schema still rejects keys it never looked at.
// T: bool, int64_t, uint64_t, double, std::string, Time, std::vector<int64_t|double|std::string>.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tempo/configs/config_node.h"

namespace tempo::config {

class Args {
 public:
  // `scope` names the part in messages, e.g. "model 'mlp'".
  explicit Args(ConfigNode node = {}, std::string scope = "")
      : node_(std::move(node)), scope_(std::move(scope)), read_(std::make_shared<std::set<std::string>>()) {}

  bool has(const std::string& key) const { return node_.has(key) && !node_.child(key).is_null(); }

  template <typename T>
  T get(const std::string& key) const {
    read_->insert(key);
    if (!has(key)) {
      throw LocatedConfigError(node_.where() + ": missing required key '" + key + "' in " + scope_);
    }
    return node_.child(key).template as<T>();
  }
  template <typename T>
  T get(const std::string& key, const T& fallback) const {
    read_->insert(key);
    return has(key) ? node_.child(key).template as<T>() : fallback;
  }
  // String literals as fallbacks: a.get("split", "train").
  std::string get(const std::string& key, const char* fallback) const { return get<std::string>(key, fallback); }

  const std::string& scope() const { return scope_; }
  std::string where() const { return node_.where_within(); }
  const ConfigNode& node() const { return node_; }
  // Keys present but never read by get(); the builder rejects them after the factory ran.
  std::vector<std::string> unread_keys() const {
    std::vector<std::string> out;
    for (const auto& key : node_.keys()) {
      if (!read_->count(key)) out.push_back(key);
    }
    return out;
  }

 private:
  ConfigNode node_;
  std::string scope_;
  std::shared_ptr<std::set<std::string>> read_;
};

}  // namespace tempo::config
