#include "trainer/checkpoint_loading.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "errors/error.h"
#include "state/state.h"
#include "serialization/checkpoint_file.h"
#include "serialization/weights_file.h"

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

}  // namespace tempo
