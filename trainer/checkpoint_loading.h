// Finding and reading the checkpoint a Trainer starts from: load_path, or with autoresume the
// newest readable checkpoint of this run in its save folder, as the run's CheckpointFolder lists
// them (callbacks/checkpoint_folder.h: newest first, a latest link's target first among equally
// new ones, so a missing or stale link never hides a newer checkpoint; temporaries never). A
// damaged one is skipped with a warning naming it. Files are tempo/PyTorch zip checkpoints, bare
// model state_dicts, or safetensors.
#pragma once

#include <ATen/core/ivalue.h>

#include <functional>
#include <optional>
#include <string>

#include "tempo/callbacks/checkpoint_folder.h"
#include "tempo/serialization/checkpoint_file.h"

namespace tempo {

class Logger;
class State;

// Told how far the read of `path` is (see CheckpointProgressFn).
using LoadProgressFn = std::function<void(const std::string& path, uint64_t done, uint64_t total)>;

// The tree in `path` as open_weights_file reads it (serialization/weights_file.h): a checkpoint
// as written, or {name: tensor} for a safetensors file, recognized by name or by content.
// Throws CheckpointError naming the path.
c10::IValue read_checkpoint_or_weights(const std::string& path, const LoadProgressFn& progress = {});

struct AutoresumeCandidate {
  std::string path;
  c10::IValue tree;
};

// The newest checkpoint of this run and rank in `folder` that can be read, or nothing when there
// is none.
std::optional<AutoresumeCandidate> find_autoresume_checkpoint(const State& state, const CheckpointFolder& folder,
                                                             const LoadProgressFn& progress = {});

// After an autoresume (Composer keeps state/run_name with the rest of the state): the run goes on
// under the name its checkpoint `tree`, read from `path`, carries, logged as the run_name
// hyperparameter; a save_folder without {run_name} lets the config name another, which is then
// not used, with a warning through state.env.
void restore_run_name(State& state, Logger& logger, const c10::IValue& tree, const std::string& path);

}  // namespace tempo
