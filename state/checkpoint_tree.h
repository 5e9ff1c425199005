// The whole checkpoint as one tree, in Composer's anatomy: {"state": State::state_dict(),
// "rng": [one dict of generator states per rank]} (a weights-only checkpoint keeps just
// state/model and state/metadata, and no rng). Loading understands that anatomy and, with
// weights_only, also a bare {name: tensor} dict such as Python's torch.save(model.state_dict())
// or a safetensors file. A weights-only checkpoint (no optimizers, no timestamp) loads as
// weights only whether or not weights_only is set, as in Composer ("if load_weights_only=True or
// if the checkpoint was saved with save_weights_only=True"); the result says so, and the Trainer
// prints one line about it. Everything is checked before anything in the State changes.
#pragma once

#include <ATen/core/ivalue.h>

#include <string>
#include <vector>

namespace tempo {

class State;

// With several ranks (state.comm) the rng list holds every rank's generators, gathered: every rank
// must call this at the same point of the run (a collective), rank 0 writes the result.
c10::IValue make_checkpoint_tree(const State& state, bool weights_only = false);

struct CheckpointLoadOptions {
  bool weights_only = false;
  bool strict_model_weights = true;
  // Glob patterns over '/'-joined paths ("state/optimizers/*", "rng"); '*' also matches '/'.
  std::vector<std::string> ignore_keys;
};

struct CheckpointLoadResult {
  std::string report;  // what non-strict loading skipped; empty when nothing
  c10::IValue rng;     // this rank's generator states, None when absent or not loaded
  bool weights_only = false;       // only the model weights were applied
  bool weights_only_file = false;  // ... because the file is weights-only, not because options asked
  int64_t rng_ranks = 0;           // entries of the file's rng list: the ranks of the run that saved it
};

// Applies `tree` (read from `source`, a file name or "<memory>" for messages) to `state`, after
// state.load_state_pre_hooks have edited it (make_checkpoint_tree runs state.save_state_pre_hooks
// on what it makes).
// Generator states are returned, not applied: the trainer restores them after its own reseed.
// Throws CheckpointError naming `source` and the path at fault.
CheckpointLoadResult load_checkpoint_tree(State& state, const c10::IValue& tree, const std::string& source,
                                          const CheckpointLoadOptions& options);

// A copy of `tree` without the entries whose path matches one of `globs`. Only the dicts on the
// way to a removed entry are copied; everything else is shared.
c10::IValue remove_matching_keys(const c10::IValue& tree, const std::vector<std::string>& globs);

}  // namespace tempo
