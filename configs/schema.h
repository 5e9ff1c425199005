// The keys a config accepts, as data: one table drives validation, the defaults that
// --print-config fills in, `tempo train --list-keys` and docs/config.md (a test checks that the
// documentation lists exactly these keys).
#pragma once

#include <string>
#include <vector>

namespace tempo::config {

// `type` is one of: string, int, uint, float, bool, time (a time string), interval (a time string
// or an integer of epochs), list[int], list[float], list[string], part (a map naming exactly one
// registered part and its arguments) or parts (a map or list of such). A `default_yaml` of "" means
// the key is required; "null" means "unset".
struct KeySpec {
  std::string name;
  std::string type;
  std::string default_yaml;
  std::string doc;
  bool required() const { return default_yaml.empty(); }
};
using Schema = std::vector<KeySpec>;

// Top-level keys: Composer's Trainer arguments plus the part sections.
const Schema& trainer_schema();

// The closest of `candidates` to `key` when it is close enough to be a typo, else "".
std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates);

// A markdown table of a schema (| key | type | default | meaning |) for docs and --list-keys.
std::string schema_table(const Schema& schema);

}  // namespace tempo::config
