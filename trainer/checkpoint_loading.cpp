#include "tempo/trainer/checkpoint_loading.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "tempo/errors/error.h"
#include "tempo/callbacks/logger.h"
#include "tempo/state/state.h"
#include "tempo/state/tree.h"
#include "tempo/serialization/checkpoint_file.h"
#include "tempo/serialization/weights_file.h"

namespace tempo {
namespace fs = std::filesystem;

namespace {

CheckpointProgressFn for_path(const LoadProgressFn& progress, const std::string& path) {
  if (!progress) return {};
  return [&progress, path](uint64_t done, uint64_t total) { progress(path, done, total); };
}

}  // namespace

c10::IValue read_checkpoint_or_weights(const std::string& path, const LoadProgressFn& progress) {
  return open_weights_file(path, for_path(progress, path)).tree;
}

std::optional<AutoresumeCandidate> find_autoresume_checkpoint(const State& state, const CheckpointFolder& folder,
                                                             const LoadProgressFn& progress) {
  for (const auto& entry : folder.list(state)) {
    try {
      return AutoresumeCandidate{entry.path, read_checkpoint(entry.path, for_path(progress, entry.path))};
    } catch (const CheckpointError& e) {
      state.env->warn("autoresume skips damaged checkpoint '" + entry.path + "' and tries an older one: " + e.what());
    }
  }
  return std::nullopt;
}

void restore_run_name(State& state, Logger& logger, const c10::IValue& tree, const std::string& path) {
  if (!tree.isGenericDict() || !tree_has(tree.toGenericDict(), "state")) return;
  const auto saved = tree_dict(tree_at(tree.toGenericDict(), "state", ""), "state");
  if (!tree_has(saved, "run_name")) return;
  const auto name = tree_string(saved, "run_name", "state");
  if (name.empty() || name == state.run_name) return;
  state.env->warn(fmt::format("autoresume continues run '{}' from '{}'; the config's run_name '{}' is not used", name,
                              path, state.run_name));
  state.run_name = name;
  logger.log_hyperparameters({{"run_name", state.run_name}});
}


}  // namespace tempo
