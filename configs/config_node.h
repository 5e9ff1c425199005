// ConfigNode: tempo's own view of one node of a YAML document, so that yaml-cpp stays inside
// configs/*.cpp (no header of tempo includes <yaml-cpp/yaml.h>). A node knows where it came from:
// its dotted path from the root ("optimizers.adam.lr") and its source (the file and the
// command-line overrides applied to it), so every error can say "run.yaml:12:3: ..." or
// "override 'optimizers.adam.lr=abc': ...".
// Nodes share their data like yaml-cpp nodes do: copying a ConfigNode does not copy the tree.
// Throws LocatedConfigError (a ConfigError whose message already starts with the location).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tempo/errors/error.h"
#include "tempo/time/time_quantity.h"

namespace tempo::config {

// A ConfigError whose message starts with a location; callers add no prefix of their own.
class LocatedConfigError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

class ConfigNode {
 public:
  // Reads and parses a YAML file. Unreadable file or malformed YAML: LocatedConfigError.
  static ConfigNode load_file(const std::string& path);
  // Parses YAML text; `name` stands for the file name in locations.
  static ConfigNode parse(const std::string& text, const std::string& name);

  ConfigNode();  // a null node belonging to no document

  bool is_null() const;
  bool is_map() const;
  bool is_sequence() const;
  bool is_scalar() const;
  size_t size() const;
  std::vector<std::string> keys() const;  // a map's keys, in document order
  bool has(const std::string& key) const;
  ConfigNode child(const std::string& key) const;  // a null node when absent
  ConfigNode at(size_t index) const;
  std::string scalar() const;
  // A new empty map / sequence / value parsed from `yaml` that reports this node's source.
  ConfigNode new_map() const;
  ConfigNode new_sequence() const;
  ConfigNode new_value(const std::string& yaml) const;
  void set(const std::string& key, const ConfigNode& value);  // map only; keeps key order
  void push_back(const ConfigNode& value);                    // sequence only

  // Applies "a.b.c=value" (value parsed as YAML) to this root node, creating maps on the way.
  // In a list of one-key maps ("callbacks: [{checkpoint_saver: ...}]") a segment may be an
  // index or the key of exactly one element.
  void apply_override(const std::string& text);

  std::string emit() const;   // block-style YAML
  std::string emit_flow() const;  // one line of flow-style YAML ("[0.9, 0.999]"); "" for an absent node
  std::string where() const;  // "file:line:col", "override '...'", or the file name
  std::string where_key() const;  // the same, at the key rather than its value
  // where(), naming first the overrides that changed a key below this node (a part's complaint
  // about its arguments may come from any of them): "override 'model.mlp.dropout=2' (run.yaml:12:8)".
  std::string where_within() const;
  const std::string& path() const;  // "model.mlp.hidden"; the root is ""
  std::string describe() const;  // a short rendering of the value for messages: "\"ten\"", a map

  // The value converted; a wrong type throws "<where>: <path>: expected <what>, got <value>".
  // T is one of bool, int64_t, uint64_t, double, std::string, Time and std::vector of int64_t,
  // double, std::string.
  template <typename T>
  T as() const;

 private:
  struct Impl;
  explicit ConfigNode(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// A value where two configs differ: its dotted path, and each side as one line of YAML (flow
// style: "0.001", "[0.9, 0.999]", "{a: 1}"), "" where the path is absent on that side.
struct ConfigChange {
  std::string path;
  std::string before;
  std::string after;
};

// Every path where `before` and `after` differ, in `after`'s key order, then what only `before`
// has: maps are compared key by key; scalars, lists and nulls as whole values.
std::vector<ConfigChange> compare_configs(const ConfigNode& before, const ConfigNode& after);

// `value` as a YAML scalar that reads back as this string: quoted where YAML needs it ("",
// "{run_name}/x", "true"), plain otherwise.
std::string yaml_scalar(const std::string& value);

// Defined in config_node.cpp; declared here so every user sees the specialisations.
template <> bool ConfigNode::as<bool>() const;
template <> int64_t ConfigNode::as<int64_t>() const;
template <> uint64_t ConfigNode::as<uint64_t>() const;
template <> double ConfigNode::as<double>() const;
template <> std::string ConfigNode::as<std::string>() const;
template <> Time ConfigNode::as<Time>() const;
template <> std::vector<int64_t> ConfigNode::as<std::vector<int64_t>>() const;
template <> std::vector<double> ConfigNode::as<std::vector<double>>() const;
template <> std::vector<std::string> ConfigNode::as<std::vector<std::string>>() const;

}  // namespace tempo::config
