// The keys a config accepts, as data: one table drives validation, the defaults that
// --print-config fills in, `tempo train --list-keys` and the tables of docs/config.md (a test
// checks that the documentation shows exactly these tables). The schemas of tempo's options
// structs are derived from their descriptions (configs/options_description.h); a user's part may
// pass a hand-written Schema.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tempo::config {

class ConfigNode;

// `type` is one of: string, int, uint, float, bool, time (a time string), interval (a time string
// or an integer of epochs), list[int], list[float], list[string], list[time], part (a map naming
// exactly one registered part and its arguments) or parts (a map or list of such). A
// `default_yaml` of "" means the key is required; "null" means "unset".
// `check`, when set, parses and checks a value (throwing a located error) instead of the check
// by `type` alone.
struct KeySpec {
  KeySpec(std::string name, std::string type, std::string default_yaml, std::string doc,
          std::function<void(const ConfigNode&)> check = {})
      : name(std::move(name)), type(std::move(type)), default_yaml(std::move(default_yaml)), doc(std::move(doc)),
        check(std::move(check)) {}
  std::string name;
  std::string type;
  std::string default_yaml;
  std::string doc;
  std::function<void(const ConfigNode&)> check;
  bool required() const { return default_yaml.empty(); }
};
using Schema = std::vector<KeySpec>;

// Top-level keys: Composer's Trainer arguments (from the description of TrainerOptions,
// configs/option_descriptions.cpp) plus the part sections.
const Schema& trainer_schema();

// The closest of `candidates` to `key` when it is close enough to be a typo, else "".
std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates);

// A markdown table of a schema (| key | type | default | meaning |) for docs and --list-keys.
std::string schema_table(const Schema& schema);

}  // namespace tempo::config
