// RunConfig: one training run described in YAML with Composer's Trainer names as keys, merged
// with command-line overrides ("optimizers.adam.lr=3e-4"), checked against the schema and the
// registries, and resolved: every default filled in, the seed drawn if unset, each section in a
// canonical form ({name: {args}}, a list only where one kind repeats). Loading the resolved YAML
// again gives the same resolved config.
// Throws LocatedConfigError (file:line:col or override '...', the key, what was expected) for every
// problem of the config, before anything is built; build() throws it for parts that reject their
// arguments.
#pragma once

#include <string>
#include <vector>

#include "tempo/configs/config_node.h"
#include "tempo/configs/registry.h"
#include "tempo/trainer/trainer_options.h"

namespace tempo::config {

// The sections whose values name registered parts, in schema order.
const std::vector<std::string>& part_sections();

class RunConfig {
 public:
  static RunConfig load(const std::string& file, const std::vector<std::string>& overrides,
                        const Registry& registry);
  // The same from YAML text; `name` stands for the file name in messages.
  static RunConfig parse(const std::string& text, const std::string& name, const std::vector<std::string>& overrides,
                         const Registry& registry);

  const ConfigNode& resolved() const { return resolved_; }
  std::string yaml() const { return resolved_.emit(); }

  // Seeds every generator from `seed` (so the model's first weights are reproducible), then
  // builds every part and fills TrainerOptions. Nothing is trained or written.
  TrainerOptions build(const Registry& registry) const;

 private:
  explicit RunConfig(ConfigNode resolved) : resolved_(std::move(resolved)) {}
  static RunConfig resolve(ConfigNode root, const Registry& registry);
  ConfigNode resolved_;
};

}  // namespace tempo::config
